// Command analytics seeds a history of tickets, tasks and assignments on
// PostgreSQL and measures every analytics endpoint on it (issue 16, point
// 4): the time of a request and the allocations the server makes for it,
// so that runs at two sizes show whether either grows with the rows.
//
//	go run ./bench/analytics -postgres URL -tickets N [-runs K] [-reuse] [-seed-only] [-only S] [-memprofile FILE]
//
// The database must be a scratch one: bugflow migrates it and the seeder
// empties the workflow and ticket tables first. -reuse keeps a history
// seeded by an earlier run (seeding a million tickets takes minutes).
//
// Requests go through the whole server handler (authentication, routing,
// JSON) in this process, called directly rather than over a socket. The
// allocation column is the runtime.MemStats Mallocs delta of K sequential
// requests divided by K, with nothing subtracted. Mallocs counts the whole
// process, so the bench keeps everything else in it still while it
// measures: the job queue works no jobs and sweeps for orphans only at
// start (OrphanAfter 24 h), the pools check their connections' health
// once a day, and the identity cache is off, so that every request
// authenticates its API key against the database. With the cache on, a
// request finding the key cached skips that lookup and one arriving after
// the cache's second expired does not: the count then depended on how
// long the previous request took, not on what the endpoint does. "idle"
// in the header is the process's allocations per second while it serves
// nothing, a check that it is still (it should be 0). -memprofile writes
// every allocation of one endpoint's measured requests (FILE.before and
// FILE.after, for go tool pprof -base), to see where they come from.
//
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
	neturl "net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/server"
)

// options are the command line's.
type options struct {
	url        string
	tickets    int
	runs       int
	reuse      bool
	seedOnly   bool
	only       string
	memprofile string
}

func main() {
	var o options
	flag.StringVar(&o.url, "postgres", os.Getenv("BUGFLOW_TEST_POSTGRES_URL"), "PostgreSQL URL of a scratch database")
	flag.IntVar(&o.tickets, "tickets", 10000, "tickets to seed")
	flag.IntVar(&o.runs, "runs", 5, "requests per endpoint (after one warm-up)")
	flag.BoolVar(&o.reuse, "reuse", false, "keep the history an earlier run seeded")
	flag.BoolVar(&o.seedOnly, "seed-only", false, "seed and stop")
	flag.StringVar(&o.only, "only", "", "measure only the endpoints whose path contains this")
	flag.StringVar(&o.memprofile, "memprofile", "", "write every allocation of the measured requests to FILE.before and FILE.after (use with -only naming one endpoint)")
	flag.Parse()
	if o.url == "" {
		fmt.Fprintln(os.Stderr, "analytics: -postgres is required")
		os.Exit(2)
	}
	if o.runs < 1 {
		fmt.Fprintln(os.Stderr, "analytics: -runs must be at least 1")
		os.Exit(2)
	}
	if o.memprofile != "" {
		// Set before anything allocates, so that the profile sees all.
		runtime.MemProfileRate = 1
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "analytics:", err)
		os.Exit(1)
	}
}

// quietURL returns url with the pools' health check once a day, unless
// url sets its own period: a check landing in a measurement would count.
func quietURL(url string) (string, error) {
	u, err := neturl.Parse(url)
	if err != nil {
		return "", fmt.Errorf("parse -postgres: %w", err)
	}
	q := u.Query()
	if q.Get("pool_health_check_period") == "" {
		q.Set("pool_health_check_period", "24h")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func run(o options) error {
	ctx := context.Background()
	url, err := quietURL(o.url)
	if err != nil {
		return err
	}
	// Nothing but the measured requests may allocate in this process (see
	// the command's doc): jobs off (the SLA check would otherwise mark a
	// million seeded tasks), the orphan sweep at start only, no identity
	// cache.
	engine, err := bugflow.Open(ctx, bugflow.Config{
		DatabaseURL: url, Logger: slog.New(slog.DiscardHandler), IdentityCacheTTL: -1,
		Jobs: bugflow.JobsConfig{Disabled: true, OrphanAfter: 24 * time.Hour},
	})
	if err != nil {
		return err
	}
	defer engine.Close()
	if !o.reuse {
		start := time.Now()
		if _, err := seed(ctx, o.url, o.tickets, time.Now().UTC()); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		fmt.Printf("seeded %d tickets (with tasks and assignments) by COPY in %s\n", o.tickets, time.Since(start).Round(time.Millisecond))
	}
	if o.seedOnly {
		return nil
	}
	wfID, tickets, err := seeded(ctx, o.url)
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
	idle := idleAllocRate(2 * time.Second)
	fmt.Printf("%d endpoints, %d tickets, %d requests each; GOMAXPROCS %d; idle allocations %.0f/s\n\n", len(paths), tickets, o.runs, runtime.GOMAXPROCS(0), idle)
	fmt.Printf("%-42s %6s %12s %12s %12s\n", "endpoint", "status", "median", "max", "allocs/req")
	for _, p := range paths {
		if o.only != "" && !strings.Contains(p, o.only) {
			continue
		}
		if code, body := get(p); code != http.StatusOK { // warm-up
			fmt.Printf("%-42s %6d %s\n", p, code, strings.TrimSpace(string(body)))
			continue
		}
		times := make([]time.Duration, o.runs)
		var before, after runtime.MemStats
		if err := writeAllocs(o.memprofile, ".before"); err != nil {
			return err
		}
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range o.runs {
			start := time.Now()
			get(p)
			times[i] = time.Since(start)
		}
		runtime.ReadMemStats(&after)
		if err := writeAllocs(o.memprofile, ".after"); err != nil {
			return err
		}
		slices.Sort(times)
		allocs := float64(after.Mallocs-before.Mallocs) / float64(o.runs)
		fmt.Printf("%-42s %6d %12s %12s %12.0f\n", p, 200, times[o.runs/2].Round(10*time.Microsecond), times[o.runs-1].Round(10*time.Microsecond), allocs)
	}
	return nil
}

// writeAllocs writes the allocation profile, as of a fresh GC, to
// prefix+suffix; nothing when prefix is empty.
func writeAllocs(prefix, suffix string) error {
	if prefix == "" {
		return nil
	}
	runtime.GC()
	f, err := os.Create(prefix + suffix)
	if err != nil {
		return fmt.Errorf("memprofile: %w", err)
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		_ = f.Close()
		return fmt.Errorf("memprofile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("memprofile: %w", err)
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
