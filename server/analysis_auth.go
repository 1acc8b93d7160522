package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/errs"
)

// usernameCookieTTL is how long the jji_username cookie lives (seeds/001:
// one year).
const usernameCookieTTL = 365 * 24 * time.Hour

// registerAnalysisAuth adds seeds/001's admin login, the personal tracker
// tokens and admin user management. These endpoints parse their bodies by
// hand in the reference system, so bad input is 400 (not FastAPI's 422).
func (s *Server) registerAnalysisAuth() {
	plain := withPlainInvalid()
	s.handle(http.MethodPost, "/api/auth/login", FastAPI, s.adminLogin, plain, withRateLimit(s.limits.signIn, clientIP))
	s.handle(http.MethodPost, "/api/auth/logout", FastAPI, s.adminLogout, plain)
	s.handle(http.MethodGet, "/api/auth/me", FastAPI, s.authMe, plain)
	s.handle(http.MethodGet, "/api/user/tokens", FastAPI, s.getUserTokens, plain)
	s.handle(http.MethodPut, "/api/user/tokens", FastAPI, s.putUserTokens, plain)

	admin := requireAdmin()
	s.handle(http.MethodPost, "/api/admin/users", FastAPI, s.createAdminUser, plain, admin)
	s.handle(http.MethodGet, "/api/admin/users", FastAPI, s.listUsers, plain, admin)
	s.handle(http.MethodDelete, "/api/admin/users/:username", FastAPI, s.deleteUser, plain, admin)
	s.handle(http.MethodPut, "/api/admin/users/:username/role", FastAPI, s.setUserRole, plain, admin)
	s.handle(http.MethodPost, "/api/admin/users/:username/rotate-key", FastAPI, s.rotateUserKey, plain, admin)
}

// whoAmI is seeds/001's identity answer.
type whoAmI struct {
	Username string `json:"username"`
	Role     string `json:"role"`
	IsAdmin  bool   `json:"is_admin"`
}

func (s *Server) adminLogin(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Username string `json:"username"`
		APIKey   string `json:"api_key"`
	}
	if err := decodeJSON(r, &body); err != nil {
		s.writeError(w, r, FastAPI, err)
		return
	}
	if body.Username == "" || body.APIKey == "" {
		s.writeError(w, r, FastAPI, errs.Invalidf("username and api_key are required"))
		return
	}
	in, err := s.engine.Auth.AdminLogin(r.Context(), body.Username, body.APIKey)
	if err != nil {
		s.writeError(w, r, FastAPI, err)
		return
	}
	setSessionCookie(w, r, in.Token, time.Until(in.ExpiresAt))
	http.SetCookie(w, &http.Cookie{
		Name: usernameCookie, Value: in.User.Username, Path: "/",
		MaxAge: int(usernameCookieTTL.Seconds()), Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
	writeJSON(w, http.StatusOK, whoAmI{Username: in.User.Username, Role: string(in.User.Role), IsAdmin: true})
}

// adminLogout ends the session of the jji_session cookie (or of the bearer
// token, if that is a session) and clears the cookie; jji_username stays.
func (s *Server) adminLogout(w http.ResponseWriter, r *http.Request) {
	token := ""
	if c, err := r.Cookie(sessionCookie); err == nil {
		token = c.Value
	} else if cred, ok := credentialOf(r); ok {
		token = cred.token
	}
	if err := s.engine.Auth.Logout(r.Context(), token); err != nil {
		s.writeError(w, r, FastAPI, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Server) authMe(w http.ResponseWriter, r *http.Request) {
	if id := identityFrom(r.Context()); id != nil {
		name := id.User.Username
		if name == "" {
			name = id.User.Email
		}
		writeJSON(w, http.StatusOK, whoAmI{Username: name, Role: string(id.User.Role), IsAdmin: id.IsAdmin()})
		return
	}
	// A cookie that may not act (an account's name) is no identity either.
	name, err := s.usernameContext(r)
	if err != nil && !errors.Is(err, errs.ErrUnauthorized) {
		s.writeError(w, r, FastAPI, err)
		return
	}
	writeJSON(w, http.StatusOK, whoAmI{Username: name, Role: string(auth.RoleUser)})
}

// tokensBody is the personal tracker credentials of seeds/001.
type tokensBody struct {
	GitHubToken string `json:"github_token"`
	JiraEmail   string `json:"jira_email"`
	JiraToken   string `json:"jira_token"`
}

// getUserTokens returns the username context's tracker credentials. Tokens
// are shown in full only to a caller authenticated as that user; a guest's
// bare jji_username cookie proves nothing, so it sees them masked.
func (s *Server) getUserTokens(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	username, err := s.tokenOwner(r)
	if err != nil {
		s.writeError(w, r, FastAPI, err)
		return
	}
	t, err := s.engine.Auth.UserTokens(r.Context(), username)
	if err != nil {
		s.writeError(w, r, FastAPI, err)
		return
	}
	body := tokensBody{GitHubToken: t.GitHubToken, JiraEmail: t.JiraEmail, JiraToken: t.JiraToken}
	if id := identityFrom(r.Context()); id == nil || id.User.Username != username {
		body.GitHubToken, body.JiraToken = mask(body.GitHubToken), mask(body.JiraToken)
	}
	writeJSON(w, http.StatusOK, body)
}

// tokenOwner is the username context whose tracker tokens a request reads
// or writes; there must be one.
func (s *Server) tokenOwner(r *http.Request) (string, error) {
	username, err := s.usernameContext(r)
	if err == nil && username == "" {
		err = errs.Unauthorizedf("username required: sign in or set the jji_username cookie")
	}
	return username, err
}

// mask keeps the last four characters of a long secret, enough to tell two
// tokens apart and nothing to use.
func mask(secret string) string {
	switch {
	case secret == "":
		return ""
	case len(secret) < 12:
		return "****"
	default:
		return "****" + secret[len(secret)-4:]
	}
}

func (s *Server) putUserTokens(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	var raw json.RawMessage
	if err := decodeJSON(r, &raw); err != nil {
		s.writeError(w, r, FastAPI, err)
		return
	}
	var body struct {
		GitHubToken *string `json:"github_token"`
		JiraEmail   *string `json:"jira_email"`
		JiraToken   *string `json:"jira_token"`
	}
	if len(raw) == 0 || raw[0] != '{' {
		s.writeError(w, r, FastAPI, errs.Invalidf("request body must be a JSON object"))
		return
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		s.writeError(w, r, FastAPI, jsonError(err))
		return
	}
	username, err := s.tokenOwner(r)
	if err != nil {
		s.writeError(w, r, FastAPI, err)
		return
	}
	up := auth.TokensUpdate{GitHubToken: body.GitHubToken, JiraEmail: body.JiraEmail, JiraToken: body.JiraToken}
	if err := s.engine.Auth.SetUserTokens(r.Context(), username, up); err != nil {
		s.writeError(w, r, FastAPI, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Server) createAdminUser(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Username string `json:"username"`
	}
	if err := decodeJSON(r, &body); err != nil {
		s.writeError(w, r, FastAPI, err)
		return
	}
	if body.Username == "" {
		s.writeError(w, r, FastAPI, errs.Invalidf("username is required"))
		return
	}
	u, key, err := s.engine.Auth.CreateAdmin(r.Context(), identityFrom(r.Context()), body.Username)
	if err != nil {
		s.writeError(w, r, FastAPI, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"username": u.Username, "api_key": key, "role": string(u.Role)})
}

// userRow is one entry of GET /api/admin/users.
type userRow struct {
	ID        string     `json:"id"`
	Username  string     `json:"username"`
	Email     string     `json:"email"`
	Role      string     `json:"role"`
	Guest     bool       `json:"guest"`
	CreatedAt time.Time  `json:"created_at"`
	LastSeen  *time.Time `json:"last_seen"`
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	users, err := s.engine.Auth.ListUsers(r.Context(), identityFrom(r.Context()))
	if err != nil {
		s.writeError(w, r, FastAPI, err)
		return
	}
	rows := make([]userRow, 0, len(users))
	for _, u := range users {
		rows = append(rows, userRow{ID: u.ID, Username: u.Username, Email: u.Email, Role: string(u.Role), Guest: u.Guest, CreatedAt: u.CreatedAt, LastSeen: u.LastSeen})
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": rows})
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) {
	username := httprouter.ParamsFromContext(r.Context()).ByName("username")
	if err := s.engine.Auth.DeleteUser(r.Context(), identityFrom(r.Context()), username); err != nil {
		s.writeError(w, r, FastAPI, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"deleted": username})
}

func (s *Server) setUserRole(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Role string `json:"role"`
	}
	if err := decodeJSON(r, &body); err != nil {
		s.writeError(w, r, FastAPI, err)
		return
	}
	username := httprouter.ParamsFromContext(r.Context()).ByName("username")
	u, key, err := s.engine.Auth.SetRole(r.Context(), identityFrom(r.Context()), username, auth.Role(body.Role))
	if err != nil {
		s.writeError(w, r, FastAPI, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	out := map[string]string{"username": u.Username, "role": string(u.Role)}
	if key != "" {
		out["api_key"] = key
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) rotateUserKey(w http.ResponseWriter, r *http.Request) {
	var body struct {
		NewKey *string `json:"new_key"`
	}
	// The body is optional: no body (or {}) asks for a generated key.
	if r.ContentLength != 0 {
		var raw json.RawMessage
		if err := decodeJSON(r, &raw); err != nil {
			s.writeError(w, r, FastAPI, err)
			return
		}
		if raw[0] != '{' {
			s.writeError(w, r, FastAPI, errs.Invalidf("request body must be a JSON object"))
			return
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			s.writeError(w, r, FastAPI, jsonError(err))
			return
		}
	}
	newKey := ""
	if body.NewKey != nil {
		if *body.NewKey == "" {
			s.writeError(w, r, FastAPI, errs.Invalidf("new_key must be at least %d characters when given", auth.MinAPIKeyLength))
			return
		}
		newKey = *body.NewKey
	}
	username := httprouter.ParamsFromContext(r.Context()).ByName("username")
	key, err := s.engine.Auth.RotateKey(r.Context(), identityFrom(r.Context()), username, newKey)
	if err != nil {
		s.writeError(w, r, FastAPI, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"username": username, "new_api_key": key})
}
