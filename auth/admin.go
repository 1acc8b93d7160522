package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// apiKeyPrefix marks generated API keys, so that a leaked one is easy to
// recognise in logs and secret scanners.
const apiKeyPrefix = "bfk_"

func requireAdmin(actor *Identity) error {
	if actor == nil {
		return errs.Unauthorizedf("authentication required")
	}
	if !actor.IsAdmin() {
		return errs.Forbiddenf("admin access required")
	}
	return nil
}

// CreateAdmin creates an admin user and returns it with its API key, which
// is shown this once and stored only as a digest. A guest's username is
// claimed.
func (s *Service) CreateAdmin(ctx context.Context, actor *Identity, username string) (User, string, error) {
	if err := requireAdmin(actor); err != nil {
		return User{}, "", err
	}
	if err := checkUsername(username); err != nil {
		return User{}, "", asPlainInvalid(err)
	}
	key := newToken(apiKeyPrefix)
	u := User{ID: uuid.NewString(), Username: username, Role: RoleAdmin, CreatedAt: s.now(), HasAPIKey: true}
	err := s.createAccount(ctx, &u, Credentials{APIKeyDigest: digest(key)})
	if errors.Is(err, errs.ErrConflict) {
		return User{}, "", errs.Invalidf("username %q already exists", username)
	}
	if err != nil {
		return User{}, "", err
	}
	return u, key, nil
}

// asPlainInvalid keeps an Invalid error's message but drops its field
// details: seeds/001's admin endpoints answer 400, not 422, for bad input.
func asPlainInvalid(err error) error {
	if e := errs.As(err); e != nil && e.Kind == errs.Invalid {
		return errs.Invalidf("%s", e.Message)
	}
	return err
}

// ListUsers returns every user, oldest first.
func (s *Service) ListUsers(ctx context.Context, actor *Identity) ([]User, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	return s.store.ListUsers(ctx)
}

// targetUser loads the user an admin operation names, refusing the reserved
// bootstrap name and the actor itself.
func (s *Service) targetUser(ctx context.Context, actor *Identity, username, what string) (User, error) {
	if err := requireAdmin(actor); err != nil {
		return User{}, err
	}
	if username == ReservedUsername {
		return User{}, errs.Invalidf("cannot %s the reserved admin account", what)
	}
	u, _, err := s.store.User(ctx, UserKey{Username: username})
	if errors.Is(err, errs.ErrNotFound) {
		return User{}, errs.NotFoundf("user %q not found", username)
	}
	if err != nil {
		return User{}, err
	}
	if actor.User.ID != "" && actor.User.ID == u.ID {
		return User{}, errs.Invalidf("cannot %s your own account", what)
	}
	return u, nil
}

// DeleteUser deletes a user and ends its sessions. The reserved admin, the
// caller itself and the last admin cannot be deleted.
func (s *Service) DeleteUser(ctx context.Context, actor *Identity, username string) error {
	// Whatever this changes must not be served from the identity cache.
	defer s.ids.clear()
	u, err := s.targetUser(ctx, actor, username, "delete")
	if err != nil {
		return err
	}
	err = s.store.DeleteUser(ctx, u.ID)
	if errors.Is(err, ErrLastAdmin) {
		return errs.Invalidf("cannot delete the last admin")
	}
	return err
}

// SetRole changes a user's role. Promotion to admin issues an API key
// (returned once) and makes a guest an account; demotion removes the key and
// ends the user's sessions. The last admin cannot be demoted.
func (s *Service) SetRole(ctx context.Context, actor *Identity, username string, role Role) (User, string, error) {
	// Whatever this changes must not be served from the identity cache.
	defer s.ids.clear()
	if err := requireAdmin(actor); err != nil {
		return User{}, "", err
	}
	if !role.Valid() {
		return User{}, "", errs.Invalidf("role must be admin or user")
	}
	u, err := s.targetUser(ctx, actor, username, "change the role of")
	if err != nil {
		return User{}, "", err
	}
	if u.Role == role {
		return User{}, "", errs.Invalidf("user %q already has role %s", username, role)
	}
	key, keyDigest := "", ""
	if role == RoleAdmin {
		key = newToken(apiKeyPrefix)
		keyDigest = digest(key)
	}
	if u.Guest {
		u.Role = role
		err = s.claim(ctx, u, Credentials{APIKeyDigest: keyDigest})
	} else {
		err = s.store.SetRole(ctx, u.ID, role, keyDigest)
	}
	if errors.Is(err, ErrLastAdmin) {
		return User{}, "", errs.Invalidf("cannot demote the last admin")
	}
	if err != nil {
		return User{}, "", err
	}
	u.Role, u.HasAPIKey, u.Guest = role, key != "", false
	return u, key, nil
}

// RotateKey replaces an admin user's API key with newKey (at least 16
// characters) or, when newKey is "", a generated one, and ends the user's
// sessions. It returns the new key.
func (s *Service) RotateKey(ctx context.Context, actor *Identity, username, newKey string) (string, error) {
	// Whatever this changes must not be served from the identity cache.
	defer s.ids.clear()
	if err := requireAdmin(actor); err != nil {
		return "", err
	}
	if username == ReservedUsername {
		return "", errs.Invalidf("the bootstrap admin key is set in configuration, not rotated here")
	}
	if newKey != "" {
		if err := CheckAPIKey(newKey); err != nil {
			return "", err
		}
	} else {
		newKey = newToken(apiKeyPrefix)
	}
	u, cred, err := s.store.User(ctx, UserKey{Username: username})
	if errors.Is(err, errs.ErrNotFound) || (err == nil && u.Role != RoleAdmin) {
		return "", errs.NotFoundf("admin user %q not found", username)
	}
	if err != nil {
		return "", err
	}
	cred.APIKeyDigest = digest(newKey)
	if err := s.store.SetCredentials(ctx, u.ID, cred); err != nil {
		if errors.Is(err, errs.ErrConflict) {
			return "", errs.Invalidf("that key cannot be used; choose another")
		}
		return "", err
	}
	if err := s.store.DeleteUserSessions(ctx, u.ID); err != nil {
		return "", err
	}
	return newKey, nil
}

// Tokens are a user's personal tracker credentials in clear.
type Tokens struct {
	GitHubToken string
	JiraEmail   string
	JiraToken   string
}

// TokensUpdate changes the fields that are non-nil; "" clears one.
type TokensUpdate struct {
	GitHubToken *string
	JiraEmail   *string
	JiraToken   *string
}

// maxTrackerTokenLength bounds a stored tracker credential.
const maxTrackerTokenLength = 4096

// UserTokens returns the personal tracker credentials of username; an
// unknown username has none (all empty), as seeds/001 specifies.
func (s *Service) UserTokens(ctx context.Context, username string) (Tokens, error) {
	u, _, err := s.store.User(ctx, UserKey{Username: username})
	if errors.Is(err, errs.ErrNotFound) {
		return Tokens{}, nil
	}
	if err != nil {
		return Tokens{}, err
	}
	t, err := s.store.TrackerTokens(ctx, u.ID)
	if err != nil {
		return Tokens{}, err
	}
	out := Tokens{JiraEmail: t.JiraEmail}
	if t.GitHubTokenSealed == "" && t.JiraTokenSealed == "" {
		return out, nil
	}
	if s.sealer == nil {
		return Tokens{}, errs.Unavailablef("stored tokens cannot be read: the server has no secret key configured")
	}
	if out.GitHubToken, err = s.sealer.open(t.GitHubTokenSealed, u.ID+"/github"); err != nil {
		return Tokens{}, fmt.Errorf("auth: github token of %s: %w", u.ID, err)
	}
	if out.JiraToken, err = s.sealer.open(t.JiraTokenSealed, u.ID+"/jira"); err != nil {
		return Tokens{}, fmt.Errorf("auth: jira token of %s: %w", u.ID, err)
	}
	return out, nil
}

// SetUserTokens updates the personal tracker credentials of username.
// Tokens are encrypted with the configured secret key; without one, storing
// a token is Unavailable.
func (s *Service) SetUserTokens(ctx context.Context, username string, up TokensUpdate) error {
	for _, f := range []struct {
		name string
		v    *string
	}{{"github_token", up.GitHubToken}, {"jira_email", up.JiraEmail}, {"jira_token", up.JiraToken}} {
		if f.v != nil && len(*f.v) > maxTrackerTokenLength {
			return errs.Invalidf("%s is too long", f.name)
		}
		if f.v != nil {
			if err := store.CheckText(f.name, *f.v); err != nil {
				return err
			}
		}
	}
	u, _, err := s.store.User(ctx, UserKey{Username: username})
	if errors.Is(err, errs.ErrNotFound) {
		return errs.NotFoundf("user %q not found", username)
	}
	if err != nil {
		return err
	}
	if s.sealer == nil && ((up.GitHubToken != nil && *up.GitHubToken != "") || (up.JiraToken != nil && *up.JiraToken != "")) {
		return errs.Unavailablef("token storage is disabled: the server needs a secret key (--secret-key or BUGFLOW_SECRET_KEY)")
	}
	t, err := s.store.TrackerTokens(ctx, u.ID)
	if err != nil {
		return err
	}
	if up.GitHubToken != nil {
		t.GitHubTokenSealed = s.seal(*up.GitHubToken, u.ID+"/github")
	}
	if up.JiraToken != nil {
		t.JiraTokenSealed = s.seal(*up.JiraToken, u.ID+"/jira")
	}
	if up.JiraEmail != nil {
		t.JiraEmail = *up.JiraEmail
	}
	return s.store.SetTrackerTokens(ctx, u.ID, t, s.now())
}

func (s *Service) seal(v, context string) string {
	if v == "" || s.sealer == nil {
		return ""
	}
	return s.sealer.seal(v, context)
}
