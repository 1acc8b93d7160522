// Command intake measures bug intake throughput against its baselines in one
// run, on the same machine and the same database, and prints the ratios that
// issue 17 sets targets for:
//
//	raw upsert:  single-row INSERT ... ON CONFLICT DO UPDATE SET n = n + 1
//	             through database/sql (16 workers on PostgreSQL, the one
//	             connection on SQLite), on one hot row and on new keys;
//	bugflow:     POST /api/bug-reports/auto over loopback HTTP to a
//	             full bugflow server (API-key auth), 16 keep-alive
//	             connections, one message repeated and every message new;
//	GET /:       the API root through the full middleware, and a static
//	             JSON reply from a bare httprouter, 16 connections each.
//
// The load generator is Go (net/http, keep-alive), not wrk, so that the
// bench needs nothing but Go; it runs in the same process as the server, as
// wrk would run on the same machine. Usage:
//
//	go run ./bench/intake [-d 5s] [-c 16] [-postgres URL] [-cpuprofile FILE] [-window D] [-max-batch N]
//
// Beside the rates it prints the process's CPU time (user + system, from
// getrusage) per successful call of each side: on a machine that other work
// shares, the rates follow whatever CPU the bench gets, while the CPU time a
// call costs stays much the same, so the CPU ratio is the steadier figure to
// compare changes by. It counts the load generator too (for raw upserts there
// is none), as wrk on the same machine would take its share.
//
// -postgres (default $BUGFLOW_TEST_POSTGRES_URL) adds the PostgreSQL rows; the
// database should be a scratch one: bugflow migrates it and the bench
// creates and drops a table bench_raw_upserts. -cpuprofile FILE writes a CPU
// profile of each bugflow HTTP phase, FILE-<db>-<phase>.prof (db sqlite or
// postgresql, phase repeated or new). The batch column is the mean number of
// occurrences per intake batch (transaction) of the phase.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/server"
)

func main() {
	dur := flag.Duration("d", 5*time.Second, "duration of each measurement")
	conns := flag.Int("c", 16, "concurrent connections (and raw upsert workers on PostgreSQL)")
	pg := flag.String("postgres", os.Getenv("BUGFLOW_TEST_POSTGRES_URL"), "PostgreSQL URL of a scratch database; empty skips PostgreSQL")
	cpuprofile := flag.String("cpuprofile", "", "write CPU profiles of the bugflow HTTP phases to FILE-<db>-<phase>.prof")
	flag.DurationVar(&intake.BatchWindow, "window", 0, "bug intake batch window (0: the default; negative: no wait)")
	flag.IntVar(&intake.MaxBatch, "max-batch", 0, "bug intake batch size (0: the default)")
	flag.Parse()
	if err := run(*dur, *conns, *pg, *cpuprofile); err != nil {
		fmt.Fprintln(os.Stderr, "intake:", err)
		os.Exit(1)
	}
}

// intake is the group commit setting of the measured server.
var intake bugflow.BugIntakeConfig

// row is one line of the result table.
type row struct {
	label        string
	bugflow, raw float64
	// bugflowCPU and rawCPU are the process's CPU time per successful
	// call, in microseconds.
	bugflowCPU, rawCPU float64
	bugflowErrors      int64
	baselineLegend     string
	// batch is the mean number of occurrences per intake batch, 0 where
	// there is none.
	batch float64
}

func run(dur time.Duration, conns int, pgURL, cpuprofile string) error {
	dir, err := os.MkdirTemp("", "bugflow-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dbs := []struct{ name, url string }{{"SQLite", "sqlite://" + filepath.Join(dir, "bench.db")}}
	if pgURL != "" {
		dbs = append(dbs, struct{ name, url string }{"PostgreSQL", pgURL})
	}
	var rows []row
	for _, db := range dbs {
		rs, err := measureDB(db.name, db.url, dur, conns, profiler(cpuprofile, strings.ToLower(db.name)))
		if err != nil {
			return fmt.Errorf("%s: %w", db.name, err)
		}
		rows = append(rows, rs...)
	}
	r, err := measureRoot(dir, dur, conns)
	if err != nil {
		return err
	}
	rows = append(rows, r)

	fmt.Printf("\n%-40s %12s %12s %7s %9s %9s %7s %6s  %s\n", "path", "bugflow/s", "baseline/s", "ratio", "µs CPU", "base µs", "CPU", "batch", "baseline")
	for _, r := range rows {
		errNote := ""
		if r.bugflowErrors > 0 {
			errNote = fmt.Sprintf("  (%d non-2xx answers)", r.bugflowErrors)
		}
		// The CPU ratio is baseline CPU per call over bugflow's: like the
		// rate ratio, above 1 means bugflow is cheaper.
		batch := "-"
		if r.batch > 0 {
			batch = fmt.Sprintf("%.1f", r.batch)
		}
		fmt.Printf("%-40s %12.0f %12.0f %6.2fx %9.1f %9.1f %6.2fx %6s  %s%s\n", r.label, r.bugflow, r.raw, r.bugflow/r.raw,
			r.bugflowCPU, r.rawCPU, r.rawCPU/r.bugflowCPU, batch, r.baselineLegend, errNote)
	}
	fmt.Printf("\n%d connections, %s per measurement, GOMAXPROCS=%d; load generator and server share the machine.\n", conns, dur, runtimeProcs())
	return nil
}

// profiler returns what measureDB calls around each bugflow phase: with a
// file name, it profiles the phase into base-db-phase.prof (one profile per
// phase, so that the repeated and new messages' costs are read apart);
// without, it runs the phase as is.
func profiler(base, db string) func(phase string, measure func()) error {
	return func(phase string, measure func()) error {
		if base == "" {
			measure()
			return nil
		}
		f, err := os.Create(fmt.Sprintf("%s-%s-%s.prof", strings.TrimSuffix(base, ".prof"), db, phase))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		measure()
		pprof.StopCPUProfile()
		return f.Close()
	}
}

// measureDB measures the raw upserts and bugflow's intake on one database.
func measureDB(name, url string, dur time.Duration, conns int, profile func(phase string, measure func()) error) ([]row, error) {
	ctx := context.Background()
	raw, err := store.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	if _, err := raw.DB.ExecContext(ctx, "DROP TABLE IF EXISTS bench_raw_upserts"); err != nil {
		return nil, err
	}
	if _, err := raw.DB.ExecContext(ctx, "CREATE TABLE bench_raw_upserts (k TEXT PRIMARY KEY, n INTEGER NOT NULL, last_seen TIMESTAMP NOT NULL)"); err != nil {
		return nil, err
	}
	defer raw.DB.ExecContext(ctx, "DROP TABLE IF EXISTS bench_raw_upserts") //nolint:errcheck // best effort
	upsert := "INSERT INTO bench_raw_upserts (k, n, last_seen) VALUES (?, 1, ?) ON CONFLICT (k) DO UPDATE SET n = bench_raw_upserts.n + 1, last_seen = excluded.last_seen"
	workers := conns
	if raw.Dialect == store.Postgres {
		upsert = strings.NewReplacer("(?, 1, ?)", "($1, 1, $2)").Replace(upsert)
	} else {
		workers = 1 // SQLite: one connection, one writer
	}
	stamp := time.Now().UnixNano()
	rawHot, _, rawHotCPU := load(dur, workers, func(_, _ int) error {
		_, err := raw.DB.DB.ExecContext(ctx, upsert, "hot", time.Now().UTC())
		return err
	})
	rawNew, _, rawNewCPU := load(dur, workers, func(w, i int) error {
		_, err := raw.DB.DB.ExecContext(ctx, upsert, fmt.Sprintf("new-%d-%d-%d", stamp, w, i), time.Now().UTC())
		return err
	})
	if err := raw.Close(); err != nil {
		return nil, err
	}

	engine, err := bugflow.Open(ctx, bugflow.Config{DatabaseURL: url, Logger: slog.New(slog.DiscardHandler), BugIntake: intake})
	if err != nil {
		return nil, err
	}
	defer engine.Close()
	_, key, err := engine.Auth.CreateAdmin(ctx, &auth.Identity{User: auth.User{Username: "admin", Role: auth.RoleAdmin}}, fmt.Sprintf("bench%d", stamp%1e9))
	if err != nil {
		return nil, fmt.Errorf("create the bench's API key: %w", err)
	}
	base, stop, err := serveOn(server.New(engine, server.WithLogger(slog.New(slog.DiscardHandler))))
	if err != nil {
		return nil, err
	}
	defer stop()
	hc := client(conns)
	post := func(body string) error {
		req, _ := http.NewRequest(http.MethodPost, base+"/api/bug-reports/auto", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		return do(hc, req)
	}
	// meanBatch returns the mean batch size since the stats before.
	before := engine.Bugs.IntakeStats()
	meanBatch := func() float64 {
		now := engine.Bugs.IntakeStats()
		b := float64(now.Occurrences-before.Occurrences) / float64(max(now.Batches-before.Batches, 1))
		before = now
		return b
	}
	var httpHot, httpHotCPU, hotBatch, httpNew, httpNewCPU, newBatch float64
	var hotErrs, newErrs int64
	err = profile("repeated", func() {
		httpHot, hotErrs, httpHotCPU = load(dur, conns, func(_, _ int) error {
			return post(`{"source":"auto:server","errorMessage":"Connection timeout talking to the billing service","context":{"endpoint":"/api/pages/create"}}`)
		})
		hotBatch = meanBatch()
	})
	if err != nil {
		return nil, err
	}
	err = profile("new", func() {
		httpNew, newErrs, httpNewCPU = load(dur, conns, func(w, i int) error {
			return post(fmt.Sprintf(`{"source":"auto:server","errorMessage":"Connection timeout for service %s %s %s","context":{"endpoint":"/api/pages/create"}}`, spell(int(stamp%1e6)), spell(w), spell(i)))
		})
		newBatch = meanBatch()
	})
	if err != nil {
		return nil, err
	}
	return []row{
		{label: name + ", one message repeated", bugflow: httpHot, raw: rawHot, bugflowCPU: httpHotCPU, rawCPU: rawHotCPU, bugflowErrors: hotErrs, baselineLegend: "raw upsert, one hot row", batch: hotBatch},
		{label: name + ", every message new", bugflow: httpNew, raw: rawNew, bugflowCPU: httpNewCPU, rawCPU: rawNewCPU, bugflowErrors: newErrs, baselineLegend: "raw upsert, new keys", batch: newBatch},
	}, nil
}

// measureRoot compares GET / through the full server with a bare router.
func measureRoot(dir string, dur time.Duration, conns int) (row, error) {
	engine, err := bugflow.Open(context.Background(), bugflow.Config{DatabaseURL: "sqlite://" + filepath.Join(dir, "root.db"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return row{}, err
	}
	defer engine.Close()
	full, stopFull, err := serveOn(server.New(engine, server.WithLogger(slog.New(slog.DiscardHandler))))
	if err != nil {
		return row{}, err
	}
	defer stopFull()
	bareRouter := httprouter.New()
	bareRouter.GET("/", func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"message": "Welcome to Workflow Management API", "version": "1.0"})
	})
	bare, stopBare, err := serveOn(bareRouter)
	if err != nil {
		return row{}, err
	}
	defer stopBare()
	get := func(base string) func(int, int) error {
		hc := client(conns)
		return func(_, _ int) error {
			req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
			return do(hc, req)
		}
	}
	bareRate, _, bareCPU := load(dur, conns, get(bare))
	fullRate, fullErrs, fullCPU := load(dur, conns, get(full))
	return row{label: "GET / through the full middleware", bugflow: fullRate, raw: bareRate, bugflowCPU: fullCPU, rawCPU: bareCPU, bugflowErrors: fullErrs, baselineLegend: "bare httprouter, static JSON"}, nil
}

// load runs op from n workers for dur and returns the rate of successful
// calls per second, the number of failed ones and the process's CPU time
// per successful call in microseconds.
func load(dur time.Duration, n int, op func(worker, i int) error) (float64, int64, float64) {
	var ok, failed atomic.Int64
	deadline := time.Now().Add(dur)
	cpu0 := cpuTime()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				if err := op(w, i); err != nil {
					failed.Add(1)
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	return float64(ok.Load()) / elapsed.Seconds(), failed.Load(), float64(cpu.Microseconds()) / float64(max(ok.Load(), 1))
}

func client(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
}

// do sends req and drains the answer; a non-2xx answer is an error.
func do(hc *http.Client, req *http.Request) error {
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// serveOn serves h on a free loopback port.
func serveOn(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// spell writes i in letters, so that messages stay distinct after the
// normaliser folds digits away.
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

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
