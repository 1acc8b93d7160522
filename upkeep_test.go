package bugflow_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/activity"
	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/internal/dbtest"
)

// movable is a clock the test sets.
type movable struct {
	mu sync.Mutex
	t  time.Time
}

func (m *movable) now() time.Time { m.mu.Lock(); defer m.mu.Unlock(); return m.t }
func (m *movable) set(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.t = t
}

// Upkeep purges expired sessions and sign-in codes and prunes the activity
// log past its retention, each only past its limit.
func TestUpkeepDeletesOnlyWhatIsPastItsLimit(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
		clock := &movable{t: t0}
		e, err := bugflow.Open(ctx, bugflow.Config{DatabaseURL: url, Logger: slog.New(slog.DiscardHandler), Now: clock.now,
			Jobs: bugflow.JobsConfig{Disabled: true}, Upkeep: bugflow.UpkeepConfig{ActivityRetention: 48 * time.Hour}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = e.Close() })
		u, err := e.Auth.Register(ctx, auth.Registration{Username: "alice", Password: "alice-password"})
		require.NoError(t, err)
		_, err = e.Auth.Login(ctx, "alice", "alice-password")
		require.NoError(t, err)
		_, err = e.Auth.RequestOTP(ctx, "bob@example.com")
		require.NoError(t, err)
		_, err = e.Activity.Record(ctx, activity.Entry{UserID: u.ID, Action: "page-view"})
		require.NoError(t, err)

		upkeep := func(at time.Time) bugflow.UpkeepReport {
			clock.set(at)
			r, err := e.Upkeep(ctx)
			require.NoError(t, err)
			return r
		}
		codeGone := t0.Add(auth.DefaultOTPTTL + auth.ExpiredCodeGrace)
		assert.Equal(t, bugflow.UpkeepReport{}, upkeep(codeGone))
		assert.Equal(t, bugflow.UpkeepReport{SignInCodes: 1}, upkeep(codeGone.Add(time.Microsecond)))
		assert.Equal(t, bugflow.UpkeepReport{}, upkeep(t0.Add(48*time.Hour)), "the entry is 48 h old: kept")
		assert.Equal(t, bugflow.UpkeepReport{ActivityEntries: 1}, upkeep(t0.Add(48*time.Hour+time.Microsecond)))
		sessionGone := t0.Add(auth.DefaultSessionTTL)
		assert.Equal(t, bugflow.UpkeepReport{}, upkeep(sessionGone))
		assert.Equal(t, bugflow.UpkeepReport{Sessions: 1}, upkeep(sessionGone.Add(time.Microsecond)))
	})
}

// The engine runs Upkeep on its own schedule.
func TestUpkeepRunsAsAPeriodicJob(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
		clock := &movable{t: t0}
		e, err := bugflow.Open(ctx, bugflow.Config{DatabaseURL: url, Logger: slog.New(slog.DiscardHandler), Now: clock.now,
			Jobs:   bugflow.JobsConfig{PollInterval: 100 * time.Millisecond},
			Upkeep: bugflow.UpkeepConfig{Every: 100 * time.Millisecond, ActivityRetention: time.Hour}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = e.Close() })
		_, err = e.Activity.Record(ctx, activity.Entry{UserID: "u1", Action: "page-view"})
		require.NoError(t, err)
		clock.set(t0.Add(2 * time.Hour))
		require.Eventually(t, func() bool {
			got, err := e.Activity.Recent(ctx, "u1", time.Time{}, 10)
			require.NoError(t, err)
			return len(got) == 0
		}, time.Minute, 20*time.Millisecond)
	})
}
