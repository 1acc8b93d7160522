package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/analysis"
	"github.com/bugflow/bugflow/client"
	"github.com/bugflow/bugflow/client/api"
	"github.com/bugflow/bugflow/internal/apitest"
	"github.com/bugflow/bugflow/internal/dbtest"
)

func junitSample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../analysis/testdata/junit/" + name)
	require.NoError(t, err)
	return string(b)
}

// asUser sets the jji_username cookie, the username context of seeds/001.
func asUser(name string) api.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.AddCookie(&http.Cookie{Name: "jji_username", Value: name})
		return nil
	}
}

// The analysis, result, review and history endpoints through the generated
// client, on every backend.
func TestAnalysisWithGeneratedClient(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, _ := identityServer(t, url)
		ctx := context.Background()
		c := newAPIClient(t, srv)
		admin := newAPIClient(t, srv, client.WithToken(testAdminKey))

		// Direct failures: two tests with the same error after
		// normalisation form one group, analysed once.
		res, err := client.Check(c.AnalyzeFailuresWithResponse(ctx, api.AnalyzeFailuresJSONRequestBody{
			Failures: &[]api.TestFailure{
				{TestName: "tests.api.test_orders.test_create", ErrorMessage: ptr("requests.exceptions.ConnectionError: HTTPConnectionPool(host='10.0.0.12', port=5432): Max retries exceeded: Connection refused")},
				{TestName: "tests.api.test_orders.test_list", ErrorMessage: ptr("requests.exceptions.ConnectionError: HTTPConnectionPool(host='10.0.0.13', port=5432): Max retries exceeded: Connection refused")},
				{TestName: "tests.api.test_login.test_admin_login", ErrorMessage: ptr("AssertionError: expected 200 got 500"), StackTrace: ptr("Traceback...")},
			},
			AiProvider:           ptr("claude"),
			AiModel:              ptr("sonnet"),
			AdditionalProperties: map[string]interface{}{"github_token": "ghp_must_not_be_stored"},
		}))
		require.NoError(t, err)
		r := res.JSON200
		require.Len(t, r.Failures, 3)
		assert.Equal(t, api.FailureAnalysisResultStatus("completed"), r.Status)
		byTest := map[string]api.FailureAnalysis{}
		for _, f := range r.Failures {
			byTest[f.TestName] = f
		}
		assert.Equal(t, api.Classification("INFRASTRUCTURE"), byTest["tests.api.test_orders.test_create"].Analysis.Classification)
		assert.Equal(t, byTest["tests.api.test_orders.test_create"].ErrorSignature, byTest["tests.api.test_orders.test_list"].ErrorSignature, "one signature group")
		assert.Nil(t, r.EnrichedXml)

		env, err := client.Check(c.GetResultWithResponse(ctx, r.JobId))
		require.NoError(t, err)
		assert.Equal(t, "completed", env.JSON200.Status)
		params, _ := env.JSON200.Result["request_params"].(map[string]interface{})
		assert.Equal(t, "claude", params["ai_provider"])
		assert.NotContains(t, params, "github_token", "secrets are stripped")
		missing, err := c.GetResultWithResponse(ctx, "no-such-job")
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, missing.StatusCode())

		// Raw XML: enriched_xml keeps the report and adds the analysis.
		xmlRes, err := client.Check(c.AnalyzeFailuresWithResponse(ctx, api.AnalyzeFailuresJSONRequestBody{RawXml: ptr(junitSample(t, "11-maven-surefire-properties-failure.xml"))}))
		require.NoError(t, err)
		require.NotNil(t, xmlRes.JSON200.EnrichedXml)
		assert.Contains(t, *xmlRes.JSON200.EnrichedXml, "--- AI Analysis ---")
		assert.Contains(t, *xmlRes.JSON200.EnrichedXml, `name="report_url" value="`+srv.URL+"/results/"+xmlRes.JSON200.JobId)

		// Comments and reviews with the username cookie.
		login := "tests.api.test_login.test_admin_login"
		added, err := client.Check(c.AddCommentWithResponse(ctx, r.JobId, api.AddCommentJSONRequestBody{TestName: login, Comment: "Fails only after cache warm-up."}, asUser("alice")))
		require.NoError(t, err)
		nf, err := c.AddCommentWithResponse(ctx, r.JobId, api.AddCommentJSONRequestBody{TestName: "no.such.test", Comment: "x"}, asUser("alice"))
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, nf.StatusCode())
		rev, err := client.Check(c.SetReviewedWithResponse(ctx, r.JobId, api.SetReviewedJSONRequestBody{TestName: login, Reviewed: true}, asUser("alice")))
		require.NoError(t, err)
		assert.Equal(t, "alice", rev.JSON200.ReviewedBy)
		st, err := client.Check(c.GetReviewStatusWithResponse(ctx, r.JobId))
		require.NoError(t, err)
		assert.Equal(t, 3, st.JSON200.TotalFailures)
		assert.Equal(t, 1, st.JSON200.ReviewedCount)
		assert.Equal(t, 1, st.JSON200.CommentCount)
		comments, err := client.Check(c.ListCommentsWithResponse(ctx, r.JobId))
		require.NoError(t, err)
		require.Len(t, comments.JSON200.Comments, 1)
		assert.Equal(t, byTest[login].ErrorSignature, *comments.JSON200.Comments[0].ErrorSignature)
		assert.True(t, comments.JSON200.Reviews[login].Reviewed)
		del, err := c.DeleteCommentWithResponse(ctx, r.JobId, int(added.JSON201.Id), asUser("bob"))
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, del.StatusCode(), "not bob's comment")
		del, err = c.DeleteCommentWithResponse(ctx, r.JobId, int(added.JSON201.Id))
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, del.StatusCode(), "no username")
		_, err = client.Check(c.DeleteCommentWithResponse(ctx, r.JobId, int(added.JSON201.Id), asUser("alice")))
		require.NoError(t, err)

		// A human override relabels the whole group and teaches the analyzer.
		create := "tests.api.test_orders.test_create"
		ov, err := client.Check(c.OverrideClassificationWithResponse(ctx, r.JobId, api.OverrideClassificationJSONRequestBody{TestName: create, Classification: "PRODUCT BUG"}, asUser("alice")))
		require.NoError(t, err)
		assert.Equal(t, api.Classification("PRODUCT BUG"), ov.JSON200.Classification)
		env, err = client.Check(c.GetResultWithResponse(ctx, r.JobId))
		require.NoError(t, err)
		raw, _ := json.Marshal(env.JSON200.Result["failures"])
		var patched []api.FailureAnalysis
		require.NoError(t, json.Unmarshal(raw, &patched))
		for _, f := range patched {
			if strings.HasPrefix(f.TestName, "tests.api.test_orders") {
				assert.Equal(t, api.Classification("PRODUCT BUG"), f.Analysis.Classification, f.TestName)
			}
		}
		again, err := client.Check(c.AnalyzeFailuresWithResponse(ctx, api.AnalyzeFailuresJSONRequestBody{Failures: &[]api.TestFailure{
			{TestName: "tests.api.test_orders.test_delete", ErrorMessage: ptr("requests.exceptions.ConnectionError: HTTPConnectionPool(host='10.0.0.99', port=5432): Max retries exceeded: Connection refused")},
		}}))
		require.NoError(t, err)
		assert.Equal(t, api.Classification("PRODUCT BUG"), again.JSON200.Failures[0].Analysis.Classification, "learned from the override")
		cls, err := client.Check(c.ListClassificationsWithResponse(ctx, &api.ListClassificationsParams{TestName: &create}))
		require.NoError(t, err)
		require.NotEmpty(t, cls.JSON200.Classifications)
		assert.Equal(t, "alice", cls.JSON200.Classifications[0].CreatedBy)

		// History.
		hist, err := client.Check(c.GetFailureHistoryWithResponse(ctx, &api.GetFailureHistoryParams{Search: ptr("test_orders")}))
		require.NoError(t, err)
		assert.Equal(t, 3, hist.JSON200.Total, "create, list and delete failed")
		th, err := client.Check(c.GetTestHistoryWithResponse(ctx, create, &api.GetTestHistoryParams{}))
		require.NoError(t, err)
		assert.Equal(t, 1, th.JSON200.Failures)
		assert.Equal(t, 1, th.JSON200.ConsecutiveFailures)
		sr, err := client.Check(c.SearchSignatureWithResponse(ctx, &api.SearchSignatureParams{Signature: byTest[create].ErrorSignature}))
		require.NoError(t, err)
		assert.Equal(t, 3, sr.JSON200.TotalOccurrences)
		assert.Equal(t, 3, sr.JSON200.UniqueTests)
		_, err = client.Check(c.GetJobStatsWithResponse(ctx, "folder-job", &api.GetJobStatsParams{}))
		require.NoError(t, err)
		id, err := client.Check(c.ClassifyTestWithResponse(ctx, api.ClassifyTestJSONRequestBody{TestName: create, Classification: "flaky", JobId: r.JobId, Reason: ptr("Intermittent timeout in shared CI")}, asUser("alice")))
		require.NoError(t, err)
		assert.Positive(t, id.JSON201.Id)
		kb, err := c.ClassifyTestWithResponse(ctx, api.ClassifyTestJSONRequestBody{TestName: create, Classification: "KNOWN_BUG", JobId: r.JobId})
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadRequest, kb.StatusCode(), "KNOWN_BUG needs references")

		// Listing, dashboard, capabilities, ai-configs.
		list, err := client.Check(c.ListResultsWithResponse(ctx, &api.ListResultsParams{Limit: ptr(25)}))
		require.NoError(t, err)
		assert.Len(t, *list.JSON200, 3)
		dash, err := client.Check(c.GetDashboardWithResponse(ctx))
		require.NoError(t, err)
		require.Len(t, *dash.JSON200, 3)
		caps, err := client.Check(c.GetCapabilitiesWithResponse(ctx))
		require.NoError(t, err)
		assert.False(t, caps.JSON200.GithubIssuesEnabled)
		cfgs, err := client.Check(c.GetAIConfigsWithResponse(ctx))
		require.NoError(t, err)
		assert.NotEmpty(t, *cfgs.JSON200)

		// Deleting is for admins and removes everything.
		_, err = client.Check(admin.DeleteResultWithResponse(ctx, r.JobId))
		require.NoError(t, err)
		gone, err := c.GetResultWithResponse(ctx, r.JobId)
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, gone.StatusCode())
		th, err = client.Check(c.GetTestHistoryWithResponse(ctx, create, &api.GetTestHistoryParams{}))
		require.NoError(t, err)
		assert.Equal(t, 0, th.JSON200.Failures, "history of the job is gone")
	})
}

// seeds/001's curl examples and error cases as raw HTTP.
func TestAnalysisCurlExamples(t *testing.T) {
	srv, _ := identityServer(t, "")
	resp, body := rawPost(t, srv.Client, srv.URL+"/analyze-failures", `{
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
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	jobID := body["job_id"].(string)

	for _, tt := range []struct {
		body   string
		status int
	}{
		{`{"ai_provider": "claude"}`, 422},
		{`{"failures": [], "raw_xml": "<testsuite/>"}`, 422},
		{`{"failures": [{"error_message": "no name"}]}`, 422},
		{`{"raw_xml": ` + jsonString(junitSample(t, "08-truncated-malformed-pytest.xml")) + `}`, 400},
		{`{"raw_xml": ` + jsonString(junitSample(t, "20-HOSTILE-xxe-external-entity-iso-8859-1.xml")) + `}`, 400},
	} {
		resp, body = rawPost(t, srv.Raw, srv.URL+"/analyze-failures", tt.body)
		assert.Equal(t, tt.status, resp.StatusCode, "%.80s: %v", tt.body, body)
	}
	// A report with no failures completes with the input as enriched_xml.
	clean := junitSample(t, "02-nested-testsuites-3-levels.xml")
	resp, body = rawPost(t, srv.Client, srv.URL+"/analyze-failures", `{"raw_xml": `+jsonString(clean)+`}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, clean, body["enriched_xml"])

	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/results/"+jobID+"/override-classification", strings.NewReader(`{
"test_name": "tests.api.test_login.test_admin_login",
"classification": "CODE ISSUE"
}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cookie", "jji_username=alice")
	out, err := srv.Client.Do(req)
	require.NoError(t, err)
	out.Body.Close()
	assert.Equal(t, http.StatusOK, out.StatusCode)

	// Child scope rules are 400; a missing test_name is 422.
	for _, tt := range []struct {
		body   string
		status int
	}{
		{`{"test_name": "t", "classification": "CODE ISSUE", "child_job_name": "child"}`, 400},
		{`{"classification": "CODE ISSUE"}`, 422},
		{`{"test_name": "tests.api.test_login.test_admin_login", "classification": "BANANA"}`, 422},
	} {
		req, _ = http.NewRequest(http.MethodPut, srv.URL+"/results/"+jobID+"/override-classification", strings.NewReader(tt.body))
		req.Header.Set("Content-Type", "application/json")
		out, err = srv.Raw.Do(req)
		require.NoError(t, err)
		out.Body.Close()
		assert.Equal(t, tt.status, out.StatusCode, tt.body)
	}

	// Names with slashes reach the history endpoints whole.
	for _, path := range []string{"/history/test/tests.api.test_login.test_admin_login?limit=10&job_name=folder/job-name", "/history/test/pkg/sub/TestX/case_1", "/history/stats/folder/job-name"} {
		get, err := srv.Raw.Get(srv.URL + path)
		require.NoError(t, err)
		b, _ := io.ReadAll(get.Body)
		get.Body.Close()
		assert.Equal(t, http.StatusOK, get.StatusCode, path)
		if strings.HasPrefix(path, "/history/test/pkg") {
			assert.Contains(t, string(b), `"test_name":"pkg/sub/TestX/case_1"`)
		}
		if strings.HasPrefix(path, "/history/stats") {
			assert.Contains(t, string(b), `"job_name":"folder/job-name"`)
		}
	}

	// A job still running answers 202, to reads and to reviews.
	require.NoError(t, srv.Engine.Analysis.Start(context.Background(), analysis.RecordInput{JobID: "running-job"}))
	get, err := srv.Client.Get(srv.URL + "/results/running-job")
	require.NoError(t, err)
	get.Body.Close()
	assert.Equal(t, http.StatusAccepted, get.StatusCode)
	resp, _ = rawPost(t, srv.Client, srv.URL+"/results/running-job/comments", `{"test_name": "t", "comment": "x"}`)
	assert.Equal(t, http.StatusAccepted, resp.StatusCode)

	// A failed job is 409 for reviews, and its result says why.
	require.NoError(t, srv.Engine.Analysis.Fail(context.Background(), "running-job", "Jenkins build not found"))
	resp, _ = rawPost(t, srv.Client, srv.URL+"/results/running-job/comments", `{"test_name": "t", "comment": "x"}`)
	assert.Equal(t, http.StatusConflict, resp.StatusCode)
	get, err = srv.Client.Get(srv.URL + "/results/running-job")
	require.NoError(t, err)
	var env map[string]any
	require.NoError(t, json.NewDecoder(get.Body).Decode(&env))
	get.Body.Close()
	assert.Equal(t, "failed", env["status"])
	assert.Equal(t, "Jenkins build not found", env["result"].(map[string]any)["error"])
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// The BaseAnalysisRequest fields are model-validated (422), on both sides
// of each limit.
func TestAnalyzeFailuresChecksTheAnalysisSettings(t *testing.T) {
	srv := apitest.Start(t, apitest.Config{Engine: bugflow.Config{AI: fakeAI(t)}})
	failures := `"failures": [{"test_name": "a.b", "error_message": "boom"}]`
	for body, want := range map[string]int{
		`"ai_provider": "claude", "ai_model": "sonnet"`: 200,
		`"ai_provider": "bogus"`:                        422,
		`"ai_provider": null`:                           200,
		`"peer_analysis_max_rounds": 1`:                 200,
		`"peer_analysis_max_rounds": 10`:                200,
		`"peer_analysis_max_rounds": 0`:                 422,
		`"peer_analysis_max_rounds": 11`:                422,
		`"ai_cli_timeout": 1`:                           200,
		`"ai_cli_timeout": 0`:                           422,
		`"jira_max_results": 0`:                         422,
		`"enable_jira": "yes"`:                          422,
		`"peer_ai_configs": []`:                         200,
		`"ai_provider": "claude", "ai_model": "sonnet", "peer_ai_configs": [{"ai_provider": "gemini", "ai_model": "gemini-2.5-pro"}]`: 200,
		// Peers without a main provider cannot debate: 400, not ignored.
		`"peer_ai_configs": [{"ai_provider": "gemini", "ai_model": "gemini-2.5-pro"}]`:                                400,
		`"peer_ai_configs": [{"ai_provider": "gemini", "ai_model": " "}]`:                                             422,
		`"peer_ai_configs": [{"ai_provider": "opena", "ai_model": "x"}]`:                                              422,
		`"additional_repos": [{"name": "product-repo", "url": "https://github.com/acme/product.git", "ref": "main"}]`: 200,
		`"additional_repos": [{"name": "../x", "url": "https://github.com/acme/product.git"}]`:                        422,
		`"additional_repos": [{"name": ".hidden", "url": "https://github.com/acme/product.git"}]`:                     422,
		`"additional_repos": [{"name": "p"}]`:                                                                         422,
		`"additional_repos": [{"name": "p", "url": "ext::sh -c touch% /tmp/x"}]`:                                      422,
		`"additional_repos": [{"name": "p", "url": "ssh://-oProxyCommand=x/p.git"}]`:                                  422,
		`"additional_repos": [{"name": "p", "url": "https://git.example.com/p.git", "ref": "--upload-pack=x"}]`:       422,
		`"additional_repos": [{"name": "p", "url": "file:///srv/mirrors/p.git"}]`:                                     200,
		`"additional_repos": []`: 200,
	} {
		resp, out := rawPost(t, srv.Raw, srv.URL+"/analyze-failures", "{"+failures+", "+body+"}")
		assert.Equal(t, want, resp.StatusCode, "%s: %v", body, out)
	}
}
