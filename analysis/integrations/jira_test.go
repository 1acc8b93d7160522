package integrations_test

import (
	"context"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/analysis/integrations"
	"github.com/bugflow/bugflow/analysis/integrations/fake"
)

const (
	jiraEmail = "alice@example.com"
	jiraToken = "jiraSECRET0987654321"
)

func TestJiraCloudSpeaksV3WithBasicAuth(t *testing.T) {
	srv := fake.NewJira(t, jiraEmail, jiraToken)
	j, err := integrations.NewJira(srv.URL, jiraEmail, jiraToken, fast)
	require.NoError(t, err)
	assert.True(t, j.Cloud())
	ctx := context.Background()

	name, err := j.Myself(ctx)
	require.NoError(t, err)
	assert.Equal(t, "Alice Example", name)

	issues, err := j.SearchBugs(ctx, "PROJ", []string{`login "500"`, "admin (user)"}, 5)
	require.NoError(t, err)
	require.Len(t, issues, 2)
	assert.Equal(t, integrations.JiraIssue{Key: "PROJ-12", Summary: "Admin login returns 500", Status: "Open", Priority: "Major", URL: srv.URL + "/browse/PROJ-12"}, issues[0])
	assert.Equal(t, "", issues[1].Priority, "a null priority is empty")
	assert.JSONEq(t, `{"jql":"project = PROJ AND issuetype = Bug AND (summary ~ \"login 500\" OR summary ~ \"admin user\") ORDER BY updated DESC","maxResults":5,"fields":["summary","status","priority"]}`,
		srv.Bodies("POST /rest/api/3/search/jql")[0])

	created, err := j.CreateBug(ctx, "PROJ", "Admin login fails", "First paragraph.\n\nSecond.", "100001")
	require.NoError(t, err)
	assert.Equal(t, "PROJ-24", created.Key)
	assert.Equal(t, srv.URL+"/browse/PROJ-24", created.URL)
	assert.JSONEq(t, `{"fields":{"project":{"key":"PROJ"},"summary":"Admin login fails","issuetype":{"name":"Bug"},"security":{"id":"100001"},
		"description":{"type":"doc","version":1,"content":[
			{"type":"paragraph","content":[{"type":"text","text":"First paragraph."}]},
			{"type":"paragraph","content":[{"type":"text","text":"Second."}]}]}}}`, srv.Bodies("POST /rest/api/3/issue")[0])

	projects, err := j.Projects(ctx, "proj")
	require.NoError(t, err)
	assert.Equal(t, []integrations.JiraProject{{Key: "PROJ", Name: "Project One"}}, projects)
	assert.Equal(t, []string{"maxResults=50&query=proj"}, srv.Queries("GET /rest/api/3/project/search"))

	levels, err := j.SecurityLevels(ctx, "PROJ")
	require.NoError(t, err)
	require.Len(t, levels, 2)
	assert.Equal(t, integrations.JiraSecurityLevel{ID: "100001", Name: "Internal", Description: "Only internal staff can see this issue."}, levels[1])

	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(jiraEmail+":"+jiraToken))
	for _, r := range srv.Requests() {
		assert.Equal(t, want, r.Authorization)
	}
}

func TestJiraServerSpeaksV2WithBearerPAT(t *testing.T) {
	srv := fake.NewJira(t, "", jiraToken)
	j, err := integrations.NewJira(srv.URL, "", jiraToken, fast)
	require.NoError(t, err)
	assert.False(t, j.Cloud())
	ctx := context.Background()
	_, err = j.Myself(ctx)
	require.NoError(t, err)
	_, err = j.SearchBugs(ctx, "PROJ", []string{"login"}, 1)
	require.NoError(t, err)
	_, err = j.CreateBug(ctx, "PROJ", "s", "plain description", "")
	require.NoError(t, err)
	assert.JSONEq(t, `{"fields":{"project":{"key":"PROJ"},"summary":"s","issuetype":{"name":"Bug"},"description":"plain description"}}`, srv.Bodies("POST /rest/api/2/issue")[0])
	projects, err := j.Projects(ctx, "alpha")
	require.NoError(t, err)
	assert.Equal(t, []integrations.JiraProject{{Key: "ABC", Name: "Alphabetical"}}, projects)
	for _, r := range srv.Requests() {
		assert.Equal(t, "Bearer "+jiraToken, r.Authorization)
	}
}

func TestJiraErrorAnswers(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		status  int
		fixture string
		message string
	}{
		{400, "jira_400.json", "summary: You must specify a summary of the issue."},
		{401, "jira_401.json", "You are not authenticated"},
		{403, "jira_401.json", "You are not authenticated"},
		{404, "jira_404.json", "No project could be found with key 'NOPE'."},
	} {
		srv := fake.NewJira(t, jiraEmail, jiraToken)
		srv.Script("POST /rest/api/3/issue", fake.Answer{Status: tc.status, Body: fake.Fixture(tc.fixture)})
		j, err := integrations.NewJira(srv.URL, jiraEmail, jiraToken, fast)
		require.NoError(t, err)
		_, err = j.CreateBug(ctx, "PROJ", "s", "d", "")
		noSecret(t, err, jiraToken)
		assert.Equal(t, tc.status, integrations.StatusOf(err))
		assert.Contains(t, err.Error(), tc.message)
	}
	// Wrong credentials: the fake answers its documented 401.
	srv := fake.NewJira(t, jiraEmail, jiraToken)
	j, err := integrations.NewJira(srv.URL, jiraEmail, "wrong-token-value", fast)
	require.NoError(t, err)
	_, err = j.Myself(ctx)
	assert.Equal(t, 401, integrations.StatusOf(err))
	noSecret(t, err, "wrong-token-value")
	// 5xx on a search is retried; a hung search times out.
	srv.Script("POST /rest/api/3/search/jql", fake.Answer{Status: 500}, fake.Answer{Hang: true})
	opts := fast
	opts.Timeout = 50 * 1e6
	opts.RetryMax = 1
	j, err = integrations.NewJira(srv.URL, jiraEmail, jiraToken, opts)
	require.NoError(t, err)
	_, err = j.SearchBugs(ctx, "PROJ", []string{"x"}, 5)
	noSecret(t, err, jiraToken)
	assert.Contains(t, err.Error(), "timed out")
	assert.Equal(t, 2, srv.Count("POST /rest/api/3/search/jql"))
}

func TestBugJQL(t *testing.T) {
	assert.Equal(t, `project = PROJ AND issuetype = Bug AND (summary ~ "a b" OR summary ~ "c") ORDER BY updated DESC`,
		integrations.BugJQL("PROJ", []string{`a" OR project = X --"b`[0:1] + " b", "", "c*"}))
	assert.Equal(t, "", integrations.BugJQL("PROJ", []string{"", "!!"}), "no keyword left")
	assert.Equal(t, "", integrations.BugJQL(`PROJ OR 1=1`, []string{"x"}), "no project key")
	assert.True(t, integrations.ValidProjectKey("PROJ_2"))
	assert.False(t, integrations.ValidProjectKey("2PROJ"))
	assert.False(t, integrations.ValidProjectKey(""))
}
