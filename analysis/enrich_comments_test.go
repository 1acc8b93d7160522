package analysis

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/analysis/integrations/fake"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

func TestEnrichComments(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := New(NewBunStore(db.DB), Config{})
		_, err := svc.Analyze(ctx, DirectInput{RecordInput: RecordInput{JobID: "job-1"},
			Failures: []FailureInput{{TestName: "tests.api.test_login.test_admin_login", ErrorMessage: "AssertionError: expected 200 got 500"}}})
		require.NoError(t, err)
		sc := Scope{TestName: "tests.api.test_login.test_admin_login"}
		first, err := svc.AddComment(ctx, "job-1", sc, "Filed https://github.com/acme/tests/issues/42, fixed by https://github.com/acme/tests/pull/57; Jira PROJ-12 and PROJ-999", "alice")
		require.NoError(t, err)
		second, err := svc.AddComment(ctx, "job-1", sc, "same as https://github.com/acme/tests/issues/42 (not https://gitlab.com/acme/tests/issues/1)", "bob")
		require.NoError(t, err)
		_, err = svc.AddComment(ctx, "job-1", sc, "no links here, HTTP-500 is no key of a configured project either", "bob")
		require.NoError(t, err)

		gh := fake.NewGitHub(t, "ghp_example")
		jira := fake.NewJira(t, "alice@example.com", "jira_example")
		tr := NewTrackers(svc, TrackerConfig{HTTP: quick,
			GitHub: GitHubConfig{Enabled: true, APIURL: gh.URL, Token: "ghp_example"},
			Jira:   JiraConfig{Enabled: true, URL: jira.URL, Email: "alice@example.com", Token: "jira_example"}})
		out, err := tr.EnrichComments(ctx, "job-1", Credentials{})
		require.NoError(t, err)
		assert.Equal(t, map[string][]CommentLink{
			itoa(first): {
				{Type: "github_issue", Key: "acme/tests#42", Status: "open"},
				{Type: "github_pr", Key: "acme/tests#57", Status: "merged"},
				{Type: "jira", Key: "PROJ-12", Status: "In Progress"},
			},
			itoa(second): {{Type: "github_issue", Key: "acme/tests#42", Status: "open"}},
		}, out, "PROJ-999 (404), HTTP-500 (404) and gitlab are left out")
		assert.Equal(t, 1, gh.Count("GET /repos/acme/tests/issues/42"), "each item is asked once")

		// Trackers off: nothing is asked.
		off, err := NewTrackers(svc, TrackerConfig{HTTP: quick}).EnrichComments(ctx, "job-1", Credentials{})
		require.NoError(t, err)
		assert.Empty(t, off)
		assert.Equal(t, 1, gh.Count("GET /repos/acme/tests/issues/42"))

		// A rejected token: the item is left out, nothing fails.
		bad := NewTrackers(svc, TrackerConfig{HTTP: quick, GitHub: GitHubConfig{Enabled: true, APIURL: gh.URL, Token: "ghp_wrong"}})
		out, err = bad.EnrichComments(ctx, "job-1", Credentials{})
		require.NoError(t, err)
		assert.Empty(t, out)
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
