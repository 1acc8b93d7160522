package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

func TestRunInTxJoinsTheOuterTransaction(t *testing.T) {
	dbtest.ForEachDB(t, nil, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, err := db.ExecContext(ctx, "CREATE TABLE tx_probe (v INTEGER NOT NULL)")
		require.NoError(t, err)
		count := func() int {
			n, err := db.NewSelect().Table("tx_probe").Count(ctx)
			require.NoError(t, err)
			return int(n)
		}
		insert := func(ctx context.Context, tx bun.IDB, v int) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO tx_probe (v) VALUES (?)", v)
			return err
		}
		assert.False(t, store.InTx(ctx))

		// An inner failure rolls back the outer work too: one transaction.
		boom := errors.New("boom")
		err = store.RunInTx(ctx, db.DB, func(ctx context.Context, tx bun.IDB) error {
			assert.True(t, store.InTx(ctx))
			require.NoError(t, insert(ctx, tx, 1))
			return store.RunInTx(ctx, db.DB, func(ctx context.Context, inner bun.IDB) error {
				require.NoError(t, insert(ctx, inner, 2))
				return boom
			})
		})
		require.ErrorIs(t, err, boom)
		assert.Equal(t, 0, count())

		// Both commit together; on SQLite's one connection the inner call
		// would wait forever if it asked the pool for a second one.
		err = store.RunInTx(ctx, db.DB, func(ctx context.Context, tx bun.IDB) error {
			require.NoError(t, insert(ctx, tx, 1))
			return store.RunInTx(ctx, db.DB, func(ctx context.Context, inner bun.IDB) error {
				return insert(ctx, inner, 2)
			})
		})
		require.NoError(t, err)
		assert.Equal(t, 2, count())
	})
}
