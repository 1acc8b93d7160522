package analysis

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

// requireInvalidFields asserts that err is Invalid and names exactly fields.
func requireInvalidFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	require.ErrorIs(t, err, errs.ErrInvalid)
	assert.Equal(t, fields, errs.As(err).FieldNames())
}

// Text that no engine can store (a NUL, invalid UTF-8) is the caller's
// mistake, named by field, before anything is analysed or looked up.
func TestTextThatCannotBeStoredIsInvalid(t *testing.T) {
	ctx := context.Background()
	_, err := AnalyzeFailures(ctx, []FailureInput{{TestName: "ok"}, {TestName: "a\x00b", StackTrace: "\xff"}}, Options{})
	requireInvalidFields(t, err, "failures[1].stack_trace", "failures[1].test_name")
	_, err = AnalyzeFailures(ctx, []FailureInput{{TestName: "t", ErrorMessage: "boom\x00"}}, Options{})
	requireInvalidFields(t, err, "failures[0].error_message")
	requireInvalidFields(t, Scope{TestName: "t", ChildJobName: "c\x00", ChildBuildNumber: 1}.Validate(), "child_job_name")

	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		svc := New(NewBunStore(db.DB), Config{})
		_, err := svc.AddComment(ctx, "job", Scope{TestName: "t"}, "nice\x00", "alice")
		requireInvalidFields(t, err, "comment")
		err = svc.SetReviewed(ctx, "job", Scope{TestName: "t\x00"}, true, "alice")
		requireInvalidFields(t, err, "test_name")
		_, err = svc.Classify(ctx, ClassifyInput{TestName: "t", Classification: "FLAKY", JobID: "job", Reason: "\x00"}, "alice")
		requireInvalidFields(t, err, "reason")
	})
}
