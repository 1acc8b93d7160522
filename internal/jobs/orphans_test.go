package jobs

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

type orphanArgs struct{}

func (orphanArgs) Kind() string { return "test_orphan" }

var errorsOnly = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

// openDB opens a fresh database of url with the job tables.
func openDB(t *testing.T, url string) *store.DB {
	t.Helper()
	db := dbtest.Open(t, url, Migrations())
	require.NoError(t, Migrate(context.Background(), db))
	return db
}

// newQueue builds a queue on db without starting it, so that the test can
// drive its sweeper by hand.
func newQueue(t *testing.T, db *store.DB, cfg Config) *Queue {
	t.Helper()
	cfg.Logger = errorsOnly
	q, err := New(db, cfg)
	require.NoError(t, err)
	return q
}

func insert(t *testing.T, q *Queue, maxAttempts int) int64 {
	t.Helper()
	res, err := q.Insert(context.Background(), orphanArgs{}, &river.InsertOpts{MaxAttempts: maxAttempts})
	require.NoError(t, err)
	return res.Job.ID
}

// take starts the oldest available job as River's client would in another
// process: attempted by client, at time at (nil for the database's now).
func take(t *testing.T, q *Queue, client string, at *time.Time) *rivertype.JobRow {
	t.Helper()
	res, err := q.exec.JobGetAvailable(context.Background(), &riverdriver.JobGetAvailableParams{
		ClientID: client, MaxAttemptedBy: 100, MaxToLock: 1, Now: at, Queue: river.QueueDefault,
	})
	require.NoError(t, err)
	require.Len(t, res.Jobs, 1)
	return res.Jobs[0]
}

// leaseAt writes client's lease as renewed at heartbeat.
func leaseAt(t *testing.T, q *Queue, client string, heartbeat time.Time) {
	t.Helper()
	_, err := q.db.NewInsert().Model(&processRow{ClientID: client, HeartbeatAt: heartbeat, ExpiresAt: heartbeat.Add(q.orphanAfter)}).Exec(context.Background())
	require.NoError(t, err)
}

func leaseHolders(t *testing.T, q *Queue) []string {
	t.Helper()
	var ids []string
	require.NoError(t, q.db.NewSelect().Model((*processRow)(nil)).Column("client_id").Order("client_id").Scan(context.Background(), &ids))
	return ids
}

func jobRow(t *testing.T, q *Queue, id int64) *rivertype.JobRow {
	t.Helper()
	row, err := q.Job(context.Background(), id)
	require.NoError(t, err)
	return row
}

// At the sweeper's now, a lease renewed OrphanAfter-1s ago still holds its
// jobs; one renewed OrphanAfter+1s ago does not, and its job is available
// again at once with the reason recorded. A job whose client has no lease
// gets OrphanAfter from its start. Expired leases are forgotten.
func TestSweepRetriesOnlyJobsOfExpiredLeases(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		const orphanAfter = time.Minute
		q := newQueue(t, openDB(t, url), Config{OrphanAfter: orphanAfter})
		for range 3 {
			insert(t, q, 0)
		}
		alive := take(t, q, "alive", nil)
		dead := take(t, q, "dead", nil)
		unknown := take(t, q, "unknown", nil)
		now := *unknown.AttemptedAt
		leaseAt(t, q, "alive", now.Add(-orphanAfter+time.Second))
		leaseAt(t, q, "dead", now.Add(-orphanAfter-time.Second))

		require.NoError(t, q.sweep(ctx, now))
		row := jobRow(t, q, dead.ID)
		assert.Equal(t, rivertype.JobStateAvailable, row.State)
		assert.Equal(t, 1, row.Attempt, "the next attempt counts when a worker takes it")
		require.Len(t, row.Errors, 1)
		assert.Contains(t, row.Errors[0].Error, WorkerStopped+`: River client "dead" renewed no lease`)
		assert.Equal(t, rivertype.JobStateRunning, jobRow(t, q, alive.ID).State, "its lease has a second left")
		assert.Equal(t, rivertype.JobStateRunning, jobRow(t, q, unknown.ID).State, "it has just started")
		assert.Equal(t, []string{"alive"}, leaseHolders(t, q), "the expired lease is forgotten")

		require.NoError(t, q.sweep(ctx, now.Add(orphanAfter-time.Second)))
		assert.Equal(t, rivertype.JobStateAvailable, jobRow(t, q, alive.ID).State, "its lease has expired")
		assert.Equal(t, rivertype.JobStateRunning, jobRow(t, q, unknown.ID).State, "it started OrphanAfter-1s ago")
		assert.Empty(t, leaseHolders(t, q))

		require.NoError(t, q.sweep(ctx, now.Add(orphanAfter+time.Second)))
		assert.Equal(t, rivertype.JobStateAvailable, jobRow(t, q, unknown.ID).State, "it started OrphanAfter+1s ago")
	})
}

// A job of a stopped process is retried while it has attempts left (attempt
// n-1 of n) and discarded on its last one (n of n), and the domain hears of
// the discard.
func TestSweepDiscardsAJobOnItsLastAttempt(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		var gaveUp []int64
		q := newQueue(t, openDB(t, url), Config{})
		q.Register(nil, func(_ context.Context, job *rivertype.JobRow) error {
			gaveUp = append(gaveUp, job.ID)
			return nil
		})
		id := insert(t, q, 2)

		first := take(t, q, "first", nil)
		require.NoError(t, q.sweep(ctx, first.AttemptedAt.Add(time.Hour)))
		row := jobRow(t, q, id)
		assert.Equal(t, rivertype.JobStateAvailable, row.State, "attempt 1 of 2 is retried")
		assert.Empty(t, gaveUp)

		second := take(t, q, "second", nil)
		require.NoError(t, q.sweep(ctx, second.AttemptedAt.Add(time.Hour)))
		row = jobRow(t, q, id)
		assert.Equal(t, rivertype.JobStateDiscarded, row.State, "attempt 2 of 2 is the last")
		assert.Equal(t, 2, row.Attempt)
		assert.NotNil(t, row.FinalizedAt)
		require.Len(t, row.Errors, 2)
		assert.Contains(t, row.Errors[1].Error, "discarded after 2 of 2 attempts")
		assert.Equal(t, []int64{id}, gaveUp)
	})
}

// A sweeper that judged an attempt changes nothing once the job has been
// rescued and taken again: the new attempt is not the one it judged.
func TestRescueLeavesANewerAttemptAlone(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		q := newQueue(t, openDB(t, url), Config{})
		id := insert(t, q, 0)
		judged := take(t, q, "dead", nil)
		now := judged.AttemptedAt.Add(time.Hour)
		require.NoError(t, q.rescue(ctx, judged, "dead", now))
		take(t, q, "next", &now)

		require.NoError(t, q.rescue(ctx, judged, "dead", now), "a second sweeper acting on what it read before")
		row := jobRow(t, q, id)
		assert.Equal(t, rivertype.JobStateRunning, row.State)
		assert.Equal(t, "next", row.AttemptedBy[len(row.AttemptedBy)-1])
		assert.Len(t, row.Errors, 1)
	})
}

// reasonWorker reports the RetryReason and attempt of each job it works.
type reasonWorker struct {
	river.WorkerDefaults[orphanArgs]
	seen chan *rivertype.JobRow
}

func (w *reasonWorker) Work(_ context.Context, job *river.Job[orphanArgs]) error {
	w.seen <- job.JobRow
	return nil
}

// A started queue holds a lease from Start until Stop, and its sweeper
// retries a job whose process stopped without any help: its worker takes the
// job as attempt 2 and learns why. A queue without workers sweeps too.
func TestStartedQueuesRetryJobsOfStoppedProcesses(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		w := &reasonWorker{seen: make(chan *rivertype.JobRow, 10)}
		db := openDB(t, url)
		q := newQueue(t, db, Config{OrphanAfter: MinOrphanAfter})
		q.Register(func(ws *river.Workers, _ *[]*river.PeriodicJob) { river.AddWorker(ws, w) }, nil)
		insert(t, q, 0)
		take(t, q, "dead", nil)
		require.NoError(t, q.Start(ctx))
		t.Cleanup(func() { _ = q.Stop(ctx) })
		assert.Contains(t, leaseHolders(t, q), q.clientID, "the lease is taken at Start")

		var job *rivertype.JobRow
		select {
		case job = <-w.seen:
		case <-time.After(30 * time.Second):
			t.Fatal("the job of the stopped process was not retried")
		}
		assert.Equal(t, 2, job.Attempt)
		assert.Equal(t, WorkerStopped, RetryReason(job))
		assert.Equal(t, []string{"dead", q.clientID}, job.AttemptedBy)

		require.NoError(t, q.Stop(ctx))
		assert.NotContains(t, leaseHolders(t, q), q.clientID, "the lease is given up at Stop")

		// A process that works no jobs (an HTTP-only replica) still sweeps.
		httpOnly := newQueue(t, db, Config{OrphanAfter: MinOrphanAfter})
		id := insert(t, httpOnly, 0)
		take(t, httpOnly, "dead-too", nil)
		require.NoError(t, httpOnly.Start(ctx))
		t.Cleanup(func() { _ = httpOnly.Stop(ctx) })
		require.Eventually(t, func() bool {
			return jobRow(t, httpOnly, id).State == rivertype.JobStateAvailable
		}, 30*time.Second, 20*time.Millisecond)
		assert.Empty(t, leaseHolders(t, httpOnly), "a process that works no jobs takes no lease")
	})
}

func TestRetryReason(t *testing.T) {
	assert.Empty(t, RetryReason(&rivertype.JobRow{Attempt: 1}))
	assert.Equal(t, WorkerStopped, RetryReason(&rivertype.JobRow{Attempt: 2, Errors: []rivertype.AttemptError{{Error: WorkerStopped + ": x"}}}))
	assert.Equal(t, "the previous attempt did not finish", RetryReason(&rivertype.JobRow{Attempt: 3, Errors: []rivertype.AttemptError{
		{Error: WorkerStopped + ": x"}, {Error: "context canceled"},
	}}))
}
