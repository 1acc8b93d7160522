package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// Migration is one forward-only schema change owned by a domain package.
type Migration struct {
	// ID orders migrations across all packages and must be unique; use the
	// UTC time of writing, YYYYMMDDHHMMSS.
	ID string
	// Comment says what the migration does, e.g. "auth: users and sessions".
	Comment string
	// Up applies the change inside a transaction: it either applies whole or
	// not at all, and is recorded only when it succeeded.
	Up func(ctx context.Context, tx bun.Tx) error
}

// Table names used by bun/migrate for bugflow's own schema history.
const (
	migrationsTable = "bugflow_migrations"
	locksTable      = "bugflow_migration_locks"
)

// Migrate applies every migration in sets that the database has not seen yet,
// in ID order. Running it again is a no-op. On PostgreSQL a session advisory
// lock makes concurrent replicas take turns. It returns the IDs it applied.
func Migrate(ctx context.Context, db *DB, sets ...[]Migration) ([]string, error) {
	return MigrateTo(ctx, db, "", sets...)
}

// MigrateTo is Migrate up to and including the migration lastID ("" for
// all): the database is left as the release whose newest migration that was
// would leave it, which is how upgrade tests build their starting points.
func MigrateTo(ctx context.Context, db *DB, lastID string, sets ...[]Migration) ([]string, error) {
	collection := migrate.NewMigrations()
	seen := map[string]string{}
	for _, set := range sets {
		for _, m := range set {
			if m.ID == "" || m.Up == nil {
				return nil, fmt.Errorf("migrate: migration %q (%s) needs an ID and an Up func", m.ID, m.Comment)
			}
			if other, dup := seen[m.ID]; dup {
				return nil, fmt.Errorf("migrate: migration ID %s used twice (%q and %q)", m.ID, other, m.Comment)
			}
			seen[m.ID] = m.Comment
			if lastID != "" && m.ID > lastID {
				continue
			}
			collection.Add(migrate.Migration{
				Name:    m.ID,
				Comment: m.Comment,
				Up: func(ctx context.Context, _ *migrate.Migrator, _ *migrate.Migration) error {
					return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return m.Up(ctx, tx) })
				},
			})
		}
	}

	var applied []string
	err := WithMigrationLock(ctx, db, func(ctx context.Context) error {
		var err error
		applied, err = apply(ctx, db, collection)
		return err
	})
	return applied, err
}

// HasMigration reports whether the migration id is recorded as applied. It
// fails when the history cannot be read, as in a database that lost its
// schema.
func HasMigration(ctx context.Context, db bun.IDB, id string) (bool, error) {
	n, err := db.NewSelect().Table(migrationsTable).Where("name = ?", id).Count(ctx)
	if err != nil {
		return false, fmt.Errorf("migrate: read history: %w", Translate(err))
	}
	return n > 0, nil
}

func apply(ctx context.Context, db *DB, collection *migrate.Migrations) ([]string, error) {
	migrator := migrate.NewMigrator(db.DB, collection,
		migrate.WithTableName(migrationsTable),
		migrate.WithLocksTableName(locksTable),
		migrate.WithMarkAppliedOnSuccess(true),
	)
	if err := migrator.Init(ctx); err != nil {
		return nil, fmt.Errorf("migrate: init: %w", Translate(err))
	}
	if len(collection.Sorted()) == 0 {
		return nil, nil // bun's migrator refuses an empty set; there is nothing to do
	}
	group, err := migrator.Migrate(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", Translate(err))
	}
	applied := make([]string, 0, len(group.Migrations))
	for _, m := range group.Migrations {
		applied = append(applied, m.Name)
	}
	slices.Sort(applied)
	return applied, nil
}

// WithMigrationLock runs fn while holding the schema migration lock, so that
// replicas starting together take turns. On PostgreSQL it is a session
// advisory lock on a dedicated connection (released even if the process dies,
// unlike a lock row). SQLite needs nothing: each migration transaction takes
// the database's write lock, and an already-applied migration is skipped.
func WithMigrationLock(ctx context.Context, db *DB, fn func(ctx context.Context) error) error {
	if db.Dialect != Postgres {
		return fn(ctx)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: lock: %w", Translate(err))
	}
	h := fnv.New64a()
	h.Write([]byte(strings.ToLower(migrationsTable)))
	key := int64(h.Sum64())
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", key); err != nil {
		_ = conn.Close()
		return fmt.Errorf("migrate: lock: %w", Translate(err))
	}
	defer func() {
		// A fresh context: the caller's may be cancelled, and the lock must
		// still be released before the connection returns to the pool.
		_, _ = conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock(?)", key)
		_ = conn.Close()
	}()
	return fn(ctx)
}
