package bugs_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/bugs"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

// hookStore is a BunStore whose transactions and upserts can be held or
// failed by a test. A batch of one write upserts on the store itself,
// without a transaction: hookStore's Upsert is held and failed as a
// transaction would be.
type hookStore struct {
	*bugs.BunStore
	// enter, when set, receives a value as each transaction (or upsert
	// outside one) begins and then it waits for release.
	enter   chan struct{}
	release chan struct{}
	// failUpsert fails the upsert of this error message.
	failUpsert string
	// failCommit fails every transaction after its work is done, so that
	// it rolls back, and every upsert outside one before it is written.
	failCommit bool
}

var errPoison = errors.New("the test refuses this occurrence")

func (h *hookStore) hold() {
	if h.enter != nil {
		h.enter <- struct{}{}
		<-h.release
	}
}

func (h *hookStore) Upsert(ctx context.Context, r *bugs.Report, legacy string, windowStart time.Time) (bugs.Report, bool, error) {
	h.hold()
	if h.failCommit {
		return bugs.Report{}, false, errPoison
	}
	return hookTx{Store: h.BunStore, h: h}.Upsert(ctx, r, legacy, windowStart)
}

func (h *hookStore) Atomically(ctx context.Context, fn func(ctx context.Context, st bugs.Store) error) error {
	h.hold()
	return h.BunStore.Atomically(ctx, func(ctx context.Context, st bugs.Store) error {
		if err := fn(ctx, hookTx{Store: st, h: h}); err != nil {
			return err
		}
		if h.failCommit {
			return errPoison
		}
		return nil
	})
}

type hookTx struct {
	bugs.Store
	h *hookStore
}

func (t hookTx) Upsert(ctx context.Context, r *bugs.Report, legacy string, windowStart time.Time) (bugs.Report, bool, error) {
	if t.h.failUpsert != "" && r.ErrorMessage != nil && *r.ErrorMessage == t.h.failUpsert {
		return bugs.Report{}, false, errPoison
	}
	return t.Store.Upsert(ctx, r, legacy, windowStart)
}

type autoResult struct {
	msg     string
	report  bugs.Report
	created bool
	err     error
}

// autoAll calls Auto once per message, all at once, and returns the results
// in the order of msgs.
func autoAll(svc *bugs.Service, msgs []string) []autoResult {
	out := make([]autoResult, len(msgs))
	var wg sync.WaitGroup
	for i, m := range msgs {
		wg.Go(func() {
			r, created, err := svc.Auto(context.Background(), bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorMessage: m})
			out[i] = autoResult{msg: m, report: r, created: created, err: err}
		})
	}
	wg.Wait()
	return out
}

// storedCounts sums the occurrence counts of all reports by error message.
func storedCounts(t *testing.T, svc *bugs.Service) map[string]int {
	t.Helper()
	page, err := svc.List(context.Background(), bugs.ListFilter{Limit: 100})
	require.NoError(t, err)
	require.LessOrEqual(t, page.Total, 100)
	out := map[string]int{}
	for _, r := range page.Items {
		out[*r.ErrorMessage] += r.OccurrenceCount
	}
	return out
}

// A library's goroutines share transactions: many concurrent calls take
// fewer batches than calls, every fingerprint is created once, and the
// counts are exact.
func TestAutoBatchesConcurrentCallers(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		// A long window makes the batching visible whatever the scheduling.
		svc := bugs.New(bugs.NewBunStore(db.DB), bugs.Config{BatchWindow: 50 * time.Millisecond})
		t.Cleanup(func() { _ = svc.Close(context.Background()) })
		var msgs []string
		for i := range 200 {
			msgs = append(msgs, fmt.Sprintf("failure kind %c", 'a'+i%5))
		}
		created := map[string]int{}
		for _, res := range autoAll(svc, msgs) {
			require.NoError(t, res.err)
			if res.created {
				created[res.msg]++
			}
			assert.Equal(t, res.msg, *res.report.ErrorMessage)
		}
		want := map[string]int{}
		for _, m := range msgs {
			want[m]++
		}
		assert.Equal(t, want, storedCounts(t, svc))
		for m := range want {
			assert.Equal(t, 1, created[m], "exactly one caller created %q", m)
		}
		st := svc.IntakeStats()
		assert.Equal(t, uint64(200), st.Occurrences)
		assert.Less(t, st.Batches, uint64(200), "calls shared batches")
		var sum uint64
		for _, n := range st.BatchSizes {
			sum += n
		}
		assert.Equal(t, st.Batches, sum)
	})
}

// A batch the database refuses in part fails only the refused occurrence's
// callers; a batch whose transaction fails stores none of it.
func TestAutoFailedBatch(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		h := &hookStore{BunStore: bugs.NewBunStore(db.DB), failUpsert: "poison"}
		svc := bugs.New(h, bugs.Config{BatchWindow: 50 * time.Millisecond})
		t.Cleanup(func() { _ = svc.Close(context.Background()) })

		res := autoAll(svc, []string{"good one", "poison", "good two", "poison", "good one"})
		for _, r := range res {
			if r.msg == "poison" {
				require.ErrorIs(t, r.err, errPoison)
				assert.Contains(t, r.err.Error(), "not stored")
			} else {
				require.NoError(t, r.err)
			}
		}
		assert.Equal(t, map[string]int{"good one": 2, "good two": 1}, storedCounts(t, svc))

		h.failUpsert, h.failCommit = "", true
		res = autoAll(svc, []string{"good one", "good three"})
		for _, r := range res {
			require.ErrorIs(t, r.err, errPoison)
		}
		assert.Equal(t, map[string]int{"good one": 2, "good two": 1}, storedCounts(t, svc), "nothing of a failed batch is stored")
		assert.Positive(t, svc.IntakeStats().FailedBatches)
	})
}

// Close writes what is pending: with a window of an hour, the callers get
// their answers only because Close flushes; after Close, Auto refuses.
func TestAutoCloseFlushes(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		svc := bugs.New(bugs.NewBunStore(db.DB), bugs.Config{BatchWindow: time.Hour})
		results := make(chan autoResult, 20)
		for i := range 20 {
			go func() {
				m := fmt.Sprintf("flush %c", 'a'+i%3)
				r, created, err := svc.Auto(context.Background(), bugs.AutoInput{Source: bugs.SourceAutoAgent, ErrorMessage: m})
				results <- autoResult{msg: m, report: r, created: created, err: err}
			}()
		}
		// Wait until all of them wait for the hour-long batch.
		require.Eventually(t, func() bool { return svc.IntakeStats().Queued == 20 }, 10*time.Second, time.Millisecond)
		require.NoError(t, svc.Close(context.Background()))
		want := map[string]int{}
		for range 20 {
			r := <-results
			require.NoError(t, r.err)
			want[r.msg]++
		}
		assert.Equal(t, want, storedCounts(t, svc))
		_, _, err := svc.Auto(context.Background(), bugs.AutoInput{Source: bugs.SourceAutoAgent, ErrorMessage: "late"})
		require.ErrorIs(t, err, errs.ErrUnavailable)
		require.NoError(t, svc.Close(context.Background()), "Close twice")
	})
}

// A full queue refuses at once with Unavailable and a RetryAfter, counted
// per source; what was queued is still written.
func TestAutoQueueFull(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		h := &hookStore{BunStore: bugs.NewBunStore(db.DB), enter: make(chan struct{}), release: make(chan struct{})}
		svc := bugs.New(h, bugs.Config{BatchWindow: -1, QueueSize: 1})
		// Queued counts "one", held by the writer, and "two", in the queue.
		t.Cleanup(func() { _ = svc.Close(context.Background()) })

		first := make(chan error, 1)
		go func() {
			_, _, err := svc.Auto(context.Background(), bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorMessage: "one"})
			first <- err
		}()
		<-h.enter // the writer holds "one" and waits
		second := make(chan error, 1)
		go func() {
			_, _, err := svc.Auto(context.Background(), bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorMessage: "two"})
			second <- err
		}()
		require.Eventually(t, func() bool { return svc.IntakeStats().Queued == 2 }, 10*time.Second, time.Millisecond)

		_, _, err := svc.Auto(context.Background(), bugs.AutoInput{Source: bugs.SourceAutoClient, ErrorMessage: "three"})
		require.ErrorIs(t, err, errs.ErrUnavailable)
		assert.Equal(t, bugs.QueueFullRetryAfter, errs.As(err).RetryAfter)
		st := svc.IntakeStats()
		assert.Equal(t, uint64(1), st.Refused[bugs.SourceAutoClient])
		assert.Equal(t, uint64(0), st.Refused[bugs.SourceAutoServer])

		h.release <- struct{}{}
		require.NoError(t, <-first)
		<-h.enter
		h.release <- struct{}{}
		require.NoError(t, <-second)
		assert.Equal(t, map[string]int{"one": 1, "two": 1}, storedCounts(t, svc))
	})
}

// Auto inside a caller's transaction is written in it, unbatched: it rolls
// back with the caller's work (and on SQLite, whose one connection the
// transaction holds, waiting for the batch writer would never end).
func TestAutoJoinsTheCallersTransaction(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		svc := bugs.New(bugs.NewBunStore(db.DB), bugs.Config{})
		t.Cleanup(func() { _ = svc.Close(context.Background()) })
		ctx := context.Background()
		rollback := errors.New("the caller's work failed")
		err := store.RunInTx(ctx, db.DB, func(ctx context.Context, _ bun.IDB) error {
			_, created, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorMessage: "inside a transaction"})
			require.NoError(t, err)
			assert.True(t, created)
			return rollback
		})
		require.ErrorIs(t, err, rollback)
		assert.Empty(t, storedCounts(t, svc), "rolled back with the caller")

		require.NoError(t, store.RunInTx(ctx, db.DB, func(ctx context.Context, _ bun.IDB) error {
			_, _, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorMessage: "inside a transaction"})
			return err
		}))
		assert.Equal(t, map[string]int{"inside a transaction": 1}, storedCounts(t, svc))
		assert.Zero(t, svc.IntakeStats().Batches, "not batched")
	})
}
