package analysis

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

func TestScopeValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sc    Scope
		field string
	}{
		{Scope{TestName: "t"}, ""},
		{Scope{TestName: "t", ChildJobName: "c", ChildBuildNumber: 3}, ""},
		{Scope{TestName: " "}, "test_name"},
		{Scope{TestName: "t", ChildJobName: "c"}, "child_build_number"},
		{Scope{TestName: "t", ChildBuildNumber: 3}, "child_build_number"},
		{Scope{TestName: "t", ChildJobName: "c", ChildBuildNumber: -1}, "child_build_number"},
	}
	for _, tt := range tests {
		err := tt.sc.Validate()
		if tt.field == "" {
			assert.NoError(t, err)
			continue
		}
		require.Error(t, err)
		assert.Equal(t, []string{tt.field}, errs.As(err).FieldNames(), "%+v", tt.sc)
	}
	assert.Equal(t, "c#3::t", Scope{TestName: "t", ChildJobName: "c", ChildBuildNumber: 3}.ReviewKey())
}

func TestServiceCommentsReviewsClassify(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := NewBunStore(db.DB)
		svc := New(st, Config{})
		doc := `<testsuite name="s"><testcase classname="a" name="t1"><failure message="connection refused"/></testcase>` +
			`<testcase classname="a" name="t2"><failure message="expected 1 != 2"/></testcase></testsuite>`
		ra, err := AnalyzeReport(ctx, strings.NewReader(doc), Options{Analyzer: svc.Analyzer()})
		require.NoError(t, err)
		require.NoError(t, svc.RecordAnalysis(ctx, RecordInput{JobID: "j", JobName: "nightly"}, ra))

		id, err := svc.AddComment(ctx, "j", Scope{TestName: "a.t1"}, "db was down", "alice")
		require.NoError(t, err)
		_, err = svc.AddComment(ctx, "j", Scope{TestName: "a.t2"}, "real bug", "")
		require.NoError(t, err)
		_, err = svc.AddComment(ctx, "j", Scope{TestName: "a.nope"}, "x", "alice")
		assert.ErrorIs(t, err, errs.ErrNotFound)
		_, err = svc.AddComment(ctx, "missing", Scope{TestName: "a.t1"}, "x", "alice")
		assert.ErrorIs(t, err, errs.ErrNotFound)
		_, err = svc.AddComment(ctx, "j", Scope{TestName: "a.t1", ChildJobName: "c"}, "x", "alice")
		assert.ErrorIs(t, err, errs.ErrInvalid)

		comments, reviews, err := svc.Comments(ctx, "j")
		require.NoError(t, err)
		require.Len(t, comments, 2)
		assert.Equal(t, ra.Result.Failures[0].ErrorSignature, comments[0].ErrorSignature, "signature copied from the stored result")
		assert.Empty(t, reviews)

		assert.ErrorIs(t, svc.DeleteComment(ctx, "j", id, "", false), errs.ErrUnauthorized)
		assert.ErrorIs(t, svc.DeleteComment(ctx, "j", id, "bob", false), errs.ErrNotFound, "not the owner")
		require.NoError(t, svc.DeleteComment(ctx, "j", id, "alice", false))
		require.NoError(t, svc.DeleteComment(ctx, "j", comments[1].ID, "", true), "admins delete any comment")

		require.NoError(t, svc.SetReviewed(ctx, "j", Scope{TestName: "a.t1"}, true, "alice"))
		assert.ErrorIs(t, svc.SetReviewed(ctx, "j", Scope{TestName: "a.zzz"}, true, "alice"), errs.ErrNotFound)
		_, reviews, err = svc.Comments(ctx, "j")
		require.NoError(t, err)
		assert.True(t, reviews["a.t1"].Reviewed)
		assert.Equal(t, "alice", reviews["a.t1"].Username)

		_, err = svc.AddComment(ctx, "j", Scope{TestName: "a.t2"}, "again", "bob")
		require.NoError(t, err)
		status, err := svc.ReviewStatus(ctx, "j")
		require.NoError(t, err)
		assert.Equal(t, ReviewStatus{TotalFailures: 2, ReviewedCount: 1, CommentCount: 1}, status)

		for _, bad := range []ClassifyInput{
			{TestName: " ", Classification: "FLAKY", JobID: "j"},
			{TestName: "a.t1", Classification: "CODE ISSUE", JobID: "j"},
			{TestName: "a.t1", Classification: "known_bug", JobID: "j"},
			{TestName: "a.t1", Classification: "FLAKY"},
		} {
			_, err := svc.Classify(ctx, bad, "alice")
			assert.ErrorIs(t, err, errs.ErrInvalid, "%+v", bad)
		}
		cid, err := svc.Classify(ctx, ClassifyInput{TestName: "a.t1", Classification: "known_bug", References: "JIRA-1", JobID: "j"}, "alice")
		require.NoError(t, err)
		assert.NotZero(t, cid)
		_, err = svc.Classify(ctx, ClassifyInput{TestName: "a.t1", Classification: "flaky", JobID: "j"}, "")
		require.NoError(t, err)
		labels, err := st.ListClassifications(ctx, ClassificationFilter{TestName: "a.t1"})
		require.NoError(t, err)
		require.Len(t, labels, 2)
		assert.Equal(t, "ai", labels[0].CreatedBy)
		assert.False(t, labels[0].Visible, "AI labels stay hidden")
		assert.Equal(t, "KNOWN_BUG", labels[1].Classification)
		assert.Equal(t, "nightly", labels[1].ParentJobName)

		primary, err := svc.Classifications(ctx, ClassificationFilter{TestName: "a.t1"})
		require.NoError(t, err)
		assert.Empty(t, primary, "history labels are not primary classifications")
		require.NoError(t, svc.Override(ctx, "j", Scope{TestName: "a.t1"}, CodeIssue, "alice"))
		primary, err = svc.Classifications(ctx, ClassificationFilter{TestName: "a.t1", ParentJobName: "nightly"})
		require.NoError(t, err)
		require.Len(t, primary, 1)
		assert.Equal(t, "CODE ISSUE", primary[0].Classification)
	})
}

// TestOverrideChildScopeKeepsUnknownFields patches a Jenkins-shaped result
// (AnalysisResult with child jobs): only the addressed child's group
// changes and fields the library does not model survive.
func TestOverrideChildScopeKeepsUnknownFields(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := NewBunStore(db.DB)
		svc := New(st, Config{})
		body := `{"job_id":"p","job_name":"pipe","build_number":9,"summary":"custom prose","status":"completed",
"failures":[{"test_name":"top","error":"e","error_signature":"S","analysis":{"classification":"PRODUCT BUG","product_bug_report":{"title":"x"}}}],
"child_job_analyses":[{"job_name":"child","build_number":4,"summary":"1 PRODUCT BUG","failures":[
 {"test_name":"c1","error":"e","error_signature":"S","analysis":{"classification":"PRODUCT BUG","product_bug_report":{"title":"x"}}}],
 "failed_children":[]}],"extra_field":{"kept":true}}`
		require.NoError(t, st.SaveResult(ctx, StoredResult{JobID: "p", JobName: "pipe", Status: JobCompleted, Result: json.RawMessage(body), CreatedAt: store.Now()}))
		require.NoError(t, svc.Override(ctx, "p", Scope{TestName: "c1", ChildJobName: "child", ChildBuildNumber: 4}, Infrastructure, "alice"))

		var got map[string]any
		require.NoError(t, json.Unmarshal(mustResult(t, st, "p"), &got))
		assert.Equal(t, map[string]any{"kept": true}, got["extra_field"])
		assert.Equal(t, "custom prose", got["summary"], "a summary bugflow did not write is left alone")
		top := got["failures"].([]any)[0].(map[string]any)["analysis"].(map[string]any)
		assert.Equal(t, "PRODUCT BUG", top["classification"], "the top-level job is another scope")
		child := got["child_job_analyses"].([]any)[0].(map[string]any)
		assert.Equal(t, "1 INFRASTRUCTURE", child["summary"])
		ca := child["failures"].([]any)[0].(map[string]any)["analysis"].(map[string]any)
		assert.Equal(t, "INFRASTRUCTURE", ca["classification"])
		assert.NotContains(t, ca, "product_bug_report")

		assert.ErrorIs(t, svc.Override(ctx, "p", Scope{TestName: "c1", ChildJobName: "child", ChildBuildNumber: 5}, CodeIssue, "a"), errs.ErrNotFound)
	})
}
