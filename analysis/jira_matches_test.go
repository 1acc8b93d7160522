package analysis

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/analysis/integrations/fake"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

// productBugs classifies every group as a product bug with fixed keywords.
var productBugs = AnalyzerFunc(func(_ context.Context, g Group) (Detail, error) {
	return Detail{Classification: ProductBug, Details: "the server answers 500",
		ProductBugReport: &ProductBugReport{Title: "Admin login returns 500", JiraSearchKeywords: []string{"admin login", "500"}}}, nil
})

func TestJiraMatchesAreFilledDuringAnalysis(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		jira := fake.NewJira(t, "bot@example.com", "jira_example")
		svc := New(NewBunStore(db.DB), Config{Analyzer: productBugs})
		tr := NewTrackers(svc, TrackerConfig{HTTP: quick,
			Jira: JiraConfig{Enabled: true, URL: jira.URL, Email: "bot@example.com", Token: "jira_example", ProjectKey: "PROJ"}})
		svc.SetJiraMatcher(tr.MatchJira)

		report := `<testsuite><testcase classname="tests.api" name="test_admin_login"><failure message="AssertionError: expected 200 got 500"/></testcase>` +
			`<testcase classname="tests.api" name="test_admin_login2"><failure message="AssertionError: expected 200 got 500"/></testcase></testsuite>`
		ra, err := svc.Analyze(ctx, DirectInput{RecordInput: RecordInput{JobID: "job-1", RequestParams: map[string]any{"jira_max_results": 1.0}},
			Report: strings.NewReader(report)})
		require.NoError(t, err)
		require.Len(t, ra.Result.Failures, 2)
		for _, f := range ra.Result.Failures {
			require.NotNil(t, f.Analysis.ProductBugReport)
			assert.Equal(t, []JiraMatch{{Key: "PROJ-12", Summary: "Admin login returns 500", Status: "Open", Priority: "Major",
				URL: jira.URL + "/browse/PROJ-12", Score: 1}}, f.Analysis.ProductBugReport.JiraMatches, "jira_max_results 1")
		}
		assert.Equal(t, 1, jira.Count("POST /rest/api/3/search/jql"), "one search per signature")
		var sent struct {
			JQL        string `json:"jql"`
			MaxResults int    `json:"maxResults"`
		}
		require.NoError(t, json.Unmarshal([]byte(jira.Bodies("POST /rest/api/3/search/jql")[0]), &sent))
		assert.Equal(t, `project = PROJ AND issuetype = Bug AND (summary ~ "admin login" OR summary ~ "500") ORDER BY updated DESC`, sent.JQL)
		assert.Equal(t, 1, sent.MaxResults)
		assert.Contains(t, *ra.Result.EnrichedXML, `name="ai_jira_match_1_key" value="PROJ-12"`, "the enriched XML carries the matches")

		stored, err := svc.Result(ctx, "job-1")
		require.NoError(t, err)
		assert.Contains(t, string(stored.Result), `"jira_matches":[{"key":"PROJ-12"`)
		var phases []string
		for _, e := range stored.ProgressLog {
			phases = append(phases, e.Phase)
		}
		assert.Contains(t, phases, PhaseEnrichingJira)

		// enable_jira false: no search.
		_, err = svc.Analyze(ctx, DirectInput{RecordInput: RecordInput{JobID: "job-2", RequestParams: map[string]any{"enable_jira": false}},
			Failures: []FailureInput{{TestName: "t", ErrorMessage: "boom"}}})
		require.NoError(t, err)
		assert.Equal(t, 1, jira.Count("POST /rest/api/3/search/jql"))

		// A failing search leaves the analysis whole.
		jira.Script("POST /rest/api/3/search/jql", fake.Answer{Status: 503})
		ra, err = svc.Analyze(ctx, DirectInput{RecordInput: RecordInput{JobID: "job-3"}, Failures: []FailureInput{{TestName: "t", ErrorMessage: "boom"}}})
		require.NoError(t, err)
		assert.Empty(t, ra.Result.Failures[0].Analysis.ProductBugReport.JiraMatches)
	})
}

func TestMatchScore(t *testing.T) {
	t.Parallel()
	assert.Equal(t, 1.0, matchScore([]string{"admin login", "500"}, "Admin login returns 500"))
	assert.Equal(t, 0.67, matchScore([]string{"admin login", "timeout"}, "admin login slow"))
	assert.Equal(t, 0.0, matchScore(nil, "x"))
}

func TestJiraMatchesInBuildAnalyses(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		jk := fake.NewJenkins(t, ciUser, ciToken)
		jira := fake.NewJira(t, "", "jira_pat")
		svc := New(NewBunStore(db.DB), Config{Analyzer: productBugs})
		tr := NewTrackers(svc, TrackerConfig{HTTP: quick, Jira: JiraConfig{URL: jira.URL, Token: "jira_pat", ProjectKey: "PROJ"}})
		svc.SetJiraMatcher(tr.MatchJira)
		b, err := NewBuilds(svc, JenkinsConfig{URL: jk.URL, User: ciUser, Password: ciToken, HTTP: quick}, &queueSpy{})
		require.NoError(t, err)
		f := buildsFixture{svc: svc, builds: b, queue: b.queue.(*queueSpy)}

		// Jira is not enabled on the server: only enable_jira asks it.
		id, _ := f.run(t, `{"job_name": "folder/job-name", "build_number": 123}`)
		_, res := f.result(t, id)
		assert.Empty(t, res.Failures[0].Analysis.ProductBugReport.JiraMatches)
		id, _ = f.run(t, `{"job_name": "folder/job-name", "build_number": 123, "enable_jira": true}`)
		_, res = f.result(t, id)
		require.NotEmpty(t, res.Failures[0].Analysis.ProductBugReport.JiraMatches)
		assert.Equal(t, "PROJ-12", res.Failures[0].Analysis.ProductBugReport.JiraMatches[0].Key)
		require.NotEmpty(t, res.ChildJobAnalyses[0].Failures[0].Analysis.ProductBugReport.JiraMatches, "children's product bugs too")
		assert.Positive(t, jira.Count("POST /rest/api/2/search"), "Server/Data Center: REST v2")
	})
}
