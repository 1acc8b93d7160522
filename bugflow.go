package bugflow

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/bugflow/bugflow/activity"
	"github.com/bugflow/bugflow/analysis"
	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/bugs"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/jobs"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/mlpipeline"
)

// Version is the bugflow release. Release builds set it with
// -ldflags "-X github.com/bugflow/bugflow.Version=v1.2.3".
var Version = "0.1.0-dev"

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI returns the OpenAPI 3 document describing the reference server.
func OpenAPI() []byte { return openAPI }

// MinAdminKeyLength is the shortest bootstrap admin key accepted.
const MinAdminKeyLength = 16

// Config configures an Engine. The zero value is a working embedded setup:
// SQLite in ./bugflow.db, mail printed to the log, jobs worked in-process.
type Config struct {
	// DatabaseURL selects the database:
	//   ""                      SQLite file bugflow.db in the working directory
	//   sqlite:///abs/path.db   SQLite file (sqlite:relative.db for a relative path)
	//   sqlite::memory:         private in-memory SQLite, gone on Close
	//   postgres://user@host:5432/db?sslmode=disable
	DatabaseURL string
	// MailURL selects how mail (sign-in codes) is sent: "log:" (default;
	// printed to the log), "file:///dir" (one .eml file per message) or
	// "smtp://user:pass@host:port".
	MailURL string
	// AdminKey is the bootstrap administrator key (at least 16 characters).
	// Empty disables the bootstrap admin login.
	AdminKey string
	// SecretKey encrypts users' personal tracker tokens at rest. Empty
	// disables storing them. Changing it makes stored tokens unreadable.
	SecretKey string
	// JWT, when set, accepts bearer JWTs signed by its key (HS256 secret or
	// RS256/ES256 public key) as identities.
	JWT *auth.JWTConfig
	// DisableGuestUsernames turns guest usernames off. By default a request
	// whose only identity is seeds/001's jji_username cookie acts as that
	// username when it is a guest's (a name no account has; stored on first
	// sight): anyone may act as a guest. Turned off, only signed-in users
	// have a username context. A bare cookie naming an account that can
	// sign in never acts, either way.
	DisableGuestUsernames bool
	// Mailer overrides MailURL with a transport of the embedder's own.
	Mailer auth.Mailer
	// UploadDir keeps training uploads until their job has an outcome; they
	// are deleted then. Default a bugflow-uploads directory in the system's
	// temporary directory. Replicas sharing one PostgreSQL need it on shared
	// storage, because any replica may run a training job.
	UploadDir string
	// MaxUploadBytes bounds one training upload. Default 200 MB.
	MaxUploadBytes int64
	// Logger receives the engine's logs; every domain service logs to it.
	// Default slog.Default().
	Logger *slog.Logger
	// Now is the engine's clock, which every domain service reads for the
	// times it records. Default time.Now; readings are used in UTC,
	// truncated to microseconds.
	Now func() time.Time
	// Jobs tunes background job execution.
	Jobs JobsConfig
}

// JobsConfig tunes the durable job queue. Zero values mean the documented
// defaults.
type JobsConfig struct {
	// Disabled stops this process from working jobs (it still enqueues them
	// and retries those of stopped processes), for replicas that only serve
	// HTTP.
	Disabled bool
	// Register adds the embedder's own River workers and periodic jobs.
	Register func(workers *river.Workers, periodic *[]*river.PeriodicJob)
	// MaxWorkers is how many jobs run at once in this process. Default 10.
	MaxWorkers int
	// PollInterval is how often idle workers look for jobs. Default 100 ms on
	// SQLite; 1 s on PostgreSQL, where LISTEN/NOTIFY wakes workers at once.
	PollInterval time.Duration
	// JobTimeout cancels a job's context after this long. Default 10 min.
	JobTimeout time.Duration
	// OrphanAfter is how long a process that works jobs may go without
	// renewing its lease in the database (it renews every OrphanAfter/4)
	// before any bugflow process on the database retries the jobs it was
	// running, whatever their timeout. Default 60 s, at least 1 s. A live
	// process that stalls for longer has its running jobs run twice.
	OrphanAfter time.Duration
	// RescueAfter is how long a job may stay running in a live process before
	// it is presumed stuck and retried. Default 1 h.
	RescueAfter time.Duration
	// MaxAttempts bounds retries of a failing job. Default 10.
	MaxAttempts int
	// RetryPolicy computes the backoff between attempts. Default River's
	// attempt^4 seconds with jitter.
	RetryPolicy river.ClientRetryPolicy
	// ShutdownTimeout is how long Close waits for running jobs before
	// cancelling them (and then as long again for them to return). Default 30 s.
	ShutdownTimeout time.Duration
}

// Engine is an open bugflow: its database, its job queue and, as domain
// packages land, their services. It is safe for concurrent use.
type Engine struct {
	db    *store.DB
	queue *jobs.Queue

	// Auth is the identity service: sign-in, sessions, API keys, users.
	Auth *auth.Service
	// Activity is every user's recent actions (the journeys of bug reports).
	Activity *activity.Service
	// Bugs is bug intake: reports, deduplication, triage status.
	Bugs *bugs.Service
	// Analysis is CI failure analysis: results, reviews, history.
	Analysis *analysis.Service
	// ML trains triage models from tracker exports and predicts with them.
	ML *mlpipeline.Service

	uploadDir string
	maxUpload int64
	// schema is the newest migration ID, which Check expects recorded.
	schema string

	closeOnce sync.Once
	closeErr  error
}

// Open validates cfg, opens the database, applies pending migrations and
// starts working background jobs. Close releases everything.
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	mailer := cfg.Mailer
	if mailer == nil {
		var err error
		if mailer, err = auth.NewMailer(cfg.MailURL, logger); err != nil {
			return nil, err
		}
	}
	db, err := openMigrated(ctx, cfg.DatabaseURL, logger)
	if err != nil {
		return nil, err
	}
	e, err := newEngine(ctx, db, cfg, mailer, logger)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := e.startQueue(ctx, cfg, logger); err != nil {
		_ = db.Close()
		return nil, err
	}
	return e, nil
}

// newEngine builds the domain services on db.
func newEngine(ctx context.Context, db *store.DB, cfg Config, mailer auth.Mailer, logger *slog.Logger) (*Engine, error) {
	authSvc, err := auth.New(auth.NewBunStore(db.DB), auth.Config{
		Mailer: mailer, AdminKey: cfg.AdminKey, SecretKey: cfg.SecretKey, JWT: cfg.JWT, Logger: logger, Now: cfg.Now,
		DisableGuestUsernames: cfg.DisableGuestUsernames,
	})
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "invalid configuration: %s", err.Error())
	}
	act := activity.New(activity.NewBunStore(db.DB), activity.Config{Logger: logger, Now: cfg.Now})
	analysisStore := analysis.NewBunStore(db.DB)
	analysisSvc := analysis.New(analysisStore, analysis.Config{Logger: logger, Now: cfg.Now})
	// The offline analyzer learns from every human override made so far.
	if err := analysisSvc.LoadExamples(ctx, analysisStore); err != nil {
		return nil, fmt.Errorf("load classified failures: %w", err)
	}
	uploadDir := cmp.Or(cfg.UploadDir, defaultUploadDir())
	return &Engine{
		db: db, Auth: authSvc, Activity: act, Analysis: analysisSvc,
		Bugs:      bugs.New(bugs.NewBunStore(db.DB), bugs.Config{Journey: act, Logger: logger, Now: cfg.Now}),
		ML:        mlpipeline.New(mlpipeline.NewBunStore(db.DB), mlpipeline.Config{UploadDir: uploadDir, Logger: logger, Now: cfg.Now}),
		uploadDir: uploadDir,
		maxUpload: cmp.Or(cfg.MaxUploadBytes, DefaultMaxUploadBytes),
		schema:    newestMigration(),
	}, nil
}

// startQueue starts working durable jobs: bugflow's own (training) and the
// embedder's.
func (e *Engine) startQueue(ctx context.Context, cfg Config, logger *slog.Logger) error {
	jc := jobs.Config{
		MaxWorkers:      cfg.Jobs.MaxWorkers,
		PollInterval:    cfg.Jobs.PollInterval,
		JobTimeout:      cfg.Jobs.JobTimeout,
		RescueAfter:     cfg.Jobs.RescueAfter,
		OrphanAfter:     cfg.Jobs.OrphanAfter,
		MaxAttempts:     cfg.Jobs.MaxAttempts,
		RetryPolicy:     cfg.Jobs.RetryPolicy,
		ShutdownTimeout: cfg.Jobs.ShutdownTimeout,
		Logger:          logger,
		Register: []func(*river.Workers, *[]*river.PeriodicJob){func(ws *river.Workers, _ *[]*river.PeriodicJob) {
			river.AddWorker(ws, &trainWorker{ml: e.ML})
		}},
		OnGiveUp: func(ctx context.Context, job *rivertype.JobRow) { e.trainingGivenUp(ctx, job, logger) },
	}
	if cfg.Jobs.Register != nil {
		jc.Register = append(jc.Register, cfg.Jobs.Register)
	}
	if cfg.Jobs.Disabled {
		jc.Register = nil // insert-only: another process works the jobs
	}
	queue, err := jobs.New(e.db, jc)
	if err != nil {
		return err
	}
	if err := queue.Start(ctx); err != nil {
		return err
	}
	e.queue = queue
	return nil
}

// Migrate opens the database of cfg, applies pending migrations and closes it,
// without starting any job. It returns the IDs of the migrations it applied.
func Migrate(ctx context.Context, cfg Config) ([]string, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return migrate(ctx, db)
}

func openMigrated(ctx context.Context, databaseURL string, logger *slog.Logger) (*store.DB, error) {
	db, err := store.Open(ctx, databaseURL)
	if err != nil {
		return nil, err
	}
	applied, err := migrate(ctx, db)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if len(applied) > 0 {
		logger.Info("database migrated", "dialect", string(db.Dialect), "applied", applied)
	}
	return db, nil
}

// migrate applies River's schema and then every domain package's migrations.
func migrate(ctx context.Context, db *store.DB) ([]string, error) {
	if err := jobs.Migrate(ctx, db); err != nil {
		return nil, err
	}
	return store.Migrate(ctx, db, domainMigrations()...)
}

// domainMigrations lists the schema of every domain package, in any order
// (store.Migrate sorts by ID). Domain packages add theirs here as they land.
func domainMigrations() [][]store.Migration {
	return [][]store.Migration{jobs.Migrations(), auth.Migrations(), activity.Migrations(), bugs.Migrations(), analysis.Migrations(), mlpipeline.Migrations()}
}

// Close stops working jobs (waiting for running ones up to
// JobsConfig.ShutdownTimeout) and closes the database. Calling it again
// returns the first call's result.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		stopErr := e.queue.Stop(context.Background())
		e.closeErr = errors.Join(stopErr, e.db.Close())
	})
	return e.closeErr
}

// Dialect names the database engine in use: "sqlite" or "postgres".
func (e *Engine) Dialect() string { return string(e.db.Dialect) }

// Ping checks that the database answers.
func (e *Engine) Ping(ctx context.Context) error {
	if err := e.db.PingContext(ctx); err != nil {
		return errs.Wrap(errs.Unavailable, err, "database unavailable")
	}
	return nil
}

// Check reports whether the engine can serve: the database answers and
// holds the schema this version of bugflow needs (its newest migration is
// recorded), as an Unavailable error when not. It runs one small query, so a
// health probe can call it often.
func (e *Engine) Check(ctx context.Context) error {
	applied, err := store.HasMigration(ctx, e.db.DB, e.schema)
	if err != nil {
		return errs.Wrap(errs.Unavailable, err, "database unavailable or without its schema")
	}
	if !applied {
		return errs.Unavailablef("database schema is behind: migration %s is not applied", e.schema)
	}
	return nil
}

// newestMigration is the ID of the last migration this version applies.
func newestMigration() string {
	newest := ""
	for _, set := range domainMigrations() {
		for _, m := range set {
			newest = max(newest, m.ID)
		}
	}
	return newest
}

// Enqueue adds a durable background job. The job's kind must have a worker
// registered in some process (JobsConfig.Register) for it to run.
func (e *Engine) Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return e.queue.Insert(ctx, args, opts)
}

// Job returns the current state of a background job.
func (e *Engine) Job(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	return e.queue.Job(ctx, id)
}

// Validate reports every problem with cfg at once, as an Invalid error with
// one field per setting, without touching the database or the network. Open
// and Migrate call it first; a program that must do something costly before
// opening (bind a port, say) calls it earlier so that a mistake in the
// configuration is the error it reports.
func (cfg Config) Validate() error {
	var problems *errs.Error
	add := func(field, msg string) {
		if problems == nil {
			problems = errs.Invalidf("invalid configuration")
		}
		problems = problems.WithField(field, msg)
	}
	if _, err := store.Parse(cfg.DatabaseURL); err != nil {
		if e := errs.As(err); e != nil && len(e.Fields["database_url"]) > 0 {
			add("database_url", e.Fields["database_url"][0])
		} else {
			add("database_url", err.Error())
		}
	}
	if msg := checkMailURL(cfg.MailURL); msg != "" {
		add("mail_url", msg)
	}
	if cfg.AdminKey != "" {
		switch {
		case len(cfg.AdminKey) < MinAdminKeyLength:
			add("admin_key", fmt.Sprintf("must be at least %d characters", MinAdminKeyLength))
		case len(cfg.AdminKey) > auth.MaxAPIKeyLength:
			add("admin_key", fmt.Sprintf("must be at most %d characters", auth.MaxAPIKeyLength))
		}
	}
	if cfg.JWT != nil {
		if err := cfg.JWT.Validate(); err != nil {
			add("jwt", strings.TrimPrefix(err.Error(), "jwt: "))
		}
	}
	if cfg.Jobs.OrphanAfter != 0 && cfg.Jobs.OrphanAfter < jobs.MinOrphanAfter {
		add("jobs.orphan_after", fmt.Sprintf("must be at least %s", jobs.MinOrphanAfter))
	}
	if problems == nil {
		return nil
	}
	msgs := make([]string, 0, len(problems.Fields))
	for _, f := range problems.FieldNames() {
		msgs = append(msgs, f+": "+strings.Join(problems.Fields[f], "; "))
	}
	problems.Message = "invalid configuration: " + strings.Join(msgs, ", ")
	return problems
}

// checkMailURL returns what is wrong with a mail URL, or "".
func checkMailURL(raw string) string {
	if raw == "" || raw == "log:" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "not a URL"
	}
	switch u.Scheme {
	case "smtp", "smtps":
		if u.Hostname() == "" {
			return "smtp:// needs a host, e.g. smtp://user:pass@mail.example.com:587"
		}
	case "file":
		if u.Path == "" {
			return "file:// needs a directory, e.g. file:///var/spool/bugflow"
		}
	default:
		return "unsupported scheme: use log:, file:///dir or smtp://user:pass@host:port"
	}
	return ""
}
