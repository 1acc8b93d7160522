package auth

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/bugflow/bugflow/errs"
)

// Guest returns the user that a bare username may act as: seeds/001's
// jji_username cookie names who is asking without proving it. Only a guest
// can be acted as that way, a name no one has signed up for: on first sight
// it is stored as a guest user (tracked, with its last-seen time). A name
// that belongs to an account that can sign in (password, API key, email
// code, JWT, the reserved admin) is Unauthorized, asking the caller to sign
// in; so is every name when Config.DisableGuestUsernames is set.
func (s *Service) Guest(ctx context.Context, username string) (User, error) {
	if s.cfg.DisableGuestUsernames {
		return User{}, errs.Unauthorizedf("guest usernames are turned off on this server: sign in")
	}
	if strings.EqualFold(username, ReservedUsername) {
		return User{}, signInToActAs(ReservedUsername)
	}
	if err := checkUsername(username); err != nil {
		return User{}, err
	}
	u, err := s.guest(ctx, username)
	if !errors.Is(err, errs.ErrNotFound) {
		return u, err
	}
	now := s.now()
	u = User{ID: uuid.NewString(), Username: username, Role: RoleUser, Guest: true, CreatedAt: now, LastSeen: &now}
	err = s.store.CreateUser(ctx, u, Credentials{})
	if errors.Is(err, errs.ErrConflict) {
		// The name was stored concurrently, as a guest or by a sign-up.
		return s.guest(ctx, username)
	}
	return u, err
}

// guest returns the stored guest named username, errs.NotFound when no user
// has that name, or Unauthorized when an account has it.
func (s *Service) guest(ctx context.Context, username string) (User, error) {
	u, _, err := s.store.User(ctx, UserKey{Username: username})
	if err != nil {
		return User{}, err
	}
	if !u.Guest {
		return User{}, signInToActAs(u.Username)
	}
	s.touch(ctx, &u, s.now())
	return u, nil
}

func signInToActAs(username string) error {
	return errs.Unauthorizedf("%q is an account that signs in: sign in to act as it (a bare username cookie acts only for guest usernames)", username)
}

// createAccount stores u, a new account with credentials c. When u's
// username belongs to a guest, the sign-up claims it: the guest's row becomes
// u's account (keeping its id and creation time, so that what the guest did
// stays theirs), and the tracker tokens saved for it, which anyone could have
// written, are dropped. A name taken by an account is the Conflict error.
func (s *Service) createAccount(ctx context.Context, u *User, c Credentials) error {
	err := s.store.CreateUser(ctx, *u, c)
	if !errors.Is(err, errs.ErrConflict) {
		return err
	}
	g, _, lookErr := s.store.User(ctx, UserKey{Username: u.Username})
	if errors.Is(lookErr, errs.ErrNotFound) || (lookErr == nil && !g.Guest) {
		return err
	}
	if lookErr != nil {
		return lookErr
	}
	u.ID, u.CreatedAt, u.LastSeen = g.ID, g.CreatedAt, g.LastSeen
	return s.claim(ctx, *u, c)
}

// claim turns the guest u.ID into the account u; a guest claimed by someone
// else meanwhile is a Conflict.
func (s *Service) claim(ctx context.Context, u User, c Credentials) error {
	err := s.store.ClaimGuest(ctx, u, c)
	if errors.Is(err, errs.ErrNotFound) {
		return errs.Conflictf("username %q was just taken", u.Username)
	}
	return err
}
