package dbtest_test

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

func TestDatabasesAreIsolated(t *testing.T) {
	ctx := context.Background()
	var created []string
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			first, second := b.NewURL(t), b.NewURL(t)
			require.NotEqual(t, first, second)
			created = append(created, first, second)

			db1 := dbtest.Open(t, first, nil)
			_, err := db1.ExecContext(ctx, "CREATE TABLE only_here (id INTEGER)")
			require.NoError(t, err)
			db2 := dbtest.Open(t, second, nil)
			_, err = db2.ExecContext(ctx, "SELECT count(*) FROM only_here")
			require.Error(t, err, "a table made in one test database is not in another")
			assert.Equal(t, store.Dialect(b.Name), db1.Dialect)
		})
	}

	admin := os.Getenv(dbtest.PostgresEnv)
	if admin == "" {
		return
	}
	conn, err := pgx.Connect(ctx, admin)
	require.NoError(t, err)
	defer conn.Close(ctx)
	for _, u := range created {
		if !strings.HasPrefix(u, "postgres") {
			continue
		}
		parsed, err := url.Parse(u)
		require.NoError(t, err)
		var n int
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", strings.TrimPrefix(parsed.Path, "/")).Scan(&n))
		assert.Zero(t, n, "database %s is dropped when its test ends", parsed.Path)
	}
}
