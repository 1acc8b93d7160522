package audit_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/audit"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

func TestEventsCommitAndRollBackWithTheirChange(t *testing.T) {
	dbtest.ForEachDB(t, audit.Migrations(), func(t *testing.T, db *store.DB) {
		svc := audit.New(audit.NewBunStore(db.DB), audit.Config{})
		ctx := audit.WithActor(context.Background(), audit.Actor{UserID: "u7", Username: "alice"})

		boom := errors.New("the change failed")
		err := store.RunInTx(ctx, db.DB, func(ctx context.Context, _ bun.IDB) error {
			require.NoError(t, svc.Record(ctx, audit.Change{Action: "delete_workflow", TargetType: "Workflow", TargetID: "1", Before: map[string]string{"name": "gone"}}))
			return boom
		})
		require.ErrorIs(t, err, boom)
		_, n, err := svc.List(ctx, audit.Filter{}, 1, 10)
		require.NoError(t, err)
		assert.Zero(t, n, "a rolled-back change leaves no event")

		err = store.RunInTx(ctx, db.DB, func(ctx context.Context, _ bun.IDB) error {
			return svc.Record(ctx, audit.Change{Action: "update_workflow", TargetType: "Workflow", TargetID: "1",
				Before: map[string]string{"name": "a"}, After: map[string]string{"name": "b"}})
		})
		require.NoError(t, err)
		events, n, err := svc.List(ctx, audit.Filter{}, 1, 10)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		e := events[0]
		require.NotNil(t, e.UserID)
		assert.Equal(t, "u7", *e.UserID)
		assert.Equal(t, "alice", e.Username)
		assert.JSONEq(t, `{"name":"a"}`, string(e.Before))
		assert.JSONEq(t, `{"name":"b"}`, string(e.After))

		got, err := svc.Get(ctx, e.ID)
		require.NoError(t, err)
		assert.Equal(t, e, got)
		_, err = svc.Get(ctx, e.ID+1)
		assert.ErrorIs(t, err, errs.ErrNotFound)
	})
}

func TestListFilters(t *testing.T) {
	dbtest.ForEachDB(t, audit.Migrations(), func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
		svc := audit.New(audit.NewBunStore(db.DB), audit.Config{Now: func() time.Time { return now }})
		record := func(ctx context.Context, action, typ, id string) {
			t.Helper()
			require.NoError(t, svc.Record(ctx, audit.Change{Action: action, TargetType: typ, TargetID: id, After: id}))
			now = now.Add(time.Hour)
		}
		alice := audit.WithActor(context.Background(), audit.Actor{UserID: "u1", Username: "alice"})
		bob := audit.WithActor(context.Background(), audit.Actor{UserID: "u2", Username: "bob"})
		record(alice, "create_workflow", "Workflow", "5")       // 12:00
		record(bob, "update_workflow", "Workflow", "5")         // 13:00
		record(bob, "update_workflow", "Workflow", "6")         // 14:00
		record(context.Background(), "transition", "Task", "5") // 15:00, no actor

		ids := func(f audit.Filter) []string {
			t.Helper()
			events, n, err := svc.List(context.Background(), f, 1, 100)
			require.NoError(t, err)
			require.Len(t, events, n)
			var out []string
			for _, e := range events {
				out = append(out, e.Action+"/"+e.TargetType+"/"+e.TargetID)
			}
			return out
		}
		at := func(h int) *time.Time { v := time.Date(2026, 12, 5, h, 0, 0, 0, time.UTC); return &v }
		justBefore := func(h int) *time.Time { v := at(h).Add(-time.Microsecond); return &v }

		assert.Equal(t, []string{"transition/Task/5", "update_workflow/Workflow/6", "update_workflow/Workflow/5", "create_workflow/Workflow/5"}, ids(audit.Filter{}), "newest first")
		assert.Equal(t, []string{"update_workflow/Workflow/6", "update_workflow/Workflow/5"}, ids(audit.Filter{Action: "update_workflow", UserID: "u2", TargetType: "Workflow"}))
		assert.Equal(t, []string{"update_workflow/Workflow/5", "create_workflow/Workflow/5"}, ids(audit.Filter{TargetType: "Workflow", TargetID: "5"}))
		// Since and Until are inclusive: an event exactly at a bound is in.
		assert.Equal(t, []string{"update_workflow/Workflow/6", "update_workflow/Workflow/5"}, ids(audit.Filter{Since: at(13), Until: at(14)}))
		assert.Equal(t, []string{"update_workflow/Workflow/5"}, ids(audit.Filter{Since: justBefore(13), Until: justBefore(14)}))

		events, n, err := svc.List(context.Background(), audit.Filter{}, 2, 3)
		require.NoError(t, err)
		assert.Equal(t, 4, n)
		require.Len(t, events, 1)
		assert.Equal(t, "create_workflow", events[0].Action)
		assert.Equal(t, "null", string(events[0].Before), "a creation has no before")
	})
}

func TestListRefusesBadInput(t *testing.T) {
	dbtest.ForEachDB(t, audit.Migrations(), func(t *testing.T, db *store.DB) {
		svc := audit.New(audit.NewBunStore(db.DB), audit.Config{})
		ctx := context.Background()
		early, late := time.Now(), time.Now().Add(time.Hour)
		for name, tc := range map[string]struct {
			f          audit.Filter
			page, size int
			field      string
		}{
			"page size over the max": {size: audit.MaxPageSize + 1, field: "page_size"},
			"negative page":          {page: -1, field: "page"},
			"long action":            {f: audit.Filter{Action: strings.Repeat("a", audit.MaxNameLength+1)}, field: "action"},
			"NUL in target id":       {f: audit.Filter{TargetID: "1\x00"}, field: "target_id"},
			"range backwards":        {f: audit.Filter{Since: &late, Until: &early}, field: "end_date"},
		} {
			t.Run(name, func(t *testing.T) {
				_, _, err := svc.List(ctx, tc.f, tc.page, tc.size)
				require.ErrorIs(t, err, errs.ErrInvalid)
				assert.Contains(t, errs.As(err).Fields, tc.field)
			})
		}
		_, n, err := svc.List(ctx, audit.Filter{Action: strings.Repeat("a", audit.MaxNameLength)}, 1, audit.MaxPageSize)
		require.NoError(t, err, "the limits themselves are allowed")
		assert.Zero(t, n)
	})
}
