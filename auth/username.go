package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/bugflow/bugflow/errs"
)

// Deriving a username from an email: the numbered names come first
// (alice, alice-2, ... alice-20), then random suffixes, which are free with
// overwhelming probability.
const (
	numberedUsernames   = 20
	maxUsernameAttempts = numberedUsernames + 5
	// maxUsernameBase leaves room for a suffix within the 50 characters.
	maxUsernameBase = 40
)

// usernameBase is the username an email suggests: its local part without a
// "+tag", lower case, with every character a username cannot hold replaced
// by '-', without leading '.', '_' or '-', at most maxUsernameBase long. One
// character becomes "user-x"; none becomes "user".
func usernameBase(email string) string {
	local := email[:max(0, strings.LastIndexByte(email, '@'))]
	if tag := strings.IndexByte(local, '+'); tag > 0 {
		local = local[:tag]
	}
	var b strings.Builder
	for _, r := range strings.ToLower(local) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '.' || r == '_' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	name := strings.TrimLeft(b.String(), "._-")
	name = name[:min(len(name), maxUsernameBase)]
	switch len(name) {
	case 0:
		return "user"
	case 1:
		return "user-" + name
	}
	return name
}

// derivedUsername is the attempt-th candidate username for email (from 1):
// the base, then the base with -2, -3, ..., then with a random suffix. The
// reserved name is never a candidate.
func derivedUsername(email string, attempt int) string {
	base := usernameBase(email)
	if strings.EqualFold(base, ReservedUsername) {
		attempt++
	}
	switch {
	case attempt == 1:
		return base
	case attempt <= numberedUsernames:
		return fmt.Sprintf("%s-%d", base, attempt)
	}
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return base + "-" + hex.EncodeToString(b[:])
}

// createWithDerivedUsername stores u, a new user with an email, under the
// first free username derived from the email. When the email itself is
// taken (its user was created concurrently) it returns the Conflict error.
func (s *Service) createWithDerivedUsername(ctx context.Context, u User) (User, error) {
	var err error
	for attempt := 1; attempt <= maxUsernameAttempts; attempt++ {
		u.Username = derivedUsername(u.Email, attempt)
		err = s.store.CreateUser(ctx, u, Credentials{})
		if !errors.Is(err, errs.ErrConflict) {
			return u, err
		}
		switch _, _, lookErr := s.store.User(ctx, UserKey{Email: u.Email}); {
		case lookErr == nil:
			return User{}, err // the email's user was created concurrently
		case !errors.Is(lookErr, errs.ErrNotFound):
			return User{}, lookErr
		}
	}
	return User{}, err
}
