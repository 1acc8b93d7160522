package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/internal/dbtest"
)

// A server killed with SIGKILL in the middle of an error storm loses no
// acknowledged occurrence and counts none twice. Each client sends its own
// error, one request at a time, so that at the kill at most one of its
// occurrences is unanswered: after a restart on the same database, each
// error's count is its 2xx answers, plus at most that one (stored, but its
// answer died with the process).
func TestIntakeSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	const adminKey = "intake-crash-admin-key-0123456789"
	dbtest.ForEach(t, func(t *testing.T, url string) {
		args := []string{"serve", "--addr", "127.0.0.1:0", "--database-url", url, "--admin-key", adminKey}
		first := startBinary(t, bin, args...)
		base := "http://" + first.addr

		const clients, killAfter = 32, 1500
		acked := make([]int, clients)
		unanswered := make([]int, clients)
		var total atomic.Int64
		killed := make(chan struct{})
		var killOnce sync.Once
		var wg sync.WaitGroup
		for c := range clients {
			wg.Go(func() {
				hc := &http.Client{Transport: &http.Transport{}}
				defer hc.CloseIdleConnections()
				body := `{"source":"auto:server","errorMessage":"` + crashMessage(c) + `"}`
				for {
					req, _ := http.NewRequest(http.MethodPost, base+"/api/bug-reports/auto", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+adminKey)
					req.Header.Set("Content-Type", "application/json")
					resp, err := hc.Do(req)
					if err != nil {
						// The process is gone: this occurrence may or may
						// not have been stored.
						unanswered[c]++
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
						t.Errorf("client %d: status %d before the kill", c, resp.StatusCode)
						return
					}
					acked[c]++
					if total.Add(1) == killAfter {
						killOnce.Do(func() {
							assert.NoError(t, first.cmd.Process.Signal(syscall.SIGKILL))
							close(killed)
						})
					}
				}
			})
		}
		allDone := make(chan struct{})
		go func() { wg.Wait(); close(allDone) }()
		select {
		case <-killed:
			<-allDone
		case <-allDone:
			t.Fatal("the clients stopped before the kill")
		}
		<-first.done

		second := startBinary(t, bin, args...)
		stored := listCounts(t, "http://"+second.addr, adminKey)
		sumAcked := 0
		for c := range clients {
			sumAcked += acked[c]
			got := stored[crashMessage(c)]
			assert.GreaterOrEqual(t, got, acked[c], "client %d: every acknowledged occurrence is counted", c)
			assert.LessOrEqual(t, got, acked[c]+unanswered[c], "client %d: nothing is counted twice", c)
		}
		assert.Len(t, stored, clients)
		t.Logf("%d occurrences acknowledged before SIGKILL", sumAcked)
		logs, err := second.stop(t)
		require.NoError(t, err, logs)
	})
}

// crashMessage is client c's error: letters only, since the normaliser folds
// numbers away.
func crashMessage(c int) string {
	return fmt.Sprintf("crash storm from client %c%c", 'a'+c/26, 'a'+c%26)
}

// listCounts returns every report's occurrenceCount by error message.
func listCounts(t *testing.T, base, key string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for page := 1; ; page++ {
		req, err := http.NewRequest(http.MethodPost, base+"/api/bug-reports/list", strings.NewReader(fmt.Sprintf(`{"page":%d,"limit":100}`, page)))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var body struct {
			Data struct {
				Items []struct {
					ErrorMessage    string `json:"errorMessage"`
					OccurrenceCount int    `json:"occurrenceCount"`
				} `json:"items"`
				Meta struct {
					HasNextPage bool `json:"hasNextPage"`
				} `json:"meta"`
			} `json:"data"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		_ = resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		for _, it := range body.Data.Items {
			out[it.ErrorMessage] += it.OccurrenceCount
		}
		if !body.Data.Meta.HasNextPage {
			return out
		}
	}
}
