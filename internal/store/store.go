// Package store opens bugflow's database, runs migrations and translates
// driver errors. It is the only place that knows which SQL engine is in use:
// domain packages receive a *bun.DB (or bun.IDB) and write dialect-neutral bun
// queries.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" database/sql driver

	"github.com/bugflow/bugflow/errs"
)

// Dialect names the SQL engine behind a DB.
type Dialect string

// The supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DefaultSQLiteFile is the database file used when no URL is configured.
const DefaultSQLiteFile = "bugflow.db"

// busyTimeout is how long an SQLite connection waits for another writer
// (another process on the same file) before failing with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// DB is an open database: bun on top, plus what the job queue needs underneath.
type DB struct {
	*bun.DB
	// Dialect says which engine this is.
	Dialect Dialect
	// Pool is the pgx pool of the job queue on PostgreSQL (nil for SQLite).
	Pool *pgxpool.Pool
	// bunPool is the pgx pool behind bun on PostgreSQL.
	bunPool *pgxpool.Pool
}

// Location is a parsed database URL.
type Location struct {
	Dialect Dialect
	// DSN is what the driver receives: a modernc.org/sqlite file: URI or a
	// PostgreSQL connection URL.
	DSN string
}

// Parse interprets a bugflow database URL:
//
//	""                       SQLite file bugflow.db in the working directory
//	sqlite:///abs/path.db    SQLite file at an absolute path
//	sqlite:relative/path.db  SQLite file relative to the working directory
//	sqlite::memory:          a private in-memory SQLite database
//	postgres://... (or postgresql://...)
func Parse(raw string) (Location, error) {
	switch {
	case raw == "":
		return sqliteFile(DefaultSQLiteFile), nil
	case raw == "sqlite::memory:":
		return sqliteMemory(), nil
	case strings.HasPrefix(raw, "sqlite://"):
		path := strings.TrimPrefix(raw, "sqlite://")
		if !strings.HasPrefix(path, "/") {
			return Location{}, errs.InvalidField("database_url", "sqlite:// needs an absolute path (sqlite:///abs/path.db); use sqlite:relative.db for a relative one")
		}
		return sqliteFile(path), nil
	case strings.HasPrefix(raw, "sqlite:"):
		path := strings.TrimPrefix(raw, "sqlite:")
		if path == "" {
			return Location{}, errs.InvalidField("database_url", "sqlite: needs a file path")
		}
		return sqliteFile(path), nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		if _, err := pgxpool.ParseConfig(raw); err != nil {
			return Location{}, errs.InvalidField("database_url", "not a valid PostgreSQL URL: "+redactErr(err, raw))
		}
		return Location{Dialect: Postgres, DSN: raw}, nil
	default:
		return Location{}, errs.InvalidField("database_url", "unsupported scheme: use sqlite:///path.db, sqlite::memory: or postgres://...")
	}
}

func sqliteFile(path string) Location {
	q := sqlitePragmas()
	// file: URIs need forward slashes and escaped specials; filepath.ToSlash
	// plus url.PathEscape on each segment would be overkill for the paths
	// people use, so only '?' and '#' (which would end the path) are escaped.
	p := strings.NewReplacer("?", "%3f", "#", "%23").Replace(filepath.ToSlash(path))
	return Location{Dialect: SQLite, DSN: "file:" + p + "?" + q.Encode()}
}

func sqliteMemory() Location {
	// Each in-memory database gets a unique name so that two engines in one
	// process never share one by accident; cache=shared lets the pool's
	// connections see the same database.
	var b [8]byte
	_, _ = rand.Read(b[:])
	q := sqlitePragmas()
	q.Set("mode", "memory")
	q.Set("cache", "shared")
	return Location{Dialect: SQLite, DSN: "file:bugflow-" + hex.EncodeToString(b[:]) + "?" + q.Encode()}
}

func sqlitePragmas() url.Values {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// In WAL mode, NORMAL syncs the log at checkpoints, not at every
	// commit: a commit survives the process being killed (its frames are in
	// the WAL file, which the next open replays) but not a power loss or an
	// operating system crash, after which the last commits may roll back;
	// the database itself stays consistent either way (SQLite's "WAL mode"
	// documentation). FULL would add an fsync to every commit.
	q.Add("_pragma", "synchronous(NORMAL)")
	// Statement journals (the undo log of one statement inside a
	// transaction, which a multi-row upsert of bug intake's group commit
	// needs) and sorter and temporary-table files stay in memory instead of
	// spilling to a temporary file past 64 KiB: measured with strace, a
	// 64-row batch of new reports wrote about 100 pages to such a file.
	// Durability is unchanged: these files only ever undo or sort within
	// one connection and are discarded at commit or crash either way. The
	// cost is memory for the largest statement or sort, which bugflow's
	// statement bounds (bugs' maxBytesPerStatement) and paged queries keep
	// small.
	q.Add("_pragma", "temp_store(MEMORY)")
	// BEGIN IMMEDIATE takes the write lock at the start of a transaction, so a
	// transaction that reads and then writes waits for busy_timeout instead
	// of failing with SQLITE_BUSY when another writer got there first.
	q.Set("_txlock", "immediate")
	return q
}

// Open connects to the database named by rawURL (see Parse) and checks that
// it answers. It does not run migrations; see Migrate.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	loc, err := Parse(rawURL)
	if err != nil {
		return nil, err
	}
	switch loc.Dialect {
	case Postgres:
		return openPostgres(ctx, loc)
	default:
		return openSQLite(ctx, loc)
	}
}

func openSQLite(ctx context.Context, loc Location) (*DB, error) {
	sqldb, err := sql.Open("sqlite", loc.DSN)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// SQLite allows one writer at a time. River's SQLite driver documents one
	// connection as the way to avoid SQLITE_BUSY between its concurrent
	// internal operations, and an in-memory database must keep a connection
	// open or it vanishes. Code that holds a transaction must therefore do
	// all its work through that transaction (bun.IDB), never through the DB.
	sqldb.SetMaxOpenConns(1)
	sqldb.SetMaxIdleConns(1)
	sqldb.SetConnMaxLifetime(0)
	sqldb.SetConnMaxIdleTime(0)
	if err := sqldb.PingContext(ctx); err != nil {
		_ = sqldb.Close()
		return nil, errs.Wrap(errs.Unavailable, err, "cannot open the SQLite database")
	}
	return &DB{DB: bun.NewDB(sqldb, sqlitedialect.New()), Dialect: SQLite}, nil
}

func openPostgres(ctx context.Context, loc Location) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(loc.DSN)
	if err != nil {
		return nil, errs.InvalidField("database_url", "not a valid PostgreSQL URL: "+redactErr(err, loc.DSN))
	}
	// bun renders every query with its arguments inlined, so each statement
	// text is unique and pgx's default statement cache would prepare each one
	// in an extra round trip (measured: 1.9x the time of a plain insert). bun
	// gets its own pool on the simple protocol; River, whose queries are
	// parameterised and repeat, keeps the caching pool.
	bunCfg := cfg.Copy()
	bunCfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var pools []*pgxpool.Pool
	for _, c := range []*pgxpool.Config{cfg, bunCfg} {
		pool, err := pgxpool.NewWithConfig(ctx, c)
		if err == nil {
			err = pool.Ping(pingCtx)
			pools = append(pools, pool)
		}
		if err != nil {
			for _, p := range pools {
				p.Close()
			}
			return nil, errs.Wrap(errs.Unavailable, errors.New(redactErr(err, loc.DSN)), "cannot connect to PostgreSQL")
		}
	}
	sqldb := stdlib.OpenDBFromPool(pools[1])
	return &DB{DB: bun.NewDB(sqldb, pgdialect.New()), Dialect: Postgres, Pool: pools[0], bunPool: pools[1]}, nil
}

// Close closes bun's handle and the pgx pools.
func (db *DB) Close() error {
	err := db.DB.Close()
	for _, p := range []*pgxpool.Pool{db.Pool, db.bunPool} {
		if p != nil {
			p.Close()
		}
	}
	return err
}

// redactErr renders err without the password that a connection URL may carry.
func redactErr(err error, dsn string) string {
	msg := err.Error()
	if u, perr := url.Parse(dsn); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}

// Now returns the current time as bugflow stores it: UTC, truncated to
// microseconds so that it survives a round trip through either database.
func Now() time.Time {
	return time.Now().UTC().Truncate(time.Microsecond)
}

// Clock returns the clock of a domain service configured with now: its
// readings in UTC truncated to microseconds, as Now's, so that a time a
// service stores reads back equal. A nil now is the system clock (Now).
func Clock(now func() time.Time) func() time.Time {
	if now == nil {
		return Now
	}
	return func() time.Time { return now().UTC().Truncate(time.Microsecond) }
}
