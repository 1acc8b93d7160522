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
	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/activity"
	"github.com/bugflow/bugflow/analysis"
	"github.com/bugflow/bugflow/audit"
	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/bugs"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/jobs"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/mlpipeline"
	"github.com/bugflow/bugflow/notify"
	"github.com/bugflow/bugflow/personal"
	"github.com/bugflow/bugflow/tickets"
	"github.com/bugflow/bugflow/workflow"
	"github.com/bugflow/bugflow/workflow/analytics"
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
	// IdentityCacheTTL is how long an API key's or session's identity is
	// reused without reading the database again. Default
	// auth.DefaultIdentityCacheTTL (1 s); negative turns the cache off. It
	// bounds how long a key revoked or a session ended through another
	// replica keeps working on this one; through this one it stops at once.
	IdentityCacheTTL time.Duration
	// Mailer overrides MailURL with a transport of the embedder's own.
	Mailer auth.Mailer
	// UploadDir keeps training uploads until their job has an outcome; they
	// are deleted then. Default mlpipeline.DefaultUploadDir(), a
	// bugflow-uploads directory in the system's temporary directory. Replicas sharing one PostgreSQL need it on shared
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
	// TimeZone is the IANA name of the zone that automated processes'
	// schedules and "today" are evaluated in (the overdue reschedule at
	// 07:30, the daily digest). Default UTC.
	TimeZone string
	// ChatURL is the base URL of an OpenAI-compatible chat-completions API
	// (e.g. https://api.openai.com/v1) that the task chat asks which tool a
	// message calls for, with ChatModel and ChatAPIKey. Empty: the built-in
	// parser answers (it also answers whenever the model fails).
	ChatURL    string
	ChatModel  string
	ChatAPIKey string
	// Jobs tunes background job execution.
	Jobs JobsConfig
	// BugIntake tunes the group commit of captured errors (Bugs.Auto).
	BugIntake BugIntakeConfig
	// SLACheckEvery is how often the periodic job that marks SLA warnings
	// (80 % and 90 % elapsed) and breaches of tasks runs. Default 1 min.
	SLACheckEvery time.Duration
	// Notify configures the notifications of tasks (assignment, transfer,
	// escalation, SLA warning and breach, resolution).
	Notify NotifyConfig
	// Upkeep schedules the housekeeping job: expired sessions and sign-in
	// codes, the activity log past its retention.
	Upkeep UpkeepConfig
	// Trackers configures filing analysed failures in GitHub and Jira, and
	// the public address links to results use. Both trackers are off by
	// default.
	Trackers analysis.TrackerConfig
	// AI configures the AI analyzers of failure analysis: the CLI providers'
	// command lines, an OpenAI-compatible chat-completions server, the
	// default provider and peers. The zero value analyses offline.
	AI analysis.AISettings
	// Jenkins is the Jenkins whose builds POST /analyze analyses. Its
	// SecretKey defaults to Config.SecretKey.
	Jenkins analysis.JenkinsConfig
}

// BugIntakeConfig tunes how Bugs.Auto batches concurrent occurrences into
// one transaction (see bugs.Service.Auto). Zero values mean the defaults.
type BugIntakeConfig struct {
	// BatchWindow is how long the writer waits after a batch's first
	// occurrence for more; negative does not wait. Default on SQLite
	// bugs.DefaultBatchWindow (250 µs); on PostgreSQL no wait, since the
	// round trips of one batch take long enough for the next to gather
	// (bench/intake, every message new: 0.60× and 0.83× the raw insert
	// rate without the wait, 0.49× and 0.53× with it; one message repeated
	// alike).
	BatchWindow time.Duration
	// MaxBatch bounds a batch. Default bugs.DefaultMaxBatch (512).
	MaxBatch int
	// QueueSize bounds the occurrences waiting; beyond it Auto fails at once
	// with errs.Unavailable (HTTP 503 with Retry-After). Default
	// bugs.DefaultQueueSize (8192).
	QueueSize int
}

// NotifyConfig configures task notifications. They are stored in an
// outbox in the transaction of their cause and delivered by a periodic job
// through every channel configured: mail (the Mailer, to the user's email
// address) unless DisableMail, and an HTTP webhook when WebhookURL is set.
// Zero values mean the documented defaults.
type NotifyConfig struct {
	// DisableMail stops mailing notifications.
	DisableMail bool
	// WebhookURL receives a signed JSON POST of each notification.
	WebhookURL string
	// WebhookSecret keys the webhook's HMAC-SHA256 signature header
	// (X-Bugflow-Signature: sha256=HEX of the body). Required with
	// WebhookURL.
	WebhookSecret string
	// WebhookTimeout bounds one webhook request. Default 10 s.
	WebhookTimeout time.Duration
	// WebhookRetries is how often one delivery attempt retries a failed
	// request, with backoff. Default 3; negative for none.
	WebhookRetries int
	// MaxAttempts is how many delivery attempts a notification gets before
	// it is failed (listed at /tasks/failed-notifications/). Default 5.
	MaxAttempts int
	// Backoff is the wait after a failed attempt, doubled after each
	// further one. Default 30 s.
	Backoff time.Duration
	// DeliverEvery is how often the delivery job runs. Default 10 s.
	DeliverEvery time.Duration
}

// JobsConfig tunes the durable job queue. Zero values mean the documented
// defaults.
type JobsConfig struct {
	// Disabled stops this process from working jobs (it still enqueues them
	// and retries those of stopped processes), for replicas that only serve
	// HTTP.
	Disabled bool
	// Register adds the embedder's own River workers (river.AddWorker) and
	// periodic jobs, after bugflow's domains have added theirs, in every
	// Open that works jobs. It is a func rather than a ready river.Workers
	// so that each Engine gets a bundle of its own: River's bundles cannot be
	// merged or shared between clients that register the same kind.
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

	// Audit records who changed what in workflows, tasks, tickets and role
	// memberships, each event in the transaction of its change.
	Audit *audit.Service
	// Auth is the identity service: sign-in, sessions, API keys, users.
	Auth *auth.Service
	// Activity is every user's recent actions (the journeys of bug reports).
	Activity *activity.Service
	// Bugs is bug intake: reports, deduplication, triage status.
	Bugs *bugs.Service
	// Analysis is CI failure analysis: results, reviews, history.
	Analysis *analysis.Service
	// Trackers drafts and files analysed failures as GitHub issues and Jira
	// bugs.
	Trackers *analysis.Trackers
	// Builds analyses Jenkins builds as durable jobs (waiting for the
	// build, fetching its reports and failed pipeline children).
	Builds *analysis.Builds
	// ML trains triage models from tracker exports (uploads, training jobs)
	// and predicts with them.
	ML *mlpipeline.Service
	// Workflow defines workflows: details, SLAs, graphs of steps and
	// transitions, initialization. Its steps name Auth's roles.
	Workflow *workflow.Service
	// Tickets keeps tickets and hands each to intake in its transaction.
	Tickets *tickets.Service
	// Notify is the outbox of task notifications: delivery, failed ones,
	// retries.
	Notify *notify.Service
	// Analytics answers seeds/004's /analytics/ figures over the workflow
	// and tickets tables, each computed by the database.
	Analytics *analytics.Service
	// Personal is every user's own to-do list (seeds/003's tasks), a
	// different thing from Workflow's tasks.
	Personal *personal.Service

	// schema is the newest migration ID, which Check expects recorded.
	schema string
	// upkeep is the housekeeping schedule (Upkeep), with defaults filled.
	upkeep UpkeepConfig
	now    func() time.Time
	log    *slog.Logger

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
	if err == nil {
		err = e.queue.Start(ctx)
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return e, nil
}

// assembly is what the domains share while the engine is built.
type assembly struct {
	cfg    Config
	db     *store.DB
	mailer auth.Mailer
	logger *slog.Logger
	queue  *jobs.Queue
}

// domain is one domain package as the engine assembles it: its schema and,
// for an open engine, how its service is built and its background jobs
// registered (assembly.queue.Register).
type domain struct {
	migrations func() []store.Migration
	open       func(ctx context.Context, e *Engine, a *assembly) error
}

// domains lists every domain package, one entry each; adding a domain is
// adding an entry. Services are built in this order (bugs records journeys
// in activity), while store.Migrate orders migrations by ID.
var domains = []domain{{
	// The job queue itself is built before any domain; this is the schema
	// of its leases.
	migrations: jobs.Migrations,
}, {
	migrations: audit.Migrations,
	open: func(_ context.Context, e *Engine, a *assembly) error {
		e.Audit = audit.New(audit.NewBunStore(a.db.DB), audit.Config{Now: a.cfg.Now})
		return nil
	},
}, {
	migrations: auth.Migrations,
	open: func(_ context.Context, e *Engine, a *assembly) error {
		svc, err := auth.New(auth.NewBunStore(a.db.DB), auth.Config{
			Audit: e.Audit, Mailer: a.mailer, AdminKey: a.cfg.AdminKey, SecretKey: a.cfg.SecretKey, JWT: a.cfg.JWT, Logger: a.logger, Now: a.cfg.Now,
			DisableGuestUsernames: a.cfg.DisableGuestUsernames, IdentityCacheTTL: a.cfg.IdentityCacheTTL,
		})
		if err != nil {
			return errs.Wrap(errs.Invalid, err, "invalid configuration: %s", err.Error())
		}
		e.Auth = svc
		return nil
	},
}, {
	migrations: activity.Migrations,
	open: func(_ context.Context, e *Engine, a *assembly) error {
		e.Activity = activity.New(activity.NewBunStore(a.db.DB), activity.Config{Logger: a.logger, Now: a.cfg.Now})
		return nil
	},
}, {
	migrations: bugs.Migrations,
	open: func(_ context.Context, e *Engine, a *assembly) error {
		window := a.cfg.BugIntake.BatchWindow
		if window == 0 && a.db.Dialect == store.Postgres {
			window = -1
		}
		e.Bugs = bugs.New(bugs.NewBunStore(a.db.DB), bugs.Config{Journey: e.Activity, Observer: processEvents{e}, Logger: a.logger, Now: a.cfg.Now,
			BatchWindow: window, MaxBatch: a.cfg.BugIntake.MaxBatch, QueueSize: a.cfg.BugIntake.QueueSize})
		return nil
	},
}, {
	migrations: analysis.Migrations,
	open: func(ctx context.Context, e *Engine, a *assembly) error {
		st := analysis.NewBunStore(a.db.DB)
		e.Analysis = analysis.New(st, analysis.Config{Logger: a.logger, Now: a.cfg.Now, AI: a.cfg.AI})
		e.Trackers = analysis.NewTrackers(e.Analysis, a.cfg.Trackers)
		e.Analysis.SetJiraMatcher(e.Trackers.MatchJira)
		jc := a.cfg.Jenkins
		jc.SecretKey = cmp.Or(jc.SecretKey, a.cfg.SecretKey)
		builds, err := analysis.NewBuilds(e.Analysis, jc, a.queue)
		if err != nil {
			return fmt.Errorf("jenkins analyses: %w", err)
		}
		e.Builds = builds
		a.queue.Register(e.Builds.RegisterJobs, e.Builds.JobGivenUp)
		// The offline analyzer learns from every human override made so far.
		if err := e.Analysis.LoadExamples(ctx, st); err != nil {
			return fmt.Errorf("load classified failures: %w", err)
		}
		return nil
	},
}, {
	migrations: mlpipeline.Migrations,
	open: func(_ context.Context, e *Engine, a *assembly) error {
		e.ML = mlpipeline.New(mlpipeline.NewBunStore(a.db.DB), mlpipeline.Config{
			UploadDir: a.cfg.UploadDir, MaxUploadBytes: a.cfg.MaxUploadBytes, Queue: a.queue,
			Logger: a.logger, Now: a.cfg.Now,
		})
		a.queue.Register(e.ML.RegisterJobs, e.ML.JobGivenUp)
		return nil
	},
}, {
	migrations: notify.Migrations,
	open: func(_ context.Context, e *Engine, a *assembly) error {
		channels, err := notifyChannels(a)
		if err != nil {
			return err
		}
		n := a.cfg.Notify
		e.Notify = notify.New(notify.NewBunStore(a.db.DB), notify.Config{
			Channels: channels, MaxAttempts: n.MaxAttempts, Backoff: n.Backoff, Audit: e.Audit, Logger: a.logger, Now: a.cfg.Now,
		})
		a.queue.Register(e.Notify.Jobs(n.DeliverEvery), nil)
		return nil
	},
}, {
	migrations: workflow.Migrations,
	open: func(_ context.Context, e *Engine, a *assembly) error {
		e.Workflow = workflow.New(workflow.NewBunStore(a.db.DB), workflow.Config{
			Roles: e.Auth, People: people{db: a.db.DB}, Observer: ticketObserver{e}, Breaches: processEvents{e}, Audit: e.Audit, Notifier: e.Notify,
			Logger: a.logger, Now: a.cfg.Now,
		})
		a.queue.Register(e.Workflow.Jobs(a.cfg.SLACheckEvery), nil)
		return nil
	},
}, {
	// Each ticket is handed to the workflow engine's intake in its own
	// transaction.
	migrations: tickets.Migrations,
	open: func(_ context.Context, e *Engine, a *assembly) error {
		e.Tickets = tickets.New(tickets.NewBunStore(a.db.DB), tickets.Config{Intake: e.Workflow, Audit: e.Audit, Now: a.cfg.Now})
		return nil
	},
}, {
	// Analytics only reads the workflow and tickets tables; its migrations
	// add the indexes it reads through.
	migrations: analytics.Migrations,
	open: func(_ context.Context, e *Engine, a *assembly) error {
		e.Analytics = analytics.New(a.db.DB, analytics.Config{Now: a.cfg.Now, Logger: a.logger})
		return nil
	},
}, {
	// Time-based processes run from a periodic job on the queue.
	migrations: personal.Migrations,
	open: func(ctx context.Context, e *Engine, a *assembly) error {
		loc, err := time.LoadLocation(a.cfg.TimeZone)
		if err != nil {
			return errs.Wrap(errs.Invalid, err, "invalid configuration: time_zone: %s", err.Error())
		}
		var planner personal.Planner
		if a.cfg.ChatURL != "" {
			if planner, err = personal.NewModelPlanner(a.cfg.ChatURL, a.cfg.ChatModel, a.cfg.ChatAPIKey); err != nil {
				return err
			}
		}
		e.Personal = personal.New(personal.NewBunStore(a.db.DB), personal.Config{
			Audit: e.Audit, Location: loc, Mailer: a.mailer, Directory: contacts{e.Auth}, Planner: planner,
			Events: a.queue, Logger: a.logger, Now: a.cfg.Now,
		})
		if err := e.Personal.EnsureBuiltins(ctx); err != nil {
			return err
		}
		a.queue.Register(e.Personal.RegisterJobs, nil)
		return nil
	},
}}

// notifyChannels builds the notification channels that cfg.Notify asks for.
func notifyChannels(a *assembly) ([]notify.Channel, error) {
	n := a.cfg.Notify
	var channels []notify.Channel
	if !n.DisableMail {
		db := a.db.DB
		channels = append(channels, notify.NewMail(a.mailer, func(ctx context.Context, userID string) (string, error) {
			u, _, err := auth.NewBunStore(db).User(ctx, auth.UserKey{ID: userID})
			return u.Email, err
		}))
	}
	if n.WebhookURL != "" {
		w, err := notify.NewWebhook(notify.WebhookConfig{URL: n.WebhookURL, Secret: n.WebhookSecret, Timeout: n.WebhookTimeout,
			Retries: n.WebhookRetries, Logger: a.logger})
		if err != nil {
			return nil, err
		}
		channels = append(channels, w)
	}
	return channels, nil
}

// ticketObserver keeps tickets in step with their tasks: the workflow
// engine tells it of each task change, in the change's transaction. It
// reaches Engine.Tickets through the engine because the tickets service is
// built after the workflow service it takes tasks from.
type ticketObserver struct{ e *Engine }

// TaskStatusChanged implements workflow.TaskObserver.
func (o ticketObserver) TaskStatusChanged(ctx context.Context, t workflow.Task) error {
	return o.e.Tickets.TaskStatusChanged(ctx, t)
}

// processEvents tells the personal processes of the engine's events that
// they may wait for, in the event's transaction. Like ticketObserver, it
// reaches Engine.Personal through the engine, which is built after the
// services whose events it hears.
type processEvents struct{ e *Engine }

// ReportCreated implements bugs.ReportObserver.
func (o processEvents) ReportCreated(ctx context.Context, r bugs.Report) error {
	if o.e.Personal == nil {
		return nil
	}
	return o.e.Personal.BugReportCreated(ctx, r.ID)
}

// TaskBreached implements workflow.BreachObserver: the breach of a task
// that works on a ticket is the ticket's.
func (o processEvents) TaskBreached(ctx context.Context, t workflow.Task) error {
	if o.e.Personal == nil || t.TicketID == "" {
		return nil
	}
	return o.e.Personal.TicketBreached(ctx, t.TicketID)
}

// newEngine builds the job queue and the domain services on db, with the
// embedder's jobs registered after the domains'. The queue is not started.
func newEngine(ctx context.Context, db *store.DB, cfg Config, mailer auth.Mailer, logger *slog.Logger) (*Engine, error) {
	queue, err := jobs.New(db, jobs.Config{
		InsertOnly:      cfg.Jobs.Disabled,
		MaxWorkers:      cfg.Jobs.MaxWorkers,
		PollInterval:    cfg.Jobs.PollInterval,
		JobTimeout:      cfg.Jobs.JobTimeout,
		RescueAfter:     cfg.Jobs.RescueAfter,
		OrphanAfter:     cfg.Jobs.OrphanAfter,
		MaxAttempts:     cfg.Jobs.MaxAttempts,
		RetryPolicy:     cfg.Jobs.RetryPolicy,
		ShutdownTimeout: cfg.Jobs.ShutdownTimeout,
		Logger:          logger,
	})
	if err != nil {
		return nil, err
	}
	e := &Engine{db: db, queue: queue, schema: newestMigration(), log: logger}
	a := &assembly{cfg: cfg, db: db, mailer: mailer, logger: logger, queue: queue}
	for _, d := range domains {
		if d.open == nil {
			continue
		}
		if err := d.open(ctx, e, a); err != nil {
			return nil, err
		}
	}
	e.registerUpkeep(cfg)
	queue.Register(cfg.Jobs.Register, nil)
	return e, nil
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

// domainMigrations lists the schema of every domain package (domains).
func domainMigrations() [][]store.Migration {
	sets := make([][]store.Migration, 0, len(domains))
	for _, d := range domains {
		sets = append(sets, d.migrations())
	}
	return sets
}

// Close writes the bug occurrences Auto has queued (their callers get their
// answers), stops working jobs (waiting for running ones up to
// JobsConfig.ShutdownTimeout) and closes the database. Calling it again
// returns the first call's result.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		// Queued bug occurrences are written before the database closes:
		// their callers are waiting for a promise that they are stored.
		var bugsErr error
		if e.Bugs != nil {
			bugsErr = e.Bugs.Close(context.Background())
		}
		stopErr := e.queue.Stop(context.Background())
		e.closeErr = errors.Join(bugsErr, stopErr, e.db.Close())
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

// Jobs returns up to limit background jobs (at most 500), newest first, in
// any of states and of any of kinds (all when empty), with their attempts
// and errors.
func (e *Engine) Jobs(ctx context.Context, states []rivertype.JobState, kinds []string, limit int) ([]*rivertype.JobRow, error) {
	return e.queue.List(ctx, states, kinds, limit)
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
	if cfg.Upkeep.Every < 0 || cfg.Upkeep.ActivityRetention < 0 || cfg.Upkeep.UploadRetention < 0 {
		add("upkeep", "durations must not be negative")
	}
	if cfg.SLACheckEvery < 0 {
		add("sla_check_every", "must not be negative")
	}
	if msg := checkWebhook(cfg.Notify); msg != "" {
		add("notify.webhook_url", msg)
	}
	if cfg.Notify.WebhookTimeout < 0 || cfg.Notify.Backoff < 0 || cfg.Notify.DeliverEvery < 0 || cfg.Notify.MaxAttempts < 0 {
		add("notify", "durations and attempts must not be negative")
	}
	if _, err := time.LoadLocation(cfg.TimeZone); err != nil {
		add("time_zone", "not a known IANA time zone, e.g. Europe/Berlin")
	}
	if cfg.ChatURL != "" {
		if _, err := personal.NewModelPlanner(cfg.ChatURL, cfg.ChatModel, cfg.ChatAPIKey); err != nil {
			for _, f := range errs.As(err).FieldNames() {
				add(f, errs.As(err).Fields[f][0])
			}
		}
	}
	if cfg.Jobs.OrphanAfter != 0 && cfg.Jobs.OrphanAfter < jobs.MinOrphanAfter {
		add("jobs.orphan_after", fmt.Sprintf("must be at least %s", jobs.MinOrphanAfter))
	}
	for field, msg := range cfg.Trackers.Problems() {
		add(field, msg)
	}
	for field, msg := range cfg.AI.Problems() {
		add(field, msg)
	}
	for field, msg := range cfg.Jenkins.Problems() {
		add(field, msg)
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

// checkWebhook returns what is wrong with the webhook settings, or "".
func checkWebhook(n NotifyConfig) string {
	if n.WebhookURL == "" {
		if n.WebhookSecret != "" {
			return "a webhook secret needs a webhook URL"
		}
		return ""
	}
	u, err := url.Parse(n.WebhookURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "must be an http:// or https:// URL"
	}
	if n.WebhookSecret == "" {
		return "needs a webhook secret to sign its bodies"
	}
	return ""
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

// people is the task engine's directory of users and roles: auth's. It
// reads through an auth store on the transaction that ctx carries, when it
// carries one (intake runs inside the ticket's transaction, and SQLite's
// one connection is held by it), else on a short transaction of its own.
type people struct{ db bun.IDB }

// read runs fn on an auth store in ctx's transaction or a new one.
func (p people) read(ctx context.Context, fn func(st *auth.BunStore) error) error {
	return store.RunInTx(ctx, p.db, func(ctx context.Context, tx bun.IDB) error { return fn(auth.NewBunStore(tx)) })
}

// RoleName implements workflow.People.
func (p people) RoleName(ctx context.Context, id int64) (string, error) {
	var name string
	err := p.read(ctx, func(st *auth.BunStore) error {
		r, err := st.Role(ctx, id)
		name = r.Name
		return err
	})
	return name, err
}

// RoleHolders implements workflow.People: the role's members by user id.
func (p people) RoleHolders(ctx context.Context, roleID int64) ([]workflow.Holder, error) {
	var out []workflow.Holder
	err := p.read(ctx, func(st *auth.BunStore) error {
		members, _, err := st.RoleMembers(ctx, roleID, 0, 0)
		for _, m := range members {
			out = append(out, workflow.Holder{UserID: m.User.ID, Username: m.User.Username})
		}
		return err
	})
	return out, err
}

// User implements workflow.People; a guest is no one to assign work to.
func (p people) User(ctx context.Context, userID string) (workflow.Holder, error) {
	var h workflow.Holder
	err := p.read(ctx, func(st *auth.BunStore) error {
		u, _, err := st.User(ctx, auth.UserKey{ID: userID})
		if err != nil {
			return err
		}
		if u.Guest {
			return errs.NotFoundf("%q is a guest, not an account", u.Username)
		}
		h = workflow.Holder{UserID: u.ID, Username: u.Username}
		return nil
	})
	return h, err
}

// CoordinatorRole implements workflow.People.
func (p people) CoordinatorRole(ctx context.Context) (int64, error) {
	var id int64
	err := p.read(ctx, func(st *auth.BunStore) error {
		roles, err := st.RolesByName(ctx, []string{auth.TicketCoordinator})
		if err != nil {
			return err
		}
		if len(roles) == 0 {
			return errs.NotFoundf("role %q not found", auth.TicketCoordinator)
		}
		id = roles[0].ID
		return nil
	})
	return id, err
}

// contacts is the daily digest's directory of users: auth's.
type contacts struct{ auth *auth.Service }

// Contact implements personal.Directory: the user's email address and the
// name to greet them by.
func (c contacts) Contact(ctx context.Context, userID string) (string, string, error) {
	u, err := c.auth.User(ctx, userID)
	if err != nil {
		return "", "", err
	}
	return u.Email, cmp.Or(u.Name, u.Username), nil
}
