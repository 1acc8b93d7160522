package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/analysis"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// oneLine asserts that s is exactly one line, as every error must be.
func oneLine(t *testing.T, s string) {
	t.Helper()
	assert.Equal(t, 1, strings.Count(s, "\n"), "want one line, got %q", s)
	assert.True(t, strings.HasPrefix(s, "bugflow: "), s)
}

func TestVersionAndHelp(t *testing.T) {
	code, out, _ := runCmd(t, "version")
	assert.Equal(t, exitOK, code)
	assert.Regexp(t, `^bugflow \S+ \(go1\.`, out)

	for _, h := range [][]string{{"help"}, {"--help"}, {"-h"}, {"help", "help"}, {"help", "--help"}} {
		code, out, _ = runCmd(t, h...)
		assert.Equal(t, exitOK, code)
		assert.Contains(t, out, "bugflow serve")
	}

	code, _, errOut := runCmd(t)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "Usage:")
}

// Each command's --help prints that command's own flags, each with its
// environment variable and default, on stdout with exit code 0; "bugflow
// help COMMAND" prints the same. Values from the environment are never
// shown: they may be secrets.
func TestEveryCommandHelpListsItsOwnFlags(t *testing.T) {
	const secret = "do-not-print-this-admin-key"
	t.Setenv("BUGFLOW_ADMIN_KEY", secret)
	t.Setenv("BUGFLOW_DATABASE_URL", "postgres://u:"+secret+"@db/x")
	t.Setenv("BUGFLOW_GITHUB_TOKEN", secret)
	t.Setenv("BUGFLOW_JIRA_TOKEN", secret)
	t.Setenv("BUGFLOW_AI_OPENAI_API_KEY", secret)
	logFlags := []string{
		"--log-format FORMAT\n.*(env BUGFLOW_LOG_FORMAT, default text)",
		"--log-level LEVEL\n.*(env BUGFLOW_LOG_LEVEL, default info)",
	}
	dbFlag := "--database-url URL\n.*(env BUGFLOW_DATABASE_URL, default sqlite:bugflow.db)"
	tests := map[string][]string{
		"serve": append([]string{
			"--addr ADDR\n.*(env BUGFLOW_ADDR, default :8080)",
			dbFlag,
			"--mail-url URL\n.*(env BUGFLOW_MAIL_URL, default log:)",
			"--admin-key KEY\n.*(env BUGFLOW_ADMIN_KEY)",
			"--secret-key KEY\n.*(env BUGFLOW_SECRET_KEY)",
			"--jwt-hs256-secret SECRET\n.*(env BUGFLOW_JWT_HS256_SECRET)",
			"--jwt-public-key-file FILE\n.*(env BUGFLOW_JWT_PUBLIC_KEY_FILE)",
			"--jwt-issuer ISS\n.*(env BUGFLOW_JWT_ISSUER)",
			"--jwt-audience AUD\n.*(env BUGFLOW_JWT_AUDIENCE)",
			"--disable-guest-usernames\n.*(env BUGFLOW_DISABLE_GUEST_USERNAMES)",
			"--public-base-url URL\n.*(env BUGFLOW_PUBLIC_BASE_URL)",
			"--github-issues\n.*(env BUGFLOW_GITHUB_ISSUES)",
			"--github-api-url URL\n.*(env BUGFLOW_GITHUB_API_URL)",
			"--github-token TOKEN\n.*(env BUGFLOW_GITHUB_TOKEN)",
			"--github-repo-url URL\n.*(env BUGFLOW_GITHUB_REPO_URL)",
			"--jira-issues\n.*(env BUGFLOW_JIRA_ISSUES)",
			"--jira-url URL\n.*(env BUGFLOW_JIRA_URL)",
			"--jira-email EMAIL\n.*(env BUGFLOW_JIRA_EMAIL)",
			"--jira-token TOKEN\n.*(env BUGFLOW_JIRA_TOKEN)",
			"--jira-project-key KEY\n.*(env BUGFLOW_JIRA_PROJECT_KEY)",
			"--jira-insecure-skip-verify\n.*(env BUGFLOW_JIRA_INSECURE_SKIP_VERIFY)",
			"--jenkins-url URL\n.*(env BUGFLOW_JENKINS_URL)",
			"--jenkins-user USER\n.*(env BUGFLOW_JENKINS_USER)",
			"--jenkins-password TOKEN\n.*(env BUGFLOW_JENKINS_PASSWORD)",
			"--jenkins-insecure-skip-verify\n.*(env BUGFLOW_JENKINS_INSECURE_SKIP_VERIFY)",
			"--jenkins-poll-interval DURATION\n.*(env BUGFLOW_JENKINS_POLL_INTERVAL, default 2m)",
			"--jenkins-max-wait DURATION\n.*(env BUGFLOW_JENKINS_MAX_WAIT, default 0s)",
			"--jenkins-artifacts-max-size-mb N\n.*(env BUGFLOW_JENKINS_ARTIFACTS_MAX_SIZE_MB, default 50)",
			"--reportportal-url URL\n.*(env BUGFLOW_REPORTPORTAL_URL)",
			"--reportportal-project NAME\n.*(env BUGFLOW_REPORTPORTAL_PROJECT)",
			"--reportportal-token TOKEN\n.*(env BUGFLOW_REPORTPORTAL_TOKEN)",
			"--reportportal-insecure-skip-verify\n.*(env BUGFLOW_REPORTPORTAL_INSECURE_SKIP_VERIFY)",
			"--intake-batch-window DURATION\n.*250µs on SQLite, no wait on PostgreSQL) (env BUGFLOW_INTAKE_BATCH_WINDOW)",
			"--intake-max-batch N\n.*(env BUGFLOW_INTAKE_MAX_BATCH, default 512)",
			"--intake-queue-size N\n.*(env BUGFLOW_INTAKE_QUEUE_SIZE, default 8192)",
			"--time-zone ZONE\n.*(env BUGFLOW_TIME_ZONE, default UTC)",
			"--chat-url URL\n.*(env BUGFLOW_CHAT_URL)",
			"--chat-model MODEL\n.*(env BUGFLOW_CHAT_MODEL)",
			"--ai-provider PROVIDER\n.*(env BUGFLOW_AI_PROVIDER)",
			"--ai-model MODEL\n.*(env BUGFLOW_AI_MODEL)",
			"--ai-claude-command CMDLINE\n.*(env BUGFLOW_AI_CLAUDE_COMMAND)",
			"--ai-gemini-command CMDLINE\n.*(env BUGFLOW_AI_GEMINI_COMMAND)",
			"--ai-cursor-command CMDLINE\n.*(env BUGFLOW_AI_CURSOR_COMMAND)",
			"--ai-cli-timeout DURATION\n.*(env BUGFLOW_AI_CLI_TIMEOUT, default 10m)",
			"--ai-openai-url URL\n.*(env BUGFLOW_AI_OPENAI_URL)",
			"--ai-openai-api-key KEY\n.*(env BUGFLOW_AI_OPENAI_API_KEY)",
			"--ai-peers LIST\n.*(env BUGFLOW_AI_PEERS)",
			"--ai-peer-max-rounds N\n.*(env BUGFLOW_AI_PEER_MAX_ROUNDS, default 3)",
			"--ai-additional-repos LIST\n.*(env BUGFLOW_AI_ADDITIONAL_REPOS)",
			"--job-orphan-after DURATION\n.*(env BUGFLOW_JOB_ORPHAN_AFTER, default 60s)",
			"--sla-check-every DURATION\n.*(env BUGFLOW_SLA_CHECK_EVERY, default 1m)",
			"--disable-notify-mail\n.*(env BUGFLOW_DISABLE_NOTIFY_MAIL)",
			"--notify-webhook-url URL\n.*(env BUGFLOW_NOTIFY_WEBHOOK_URL)",
			"--notify-webhook-secret SECRET\n.*(env BUGFLOW_NOTIFY_WEBHOOK_SECRET)",
			"--notify-deliver-every DURATION\n.*(env BUGFLOW_NOTIFY_DELIVER_EVERY, default 10s)",
			"--notify-max-attempts N\n.*(env BUGFLOW_NOTIFY_MAX_ATTEMPTS, default 5)",
			"--upkeep-every DURATION\n.*(env BUGFLOW_UPKEEP_EVERY, default 1h)",
			"--activity-retention DURATION\n.*(env BUGFLOW_ACTIVITY_RETENTION, default 720h)",
			"--upload-retention DURATION\n.*(env BUGFLOW_UPLOAD_RETENTION, default 24h)",
		}, logFlags...),
		"migrate": append([]string{dbFlag}, logFlags...),
		"analyze": {"--enriched FILE\n.*", "--format FORMAT\n.*(default table)"},
		"train":   {dbFlag, "--anon\n.*", "--text-columns A,B\n.*", "--target-columns X,Y\n.*"},
		"predict": {dbFlag, "--model ID\n.*"},
		"version": {},
	}
	for cmd, flags := range tests {
		t.Run(cmd, func(t *testing.T) {
			code, out, errOut := runCmd(t, cmd, "--help")
			require.Equal(t, exitOK, code, errOut)
			assert.Empty(t, errOut)
			assert.True(t, strings.HasPrefix(out, "Usage: bugflow "+cmd), out)
			for _, f := range flags {
				// "HEAD\n.*NOTES": the flag's line, then its description
				// line ending in the notes.
				head, notes, _ := strings.Cut(f, "\n.*")
				assert.Regexp(t, regexp.MustCompile(`(?m)^  `+regexp.QuoteMeta(head)+`\n {8}.*`+regexp.QuoteMeta(notes)+`$`), out)
			}
			assert.Equal(t, len(flags), strings.Count(out, "\n  --"), "only the command's own flags are listed:\n%s", out)
			assert.NotContains(t, out, secret)

			code, viaHelp, _ := runCmd(t, "help", cmd)
			assert.Equal(t, exitOK, code)
			assert.Equal(t, out, viaHelp)
		})
	}
}

// readmeFlagRow is a row of README.md's configuration table that names a
// flag: its flag and environment cells.
var readmeFlagRow = regexp.MustCompile("(?m)^\\| (`--[^|]*)\\| ([^|]*)\\|")

// The README's configuration table names every flag of serve with its
// environment variable, and nothing else.
func TestREADMEConfigurationTableListsEveryServeFlag(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	documented := map[string]string{}
	for _, row := range readmeFlagRow.FindAllStringSubmatch(string(readme), -1) {
		flags := regexp.MustCompile("--[a-z0-9-]+").FindAllString(row[1], -1)
		envs := regexp.MustCompile("BUGFLOW_[A-Z0-9_]+").FindAllString(row[2], -1)
		require.Len(t, envs, len(flags), "each flag of the row %q has its variable", row[0])
		for i, f := range flags {
			documented[f] = envs[i]
		}
	}
	_, c, err := parseFlags("serve", nil)
	require.NoError(t, err)
	served := map[string]string{}
	for _, f := range c.flags {
		served["--"+f.name] = f.env
	}
	assert.Equal(t, served, documented)
}

func TestUsageErrorsAreOneLineWithExitCode2(t *testing.T) {
	// Something already listens where serve is told to: every configuration
	// mistake must still be reported as itself, because it is checked before
	// the port is bound.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	notPEM := filepath.Join(t.TempDir(), "key.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a key"), 0o600))
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"help", "frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"version", "extra"}, `unexpected argument "extra"`},
		{[]string{"serve", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"serve", "extra"}, `unexpected argument "extra"`},
		{[]string{"serve", "--admin-key", "short"}, "admin_key: must be at least 16 characters"},
		{[]string{"serve", "--admin-key", strings.Repeat("k", 15)}, "admin_key: must be at least 16 characters"},
		{[]string{"serve", "--admin-key", strings.Repeat("k", 257)}, "admin_key: must be at most 256 characters"},
		{[]string{"serve", "--jwt-hs256-secret", strings.Repeat("s", 31)}, "jwt: HS256Secret must be at least 32 bytes"},
		{[]string{"serve", "--jwt-public-key-file", notPEM}, "jwt: PublicKeyPEM holds no PEM block"},
		{[]string{"serve", "--jwt-issuer", "iss"}, "--jwt-issuer and --jwt-audience need"},
		{[]string{"serve", "--database-url", "mysql://x/y"}, "database_url"},
		{[]string{"serve", "--mail-url", "pigeon://coop"}, "mail_url"},
		{[]string{"serve", "--log-level", "loud"}, "--log-level"},
		{[]string{"migrate", "--log-level", "loud"}, "--log-level"},
		{[]string{"serve", "--job-orphan-after", "soon"}, `--job-orphan-after: "soon" is not a duration`},
		{[]string{"serve", "--addr", "127.0.0.1:0", "--job-orphan-after", "999ms"}, "jobs.orphan_after: must be at least 1s"},
		{[]string{"serve", "--sla-check-every", "0s"}, `--sla-check-every: "0s" is not a positive duration`},
		{[]string{"serve", "--notify-deliver-every", "often"}, `--notify-deliver-every: "often" is not a positive duration`},
		{[]string{"serve", "--notify-max-attempts", "0"}, `--notify-max-attempts: "0" is not a positive number`},
		{[]string{"serve", "--activity-retention", "-1h"}, `--activity-retention: "-1h" is not a positive duration`},
		{[]string{"serve", "--upload-retention", "0s"}, `--upload-retention: "0s" is not a positive duration`},
		{[]string{"serve", "--notify-webhook-url", "https://hooks.example.com/x"}, "notify.webhook_url: needs a webhook secret"},
		{[]string{"serve", "--notify-webhook-url", "https://hooks.example.com/x", "--notify-webhook-secret", "s", "--notify-max-attempts", "1", "--sla-check-every", "1ns"}, "cannot listen on " + taken.Addr().String()},
		// At the limits the configuration is fine, so the taken port is
		// what fails.
		{[]string{"serve", "--admin-key", strings.Repeat("k", 16)}, "cannot listen on " + taken.Addr().String()},
		{[]string{"serve", "--admin-key", strings.Repeat("k", 256)}, "cannot listen on " + taken.Addr().String()},
		{[]string{"serve", "--jwt-hs256-secret", strings.Repeat("s", 32)}, "cannot listen on " + taken.Addr().String()},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.60s", strings.Join(tt.args, " ")), func(t *testing.T) {
			args := tt.args
			if args[0] == "serve" {
				args = append(args, "--addr", taken.Addr().String())
			}
			code, _, errOut := runCmd(t, args...)
			assert.Equal(t, exitUsage, code)
			oneLine(t, errOut)
			assert.Contains(t, errOut, tt.want)
		})
	}
}

// closedPort returns a loopback address that refuses connections: the port
// was just free and is closed again.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func TestUnreachableDatabase(t *testing.T) {
	url := "postgres://u:secretpw@" + closedPort(t) + "/x?connect_timeout=2"
	for _, args := range [][]string{
		{"migrate", "--database-url", url},
		{"serve", "--addr", "127.0.0.1:0", "--database-url", url},
	} {
		t.Run(args[0], func(t *testing.T) {
			code, out, errOut := runCmd(t, args...)
			assert.Equal(t, exitUsage, code)
			oneLine(t, errOut)
			assert.Contains(t, errOut, "cannot connect to PostgreSQL")
			assert.NotContains(t, out+errOut, "secretpw")
		})
	}
}

func TestEnvironmentSuppliesDefaultsAndFlagsWin(t *testing.T) {
	t.Setenv("BUGFLOW_DATABASE_URL", "mysql://from-env/x")
	code, _, errOut := runCmd(t, "migrate")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "database_url", "the environment value is used")

	url := "sqlite://" + filepath.ToSlash(filepath.Join(t.TempDir(), "bf.db"))
	code, out, errOut := runCmd(t, "migrate", "--database-url", url)
	assert.Equal(t, exitOK, code, errOut)
	assert.Regexp(t, `^(applied \d+ migrations: .+|database is up to date)\n$`, out, "the flag wins over the environment")
}

// closeSignalListener reports when serve closes it, which http.Server.Shutdown
// does first of all: from then on the stop is under way.
type closeSignalListener struct {
	net.Listener
	closed chan struct{}
	once   sync.Once
}

func (l *closeSignalListener) Close() error {
	err := l.Listener.Close()
	l.once.Do(func() { close(l.closed) })
	return err
}

// A request in flight when the stop signal arrives still gets its answer, and
// serve returns only after it has.
func TestServeFinishesInFlightRequests(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ln := &closeSignalListener{Listener: inner, closed: make(chan struct{})}
	addr := ln.Addr().String()

	entered, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	ctx, cancel := context.WithCancel(context.Background())
	var serveErr error
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		serveErr = serve(ctx, ln, h, slog.New(slog.DiscardHandler))
	}()
	t.Cleanup(func() { // whatever happened, leave no server behind
		unblock()
		cancel()
		<-stopped
	})

	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-entered
	cancel() // the stop signal
	<-ln.closed

	// Stopping has begun: new connections are refused...
	_, err = net.Dial("tcp", addr)
	require.Error(t, err, "the listener is closed once stopping begins")
	// ...but serve waits, because the handler cannot have returned yet.
	select {
	case <-stopped:
		t.Fatalf("serve returned while a request was in flight: %v", serveErr)
	default:
	}

	unblock()
	assert.Equal(t, "finished", <-got)
	<-stopped
	require.NoError(t, serveErr)
}

func TestPortInUseFailsBeforeTouchingTheDatabase(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	dbFile := filepath.Join(t.TempDir(), "bf.db")

	code, _, errOut := runCmd(t, "serve", "--addr", taken.Addr().String(), "--database-url", "sqlite://"+filepath.ToSlash(dbFile))
	assert.Equal(t, exitUsage, code)
	oneLine(t, errOut)
	assert.Contains(t, errOut, "cannot listen on "+taken.Addr().String())
	assert.NoFileExists(t, dbFile, "no migration ran")
}

func TestAddrFromEnvironmentAndFlag(t *testing.T) {
	o, _, err := parseFlags("serve", nil)
	require.NoError(t, err)
	assert.Equal(t, ":8080", o.addr, "the default")

	t.Setenv("BUGFLOW_ADDR", "127.0.0.1:9999")
	o, _, err = parseFlags("serve", nil)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9999", o.addr, "the environment over the default")

	o, _, err = parseFlags("serve", []string{"-addr", "127.0.0.1:7777"})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:7777", o.addr, "the flag over the environment")
}

func TestDisableGuestUsernamesFromEnvironmentAndFlag(t *testing.T) {
	o, _, err := parseFlags("serve", nil)
	require.NoError(t, err)
	assert.False(t, o.disableGuests, "guests are on by default")

	t.Setenv("BUGFLOW_DISABLE_GUEST_USERNAMES", "true")
	o, _, err = parseFlags("serve", nil)
	require.NoError(t, err)
	assert.True(t, o.disableGuests, "the environment over the default")

	o, _, err = parseFlags("serve", []string{"--disable-guest-usernames=false"})
	require.NoError(t, err)
	assert.False(t, o.disableGuests, "the flag over the environment")

	t.Setenv("BUGFLOW_DISABLE_GUEST_USERNAMES", "maybe")
	_, _, err = parseFlags("serve", nil)
	assert.ErrorContains(t, err, "BUGFLOW_DISABLE_GUEST_USERNAMES")
}

// The tracker settings come from the environment, flags win, and they
// reach bugflow.Config.Trackers.
func TestTrackerSettingsFromEnvironmentAndFlags(t *testing.T) {
	t.Setenv("BUGFLOW_PUBLIC_BASE_URL", "https://bugflow.example.com")
	t.Setenv("BUGFLOW_GITHUB_ISSUES", "true")
	t.Setenv("BUGFLOW_GITHUB_TOKEN", "ghp_env")
	t.Setenv("BUGFLOW_JIRA_URL", "https://acme.atlassian.net")
	t.Setenv("BUGFLOW_JIRA_EMAIL", "bot@example.com")
	t.Setenv("BUGFLOW_JIRA_TOKEN", "jira_env")
	t.Setenv("BUGFLOW_JIRA_PROJECT_KEY", "PROJ")
	o, _, err := parseFlags("serve", []string{"--jira-issues", "--github-repo-url", "https://github.com/acme/tests", "--jira-project-key", "OPS"})
	require.NoError(t, err)
	cfg := o.trackersConfig()
	assert.Equal(t, "https://bugflow.example.com", cfg.PublicBaseURL)
	assert.Equal(t, analysis.GitHubConfig{Enabled: true, Token: "ghp_env", RepoURL: "https://github.com/acme/tests"}, cfg.GitHub)
	assert.Equal(t, analysis.JiraConfig{Enabled: true, URL: "https://acme.atlassian.net", Email: "bot@example.com", Token: "jira_env", ProjectKey: "OPS"}, cfg.Jira)

	o, _, err = parseFlags("serve", []string{"--github-issues=false"})
	require.NoError(t, err)
	assert.False(t, o.trackersConfig().GitHub.Enabled, "the flag over the environment")
	assert.False(t, o.trackersConfig().Jira.Enabled, "off unless asked")
}

var listeningAddr = regexp.MustCompile(`msg=listening addr=(\S+)`)

// running is a started binary whose stderr is being collected.
type running struct {
	cmd  *exec.Cmd
	addr string
	// done is closed when stderr reaches EOF (the process exited); only
	// then may logs be read and Wait be called.
	done chan struct{}
	logs bytes.Buffer
}

// startBinary runs the built command and waits until it logs the address it
// listens on.
func startBinary(t *testing.T, bin string, args ...string) *running {
	t.Helper()
	r := &running{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	r.cmd.Env = append(os.Environ(), "BUGFLOW_ADMIN_KEY=")
	stderr, err := r.cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, r.cmd.Start())
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.done
		_ = r.cmd.Wait()
	})

	addr := make(chan string, 1)
	go func() {
		defer close(r.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			r.logs.WriteString(sc.Text() + "\n")
			if m := listeningAddr.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case r.addr = <-addr:
		return r
	case <-r.done:
		t.Fatalf("the server exited before listening: %s", r.logs.String())
	case <-time.After(60 * time.Second):
		t.Fatal("the server did not start within 60 s")
	}
	return nil
}

// stop sends SIGTERM and returns everything logged and the exit error.
func (r *running) stop(t *testing.T) (string, error) {
	t.Helper()
	require.NoError(t, r.cmd.Process.Signal(syscall.SIGTERM))
	<-r.done
	return r.logs.String(), r.cmd.Wait()
}

func TestBinaryServesStopsAndRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	dbURL := "sqlite://" + filepath.ToSlash(filepath.Join(dir, "bf.db"))

	first := startBinary(t, bin, "serve", "--addr", "127.0.0.1:0", "--database-url", dbURL)
	resp, err := http.Get("http://" + first.addr + "/health")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), `"status":"healthy"`)

	logs, waitErr := first.stop(t)
	require.NoError(t, waitErr, "exit code 0 after SIGTERM: %s", logs)
	assert.Contains(t, logs, "msg=stopped")

	migrate := exec.Command(bin, "migrate", "--database-url", dbURL)
	out, err := migrate.CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "database is up to date", "the first run's schema persisted")

	second := startBinary(t, bin, "serve", "--addr", "127.0.0.1:0", "--database-url", dbURL)
	resp, err = http.Get("http://" + second.addr + "/health")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	logs, waitErr = second.stop(t)
	require.NoError(t, waitErr, logs)
}

func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "bugflow")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// seeds/000 steps 1 to 4, literally, against a running "bugflow serve" whose
// mail goes to .eml files: check the server, request a code, read it from
// the mail, sign in, verify the session.
func TestSeed000SignInAgainstRunningServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	mailDir := filepath.Join(dir, "mail")
	srv := startBinary(t, bin, "serve", "--addr", "127.0.0.1:0",
		"--database-url", "sqlite://"+filepath.ToSlash(filepath.Join(dir, "bf.db")), "--mail-url", "file://"+mailDir)
	base := "http://" + srv.addr
	post := func(path, body string) (int, map[string]any) {
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return resp.StatusCode, out
	}

	// Step 1: GET / answers 200.
	resp, err := http.Get(base + "/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// Step 2: request a code.
	status, body := post("/verify_email_and_generate_otp", `{
  "email": "tester@example.com"
}`)
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, float64(60), body["wait_duration_seconds"])

	// The code arrives as an RFC 5322 message in the mail directory.
	entries, err := os.ReadDir(mailDir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	raw, err := os.ReadFile(filepath.Join(mailDir, entries[0].Name()))
	require.NoError(t, err)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	assert.Equal(t, "<tester@example.com>", msg.Header.Get("To"))
	text, err := io.ReadAll(msg.Body)
	require.NoError(t, err)
	assert.Contains(t, string(text), "expires in 10 minutes")
	code := sixDigits.FindString(string(text))
	require.NotEmpty(t, code)

	// Step 3: sign in.
	status, body = post("/signin", `{
  "email": "tester@example.com",
  "otp": "`+code+`"
}`)
	require.Equal(t, http.StatusOK, status, body)
	session, _ := body["session_id"].(string)
	require.NotEmpty(t, session)

	// Step 4: verify the session.
	status, body = post("/verify_session", `{
  "session_id": "`+session+`"
}`)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, true, body["is_valid"])
	exp, _ := body["expires_at_in_seconds_since_epoch"].(float64)
	assert.Greater(t, int64(exp), time.Now().Unix())

	logs, err := srv.stop(t)
	require.NoError(t, err, logs)
	assert.NotContains(t, logs, session, "the session id is never logged")
}
