package analysis

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

// The migration to long test names keeps the reviews a database already
// has: after it, they are listed and updated in place under their keys.
func TestLongTestNameMigrationKeepsReviews(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations()[:1], func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := store.Now()
		for _, old := range []map[string]any{
			{"job_id": "j", "review_key": "pkg.TestA", "reviewed": true, "username": "alice", "updated_at": at},
			{"job_id": "j", "review_key": "child#2::pkg.TestB", "reviewed": false, "username": "bob", "updated_at": at},
		} {
			_, err := db.NewInsert().Model(&old).TableExpr("analysis_failure_reviews").Exec(ctx)
			require.NoError(t, err)
		}

		applied, err := store.Migrate(ctx, db, Migrations())
		require.NoError(t, err)
		var later []string
		for _, m := range Migrations()[1:] {
			later = append(later, m.ID)
		}
		assert.Equal(t, later, applied, "every later migration applies over the old rows")

		st := NewBunStore(db.DB)
		got, err := st.ListReviews(ctx, "j")
		require.NoError(t, err)
		require.Len(t, got, 2)
		assert.Equal(t, "child#2::pkg.TestB", got[0].Key)
		assert.Equal(t, "pkg.TestA", got[1].Key)
		assert.True(t, got[1].Reviewed)

		require.NoError(t, st.SetReview(ctx, Review{JobID: "j", Key: "pkg.TestA", Reviewed: false, Username: "carol", UpdatedAt: at.Add(time.Second)}))
		long := strings.Repeat("pkg.TestC[param]", 1000)
		require.NoError(t, st.SetReview(ctx, Review{JobID: "j", Key: long, Reviewed: true, Username: "carol", UpdatedAt: at}))
		got, err = st.ListReviews(ctx, "j")
		require.NoError(t, err)
		require.Len(t, got, 3, "the update replaced the migrated review")
		keys := map[string]Review{}
		for _, r := range got {
			keys[r.Key] = r
		}
		assert.False(t, keys["pkg.TestA"].Reviewed)
		assert.Equal(t, "carol", keys["pkg.TestA"].Username)
		assert.True(t, keys[long].Reviewed)
	})
}

// Lookups by test name use the prefix indexes on both engines: the
// expression in whereTestName must stay the one the migration indexed.
func TestLookupsByTestNameUseTheirIndexes(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for index, model := range map[string]any{
			"analysis_history_test_prefix_idx":         (*historyRow)(nil),
			"analysis_classifications_test_prefix_idx": (*classificationRow)(nil),
			"analysis_comments_test_prefix_idx":        (*commentRow)(nil),
		} {
			query := whereTestName(db.NewSelect().Model(model), strings.Repeat("pkg.Test", 100)).String()
			plan := explain(t, ctx, db, query)
			assert.Contains(t, plan, index, "plan of %s", query)
		}
	})
}

// explain returns the query plan of query as one string. PostgreSQL is told
// to avoid sequential scans, which it prefers on empty tables.
func explain(t *testing.T, ctx context.Context, db *store.DB, query string) string {
	t.Helper()
	var lines []string
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		prefix := "EXPLAIN QUERY PLAN "
		if db.Dialect == store.Postgres {
			prefix = "EXPLAIN "
			if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
				return err
			}
		}
		rows, err := tx.QueryContext(ctx, prefix+query)
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			return err
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			for _, v := range vals {
				if s, ok := v.(string); ok {
					lines = append(lines, s)
				} else if b, ok := v.([]byte); ok {
					lines = append(lines, string(b))
				}
			}
		}
		return rows.Err()
	})
	require.NoError(t, err)
	return strings.Join(lines, "\n")
}

// Job ids, job names and error signatures are capped at MaxNameLength
// characters, so that their indexes cannot overflow.
func TestNamesAreCapped(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := New(NewBunStore(db.DB), Config{})
		atCap, beyond := strings.Repeat("é", MaxNameLength), strings.Repeat("é", MaxNameLength+1)
		require.NoError(t, svc.Start(ctx, RecordInput{JobID: atCap, JobName: atCap}))
		for field, in := range map[string]RecordInput{
			"job_id":   {JobID: beyond},
			"job_name": {JobID: "j", JobName: beyond},
		} {
			err := svc.Start(ctx, in)
			require.ErrorIs(t, err, errs.ErrInvalid)
			assert.Equal(t, []string{field}, errs.As(err).FieldNames())
		}

		ra, err := AnalyzeFailures(ctx, []FailureInput{{TestName: "t", ErrorMessage: "boom"}}, Options{})
		require.NoError(t, err)
		require.NoError(t, svc.RecordAnalysis(ctx, RecordInput{JobID: atCap, JobName: atCap}, ra))
		ra.Result.Failures[0].ErrorSignature = beyond
		err = svc.RecordAnalysis(ctx, RecordInput{JobID: "k"}, ra)
		require.ErrorIs(t, err, errs.ErrInvalid)
		assert.Equal(t, []string{"error_signature"}, errs.As(err).FieldNames())
	})
}
