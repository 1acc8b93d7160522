package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/errs"
)

// staticAuth accepts one token as one identity.
type staticAuth struct {
	token string
	id    auth.Identity
}

func (a staticAuth) Authenticate(_ context.Context, token string) (*auth.Identity, error) {
	if token == a.token {
		return &a.id, nil
	}
	return nil, errs.Unauthorizedf("invalid credentials")
}

// Every family answers 401 without credentials and 403 without the role, in
// its own dialect, whichever way the token travels.
func TestAccessChecksSpeakEachDialect(t *testing.T) {
	agent := staticAuth{token: "agent-token", id: auth.Identity{User: auth.User{ID: "u1", Username: "smith", Role: auth.RoleUser, Roles: []string{"Agent"}}, Method: auth.MethodExternal}}
	s, _ := newTestServer(t, WithAuthenticator(agent))
	ok := func(w http.ResponseWriter, r *http.Request) error {
		return writeJSON(w, http.StatusOK, map[string]string{"user": identityFrom(r.Context()).User.Username})
	}
	s.group("/t", Plain, get("/user", signedIn, ok))
	s.group("/t", Envelope, get("/admin", adminOnly, ok))
	s.group("/t", DRF,
		get("/coordinator/", anyRole("Ticket Coordinator"), ok),
		get("/agent/", anyRole("Ticket Coordinator", "agent"), ok),
	)
	s.group("/t", FastAPI, get("/fastapi", adminOnly, ok))

	tests := []struct {
		path   string
		header []string
		status int
		body   string
	}{
		{"/t/user", nil, 401, `"error":{"code":"unauthorized","message":"authentication required"}`},
		{"/t/user", []string{"Authorization", "Bearer wrong"}, 401, `"message":"invalid credentials"`},
		{"/t/user", []string{"Authorization", "Basic dXNlcjpwYXNz"}, 401, `unsupported authorization scheme`},
		{"/t/user", []string{"Authorization", "Bearer agent-token"}, 200, `"user":"smith"`},
		{"/t/user", []string{"Authorization", "agent-token"}, 200, `"user":"smith"`},
		{"/t/user", []string{"Cookie", "access_token=agent-token"}, 200, `"user":"smith"`},
		{"/t/user", []string{"Cookie", "jji_session=agent-token"}, 200, `"user":"smith"`},
		{"/t/admin", nil, 401, `"status":401,"success":false`},
		{"/t/admin", []string{"Authorization", "Bearer agent-token"}, 403, `"status":403,"success":false`},
		{"/t/fastapi", []string{"Authorization", "Bearer agent-token"}, 403, `{"detail":"admin access required"}`},
		{"/t/coordinator/", []string{"Authorization", "Bearer agent-token"}, 403, `{"error":"requires role Ticket Coordinator"}`},
		{"/t/agent/", []string{"Authorization", "Bearer agent-token"}, 200, `"user":"smith"`},
		{"/t/coordinator/", nil, 401, `{"error":"authentication required"}`},
	}
	for _, tt := range tests {
		rec, _ := do(t, s, http.MethodGet, tt.path, nil, tt.header...)
		assert.Equal(t, tt.status, rec.Code, "%s %v", tt.path, tt.header)
		assert.Contains(t, rec.Body.String(), tt.body, "%s %v", tt.path, tt.header)
		if tt.status == 401 {
			assert.NotEmpty(t, rec.Header().Get("WWW-Authenticate"))
		}
	}
}

// A JWT signed by the configured secret opens role-gated routes, sent as a
// bearer token or as seeds/004's access_token cookie.
func TestJWTThroughTheServer(t *testing.T) {
	const secret = "a-shared-hs256-secret-of-32-bytes!!"
	s, _ := newTestServerWith(t, func(cfg *bugflow.Config) { cfg.JWT = &auth.JWTConfig{HS256Secret: secret} })
	s.group("/t", DRF, get("/coordinator/", anyRole("Ticket Coordinator"), func(w http.ResponseWriter, r *http.Request) error {
		return writeJSON(w, http.StatusOK, map[string]any{"roles": identityFrom(r.Context()).User.Roles})
	}))

	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"username": "tc1", "roles": []string{"Ticket Coordinator"}, "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte(secret))
	require.NoError(t, err)
	for _, h := range [][]string{{"Authorization", "Bearer " + token}, {"Cookie", "access_token=" + token}} {
		rec, _ := do(t, s, http.MethodGet, "/t/coordinator/", nil, h...)
		assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.Contains(t, rec.Body.String(), "Ticket Coordinator")
	}
	forged := token[:strings.LastIndexByte(token, '.')] + ".c2lnbmF0dXJl"
	rec, _ := do(t, s, http.MethodGet, "/t/coordinator/", nil, "Authorization", "Bearer "+forged)
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
}
