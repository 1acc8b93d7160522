package server_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/analysis"
	"github.com/bugflow/bugflow/analysis/integrations"
	"github.com/bugflow/bugflow/analysis/integrations/fake"
	"github.com/bugflow/bugflow/internal/apitest"
	"github.com/bugflow/bugflow/internal/dbtest"
)

// Secrets of the build analysis tests; no answer or log line may show one.
const (
	jenkinsBot      = "ci-bot"
	jenkinsBotToken = "11aaJENKINSbotTOKEN"
	jenkinsAlice    = "22bbJENKINSaliceTOKEN"
	rpKey           = "33ccREPORTPORTALkey"
)

var buildSecrets = []string{jenkinsBotToken, jenkinsAlice, rpKey}

// lockedBuffer is a log sink tests read while the server writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type fixedBackoff time.Duration

func (f fixedBackoff) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(time.Duration(f)) }

type buildEnv struct {
	srv  *apitest.Server
	jk   *fake.Server
	rp   *fake.Server
	logs *lockedBuffer
}

func buildServer(t *testing.T, dbURL string, jenkins bool) buildEnv {
	jk := fake.NewJenkins(t, jenkinsBot, jenkinsBotToken)
	jk.Accept(fake.Basic("alice", jenkinsAlice))
	rp := fake.NewReportPortal(t, rpKey)
	logs := &lockedBuffer{}
	quick := integrations.Options{RetryMax: -1, Timeout: 2 * time.Second}
	cfg := bugflow.Config{
		DatabaseURL: dbURL, AdminKey: testAdminKey, SecretKey: "secret for tests",
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Trackers: analysis.TrackerConfig{PublicBaseURL: "https://bugflow.example.com", HTTP: quick,
			ReportPortal: analysis.ReportPortalConfig{URL: rp.URL, Project: "tests", Token: rpKey}},
		Jobs: bugflow.JobsConfig{PollInterval: 100 * time.Millisecond, MaxAttempts: 2, RetryPolicy: fixedBackoff(10 * time.Millisecond)},
	}
	if jenkins {
		cfg.Jenkins = analysis.JenkinsConfig{URL: jk.URL, User: jenkinsBot, Password: jenkinsBotToken, PollInterval: 20 * time.Millisecond, HTTP: quick}
	}
	srv := apitest.Start(t, apitest.Config{Engine: cfg})
	t.Cleanup(func() {
		assert.False(t, fake.HasSecret(logs.String(), buildSecrets...), "a secret in the log")
	})
	return buildEnv{srv: srv, jk: jk, rp: rp, logs: logs}
}

func buildCall(t *testing.T, srv *apitest.Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	return buildSend(t, srv.Client, srv, method, path, body)
}

// buildRaw sends bodies the document's schemas refuse past the contract
// harness.
func buildRaw(t *testing.T, srv *apitest.Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	return buildSend(t, srv.Raw, srv, method, path, body)
}

func buildSend(t *testing.T, c *http.Client, srv *apitest.Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	status, raw := trackerSend(t, c, srv, method, path, body, "Accept", "application/json")
	assert.False(t, fake.HasSecret(string(raw), buildSecrets...), "secret in answer to %s %s: %s", method, path, raw)
	if len(raw) == 0 {
		return status, nil
	}
	return status, decodeAs[map[string]any](t, raw)
}

// finished polls a job as the document says until it is no longer 202.
func finished(t *testing.T, srv *apitest.Server, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, env := buildCall(t, srv, http.MethodGet, "/results/"+id, "")
		if status != http.StatusAccepted {
			require.Equal(t, http.StatusOK, status, env)
			return env
		}
		require.True(t, time.Now().Before(deadline), "job %s still running: %v", id, env)
		time.Sleep(20 * time.Millisecond)
	}
}

func phasesOf(env map[string]any) []string {
	var out []string
	log, _ := env["result"].(map[string]any)["progress_log"].([]any)
	for _, e := range log {
		out = append(out, e.(map[string]any)["phase"].(string))
	}
	return out
}

// POST /analyze, /re-analyze and /push-reportportal with the document's
// bodies, through the durable job queue, on every backend.
func TestBuildAnalysisWithTheDocumentsBodies(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		e := buildServer(t, url, true)
		srv := e.srv
		running := fake.Answer{Status: 200, Body: fake.Fixture("jenkins_build_running.json")}
		e.jk.Script("GET /job/folder/job/job-name/123/api/json", running, running)

		status, queued := buildCall(t, srv, http.MethodPost, "/analyze", `{
  "job_name": "folder/job-name",
  "build_number": 123,
  "wait_for_completion": true,
  "ai_provider": "claude",
  "ai_model": "sonnet"
}`)
		require.Equal(t, http.StatusAccepted, status, queued)
		assert.Equal(t, "queued", queued["status"])
		id := queued["job_id"].(string)
		assert.Equal(t, "https://bugflow.example.com", queued["base_url"])
		assert.Equal(t, "https://bugflow.example.com/results/"+id, queued["result_url"])

		env := finished(t, srv, id)
		assert.Equal(t, "completed", env["status"])
		assert.Equal(t, "https://jenkins.example.com/job/folder/job/job-name/123/", env["jenkins_url"])
		res := env["result"].(map[string]any)
		assert.Equal(t, "folder/job-name", res["job_name"])
		assert.EqualValues(t, 123, res["build_number"])
		assert.Len(t, res["failures"], 2)
		children := res["child_job_analyses"].([]any)
		require.Len(t, children, 1)
		assert.Equal(t, "pipeline/component-tests", children[0].(map[string]any)["job_name"])
		assert.Contains(t, phasesOf(env), "waiting_for_jenkins", "the build ran a while")
		assert.Equal(t, "sonnet", res["request_params"].(map[string]any)["ai_model"])

		// Re-analyze with the document's body: a new job on the stored failures.
		before := len(e.jk.Requests())
		status, queued = buildCall(t, srv, http.MethodPost, "/re-analyze/"+id, `{
  "ai_provider": "gemini",
  "ai_model": "gemini-2.5-pro",
  "peer_ai_configs": []
}`)
		require.Equal(t, http.StatusAccepted, status, queued)
		re := queued["job_id"].(string)
		assert.NotEqual(t, id, re)
		env = finished(t, srv, re)
		assert.Equal(t, "completed", env["status"])
		params := env["result"].(map[string]any)["request_params"].(map[string]any)
		assert.Equal(t, "gemini", params["ai_provider"])
		assert.Equal(t, id, params["reanalyzed_from"])
		assert.Equal(t, before, len(e.jk.Requests()), "Jenkins is not asked again")

		status, body := buildCall(t, srv, http.MethodPost, "/re-analyze/no-such-job", `{}`)
		assert.Equal(t, http.StatusNotFound, status, body)
		status, direct := buildCall(t, srv, http.MethodPost, "/analyze-failures", `{"failures": [{"test_name": "t", "error_message": "boom"}]}`)
		require.Equal(t, http.StatusOK, status)
		status, body = buildCall(t, srv, http.MethodPost, "/re-analyze/"+direct["job_id"].(string), `{}`)
		assert.Equal(t, http.StatusBadRequest, status, body)
		status, body = buildRaw(t, srv, http.MethodPost, "/re-analyze/"+id, `{"ai_provider": "bogus"}`)
		assert.Equal(t, http.StatusUnprocessableEntity, status, body)

		// The document's 422s.
		status, body = buildRaw(t, srv, http.MethodPost, "/analyze", `{"job_name": "folder/job-name"}`)
		assert.Equal(t, http.StatusUnprocessableEntity, status, body)
		status, body = buildRaw(t, srv, http.MethodPost, "/analyze", `{"job_name": "folder/job-name", "build_number": 123, "ai_provider": "bogus"}`)
		assert.Equal(t, http.StatusUnprocessableEntity, status, body)

		// A request's own credentials; a wrong one fails the job with a
		// reason that names no secret.
		status, queued = buildCall(t, srv, http.MethodPost, "/analyze", `{"job_name": "folder/job-name", "build_number": 7,
			"jenkins_user": "alice", "jenkins_password": "`+jenkinsAlice+`"}`)
		require.Equal(t, http.StatusAccepted, status, queued)
		env = finished(t, srv, queued["job_id"].(string))
		assert.Equal(t, "completed", env["status"])
		assert.Equal(t, "folder/job-name (console)", env["result"].(map[string]any)["failures"].([]any)[0].(map[string]any)["test_name"])
		params = env["result"].(map[string]any)["request_params"].(map[string]any)
		assert.NotContains(t, params, "jenkins_password")
		assert.NotContains(t, params, "jenkins_user")
		status, queued = buildCall(t, srv, http.MethodPost, "/analyze", `{"job_name": "folder/job-name", "build_number": 123,
			"jenkins_user": "alice", "jenkins_password": "wrong-`+jenkinsAlice+`"}`)
		require.Equal(t, http.StatusAccepted, status, queued)
		env = finished(t, srv, queued["job_id"].(string))
		assert.Equal(t, "failed", env["status"])
		assert.Equal(t, "Jenkins refused the credentials (HTTP 401)", env["result"].(map[string]any)["error"])

		// 5xx on every attempt: retried once by the queue, then failed.
		e.jk.Script("GET /job/folder/job/job-name/8/api/json", fake.Answer{Status: 502}, fake.Answer{Status: 502})
		status, queued = buildCall(t, srv, http.MethodPost, "/analyze", `{"job_name": "folder/job-name", "build_number": 8}`)
		require.Equal(t, http.StatusAccepted, status, queued)
		env = finished(t, srv, queued["job_id"].(string))
		assert.Equal(t, "failed", env["status"])
		assert.Contains(t, env["result"].(map[string]any)["error"], "HTTP 502")
		assert.Equal(t, 2, e.jk.Count("GET /job/folder/job/job-name/8/api/json"), "two attempts")

		// Report Portal push of the first job.
		status, caps := buildCall(t, srv, http.MethodGet, "/api/capabilities", "")
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, true, caps["reportportal"])
		assert.Equal(t, "tests", caps["reportportal_project"])
		status, pushed := buildCall(t, srv, http.MethodPost, "/results/"+id+"/push-reportportal", "")
		require.Equal(t, http.StatusOK, status, pushed)
		assert.EqualValues(t, 2, pushed["pushed"])
		assert.EqualValues(t, 1042, pushed["launch_id"])
		assert.Equal(t, []any{"test_unmapped"}, pushed["unmatched"])
		assert.Equal(t, []any{}, pushed["errors"])
		status, pushed = buildCall(t, srv, http.MethodPost, "/results/"+id+"/push-reportportal?child_job_name=pipeline/component-tests&child_build_number=42", "")
		require.Equal(t, http.StatusOK, status, pushed)
		status, body = buildCall(t, srv, http.MethodPost, "/results/"+id+"/push-reportportal?child_job_name=pipeline/component-tests", "")
		assert.Equal(t, http.StatusBadRequest, status, body)
		status, body = buildCall(t, srv, http.MethodPost, "/results/no-such-job/push-reportportal", "")
		assert.Equal(t, http.StatusNotFound, status, body)
	})
}

// Without a configured Jenkins, /analyze is 400 unless the request names
// one.
func TestAnalyzeWithoutJenkins(t *testing.T) {
	e := buildServer(t, "", false)
	status, body := buildCall(t, e.srv, http.MethodPost, "/analyze", `{"job_name": "folder/job-name", "build_number": 123}`)
	assert.Equal(t, http.StatusBadRequest, status, body)
	status, body = buildCall(t, e.srv, http.MethodPost, "/analyze", `{"job_name": "folder/job-name", "build_number": 7,
		"jenkins_url": "`+e.jk.URL+`", "jenkins_user": "alice", "jenkins_password": "`+jenkinsAlice+`"}`)
	require.Equal(t, http.StatusAccepted, status, body)
	env := finished(t, e.srv, body["job_id"].(string))
	assert.Equal(t, "completed", env["status"])
}

// POST /results/{job_id}/enrich-comments as the document's curl sends it,
// on every backend.
func TestEnrichCommentsWithTheDocumentsCall(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		e := trackerServer(t, url)
		status, raw := trackerCall(t, e.srv, http.MethodPost, "/results/"+e.jobID+"/comments",
			`{"test_name": "`+e.testID+`", "comment": "Filed https://github.com/acme/tests/issues/42; Jira PROJ-12"}`, "Cookie", "jji_username=alice")
		require.Equal(t, http.StatusCreated, status, string(raw))
		id := decodeAs[map[string]any](t, raw)["id"]

		status, raw = trackerCall(t, e.srv, http.MethodPost, "/results/"+e.jobID+"/enrich-comments", "")
		require.Equal(t, http.StatusOK, status, string(raw))
		assert.JSONEq(t, `{"enrichments": {"`+strconv.Itoa(int(id.(float64)))+`": [
			{"type": "github_issue", "key": "acme/tests#42", "status": "open"},
			{"type": "jira", "key": "PROJ-12", "status": "In Progress"}]}}`, string(raw))
		status, raw = trackerCall(t, e.srv, http.MethodPost, "/results/no-such-job/enrich-comments", "")
		require.Equal(t, http.StatusOK, status, string(raw))
		assert.JSONEq(t, `{"enrichments": {}}`, string(raw))
	})
}
