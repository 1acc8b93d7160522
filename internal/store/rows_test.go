package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

func TestExecOne(t *testing.T) {
	dbtest.ForEachDB(t, testMigrations, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := &widget{Name: "a", CreatedAt: store.Now()}
		_, err := db.NewInsert().Model(w).Exec(ctx)
		require.NoError(t, err)

		rename := func(id int64, name any) store.Execer {
			return db.NewUpdate().Model((*widget)(nil)).Set("name = ?", name).Where("id = ?", id)
		}
		require.NoError(t, store.ExecOne(ctx, rename(w.ID, "b"), "widget not found"))

		err = store.ExecOne(ctx, rename(w.ID+1, "c"), "widget %d not found", w.ID+1)
		require.ErrorIs(t, err, errs.ErrNotFound)
		assert.Equal(t, "widget 2 not found", errs.As(err).Message)

		err = store.ExecOne(ctx, rename(w.ID, nil), "widget %d not found", w.ID)
		require.ErrorIs(t, err, errs.ErrInvalid, "a driver error is translated, not reported as not found")

		n, err := store.Exec(ctx, db.NewDelete().Model((*widget)(nil)).Where("id >= ?", 0))
		require.NoError(t, err)
		assert.Equal(t, int64(1), n)
	})
}

func TestScanOne(t *testing.T) {
	dbtest.ForEachDB(t, testMigrations, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := &widget{Name: "a", CreatedAt: store.Now()}
		_, err := db.NewInsert().Model(w).Exec(ctx)
		require.NoError(t, err)

		var got widget
		require.NoError(t, store.ScanOne(ctx, db.NewSelect().Model(&got).Where("id = ?", w.ID), "widget not found"))
		assert.Equal(t, "a", got.Name)

		err = store.ScanOne(ctx, db.NewSelect().Model(&got).Where("id = ?", w.ID+1), "widget %d not found", w.ID+1)
		require.ErrorIs(t, err, errs.ErrNotFound)
		assert.Equal(t, "widget 2 not found", errs.As(err).Message)

		err = store.ScanOne(ctx, db.NewSelect().Model(&got).Where("no_such_column = 1"), "widget not found")
		require.Error(t, err)
		assert.NotErrorIs(t, err, errs.ErrNotFound, "a broken query is not a missing row")
	})
}

type document struct {
	bun.BaseModel `bun:"table:documents"`
	ID            int64                        `bun:"id,pk,autoincrement"`
	Tags          store.JSON[[]string]         `bun:"tags,type:text,notnull"`
	Meta          *store.JSON[map[string]int]  `bun:"meta,type:text"`
	Raw           *store.JSON[json.RawMessage] `bun:"raw,type:text"`
}

var documentMigrations = []store.Migration{{ID: "20261122000010", Comment: "test: documents", Up: func(ctx context.Context, tx bun.Tx) error {
	_, err := tx.ExecContext(ctx, "CREATE TABLE documents (id INTEGER PRIMARY KEY, tags TEXT NOT NULL, meta TEXT, raw TEXT)")
	return err
}}}

func TestJSONColumn(t *testing.T) {
	dbtest.ForEachDB(t, documentMigrations, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		raw := json.RawMessage(`{ "b": 1,  "a": [ 2 ] }`)
		docs := []document{
			{ID: 1, Tags: store.JSON[[]string]{V: []string{"x", "y"}}, Meta: store.NullJSON(map[string]int{"n": 3}, true), Raw: store.NullJSON(raw, true)},
			{ID: 2, Tags: store.JSON[[]string]{V: []string{}}, Meta: store.NullJSON(map[string]int(nil), false), Raw: store.NullJSON(json.RawMessage(nil), false)},
		}
		_, err := db.NewInsert().Model(&docs).Exec(ctx)
		require.NoError(t, err)

		var text []string
		require.NoError(t, db.NewSelect().Table("documents").Column("raw").Order("id").Scan(ctx, &text))
		assert.Equal(t, string(raw), text[0], "raw JSON is stored byte for byte")

		var got []document
		require.NoError(t, db.NewSelect().Model(&got).Order("id").Scan(ctx))
		require.Len(t, got, 2)
		assert.Equal(t, []string{"x", "y"}, got[0].Tags.V)
		assert.Equal(t, map[string]int{"n": 3}, got[0].Meta.Get())
		assert.Equal(t, raw, got[0].Raw.Get())
		assert.Equal(t, []string{}, got[1].Tags.V)
		assert.Nil(t, got[1].Meta, "NULL reads back as nil")
		assert.Nil(t, got[1].Raw.Get())

		_, err = db.ExecContext(ctx, "INSERT INTO documents (id, tags) VALUES (3, 'not json')")
		require.NoError(t, err)
		err = db.NewSelect().Model(&got).Where("id = 3").Scan(ctx)
		require.ErrorContains(t, err, "decode json column")
	})
}

func TestCreateIndexes(t *testing.T) {
	dbtest.ForEachDB(t, testMigrations, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		indexes := []store.Index{
			{Table: "widgets", Name: "widgets_lower_name_idx", Columns: []string{"lower(name)"}, Unique: true},
			{Table: "widgets", Name: "widgets_owner_idx", Columns: []string{"owner_id", "created_at"}, Where: "owner_id IS NOT NULL"},
		}
		require.NoError(t, store.CreateIndexes(ctx, db.DB, indexes...))
		require.NoError(t, store.CreateIndexes(ctx, db.DB, indexes...), "creating them again is a no-op")

		_, err := db.NewInsert().Model(&widget{Name: "Ab", CreatedAt: store.Now()}).Exec(ctx)
		require.NoError(t, err)
		_, err = db.NewInsert().Model(&widget{Name: "aB", CreatedAt: store.Now()}).Exec(ctx)
		require.ErrorIs(t, store.Translate(err), errs.ErrConflict, "the unique expression index holds")

		err = store.CreateIndexes(ctx, db.DB, store.Index{Table: "no_such_table", Name: "x_idx", Columns: []string{"id"}})
		require.ErrorContains(t, err, "create index x_idx")
	})
}

func TestPage(t *testing.T) {
	assert.Equal(t, store.Page{Limit: 20, Offset: 0}, store.PageNumber(1, 20))
	assert.Equal(t, store.Page{Limit: 20, Offset: 0}, store.PageNumber(0, 20), "page 0 is the first")
	assert.Equal(t, store.Page{Limit: 20, Offset: 40}, store.PageNumber(3, 20))

	dbtest.ForEachDB(t, testMigrations, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, name := range []string{"a", "b", "c"} {
			_, err := db.NewInsert().Model(&widget{Name: name, CreatedAt: store.Now()}).Exec(ctx)
			require.NoError(t, err)
		}
		names := func(p store.Page) []string {
			var out []string
			require.NoError(t, p.Apply(db.NewSelect().Model((*widget)(nil)).Column("name").Order("name")).Scan(ctx, &out))
			return out
		}
		assert.Equal(t, []string{"a", "b", "c"}, names(store.Page{}), "no limit")
		assert.Equal(t, []string{"a", "b"}, names(store.Page{Limit: 2}))
		assert.Equal(t, []string{"c"}, names(store.PageNumber(2, 2)), "the last page, n-1 rows before it")
		assert.Empty(t, names(store.Page{Limit: 2, Offset: 3}), "past the end is empty")
		assert.Equal(t, []string{"a", "b", "c"}, names(store.Page{Offset: -1}), "a negative offset counts as 0")
	})
}

func TestMigrateTo(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url, nil)
		applied, err := store.MigrateTo(ctx, db, "20261122000001", testMigrations)
		require.NoError(t, err)
		assert.Equal(t, []string{"20261122000001"}, applied)
		applied, err = store.Migrate(ctx, db, testMigrations)
		require.NoError(t, err)
		assert.Equal(t, []string{"20261122000002"}, applied, "the rest applies later")
	})
}

func TestUTC(t *testing.T) {
	assert.Nil(t, store.UTC(nil))
	local := store.Now().In(time.FixedZone("x", 3600))
	got := store.UTC(&local)
	assert.Equal(t, time.UTC, got.Location())
	assert.True(t, got.Equal(local))
}
