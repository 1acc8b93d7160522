package auth

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// JWTConfig lets bugflow accept bearer JWTs issued by an identity service an
// embedder already runs. Exactly one of HS256Secret and PublicKeyPEM is set.
type JWTConfig struct {
	// HS256Secret verifies HS256 tokens.
	HS256Secret string
	// PublicKeyPEM verifies RS256 (an RSA key) or ES256 (a P-256 key) tokens;
	// the key type decides the algorithm, so a token cannot pick a weaker one.
	PublicKeyPEM string
	// Issuer and Audience, when set, must match the token's iss and aud.
	Issuer   string
	Audience string
	// Leeway tolerates clock skew on exp and nbf. Default 30 s.
	Leeway time.Duration
}

// Validate reports what is wrong with c (no key or two, a short secret, a
// key that is neither RSA nor P-256), so that a bad setting can be refused
// before anything is opened.
func (c JWTConfig) Validate() error {
	_, err := newJWTVerifier(c)
	return err
}

// JWT claims bugflow reads. A token must carry exp and one of username,
// preferred_username, email or sub.
//
// Roles come from "roles" (an array or a space-separated string) or "role";
// the role "admin", or a true is_admin, is_staff or is_superuser claim,
// makes the caller an administrator. Other role names map onto bugflow's
// roles of the same name, in any case; names of no role are ignored.
type jwtClaims struct {
	jwt.RegisteredClaims
	Username          string `json:"username"`
	PreferredUsername string `json:"preferred_username"`
	Email             string `json:"email"`
	Name              string `json:"name"`
	GivenName         string `json:"given_name"`
	FamilyName        string `json:"family_name"`
	Role              string `json:"role"`
	Roles             any    `json:"roles"`
	IsAdmin           bool   `json:"is_admin"`
	IsStaff           bool   `json:"is_staff"`
	IsSuperuser       bool   `json:"is_superuser"`
}

// jwtVerifier checks tokens against one configured key.
type jwtVerifier struct {
	parser *jwt.Parser
	key    any
}

func newJWTVerifier(cfg JWTConfig) (*jwtVerifier, error) {
	if (cfg.HS256Secret == "") == (cfg.PublicKeyPEM == "") {
		return nil, errors.New("jwt: set exactly one of HS256Secret and PublicKeyPEM")
	}
	var method string
	var key any
	if cfg.HS256Secret != "" {
		if len(cfg.HS256Secret) < 32 {
			return nil, errors.New("jwt: HS256Secret must be at least 32 bytes")
		}
		method, key = jwt.SigningMethodHS256.Alg(), []byte(cfg.HS256Secret)
	} else {
		block, _ := pem.Decode([]byte(cfg.PublicKeyPEM))
		if block == nil {
			return nil, errors.New("jwt: PublicKeyPEM holds no PEM block")
		}
		if k, err := jwt.ParseRSAPublicKeyFromPEM([]byte(cfg.PublicKeyPEM)); err == nil {
			method, key = jwt.SigningMethodRS256.Alg(), k
		} else if k, err := jwt.ParseECPublicKeyFromPEM([]byte(cfg.PublicKeyPEM)); err == nil {
			if k.Curve.Params().BitSize != 256 {
				return nil, errors.New("jwt: only P-256 EC keys (ES256) are supported")
			}
			method, key = jwt.SigningMethodES256.Alg(), k
		} else {
			return nil, errors.New("jwt: PublicKeyPEM is neither an RSA nor an EC public key")
		}
	}
	leeway := cfg.Leeway
	if leeway == 0 {
		leeway = 30 * time.Second
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods([]string{method}), jwt.WithExpirationRequired(), jwt.WithLeeway(leeway)}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	return &jwtVerifier{parser: jwt.NewParser(opts...), key: key}, nil
}

// looksLikeJWT tells a JWT from bugflow's own opaque tokens, which never
// contain dots.
func looksLikeJWT(token string) bool { return strings.Count(token, ".") == 2 }

// verify checks the token's signature and claims and returns them.
func (v *jwtVerifier) verify(token string) (*jwtClaims, error) {
	claims := &jwtClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		switch v.key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, []byte:
			return v.key, nil
		}
		return nil, fmt.Errorf("unexpected key type %T", v.key)
	})
	if err != nil {
		return nil, err
	}
	if claims.username() == "" && claims.Email == "" {
		return nil, errors.New("token names no user (username, preferred_username, email or sub)")
	}
	return claims, nil
}

func (c *jwtClaims) username() string {
	for _, v := range []string{c.Username, c.PreferredUsername} {
		if v != "" {
			return v
		}
	}
	if c.Email == "" {
		return c.Subject
	}
	return ""
}

// roles returns the domain roles the token grants.
func (c *jwtClaims) roles() []string {
	var out []string
	switch r := c.Roles.(type) {
	case string:
		out = strings.Fields(r)
	case []any:
		for _, v := range r {
			if s, ok := v.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	if c.Role != "" {
		out = append(out, c.Role)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (c *jwtClaims) isAdmin() bool {
	return c.IsAdmin || c.IsStaff || c.IsSuperuser ||
		slices.ContainsFunc(c.roles(), func(r string) bool { return strings.EqualFold(r, string(RoleAdmin)) })
}
