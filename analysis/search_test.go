package analysis

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

// The failure search matches its text literally: LIKE's wildcards and its
// escape character find only themselves.
func TestFailureSearchIsLiteral(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := New(NewBunStore(db.DB), Config{})
		names := []string{"pkg.Test100%Done", "pkg.Test100xDone", "pkg.a_b", "pkg.axb", `pkg.back\slash`, "pkg.backXslash"}
		inputs := make([]FailureInput, len(names))
		for i, n := range names {
			inputs[i] = FailureInput{TestName: n, ErrorMessage: "boom"}
		}
		ra, err := AnalyzeFailures(ctx, inputs, Options{})
		require.NoError(t, err)
		require.NoError(t, svc.RecordAnalysis(ctx, RecordInput{JobID: "j"}, ra))

		for search, want := range map[string][]string{
			"100%":    {"pkg.Test100%Done"},
			"%":       {"pkg.Test100%Done"},
			"a_b":     {"pkg.a_b"},
			"_":       {"pkg.a_b"},
			`\`:       {`pkg.back\slash`},
			`back\s`:  {`pkg.back\slash`},
			`\%`:      nil,
			"100":     {"pkg.Test100%Done", "pkg.Test100xDone"},
			"PKG.A_B": {"pkg.a_b"},
		} {
			rows, total, err := svc.Failures(ctx, HistoryFilter{Search: search})
			require.NoError(t, err)
			var got []string
			for _, r := range rows {
				got = append(got, r.TestName)
			}
			assert.ElementsMatch(t, want, got, "search %q", search)
			assert.Equal(t, len(want), total, "search %q", search)
		}
	})
}

// The search is at most MaxSearchLength characters, whatever they are: at
// the cap it runs on both engines (SQLite refuses LIKE patterns over 50,000
// bytes), one more is Invalid naming the field.
func TestFailureSearchIsCapped(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := New(NewBunStore(db.DB), Config{})
		// SQLite builds a LIKE pattern only when it has a row to match.
		ra, err := AnalyzeFailures(ctx, []FailureInput{{TestName: "pkg.Test", ErrorMessage: "boom"}}, Options{})
		require.NoError(t, err)
		require.NoError(t, svc.RecordAnalysis(ctx, RecordInput{JobID: "j"}, ra))
		for _, r := range []string{"%", "_", `\`, "🙂", "x"} {
			_, _, err := svc.Failures(ctx, HistoryFilter{Search: strings.Repeat(r, MaxSearchLength)})
			require.NoError(t, err, "%d × %q", MaxSearchLength, r)
			_, _, err = svc.Failures(ctx, HistoryFilter{Search: strings.Repeat(r, MaxSearchLength+1)})
			require.ErrorIs(t, err, errs.ErrInvalid)
			assert.Equal(t, []string{"search"}, errs.As(err).FieldNames())
		}
	})
}
