// Package jobs runs bugflow's durable background jobs on River, over whichever
// database the engine opened: riverpgxv5 (LISTEN/NOTIFY wake-ups) on
// PostgreSQL, riversqlite (polling) on SQLite. Domain packages register River
// workers; the user-visible state of their work (status, progress, result)
// lives in their own tables, and this package only executes.
package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

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
)

// Config tunes the queue. Zero values mean the documented defaults.
type Config struct {
	// Register adds workers (river.AddWorker) and periodic jobs. Without any
	// Register func the queue can insert jobs but works none, as on a
	// replica dedicated to serving HTTP.
	Register []func(w *river.Workers, periodic *[]*river.PeriodicJob)
	// MaxWorkers is how many jobs run at once in this process. Default 10.
	MaxWorkers int
	// PollInterval is how often idle workers look for new jobs. Default
	// 100 ms on SQLite; 1 s on PostgreSQL, where LISTEN/NOTIFY wakes them
	// as soon as a job is inserted.
	PollInterval time.Duration
	// JobTimeout cancels a job's context after this long. Default 10 min.
	JobTimeout time.Duration
	// RescueAfter is how long a job may stay running before it is presumed
	// orphaned (its process died) and retried. Default 1 h; must exceed
	// JobTimeout.
	RescueAfter time.Duration
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

// client is what Queue needs of a river.Client, whatever its transaction type.
type client interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
}

// Queue enqueues and works durable jobs.
type Queue struct {
	client          client
	works           bool
	started         bool
	shutdownTimeout time.Duration
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

// New builds a queue over db. Call Start to begin working jobs.
func New(db *store.DB, cfg Config) (*Queue, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	rc := &river.Config{
		Logger:               quietRoutine(logger),
		MaxAttempts:          cmp.Or(cfg.MaxAttempts, DefaultMaxAttempts),
		JobTimeout:           cmp.Or(cfg.JobTimeout, DefaultJobTimeout),
		RescueStuckJobsAfter: cmp.Or(cfg.RescueAfter, DefaultRescueAfter),
		RetryPolicy:          cfg.RetryPolicy,
	}
	if rc.RescueStuckJobsAfter <= rc.JobTimeout {
		return nil, errs.Invalidf("jobs: RescueAfter (%s) must exceed JobTimeout (%s)", rc.RescueStuckJobsAfter, rc.JobTimeout)
	}
	works := len(cfg.Register) > 0
	if works {
		rc.Workers = river.NewWorkers()
		for _, register := range cfg.Register {
			register(rc.Workers, &rc.PeriodicJobs)
		}
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cmp.Or(cfg.MaxWorkers, DefaultMaxWorkers)}}
	}

	q := &Queue{works: works, shutdownTimeout: cmp.Or(cfg.ShutdownTimeout, DefaultShutdownTimeout)}
	var err error
	switch db.Dialect {
	case store.Postgres:
		rc.FetchPollInterval = cmp.Or(cfg.PollInterval, DefaultPostgresPoll)
		q.client, err = river.NewClient(riverpgxv5.New(db.Pool), rc)
	default:
		rc.FetchPollInterval = cmp.Or(cfg.PollInterval, DefaultSQLitePoll)
		rc.FetchCooldown = min(rc.FetchPollInterval, river.FetchCooldownDefault)
		// SQLite has no LISTEN/NOTIFY; polling is the only wake-up.
		rc.PollOnly = true
		q.client, err = river.NewClient(riversqlite.New(db.DB.DB), rc)
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return q, nil
}

// Start begins working jobs in the background. It does nothing when no
// workers were registered.
func (q *Queue) Start(ctx context.Context) error {
	if !q.works || q.started {
		return nil
	}
	if err := q.client.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	q.started = true
	return nil
}

// Stop stops fetching new jobs and waits up to ShutdownTimeout for running
// ones to finish. Jobs still running then have their contexts cancelled, and
// Stop waits up to ShutdownTimeout again for them to record their outcome; a
// job that ignores cancellation stays marked running in the database and is
// rescued by a later process after RescueAfter.
func (q *Queue) Stop(ctx context.Context) error {
	if !q.started {
		return nil
	}
	q.started = false
	graceful, cancel := context.WithTimeout(ctx, q.shutdownTimeout)
	defer cancel()
	err := q.client.Stop(graceful)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	hard, cancelHard := context.WithTimeout(ctx, q.shutdownTimeout)
	defer cancelHard()
	if err := q.client.StopAndCancel(hard); err != nil {
		return fmt.Errorf("jobs: running jobs did not stop within %s of cancellation: %w", q.shutdownTimeout, err)
	}
	return nil
}

// Insert enqueues a job and returns its id. With opts.UniqueOpts set, an
// identical pending job is reused instead of inserting a duplicate.
func (q *Queue) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := q.client.Insert(ctx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("jobs: insert %s: %w", args.Kind(), store.Translate(err))
	}
	return res, nil
}

// Job returns a job's current row: state, attempts, errors.
func (q *Queue) Job(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	row, err := q.client.JobGet(ctx, id)
	if errors.Is(err, river.ErrNotFound) {
		return nil, errs.Wrap(errs.NotFound, err, "job %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: get %d: %w", id, store.Translate(err))
	}
	return row, nil
}
