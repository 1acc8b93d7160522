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
// The load generator (-load) is wrk where it is on PATH, as in the issue's
// own figures (2 threads, a Lua script that gives each new message a word of
// its own), else a Go net/http client in the bench's process; the header
// says which ran. Either shares the machine with the server. Usage:
//
//	go run ./bench/intake [-d 5s] [-c 16] [-load auto|wrk|go] [-postgres URL] [-cpuprofile FILE] [-window D] [-max-batch N]
//
// Beside the rates it prints the process's CPU time (user + system, from
// getrusage) per successful call of each side: on a machine that other work
// shares, the rates follow whatever CPU the bench gets, while the CPU time a
// call costs stays much the same, so the CPU ratio is the steadier figure to
// compare changes by. It counts the load generator too (wrk's from its
// rusage; for raw upserts there is none).
//
// -postgres (default $BUGFLOW_TEST_POSTGRES_URL) adds the PostgreSQL rows; the
// database should be a scratch one: bugflow migrates it and the bench
// creates and drops a table bench_raw_upserts. -cpuprofile FILE writes a CPU
// profile of each bugflow HTTP phase, FILE-<db>-<phase>.prof (db sqlite or
// postgresql, phase repeated or new; FILE-sqlite-root.prof is GET / through the
// full middleware). The batch column is the mean number of
// occurrences per intake batch (transaction) of the phase.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
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
	loadKind := flag.String("load", "auto", "HTTP load generator: wrk, go (in this process) or auto (wrk if on PATH)")
	flag.Parse()
	gen, err := newLoader(*loadKind)
	if err == nil {
		err = run(*dur, *conns, *pg, *cpuprofile, gen)
	}
	if err != nil {
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

func run(dur time.Duration, conns int, pgURL, cpuprofile string, gen loader) error {
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
		rs, err := measureDB(db.name, db.url, dur, conns, gen, profiler(cpuprofile, strings.ToLower(db.name)))
		if err != nil {
			return fmt.Errorf("%s: %w", db.name, err)
		}
		rows = append(rows, rs...)
	}
	r, err := measureRoot(dir, dur, conns, gen, profiler(cpuprofile, "sqlite"))
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
	fmt.Printf("\n%d connections, %s per measurement, GOMAXPROCS=%d; HTTP load from %s, which shares the machine with the server.\n", conns, dur, runtime.GOMAXPROCS(0), gen.name())
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
func measureDB(name, url string, dur time.Duration, conns int, gen loader, profile func(phase string, measure func()) error) ([]row, error) {
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
	post := func(body string) request {
		return request{method: http.MethodPost, url: base + "/api/bug-reports/auto", body: body,
			headers: map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}}
	}
	// meanBatch returns the mean batch size since the stats before.
	before := engine.Bugs.IntakeStats()
	meanBatch := func() float64 {
		now := engine.Bugs.IntakeStats()
		b := float64(now.Occurrences-before.Occurrences) / float64(max(now.Batches-before.Batches, 1))
		before = now
		return b
	}
	var hot, fresh result
	var hotBatch, newBatch float64
	var loadErr error
	err = profile("repeated", func() {
		hot, loadErr = gen.run(dur, conns, post(`{"source":"auto:server","errorMessage":"Connection timeout talking to the billing service","context":{"endpoint":"/api/pages/create"}}`))
		hotBatch = meanBatch()
	})
	if err = cmp.Or(err, loadErr); err != nil {
		return nil, err
	}
	reportsBefore, err := countReports(ctx, url)
	if err != nil {
		return nil, err
	}
	err = profile("new", func() {
		fresh, loadErr = gen.run(dur, conns, post(`{"source":"auto:server","errorMessage":"Connection timeout for service `+unique+`","context":{"endpoint":"/api/pages/create"}}`))
		newBatch = meanBatch()
	})
	if err = cmp.Or(err, loadErr); err != nil {
		return nil, err
	}
	// Every successful call of the phase must have made a report of its
	// own, or the load generator did not send new messages.
	reportsAfter, err := countReports(ctx, url)
	if err != nil {
		return nil, err
	}
	if made, want := reportsAfter-reportsBefore, int64(fresh.rate*dur.Seconds()*0.9); made < want {
		return nil, fmt.Errorf("%s, every message new: %d reports made, want about %.0f: the messages were not new", name, made, fresh.rate*dur.Seconds())
	}
	return []row{
		{label: name + ", one message repeated", bugflow: hot.rate, raw: rawHot, bugflowCPU: hot.cpu, rawCPU: rawHotCPU, bugflowErrors: hot.failed, baselineLegend: "raw upsert, one hot row", batch: hotBatch},
		{label: name + ", every message new", bugflow: fresh.rate, raw: rawNew, bugflowCPU: fresh.cpu, rawCPU: rawNewCPU, bugflowErrors: fresh.failed, baselineLegend: "raw upsert, new keys", batch: newBatch},
	}, nil
}

// countReports counts the bug reports stored in the database at url.
func countReports(ctx context.Context, url string) (int64, error) {
	db, err := store.Open(ctx, url)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int64
	err = db.DB.QueryRowContext(ctx, "SELECT count(*) FROM bug_reports").Scan(&n)
	return n, err
}

// measureRoot compares GET / through the full server with a bare router.
func measureRoot(dir string, dur time.Duration, conns int, gen loader, profile func(phase string, measure func()) error) (row, error) {
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
	bareRes, err := gen.run(dur, conns, request{method: http.MethodGet, url: bare + "/"})
	if err != nil {
		return row{}, err
	}
	var fullRes result
	var loadErr error
	err = profile("root", func() {
		fullRes, loadErr = gen.run(dur, conns, request{method: http.MethodGet, url: full + "/"})
	})
	if err = cmp.Or(err, loadErr); err != nil {
		return row{}, err
	}
	return row{label: "GET / through the full middleware", bugflow: fullRes.rate, raw: bareRes.rate, bugflowCPU: fullRes.cpu, rawCPU: bareRes.cpu, bugflowErrors: fullRes.failed, baselineLegend: "bare httprouter, static JSON"}, nil
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
