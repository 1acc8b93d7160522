package integrations_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/analysis/integrations"
	"github.com/bugflow/bugflow/analysis/integrations/fake"
)

const (
	jenkinsUser  = "ci-bot"
	jenkinsToken = "11aaSECRETjenkinsapitoken"
)

func jenkins(t *testing.T, url, password string, opts integrations.Options) *integrations.Jenkins {
	t.Helper()
	j, err := integrations.NewJenkins(url, jenkinsUser, password, opts)
	require.NoError(t, err)
	return j
}

func TestJenkinsReadsBuildsReportsAndConsoles(t *testing.T) {
	srv := fake.NewJenkins(t, jenkinsUser, jenkinsToken)
	j := jenkins(t, srv.URL, jenkinsToken, fast)
	ctx := context.Background()

	b, err := j.Build(ctx, "folder/job-name", 123)
	require.NoError(t, err)
	assert.False(t, b.Building)
	assert.Equal(t, "UNSTABLE", b.Result)
	assert.Equal(t, []integrations.SubBuild{{JobName: "pipeline/component-tests", BuildNumber: 42, Result: "FAILURE", URL: "job/pipeline/job/component-tests/42/"}}, b.SubBuilds)

	failed, found, err := j.TestReport(ctx, "folder/job-name", 123)
	require.NoError(t, err)
	assert.True(t, found)
	require.Len(t, failed, 2, "FAILED and REGRESSION; not PASSED or SKIPPED")
	assert.Equal(t, "tests.api.test_login.test_admin_login", failed[0].FullName())
	assert.Equal(t, "AssertionError: expected 200 got 500", failed[0].ErrorDetails)

	// No report: found is false, not an error.
	_, found, err = j.TestReport(ctx, "folder/job-name", 7)
	require.NoError(t, err)
	assert.False(t, found)

	console, cut, err := j.ConsoleTail(ctx, "folder/job-name", 7)
	require.NoError(t, err)
	assert.False(t, cut)
	assert.Equal(t, []string{
		"ERROR: deployment failed: connection refused to registry.example.com:5000",
		"Traceback (most recent call last):",
	}, integrations.ErrorLines(console, 10), "the build's own verdict line is no error line")
	assert.Equal(t, []string{"Traceback (most recent call last):"}, integrations.ErrorLines(console, 1), "at most max, the last ones")

	for _, r := range srv.Requests() {
		assert.Equal(t, fake.Basic(jenkinsUser, jenkinsToken), r.Authorization)
	}
	assert.Equal(t, "/job/a%20b/job/c", integrations.JobPath("/a b/c/"), "folders, escaped")
}

func TestJenkinsFailuresCarryNoSecret(t *testing.T) {
	ctx := context.Background()
	srv := fake.NewJenkins(t, jenkinsUser, jenkinsToken)
	_, err := jenkins(t, srv.URL, "wrong-secret-token", fast).Build(ctx, "folder/job-name", 123)
	assert.Equal(t, 401, integrations.StatusOf(err))
	noSecret(t, err, "wrong-secret-token")

	for _, status := range []int{403, 404} {
		srv.Script("GET /job/folder/job/job-name/123/api/json", fake.Answer{Status: status, Body: []byte("<html>" + jenkinsToken + "</html>")})
		_, err = jenkins(t, srv.URL, jenkinsToken, fast).Build(ctx, "folder/job-name", 123)
		assert.Equal(t, status, integrations.StatusOf(err))
		noSecret(t, err, jenkinsToken)
	}
	// 429 with Retry-After, then 5xx, then success.
	srv.Script("GET /job/folder/job/job-name/123/api/json", fake.Answer{Status: 429, Header: map[string]string{"Retry-After": "0"}}, fake.Answer{Status: 503})
	b, err := jenkins(t, srv.URL, jenkinsToken, fast).Build(ctx, "folder/job-name", 123)
	require.NoError(t, err)
	assert.Equal(t, 123, b.Number)

	// A hung console times out; a 5xx is retried.
	srv.Script("GET /job/folder/job/job-name/123/logText/progressiveText", fake.Answer{Hang: true})
	opts := fast
	opts.Timeout = 50 * time.Millisecond
	opts.RetryMax = -1
	_, _, err = jenkins(t, srv.URL, jenkinsToken, opts).ConsoleTail(ctx, "folder/job-name", 123)
	noSecret(t, err, jenkinsToken)
	assert.Contains(t, err.Error(), "timed out")
	srv.Script("GET /job/folder/job/job-name/123/logText/progressiveText", fake.Answer{Status: 503}, fake.Answer{Status: 502})
	console, _, err := jenkins(t, srv.URL, jenkinsToken, fast).ConsoleTail(ctx, "folder/job-name", 123)
	require.NoError(t, err)
	assert.Contains(t, console, "Finished: FAILURE")
	srv.Script("GET /job/folder/job/job-name/123/logText/progressiveText", fake.Answer{Status: 503}, fake.Answer{Status: 503})
	opts = fast
	opts.RetryMax = 1
	_, _, err = jenkins(t, srv.URL, jenkinsToken, opts).ConsoleTail(ctx, "folder/job-name", 123)
	assert.Equal(t, 503, integrations.StatusOf(err), "retries are bounded")
	_, _, err = jenkins(t, srv.URL, jenkinsToken, fast).ConsoleTail(ctx, "folder/job-name", 999)
	assert.Equal(t, 404, integrations.StatusOf(err), "no such build")
}

// countingTransport counts the answer body bytes its client reads.
type countingTransport struct {
	mu   sync.Mutex
	read int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, t: c}
	}
	return resp, err
}

func (c *countingTransport) total() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.read
}

type countingBody struct {
	io.ReadCloser
	t *countingTransport
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.t.mu.Lock()
	b.t.read += int64(n)
	b.t.mu.Unlock()
	return n, err
}

// consoleOf is a log of n bytes: lines of filler ending with two error
// lines, with an error line of its own at the very start.
func consoleOf(n int) []byte {
	head := "ERROR: early noise that the tail does not reach\n"
	end := "ERROR: tests failed: 3 of 812\nFinished: FAILURE\n"
	var b bytes.Buffer
	b.WriteString(head)
	for b.Len() < n-len(end) {
		b.WriteString(strings.Repeat("x", min(79, n-len(end)-b.Len()-1)) + "\n")
	}
	b.WriteString(end)
	return b.Bytes()
}

// A log over the body cap is read from its end: its last cap bytes, from
// the first whole line, through the progressive text API; the head is never
// read.
func TestJenkinsConsoleTail(t *testing.T) {
	const limit = 1000
	ctx := context.Background()
	for _, tc := range []struct {
		size int
		cut  bool
	}{{limit - 1, false}, {limit, false}, {limit + 1, true}, {50 * limit, true}, {5 << 20, true}} {
		srv := fake.NewJenkins(t, jenkinsUser, jenkinsToken)
		log := consoleOf(tc.size)
		require.Len(t, log, tc.size)
		srv.SetConsole("folder/job-name", 7, log, true)
		counter := &countingTransport{}
		opts := fast
		opts.MaxBodyBytes = limit
		opts.Transport = counter
		text, cut, err := jenkins(t, srv.URL, jenkinsToken, opts).ConsoleTail(ctx, "folder/job-name", 7)
		require.NoError(t, err, tc.size)
		assert.Equal(t, tc.cut, cut, tc.size)
		lines := integrations.ErrorLines(text, 10)
		require.NotEmpty(t, lines, tc.size)
		assert.Equal(t, "ERROR: tests failed: 3 of 812", lines[len(lines)-1], "%d: the error lines at the end are found", tc.size)
		queries := srv.Queries("GET /job/folder/job/job-name/7/logText/progressiveText")
		if !tc.cut {
			assert.Equal(t, string(log), text, "a log within the cap is read whole")
			assert.Equal(t, []string{"start=0"}, queries)
			continue
		}
		assert.LessOrEqual(t, len(text), limit, tc.size)
		assert.True(t, strings.HasSuffix(string(log), text), "%d: the text is the log's end", tc.size)
		assert.NotContains(t, text, "early noise", "%d: the head is not read", tc.size)
		assert.True(t, text == "" || bytes.Contains(log, []byte("\n"+text)), "%d: the tail starts at a line", tc.size)
		assert.Equal(t, []string{"start=0", fmt.Sprintf("start=%d", tc.size-limit-1)}, queries)
		// What the client read: nothing of the first answer's body, at
		// most cap+1 bytes of the second.
		assert.LessOrEqual(t, counter.total(), int64(limit+1), "%d: read %d bytes", tc.size, counter.total())
	}
}

// The tail keeps a line that starts exactly where the last cap bytes start,
// and drops one that starts before.
func TestJenkinsConsoleTailLineBoundary(t *testing.T) {
	ctx := context.Background()
	srv := fake.NewJenkins(t, jenkinsUser, jenkinsToken)
	opts := fast
	opts.MaxBodyBytes = 10
	j := jenkins(t, srv.URL, jenkinsToken, opts)
	for log, want := range map[string]string{
		"aaaaa\nERROR: xx\n":       "ERROR: xx\n", // the last 10 bytes start a line: kept
		"aaaaa\nb\nERROR: x\n":     "ERROR: x\n",  // they start on a newline
		"aaaaa\nERROR: xyz\n":      "",            // they start one byte into the last line: cut, dropped
		"0123456789abcdefghijklmn": "efghijklmn",  // one long line: its last 10 bytes
	} {
		srv.SetConsole("folder/job-name", 7, []byte(log), true)
		text, cut, err := j.ConsoleTail(ctx, "folder/job-name", 7)
		require.NoError(t, err)
		assert.True(t, cut)
		assert.Equal(t, want, text, "%q", log)
	}
}

// Without X-Text-Size (a proxy dropped it) the log is read as any answer:
// whole within the cap, refused beyond it.
func TestJenkinsConsoleWithoutTextSize(t *testing.T) {
	ctx := context.Background()
	srv := fake.NewJenkins(t, jenkinsUser, jenkinsToken)
	opts := fast
	opts.MaxBodyBytes = 50
	j := jenkins(t, srv.URL, jenkinsToken, opts)
	srv.Script("GET /job/folder/job/job-name/7/logText/progressiveText", fake.Answer{Status: 200, Body: []byte("ERROR: short\n")})
	text, cut, err := j.ConsoleTail(ctx, "folder/job-name", 7)
	require.NoError(t, err)
	assert.False(t, cut)
	assert.Equal(t, "ERROR: short\n", text)
	srv.Script("GET /job/folder/job/job-name/7/logText/progressiveText", fake.Answer{Status: 200, Body: consoleOf(51)})
	_, _, err = j.ConsoleTail(ctx, "folder/job-name", 7)
	assert.ErrorIs(t, err, integrations.ErrTooLarge)
}

// The fake speaks the progressive text protocol as Jenkins does.
func TestFakeJenkinsProgressiveText(t *testing.T) {
	srv := fake.NewJenkins(t, jenkinsUser, jenkinsToken)
	srv.SetConsole("folder/job-name", 7, []byte("line one\nline two\n"), false)
	get := func(query string) (*http.Response, string) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/job/folder/job/job-name/7/logText/progressiveText"+query, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", fake.Basic(jenkinsUser, jenkinsToken))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(b)
	}
	resp, body := get("?start=9")
	assert.Equal(t, "line two\n", body)
	assert.Equal(t, "18", resp.Header.Get("X-Text-Size"))
	assert.Equal(t, "true", resp.Header.Get("X-More-Data"), "still writing")
	_, body = get("?start=19")
	assert.Equal(t, "line one\nline two\n", body, "beyond the end: starts over")
	_, body = get("")
	assert.Equal(t, "line one\nline two\n", body)
	resp, _ = get("?start=x")
	assert.Equal(t, 500, resp.StatusCode)
	srv.SetConsole("folder/job-name", 7, []byte("done\n"), true)
	resp, _ = get("?start=0")
	assert.Empty(t, resp.Header.Get("X-More-Data"), "complete")

	// Over 4096 bytes the text is gzip-compressed, which the client's
	// transport undoes.
	big := consoleOf(10000)
	srv.SetConsole("folder/job-name", 7, big, true)
	resp, body = get("?start=0")
	assert.True(t, resp.Uncompressed, "sent compressed")
	assert.Equal(t, string(big), body)
	text, cut, err := jenkins(t, srv.URL, jenkinsToken, fast).ConsoleTail(context.Background(), "folder/job-name", 7)
	require.NoError(t, err)
	assert.False(t, cut)
	assert.Equal(t, string(big), text)
}
