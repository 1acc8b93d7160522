package bugflow_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/analysis"
	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
)

var quiet = slog.New(slog.DiscardHandler)

func TestOpenDefaultsToSQLiteFileInWorkingDirectory(t *testing.T) {
	t.Chdir(t.TempDir())
	engine, err := bugflow.Open(context.Background(), bugflow.Config{Logger: quiet})
	require.NoError(t, err)
	require.NoError(t, engine.Close())
	assert.Equal(t, "sqlite", engine.Dialect())
	_, err = os.Stat("bugflow.db")
	require.NoError(t, err, "the default database is ./bugflow.db")
}

func TestOpenRejectsBadConfiguration(t *testing.T) {
	_, err := bugflow.Open(context.Background(), bugflow.Config{
		DatabaseURL: "mysql://localhost/x",
		MailURL:     "carrier-pigeon://coop",
		AdminKey:    "short",
		JWT:         &auth.JWTConfig{HS256Secret: "short"},
	})
	require.ErrorIs(t, err, errs.ErrInvalid)
	e := errs.As(err)
	assert.ElementsMatch(t, []string{"admin_key", "database_url", "jwt", "mail_url"}, e.FieldNames(), "every problem is reported at once")
	assert.Contains(t, err.Error(), "at least 16 characters")
}

// Validate checks every setting that Open would trip over later, on both
// sides of each limit, without touching the database.
func TestConfigValidateLimits(t *testing.T) {
	tests := []struct {
		cfg   bugflow.Config
		field string // "" when cfg is valid
	}{
		{bugflow.Config{AdminKey: strings.Repeat("k", bugflow.MinAdminKeyLength-1)}, "admin_key"},
		{bugflow.Config{AdminKey: strings.Repeat("k", bugflow.MinAdminKeyLength)}, ""},
		{bugflow.Config{AdminKey: strings.Repeat("k", auth.MaxAPIKeyLength)}, ""},
		{bugflow.Config{AdminKey: strings.Repeat("k", auth.MaxAPIKeyLength+1)}, "admin_key"},
		{bugflow.Config{JWT: &auth.JWTConfig{HS256Secret: strings.Repeat("s", 31)}}, "jwt"},
		{bugflow.Config{JWT: &auth.JWTConfig{HS256Secret: strings.Repeat("s", 32)}}, ""},
		{bugflow.Config{JWT: &auth.JWTConfig{PublicKeyPEM: "not a key"}}, "jwt"},
		{bugflow.Config{JWT: &auth.JWTConfig{}}, "jwt"},
		{bugflow.Config{TimeZone: "Mars/Olympus_Mons"}, "time_zone"},
		{bugflow.Config{TimeZone: "UTC"}, ""},
		{bugflow.Config{ChatURL: "https://models.example.com/v1", ChatModel: "m"}, ""},
		{bugflow.Config{ChatURL: "https://models.example.com/v1"}, "chat_model"},
		{bugflow.Config{ChatURL: "models.example.com", ChatModel: "m"}, "chat_url"},
		// A database that does not exist is no configuration mistake:
		// Validate does not connect.
		{bugflow.Config{DatabaseURL: "postgres://nobody@db.invalid:5432/x"}, ""},
		{bugflow.Config{SLACheckEvery: -time.Second}, "sla_check_every"},
		{bugflow.Config{SLACheckEvery: time.Second}, ""},
		{bugflow.Config{Notify: bugflow.NotifyConfig{WebhookURL: "https://hooks.example.com/x", WebhookSecret: "s"}}, ""},
		{bugflow.Config{Notify: bugflow.NotifyConfig{WebhookURL: "https://hooks.example.com/x"}}, "notify.webhook_url"},
		{bugflow.Config{Notify: bugflow.NotifyConfig{WebhookSecret: "s"}}, "notify.webhook_url"},
		{bugflow.Config{Notify: bugflow.NotifyConfig{WebhookURL: "ftp://hooks.example.com/x", WebhookSecret: "s"}}, "notify.webhook_url"},
		{bugflow.Config{Notify: bugflow.NotifyConfig{MaxAttempts: -1}}, "notify"},
		{bugflow.Config{Upkeep: bugflow.UpkeepConfig{ActivityRetention: -time.Hour}}, "upkeep"},
		{bugflow.Config{Upkeep: bugflow.UpkeepConfig{Every: time.Minute, ActivityRetention: time.Hour}}, ""},
		// Trackers: URLs absolute and without credentials; Jira needs its URL.
		{bugflow.Config{Trackers: analysis.TrackerConfig{PublicBaseURL: "https://bugflow.example.com"}}, ""},
		{bugflow.Config{Trackers: analysis.TrackerConfig{PublicBaseURL: "bugflow.example.com"}}, "trackers.public_base_url"},
		{bugflow.Config{Trackers: analysis.TrackerConfig{GitHub: analysis.GitHubConfig{APIURL: "https://ghe.example.com/api/v3"}}}, ""},
		{bugflow.Config{Trackers: analysis.TrackerConfig{GitHub: analysis.GitHubConfig{APIURL: "https://u:p@ghe.example.com/api/v3"}}}, "trackers.github.api_url"},
		{bugflow.Config{Trackers: analysis.TrackerConfig{GitHub: analysis.GitHubConfig{RepoURL: "https://github.com/acme/tests"}}}, ""},
		{bugflow.Config{Trackers: analysis.TrackerConfig{GitHub: analysis.GitHubConfig{RepoURL: "https://github.com/acme"}}}, "trackers.github.repo_url"},
		{bugflow.Config{Trackers: analysis.TrackerConfig{Jira: analysis.JiraConfig{Enabled: true, URL: "https://acme.atlassian.net"}}}, ""},
		{bugflow.Config{Trackers: analysis.TrackerConfig{Jira: analysis.JiraConfig{Enabled: true}}}, "trackers.jira.url"},
		{bugflow.Config{Trackers: analysis.TrackerConfig{Jira: analysis.JiraConfig{URL: "https://acme.atlassian.net?token=x"}}}, "trackers.jira.url"},
		{bugflow.Config{Trackers: analysis.TrackerConfig{Jira: analysis.JiraConfig{ProjectKey: "PROJ"}}}, ""},
		{bugflow.Config{Trackers: analysis.TrackerConfig{Jira: analysis.JiraConfig{ProjectKey: "PROJ X"}}}, "trackers.jira.project_key"},
		// AI: a default provider must be configured; the key never shows.
		{bugflow.Config{AI: analysis.AISettings{Provider: "claude", ClaudeCommand: []string{"claude", "-p"}}}, ""},
		{bugflow.Config{AI: analysis.AISettings{Provider: "claude"}}, "ai.provider"},
		{bugflow.Config{AI: analysis.AISettings{OpenAIURL: "https://u:sk-secret@models.example.com/v1", OpenAIKey: "sk-secret"}}, "ai.openai_url"},
		{bugflow.Config{AI: analysis.AISettings{CLITimeout: analysis.MaxCLITimeout}}, ""},
		{bugflow.Config{AI: analysis.AISettings{CLITimeout: analysis.MaxCLITimeout + time.Second}}, "ai.cli_timeout"},
	}
	for i, tt := range tests {
		err := tt.cfg.Validate()
		if tt.field == "" {
			assert.NoError(t, err, "case %d", i)
			continue
		}
		require.ErrorIs(t, err, errs.ErrInvalid, "case %d", i)
		assert.Equal(t, []string{tt.field}, errs.As(err).FieldNames(), "case %d", i)
		assert.NotContains(t, err.Error(), "sk-secret", "case %d", i)
	}
}

func TestMailURLs(t *testing.T) {
	for _, ok := range []string{"", "log:", "file:///var/spool/bugflow", "smtp://u:p@mail.example.com:587"} {
		_, err := bugflow.Migrate(context.Background(), bugflow.Config{DatabaseURL: "sqlite::memory:", MailURL: ok})
		assert.NoError(t, err, ok)
	}
	for _, bad := range []string{"smtp://", "file://", "http://example.com", "::"} {
		_, err := bugflow.Migrate(context.Background(), bugflow.Config{DatabaseURL: "sqlite::memory:", MailURL: bad})
		assert.ErrorIs(t, err, errs.ErrInvalid, bad)
	}
}

type echoArgs struct {
	Text string `json:"text"`
}

func (echoArgs) Kind() string { return "test_echo" }

type echoWorker struct {
	river.WorkerDefaults[echoArgs]
	done atomic.Int32
}

func (w *echoWorker) Work(context.Context, *river.Job[echoArgs]) error {
	w.done.Add(1)
	return nil
}

// Data written by one engine is there for the next one on the same database,
// and a job enqueued by a process that does not work jobs is worked by the
// next process that does.
func TestDataSurvivesRestart(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		first, err := bugflow.Open(ctx, bugflow.Config{DatabaseURL: url, Logger: quiet, Jobs: bugflow.JobsConfig{Disabled: true}})
		require.NoError(t, err)
		res, err := first.Enqueue(ctx, echoArgs{Text: "hello"}, nil)
		require.NoError(t, err)
		require.NoError(t, first.Close())

		w := &echoWorker{}
		second, err := bugflow.Open(ctx, bugflow.Config{DatabaseURL: url, Logger: quiet, Jobs: bugflow.JobsConfig{
			Register: func(ws *river.Workers, _ *[]*river.PeriodicJob) { river.AddWorker(ws, w) },
		}})
		require.NoError(t, err)
		defer second.Close()
		require.Eventually(t, func() bool {
			row, err := second.Job(ctx, res.Job.ID)
			require.NoError(t, err)
			return row.State == rivertype.JobStateCompleted
		}, 90*time.Second, 20*time.Millisecond, "B must first win River's leader election (A never resigned), which can take tens of seconds on a loaded machine")
		assert.EqualValues(t, 1, w.done.Load())
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	url := "sqlite://" + filepath.ToSlash(filepath.Join(t.TempDir(), "bf.db"))
	for range 2 {
		_, err := bugflow.Migrate(context.Background(), bugflow.Config{DatabaseURL: url})
		require.NoError(t, err)
	}
	engine, err := bugflow.Open(context.Background(), bugflow.Config{DatabaseURL: url, Logger: quiet})
	require.NoError(t, err)
	require.NoError(t, engine.Close())
}

type fixedRetry time.Duration

func (f fixedRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(time.Duration(f)) }

// A job whose process died mid-run (its row still says running) is rescued
// and finished by the next engine on the same database.
func TestJobOfDeadEngineIsRescuedByTheNext(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		// Engine A takes the job and "dies": its worker never returns, not
		// even when cancelled, so Close gives up on it and the row stays
		// running.
		release, started := make(chan struct{}), make(chan struct{}, 1)
		t.Cleanup(func() { close(release) })
		hung := river.WorkFunc(func(context.Context, *river.Job[echoArgs]) error {
			started <- struct{}{}
			<-release
			return nil
		})
		a, err := bugflow.Open(ctx, bugflow.Config{DatabaseURL: url, Logger: quiet, Jobs: bugflow.JobsConfig{
			Register:        func(ws *river.Workers, _ *[]*river.PeriodicJob) { river.AddWorker(ws, hung) },
			ShutdownTimeout: 100 * time.Millisecond,
		}})
		require.NoError(t, err)
		res, err := a.Enqueue(ctx, echoArgs{Text: "orphan"}, nil)
		require.NoError(t, err)
		select {
		case <-started:
		case <-time.After(30 * time.Second):
			t.Fatal("engine A never started the job")
		}
		require.Error(t, a.Close(), "A's worker ignores cancellation, and Close says so")

		// Engine B rescues the orphan once it has been running longer than
		// RescueAfter, and works it.
		w := &echoWorker{}
		b, err := bugflow.Open(ctx, bugflow.Config{DatabaseURL: url, Logger: quiet, Jobs: bugflow.JobsConfig{
			Register:    func(ws *river.Workers, _ *[]*river.PeriodicJob) { river.AddWorker(ws, w) },
			JobTimeout:  200 * time.Millisecond,
			RescueAfter: 500 * time.Millisecond,
			RetryPolicy: fixedRetry(50 * time.Millisecond),
		}})
		require.NoError(t, err)
		defer b.Close()
		var row *rivertype.JobRow
		require.Eventually(t, func() bool {
			row, err = b.Job(ctx, res.Job.ID)
			require.NoError(t, err)
			return row.State == rivertype.JobStateCompleted
		}, 90*time.Second, 20*time.Millisecond, "B must first win River's leader election (A never resigned), which can take tens of seconds on a loaded machine")
		assert.Equal(t, 2, row.Attempt, "the rescued job ran a second time")
		assert.EqualValues(t, 1, w.done.Load(), "on engine B")
	})
}
