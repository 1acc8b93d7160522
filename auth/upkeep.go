package auth

import (
	"context"
	"fmt"
	"time"
)

// ExpiredCodeGrace is how long an expired sign-in code is kept before
// PurgeExpired deletes it: until then, signing in with it still answers
// "expired" (410) rather than "wrong code" (401).
const ExpiredCodeGrace = 24 * time.Hour

// Purged counts what PurgeExpired deleted.
type Purged struct {
	Sessions, Codes int
}

// PurgeExpired deletes the sessions that have expired and the sign-in
// codes that expired more than ExpiredCodeGrace ago, at the service's
// clock. An expired session is refused whether or not it was purged; this
// only keeps the tables small.
func (s *Service) PurgeExpired(ctx context.Context) (Purged, error) {
	now := s.now()
	var p Purged
	var err error
	if p.Sessions, err = s.store.DeleteExpiredSessions(ctx, now); err != nil {
		return p, fmt.Errorf("auth: purge sessions: %w", err)
	}
	if p.Codes, err = s.store.DeleteExpiredOTP(ctx, now.Add(-ExpiredCodeGrace)); err != nil {
		return p, fmt.Errorf("auth: purge sign-in codes: %w", err)
	}
	return p, nil
}
