// Package dbtest gives each test a fresh, isolated database on every backend
// bugflow supports: always SQLite (a new file in the test's temp dir) and,
// when BUGFLOW_TEST_POSTGRES_URL is set, PostgreSQL (a new database created
// for the test and dropped when it ends). Storage tests run the same body on
// each, as subtests named "sqlite" and "postgres".
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bugflow/bugflow/internal/store"
)

// PostgresEnv names the variable holding an admin URL of a PostgreSQL server
// for tests, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const PostgresEnv = "BUGFLOW_TEST_POSTGRES_URL"

// Backend is one database engine a test runs against.
type Backend struct {
	Name string // "sqlite" or "postgres"
	// NewURL creates a fresh empty database for t, removed when t ends, and
	// returns its bugflow database URL. Calling it twice gives two databases.
	NewURL func(t testing.TB) string
}

// Backends lists the engines to test on: SQLite, plus PostgreSQL when
// BUGFLOW_TEST_POSTGRES_URL is set.
func Backends() []Backend {
	b := []Backend{{Name: "sqlite", NewURL: sqliteURL}}
	if admin := os.Getenv(PostgresEnv); admin != "" {
		b = append(b, Backend{Name: "postgres", NewURL: func(t testing.TB) string { return postgresURL(t, admin) }})
	}
	return b
}

// ForEach runs fn as a subtest on each backend with a fresh database URL.
func ForEach(t *testing.T, fn func(t *testing.T, url string)) {
	t.Helper()
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) {
			fn(t, b.NewURL(t))
		})
	}
}

// ForEachDB runs fn as a subtest on each backend with a fresh, open database
// on which the given migrations have been applied. The database is closed
// when the subtest ends.
func ForEachDB(t *testing.T, migrations []store.Migration, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	ForEach(t, func(t *testing.T, url string) {
		fn(t, Open(t, url, migrations))
	})
}

// Open opens url, applies migrations and closes the database when t ends.
func Open(t testing.TB, url string, migrations []store.Migration) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("dbtest: open %s: %v", url, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if len(migrations) > 0 {
		if _, err := store.Migrate(ctx, db, migrations); err != nil {
			t.Fatalf("dbtest: migrate: %v", err)
		}
	}
	return db
}

func sqliteURL(t testing.TB) string {
	return "sqlite://" + filepath.ToSlash(filepath.Join(t.TempDir(), "test.db"))
}

// postgresURL creates a database named after a random suffix on the server of
// adminURL and drops it (disconnecting any leftover sessions) when t ends.
func postgresURL(t testing.TB, adminURL string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("dbtest: %s is set but PostgreSQL is unreachable: %v", PostgresEnv, err)
	}
	defer admin.Close(context.Background())

	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	name := "bugflow_test_" + hex.EncodeToString(suffix[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("dbtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			t.Errorf("dbtest: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("dbtest: drop database %s: %v", name, err)
		}
	})

	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatalf("dbtest: parse %s: %v", PostgresEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}
