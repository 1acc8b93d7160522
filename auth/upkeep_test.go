package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

// PurgeExpired deletes sessions once expired and sign-in codes a grace
// period after they expired (an unused one answers 410 until then), and nothing
// that is still valid.
func TestPurgeExpiredOnBothSidesOfEachLimit(t *testing.T) {
	dbtest.ForEachDB(t, auth.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := newClock()
		mail := &outbox{}
		svc := newService(t, db, auth.Config{Mailer: mail, Now: c.Now, SessionTTL: time.Hour, OTPTTL: 10 * time.Minute})
		_, err := svc.Register(ctx, auth.Registration{Username: "alice", Password: "alice-password"})
		require.NoError(t, err)
		in, err := svc.Login(ctx, "alice", "alice-password")
		require.NoError(t, err)
		_, err = svc.RequestOTP(ctx, "bob@example.com")
		require.NoError(t, err)
		code := mail.lastCode(t, "bob@example.com")

		purge := func() auth.Purged {
			p, err := svc.PurgeExpired(ctx)
			require.NoError(t, err)
			return p
		}
		c.advance(time.Hour) // the session expires now: not yet before now
		assert.Equal(t, auth.Purged{}, purge())
		c.advance(time.Microsecond)
		assert.Equal(t, auth.Purged{Sessions: 1}, purge())
		_, err = svc.Authenticate(ctx, in.Token)
		assert.ErrorIs(t, err, errs.ErrUnauthorized)

		// The code expired at +10 min; it goes 24 h later.
		c.advance(-time.Hour - time.Microsecond + 10*time.Minute + auth.ExpiredCodeGrace)
		assert.Equal(t, auth.Purged{}, purge())
		c.advance(time.Microsecond)
		assert.Equal(t, auth.Purged{Codes: 1}, purge())
		assert.Equal(t, auth.Purged{}, purge())
		_, err = svc.SignInWithOTP(ctx, "bob@example.com", code)
		assert.ErrorIs(t, err, errs.ErrUnauthorized, "gone from the table")
	})
}
