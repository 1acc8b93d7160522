package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/server"
)

// rawUpsertRow is the baseline of BenchmarkAutoHTTP: the smallest table a
// deduplicating intake could write, one row per key with a count.
type rawUpsertRow struct {
	bun.BaseModel `bun:"table:bench_http_upserts"`
	K             string    `bun:"k,pk"`
	N             int       `bun:"n,notnull"`
	LastSeen      time.Time `bun:"last_seen,notnull"`
}

var rawUpsertMigration = []store.Migration{{ID: "20261123100095", Comment: "server bench: baseline upsert table", Up: func(ctx context.Context, tx bun.Tx) error {
	_, err := tx.NewCreateTable().Model((*rawUpsertRow)(nil)).Exec(ctx)
	return err
}}}

// BenchmarkAutoHTTP sends POST /api/bug-reports/auto through the whole
// stack (loopback TCP, middleware, authentication by API key, decoding,
// normalising, the deduplicating upsert, the envelope) and compares its
// rate with a raw single-row upsert through database/sql on the same
// database in the same run, for an occurrence of a known error ("repeated")
// and of a new one ("new"), on each backend. It logs reports/s and ratios.
func BenchmarkAutoHTTP(b *testing.B) {
	for _, backend := range dbtest.Backends() {
		url := backend.NewURL(b)
		engine, err := bugflow.Open(context.Background(), bugflow.Config{DatabaseURL: url, AdminKey: testAdminKey, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		ts := httptest.NewServer(server.New(engine, server.WithLogger(slog.New(slog.DiscardHandler))))
		raw := dbtest.Open(b, url, rawUpsertMigration)
		upsert := "INSERT INTO bench_http_upserts (k, n, last_seen) VALUES (?, 1, ?) ON CONFLICT (k) DO UPDATE SET n = bench_http_upserts.n + 1, last_seen = excluded.last_seen"
		if raw.Dialect == store.Postgres {
			upsert = strings.NewReplacer("(?, 1, ?)", "($1, 1, $2)").Replace(upsert)
		}
		ctx := context.Background()
		hc := ts.Client()
		post := func(body string) error {
			req, _ := http.NewRequest(http.MethodPost, ts.URL+"/api/bug-reports/auto", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+testAdminKey)
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
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
		stamp := time.Now().UnixNano()
		run("raw_upsert_repeated", func(int) error {
			_, err := raw.DB.DB.ExecContext(ctx, upsert, "repeated", store.Now())
			return err
		})
		run("http_auto_repeated", func(i int) error {
			return post(fmt.Sprintf(`{"source": "auto:server", "errorMessage": "Connection timeout after %dms for order %d", "context": {"endpoint": "/api/pages/create"}}`, 1000+i%7, i))
		})
		run("raw_upsert_new", func(i int) error {
			_, err := raw.DB.DB.ExecContext(ctx, upsert, fmt.Sprintf("new-%d-%d", stamp, i), store.Now())
			return err
		})
		run("http_auto_new", func(i int) error {
			return post(fmt.Sprintf(`{"source": "auto:server", "errorMessage": "Connection timeout for service %s-%s", "context": {"endpoint": "/api/pages/create"}}`, spell(int(stamp%1e6)), spell(i)))
		})
		for _, kind := range []string{"repeated", "new"} {
			if r := rates["raw_upsert_"+kind]; r > 0 {
				b.Logf("%s %s: auto over HTTP %.0f reports/s, raw upsert %.0f/s, ratio %.2f",
					backend.Name, kind, rates["http_auto_"+kind], r, rates["http_auto_"+kind]/r)
			}
		}
		ts.Close()
		_ = engine.Close()
	}
}

// spell writes i in letters so that messages stay distinct after the
// normaliser turns digits into a placeholder.
func spell(i int) string {
	b := []byte{}
	for {
		b = append(b, byte('a'+i%26))
		i /= 26
		if i == 0 {
			return string(b)
		}
	}
}
