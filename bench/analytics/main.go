// Command analytics seeds a history of tickets, tasks and assignments on
// PostgreSQL and measures every analytics endpoint on it (issue 16, point
// 4): the time of a request and the allocations the server makes for it,
// so that runs at two sizes show whether either grows with the rows.
//
//	go run ./bench/analytics -postgres URL -tickets N [-runs K] [-reuse] [-seed-only]
//
// The database must be a scratch one: bugflow migrates it and the seeder
// empties the workflow and ticket tables first. -reuse keeps a history
// seeded by an earlier run (seeding a million tickets takes minutes).
// Requests go through the whole server handler (authentication, routing,
// JSON) in this process, called directly rather than over a socket, so
// that the allocation count is the server's alone: it is the
// runtime.MemStats Mallocs delta of K sequential requests, divided by K,
// printed as it is and net of the process's idle allocation rate.
// The endpoints are the links of GET /analytics/, so none is forgotten.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/server"
)

func main() {
	pg := flag.String("postgres", os.Getenv("BUGFLOW_TEST_POSTGRES_URL"), "PostgreSQL URL of a scratch database")
	n := flag.Int("tickets", 10000, "tickets to seed")
	runs := flag.Int("runs", 5, "requests per endpoint (after one warm-up)")
	reuse := flag.Bool("reuse", false, "keep the history an earlier run seeded")
	seedOnly := flag.Bool("seed-only", false, "seed and stop")
	flag.Parse()
	if *pg == "" {
		fmt.Fprintln(os.Stderr, "analytics: -postgres is required")
		os.Exit(2)
	}
	if err := run(*pg, *n, *runs, *reuse, *seedOnly); err != nil {
		fmt.Fprintln(os.Stderr, "analytics:", err)
		os.Exit(1)
	}
}

func run(url string, n, runs int, reuse, seedOnly bool) error {
	ctx := context.Background()
	// Jobs are off: the allocation count is process-wide, and background
	// work (the SLA check marking a million seeded tasks) would land in it.
	engine, err := bugflow.Open(ctx, bugflow.Config{DatabaseURL: url, Logger: slog.New(slog.DiscardHandler), Jobs: bugflow.JobsConfig{Disabled: true}})
	if err != nil {
		return err
	}
	defer engine.Close()
	if !reuse {
		start := time.Now()
		if _, err := seed(ctx, url, n, time.Now().UTC()); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		fmt.Printf("seeded %d tickets (with tasks and assignments) by COPY in %s\n", n, time.Since(start).Round(time.Millisecond))
	}
	if seedOnly {
		return nil
	}
	wfID, err := firstWorkflow(ctx, url)
	if err != nil {
		return err
	}
	stamp := time.Now().UnixNano()
	_, key, err := engine.Auth.CreateAdmin(ctx, &auth.Identity{User: auth.User{Username: fmt.Sprintf("bench%d", stamp%1e9), Role: auth.RoleAdmin}}, fmt.Sprintf("bench%d", stamp%1e9))
	if err != nil {
		return fmt.Errorf("create the bench's API key: %w", err)
	}
	h := server.New(engine, server.WithLogger(slog.New(slog.DiscardHandler)))
	get := func(path string) (int, []byte) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Result().Body)
		return rec.Code, body
	}
	code, body := get("/analytics/")
	if code != http.StatusOK {
		return fmt.Errorf("GET /analytics/: %d %s", code, body)
	}
	paths := endpoints(body, map[string]string{"{id}": strconv.FormatInt(wfID, 10)})
	// The user drill-down names a seeded user, not a workflow.
	for i, p := range paths {
		if strings.Contains(p, "/drilldown/user/") {
			paths[i] = "/analytics/drilldown/user/u1/"
		}
	}
	// The allocation count is process-wide: what the process allocates
	// with no request running (connection pools, timers) lands in it at a
	// rate per second, so a slow request counts more of it. The idle rate
	// is measured here and the net column subtracts it over each
	// request's time.
	idle := idleAllocRate(2 * time.Second)
	fmt.Printf("%d endpoints, %d tickets, %d requests each; GOMAXPROCS %d; idle allocations %.0f/s\n\n", len(paths), n, runs, runtime.GOMAXPROCS(0), idle)
	fmt.Printf("%-42s %6s %12s %12s %12s %12s\n", "endpoint", "status", "median", "max", "allocs/req", "net allocs")
	for _, p := range paths {
		if code, body := get(p); code != http.StatusOK { // warm-up
			fmt.Printf("%-42s %6d %s\n", p, code, strings.TrimSpace(string(body)))
			continue
		}
		times := make([]time.Duration, runs)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range runs {
			start := time.Now()
			get(p)
			times[i] = time.Since(start)
		}
		runtime.ReadMemStats(&after)
		var total time.Duration
		for _, d := range times {
			total += d
		}
		slices.Sort(times)
		allocs := float64(after.Mallocs-before.Mallocs) / float64(runs)
		net := allocs - idle*total.Seconds()/float64(runs)
		fmt.Printf("%-42s %6d %12s %12s %12.0f %12.0f\n", p, 200, times[runs/2].Round(10*time.Microsecond), times[runs-1].Round(10*time.Microsecond), allocs, net)
	}
	return nil
}

// idleAllocRate returns the allocations per second of the process while
// it serves nothing, over d.
func idleAllocRate(d time.Duration) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	time.Sleep(d)
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / d.Seconds()
}

// endpoints returns the analytics paths the index body links to, in
// order, each once, with the path parameters replaced.
func endpoints(body []byte, params map[string]string) []string {
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil
	}
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				walk(v[k])
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		case string:
			i := strings.Index(v, "/analytics/")
			if i < 0 {
				return
			}
			p := v[i:]
			if p == "/analytics/" {
				return
			}
			for k, r := range params {
				p = strings.ReplaceAll(p, k, r)
			}
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	walk(doc)
	return out
}
