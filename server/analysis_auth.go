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

// whoAmI is seeds/001's identity answer.
type whoAmI struct {
	Username string `json:"username"`
	Role     string `json:"role"`
	IsAdmin  bool   `json:"is_admin"`
}

func (s *Server) adminLogin(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Username string `json:"username"`
		APIKey   string `json:"api_key"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if body.Username == "" || body.APIKey == "" {
		return errs.Invalidf("username and api_key are required")
	}
	in, err := s.engine.Auth.AdminLogin(r.Context(), body.Username, body.APIKey)
	if err != nil {
		return err
	}
	setSessionCookie(w, r, in.Token, time.Until(in.ExpiresAt))
	http.SetCookie(w, &http.Cookie{
		Name: usernameCookie, Value: in.User.Username, Path: "/",
		MaxAge: int(usernameCookieTTL.Seconds()), Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
	return reply(w, r, http.StatusOK, whoAmI{Username: in.User.Username, Role: string(in.User.Role), IsAdmin: true})
}

// adminLogout ends the session of the jji_session cookie (or of the bearer
// token, if that is a session) and clears the cookie; jji_username stays.
func (s *Server) adminLogout(w http.ResponseWriter, r *http.Request) error {
	token := ""
	if c, err := r.Cookie(sessionCookie); err == nil {
		token = c.Value
	} else if cred, ok := credentialOf(r); ok {
		token = cred.token
	}
	if err := s.engine.Auth.Logout(r.Context(), token); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	return reply(w, r, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Server) authMe(w http.ResponseWriter, r *http.Request) error {
	if id := identityFrom(r.Context()); id != nil {
		name := id.User.Username
		if name == "" {
			name = id.User.Email
		}
		return reply(w, r, http.StatusOK, whoAmI{Username: name, Role: string(id.User.Role), IsAdmin: id.IsAdmin()})
	}
	// A cookie that may not act (an account's name) is no identity either.
	name, err := s.usernameContext(r)
	if err != nil && !errors.Is(err, errs.ErrUnauthorized) {
		return err
	}
	return reply(w, r, http.StatusOK, whoAmI{Username: name, Role: string(auth.RoleUser)})
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
func (s *Server) getUserTokens(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	username, err := s.tokenOwner(r)
	if err != nil {
		return err
	}
	t, err := s.engine.Auth.UserTokens(r.Context(), username)
	if err != nil {
		return err
	}
	body := tokensBody{GitHubToken: t.GitHubToken, JiraEmail: t.JiraEmail, JiraToken: t.JiraToken}
	if id := identityFrom(r.Context()); id == nil || id.User.Username != username {
		body.GitHubToken, body.JiraToken = mask(body.GitHubToken), mask(body.JiraToken)
	}
	return reply(w, r, http.StatusOK, body)
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

func (s *Server) putUserTokens(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	var raw json.RawMessage
	if err := decodeJSON(r, &raw); err != nil {
		return err
	}
	var body struct {
		GitHubToken *string `json:"github_token"`
		JiraEmail   *string `json:"jira_email"`
		JiraToken   *string `json:"jira_token"`
	}
	if len(raw) == 0 || raw[0] != '{' {
		return errs.Invalidf("request body must be a JSON object")
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return jsonError(err)
	}
	username, err := s.tokenOwner(r)
	if err != nil {
		return err
	}
	up := auth.TokensUpdate{GitHubToken: body.GitHubToken, JiraEmail: body.JiraEmail, JiraToken: body.JiraToken}
	if err := s.engine.Auth.SetUserTokens(r.Context(), username, up); err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Server) createAdminUser(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Username string `json:"username"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if body.Username == "" {
		return errs.Invalidf("username is required")
	}
	u, key, err := s.engine.Auth.CreateAdmin(r.Context(), identityFrom(r.Context()), body.Username)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return reply(w, r, http.StatusOK, map[string]string{"username": u.Username, "api_key": key, "role": string(u.Role)})
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

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	users, err := s.engine.Auth.ListUsers(r.Context(), identityFrom(r.Context()))
	if err != nil {
		return err
	}
	rows := make([]userRow, 0, len(users))
	for _, u := range users {
		rows = append(rows, userRow{ID: u.ID, Username: u.Username, Email: u.Email, Role: string(u.Role), Guest: u.Guest, CreatedAt: u.CreatedAt, LastSeen: u.LastSeen})
	}
	return reply(w, r, http.StatusOK, map[string]any{"users": rows})
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	username := httprouter.ParamsFromContext(r.Context()).ByName("username")
	if err := s.engine.Auth.DeleteUser(r.Context(), identityFrom(r.Context()), username); err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, map[string]string{"deleted": username})
}

func (s *Server) setUserRole(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Role string `json:"role"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	username := httprouter.ParamsFromContext(r.Context()).ByName("username")
	u, key, err := s.engine.Auth.SetRole(r.Context(), identityFrom(r.Context()), username, auth.Role(body.Role))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	out := map[string]string{"username": u.Username, "role": string(u.Role)}
	if key != "" {
		out["api_key"] = key
	}
	return reply(w, r, http.StatusOK, out)
}

func (s *Server) rotateUserKey(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		NewKey *string `json:"new_key"`
	}
	// The body is optional: no body (or {}) asks for a generated key.
	if r.ContentLength != 0 {
		var raw json.RawMessage
		if err := decodeJSON(r, &raw); err != nil {
			return err
		}
		if raw[0] != '{' {
			return errs.Invalidf("request body must be a JSON object")
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			return jsonError(err)
		}
	}
	newKey := ""
	if body.NewKey != nil {
		if *body.NewKey == "" {
			return errs.Invalidf("new_key must be at least %d characters when given", auth.MinAPIKeyLength)
		}
		newKey = *body.NewKey
	}
	username := httprouter.ParamsFromContext(r.Context()).ByName("username")
	key, err := s.engine.Auth.RotateKey(r.Context(), identityFrom(r.Context()), username, newKey)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return reply(w, r, http.StatusOK, map[string]string{"username": username, "new_api_key": key})
}
