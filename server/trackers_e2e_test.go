package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/analysis"
	"github.com/bugflow/bugflow/analysis/integrations"
	"github.com/bugflow/bugflow/analysis/integrations/fake"
	"github.com/bugflow/bugflow/internal/apitest"
	"github.com/bugflow/bugflow/internal/dbtest"
)

// Secrets of the tracker tests; no answer may ever show one.
const (
	ghServerToken   = "ghp_server_token_0123456789"
	ghSavedToken    = "ghp_saved_token_9876543210"
	ghGuestToken    = "ghp_guest_token_5555555555"
	jiraServerToken = "jira_server_token_0123456789"
	jiraBotEmail    = "bot@example.com"
)

var trackerSecrets = []string{ghServerToken, ghSavedToken, ghGuestToken, jiraServerToken, "ghp_example", "jira_example"}

// trackerCall sends a JSON request through the contract harness and fails
// the test if the answer shows a secret.
func trackerCall(t *testing.T, srv *apitest.Server, method, path, body string, header ...string) (int, []byte) {
	t.Helper()
	return trackerSend(t, srv.Client, srv, method, path, body, header...)
}

// trackerRaw sends what the document deliberately does not describe
// (bodies its schemas refuse) past the contract harness.
func trackerRaw(t *testing.T, srv *apitest.Server, method, path, body string, header ...string) (int, []byte) {
	t.Helper()
	return trackerSend(t, srv.Raw, srv, method, path, body, header...)
}

func trackerSend(t *testing.T, c *http.Client, srv *apitest.Server, method, path, body string, header ...string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.False(t, fake.HasSecret(string(out), trackerSecrets...), "secret in answer to %s %s: %s", method, path, out)
	return resp.StatusCode, out
}

func decodeAs[T any](t *testing.T, raw []byte) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(raw, &v), string(raw))
	return v
}

type trackerEnv struct {
	srv    *apitest.Server
	gh     *fake.Server
	jira   *fake.Server
	jobID  string
	testID string
}

// trackerServer runs a server with both trackers on fakes, and one
// analysed job with the document's failure.
func trackerServer(t *testing.T, dbURL string) trackerEnv {
	gh := fake.NewGitHub(t, "ghp_example")
	gh.Accept("Bearer " + ghServerToken)
	gh.Accept("Bearer " + ghSavedToken)
	gh.Accept("Bearer " + ghGuestToken)
	jira := fake.NewJira(t, "alice@example.com", "jira_example")
	jira.Accept(fake.Basic(jiraBotEmail, jiraServerToken))
	srv := apitest.Start(t, apitest.Config{Engine: bugflow.Config{
		DatabaseURL: dbURL, AdminKey: testAdminKey, SecretKey: "secret for tests", AI: fakeAI(t),
		Trackers: analysis.TrackerConfig{
			PublicBaseURL: "https://bugflow.example.com/",
			GitHub:        analysis.GitHubConfig{Enabled: true, APIURL: gh.URL, Token: ghServerToken, RepoURL: "https://github.com/acme/tests"},
			Jira:          analysis.JiraConfig{Enabled: true, URL: jira.URL, Email: jiraBotEmail, Token: jiraServerToken, ProjectKey: "PROJ"},
			HTTP:          integrations.Options{RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond, Timeout: 5 * time.Second},
		},
	}})
	status, raw := trackerCall(t, srv, http.MethodPost, "/analyze-failures", `{
  "failures": [
    {
      "test_name": "tests.api.test_login.test_admin_login",
      "error_message": "AssertionError: expected 200 got 500",
      "stack_trace": "Traceback..."
    }
  ],
  "ai_provider": "claude",
  "ai_model": "sonnet"
}`)
	require.Equal(t, http.StatusOK, status, string(raw))
	res := decodeAs[map[string]any](t, raw)
	return trackerEnv{srv: srv, gh: gh, jira: jira, jobID: res["job_id"].(string), testID: "tests.api.test_login.test_admin_login"}
}

// The tracker endpoints with the document's request bodies, on every
// backend.
func TestTrackersWithTheDocumentsBodies(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		e := trackerServer(t, url)
		srv, job := e.srv, e.jobID

		status, raw := trackerCall(t, srv, http.MethodGet, "/api/capabilities", "")
		require.Equal(t, http.StatusOK, status)
		assert.JSONEq(t, `{"github_issues_enabled":true,"jira_issues_enabled":true,"server_github_token":true,"server_jira_token":true,
			"server_jira_email":true,"server_jira_project_key":"PROJ","reportportal":false,"reportportal_project":"",
			"ai_providers":["claude","gemini","cursor"]}`, string(raw))
		status, raw = trackerCall(t, srv, http.MethodGet, "/results/"+job, "", "Accept", "application/json")
		require.Equal(t, http.StatusOK, status)
		env := decodeAs[map[string]any](t, raw)
		assert.Equal(t, "https://bugflow.example.com", env["base_url"])
		assert.Equal(t, "https://bugflow.example.com/results/"+job, env["result_url"])
		assert.Equal(t, true, env["capabilities"].(map[string]any)["github_issues_enabled"])

		// PUBLIC_BASE_URL is the report link of enriched XML, whatever the
		// request's Host said.
		status, raw = trackerCall(t, srv, http.MethodPost, "/analyze-failures", `{"raw_xml": `+jsonString(junitSample(t, "11-maven-surefire-properties-failure.xml"))+`}`, "X-Forwarded-Proto", "https")
		require.Equal(t, http.StatusOK, status)
		enriched := decodeAs[map[string]any](t, raw)["enriched_xml"].(string)
		assert.Contains(t, enriched, `value="https://bugflow.example.com/results/`)

		// Preview, GitHub: the draft, links, and the similar issues found
		// with the body's token.
		status, raw = trackerCall(t, srv, http.MethodPost, "/results/"+job+"/preview-github-issue", `{
  "test_name": "tests.api.test_login.test_admin_login",
  "include_links": true,
  "github_repo_url": "https://github.com/acme/tests",
  "github_token": "ghp_example"
}`)
		require.Equal(t, http.StatusOK, status, string(raw))
		p := decodeAs[analysis.Preview](t, raw)
		assert.Contains(t, p.Title, "tests.api.test_login.test_admin_login")
		assert.Contains(t, p.Body, "AssertionError: expected 200 got 500")
		assert.Contains(t, p.Body, "https://bugflow.example.com/results/"+job)
		require.Len(t, p.SimilarIssues, 2)
		assert.Equal(t, analysis.SimilarIssue{Number: 42, Title: "Login API returns 500 on missing user", URL: "https://github.com/acme/tests/issues/42", Status: "open"}, p.SimilarIssues[0])
		last := e.gh.Requests()[len(e.gh.Requests())-1]
		assert.Equal(t, "Bearer ghp_example", last.Authorization)
		assert.Contains(t, last.RawQuery, "repo%3Aacme%2Ftests+is%3Aissue")

		// A human override decides what the draft says.
		status, raw = trackerCall(t, srv, http.MethodPut, "/results/"+job+"/override-classification",
			`{"test_name": "tests.api.test_login.test_admin_login", "classification": "INFRASTRUCTURE"}`, "Cookie", "jji_username=alice")
		require.Equal(t, http.StatusOK, status, string(raw))
		_, raw = trackerCall(t, srv, http.MethodPost, "/results/"+job+"/preview-github-issue", `{"test_name": "tests.api.test_login.test_admin_login"}`)
		p = decodeAs[analysis.Preview](t, raw)
		assert.Contains(t, p.Title, "[INFRASTRUCTURE]")
		assert.Contains(t, p.Body, "## Classification\nINFRASTRUCTURE")

		// Without include_links there are none.
		_, raw = trackerCall(t, srv, http.MethodPost, "/results/"+job+"/preview-github-issue", `{"test_name": "tests.api.test_login.test_admin_login"}`)
		assert.NotContains(t, decodeAs[analysis.Preview](t, raw).Body, "bugflow.example.com")

		// Preview, Jira.
		status, raw = trackerCall(t, srv, http.MethodPost, "/results/"+job+"/preview-jira-bug", `{
  "test_name": "tests.api.test_login.test_admin_login",
  "include_links": true,
  "jira_token": "jira_example",
  "jira_email": "alice@example.com",
  "jira_project_key": "PROJ"
}`)
		require.Equal(t, http.StatusOK, status, string(raw))
		p = decodeAs[analysis.Preview](t, raw)
		require.Len(t, p.SimilarIssues, 2)
		assert.Equal(t, analysis.SimilarIssue{Key: "PROJ-12", Title: "Admin login returns 500", URL: e.jira.URL + "/browse/PROJ-12", Status: "Open"}, p.SimilarIssues[0])
		// REFERENCE-NOTES' JQL, the keywords stripped of syntax.
		jql := decodeAs[map[string]any](t, []byte(e.jira.Bodies("POST /rest/api/3/search/jql")[0]))["jql"].(string)
		assert.Regexp(t, `^project = PROJ AND issuetype = Bug AND \(summary ~ "[A-Za-z0-9 ]*AssertionError expected 200 got 500"\) ORDER BY updated DESC$`, jql)

		// Create, GitHub, as alice: attribution and the back-link comment.
		status, raw = trackerCall(t, srv, http.MethodPost, "/results/"+job+"/create-github-issue", `{
  "test_name": "tests.api.test_login.test_admin_login",
  "title": "Admin login fails with HTTP 500",
  "body": "## Failure\n`+"`tests.api.test_login.test_admin_login`"+`\n\n## Error\nAssertionError: expected 200 got 500",
  "github_repo_url": "https://github.com/acme/tests",
  "github_token": "ghp_example"
}`, "Cookie", "jji_username=alice")
		require.Equal(t, http.StatusCreated, status, string(raw))
		c := decodeAs[analysis.Created](t, raw)
		assert.Equal(t, "https://github.com/acme/tests/issues/57", c.URL)
		assert.Equal(t, 57, c.Number)
		assert.Equal(t, "", c.Key)
		assert.Equal(t, "Admin login fails with HTTP 500", c.Title)
		assert.NotZero(t, c.CommentID)
		filed := e.gh.Bodies("POST /repos/acme/tests/issues")
		require.Len(t, filed, 1)
		assert.Contains(t, filed[0], "Reported by alice via bugflow")
		_, raw = trackerCall(t, srv, http.MethodGet, "/results/"+job+"/comments", "")
		assert.Contains(t, string(raw), "Filed GitHub issue: https://github.com/acme/tests/issues/57")

		// Create, Jira, with the document's security level.
		status, raw = trackerCall(t, srv, http.MethodPost, "/results/"+job+"/create-jira-bug", `{
  "test_name": "tests.api.test_login.test_admin_login",
  "title": "Admin login fails with HTTP 500",
  "body": "Failure observed in CI pipeline build 123.",
  "jira_token": "jira_example",
  "jira_email": "alice@example.com",
  "jira_project_key": "PROJ",
  "jira_security_level": "Internal"
}`, "Cookie", "jji_username=alice")
		require.Equal(t, http.StatusCreated, status, string(raw))
		c = decodeAs[analysis.Created](t, raw)
		assert.Equal(t, analysis.Created{URL: e.jira.URL + "/browse/PROJ-24", Key: "PROJ-24", Title: "Admin login fails with HTTP 500", CommentID: c.CommentID}, c)
		assert.NotZero(t, c.CommentID)
		created := decodeAs[map[string]any](t, []byte(e.jira.Bodies("POST /rest/api/3/issue")[0]))
		assert.Equal(t, map[string]any{"id": "100001"}, created["fields"].(map[string]any)["security"])
		assert.Contains(t, e.jira.Bodies("POST /rest/api/3/issue")[0], "Reported by alice via bugflow")

		// No user: no attribution, no comment, and the server's token.
		status, raw = trackerCall(t, srv, http.MethodPost, "/results/"+job+"/create-github-issue",
			`{"test_name": "tests.api.test_login.test_admin_login", "title": "t", "body": "b"}`)
		require.Equal(t, http.StatusCreated, status, string(raw))
		assert.Zero(t, decodeAs[analysis.Created](t, raw).CommentID)
		reqs := e.gh.Requests()
		assert.Equal(t, "Bearer "+ghServerToken, reqs[len(reqs)-1].Authorization)
		assert.NotContains(t, e.gh.Bodies("POST /repos/acme/tests/issues")[1], "Reported by")
		// The server's Jira credentials likewise.
		status, raw = trackerCall(t, srv, http.MethodPost, "/results/"+job+"/create-jira-bug",
			`{"test_name": "tests.api.test_login.test_admin_login", "title": "t", "body": "b"}`)
		require.Equal(t, http.StatusCreated, status, string(raw))
		jreqs := e.jira.Requests()
		assert.Equal(t, fake.Basic(jiraBotEmail, jiraServerToken), jreqs[len(jreqs)-1].Authorization)

		// Projects, security levels, token validation.
		status, raw = trackerCall(t, srv, http.MethodPost, "/api/jira-projects", `{
  "jira_token": "jira_example",
  "jira_email": "alice@example.com",
  "query": "PROJ"
}`)
		require.Equal(t, http.StatusOK, status)
		assert.JSONEq(t, `[{"key":"PROJ","name":"Project One"}]`, string(raw))
		_, raw = trackerCall(t, srv, http.MethodPost, "/api/jira-projects", `{}`)
		assert.JSONEq(t, `[{"key":"PROJ","name":"PROJ"}]`, string(raw), "without a user token: the configured project only")
		status, raw = trackerCall(t, srv, http.MethodPost, "/api/jira-security-levels", `{
  "jira_token": "jira_example",
  "jira_email": "alice@example.com",
  "project_key": "PROJ"
}`)
		require.Equal(t, http.StatusOK, status)
		assert.JSONEq(t, `[{"id":"100000","name":"Reporter Only","description":"Only the reporter and internal staff can see this issue."},
			{"id":"100001","name":"Internal","description":"Only internal staff can see this issue."}]`, string(raw))
		_, raw = trackerCall(t, srv, http.MethodPost, "/api/jira-security-levels", `{"jira_token": "wrong", "jira_email": "alice@example.com", "project_key": "PROJ"}`)
		assert.JSONEq(t, `[]`, string(raw), "failures are swallowed")
		status, _ = trackerRaw(t, srv, http.MethodPost, "/api/jira-security-levels", `{"jira_token": "jira_example"}`)
		assert.Equal(t, http.StatusUnprocessableEntity, status)

		status, raw = trackerCall(t, srv, http.MethodPost, "/api/validate-token", `{
  "token_type": "github",
  "token": "ghp_example"
}`)
		require.Equal(t, http.StatusOK, status)
		assert.JSONEq(t, `{"valid":true,"username":"octocat","message":"token is valid"}`, string(raw))
		_, raw = trackerCall(t, srv, http.MethodPost, "/api/validate-token", `{"token_type": "github", "token": "ghp_wrong"}`)
		assert.JSONEq(t, `{"valid":false,"username":"","message":"token invalid or expired"}`, string(raw))
		_, raw = trackerCall(t, srv, http.MethodPost, "/api/validate-token", `{"token_type": "jira", "token": "jira_example", "email": "alice@example.com"}`)
		assert.JSONEq(t, `{"valid":true,"username":"Alice Example","message":"token is valid"}`, string(raw))
		_, raw = trackerCall(t, srv, http.MethodPost, "/api/validate-token", `{"token_type": "github", "token": ""}`)
		assert.JSONEq(t, `{"valid":false,"username":"","message":"token is empty"}`, string(raw))
		for _, bad := range []string{`{"token_type": "gitlab", "token": "x"}`, `{"token": "x"}`, `{"token_type": "github"}`} {
			status, _ = trackerRaw(t, srv, http.MethodPost, "/api/validate-token", bad)
			assert.Equal(t, http.StatusUnprocessableEntity, status, bad)
		}
	})
}

// Whose tokens act: the body's, else the signed-in user's saved ones, else
// the server's; a guest's bare cookie never unlocks saved tokens.
func TestTrackersUseTheSignedInUsersSavedTokens(t *testing.T) {
	e := trackerServer(t, "")
	srv, job := e.srv, e.jobID
	status, raw := trackerCall(t, srv, http.MethodPost, "/api/admin/users", `{"username": "release-manager"}`, "Authorization", "Bearer "+testAdminKey)
	require.Equal(t, http.StatusOK, status, string(raw))
	key := decodeAs[map[string]string](t, raw)["api_key"]
	status, _ = trackerCall(t, srv, http.MethodPut, "/api/user/tokens", `{"github_token": "`+ghSavedToken+`"}`, "Authorization", "Bearer "+key)
	require.Equal(t, http.StatusOK, status)
	status, _ = trackerCall(t, srv, http.MethodPut, "/api/user/tokens", `{"github_token": "`+ghGuestToken+`"}`, "Cookie", "jji_username=bob")
	require.Equal(t, http.StatusOK, status)

	preview := `{"test_name": "tests.api.test_login.test_admin_login"}`
	status, _ = trackerCall(t, srv, http.MethodPost, "/results/"+job+"/preview-github-issue", preview, "Authorization", "Bearer "+key)
	require.Equal(t, http.StatusOK, status)
	reqs := e.gh.Requests()
	assert.Equal(t, "Bearer "+ghSavedToken, reqs[len(reqs)-1].Authorization, "the signed-in user's saved token")

	status, _ = trackerCall(t, srv, http.MethodPost, "/results/"+job+"/preview-github-issue", preview, "Cookie", "jji_username=bob")
	require.Equal(t, http.StatusOK, status)
	reqs = e.gh.Requests()
	assert.Equal(t, "Bearer "+ghServerToken, reqs[len(reqs)-1].Authorization, "a guest's cookie does not unlock saved tokens")

	status, _ = trackerCall(t, srv, http.MethodPost, "/results/"+job+"/preview-github-issue",
		`{"test_name": "tests.api.test_login.test_admin_login", "github_token": "ghp_example"}`, "Authorization", "Bearer "+key)
	require.Equal(t, http.StatusOK, status)
	reqs = e.gh.Requests()
	assert.Equal(t, "Bearer ghp_example", reqs[len(reqs)-1].Authorization, "the body's token wins")
}

// Every refusal the document lists, each with its status.
func TestTrackerRefusals(t *testing.T) {
	e := trackerServer(t, "")
	srv, job := e.srv, e.jobID
	ctx := context.Background()
	create := `{"test_name": "tests.api.test_login.test_admin_login", "title": "t", "body": "b", "github_token": "ghp_example", "jira_token": "jira_example", "jira_email": "alice@example.com"}`
	for _, tc := range []struct {
		name, path, body string
		status           int
	}{
		{"missing test_name", "/preview-github-issue", `{}`, 422},
		{"blank test_name", "/preview-jira-bug", `{"test_name": " "}`, 422},
		{"negative child build", "/preview-github-issue", `{"test_name": "x", "child_build_number": -1}`, 422},
		{"missing title", "/create-github-issue", `{"test_name": "tests.api.test_login.test_admin_login", "body": "b"}`, 422},
		{"blank title", "/create-jira-bug", `{"test_name": "tests.api.test_login.test_admin_login", "title": "  ", "body": "b"}`, 422},
		{"missing body", "/create-github-issue", `{"test_name": "tests.api.test_login.test_admin_login", "title": "t"}`, 422},
		{"unknown failure", "/preview-github-issue", `{"test_name": "no.such.test"}`, 404},
		{"bad repository URL", "/preview-github-issue", `{"test_name": "tests.api.test_login.test_admin_login", "github_repo_url": "https://github.com/acme"}`, 400},
		{"bad project key", "/create-jira-bug", `{"test_name": "tests.api.test_login.test_admin_login", "title": "t", "body": "b", "jira_project_key": "PROJ OR 1=1"}`, 400},
		{"unknown security level", "/create-jira-bug", `{"test_name": "tests.api.test_login.test_admin_login", "title": "t", "body": "b", "jira_security_level": "Secret"}`, 400},
		{"child scope without build", "/preview-github-issue", `{"test_name": "tests.api.test_login.test_admin_login", "child_job_name": "c"}`, 400},
		{"unknown child", "/preview-github-issue", `{"test_name": "tests.api.test_login.test_admin_login", "child_job_name": "c", "child_build_number": 3}`, 404},
	} {
		send := trackerCall
		if tc.status == http.StatusUnprocessableEntity {
			send = trackerRaw
		}
		status, raw := send(t, srv, http.MethodPost, "/results/"+job+tc.path, tc.body)
		assert.Equal(t, tc.status, status, "%s: %s", tc.name, raw)
	}
	status, _ := trackerCall(t, srv, http.MethodPost, "/results/no-such-job/create-github-issue", create)
	assert.Equal(t, http.StatusNotFound, status)

	// A job still running is 202; a failed one 409.
	require.NoError(t, srv.Engine.Analysis.Start(ctx, analysis.RecordInput{JobID: "running-job"}))
	status, raw := trackerCall(t, srv, http.MethodPost, "/results/running-job/preview-github-issue", `{"test_name": "x"}`)
	assert.Equal(t, http.StatusAccepted, status, string(raw))
	require.NoError(t, srv.Engine.Analysis.Start(ctx, analysis.RecordInput{JobID: "failed-job"}))
	require.NoError(t, srv.Engine.Analysis.Fail(ctx, "failed-job", "boom"))
	status, _ = trackerCall(t, srv, http.MethodPost, "/results/failed-job/create-jira-bug", create)
	assert.Equal(t, http.StatusConflict, status)

	// The tracker refuses the token: 401; fails: 502 naming it, no secret.
	e.gh.Script("POST /repos/acme/tests/issues", fake.Answer{Status: 401, Body: fake.Fixture("github_401.json")})
	status, raw = trackerCall(t, srv, http.MethodPost, "/results/"+job+"/create-github-issue", create)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.JSONEq(t, `{"detail":"GitHub token invalid or expired"}`, string(raw))
	e.gh.Script("POST /repos/acme/tests/issues", fake.Answer{Status: 500, Body: []byte(`{"message":"token ghp_example broke"}`)})
	status, raw = trackerCall(t, srv, http.MethodPost, "/results/"+job+"/create-github-issue", create)
	assert.Equal(t, http.StatusBadGateway, status)
	assert.Contains(t, string(raw), "github: POST /repos/acme/tests/issues: HTTP 500")
	e.jira.Script("POST /rest/api/3/issue", fake.Answer{Status: 503})
	status, _ = trackerCall(t, srv, http.MethodPost, "/results/"+job+"/create-jira-bug", create)
	assert.Equal(t, http.StatusBadGateway, status)
	e.jira.Script("POST /rest/api/3/issue", fake.Answer{Status: 401, Body: fake.Fixture("jira_401.json")})
	status, _ = trackerCall(t, srv, http.MethodPost, "/results/"+job+"/create-jira-bug", create)
	assert.Equal(t, http.StatusUnauthorized, status)
	// A failing duplicate search does not fail the preview.
	e.gh.Script("GET /search/issues", fake.Answer{Status: 500}, fake.Answer{Status: 500}, fake.Answer{Status: 500}, fake.Answer{Status: 500})
	status, raw = trackerCall(t, srv, http.MethodPost, "/results/"+job+"/preview-github-issue", `{"test_name": "tests.api.test_login.test_admin_login"}`)
	require.Equal(t, http.StatusOK, status)
	assert.Empty(t, decodeAs[analysis.Preview](t, raw).SimilarIssues)
}

// With nothing configured, the trackers are off: 403, and the capabilities
// say so.
func TestTrackersAreOffUnlessConfigured(t *testing.T) {
	srv := apitest.Start(t, apitest.Config{})
	status, raw := trackerCall(t, srv, http.MethodPost, "/analyze-failures", `{"failures": [{"test_name": "a.b", "error_message": "boom"}]}`)
	require.Equal(t, http.StatusOK, status)
	job := decodeAs[map[string]any](t, raw)["job_id"].(string)
	_, raw = trackerCall(t, srv, http.MethodGet, "/api/capabilities", "")
	assert.JSONEq(t, `{"github_issues_enabled":false,"jira_issues_enabled":false,"server_github_token":false,"server_jira_token":false,
		"server_jira_email":false,"server_jira_project_key":"","reportportal":false,"reportportal_project":"","ai_providers":[]}`, string(raw))
	for _, path := range []string{"/preview-github-issue", "/preview-jira-bug"} {
		status, _ = trackerCall(t, srv, http.MethodPost, "/results/"+job+path, `{"test_name": "a.b"}`)
		assert.Equal(t, http.StatusForbidden, status, path)
	}
	for _, path := range []string{"/create-github-issue", "/create-jira-bug"} {
		status, _ = trackerCall(t, srv, http.MethodPost, "/results/"+job+path, `{"test_name": "a.b", "title": "t", "body": "b"}`)
		assert.Equal(t, http.StatusForbidden, status, path)
	}
	_, raw = trackerCall(t, srv, http.MethodPost, "/api/jira-projects", `{"jira_token": "x"}`)
	assert.JSONEq(t, `[]`, string(raw))
	_, raw = trackerCall(t, srv, http.MethodPost, "/api/validate-token", `{"token_type": "jira", "token": "x"}`)
	assert.JSONEq(t, `{"valid":false,"username":"","message":"Jira URL is not configured"}`, string(raw))
}
