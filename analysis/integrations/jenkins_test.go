package integrations_test

import (
	"context"
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

	console, err := j.ConsoleText(ctx, "folder/job-name", 7)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"ERROR: deployment failed: connection refused to registry.example.com:5000",
		"Traceback (most recent call last):",
	}, integrations.ErrorLines(console, 10), "the build's own verdict line is no error line")
	assert.Len(t, integrations.ErrorLines(console, 1), 1, "at most max")

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

	// A console beyond the cap is refused whole; a hung one times out.
	opts := fast
	opts.MaxBodyBytes = 50
	_, err = jenkins(t, srv.URL, jenkinsToken, opts).ConsoleText(ctx, "folder/job-name", 123)
	assert.ErrorIs(t, err, integrations.ErrTooLarge)
	srv.Script("GET /job/folder/job/job-name/123/consoleText", fake.Answer{Hang: true})
	opts = fast
	opts.Timeout = 50 * time.Millisecond
	opts.RetryMax = -1
	_, err = jenkins(t, srv.URL, jenkinsToken, opts).ConsoleText(ctx, "folder/job-name", 123)
	noSecret(t, err, jenkinsToken)
	assert.Contains(t, err.Error(), "timed out")
}
