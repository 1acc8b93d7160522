// Command bugflow runs the bugflow reference server and its maintenance tasks.
//
// Usage:
//
//	bugflow serve   [--addr :8080] [--database-url URL] [--mail-url URL] [--admin-key KEY] [--secret-key KEY] [--jwt-...]
//	bugflow migrate [--database-url URL]
//	bugflow analyze REPORT.xml [MORE.xml ...] [--enriched OUT.xml] [--format table|json]
//	bugflow train [--database-url URL] [--anon] FILE.csv...
//	bugflow predict [--database-url URL] --model ID "summary"
//	bugflow version
//
// Every flag of serve, migrate, train and predict can also be set through
// the environment (BUGFLOW_ADDR, BUGFLOW_DATABASE_URL, BUGFLOW_MAIL_URL,
// BUGFLOW_ADMIN_KEY, BUGFLOW_SECRET_KEY, BUGFLOW_JWT_*,
// BUGFLOW_DISABLE_GUEST_USERNAMES, BUGFLOW_JOB_ORPHAN_AFTER); a flag wins
// over its variable. serve and migrate also take --log-format text|json and
// --log-level debug|info|warn|error (BUGFLOW_LOG_FORMAT, BUGFLOW_LOG_LEVEL);
// logs go to stderr. "bugflow COMMAND --help" lists the flags of COMMAND
// with their variables and defaults.
//
// serve checks its whole configuration before it binds the port or opens
// the database, so that a bad setting is reported as itself.
//
// serve stops gracefully on SIGINT or SIGTERM: it stops accepting, lets
// in-flight requests finish (up to 30 s), waits for running jobs and exits 0;
// a second signal ends it at once.
//
// Errors are one line on stderr, prefixed "bugflow: ", with passwords never
// shown. Exit codes: 0 success; 1 failure after a successful start; 2 bad
// usage, invalid configuration, an address already in use or an unreachable
// database.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/analysis"
	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/bugs"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/server"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// shutdownTimeout bounds how long in-flight requests may take to finish after
// a stop signal.
const shutdownTimeout = 30 * time.Second

const usage = `bugflow: the bug lifecycle server

Usage:
  bugflow serve   [flags]   run the HTTP server (migrates the database first)
  bugflow migrate [flags]   apply database migrations and exit
  bugflow analyze [flags] REPORT.xml [MORE.xml ...]
                            classify the failures of JUnit reports offline
                            ("-" reads stdin; no database needed)
  bugflow train   [flags] FILE.csv [FILE.csv ...]
                            train a triage model into the database; shows
                            progress, prints the hold-out metrics and the
                            model id
  bugflow predict [flags] --model ID "summary"
                            predict every field of a stored model
  bugflow version           print the version
  bugflow help [COMMAND]    print this help, or the help of COMMAND

"bugflow COMMAND --help" lists the flags of COMMAND, with the environment
variable each one is also read from and its default.

SIGINT or SIGTERM stops serve gracefully: no new connections, in-flight
requests get up to 30 s to finish, running jobs are waited for. A second
signal stops at once.

Exit codes:
  0  success (including a graceful stop after SIGINT/SIGTERM)
  1  failure after a successful start (serving, shutdown or closing failed)
  2  bad usage (unknown command, bad flag), invalid configuration, address
     already in use, or a database that cannot be reached; for analyze, a
     report that cannot be read, is malformed or carries a DTD; for train
     and predict, files with no usable rows, an unknown or unfinished model
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal starts a graceful stop, restore the default
	// handling so that a second one ends the process at once.
	context.AfterFunc(ctx, stop)
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command and returns the process exit code. Errors are
// printed as a single line on stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	if isHelp(cmd) {
		if len(rest) > 0 && !isHelp(rest[0]) {
			// "bugflow help serve" is "bugflow serve --help".
			return run(ctx, []string{rest[0], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	switch cmd {
	case "version":
		return runVersion(rest, stdout, stderr)
	case "analyze":
		return runAnalyze(ctx, rest, os.Stdin, stdout, stderr)
	case "train":
		return runTrain(ctx, rest, stdout, stderr)
	case "predict":
		return runPredict(ctx, rest, stdout, stderr)
	case "serve", "migrate":
	default:
		return fail(stderr, exitUsage, fmt.Errorf("unknown command %q (run 'bugflow help')", cmd))
	}

	opts, c, err := parseFlags(cmd, rest)
	if err != nil {
		return c.usageExit(err, stdout, stderr)
	}
	logger, err := newLogger(stderr, opts.logFormat, opts.logLevel)
	if err != nil {
		return fail(stderr, exitUsage, err)
	}
	cfg := bugflow.Config{DatabaseURL: opts.databaseURL, MailURL: opts.mailURL, AdminKey: opts.adminKey, SecretKey: opts.secretKey, Logger: logger,
		DisableGuestUsernames: opts.disableGuests, TimeZone: opts.timeZone,
		ChatURL: opts.chatURL, ChatModel: opts.chatModel, ChatAPIKey: os.Getenv("BUGFLOW_CHAT_API_KEY")}
	if cfg.JWT, err = opts.jwtConfig(); err != nil {
		return fail(stderr, exitUsage, err)
	}
	if opts.jobOrphanAfter != "" {
		if cfg.Jobs.OrphanAfter, err = time.ParseDuration(opts.jobOrphanAfter); err != nil {
			return fail(stderr, exitUsage, fmt.Errorf("--job-orphan-after: %q is not a duration such as 60s", opts.jobOrphanAfter))
		}
	}
	if cmd == "serve" {
		if cfg.BugIntake, err = opts.intakeConfig(); err != nil {
			return fail(stderr, exitUsage, err)
		}
		cfg.Trackers = opts.trackersConfig()
		if cfg.AI, err = opts.ai.settings(); err != nil {
			return fail(stderr, exitUsage, err)
		}
		if cfg.Jenkins, err = opts.jenkinsConfig(); err != nil {
			return fail(stderr, exitUsage, err)
		}
	}
	if err := opts.notifyConfig(&cfg); err != nil {
		return fail(stderr, exitUsage, err)
	}
	// Every setting is checked before the port is bound or the database
	// touched, so that a mistake is reported as itself and not as whatever
	// the first of those steps happens to trip over.
	if err := cfg.Validate(); err != nil {
		return fail(stderr, exitUsage, err)
	}

	if cmd == "migrate" {
		applied, err := bugflow.Migrate(ctx, cfg)
		if err != nil {
			return fail(stderr, startupCode(err), err)
		}
		if len(applied) == 0 {
			fmt.Fprintln(stdout, "database is up to date")
		} else {
			fmt.Fprintf(stdout, "applied %d migrations: %s\n", len(applied), strings.Join(applied, ", "))
		}
		return exitOK
	}

	// Bind before opening the database so that a taken port fails at once,
	// before any migration runs. Connections that arrive meanwhile wait in
	// the listen backlog and are served once the engine is ready.
	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return fail(stderr, exitUsage, fmt.Errorf("cannot listen on %s: %w", opts.addr, err))
	}
	engine, err := bugflow.Open(ctx, cfg)
	if err != nil {
		_ = ln.Close()
		return fail(stderr, startupCode(err), err)
	}
	logger.Info("listening", "addr", ln.Addr().String(), "database", engine.Dialect(), "version", bugflow.Version)
	serveErr := serve(ctx, ln, server.New(engine, server.WithLogger(logger)), logger)
	closeErr := engine.Close()
	if err := errors.Join(serveErr, closeErr); err != nil {
		return fail(stderr, exitFailure, err)
	}
	logger.Info("stopped")
	return exitOK
}

// isHelp reports whether arg asks for the general help.
func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "--help", "-help":
		return true
	}
	return false
}

// runVersion prints the version; it takes no flags.
func runVersion(args []string, stdout, stderr io.Writer) int {
	c := newCommand("version", "bugflow version", "Prints the bugflow version and the Go version it was built with.")
	if err := c.parse(args); err != nil {
		return c.usageExit(err, stdout, stderr)
	}
	if c.fs.NArg() > 0 {
		return fail(stderr, exitUsage, c.usageError("unexpected argument %q", c.fs.Arg(0)))
	}
	fmt.Fprintf(stdout, "bugflow %s (%s)\n", bugflow.Version, runtime.Version())
	return exitOK
}

// serve answers requests on ln until ctx is done, then stops accepting and
// lets in-flight requests finish (up to shutdownTimeout).
func serve(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Requests still running after shutdownTimeout are cut off.
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// options are the parsed flags of serve and migrate.
type options struct {
	addr, databaseURL, mailURL, adminKey, secretKey, logFormat, logLevel string
	jwtSecret, jwtKeyFile, jwtIssuer, jwtAudience                        string
	jobOrphanAfter, timeZone, chatURL, chatModel                         string
	intakeWindow, intakeMaxBatch, intakeQueue                            string
	disableGuests                                                        bool
	slaCheckEvery, notifyWebhookURL, notifyWebhookSecret                 string
	notifyDeliverEvery, notifyMaxAttempts                                string
	upkeepEvery, activityRetention, uploadRetention                      string
	disableNotifyMail                                                    bool
	publicBaseURL, githubAPIURL, githubToken, githubRepoURL              string
	jiraURL, jiraEmail, jiraToken, jiraProjectKey                        string
	githubIssues, jiraIssues, jiraInsecure                               bool
	ai                                                                   aiOptions
	jenkinsURL, jenkinsUser, jenkinsPassword                             string
	jenkinsPollInterval, jenkinsMaxWait, jenkinsArtifactsMaxMB           string
	jenkinsInsecure                                                      bool
	reportPortalURL, reportPortalProject, reportPortalToken              string
	reportPortalInsecure                                                 bool
}

// trackersConfig builds the GitHub and Jira settings from the flags.
func (o options) trackersConfig() analysis.TrackerConfig {
	return analysis.TrackerConfig{
		PublicBaseURL: o.publicBaseURL,
		GitHub:        analysis.GitHubConfig{Enabled: o.githubIssues, APIURL: o.githubAPIURL, Token: o.githubToken, RepoURL: o.githubRepoURL},
		Jira: analysis.JiraConfig{Enabled: o.jiraIssues, URL: o.jiraURL, Email: o.jiraEmail, Token: o.jiraToken,
			ProjectKey: o.jiraProjectKey, InsecureSkipVerify: o.jiraInsecure},
		ReportPortal: analysis.ReportPortalConfig{URL: o.reportPortalURL, Project: o.reportPortalProject, Token: o.reportPortalToken,
			InsecureSkipVerify: o.reportPortalInsecure},
	}
}

// jenkinsConfig builds the Jenkins settings from the flags.
func (o options) jenkinsConfig() (analysis.JenkinsConfig, error) {
	cfg := analysis.JenkinsConfig{URL: o.jenkinsURL, User: o.jenkinsUser, Password: o.jenkinsPassword, InsecureSkipVerify: o.jenkinsInsecure}
	var err error
	if cfg.PollInterval, err = time.ParseDuration(o.jenkinsPollInterval); err != nil || cfg.PollInterval <= 0 {
		return cfg, fmt.Errorf("--jenkins-poll-interval: %q is not a positive duration such as 2m", o.jenkinsPollInterval)
	}
	if cfg.MaxWait, err = time.ParseDuration(o.jenkinsMaxWait); err != nil || cfg.MaxWait < 0 {
		return cfg, fmt.Errorf("--jenkins-max-wait: %q is not a duration such as 30m (0: no limit)", o.jenkinsMaxWait)
	}
	mb, err := strconv.Atoi(o.jenkinsArtifactsMaxMB)
	if err != nil || mb < 1 {
		return cfg, fmt.Errorf("--jenkins-artifacts-max-size-mb: %q is not a whole number of at least 1", o.jenkinsArtifactsMaxMB)
	}
	cfg.ArtifactsMaxBytes = int64(mb) << 20
	return cfg, nil
}

// jwtConfig builds the JWT settings from the flags, or nil when none is set.
func (o options) jwtConfig() (*auth.JWTConfig, error) {
	if o.jwtSecret == "" && o.jwtKeyFile == "" {
		if o.jwtIssuer != "" || o.jwtAudience != "" {
			return nil, errors.New("--jwt-issuer and --jwt-audience need --jwt-hs256-secret or --jwt-public-key-file")
		}
		return nil, nil
	}
	cfg := &auth.JWTConfig{HS256Secret: o.jwtSecret, Issuer: o.jwtIssuer, Audience: o.jwtAudience}
	if o.jwtKeyFile != "" {
		pem, err := os.ReadFile(o.jwtKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--jwt-public-key-file: %w", err)
		}
		cfg.PublicKeyPEM = string(pem)
	}
	return cfg, nil
}

// intakeConfig reads the bug intake flags.
func (o options) intakeConfig() (bugflow.BugIntakeConfig, error) {
	var cfg bugflow.BugIntakeConfig
	var err error
	if o.intakeWindow != "" {
		if cfg.BatchWindow, err = time.ParseDuration(o.intakeWindow); err != nil {
			return cfg, fmt.Errorf("--intake-batch-window: %q is not a duration such as 1ms", o.intakeWindow)
		}
	}
	if cfg.MaxBatch, err = strconv.Atoi(o.intakeMaxBatch); err != nil || cfg.MaxBatch < 1 {
		return cfg, fmt.Errorf("--intake-max-batch: %q is not a positive number", o.intakeMaxBatch)
	}
	if cfg.QueueSize, err = strconv.Atoi(o.intakeQueue); err != nil || cfg.QueueSize < 1 {
		return cfg, fmt.Errorf("--intake-queue-size: %q is not a positive number", o.intakeQueue)
	}
	return cfg, nil
}

// notifyConfig sets the SLA check, notification and upkeep settings of
// cfg from the flags.
func (o options) notifyConfig(cfg *bugflow.Config) error {
	cfg.Notify = bugflow.NotifyConfig{DisableMail: o.disableNotifyMail, WebhookURL: o.notifyWebhookURL, WebhookSecret: o.notifyWebhookSecret}
	for _, d := range []struct {
		flag, value string
		into        *time.Duration
	}{
		{"--sla-check-every", o.slaCheckEvery, &cfg.SLACheckEvery}, {"--notify-deliver-every", o.notifyDeliverEvery, &cfg.Notify.DeliverEvery},
		{"--upkeep-every", o.upkeepEvery, &cfg.Upkeep.Every}, {"--activity-retention", o.activityRetention, &cfg.Upkeep.ActivityRetention},
		{"--upload-retention", o.uploadRetention, &cfg.Upkeep.UploadRetention},
	} {
		if d.value == "" {
			continue
		}
		v, err := time.ParseDuration(d.value)
		if err != nil || v <= 0 {
			return fmt.Errorf("%s: %q is not a positive duration such as 1m", d.flag, d.value)
		}
		*d.into = v
	}
	if o.notifyMaxAttempts != "" {
		n, err := strconv.Atoi(o.notifyMaxAttempts)
		if err != nil || n < 1 {
			return fmt.Errorf("--notify-max-attempts: %q is not a positive number", o.notifyMaxAttempts)
		}
		cfg.Notify.MaxAttempts = n
	}
	return nil
}

// parseFlags reads the flags of serve or migrate; environment variables
// supply defaults. The command is returned for its help and its errors.
func parseFlags(cmd string, args []string) (options, *command, error) {
	var o options
	var c *command
	if cmd == "serve" {
		c = newCommand(cmd, "bugflow serve [flags]", "Runs the HTTP server. Pending database migrations are applied first.")
		c.stringVar(&o.addr, "addr", "ADDR", "BUGFLOW_ADDR", ":8080", "listen address")
	} else {
		c = newCommand(cmd, "bugflow migrate [flags]", "Applies pending database migrations and exits.")
	}
	c.stringVar(&o.databaseURL, "database-url", "URL", "BUGFLOW_DATABASE_URL", defaultDatabaseURL, databaseURLUsage)
	if cmd == "serve" {
		c.stringVar(&o.mailURL, "mail-url", "URL", "BUGFLOW_MAIL_URL", "log:", "how sign-in codes are mailed: log: (printed to the log), file:///dir (one .eml per message) or smtp://user:pass@host:port")
		c.stringVar(&o.adminKey, "admin-key", "KEY", "BUGFLOW_ADMIN_KEY", "", fmt.Sprintf("bootstrap administrator key, at least %d characters", bugflow.MinAdminKeyLength))
		c.stringVar(&o.secretKey, "secret-key", "KEY", "BUGFLOW_SECRET_KEY", "", "encrypts users' GitHub/Jira tokens at rest; without it they cannot be stored")
		c.stringVar(&o.jwtSecret, "jwt-hs256-secret", "SECRET", "BUGFLOW_JWT_HS256_SECRET", "", "accept bearer JWTs signed with this HS256 secret, 32+ bytes")
		c.stringVar(&o.jwtKeyFile, "jwt-public-key-file", "FILE", "BUGFLOW_JWT_PUBLIC_KEY_FILE", "", "accept bearer JWTs signed by this RS256 or ES256 public key (PEM file)")
		c.stringVar(&o.jwtIssuer, "jwt-issuer", "ISS", "BUGFLOW_JWT_ISSUER", "", "required iss of accepted JWTs")
		c.stringVar(&o.jwtAudience, "jwt-audience", "AUD", "BUGFLOW_JWT_AUDIENCE", "", "required aud of accepted JWTs")
		if err := c.boolVar(&o.disableGuests, "disable-guest-usernames", "BUGFLOW_DISABLE_GUEST_USERNAMES", "a bare jji_username cookie acts for no one, not even a guest username"); err != nil {
			return o, c, err
		}
		c.stringVar(&o.intakeWindow, "intake-batch-window", "DURATION", "BUGFLOW_INTAKE_BATCH_WINDOW", "", "how long bug intake waits after a captured error for more to share its transaction (negative: do not wait; unset: "+bugs.DefaultBatchWindow.String()+" on SQLite, no wait on PostgreSQL)")
		c.stringVar(&o.intakeMaxBatch, "intake-max-batch", "N", "BUGFLOW_INTAKE_MAX_BATCH", strconv.Itoa(bugs.DefaultMaxBatch), "most captured errors written in one transaction")
		c.stringVar(&o.intakeQueue, "intake-queue-size", "N", "BUGFLOW_INTAKE_QUEUE_SIZE", strconv.Itoa(bugs.DefaultQueueSize), "captured errors that may wait for their batch; beyond it /api/bug-reports/auto answers 503 with Retry-After")
		c.stringVar(&o.timeZone, "time-zone", "ZONE", "BUGFLOW_TIME_ZONE", "UTC", "IANA time zone of automated processes' schedules and of \"today\" in the task chat, e.g. Europe/Berlin")
		c.stringVar(&o.chatURL, "chat-url", "URL", "BUGFLOW_CHAT_URL", "", "OpenAI-compatible chat-completions base URL (e.g. https://api.openai.com/v1) for the task chat; its key comes from BUGFLOW_CHAT_API_KEY. Without it a built-in parser answers")
		c.stringVar(&o.chatModel, "chat-model", "MODEL", "BUGFLOW_CHAT_MODEL", "", "model name to ask at --chat-url")
		c.stringVar(&o.publicBaseURL, "public-base-url", "URL", "BUGFLOW_PUBLIC_BASE_URL", "", "public address of this server, for links to results in results and filed issues")
		if err := c.boolVar(&o.githubIssues, "github-issues", "BUGFLOW_GITHUB_ISSUES", "turn GitHub issue preview and creation on"); err != nil {
			return o, c, err
		}
		c.stringVar(&o.githubAPIURL, "github-api-url", "URL", "BUGFLOW_GITHUB_API_URL", "", "GitHub REST API root (default https://api.github.com; GitHub Enterprise: https://HOST/api/v3)")
		c.stringVar(&o.githubToken, "github-token", "TOKEN", "BUGFLOW_GITHUB_TOKEN", "", "the server's GitHub token, used when the caller has none (prefer the environment: flags show in process lists)")
		c.stringVar(&o.githubRepoURL, "github-repo-url", "URL", "BUGFLOW_GITHUB_REPO_URL", "", "default repository for GitHub issues")
		if err := c.boolVar(&o.jiraIssues, "jira-issues", "BUGFLOW_JIRA_ISSUES", "turn Jira bug preview and creation on (needs --jira-url)"); err != nil {
			return o, c, err
		}
		c.stringVar(&o.jiraURL, "jira-url", "URL", "BUGFLOW_JIRA_URL", "", "Jira site, e.g. https://acme.atlassian.net")
		c.stringVar(&o.jiraEmail, "jira-email", "EMAIL", "BUGFLOW_JIRA_EMAIL", "", "Jira Cloud account e-mail of the server's token (empty: the token is a Server/Data Center PAT)")
		c.stringVar(&o.jiraToken, "jira-token", "TOKEN", "BUGFLOW_JIRA_TOKEN", "", "the server's Jira API token or PAT, used when the caller has none (prefer the environment)")
		c.stringVar(&o.jiraProjectKey, "jira-project-key", "KEY", "BUGFLOW_JIRA_PROJECT_KEY", "", "default Jira project for bugs")
		if err := c.boolVar(&o.jiraInsecure, "jira-insecure-skip-verify", "BUGFLOW_JIRA_INSECURE_SKIP_VERIFY", "do not verify Jira's TLS certificate (self-signed internal servers only)"); err != nil {
			return o, c, err
		}
		o.ai.define(c)
		c.stringVar(&o.jenkinsURL, "jenkins-url", "URL", "BUGFLOW_JENKINS_URL", "", "Jenkins whose builds POST /analyze analyses, e.g. https://jenkins.example.com")
		c.stringVar(&o.jenkinsUser, "jenkins-user", "USER", "BUGFLOW_JENKINS_USER", "", "Jenkins user of the server's API token")
		c.stringVar(&o.jenkinsPassword, "jenkins-password", "TOKEN", "BUGFLOW_JENKINS_PASSWORD", "", "the server's Jenkins API token or password (prefer the environment)")
		if err := c.boolVar(&o.jenkinsInsecure, "jenkins-insecure-skip-verify", "BUGFLOW_JENKINS_INSECURE_SKIP_VERIFY", "do not verify Jenkins' TLS certificate (self-signed internal servers only)"); err != nil {
			return o, c, err
		}
		c.stringVar(&o.jenkinsPollInterval, "jenkins-poll-interval", "DURATION", "BUGFLOW_JENKINS_POLL_INTERVAL", "2m", "longest wait between two looks at a running build (poll_interval_minutes overrides it)")
		c.stringVar(&o.jenkinsMaxWait, "jenkins-max-wait", "DURATION", "BUGFLOW_JENKINS_MAX_WAIT", "0s", "give up waiting for a running build after this long; 0: no limit (max_wait_minutes overrides it)")
		c.stringVar(&o.jenkinsArtifactsMaxMB, "jenkins-artifacts-max-size-mb", "N", "BUGFLOW_JENKINS_ARTIFACTS_MAX_SIZE_MB", "50", "largest archived report downloaded, in MB (jenkins_artifacts_max_size_mb overrides it)")
		c.stringVar(&o.reportPortalURL, "reportportal-url", "URL", "BUGFLOW_REPORTPORTAL_URL", "", "Report Portal that POST /results/{job_id}/push-reportportal updates; on with the project and token")
		c.stringVar(&o.reportPortalProject, "reportportal-project", "NAME", "BUGFLOW_REPORTPORTAL_PROJECT", "", "Report Portal project of the launches")
		c.stringVar(&o.reportPortalToken, "reportportal-token", "TOKEN", "BUGFLOW_REPORTPORTAL_TOKEN", "", "Report Portal API key (prefer the environment)")
		if err := c.boolVar(&o.reportPortalInsecure, "reportportal-insecure-skip-verify", "BUGFLOW_REPORTPORTAL_INSECURE_SKIP_VERIFY", "do not verify Report Portal's TLS certificate (self-signed internal servers only)"); err != nil {
			return o, c, err
		}
		c.stringVar(&o.jobOrphanAfter, "job-orphan-after", "DURATION", "BUGFLOW_JOB_ORPHAN_AFTER", "60s", "retry the running jobs of a process that renewed no lease for this long, such as one killed mid-job (at least 1s)")
		c.stringVar(&o.slaCheckEvery, "sla-check-every", "DURATION", "BUGFLOW_SLA_CHECK_EVERY", "1m", "how often tasks are checked for SLA warnings (80 % and 90 % elapsed) and breaches")
		if err := c.boolVar(&o.disableNotifyMail, "disable-notify-mail", "BUGFLOW_DISABLE_NOTIFY_MAIL", "do not mail task notifications to users"); err != nil {
			return o, c, err
		}
		c.stringVar(&o.notifyWebhookURL, "notify-webhook-url", "URL", "BUGFLOW_NOTIFY_WEBHOOK_URL", "", "POST each task notification as signed JSON to this http(s) URL")
		c.stringVar(&o.notifyWebhookSecret, "notify-webhook-secret", "SECRET", "BUGFLOW_NOTIFY_WEBHOOK_SECRET", "", "signs webhook bodies (X-Bugflow-Signature: sha256=HMAC); required with --notify-webhook-url")
		c.stringVar(&o.notifyDeliverEvery, "notify-deliver-every", "DURATION", "BUGFLOW_NOTIFY_DELIVER_EVERY", "10s", "how often pending notifications are delivered")
		c.stringVar(&o.notifyMaxAttempts, "notify-max-attempts", "N", "BUGFLOW_NOTIFY_MAX_ATTEMPTS", "5", "delivery attempts before a notification is failed")
		c.stringVar(&o.upkeepEvery, "upkeep-every", "DURATION", "BUGFLOW_UPKEEP_EVERY", "1h", "how often expired sessions and sign-in codes are purged, the activity log pruned and upload leftovers deleted")
		c.stringVar(&o.activityRetention, "activity-retention", "DURATION", "BUGFLOW_ACTIVITY_RETENTION", "720h", "how long the activity log (user journeys) keeps an entry")
		c.stringVar(&o.uploadRetention, "upload-retention", "DURATION", "BUGFLOW_UPLOAD_RETENTION", "24h", "how old a training upload leftover (its training finished or never recorded) must be before upkeep deletes it")
	}
	c.stringVar(&o.logFormat, "log-format", "FORMAT", "BUGFLOW_LOG_FORMAT", "text", "log format on stderr: text or json")
	c.stringVar(&o.logLevel, "log-level", "LEVEL", "BUGFLOW_LOG_LEVEL", "info", "least severe log level shown: debug, info, warn or error (debug adds the job queue's routine lines)")
	if err := c.parse(args); err != nil {
		return o, c, err
	}
	if c.fs.NArg() > 0 {
		return o, c, c.usageError("unexpected argument %q", c.fs.Arg(0))
	}
	return o, c, nil
}

// The --database-url flag of every command that opens the database.
const (
	defaultDatabaseURL = "sqlite:bugflow.db"
	databaseURLUsage   = "sqlite:///abs/path.db, sqlite:rel/path.db, sqlite::memory: or postgres://user:pass@host:5432/db"
)

// envBool reads a boolean environment variable; unset or empty is false.
func envBool(name string) (bool, error) {
	v := os.Getenv(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q is not a boolean (use true or false)", name, v)
	}
	return b, nil
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not text or json", format)
}

// startupCode is 2 for what the operator must fix before starting (bad
// configuration, unreachable database) and 1 for anything else.
func startupCode(err error) int {
	switch errs.KindOf(err) {
	case errs.Invalid, errs.Unavailable:
		return exitUsage
	}
	return exitFailure
}

// fail prints err as one line and returns code.
func fail(stderr io.Writer, code int, err error) int {
	// Driver errors can span lines; collapse all whitespace to keep one line.
	msg := strings.Join(strings.Fields(err.Error()), " ")
	fmt.Fprintf(stderr, "bugflow: %s\n", msg)
	return code
}
