package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/analysis"
	"github.com/bugflow/bugflow/internal/apitest"
	"github.com/bugflow/bugflow/internal/dbtest"
)

// fakeAIScript answers like a CLI model: a review when the prompt asks
// for one, else a CODE ISSUE analysis in the document's words.
const fakeAIScript = `#!/bin/sh
prompt=$(cat)
case "$prompt" in
*"Do you agree?"*) echo '{"agrees": true, "classification": "CODE ISSUE", "reasoning": "Agrees with the null-check diagnosis."}' ;;
*) printf '%s\n' 'Analysis:' '{"classification": "CODE ISSUE", "details": "The failure is caused by a missing null-check in the auth handler.", "artifacts_evidence": "ERROR auth/login.py:42 NoneType has no attribute id", "code_fix": {"file": "auth/login.py", "line": "42", "change": "Guard the user lookup before reading user.id."}}' ;;
esac
`

// fakeAI configures claude and gemini as the fake CLI above and cursor as
// a CLI that answers garbage. openai is left unconfigured.
func fakeAI(t *testing.T) analysis.AISettings {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake AI CLI is a shell script")
	}
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(body), 0o700))
		return path
	}
	model := write("model", fakeAIScript)
	garbage := write("garbage", "#!/bin/sh\ncat >/dev/null\necho 'Sure! It is probably flaky.'\n")
	return analysis.AISettings{ClaudeCommand: []string{model, "--model", "{model}"}, GeminiCommand: []string{model, "-m", "{model}"},
		CursorCommand: []string{garbage}}
}

func aiCall(t *testing.T, c *http.Client, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// The document's BaseAnalysisRequest body with an AI provider and a peer
// (its additional_repos URL made a file:// one that does not exist, so
// that the test needs no network: the clone fails and the details say so):
// the AI decides what the offline rules cannot, the peers debate, the
// trail is stored; a person's override then outranks the AI on the next
// run. On every backend.
func TestAnalyzeFailuresWithAIProvidersAndPeerDebate(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv := apitest.Start(t, apitest.Config{Engine: bugflow.Config{DatabaseURL: url, AI: fakeAI(t)}})
		body := `{
"failures": [
{
"test_name": "tests.api.test_login.test_admin_login",
"error_message": "AttributeError: 'NoneType' object has no attribute 'id'",
"stack_trace": "Traceback..."
}
],
"ai_provider": "claude",
"ai_model": "sonnet",
"tests_repo_url": "https://github.com/acme/tests.git:main",
"peer_ai_configs": [
{
"ai_provider": "gemini",
"ai_model": "gemini-2.5-pro"
}
],
"additional_repos": [
{
"name": "product-repo",
"url": "file:///nonexistent/acme/product.git",
"ref": "main"
}
]
}`
		status, res := aiCall(t, srv.Client, http.MethodPost, srv.URL+"/analyze-failures", body)
		require.Equal(t, http.StatusOK, status, res)
		assert.Equal(t, "claude", res["ai_provider"])
		assert.Equal(t, "sonnet", res["ai_model"])
		f := res["failures"].([]any)[0].(map[string]any)
		a := f["analysis"].(map[string]any)
		assert.Equal(t, "CODE ISSUE", a["classification"])
		assert.Equal(t, "ai", a["classification_source"])
		assert.Equal(t, "The failure is caused by a missing null-check in the auth handler.\n\n"+
			"Additional repository product-repo could not be fetched (git clone exited with status 128); the analysis ran without it.", a["details"])
		debate := f["peer_debate"].(map[string]any)
		assert.Equal(t, true, debate["consensus_reached"])
		assert.Equal(t, 1.0, debate["rounds_used"])
		assert.Equal(t, 3.0, debate["max_rounds"])
		assert.Equal(t, []any{map[string]any{"ai_provider": "gemini", "ai_model": "gemini-2.5-pro"}}, debate["ai_configs"])
		rounds := debate["rounds"].([]any)
		require.Len(t, rounds, 2)
		assert.Equal(t, map[string]any{"round": 1.0, "ai_provider": "gemini", "ai_model": "gemini-2.5-pro", "role": "peer",
			"classification": "CODE ISSUE", "details": "Agrees with the null-check diagnosis.", "agrees_with_orchestrator": true}, rounds[1])
		jobID := res["job_id"].(string)

		status, env := aiCall(t, srv.Client, http.MethodGet, srv.URL+"/results/"+jobID, "")
		require.Equal(t, http.StatusOK, status)
		stored := env["result"].(map[string]any)
		assert.NotNil(t, stored["failures"].([]any)[0].(map[string]any)["peer_debate"], "the whole trail is stored")
		assert.Equal(t, "gemini", stored["request_params"].(map[string]any)["peer_ai_configs"].([]any)[0].(map[string]any)["ai_provider"])
		assert.Equal(t, []any{"claude", "gemini", "cursor"}, env["capabilities"].(map[string]any)["ai_providers"])

		status, out := aiCall(t, srv.Client, http.MethodPut, srv.URL+"/results/"+jobID+"/override-classification", `{
"test_name": "tests.api.test_login.test_admin_login",
"classification": "PRODUCT BUG"
}`)
		require.Equal(t, http.StatusOK, status, out)

		status, res = aiCall(t, srv.Client, http.MethodPost, srv.URL+"/analyze-failures", body)
		require.Equal(t, http.StatusOK, status, res)
		f = res["failures"].([]any)[0].(map[string]any)
		a = f["analysis"].(map[string]any)
		assert.Equal(t, "PRODUCT BUG", a["classification"], "the person's label outranks the disagreeing AI")
		assert.Equal(t, "human", a["classification_source"])
		assert.Contains(t, a["details"], "labelled PRODUCT BUG in job "+jobID)
		assert.Nil(t, f["peer_debate"], "no analyzer was asked")
	})
}

// A provider that answers garbage falls back to the offline analysis and
// says so; what the server cannot run is 400; what the model refuses 422.
func TestAnalyzeFailuresAIConfigurationErrors(t *testing.T) {
	srv := apitest.Start(t, apitest.Config{Engine: bugflow.Config{AI: fakeAI(t)}})
	failures := `"failures": [{"test_name": "tests.a.test_b", "error_message": "AttributeError: 'NoneType' object has no attribute 'id'"}]`

	status, res := aiCall(t, srv.Client, http.MethodPost, srv.URL+"/analyze-failures", `{`+failures+`, "ai_provider": "cursor"}`)
	require.Equal(t, http.StatusOK, status, res)
	a := res["failures"].([]any)[0].(map[string]any)["analysis"].(map[string]any)
	assert.Equal(t, "heuristic", a["classification_source"])
	assert.Contains(t, a["details"], "The cursor/ analyzer failed (answer is not a usable analysis")

	for body, want := range map[string]struct {
		status int
		detail string
	}{
		`"ai_provider": "openai", "ai_model": "gpt-4o"`:                         {400, "ai_provider openai is not configured on this server (configured: [claude gemini cursor])"},
		`"ai_provider": "claude", "ai_model": "--dangerously-skip-permissions"`: {400, "ai_model must be"},
		`"ai_provider": "claude"`:                                               {400, "ai_model is required"},
		`"ai_model": "sonnet"`:                                                  {400, "needs an ai_provider"},
		`"ai_provider": "claude", "ai_model": "sonnet", "peer_ai_configs": [{"ai_provider": "openai", "ai_model": "m"}]`: {400, "peer_ai_configs: ai_provider openai is not configured"},
		`"ai_provider": "claude", "ai_model": "sonnet", "ai_cli_timeout": 61`:                                            {400, "ai_cli_timeout must be at most 60 minutes"},
		`"ai_provider": "claude", "ai_model": "sonnet", "ai_cli_timeout": 60`:                                            {200, ""},
		`"ai_provider": "claude", "ai_model": "sonnet", "peer_ai_configs": []`:                                           {200, ""},
		`"ai_provider": "bogus"`: {422, ""},
	} {
		status, res := aiCall(t, srv.Raw, http.MethodPost, srv.URL+"/analyze-failures", `{`+failures+`, `+body+`}`)
		assert.Equal(t, want.status, status, "%s: %v", body, res)
		if want.status == 400 {
			assert.Contains(t, res["detail"], want.detail, body)
		}
	}

	none := apitest.Start(t, apitest.Config{})
	status, res = aiCall(t, none.Raw, http.MethodPost, none.URL+"/analyze-failures", `{`+failures+`, "ai_provider": "claude", "ai_model": "sonnet"}`)
	require.Equal(t, http.StatusOK, status, "%v", res)
	assert.Contains(t, fmt.Sprint(res), "no AI provider is configured on this server); the offline analysis above is used instead.")
	status, res = aiCall(t, none.Client, http.MethodGet, none.URL+"/api/capabilities", "")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, []any{}, res["ai_providers"])
}
