package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

type stmtProbe struct {
	bun.BaseModel `bun:"table:stmt_probe"`
	K             string    `bun:"k,pk"`
	N             int       `bun:"n,notnull"`
	At            time.Time `bun:"at,notnull"`
}

// Statements run the same prepared or not, in a transaction or not, and a
// time argument compares with the time bun stored as equal, not as text of
// another format.
func TestStmtsRunPreparedOrNot(t *testing.T) {
	dbtest.ForEachDB(t, nil, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, err := db.NewCreateTable().Model((*stmtProbe)(nil)).Exec(ctx)
		require.NoError(t, err)
		at := store.Now()
		_, err = db.NewInsert().Model(&stmtProbe{K: "k", N: 0, At: at}).Exec(ctx)
		require.NoError(t, err)

		st := newStmts(t, db)
		query := st.Rebind("UPDATE stmt_probe SET n = n + ? WHERE k = ? AND at >= ? RETURNING n")
		// bump adds one when since is at most at, and returns the count,
		// or -1 when no row matched.
		bump := func(ctx context.Context, idb bun.IDB, since time.Time) int {
			rows, err := st.Query(ctx, idb, query, 1, "k", st.Time(since))
			require.NoError(t, err)
			defer rows.Close()
			n := -1
			if rows.Next() {
				require.NoError(t, rows.Scan(&n))
			}
			require.NoError(t, rows.Err())
			return n
		}
		inTx := func(since time.Time) (n int) {
			require.NoError(t, store.RunInTx(ctx, db.DB, func(ctx context.Context, tx bun.IDB) error {
				n = bump(ctx, tx, since)
				return nil
			}))
			return n
		}

		assert.False(t, st.Prepared(query))
		assert.Equal(t, 1, inTx(at), "unprepared, in a transaction")
		assert.Equal(t, 2, bump(ctx, db.DB, at), "unprepared, on the database")
		require.NoError(t, st.Prepare(ctx, query))
		assert.Equal(t, db.Dialect == store.SQLite, st.Prepared(query), "prepared on SQLite only")
		assert.Equal(t, 3, inTx(at), "prepared, in a transaction")
		assert.Equal(t, 4, inTx(at), "prepared, in a second transaction")
		assert.Equal(t, 5, bump(ctx, db.DB, at), "prepared, on the database")
		assert.Equal(t, -1, inTx(at.Add(time.Microsecond)), "a microsecond later is later")
		assert.Equal(t, 6, inTx(at.Add(-time.Microsecond)), "a microsecond earlier is earlier")
	})
}

// On PostgreSQL a statement runs without a server-side prepared statement,
// in a transaction or not: preparing one on each transaction's connection
// and closing it afterwards cost two round trips more than the statement.
func TestStmtsPrepareNothingOnPostgres(t *testing.T) {
	dbtest.ForEachDB(t, nil, func(t *testing.T, db *store.DB) {
		if db.Dialect != store.Postgres {
			t.Skip("SQLite prepares its statements")
		}
		ctx := context.Background()
		st := newStmts(t, db)
		query := st.Rebind("SELECT count(*) FROM pg_prepared_statements WHERE ? <> ''")
		require.NoError(t, st.Prepare(ctx, query))
		count := func(ctx context.Context, idb bun.IDB) int {
			rows, err := st.Query(ctx, idb, query, "x")
			require.NoError(t, err)
			defer rows.Close()
			require.True(t, rows.Next())
			var n int
			require.NoError(t, rows.Scan(&n))
			return n
		}
		assert.Equal(t, 0, count(ctx, db.DB), "on the database")
		require.NoError(t, store.RunInTx(ctx, db.DB, func(ctx context.Context, tx bun.IDB) error {
			assert.Equal(t, 0, count(ctx, tx), "in a transaction")
			return nil
		}))
	})
}

// newStmts returns the statements of db, closed when the test ends.
func newStmts(t *testing.T, db *store.DB) *store.Stmts {
	st := store.NewStmts(db.DB)
	t.Cleanup(func() { assert.NoError(t, st.Close()) })
	return st
}

func TestStmtsRebind(t *testing.T) {
	dbtest.ForEachDB(t, nil, func(t *testing.T, db *store.DB) {
		st := store.NewStmts(db.DB)
		got := st.Rebind("SELECT ? WHERE a = ? AND b IN (?, ?)")
		if db.Dialect == store.Postgres {
			assert.Equal(t, "SELECT $1 WHERE a = $2 AND b IN ($3, $4)", got)
		} else {
			assert.Equal(t, "SELECT ? WHERE a = ? AND b IN (?, ?)", got)
		}
	})
}

// A transaction's Query does not wait for a Prepare that waits for the
// transaction's connection (SQLite has one): Prepare completes once the
// transaction ends.
func TestStmtsQueryDoesNotWaitForPrepare(t *testing.T) {
	dbtest.ForEachDB(t, nil, func(t *testing.T, db *store.DB) {
		if db.Dialect != store.SQLite {
			t.Skip("PostgreSQL's pool has a connection for Prepare")
		}
		ctx := context.Background()
		st := newStmts(t, db)
		const query = "SELECT 1"
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		prepared := make(chan error, 1)
		err := store.RunInTx(ctx, db.DB, func(ctx context.Context, tx bun.IDB) error {
			go func() { prepared <- st.Prepare(pctx, query) }()
			// Let Prepare start waiting for the connection this
			// transaction holds.
			time.Sleep(50 * time.Millisecond)
			rows, err := st.Query(ctx, tx, query)
			if err != nil {
				return err
			}
			return rows.Close()
		})
		require.NoError(t, err)
		require.NoError(t, <-prepared, "Prepare once the transaction ended")
		assert.True(t, st.Prepared(query))
	})
}
