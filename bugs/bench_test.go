package bugs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/bugs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

// benchUpsertRow is the baseline: the smallest table a deduplicating intake
// could write, one row per key with a count.
type benchUpsertRow struct {
	bun.BaseModel `bun:"table:bench_bug_upserts"`
	K             string    `bun:"k,pk"`
	N             int       `bun:"n,notnull"`
	LastSeen      time.Time `bun:"last_seen,notnull"`
}

var benchMigrations = []store.Migration{{ID: "20261123100090", Comment: "bugs bench: baseline upsert table", Up: func(ctx context.Context, tx bun.Tx) error {
	_, err := tx.NewCreateTable().Model((*benchUpsertRow)(nil)).Exec(ctx)
	return err
}}}

// letters spells i in base 26 so that messages differ after normalisation
// (digits would all become the same placeholder).
func letters(i int) string {
	b := []byte{}
	for {
		b = append(b, byte('a'+i%26))
		i /= 26
		if i == 0 {
			return string(b)
		}
	}
}

// BenchmarkAuto measures Service.Auto (validation, sanitising, normalising,
// fingerprinting and the bun upsert) against a raw single-row upsert through
// database/sql on the same database, on each backend, for occurrences of a
// known fingerprint ("repeated") and of new ones ("new"). Each iteration
// runs one raw upsert and one Auto call, timed apart, so that both see the
// same load on a shared machine; the metrics are auto-reports/s,
// raw-upserts/s and their ratio (ns/op covers both calls).
func BenchmarkAuto(b *testing.B) {
	for _, backend := range dbtest.Backends() {
		db := dbtest.Open(b, backend.NewURL(b), append(bugs.Migrations(), benchMigrations...))
		ctx := context.Background()
		svc := bugs.New(bugs.NewBunStore(db.DB), bugs.Config{})
		raw := "INSERT INTO bench_bug_upserts (k, n, last_seen) VALUES (?, 1, ?) ON CONFLICT (k) DO UPDATE SET n = bench_bug_upserts.n + 1, last_seen = excluded.last_seen"
		if db.Dialect == store.Postgres {
			raw = "INSERT INTO bench_bug_upserts (k, n, last_seen) VALUES ($1, 1, $2) ON CONFLICT (k) DO UPDATE SET n = bench_bug_upserts.n + 1, last_seen = excluded.last_seen"
		}
		ctxJSON := []byte(`{"endpoint": "/api/pages/create", "method": "POST"}`)
		// run times rawOp and autoOp in turn; i numbers the iteration and
		// run the benchmark round, so that keys of "new" never repeat
		// across rounds.
		run := func(name string, rawOp, autoOp func(run, i int) error) {
			round := 0
			b.Run(backend.Name+"/"+name, func(b *testing.B) {
				round++
				var rawTime, autoTime time.Duration
				i := 0
				for b.Loop() {
					start := time.Now()
					if err := rawOp(round, i); err != nil {
						b.Fatal(err)
					}
					mid := time.Now()
					if err := autoOp(round, i); err != nil {
						b.Fatal(err)
					}
					rawTime += mid.Sub(start)
					autoTime += time.Since(mid)
					i++
				}
				autoRate := float64(b.N) / autoTime.Seconds()
				rawRate := float64(b.N) / rawTime.Seconds()
				b.ReportMetric(autoRate, "auto-reports/s")
				b.ReportMetric(rawRate, "raw-upserts/s")
				b.ReportMetric(autoRate/rawRate, "ratio")
			})
		}
		run("repeated",
			func(int, int) error {
				_, err := db.DB.DB.ExecContext(ctx, raw, "repeated", store.Now())
				return err
			},
			func(_, i int) error {
				_, _, err := svc.Auto(ctx, bugs.AutoInput{
					Source:       bugs.SourceAutoServer,
					ErrorMessage: fmt.Sprintf("Connection timeout after %dms for order %d", 1000+i%7, i),
					Context:      ctxJSON,
				})
				return err
			})
		run("new",
			func(round, i int) error {
				_, err := db.DB.DB.ExecContext(ctx, raw, fmt.Sprintf("new-%d-%d", round, i), store.Now())
				return err
			},
			func(round, i int) error {
				// Letters, not digits: digits would normalise away and
				// make every message the same report.
				_, _, err := svc.Auto(ctx, bugs.AutoInput{
					Source:       bugs.SourceAutoServer,
					ErrorMessage: fmt.Sprintf("Connection timeout for service %s-%s", letters(round), letters(i)),
					Context:      ctxJSON,
				})
				return err
			})
	}
}
