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
// database/sql on the same database, on each backend, for an occurrence of a
// known fingerprint ("repeated") and of a new one ("new"). It logs the
// reports/s of each and the ratio to the raw rate.
func BenchmarkAuto(b *testing.B) {
	for _, backend := range dbtest.Backends() {
		db := dbtest.Open(b, backend.NewURL(b), append(bugs.Migrations(), benchMigrations...))
		ctx := context.Background()
		svc := bugs.New(bugs.NewBunStore(db.DB), bugs.Config{})
		raw := "INSERT INTO bench_bug_upserts (k, n, last_seen) VALUES (?, 1, ?) ON CONFLICT (k) DO UPDATE SET n = bench_bug_upserts.n + 1, last_seen = excluded.last_seen"
		if db.Dialect == store.Postgres {
			raw = "INSERT INTO bench_bug_upserts (k, n, last_seen) VALUES ($1, 1, $2) ON CONFLICT (k) DO UPDATE SET n = bench_bug_upserts.n + 1, last_seen = excluded.last_seen"
		}
		rates := map[string]float64{}
		run := func(name string, op func(i int) error) {
			b.Run(backend.Name+"/"+name, func(b *testing.B) {
				i := 0
				for b.Loop() {
					if err := op(i); err != nil {
						b.Fatal(err)
					}
					i++
				}
				rate := float64(b.N) / b.Elapsed().Seconds()
				b.ReportMetric(rate, "reports/s")
				rates[name] = rate
			})
		}
		// Each sub-benchmark gets its own keys so that runs with a larger
		// b.N do not find the rows of earlier runs.
		run("raw_upsert_repeated", func(int) error {
			_, err := db.DB.DB.ExecContext(ctx, raw, "repeated", store.Now())
			return err
		})
		run("auto_repeated", func(i int) error {
			_, _, err := svc.Auto(ctx, bugs.AutoInput{
				Source:       bugs.SourceAutoServer,
				ErrorMessage: fmt.Sprintf("Connection timeout after %dms for order %d", 1000+i%7, i),
				Context:      []byte(`{"endpoint": "/api/pages/create", "method": "POST"}`),
			})
			return err
		})
		stamp := time.Now().UnixNano()
		run("raw_upsert_new", func(i int) error {
			_, err := db.DB.DB.ExecContext(ctx, raw, fmt.Sprintf("new-%d-%d", stamp, i), store.Now())
			return err
		})
		run("auto_new", func(i int) error {
			_, _, err := svc.Auto(ctx, bugs.AutoInput{
				Source:       bugs.SourceAutoServer,
				ErrorMessage: fmt.Sprintf("Connection timeout for service %s-%s", letters(int(stamp%1e6)), letters(i)),
				Context:      []byte(`{"endpoint": "/api/pages/create", "method": "POST"}`),
			})
			return err
		})
		for _, kind := range []string{"repeated", "new"} {
			if r := rates["raw_upsert_"+kind]; r > 0 {
				b.Logf("%s %s: auto %.0f reports/s, raw upsert %.0f/s, ratio %.2f",
					backend.Name, kind, rates["auto_"+kind], r, rates["auto_"+kind]/r)
			}
		}
	}
}
