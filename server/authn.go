package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/bugflow/bugflow/activity"
	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/errs"
)

// Cookie names of the documents: seeds/004's JWT cookie, seeds/001's admin
// session and username context.
const (
	accessTokenCookie = "access_token"
	sessionCookie     = "jji_session"
	usernameCookie    = "jji_username"
)

// Authenticator identifies the bearer of a token. *auth.Service is one; an
// embedder with an identity system of its own adds another with
// WithAuthenticator.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (*auth.Identity, error)
}

// WithAuthenticator tries a before bugflow's own identities. A token that a
// rejects as Unauthorized is then tried against bugflow's.
func WithAuthenticator(a Authenticator) Option {
	return func(s *Server) { s.authenticators = append(s.authenticators, a) }
}

// Access is who may call a route; Server.Routes lists it with each route.
// The zero value is public. A caller who does not satisfy it is answered
// 401 without valid credentials, 403 without the role, in the route's
// dialect.
type Access struct {
	// Level is what the caller must be.
	Level AccessLevel
	// Roles, for AccessRole, are the roles that open the route: any one of
	// them will do, and admins need none.
	Roles []string
}

// AccessLevel grades what a route demands of its caller.
type AccessLevel int

// The access levels, from open to narrow.
const (
	AccessPublic AccessLevel = iota // anyone, with or without credentials
	AccessUser                      // any authenticated caller
	AccessAdmin                     // the admin role
	AccessRole                      // one of Access.Roles, or the admin role
)

// String names the level: public, user, admin or role.
func (l AccessLevel) String() string {
	switch l {
	case AccessPublic:
		return "public"
	case AccessUser:
		return "user"
	case AccessAdmin:
		return "admin"
	case AccessRole:
		return "role"
	default:
		return fmt.Sprintf("AccessLevel(%d)", int(l))
	}
}

// The accesses of the route tables.
var (
	anyone    = Access{Level: AccessPublic}
	signedIn  = Access{Level: AccessUser}
	adminOnly = Access{Level: AccessAdmin}
)

// anyRole opens a route to callers with any one of roles, and to admins.
func anyRole(roles ...string) Access { return Access{Level: AccessRole, Roles: roles} }

// check returns nil when id satisfies a, else the error to answer with.
// authErr is why credentials that were sent did not identify anyone. A
// level check does not know fails closed.
func (a Access) check(id *auth.Identity, authErr error) error {
	if a.Level == AccessPublic {
		return nil
	}
	if id == nil {
		if authErr != nil {
			return authErr
		}
		return errs.Unauthorizedf("authentication required")
	}
	switch a.Level {
	case AccessUser:
		return nil
	case AccessAdmin:
		if id.IsAdmin() {
			return nil
		}
		return errs.Forbiddenf("admin access required")
	case AccessRole:
		if id.IsAdmin() || slices.ContainsFunc(a.Roles, id.HasRole) {
			return nil
		}
		return errs.Forbiddenf("requires role %s", strings.Join(a.Roles, " or "))
	default:
		return errs.Forbiddenf("access level %s is not known", a.Level)
	}
}

// credential is the token a request presents and where it came from.
type credential struct {
	token  string
	cookie string // the cookie's name, or "" for the Authorization header
}

// credentialOf finds the request's token: the Authorization header (a
// bearer token, or a bare token as seeds/003's examples send), else the
// access_token cookie, else the jji_session cookie.
func credentialOf(r *http.Request) (credential, bool) {
	if h := strings.TrimSpace(r.Header.Get("Authorization")); h != "" {
		scheme, rest, found := strings.Cut(h, " ")
		if found && strings.EqualFold(scheme, "Bearer") {
			return credential{token: strings.TrimSpace(rest)}, true
		}
		if !found {
			return credential{token: h}, true
		}
		// Another scheme (Basic, ...) is credentials bugflow does not
		// accept: an invalid token rather than none.
		return credential{token: ""}, true
	}
	for _, name := range []string{accessTokenCookie, sessionCookie} {
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			return credential{token: c.Value, cookie: name}, true
		}
	}
	return credential{}, false
}

// identify authenticates the request once and remembers the outcome in its
// requestInfo: (nil, nil) means no credentials were sent.
func (s *Server) identify(r *http.Request) (*auth.Identity, error) {
	info := infoFrom(r.Context())
	if info.identified {
		return info.identity, info.authErr
	}
	info.identified = true
	cred, ok := credentialOf(r)
	if !ok {
		return nil, nil
	}
	info.credential = cred
	if cred.token == "" {
		info.authErr = errs.Unauthorizedf("unsupported authorization scheme: use Bearer")
		return nil, info.authErr
	}
	for _, a := range s.authenticators {
		id, err := a.Authenticate(r.Context(), cred.token)
		if err == nil {
			info.identity = id
			return id, nil
		}
		if !errors.Is(err, errs.ErrUnauthorized) {
			info.authErr = err
			return nil, err
		}
		info.authErr = err
	}
	return nil, info.authErr
}

// identityFrom returns the authenticated caller of a request that passed
// its route's access check, or nil on an open route with no credentials.
func identityFrom(ctx context.Context) *auth.Identity { return infoFrom(ctx).identity }

// usernameContext is seeds/001's notion of who is asking: the signed-in
// caller's username, else the guest the jji_username cookie names ("" when
// the request names no one). A bare cookie proves nothing, so it acts only
// for a guest username; naming an account that can sign in, or any name
// when guest usernames are off, is Unauthorized, asking to sign in.
func (s *Server) usernameContext(r *http.Request) (string, error) {
	if id := identityFrom(r.Context()); id != nil {
		return id.User.Username, nil
	}
	c, err := r.Cookie(usernameCookie)
	if err != nil || !auth.ValidUsername(c.Value) {
		return "", nil
	}
	g, err := s.engine.Auth.Guest(r.Context(), c.Value)
	return g.Username, err
}

// refreshSessionCookie re-sends the jji_session cookie of a request that
// authenticated with it, so the browser's copy slides with the session.
func refreshSessionCookie(w http.ResponseWriter, r *http.Request) {
	info := infoFrom(r.Context())
	if info.identity == nil || info.credential.cookie != sessionCookie || info.identity.SessionExpiresAt.IsZero() {
		return
	}
	setSessionCookie(w, r, info.credential.token, time.Until(info.identity.SessionExpiresAt))
}

func setSessionCookie(w http.ResponseWriter, r *http.Request, token string, ttl time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/",
		MaxAge: max(1, int(ttl.Seconds())), HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
}

// activityTimeout bounds the recording of one request in the activity log.
const activityTimeout = 2 * time.Second

// recordActivity adds a request of a person (signed in by session or JWT) to
// their activity log, the journey a bug report they file will carry. API-key
// and bootstrap callers are programs, whose requests are not a journey.
func (s *Server) recordActivity(r *http.Request) {
	id := identityFrom(r.Context())
	if id == nil || id.User.ID == "" || (id.Method != auth.MethodSession && id.Method != auth.MethodJWT) {
		return
	}
	info := infoFrom(r.Context())
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), activityTimeout)
	defer cancel()
	_, err := s.engine.Activity.Record(ctx, activity.Entry{
		UserID: id.User.ID, Action: "api-request", Summary: r.Method + " " + info.route, Target: r.URL.Path,
	})
	if err != nil {
		s.logger.WarnContext(r.Context(), "record activity", "error", err.Error(), "request_id", info.id)
	}
}
