package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/client"
	"github.com/bugflow/bugflow/client/api"
)

const healthy = `{"status":"healthy","version":"0.1.0","timestamp":"2026-11-22T10:00:00Z"}`

// flaky fails the first fails requests (with a 503 naming the attempt, or by
// dropping the connection when hangUp is set) and then answers healthy,
// recording what it received.
type flaky struct {
	fails      int
	hangUp     bool
	retryAfter string

	mu      sync.Mutex
	bodies  []string
	headers []http.Header
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.bodies = append(f.bodies, string(b))
	f.headers = append(f.headers, r.Header.Clone())
	hit := len(f.bodies)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if hit > f.fails {
		_, _ = io.WriteString(w, healthy)
		return
	}
	if f.hangUp {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if f.retryAfter != "" {
		w.Header().Set("Retry-After", f.retryAfter)
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintf(w, `{"detail":"warming up, attempt %d"}`, hit)
}

func (f *flaky) hits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.bodies)
}

// received returns copies of the bodies and headers of every request so far.
func (f *flaky) received() ([]string, []http.Header) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.bodies...), append([]http.Header(nil), f.headers...)
}

func start(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func newClient(t *testing.T, url string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(url, opts...)
	require.NoError(t, err)
	return c
}

// send sends a request through the client's token and retry policy.
func send(c *client.Client, method, url, body string, header ...string) (*http.Response, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return resp, err
}

func TestNewRejectsBadBaseURL(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "localhost:8080", "ftp://x", "http://"} {
		_, err := client.New(bad)
		assert.Error(t, err, bad)
	}
}

func TestWithTokenSendsBearer(t *testing.T) {
	t.Parallel()
	f := &flaky{}
	url := start(t, f)

	c := newClient(t, url, client.WithToken("s3ss10n"))
	_, err := client.Check(c.GetHealthWithResponse(context.Background()))
	require.NoError(t, err)
	_, err = send(c, http.MethodPost, url+"/anything", "{}")
	require.NoError(t, err)
	_, err = client.Check(newClient(t, url).GetHealthWithResponse(context.Background()))
	require.NoError(t, err)

	_, headers := f.received()
	require.Len(t, headers, 3)
	assert.Equal(t, "Bearer s3ss10n", headers[0].Get("Authorization"), "generated call")
	assert.Equal(t, "Bearer s3ss10n", headers[1].Get("Authorization"), "Do")
	assert.Empty(t, headers[2].Values("Authorization"), "no token, no header")
}

func TestWithRetryRetriesGETUntilSuccess(t *testing.T) {
	t.Parallel()
	f := &flaky{fails: 2}
	c := newClient(t, start(t, f), client.WithRetry(3))
	resp, err := client.Check(c.GetHealthWithResponse(context.Background()))
	require.NoError(t, err)
	assert.Equal(t, api.Healthy, resp.JSON200.Status)
	assert.Equal(t, 3, f.hits())
}

func TestWithRetryRetriesConnectionErrors(t *testing.T) {
	t.Parallel()
	f := &flaky{fails: 1, hangUp: true}
	c := newClient(t, start(t, f), client.WithRetry(1))
	resp, err := client.Check(c.GetHealthWithResponse(context.Background()))
	require.NoError(t, err)
	assert.Equal(t, api.Healthy, resp.JSON200.Status)
	assert.Equal(t, 2, f.hits())
}

func TestWithRetryHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	f := &flaky{fails: 1, retryAfter: "1"}
	c := newClient(t, start(t, f), client.WithRetry(3))
	_, err := client.Check(c.GetHealthWithResponse(context.Background()))
	require.NoError(t, err)
	assert.Equal(t, 2, f.hits())
}

func TestWithRetryReturnsAnswerWhoseRetryAfterIsTooLong(t *testing.T) {
	t.Parallel()
	f := &flaky{fails: 1, retryAfter: "3600"}
	c := newClient(t, start(t, f), client.WithRetry(3))
	// The deadline only turns a regression (waiting the hour) into a failure
	// rather than a hang.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := client.Check(c.GetHealthWithResponse(ctx))
	var apiErr *client.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusServiceUnavailable, apiErr.StatusCode)
	assert.Equal(t, 1, f.hits(), "an hour's wait is the caller's decision")
}

func TestWithRetryStopsWaitingWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	f := &flaky{fails: 1, retryAfter: "5"}
	c := newClient(t, start(t, f), client.WithRetry(3))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := client.Check(c.GetHealthWithResponse(ctx))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 1, f.hits())
}

func TestWithRetryGivesUpWithTheLastAnswer(t *testing.T) {
	t.Parallel()
	f := &flaky{fails: 100}
	c := newClient(t, start(t, f), client.WithRetry(2))
	_, err := client.Check(c.GetHealthWithResponse(context.Background()))
	var apiErr *client.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusServiceUnavailable, apiErr.StatusCode)
	assert.Equal(t, "warming up, attempt 3", apiErr.Message, "the last attempt's own answer")
	assert.Equal(t, 3, f.hits(), "one try and two retries")
}

func TestWithRetryGivesUpWithTheLastConnectionError(t *testing.T) {
	t.Parallel()
	f := &flaky{fails: 100, hangUp: true}
	c := newClient(t, start(t, f), client.WithRetry(2))
	resp, err := c.GetHealthWithResponse(context.Background())
	require.Error(t, err)
	assert.Nil(t, resp)
	var apiErr *client.APIError
	assert.False(t, errors.As(err, &apiErr), "no answer, no APIError")
	assert.Equal(t, 3, f.hits())
}

func TestWithoutRetryOneAttempt(t *testing.T) {
	t.Parallel()
	f := &flaky{fails: 1}
	c := newClient(t, start(t, f))
	_, err := client.Check(c.GetHealthWithResponse(context.Background()))
	require.Error(t, err)
	assert.Equal(t, 1, f.hits())
}

func TestWithRetryRepeatsOnlyWhatIsSafeToRepeat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method   string
		key      string
		hangUp   bool
		attempts int
	}{
		{method: http.MethodGet, attempts: 2},
		{method: http.MethodHead, attempts: 2},
		{method: http.MethodOptions, attempts: 2},
		{method: http.MethodPut, attempts: 2},
		{method: http.MethodDelete, attempts: 2},
		{method: http.MethodPost, attempts: 1},
		{method: http.MethodPost, hangUp: true, attempts: 1},
		{method: http.MethodPatch, attempts: 1},
		{method: http.MethodPost, key: "k-1", attempts: 2},
		{method: http.MethodPost, key: "k-1", hangUp: true, attempts: 2},
		{method: http.MethodPatch, key: "k-1", attempts: 2},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s key=%q hangUp=%v", tt.method, tt.key, tt.hangUp)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := &flaky{fails: 1, hangUp: tt.hangUp}
			url := start(t, f)
			c := newClient(t, url, client.WithRetry(3))
			var header []string
			if tt.key != "" {
				header = []string{"Idempotency-Key", tt.key}
			}
			body := `{"title":"` + name + `"}`
			_, _ = send(c, tt.method, url+"/bug-reports", body, header...)
			bodies, _ := f.received()
			require.Len(t, bodies, tt.attempts)
			if tt.method != http.MethodHead {
				for i, got := range bodies {
					assert.Equal(t, body, got, "attempt %d carries the whole body", i+1)
				}
			}
		})
	}
}

func TestWithRetryLeavesClientErrorsAlone(t *testing.T) {
	t.Parallel()
	hits := 0
	var mu sync.Mutex
	url := start(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":{"code":"not_found","message":"no such thing"}}`)
	}))
	c := newClient(t, url, client.WithRetry(3))
	root, err := client.Check(c.GetAPIRootWithResponse(context.Background()))
	var apiErr *client.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "not_found", apiErr.Code)
	assert.Equal(t, http.StatusNotFound, root.StatusCode(), "the response comes back with the error")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 1, hits, "a 404 is an answer, not a failure to retry")
}

func TestCheckResponseDialects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		body    string
		code    string
		message string
		detail  any
		fields  map[string][]string
	}{
		{name: "plain", status: 404, body: `{"error":{"code":"not_found","message":"model 7 not found"}}`,
			code: "not_found", message: "model 7 not found"},
		{name: "fastapi", status: 403, body: `{"detail":"Admin access required"}`,
			message: "Admin access required"},
		{name: "fastapi validation", status: 422,
			body:    `{"detail":[{"loc":["body","email"],"msg":"not an email","type":"value_error"}]}`,
			message: "email: not an email",
			detail:  []any{map[string]any{"loc": []any{"body", "email"}, "msg": "not an email", "type": "value_error"}},
			fields:  map[string][]string{"email": {"not an email"}}},
		{name: "envelope", status: 409,
			body: `{"success":false,"status":409,"error":{"code":"conflict","message":"already resolved","details":{"status":["bad"]}}}`,
			code: "conflict", message: "already resolved",
			detail: map[string]any{"status": []any{"bad"}},
			fields: map[string][]string{"status": {"bad"}}},
		{name: "drf", status: 400, body: `{"error":"Validation failed","details":{"name":["This field is required."]}}`,
			message: "Validation failed",
			detail:  map[string]any{"name": []any{"This field is required."}},
			fields:  map[string][]string{"name": {"This field is required."}}},
		{name: "drf without details", status: 401, body: `{"error":"Authentication credentials were not provided."}`,
			message: "Authentication credentials were not provided."},
		{name: "not json", status: 502, body: "Bad Gateway\n", message: "Bad Gateway"},
		{name: "no dialect", status: 503, body: `{"status":"unhealthy"}`, message: `{"status":"unhealthy"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := client.CheckResponse(&http.Response{StatusCode: tt.status}, []byte(tt.body))
			var e *client.APIError
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.status, e.StatusCode)
			assert.Equal(t, tt.code, e.Code)
			assert.Equal(t, tt.message, e.Message)
			assert.Equal(t, tt.detail, e.Detail)
			assert.Equal(t, tt.fields, e.Fields)
			assert.Equal(t, tt.body, string(e.Body))
			assert.Contains(t, e.Error(), tt.message)
		})
	}
}

func TestCheckResponseAcceptsSuccess(t *testing.T) {
	t.Parallel()
	for _, status := range []int{200, 201, 204, 299} {
		assert.NoError(t, client.CheckResponse(&http.Response{StatusCode: status}, nil), status)
	}
	assert.Error(t, client.CheckResponse(&http.Response{StatusCode: 304}, nil))
}

func TestCheckKeepsTypedErrorAnswers(t *testing.T) {
	t.Parallel()
	url := start(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"status":"unhealthy","version":"0.1.0","timestamp":"2026-11-22T10:00:00Z"}`)
	}))
	health, err := client.Check(newClient(t, url).GetHealthWithResponse(context.Background()))
	var apiErr *client.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusServiceUnavailable, apiErr.StatusCode)
	require.NotNil(t, health.JSON503)
	assert.Equal(t, api.Unhealthy, health.JSON503.Status)
}
