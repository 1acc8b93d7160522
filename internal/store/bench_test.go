package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

type benchRow struct {
	bun.BaseModel `bun:"table:bench_rows"`
	ID            int64     `bun:"id,pk,autoincrement"`
	Name          string    `bun:"name,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
}

var benchMigrations = []store.Migration{{ID: "20261122000100", Comment: "bench: rows", Up: func(ctx context.Context, tx bun.Tx) error {
	_, err := tx.NewCreateTable().Model((*benchRow)(nil)).Exec(ctx)
	return err
}}}

// BenchmarkInsert compares a single-row insert through bun (the storage
// layer every domain package uses) with the same insert through plain
// database/sql on the same connection pool, on each backend. The ratio of the
// two ns/op is the storage layer's overhead.
func BenchmarkInsert(b *testing.B) {
	for _, backend := range dbtest.Backends() {
		db := dbtest.Open(b, backend.NewURL(b), benchMigrations)
		ctx := context.Background()
		raw := "INSERT INTO bench_rows (name, created_at) VALUES (?, ?)"
		if db.Dialect == store.Postgres {
			raw = "INSERT INTO bench_rows (name, created_at) VALUES ($1, $2)"
		}
		b.Run(backend.Name+"/bun", func(b *testing.B) {
			for b.Loop() {
				row := &benchRow{Name: "bench", CreatedAt: store.Now()}
				if _, err := db.NewInsert().Model(row).Exec(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(backend.Name+"/database_sql", func(b *testing.B) {
			for b.Loop() {
				if _, err := db.DB.DB.ExecContext(ctx, raw, "bench", store.Now()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
