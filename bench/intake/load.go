package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// unique is where a request body template takes a word that no other
// request of the run has (letters only: the normaliser folds digits).
const unique = "{unique}"

// request is one kind of HTTP call a phase sends again and again.
type request struct {
	method, url string
	headers     map[string]string
	// body is sent as it is, or with unique replaced by a new word each
	// time when it holds it.
	body string
}

// result is what a phase measured.
type result struct {
	rate   float64 // successful (2xx) calls per second
	failed int64   // calls that failed or answered otherwise
	cpu    float64 // CPU time per successful call, µs: this process and the load generator
}

// loader sends req from conns connections for dur.
type loader interface {
	name() string
	run(dur time.Duration, conns int, req request) (result, error)
}

// newLoader returns the load generator that kind names: "go", "wrk", or
// "auto" (wrk where it is on PATH, else go).
func newLoader(kind string) (loader, error) {
	switch kind {
	case "go":
		return goLoader{}, nil
	case "wrk", "auto":
		path, err := exec.LookPath("wrk")
		if err == nil {
			return wrkLoader{path: path}, nil
		}
		if kind == "wrk" {
			return nil, fmt.Errorf("-load wrk: %w (apt-get install -y wrk)", err)
		}
		return goLoader{}, nil
	}
	return nil, fmt.Errorf("-load %q: want go, wrk or auto", kind)
}

// goLoader is a load generator in this process: net/http keep-alive
// clients, one goroutine per connection. Its CPU is counted with the
// server's (getrusage of the process).
type goLoader struct{}

func (goLoader) name() string { return "Go net/http client in the bench's process" }

func (goLoader) run(dur time.Duration, conns int, req request) (result, error) {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
	defer hc.CloseIdleConnections()
	stamp := spell(int(time.Now().UnixNano() % 1e9))
	rate, failed, cpu := load(dur, conns, func(w, i int) error {
		body := req.body
		if strings.Contains(body, unique) {
			body = strings.ReplaceAll(body, unique, stamp+" "+spell(w)+" "+spell(i))
		}
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		r, err := http.NewRequest(req.method, req.url, rd)
		if err != nil {
			return err
		}
		for k, v := range req.headers {
			r.Header.Set(k, v)
		}
		return do(hc, r)
	})
	return result{rate: rate, failed: failed, cpu: cpu}, nil
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

// wrkLoader runs wrk (github.com/wg/wrk) as a child process, as the issue's
// own figures were taken; its CPU time (from the child's rusage) is added
// to this process's.
type wrkLoader struct{ path string }

func (w wrkLoader) name() string { return "wrk (" + w.path + "), 2 threads" }

// wrkScript is the Lua that wrk runs: the request, a new word per call
// where the body asks for one (each thread its own prefix), and a last
// line with the counts the bench reads.
const wrkScript = `
wrk.method = %q
wrk.body = %q
%s
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end
local function spell(i)
  local s = ""
  repeat
    s = s .. string.char(97 + i %% 26)
    i = math.floor(i / 26)
  until i == 0
  return s
end
local template = wrk.body
local fresh = template:find(%q, 1, true) ~= nil
local n = 0
function request()
  if not fresh then
    return wrk.format()
  end
  n = n + 1
  local word = %q .. " " .. spell(tid) .. " " .. spell(n)
  local body = template:gsub(%q, word)
  return wrk.format(nil, nil, nil, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %%d %%d %%d %%d\n", summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout))
end
`

func (w wrkLoader) run(dur time.Duration, conns int, req request) (result, error) {
	dir, err := os.MkdirTemp("", "bench-wrk-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	// The Lua strings are written with Go's %q, whose escapes Lua reads
	// alike only for printable ASCII.
	var headers strings.Builder
	texts := []string{req.body}
	for k, v := range req.headers {
		fmt.Fprintf(&headers, "wrk.headers[%q] = %q\n", k, v)
		texts = append(texts, k, v)
	}
	for _, t := range texts {
		if strings.IndexFunc(t, func(r rune) bool { return r < ' ' || r > '~' }) >= 0 {
			return result{}, fmt.Errorf("wrk: %q: bodies and headers must be printable ASCII", t)
		}
	}
	// gsub's pattern: unique with Lua's magic characters escaped.
	pattern := strings.NewReplacer("{", "%{", "}", "%}").Replace(unique)
	script := fmt.Sprintf(wrkScript, req.method, req.body, headers.String(), unique,
		spell(int(time.Now().UnixNano()%1e9)), pattern)
	scriptPath := filepath.Join(dir, "bench.lua")
	if err := os.WriteFile(scriptPath, []byte(script), 0o600); err != nil {
		return result{}, err
	}
	threads := min(2, conns)
	cmd := exec.CommandContext(context.Background(), w.path, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", strconv.Itoa(max(1, int(dur.Seconds())))+"s", "-s", scriptPath, req.url)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	cpu0 := cpuTime()
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("wrk: %w: %s", err, out.String())
	}
	cpu := cpuTime() - cpu0 + cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	var requests, micros, status, sockErrs int64
	found := false
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "BENCH %d %d %d %d", &requests, &micros, &status, &sockErrs); err == nil {
			found = true
		}
	}
	if !found || micros == 0 {
		return result{}, fmt.Errorf("wrk printed no counts: %s", out.String())
	}
	ok := requests - status
	return result{
		rate:   float64(ok) / (float64(micros) / 1e6),
		failed: status + sockErrs,
		cpu:    float64(cpu.Microseconds()) / float64(max(ok, 1)),
	}, nil
}
