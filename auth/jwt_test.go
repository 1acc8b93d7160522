package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
)

const hsSecret = "a-shared-hs256-secret-of-32-bytes!!"

func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	require.NoError(t, err)
	return s
}

func publicPEM(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestJWT(t *testing.T) {
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).Unix()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)

	tests := []struct {
		name    string
		cfg     auth.JWTConfig
		token   string
		ok      bool
		admin   bool
		roles   []string
		usrname string
	}{
		{"HS256 user with roles", auth.JWTConfig{HS256Secret: hsSecret},
			sign(t, jwt.SigningMethodHS256, []byte(hsSecret), jwt.MapClaims{"sub": "42", "username": "agent-smith", "roles": []string{"Agent", "Ticket Coordinator"}, "exp": exp}),
			true, false, []string{"Agent", "Ticket Coordinator"}, "agent-smith"},
		{"HS256 admin by claim", auth.JWTConfig{HS256Secret: hsSecret},
			sign(t, jwt.SigningMethodHS256, []byte(hsSecret), jwt.MapClaims{"preferred_username": "boss", "is_staff": true, "exp": exp}),
			true, true, nil, "boss"},
		{"RS256", auth.JWTConfig{PublicKeyPEM: publicPEM(t, &rsaKey.PublicKey), Issuer: "https://id.example"},
			sign(t, jwt.SigningMethodRS256, rsaKey, jwt.MapClaims{"email": "Rita@Example.com", "iss": "https://id.example", "role": "admin", "exp": exp}),
			true, true, nil, "rita"}, // derived from the email; admin is no domain role
		{"ES256", auth.JWTConfig{PublicKeyPEM: publicPEM(t, &ecKey.PublicKey), Audience: "bugflow"},
			sign(t, jwt.SigningMethodES256, ecKey, jwt.MapClaims{"sub": "eve", "aud": "bugflow", "exp": exp}),
			true, false, nil, "eve"},
		{"wrong secret", auth.JWTConfig{HS256Secret: hsSecret},
			sign(t, jwt.SigningMethodHS256, []byte("another-secret-that-is-32-bytes-long"), jwt.MapClaims{"sub": "x", "exp": exp}), false, false, nil, ""},
		{"expired", auth.JWTConfig{HS256Secret: hsSecret},
			sign(t, jwt.SigningMethodHS256, []byte(hsSecret), jwt.MapClaims{"sub": "x", "exp": time.Now().Add(-time.Hour).Unix()}), false, false, nil, ""},
		{"no expiry", auth.JWTConfig{HS256Secret: hsSecret},
			sign(t, jwt.SigningMethodHS256, []byte(hsSecret), jwt.MapClaims{"sub": "x"}), false, false, nil, ""},
		{"HS256 token against an RSA key (algorithm confusion)", auth.JWTConfig{PublicKeyPEM: publicPEM(t, &rsaKey.PublicKey)},
			sign(t, jwt.SigningMethodHS256, []byte(publicPEM(t, &rsaKey.PublicKey)), jwt.MapClaims{"sub": "x", "exp": exp}), false, false, nil, ""},
		{"alg none", auth.JWTConfig{HS256Secret: hsSecret},
			sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": "x", "exp": exp}), false, false, nil, ""},
		{"wrong issuer", auth.JWTConfig{PublicKeyPEM: publicPEM(t, &rsaKey.PublicKey), Issuer: "https://id.example"},
			sign(t, jwt.SigningMethodRS256, rsaKey, jwt.MapClaims{"sub": "x", "iss": "https://evil.example", "exp": exp}), false, false, nil, ""},
		{"wrong audience", auth.JWTConfig{PublicKeyPEM: publicPEM(t, &ecKey.PublicKey), Audience: "bugflow"},
			sign(t, jwt.SigningMethodES256, ecKey, jwt.MapClaims{"sub": "x", "aud": "other", "exp": exp}), false, false, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := dbtest.Open(t, dbtest.Backends()[0].NewURL(t), auth.Migrations())
			cfg := tt.cfg
			svc, err := auth.New(auth.NewBunStore(db.DB), auth.Config{JWT: &cfg})
			require.NoError(t, err)
			_, err = svc.CreateRole(ctx, root, auth.RoleInput{Name: "Agent"})
			require.NoError(t, err)
			id, err := svc.Authenticate(ctx, tt.token)
			if !tt.ok {
				assert.Equal(t, errs.Unauthorized, errs.KindOf(err), "%v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, auth.MethodJWT, id.Method)
			assert.Equal(t, tt.admin, id.IsAdmin())
			assert.Equal(t, tt.roles, id.User.Roles)
			assert.Equal(t, tt.usrname, id.User.Username)
			assert.NotEmpty(t, id.User.ID, "mapped to a stored user")
			again, err := svc.Authenticate(ctx, tt.token)
			require.NoError(t, err)
			assert.Equal(t, id.User.ID, again.User.ID, "the same user on every request")
		})
	}
}

func TestJWTConfigIsChecked(t *testing.T) {
	db := dbtest.Open(t, dbtest.Backends()[0].NewURL(t), auth.Migrations())
	for _, cfg := range []auth.JWTConfig{{}, {HS256Secret: "short"}, {PublicKeyPEM: "garbage"}, {HS256Secret: hsSecret, PublicKeyPEM: "x"}} {
		_, err := auth.New(auth.NewBunStore(db.DB), auth.Config{JWT: &cfg})
		assert.Error(t, err)
	}
}
