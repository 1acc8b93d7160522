package store_test

import (
	"context"
	"errors"
	"net"
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

func TestParse(t *testing.T) {
	tests := []struct {
		raw       string
		dialect   store.Dialect
		dsnPrefix string
		invalid   bool
	}{
		{raw: "", dialect: store.SQLite, dsnPrefix: "file:bugflow.db?"},
		{raw: "sqlite:///var/lib/bf.db", dialect: store.SQLite, dsnPrefix: "file:/var/lib/bf.db?"},
		{raw: "sqlite:data/bf.db", dialect: store.SQLite, dsnPrefix: "file:data/bf.db?"},
		{raw: "sqlite::memory:", dialect: store.SQLite, dsnPrefix: "file:bugflow-"},
		{raw: "postgres://u:p@localhost:5432/db", dialect: store.Postgres, dsnPrefix: "postgres://u:p@localhost:5432/db"},
		{raw: "postgresql://localhost/db", dialect: store.Postgres, dsnPrefix: "postgresql://localhost/db"},
		{raw: "sqlite://relative.db", invalid: true},
		{raw: "sqlite:", invalid: true},
		{raw: "mysql://localhost/db", invalid: true},
		{raw: "postgres://localhost:notaport/db", invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			loc, err := store.Parse(tt.raw)
			if tt.invalid {
				require.ErrorIs(t, err, errs.ErrInvalid)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.dialect, loc.Dialect)
			assert.True(t, strings.HasPrefix(loc.DSN, tt.dsnPrefix), loc.DSN)
			if tt.dialect == store.SQLite {
				assert.Contains(t, loc.DSN, "_txlock=immediate")
				assert.Contains(t, loc.DSN, "foreign_keys%281%29")
			}
		})
	}
}

func TestParseMemoryDatabasesAreDistinct(t *testing.T) {
	a, err := store.Parse("sqlite::memory:")
	require.NoError(t, err)
	b, err := store.Parse("sqlite::memory:")
	require.NoError(t, err)
	assert.NotEqual(t, a.DSN, b.DSN)
}

func TestOpenUnreachablePostgresIsUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// A loopback port that was free a moment ago and is closed again: the
	// connection is refused at once, and no fixed port is assumed free.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	_, err = store.Open(ctx, "postgres://nobody:secretpw@"+addr+"/none?connect_timeout=2")
	require.ErrorIs(t, err, errs.ErrUnavailable)
	assert.NotContains(t, err.Error(), "secretpw")
}

func TestOpenMemory(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite::memory:")
	require.NoError(t, err)
	defer db.Close()
	_, err = db.ExecContext(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
	require.NoError(t, err)
	// The table must survive the connection going idle and coming back.
	_, err = db.ExecContext(ctx, "INSERT INTO t (id) VALUES (1)")
	require.NoError(t, err)
	var n int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n))
	assert.Equal(t, 1, n)
}

// TestOpenSQLitePragmas checks the settings every SQLite connection gets:
// the write-ahead log with synchronous=NORMAL (a commit survives the process
// being killed) and temporary files in memory (a multi-row statement's
// journal never spills to disk).
func TestOpenSQLitePragmas(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite://"+t.TempDir()+"/p.db")
	require.NoError(t, err)
	defer db.Close()
	var journal string
	var synchronous, tempStore int
	require.NoError(t, db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&journal))
	require.NoError(t, db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&synchronous))
	require.NoError(t, db.QueryRowContext(ctx, "PRAGMA temp_store").Scan(&tempStore))
	assert.Equal(t, "wal", journal)
	assert.Equal(t, 1, synchronous, "synchronous=NORMAL")
	assert.Equal(t, 2, tempStore, "temp_store=MEMORY")
}

type widget struct {
	bun.BaseModel `bun:"table:widgets"`
	ID            int64     `bun:"id,pk,autoincrement"`
	Name          string    `bun:"name,notnull,unique"`
	OwnerID       *int64    `bun:"owner_id"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
}

type owner struct {
	bun.BaseModel `bun:"table:owners"`
	ID            int64 `bun:"id,pk,autoincrement"`
}

var testMigrations = []store.Migration{
	{ID: "20261122000001", Comment: "test: owners", Up: func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewCreateTable().Model((*owner)(nil)).Exec(ctx)
		return err
	}},
	{ID: "20261122000002", Comment: "test: widgets", Up: func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewCreateTable().Model((*widget)(nil)).
			ForeignKey(`("owner_id") REFERENCES "owners" ("id")`).Exec(ctx)
		return err
	}},
}

func TestTranslate(t *testing.T) {
	dbtest.ForEachDB(t, testMigrations, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := &widget{Name: "a", CreatedAt: store.Now()}
		_, err := db.NewInsert().Model(w).Exec(ctx)
		require.NoError(t, store.Translate(err))

		_, err = db.NewInsert().Model(&widget{Name: "a", CreatedAt: store.Now()}).Exec(ctx)
		err = store.Translate(err)
		require.ErrorIs(t, err, errs.ErrConflict, "duplicate unique value")
		assert.Equal(t, errs.Conflict, errs.KindOf(err))

		missing := int64(999)
		_, err = db.NewInsert().Model(&widget{Name: "b", OwnerID: &missing, CreatedAt: store.Now()}).Exec(ctx)
		require.ErrorIs(t, store.Translate(err), errs.ErrConflict, "foreign key to a missing row")

		_, err = db.ExecContext(ctx, "INSERT INTO widgets (name, created_at) VALUES (NULL, ?)", store.Now())
		require.ErrorIs(t, store.Translate(err), errs.ErrInvalid, "not null")

		var got widget
		err = db.NewSelect().Model(&got).Where("name = ?", "nope").Scan(ctx)
		require.ErrorIs(t, store.Translate(err), errs.ErrNotFound)

		require.NoError(t, db.NewSelect().Model(&got).Where("id = ?", w.ID).Scan(ctx))
		assert.True(t, w.CreatedAt.Equal(got.CreatedAt), "time survives a round trip: %v vs %v", w.CreatedAt, got.CreatedAt)

		assert.NoError(t, store.Translate(nil))
		plain := errors.New("boom")
		assert.Same(t, plain, store.Translate(plain))
		assert.ErrorIs(t, store.Translate(context.Canceled), context.Canceled)
	})
}

func TestMigrateIsIdempotentAndAtomic(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url, nil)

		applied, err := store.Migrate(ctx, db, testMigrations)
		require.NoError(t, err)
		assert.Equal(t, []string{"20261122000001", "20261122000002"}, applied)

		applied, err = store.Migrate(ctx, db, testMigrations)
		require.NoError(t, err)
		assert.Empty(t, applied, "second run applies nothing")

		// A migration that fails half-way leaves no trace and is not recorded.
		broken := []store.Migration{{ID: "20261122000003", Comment: "test: broken", Up: func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, "CREATE TABLE half_done (id INTEGER)"); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "THIS IS NOT SQL")
			return err
		}}}
		_, err = store.Migrate(ctx, db, testMigrations, broken)
		require.Error(t, err)
		_, err = db.ExecContext(ctx, "SELECT count(*) FROM half_done")
		require.Error(t, err, "the failed migration's table must be rolled back")

		var n int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM bugflow_migrations").Scan(&n))
		assert.Equal(t, 2, n)

		// A fixed version of it then applies.
		fixed := []store.Migration{{ID: "20261122000003", Comment: "test: fixed", Up: func(ctx context.Context, tx bun.Tx) error {
			_, err := tx.ExecContext(ctx, "CREATE TABLE half_done (id INTEGER)")
			return err
		}}}
		applied, err = store.Migrate(ctx, db, testMigrations, fixed)
		require.NoError(t, err)
		assert.Equal(t, []string{"20261122000003"}, applied)
	})
}

func TestMigrateRejectsDuplicateIDs(t *testing.T) {
	db := dbtest.Open(t, "sqlite::memory:", nil)
	_, err := store.Migrate(context.Background(), db, testMigrations, testMigrations[:1])
	require.ErrorContains(t, err, "used twice")
}

func TestNowIsUTCMicroseconds(t *testing.T) {
	now := store.Now()
	assert.Equal(t, time.UTC, now.Location())
	assert.Zero(t, now.Nanosecond()%1000)
}

func TestClock(t *testing.T) {
	fake := time.Date(2026, 12, 5, 10, 0, 0, 123456789, time.FixedZone("x", 3600))
	got := store.Clock(func() time.Time { return fake })()
	assert.Equal(t, time.UTC, got.Location())
	assert.Equal(t, fake.Truncate(time.Microsecond).UTC(), got)

	sys := store.Clock(nil)()
	assert.Equal(t, time.UTC, sys.Location())
	assert.Zero(t, sys.Nanosecond()%1000)
}
