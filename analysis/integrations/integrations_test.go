package integrations_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/analysis/integrations"
	"github.com/bugflow/bugflow/analysis/integrations/fake"
)

const ghToken = "ghp_SECRETtoken1234567890"

// fast is a transport setting that makes retries immediate.
var fast = integrations.Options{RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond}

func github(t *testing.T, url, token string, opts integrations.Options) *integrations.GitHub {
	t.Helper()
	g, err := integrations.NewGitHub(url, token, opts)
	require.NoError(t, err)
	return g
}

// noSecret fails when err's text shows any secret.
func noSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	require.Error(t, err)
	assert.False(t, fake.HasSecret(err.Error(), secrets...), "secret in error: %v", err)
	var e *integrations.Error
	if errors.As(err, &e) && e.Err != nil {
		assert.False(t, fake.HasSecret(e.Err.Error(), secrets...), "secret in cause: %v", e.Err)
	}
}

func TestGitHubSpeaksTheDocumentedAPI(t *testing.T) {
	srv := fake.NewGitHub(t, ghToken)
	g := github(t, srv.URL, ghToken, fast)
	ctx := context.Background()

	login, err := g.Login(ctx)
	require.NoError(t, err)
	assert.Equal(t, "octocat", login)

	issues, err := g.SearchIssues(ctx, "acme/tests", `admin "login" fails: repo:evil/x`, 5)
	require.NoError(t, err)
	require.Len(t, issues, 2)
	assert.Equal(t, integrations.GitHubIssue{Number: 42, Title: "Login API returns 500 on missing user", HTMLURL: "https://github.com/acme/tests/issues/42", State: "open"}, issues[0])
	// REFERENCE-NOTES' query; the keywords cannot add qualifiers.
	assert.Equal(t, []string{"per_page=5&q=admin+login+fails+repo+evil+x+repo%3Aacme%2Ftests+is%3Aissue"}, srv.Queries("GET /search/issues"))

	one, err := g.SearchIssues(ctx, "acme/tests", "login", 1)
	require.NoError(t, err)
	assert.Len(t, one, 1, "never more than asked")

	is, err := g.CreateIssue(ctx, "acme/tests", "Admin login fails", "body text")
	require.NoError(t, err)
	assert.Equal(t, 57, is.Number)
	assert.Equal(t, "https://github.com/acme/tests/issues/57", is.HTMLURL)
	assert.JSONEq(t, `{"title":"Admin login fails","body":"body text"}`, srv.Bodies("POST /repos/acme/tests/issues")[0])
	for _, r := range srv.Requests() {
		assert.Equal(t, "Bearer "+ghToken, r.Authorization)
	}
}

func TestGitHubErrorAnswersAreTypedAndCarryNoSecret(t *testing.T) {
	for _, tc := range []struct {
		status  int
		fixture string
		message string
	}{
		{401, "github_401.json", "Bad credentials"},
		{403, "github_403.json", "Resource not accessible by personal access token"},
		{404, "github_404.json", "Not Found"},
	} {
		srv := fake.NewGitHub(t, ghToken)
		srv.Script("POST /repos/acme/tests/issues", fake.Answer{Status: tc.status, Body: fake.Fixture(tc.fixture)})
		g := github(t, srv.URL, ghToken, fast)
		_, err := g.CreateIssue(context.Background(), "acme/tests", "t", "b")
		noSecret(t, err, ghToken)
		assert.Equal(t, tc.status, integrations.StatusOf(err))
		assert.Contains(t, err.Error(), tc.message)
		assert.Equal(t, 1, srv.Count("POST /repos/acme/tests/issues"), "%d is not retried", tc.status)
	}
}

func TestRetriesHonourRetryAfterAndIdempotence(t *testing.T) {
	ctx := context.Background()
	t.Run("429 then success, even for a create", func(t *testing.T) {
		srv := fake.NewGitHub(t, ghToken)
		srv.Script("POST /repos/acme/tests/issues", fake.Answer{Status: 429, Header: map[string]string{"Retry-After": "0"}, Body: fake.Fixture("github_429.json")})
		is, err := github(t, srv.URL, ghToken, fast).CreateIssue(ctx, "acme/tests", "t", "b")
		require.NoError(t, err)
		assert.Equal(t, 57, is.Number)
		assert.Equal(t, 2, srv.Count("POST /repos/acme/tests/issues"))
	})
	t.Run("5xx is retried for reads", func(t *testing.T) {
		srv := fake.NewGitHub(t, ghToken)
		srv.Script("GET /user", fake.Answer{Status: 503}, fake.Answer{Status: 502})
		login, err := github(t, srv.URL, ghToken, fast).Login(ctx)
		require.NoError(t, err)
		assert.Equal(t, "octocat", login)
		assert.Equal(t, 3, srv.Count("GET /user"))
	})
	t.Run("5xx is not retried for a create, which may have happened", func(t *testing.T) {
		srv := fake.NewGitHub(t, ghToken)
		srv.Script("POST /repos/acme/tests/issues", fake.Answer{Status: 502})
		_, err := github(t, srv.URL, ghToken, fast).CreateIssue(ctx, "acme/tests", "t", "b")
		assert.Equal(t, 502, integrations.StatusOf(err))
		assert.Equal(t, 1, srv.Count("POST /repos/acme/tests/issues"))
	})
	t.Run("retries are bounded", func(t *testing.T) {
		srv := fake.NewGitHub(t, ghToken)
		srv.Script("GET /user", fake.Answer{Status: 500}, fake.Answer{Status: 500}, fake.Answer{Status: 500}, fake.Answer{Status: 500}, fake.Answer{Status: 500})
		opts := fast
		opts.RetryMax = 2
		_, err := github(t, srv.URL, ghToken, opts).Login(ctx)
		assert.Equal(t, 500, integrations.StatusOf(err))
		assert.Equal(t, 3, srv.Count("GET /user"))
	})
	t.Run("a Retry-After beyond the ceiling is not waited out", func(t *testing.T) {
		srv := fake.NewGitHub(t, ghToken)
		srv.Script("GET /user", fake.Answer{Status: 429, Header: map[string]string{"Retry-After": "3600"}, Body: fake.Fixture("github_429.json")})
		_, err := github(t, srv.URL, ghToken, fast).Login(ctx)
		assert.Equal(t, 429, integrations.StatusOf(err))
		assert.Contains(t, err.Error(), "API rate limit exceeded")
		assert.Equal(t, 1, srv.Count("GET /user"))
	})
}

func TestBackoffUsesRetryAfter(t *testing.T) {
	resp := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"7"}}}
	assert.Equal(t, 7*time.Second, integrations.Backoff(time.Millisecond, time.Second, 1, resp))
	resp = &http.Response{StatusCode: 500, Header: http.Header{"Retry-After": {"2"}}}
	assert.Equal(t, 2*time.Second, integrations.Backoff(time.Millisecond, time.Second, 1, resp), "on any status")
	resp = &http.Response{StatusCode: 500, Header: http.Header{}}
	assert.Equal(t, 2*time.Millisecond, integrations.Backoff(time.Millisecond, time.Second, 1, resp), "exponential without it")
	resp = &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"-1"}}}
	_, ok := integrations.RetryAfter(resp)
	assert.False(t, ok)
}

func TestHungConnectionTimesOutAndCancellationStops(t *testing.T) {
	srv := fake.NewGitHub(t, ghToken)
	srv.Script("GET /user", fake.Answer{Hang: true})
	opts := fast
	opts.Timeout = 50 * time.Millisecond
	opts.RetryMax = -1
	_, err := github(t, srv.URL, ghToken, opts).Login(context.Background())
	noSecret(t, err, ghToken)
	assert.Contains(t, err.Error(), "timed out")
	assert.NotContains(t, err.Error(), srv.URL, "no URL in messages")

	srv.Script("GET /user", fake.Answer{Hang: true})
	ctx, cancel := context.WithCancel(context.Background())
	opts.Timeout = time.Hour
	g := github(t, srv.URL, ghToken, opts)
	done := make(chan error, 1)
	go func() { _, err := g.Login(ctx); done <- err }()
	// Cancel once the request has arrived.
	for srv.Count("GET /user") < 2 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	err = <-done
	noSecret(t, err, ghToken)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestBodiesAreCapped(t *testing.T) {
	srv := fake.NewGitHub(t, ghToken)
	srv.Script("GET /user", fake.Answer{Status: 200, Body: bytes.Repeat([]byte(" "), 2000)})
	opts := fast
	opts.MaxBodyBytes = 1000
	g := github(t, srv.URL, ghToken, opts)
	_, err := g.Login(context.Background())
	assert.ErrorIs(t, err, integrations.ErrTooLarge)
	// At the cap exactly, the answer is read.
	srv.Script("GET /user", fake.Answer{Status: 200, Body: append(fake.Fixture("github_user.json"), bytes.Repeat([]byte(" "), 1000-len(fake.Fixture("github_user.json")))...)})
	login, err := g.Login(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "octocat", login)
}

func TestSecretsEchoedByTheOtherSystemAreScrubbed(t *testing.T) {
	// A log written by anyone during the calls must not show the token either.
	var logs bytes.Buffer
	log.SetOutput(&logs)
	t.Cleanup(func() { log.SetOutput(os.Stderr) })

	srv := fake.NewGitHub(t, ghToken)
	echo, _ := json.Marshal(map[string]string{"message": "token " + ghToken + " is not allowed"})
	srv.Script("GET /user", fake.Answer{Status: 403, Body: echo})
	_, err := github(t, srv.URL, ghToken, fast).Login(context.Background())
	noSecret(t, err, ghToken)
	assert.Contains(t, err.Error(), "[redacted]")

	const email, token = "alice@example.com", "jiraSECRET0987654321"
	jsrv := fake.NewJira(t, email, token)
	basic := base64.StdEncoding.EncodeToString([]byte(email + ":" + token))
	echo, _ = json.Marshal(map[string]any{"errorMessages": []string{"bad header Basic " + basic + " for " + token}})
	jsrv.Script("GET /rest/api/3/myself", fake.Answer{Status: 401, Body: echo})
	j, err := integrations.NewJira(jsrv.URL, email, token, fast)
	require.NoError(t, err)
	_, err = j.Myself(context.Background())
	noSecret(t, err, token, basic)
	assert.Equal(t, 401, integrations.StatusOf(err))
	assert.Empty(t, logs.String())
}

func TestBaseURLsWithCredentialsAreRefused(t *testing.T) {
	_, err := integrations.NewGitHub("https://user:pw@api.github.com", "", fast)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "pw")
	_, err = integrations.NewJira("https://jira.example.com/?token=x", "", "", fast)
	require.Error(t, err)
	_, err = integrations.NewJira("jira.example.com", "", "", fast)
	require.Error(t, err)
	_, err = integrations.NewJira("https://jira.example.com", "", "", fast)
	require.NoError(t, err)
}

func TestParseGitHubRepo(t *testing.T) {
	for in, want := range map[string]string{
		"https://github.com/acme/tests":      "acme/tests",
		"https://github.com/acme/tests.git/": "acme/tests",
		"git@github.com:acme/tests.git":      "acme/tests",
		"acme/tests":                         "acme/tests",
		"https://github.com/acme":            "",
		"https://github.com/acme/tests/x":    "",
		"acme/te sts":                        "",
		"../x":                               "",
	} {
		got, ok := integrations.ParseGitHubRepo(in)
		assert.Equal(t, want, got, in)
		assert.Equal(t, want != "", ok, in)
	}
}
