package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/jobs"
	"github.com/bugflow/bugflow/internal/store"
)

// stepArgs is a test job. The worker fails while the attempt number is at
// most FailTimes.
type stepArgs struct {
	FailTimes int `json:"fail_times"`
}

func (stepArgs) Kind() string { return "test_step" }

// stepWorker records when each attempt started and runs behaviour.
type stepWorker struct {
	river.WorkerDefaults[stepArgs]
	mu       sync.Mutex
	attempts []time.Time
	started  chan int64
	// behaviour, if set, runs after recording; its error is the job's.
	behaviour func(ctx context.Context) error
}

func newStepWorker(behaviour func(ctx context.Context) error) *stepWorker {
	return &stepWorker{started: make(chan int64, 100), behaviour: behaviour}
}

func (w *stepWorker) Work(ctx context.Context, job *river.Job[stepArgs]) error {
	w.mu.Lock()
	w.attempts = append(w.attempts, time.Now())
	w.mu.Unlock()
	w.started <- job.ID
	if job.Attempt <= job.Args.FailTimes {
		return errors.New("planned failure")
	}
	if w.behaviour != nil {
		return w.behaviour(ctx)
	}
	return nil
}

func (w *stepWorker) attemptTimes() []time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Time(nil), w.attempts...)
}

func register(w *stepWorker) func(*river.Workers, *[]*river.PeriodicJob) {
	return func(ws *river.Workers, _ *[]*river.PeriodicJob) { river.AddWorker(ws, w) }
}

// open opens url as a separate "process": its own pool and its own queue,
// working the jobs of register.
func open(t *testing.T, url string, cfg jobs.Config, register ...func(*river.Workers, *[]*river.PeriodicJob)) (*store.DB, *jobs.Queue) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, jobs.Migrate(ctx, db))
	_, err = store.Migrate(ctx, db, jobs.Migrations())
	require.NoError(t, err)
	if cfg.Logger == nil {
		cfg.Logger = quietLogger
	}
	q, err := jobs.New(db, cfg)
	require.NoError(t, err)
	for _, r := range register {
		q.Register(r, nil)
	}
	require.NoError(t, q.Start(ctx))
	t.Cleanup(func() { _ = q.Stop(context.Background()) })
	return db, q
}

// quietLogger keeps River's start/stop chatter out of test output but shows
// errors.
var quietLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

func waitState(t *testing.T, q *jobs.Queue, id int64, want rivertype.JobState) *rivertype.JobRow {
	t.Helper()
	var row *rivertype.JobRow
	require.Eventually(t, func() bool {
		var err error
		row, err = q.Job(context.Background(), id)
		require.NoError(t, err)
		return row.State == want
	}, 30*time.Second, 20*time.Millisecond, "job %d never reached %s", id, want)
	return row
}

func TestEnqueuedJobRuns(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, url string) {
		w := newStepWorker(nil)
		_, q := open(t, url, jobs.Config{}, register(w))
		res, err := q.Insert(context.Background(), stepArgs{}, nil)
		require.NoError(t, err)
		row := waitState(t, q, res.Job.ID, rivertype.JobStateCompleted)
		assert.Equal(t, 1, row.Attempt)
		assert.Len(t, w.attemptTimes(), 1)
	})
}

// A job inserted in a bun transaction is worked once the transaction
// commits, and does not exist if it rolls back; its arguments arrive intact
// through bun's pool (the simple protocol on PostgreSQL).
func TestInsertTxJoinsTheTransaction(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		w := newStepWorker(nil)
		db, q := open(t, url, jobs.Config{}, register(w))

		var rolledBack int64
		errAbort := errors.New("abort")
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			res, err := q.InsertTx(ctx, tx, stepArgs{}, nil)
			require.NoError(t, err)
			rolledBack = res.Job.ID
			return errAbort
		})
		require.ErrorIs(t, err, errAbort)
		_, err = q.Job(ctx, rolledBack)
		require.ErrorIs(t, err, errs.ErrNotFound, "the job of a rolled back transaction does not exist")

		var committed int64
		require.NoError(t, db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			res, err := q.InsertTx(ctx, tx, stepArgs{FailTimes: 1}, &river.InsertOpts{Metadata: []byte(`{"from":"tx"}`)})
			committed = res.Job.ID
			return err
		}))
		row := waitState(t, q, committed, rivertype.JobStateCompleted)
		assert.Equal(t, 2, row.Attempt, "the worker read FailTimes from the arguments")
		var meta map[string]any
		require.NoError(t, json.Unmarshal(row.Metadata, &meta))
		assert.Equal(t, "tx", meta["from"], "metadata (JSON) arrives intact")
	})
}

func TestFailedJobIsRetriedWithBackoff(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, url string) {
		w := newStepWorker(nil)
		// River's default policy: the first retry comes attempt^4 = 1 s
		// (with up to 10% jitter) after the failure.
		_, q := open(t, url, jobs.Config{}, register(w))
		res, err := q.Insert(context.Background(), stepArgs{FailTimes: 1}, nil)
		require.NoError(t, err)
		row := waitState(t, q, res.Job.ID, rivertype.JobStateCompleted)
		assert.Equal(t, 2, row.Attempt)
		require.Len(t, row.Errors, 1)
		assert.Contains(t, row.Errors[0].Error, "planned failure")
		times := w.attemptTimes()
		require.Len(t, times, 2)
		assert.GreaterOrEqual(t, times[1].Sub(times[0]), 900*time.Millisecond, "retry must wait for the backoff")
	})
}

func TestFailingJobIsDiscardedAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, url string) {
		w := newStepWorker(nil)
		_, q := open(t, url, jobs.Config{
			MaxAttempts: 2,
			RetryPolicy: fixedRetry(50 * time.Millisecond),
		}, register(w))
		res, err := q.Insert(context.Background(), stepArgs{FailTimes: 99}, nil)
		require.NoError(t, err)
		row := waitState(t, q, res.Job.ID, rivertype.JobStateDiscarded)
		assert.Equal(t, 2, row.Attempt)
		assert.Len(t, row.Errors, 2)
	})
}

// TestDomainHearsOfJobsDiscardedAfterFailing: River discards a job whose
// last attempt failed (or panicked); the domain that registered it is told,
// with that attempt's error last, and is told nothing while attempts remain.
func TestDomainHearsOfJobsDiscardedAfterFailing(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db, err := store.Open(ctx, url)
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		require.NoError(t, jobs.Migrate(ctx, db))
		_, err = store.Migrate(ctx, db, jobs.Migrations())
		require.NoError(t, err)
		q, err := jobs.New(db, jobs.Config{Logger: quietLogger, MaxAttempts: 3, RetryPolicy: fixedRetry(50 * time.Millisecond)})
		require.NoError(t, err)
		given := make(chan *rivertype.JobRow, 10)
		w := newStepWorker(nil)
		q.Register(register(w), func(_ context.Context, job *rivertype.JobRow) error {
			given <- job
			return nil
		})
		require.NoError(t, q.Start(ctx))
		t.Cleanup(func() { _ = q.Stop(context.Background()) })

		// Fails twice, then succeeds on its last attempt: never given up.
		ok, err := q.Insert(ctx, stepArgs{FailTimes: 2}, nil)
		require.NoError(t, err)
		waitState(t, q, ok.Job.ID, rivertype.JobStateCompleted)
		// Fails all three attempts: given up once, after the third.
		bad, err := q.Insert(ctx, stepArgs{FailTimes: 3}, nil)
		require.NoError(t, err)
		waitState(t, q, bad.Job.ID, rivertype.JobStateDiscarded)

		select {
		case job := <-given:
			assert.Equal(t, bad.Job.ID, job.ID)
			assert.Equal(t, 3, job.Attempt)
			require.Len(t, job.Errors, 3)
			assert.Equal(t, "planned failure", job.Errors[2].Error)
			assert.Equal(t, "its last attempt failed", jobs.GaveUpBecause(job))
		case <-time.After(10 * time.Second):
			t.Fatal("the domain was not told of the discarded job")
		}
		select {
		case job := <-given:
			t.Fatalf("told of job %d (attempt %d), which was not given up", job.ID, job.Attempt)
		default:
		}
	})
}

type fixedRetry time.Duration

func (f fixedRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(time.Duration(f)) }

func TestStopWaitsForRunningJobs(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		finished := make(chan struct{})
		w := newStepWorker(func(ctx context.Context) error {
			select {
			case <-time.After(300 * time.Millisecond):
				close(finished)
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		_, q := open(t, url, jobs.Config{ShutdownTimeout: 20 * time.Second}, register(w))
		res, err := q.Insert(ctx, stepArgs{}, nil)
		require.NoError(t, err)
		<-w.started
		require.NoError(t, q.Stop(ctx))
		select {
		case <-finished:
		default:
			t.Fatal("Stop returned before the running job finished")
		}
		row, err := q.Job(ctx, res.Job.ID)
		require.NoError(t, err)
		assert.Equal(t, rivertype.JobStateCompleted, row.State)
	})
}

// TestStartContextEndingIsNotAHardStop: serve starts the queue with its
// signal context, so SIGTERM ends that context before Stop is called. The
// running job must still get Stop's grace period, not be cancelled at once.
func TestStartContextEndingIsNotAHardStop(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, url string) {
		release := make(chan struct{})
		w := newStepWorker(func(ctx context.Context) error {
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		db, err := store.Open(context.Background(), url)
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		require.NoError(t, jobs.Migrate(context.Background(), db))
		_, err = store.Migrate(context.Background(), db, jobs.Migrations())
		require.NoError(t, err)
		q, err := jobs.New(db, jobs.Config{Logger: quietLogger, ShutdownTimeout: 20 * time.Second})
		require.NoError(t, err)
		q.Register(register(w), nil)
		signalCtx, signal := context.WithCancel(context.Background())
		require.NoError(t, q.Start(signalCtx))
		res, err := q.Insert(context.Background(), stepArgs{}, nil)
		require.NoError(t, err)
		<-w.started
		signal()
		// Give a hard stop time to reach the job before releasing it.
		time.Sleep(300 * time.Millisecond)
		close(release)
		require.NoError(t, q.Stop(context.Background()))
		row, err := q.Job(context.Background(), res.Job.ID)
		require.NoError(t, err)
		assert.Equal(t, rivertype.JobStateCompleted, row.State, "the job was cancelled when the start context ended")
	})
}

func TestStopCancelsJobsAfterTimeout(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		w := newStepWorker(func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		})
		_, q := open(t, url, jobs.Config{ShutdownTimeout: 200 * time.Millisecond}, register(w))
		res, err := q.Insert(ctx, stepArgs{}, nil)
		require.NoError(t, err)
		<-w.started
		require.NoError(t, q.Stop(ctx))
		row, err := q.Job(ctx, res.Job.ID)
		require.NoError(t, err)
		// River puts a job cancelled by shutdown back in the queue for the
		// next process rather than leaving it running.
		assert.Contains(t, []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateRetryable}, row.State)
	})
}

type tickArgs struct{}

func (tickArgs) Kind() string { return "test_tick" }

type tickWorker struct {
	river.WorkerDefaults[tickArgs]
	runs chan time.Time
}

func (w *tickWorker) Work(_ context.Context, job *river.Job[tickArgs]) error {
	w.runs <- job.ScheduledAt
	return nil
}

func TestPeriodicJobRunsOnSchedule(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, url string) {
		schedule, err := jobs.Cron("* * * * * *") // every second, on the second
		require.NoError(t, err)
		w := &tickWorker{runs: make(chan time.Time, 100)}
		_, _ = open(t, url, jobs.Config{}, func(ws *river.Workers, periodic *[]*river.PeriodicJob) {
			river.AddWorker(ws, w)
			*periodic = append(*periodic, river.NewPeriodicJob(schedule, func() (river.JobArgs, *river.InsertOpts) {
				return tickArgs{}, nil
			}, nil))
		})
		var scheduled []time.Time
		for len(scheduled) < 2 {
			select {
			case at := <-w.runs:
				scheduled = append(scheduled, at)
			case <-time.After(30 * time.Second):
				t.Fatalf("periodic job ran %d times in 30 s", len(scheduled))
			}
		}
		assert.GreaterOrEqual(t, scheduled[1].Sub(scheduled[0]), time.Second-time.Millisecond, "runs are a period apart")
	})
}

// holdArgs is a periodic test job whose runs wait until released.
type holdArgs struct{}

func (holdArgs) Kind() string { return "test_hold" }

type holdWorker struct {
	river.WorkerDefaults[holdArgs]
	started chan struct{}
	release chan struct{}
}

func (w *holdWorker) Work(ctx context.Context, _ *river.Job[holdArgs]) error {
	w.started <- struct{}{}
	select {
	case <-w.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A periodic job made by Every is not queued again while a run of it is
// still running: ten intervals of a slow run leave one job, not ten, and
// the next run comes once it is done.
func TestEveryQueuesNoRunBehindARunningOne(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, url string) {
		w := &holdWorker{started: make(chan struct{}, 100), release: make(chan struct{})}
		db, _ := open(t, url, jobs.Config{}, func(ws *river.Workers, periodic *[]*river.PeriodicJob) {
			river.AddWorker(ws, w)
			*periodic = append(*periodic, jobs.Every(50*time.Millisecond, holdArgs{}))
		})
		select {
		case <-w.started: // the run at start
		case <-time.After(30 * time.Second):
			t.Fatal("the periodic job never ran")
		}
		time.Sleep(time.Second) // twenty intervals
		var waiting int
		require.NoError(t, db.DB.QueryRowContext(context.Background(),
			"SELECT count(*) FROM river_job WHERE kind = 'test_hold' AND state IN ('available', 'pending', 'running', 'scheduled')").Scan(&waiting))
		assert.Equal(t, 1, waiting, "only the running job")
		assert.Empty(t, w.started, "no second run meanwhile")

		close(w.release)
		select {
		case <-w.started:
		case <-time.After(30 * time.Second):
			t.Fatal("no run after the first one finished")
		}
	})
}

func TestCron(t *testing.T) {
	for _, expr := range []string{"*/5 * * * *", "0 30 9 * * MON-FRI", "@hourly", "@every 90s"} {
		_, err := jobs.Cron(expr)
		assert.NoError(t, err, expr)
	}
	s, err := jobs.Cron("0 9 * * *")
	require.NoError(t, err)
	from := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	assert.Equal(t, time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), s.Next(from))

	_, err = jobs.Cron("61 * * * *")
	require.ErrorIs(t, err, errs.ErrInvalid)
}

func TestNewRejectsRescueShorterThanTimeout(t *testing.T) {
	db := dbtest.Open(t, "sqlite::memory:", nil)
	_, err := jobs.New(db, jobs.Config{JobTimeout: time.Hour, RescueAfter: time.Minute})
	require.ErrorIs(t, err, errs.ErrInvalid)
}

func TestNewRejectsOrphanAfterBelowMinimum(t *testing.T) {
	db := dbtest.Open(t, "sqlite::memory:", nil)
	_, err := jobs.New(db, jobs.Config{OrphanAfter: jobs.MinOrphanAfter - time.Millisecond})
	require.ErrorIs(t, err, errs.ErrInvalid)
	_, err = jobs.New(db, jobs.Config{OrphanAfter: jobs.MinOrphanAfter})
	require.NoError(t, err)
}

func TestInsertOnlyQueueDoesNotWork(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t, "sqlite::memory:", jobs.Migrations())
	require.NoError(t, jobs.Migrate(ctx, db))
	q, err := jobs.New(db, jobs.Config{})
	require.NoError(t, err)
	require.NoError(t, q.Start(ctx))
	res, err := q.Insert(ctx, stepArgs{}, nil)
	require.NoError(t, err)
	row, err := q.Job(ctx, res.Job.ID)
	require.NoError(t, err)
	assert.Equal(t, rivertype.JobStateAvailable, row.State)
	_, err = q.Job(ctx, res.Job.ID+1000)
	require.ErrorIs(t, err, errs.ErrNotFound)
	require.NoError(t, q.Stop(ctx))
}

// logRecord is a line River logged, as a capturing handler saw it.
type logRecord struct {
	level slog.Level
	msg   string
	jobID bool
}

// captureHandler records every line at or above its level.
type captureHandler struct {
	level slog.Level
	mu    *sync.Mutex
	lines *[]logRecord
	jobID bool // a job_id came through WithAttrs
}

func newCaptureHandler(level slog.Level) *captureHandler {
	return &captureHandler{level: level, mu: &sync.Mutex{}, lines: &[]logRecord{}}
}

func (h *captureHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, jobID: h.jobID}
	r.Attrs(func(a slog.Attr) bool {
		rec.jobID = rec.jobID || a.Key == "job_id"
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.lines = append(*h.lines, rec)
	return nil
}

func (h *captureHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	for _, a := range attrs {
		c.jobID = c.jobID || a.Key == "job_id"
	}
	return &c
}

func (h *captureHandler) WithGroup(string) slog.Handler { return h }

func (h *captureHandler) records() []logRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]logRecord(nil), *h.lines...)
}

// River's routine INFO lines (start, stop, job counts, maintenance) show
// only at DEBUG, so the default level is quiet; a line about one job that
// failed stays INFO.
func TestRiverRoutineLinesAreDebug(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, url string) {
		for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
			capture := newCaptureHandler(level)
			w := newStepWorker(nil)
			_, q := open(t, url, jobs.Config{Logger: slog.New(capture)}, register(w))
			res, err := q.Insert(context.Background(), stepArgs{FailTimes: 1}, nil)
			require.NoError(t, err)
			waitState(t, q, res.Job.ID, rivertype.JobStateCompleted)
			require.NoError(t, q.Stop(context.Background()))

			var routineDebug, jobInfo int
			for _, r := range capture.records() {
				switch {
				case r.level == slog.LevelInfo && !r.jobID:
					t.Errorf("a routine River line is logged at INFO: %q", r.msg)
				case r.level == slog.LevelInfo:
					jobInfo++
				case r.level == slog.LevelDebug && !r.jobID:
					routineDebug++
				}
			}
			assert.Positive(t, jobInfo, "the failed attempt of the job is logged at INFO (level %s)", level)
			if level == slog.LevelDebug {
				assert.Positive(t, routineDebug, "routine lines are demoted, not dropped")
			}
		}
	})
}
