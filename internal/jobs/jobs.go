// Package jobs runs bugflow's durable background jobs on River, over whichever
// database the engine opened. Domain packages register River workers; the
// user-visible state of their work (status, progress, result) lives in their
// own tables, and this package only executes.
//
// # Drivers and transactions
//
// Jobs are inserted, read and swept through River's database/sql drivers on
// bun's own connection pool: riversqlite on SQLite, riverdatabasesql on
// PostgreSQL (where bun's pool runs pgx on the simple protocol). So InsertTx
// joins a bun transaction: the job exists exactly when the domain's rows do.
// Jobs are worked by a second River client that only a working process
// starts: riversqlite (polling) on SQLite, riverpgxv5 on PostgreSQL, whose
// LISTEN/NOTIFY wakes workers as soon as an insert commits.
//
// # Jobs of processes that died
//
// River marks a job running when a process takes it, and only that process
// ends the attempt. If the process dies (kill -9, out of memory, a lost
// host), River's own rescuer retries the job only after RescueAfter (an
// hour), because it cannot tell a dead worker from a slow one. bugflow tells
// them apart with leases: every process that works jobs has a unique River
// client ID (host, pid and a random suffix; River records it in the job's
// attempted_by) and renews a row in the jobs_processes table every
// OrphanAfter/4, promising to be alive until OrphanAfter from then. Every
// process, including one that works no jobs, sweeps at the same pace (and
// once at start): a running job whose last client's lease has expired (or
// that has none, once the job has been running for OrphanAfter) is put back
// in the queue at once with the error "worker process stopped: ...", or
// discarded with that error if it has used all its attempts, whatever its
// timeout. With the default OrphanAfter of 60 s, a job of a dead process is
// available again at most 75 s after the later of its death and the start of
// any other bugflow process on the database, and a worker takes it within
// the poll interval. The rescue changes a job only if it is still in the
// attempt that was judged, so sweepers racing on one job rescue it once.
// River has no public call for it, so the sweeper makes the driver calls
// that River's own rescuer makes (JobGetStuck, JobRescueMany), which the
// tests exercise on both databases. River's rescuer stays the backstop for
// a worker that is alive but hung.
//
// A job therefore runs at least once, and twice if its process stalls for
// longer than OrphanAfter (a frozen VM, a database it cannot reach) and then
// resumes: workers must be idempotent, as River requires anyway. Leases use
// each process's clock, so the clocks of hosts sharing a database must agree
// to within a few seconds. Processes of a bugflow version without leases
// take no lease, so their jobs count as stopped OrphanAfter after they began:
// stop such processes before starting new ones on the same database.
//
// A worker that wants to tell its users why it runs again reads RetryReason
// at the start of Work; a GiveUpFunc (Register) lets the domain record a job that
// the sweeper discarded, since no worker runs it again.
package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// Defaults for Config's zero values.
const (
	DefaultMaxWorkers      = 10
	DefaultSQLitePoll      = 100 * time.Millisecond
	DefaultPostgresPoll    = time.Second
	DefaultShutdownTimeout = 30 * time.Second
	DefaultRescueAfter     = time.Hour
	DefaultJobTimeout      = 10 * time.Minute
	DefaultMaxAttempts     = 10
	DefaultOrphanAfter     = time.Minute
	// MinOrphanAfter bounds OrphanAfter from below: leases are renewed four
	// times per OrphanAfter, and more often would only load the database.
	MinOrphanAfter = time.Second
)

// Config tunes the queue. Zero values mean the documented defaults.
type Config struct {
	// InsertOnly stops this process from working jobs even when workers are
	// registered, as on a replica dedicated to serving HTTP: it still
	// inserts jobs, sweeps for jobs of stopped processes and calls the
	// give-up hooks.
	InsertOnly bool
	// MaxWorkers is how many jobs run at once in this process. Default 10.
	MaxWorkers int
	// PollInterval is how often idle workers look for new jobs. Default
	// 100 ms on SQLite; 1 s on PostgreSQL, where LISTEN/NOTIFY wakes them
	// as soon as a job is inserted.
	PollInterval time.Duration
	// JobTimeout cancels a job's context after this long. Default 10 min.
	JobTimeout time.Duration
	// RescueAfter is how long a job may stay running before it is presumed
	// stuck (its worker alive but hung) and retried. Default 1 h; must
	// exceed JobTimeout. Jobs of dead processes are retried far sooner (see
	// OrphanAfter).
	RescueAfter time.Duration
	// OrphanAfter is how long a process may go without renewing its lease
	// before the jobs it was running are retried by another process (see the
	// package documentation). Default 60 s; at least MinOrphanAfter.
	OrphanAfter time.Duration
	// MaxAttempts is how often a failing job is tried before it is discarded.
	// Default 10.
	MaxAttempts int
	// RetryPolicy computes the backoff between attempts. Default River's
	// attempt^4 seconds with jitter (1 s, 16 s, 81 s, ...).
	RetryPolicy river.ClientRetryPolicy
	// ShutdownTimeout is how long Stop waits for running jobs to finish
	// before cancelling their contexts (and then waits as long again for them
	// to return). Default 30 s.
	ShutdownTimeout time.Duration
	// Logger receives River's logs. Default slog.Default(). River's routine
	// INFO lines (job counts, maintenance, start and stop) arrive at DEBUG;
	// its INFO lines about one job stay INFO.
	Logger *slog.Logger
}

// worker is what Queue needs of the River client that works jobs, whatever
// its transaction type.
type worker interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
}

// GiveUpFunc is told of a job that will not run again: its last attempt
// failed or panicked, or its worker process stopped during it (the sweeper
// discarded it), so that the domain can mark its work failed. The last
// entry of job.Errors is that attempt's error (GaveUpBecause reads it). Two
// processes sweeping at once may both call it for one job, so it must be
// idempotent. Its error is logged.
type GiveUpFunc func(ctx context.Context, job *rivertype.JobRow) error

// Queue enqueues and works durable jobs.
type Queue struct {
	cfg      Config
	store    *store.DB
	river    *river.Config
	inserter *river.Client[*sql.Tx]
	worker   worker
	started  bool
	logger   *slog.Logger
	// shutdownTimeout bounds each phase of Stop.
	shutdownTimeout time.Duration

	// What the domains registered (Register).
	register []func(*river.Workers, *[]*river.PeriodicJob)
	onGiveUp []GiveUpFunc

	// The lease and the sweeper (orphans.go).
	db          *bun.DB
	exec        riverdriver.Executor
	clientID    string
	orphanAfter time.Duration
	stopSweeper context.CancelFunc
	sweeperDone chan struct{}
}

// Migrate creates or upgrades River's tables, under the schema migration lock.
func Migrate(ctx context.Context, db *store.DB) error {
	return store.WithMigrationLock(ctx, db, func(ctx context.Context) error {
		var err error
		switch db.Dialect {
		case store.Postgres:
			err = migrateRiver(ctx, riverpgxv5.New(db.Pool))
		default:
			err = migrateRiver(ctx, riversqlite.New(db.DB.DB))
		}
		if err != nil {
			return fmt.Errorf("migrate job tables: %w", store.Translate(err))
		}
		return nil
	})
}

func migrateRiver[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) error {
	// River logs every applied version at Info; bugflow reports migrations itself.
	quiet := slog.New(slog.DiscardHandler)
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: quiet})
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// New builds a queue over db that can insert jobs at once. Domains then
// Register their workers, and Start begins working them.
func New(db *store.DB, cfg Config) (*Queue, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	q := &Queue{
		cfg: cfg, store: db, logger: logger, shutdownTimeout: cmp.Or(cfg.ShutdownTimeout, DefaultShutdownTimeout),
		db: db.DB, clientID: newClientID(), orphanAfter: cmp.Or(cfg.OrphanAfter, DefaultOrphanAfter),
	}
	q.river = &river.Config{
		ID:                   q.clientID,
		Logger:               quietRoutine(logger),
		MaxAttempts:          cmp.Or(cfg.MaxAttempts, DefaultMaxAttempts),
		JobTimeout:           cmp.Or(cfg.JobTimeout, DefaultJobTimeout),
		RescueStuckJobsAfter: cmp.Or(cfg.RescueAfter, DefaultRescueAfter),
		RetryPolicy:          cfg.RetryPolicy,
		ErrorHandler:         lastAttempt{q},
	}
	if q.river.RescueStuckJobsAfter <= q.river.JobTimeout {
		return nil, errs.Invalidf("jobs: RescueAfter (%s) must exceed JobTimeout (%s)", q.river.RescueStuckJobsAfter, q.river.JobTimeout)
	}
	if q.orphanAfter < MinOrphanAfter {
		return nil, errs.Invalidf("jobs: OrphanAfter (%s) must be at least %s", q.orphanAfter, MinOrphanAfter)
	}
	// The inserting client has no queues: it never starts, and inserts
	// with the same defaults (MaxAttempts) as the working client.
	var driver riverdriver.Driver[*sql.Tx]
	switch db.Dialect {
	case store.Postgres:
		driver = riverdatabasesql.New(db.DB.DB)
	default:
		driver = riversqlite.New(db.DB.DB)
	}
	q.exec = driver.GetExecutor()
	inserter, err := river.NewClient(driver, &river.Config{ID: q.clientID + "_insert", Logger: q.river.Logger, MaxAttempts: q.river.MaxAttempts})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	q.inserter = inserter
	return q, nil
}

// Register adds a domain's background work: register adds its River
// workers (river.AddWorker) and periodic jobs, and onGiveUp (nil for none)
// hears of its jobs that the sweeper discards. Call it before Start. A queue
// with nothing registered inserts jobs but works none.
func (q *Queue) Register(register func(workers *river.Workers, periodic *[]*river.PeriodicJob), onGiveUp GiveUpFunc) {
	if register != nil {
		q.register = append(q.register, register)
	}
	if onGiveUp != nil {
		q.onGiveUp = append(q.onGiveUp, onGiveUp)
	}
}

// works reports whether this process works jobs.
func (q *Queue) works() bool { return len(q.register) > 0 && !q.cfg.InsertOnly }

// newWorker builds the River client that works the registered jobs.
func (q *Queue) newWorker() (worker, error) {
	rc := *q.river
	rc.Workers = river.NewWorkers()
	for _, register := range q.register {
		register(rc.Workers, &rc.PeriodicJobs)
	}
	rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cmp.Or(q.cfg.MaxWorkers, DefaultMaxWorkers)}}
	var (
		w   worker
		err error
	)
	switch q.store.Dialect {
	case store.Postgres:
		rc.FetchPollInterval = cmp.Or(q.cfg.PollInterval, DefaultPostgresPoll)
		w, err = river.NewClient(riverpgxv5.New(q.store.Pool), &rc)
	default:
		rc.FetchPollInterval = cmp.Or(q.cfg.PollInterval, DefaultSQLitePoll)
		rc.FetchCooldown = min(rc.FetchPollInterval, river.FetchCooldownDefault)
		// SQLite has no LISTEN/NOTIFY; polling is the only wake-up.
		rc.PollOnly = true
		w, err = river.NewClient(riversqlite.New(q.store.DB.DB), &rc)
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return w, nil
}

// Start begins sweeping for jobs of stopped processes and, when workers were
// registered, takes a lease and begins working jobs in the background.
func (q *Queue) Start(ctx context.Context) error {
	if q.started {
		return nil
	}
	if q.works() {
		w, err := q.newWorker()
		if err != nil {
			return err
		}
		q.worker = w
		// The lease is in place before River takes any job, so that no
		// sweeper ever sees a job of this process without it.
		if err := q.renewLease(ctx, store.Now()); err != nil {
			return fmt.Errorf("jobs: start: %w", err)
		}
		// River hard-stops (cancels running jobs) when its start context
		// ends; a signal context must not do that, Stop is the graceful way.
		if err := q.worker.Start(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("jobs: start: %w", err)
		}
	}
	// The sweeper outlives ctx: during a graceful stop the lease must keep
	// being renewed until the running jobs have finished.
	sweepCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	q.stopSweeper, q.sweeperDone = cancel, make(chan struct{})
	go q.maintain(sweepCtx)
	q.started = true
	return nil
}

// Stop stops fetching new jobs and waits up to ShutdownTimeout for running
// ones to finish. Jobs still running then have their contexts cancelled, and
// Stop waits up to ShutdownTimeout again for them to record their outcome.
// It then gives up the process's lease, so a job that ignored cancellation
// and stays marked running is retried by another process after OrphanAfter.
func (q *Queue) Stop(ctx context.Context) error {
	if !q.started {
		return nil
	}
	q.started = false
	var err error
	if q.worker != nil {
		err = q.stopWorkers(ctx)
	}
	q.stopSweeper()
	<-q.sweeperDone
	if q.worker != nil {
		err = errors.Join(err, q.releaseLease(ctx))
	}
	return err
}

func (q *Queue) stopWorkers(ctx context.Context) error {
	graceful, cancel := context.WithTimeout(ctx, q.shutdownTimeout)
	defer cancel()
	err := q.worker.Stop(graceful)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	hard, cancelHard := context.WithTimeout(ctx, q.shutdownTimeout)
	defer cancelHard()
	if err := q.worker.StopAndCancel(hard); err != nil {
		return fmt.Errorf("jobs: running jobs did not stop within %s of cancellation: %w", q.shutdownTimeout, err)
	}
	return nil
}

// Insert enqueues a job and returns its id. With opts.UniqueOpts set, an
// identical pending job is reused instead of inserting a duplicate.
func (q *Queue) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := q.inserter.Insert(ctx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("jobs: insert %s: %w", args.Kind(), store.Translate(err))
	}
	return res, nil
}

// EnqueueTx inserts a job in the transaction ctx carries (store.RunInTx),
// beginning one when there is none, so that the job exists exactly when the
// caller's change commits.
func (q *Queue) EnqueueTx(ctx context.Context, args river.JobArgs) error {
	return store.RunInTx(ctx, q.store.DB, func(ctx context.Context, tx bun.IDB) error {
		btx, ok := tx.(bun.Tx)
		if !ok {
			return fmt.Errorf("jobs: enqueue %s: not in a transaction", args.Kind())
		}
		_, err := q.InsertTx(ctx, btx, args, nil)
		return err
	})
}

// InsertTx enqueues a job as part of tx: workers see it once tx commits, and
// it is gone if tx rolls back, so a domain's rows and the job that works on
// them are written together or not at all.
func (q *Queue) InsertTx(ctx context.Context, tx bun.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := q.inserter.InsertTx(ctx, tx.Tx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("jobs: insert %s: %w", args.Kind(), store.Translate(err))
	}
	return res, nil
}

// Job returns a job's current row: state, attempts, errors.
func (q *Queue) Job(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	row, err := q.inserter.JobGet(ctx, id)
	if errors.Is(err, river.ErrNotFound) {
		return nil, errs.Wrap(errs.NotFound, err, "job %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: get %d: %w", id, store.Translate(err))
	}
	return row, nil
}

// MaxList bounds how many jobs one List returns.
const MaxList = 500

// List returns up to limit jobs (at most MaxList), newest first, in any of
// states and of any of kinds (all when empty), with their attempts and
// errors, for operators watching the queue.
func (q *Queue) List(ctx context.Context, states []rivertype.JobState, kinds []string, limit int) ([]*rivertype.JobRow, error) {
	params := river.NewJobListParams().First(min(max(limit, 1), MaxList)).OrderBy(river.JobListOrderByID, river.SortOrderDesc)
	if len(states) > 0 {
		params = params.States(states...)
	}
	if len(kinds) > 0 {
		params = params.Kinds(kinds...)
	}
	res, err := q.inserter.JobList(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("jobs: list: %w", store.Translate(err))
	}
	return res.Jobs, nil
}
