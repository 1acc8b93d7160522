package bugs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

var errRollback = errors.New("roll back")

// batchReport is an occurrence of fp (none for "") seen count times from
// first to last, as the batcher folds it.
func batchReport(id, fp, workspace string, first, last time.Time, count int) *Report {
	r := &Report{
		ID: id, Source: SourceAutoServer, Severity: SeverityMedium, Status: StatusOpen,
		Title: "t " + id, OccurrenceCount: count, Fingerprint: fp, NormaliserVersion: NormaliserVersion,
		OccurredAt: first, FirstSeenAt: first, LastSeenAt: last, CreatedAt: last, UpdatedAt: last,
	}
	if workspace != "" {
		r.WorkspaceID = &workspace
	}
	return r
}

// TestUpsertBatchWritesWhatUpsertWouldWrite runs one batch that meets
// every rule of Upsert (window on both sides of its limit, regression
// reopen of resolved and closed reports, a stale report, a deleted one,
// legacy joins allowed and refused, a fingerprint twice, occurrences
// without a fingerprint) through upsertBatch and, on the same database
// state, through Insert and Upsert one by one, and requires the same
// answers and the same rows.
func TestUpsertBatchWritesWhatUpsertWouldWrite(t *testing.T) {
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := NewBunStore(db.DB)
		now := store.Now()
		window := DefaultDedupWindow
		seed := func(id, fp, workspace string, lastSeen time.Time, status Status) {
			t.Helper()
			r := batchReport(id, fp, workspace, lastSeen, lastSeen, 1)
			_, created, err := st.Upsert(ctx, r, "", lastSeen.Add(-window))
			require.NoError(t, err)
			require.True(t, created)
			if status != StatusOpen {
				_, err = st.Update(ctx, id, Change{Status: &status, At: lastSeen})
				require.NoError(t, err)
			}
		}
		seed("old_a", "A", "", now.Add(-time.Hour), StatusResolved)
		seed("old_g", "G", "", now.Add(-time.Hour), StatusClosed)
		seed("old_h", "H", "", now.Add(-time.Hour), StatusInProgress)
		seed("old_b", "B", "", now.Add(-48*time.Hour), StatusOpen)
		seed("old_k", "K", "", now.Add(-window), StatusOpen)                    // at the limit: joined
		seed("old_k2", "K2", "", now.Add(-window-time.Microsecond), StatusOpen) // just past it: stale
		seed("old_l", "L", "ws1", now.Add(-time.Hour), StatusOpen)
		seed("old_l2", "L2", "ws2", now.Add(-time.Hour), StatusOpen)
		seed("old_l3", "L3", "ws1", now.Add(-48*time.Hour), StatusOpen)
		seed("old_l4", "L4", "ws1", now.Add(-time.Hour), StatusOpen)
		seed("old_m", "M", "ws1", now.Add(-time.Hour), StatusOpen)
		seed("old_i", "I", "", now.Add(-time.Hour), StatusOpen)
		require.NoError(t, st.Delete(ctx, "old_i", now.Add(-time.Minute)))

		newOps := func() []*batchOp {
			op := func(id, fp, legacy, workspace string, first, last time.Time, count int) *batchOp {
				return &batchOp{r: batchReport(id, fp, workspace, first, last, count), legacy: legacy, windowStart: first.Add(-window)}
			}
			withJSON := op("new_c", "C", "", "", now, now, 2)
			withJSON.r.Context = json.RawMessage(`{"endpoint":"/api/x"}`)
			withJSON.r.Metadata = json.RawMessage(`{"release":"1.2.3"}`)
			return []*batchOp{
				op("new_nofp1", "", "", "", now, now, 1),
				op("new_a", "A", "", "", now.Add(-10*time.Second), now, 3),
				op("new_b", "B", "", "", now, now, 1),
				withJSON,
				op("new_c2", "C", "", "", now.Add(window+time.Hour), now.Add(window+time.Hour), 1),
				op("new_d", "D", "L", "ws1", now, now, 1),
				op("new_d2", "D2", "L", "ws1", now, now, 1),
				op("new_e", "E", "L2", "ws1", now, now, 1),
				op("new_f", "F", "L3", "ws1", now, now, 1),
				op("new_g", "G", "", "", now, now, 1),
				op("new_h", "H", "", "", now, now, 1),
				op("new_i", "I", "", "", now, now, 1),
				op("new_k", "K", "", "", now, now, 1),
				op("new_k2", "K2", "", "", now, now, 1),
				op("new_m", "M", "L4", "ws1", now, now, 1),
				op("new_n", "N", "nowhere", "", now, now, 1),
				op("new_nofp2", "", "", "", now, now, 1),
			}
		}
		// run writes the batch with write in a transaction that it rolls
		// back, and returns the ops and the rows as they were before the
		// rollback.
		run := func(write func(ctx context.Context, st *BunStore, ops []*batchOp) error) ([]*batchOp, []reportRow) {
			t.Helper()
			ops := newOps()
			var rows []reportRow
			err := st.Atomically(ctx, func(ctx context.Context, tx Store) error {
				if err := write(ctx, tx.(*BunStore), ops); err != nil {
					return err
				}
				if err := tx.(*BunStore).db.NewSelect().Model(&rows).Order("id").Scan(ctx); err != nil {
					return err
				}
				return errRollback
			})
			require.ErrorIs(t, err, errRollback)
			return ops, rows
		}
		oneByOne, wantRows := run(func(ctx context.Context, st *BunStore, ops []*batchOp) error {
			return writeOneByOne(ctx, st, ops)
		})
		batched, gotRows := run(func(ctx context.Context, st *BunStore, ops []*batchOp) error {
			return st.upsertBatch(ctx, ops)
		})
		require.Len(t, batched, len(oneByOne))
		for i := range oneByOne {
			assert.Equal(t, oneByOne[i].created, batched[i].created, "created of %s", oneByOne[i].r.ID)
			assert.Equal(t, oneByOne[i].stored, batched[i].stored, "answer to %s", oneByOne[i].r.ID)
		}
		assert.Equal(t, wantRows, gotRows)

		// The rules themselves, so that both paths cannot be wrong alike.
		byID := map[string]*batchOp{}
		for _, op := range batched {
			byID[op.r.ID] = op
		}
		a := byID["new_a"]
		assert.False(t, a.created)
		assert.Equal(t, "old_a", a.stored.ID)
		assert.Equal(t, 4, a.stored.OccurrenceCount, "folded occurrences count")
		assert.Equal(t, StatusOpen, a.stored.Status)
		assert.True(t, a.stored.Regression, "resolved then recurring is a regression")
		assert.True(t, a.stored.FirstSeenAt.Equal(now.Add(-time.Hour)), "first seen stays")
		assert.True(t, a.stored.LastSeenAt.Equal(now), "last seen moves")
		assert.True(t, byID["new_g"].stored.Regression, "closed then recurring is a regression")
		assert.Equal(t, StatusInProgress, byID["new_h"].stored.Status)
		assert.False(t, byID["new_h"].stored.Regression)
		for id, want := range map[string]string{
			"new_b": "new_b", "new_c": "new_c", "new_c2": "new_c2", "new_d": "old_l", "new_d2": "old_l",
			"new_e": "new_e", "new_f": "new_f", "new_i": "new_i", "new_k": "old_k", "new_k2": "new_k2",
			"new_m": "old_m", "new_n": "new_n", "new_nofp1": "new_nofp1", "new_nofp2": "new_nofp2",
		} {
			assert.Equal(t, want, byID[id].stored.ID, id)
			assert.Equal(t, want == id, byID[id].created, "created of %s", id)
		}
		assert.Equal(t, 3, byID["new_d2"].stored.OccurrenceCount, "two legacy joins")
		assert.JSONEq(t, `{"endpoint":"/api/x"}`, string(byID["new_c"].stored.Context))
	})
}

// TestUpsertManyJoinsOnlyReportsItKnows checks the guard of the multi-row
// upsert: a conflict with an active report that the SELECT did not find
// within the op's window (a concurrent writer's, or a stale one) is left
// alone for Upsert, and one it found is joined.
func TestUpsertManyJoinsOnlyReportsItKnows(t *testing.T) {
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := NewBunStore(db.DB)
		now := store.Now()
		seedReport(t, st, "old_x", "X", now.Add(-48*time.Hour))
		seedReport(t, st, "old_y", "Y", now)

		x, y, z := newOp("new_x", "X", now), newOp("new_y", "Y", now), newOp("new_z", "Z", now)
		require.NoError(t, st.upsertMany(ctx, []*batchOp{x, y, z}, map[string]string{"Y": "old_y"}))
		assert.False(t, x.done, "an unknown conflict is left for Upsert")
		got, err := st.Get(ctx, "old_x")
		require.NoError(t, err)
		assert.Equal(t, 1, got.OccurrenceCount, "and not joined")
		assert.True(t, y.done)
		assert.False(t, y.created)
		assert.Equal(t, "old_y", y.stored.ID)
		assert.Equal(t, 2, y.stored.OccurrenceCount)
		assert.True(t, z.done)
		assert.True(t, z.created)

		// Without any known report every conflict is left alone.
		y2 := newOp("new_y2", "Y", now)
		require.NoError(t, st.upsertMany(ctx, []*batchOp{y2}, nil))
		assert.False(t, y2.done)
	})
}

// TestInsertNewAcrossStatements checks insertNew at the bounds of one
// prepared statement (maxPreparedRows rows, on SQLite): every new report is
// created once, as written, and a conflict in the last statement is left
// for Upsert.
func TestInsertNewAcrossStatements(t *testing.T) {
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := NewBunStore(db.DB)
		now := store.Now()
		seedReport(t, st, "old_x", "X", now.Add(-48*time.Hour))
		for _, n := range []int{maxPreparedRows - 1, maxPreparedRows, maxPreparedRows + 1, 2*maxPreparedRows + 3} {
			ops := make([]*batchOp, n)
			for i := range ops {
				fp := fmt.Sprintf("N%d-%d", n, i)
				if i == n-1 {
					fp = "X"
				}
				ops[i] = newOp(fmt.Sprintf("new_%d_%d", n, i), fp, now)
			}
			err := st.Atomically(ctx, func(ctx context.Context, tx Store) error {
				require.NoError(t, tx.(*BunStore).insertNew(ctx, ops))
				for _, op := range ops[:n-1] {
					require.True(t, op.done && op.created, "%d rows: %s created", n, op.r.ID)
					assert.Equal(t, *op.r, op.stored)
					got, err := tx.Get(ctx, op.r.ID)
					require.NoError(t, err)
					assert.Equal(t, op.r.Fingerprint, got.Fingerprint)
				}
				assert.False(t, ops[n-1].done, "%d rows: a conflict is left for Upsert", n)
				return errRollback
			})
			require.ErrorIs(t, err, errRollback)
		}
	})
}

// seedReport stores report id, the active one of fingerprint fp, last seen
// at at.
func seedReport(t *testing.T, st *BunStore, id, fp string, at time.Time) {
	t.Helper()
	_, _, err := st.Upsert(context.Background(), batchReport(id, fp, "", at, at, 1), "", at.Add(-DefaultDedupWindow))
	require.NoError(t, err)
}

// newOp is one occurrence of fingerprint fp at now, as a batch writes it.
func newOp(id, fp string, now time.Time) *batchOp {
	return &batchOp{r: batchReport(id, fp, "", now, now, 1), windowStart: now.Add(-DefaultDedupWindow)}
}

// TestChunks checks the bounds of one multi-row statement on both sides:
// maxRowsPerStatement rows, and maxBytesPerStatement bytes of text.
func TestChunks(t *testing.T) {
	small := func(n int) []*batchOp {
		ops := make([]*batchOp, n)
		for i := range ops {
			ops[i] = &batchOp{r: &Report{Title: "t"}}
		}
		return ops
	}
	assert.Empty(t, chunks(nil))
	assert.Len(t, chunks(small(maxRowsPerStatement)), 1)
	got := chunks(small(maxRowsPerStatement + 1))
	require.Len(t, got, 2)
	assert.Len(t, got[0], maxRowsPerStatement)
	assert.Len(t, got[1], 1)

	big := func(n int) *batchOp { return &batchOp{r: &Report{Title: strings.Repeat("x", n)}} }
	half := maxBytesPerStatement/2 - (&Report{}).textSize()
	assert.Len(t, chunks([]*batchOp{big(half), big(half)}), 1, "exactly the byte bound fits")
	assert.Len(t, chunks([]*batchOp{big(half), big(half + 1)}), 2, "one byte more starts another")
	assert.Len(t, chunks([]*batchOp{big(2 * maxBytesPerStatement)}), 1, "a row larger than the bound is a statement of its own")
}

// The hand-written statements of Upsert name every column of the model, in
// the order of its values: a column added to reportRow must be added there.
func TestReportColumnsAreTheModels(t *testing.T) {
	db := dbtest.Open(t, dbtest.Backends()[0].NewURL(t), Migrations())
	var fields []string
	for _, f := range db.Table(reflect.TypeFor[reportRow]()).Fields {
		fields = append(fields, f.Name)
	}
	assert.Equal(t, fields, reportColumns)
	assert.Len(t, (&reportRow{}).values(func(time.Time) any { return nil }), len(reportColumns))
}
