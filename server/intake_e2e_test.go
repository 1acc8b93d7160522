package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/internal/apitest"
	"github.com/bugflow/bugflow/internal/dbtest"
)

// stormMessage is the error message of fingerprint i: letters only, because
// the normaliser folds numbers away.
func stormMessage(i int) string {
	return fmt.Sprintf("storm failure in module %c%c", 'a'+i/26, 'a'+i%26)
}

// postAuto sends one occurrence and returns the status and Retry-After.
func postAuto(c *http.Client, baseURL, key, body string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, baseURL+"/api/bug-reports/auto", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}

// storedOccurrences lists every report and sums occurrenceCount by error
// message (through the API, as an operator would see them).
func storedOccurrences(t *testing.T, c *http.Client, baseURL string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for page := 1; ; page++ {
		req, err := http.NewRequest(http.MethodPost, baseURL+"/api/bug-reports/list", strings.NewReader(fmt.Sprintf(`{"page":%d,"limit":100}`, page)))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+testAdminKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
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

// metricValue reads one sample of the server's /metrics.
func metricValue(t *testing.T, c *http.Client, baseURL, sample string) float64 {
	t.Helper()
	resp, err := c.Get(baseURL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return f
		}
	}
	t.Fatalf("no sample %s in /metrics", sample)
	return 0
}

// 10,000 concurrent occurrences of 50 errors over HTTP: the stored counts
// sum to exactly the 2xx answers, per error, and every other answer is a
// 503 with Retry-After that the refusal metric counted. The queue is kept
// small so that both sides of the limit happen.
func TestIntakeStormLosesNothing(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv := apitest.Start(t, apitest.Config{Engine: bugflow.Config{
			DatabaseURL: url, AdminKey: testAdminKey,
			BugIntake: bugflow.BugIntakeConfig{QueueSize: 40},
		}})
		const total, fingerprints, workers = 10000, 50, 48
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
		t.Cleanup(hc.CloseIdleConnections)

		var next atomic.Int64
		var mu sync.Mutex
		ok := map[string]int{}
		var refused, errors int
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= total {
						return
					}
					msg := stormMessage(i % fingerprints)
					status, retryAfter, err := postAuto(hc, srv.URL, testAdminKey, `{"source":"auto:agent","errorMessage":"`+msg+`"}`)
					mu.Lock()
					switch {
					case err != nil:
						errors++
					case status == http.StatusOK || status == http.StatusCreated:
						ok[msg]++
					case status == http.StatusServiceUnavailable && retryAfter != "":
						refused++
					default:
						errors++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		require.Zero(t, errors, "every answer is a 2xx or a 503 with Retry-After")
		sum := 0
		for _, n := range ok {
			sum += n
		}
		require.Equal(t, total, sum+refused)
		assert.Equal(t, ok, storedOccurrences(t, hc, srv.URL), "stored counts are the 2xx answers, per error")
		assert.Len(t, ok, fingerprints)
		assert.Equal(t, float64(refused), metricValue(t, hc, srv.URL, `bugflow_bug_intake_refused_total{source="auto:agent"}`))
		assert.Equal(t, float64(sum), metricValue(t, hc, srv.URL, `bugflow_bug_intake_batch_size_sum`), "every stored occurrence went through a batch")
		assert.Zero(t, metricValue(t, hc, srv.URL, `bugflow_bug_intake_queue_length`))
		t.Logf("%d stored, %d refused with 503", sum, refused)
	})
}

// The metrics exist before any occurrence, so that dashboards and alerts
// see zero rather than nothing.
func TestIntakeMetricsAreExported(t *testing.T) {
	srv := apitest.Start(t, apitest.Config{Engine: bugflow.Config{AdminKey: testAdminKey}})
	resp, err := srv.Raw.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	for _, want := range []string{
		`bugflow_bug_intake_queue_length 0`,
		`bugflow_bug_intake_batch_size_bucket{le="1"} 0`,
		`bugflow_bug_intake_batch_size_count 0`,
		`bugflow_bug_intake_refused_total{source="auto:server"} 0`,
		`bugflow_bug_intake_refused_total{source="auto:client"} 0`,
		`bugflow_bug_intake_failed_batches_total 0`,
	} {
		assert.Regexp(t, regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(want)+`$`), string(body))
	}
}
