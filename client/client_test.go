package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/client"
	"github.com/bugflow/bugflow/client/api"
)

const healthy = `{"status":"healthy","version":"0.1.0","timestamp":"2026-11-22T10:00:00Z"}`

// flaky answers 503 (with Retry-After: 0 would mean "now"; none is sent) for
// the first fails requests and then succeeds, recording what it received.
type flaky struct {
	fails  int32
	hits   atomic.Int32
	bodies []string
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.bodies = append(f.bodies, string(b))
	if f.hits.Add(1) <= f.fails {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"detail":"warming up"}`)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, healthy)
}

func TestNewRejectsBadBaseURL(t *testing.T) {
	for _, bad := range []string{"", "localhost:8080", "ftp://x", "http://"} {
		_, err := client.New(bad)
		assert.Error(t, err, bad)
	}
}

func TestWithTokenSendsBearer(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, healthy)
	}))
	defer srv.Close()
	c, err := client.New(srv.URL, client.WithToken("s3ss10n"))
	require.NoError(t, err)
	_, err = client.Check(c.GetHealthWithResponse(context.Background()))
	require.NoError(t, err)
	post(t, c, srv.URL+"/anything", "{}")
	assert.Equal(t, []string{"Bearer s3ss10n", "Bearer s3ss10n"}, got, "generated calls and Do both carry the token")
}

func TestWithRetryRetriesGETUntilSuccess(t *testing.T) {
	f := &flaky{fails: 2}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := client.New(srv.URL, client.WithRetry(3))
	require.NoError(t, err)
	resp, err := client.Check(c.GetHealthWithResponse(context.Background()))
	require.NoError(t, err)
	assert.Equal(t, api.Healthy, resp.JSON200.Status)
	assert.EqualValues(t, 3, f.hits.Load())
}

func TestWithRetryGivesUpWithTheLastAnswer(t *testing.T) {
	f := &flaky{fails: 100}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := client.New(srv.URL, client.WithRetry(2))
	require.NoError(t, err)
	_, err = client.Check(c.GetHealthWithResponse(context.Background()))
	var apiErr *client.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusServiceUnavailable, apiErr.StatusCode)
	assert.Equal(t, "warming up", apiErr.Message)
	assert.EqualValues(t, 3, f.hits.Load(), "one try and two retries")
}

func TestWithoutRetryOneAttempt(t *testing.T) {
	f := &flaky{fails: 1}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := client.New(srv.URL)
	require.NoError(t, err)
	_, err = client.Check(c.GetHealthWithResponse(context.Background()))
	require.Error(t, err)
	assert.EqualValues(t, 1, f.hits.Load())
}

// post sends a POST through the client's transport and retry policy.
func post(t *testing.T, c *client.Client, url, body string, header ...string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
}

func TestPOSTIsRetriedOnlyWithIdempotencyKey(t *testing.T) {
	f := &flaky{fails: 1}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := client.New(srv.URL, client.WithRetry(3))
	require.NoError(t, err)

	post(t, c, srv.URL+"/bug-reports", `{"title":"once"}`)
	assert.EqualValues(t, 1, f.hits.Load(), "a POST without Idempotency-Key is never repeated")

	f2 := &flaky{fails: 1}
	srv2 := httptest.NewServer(f2)
	defer srv2.Close()
	c2, err := client.New(srv2.URL, client.WithRetry(3))
	require.NoError(t, err)
	post(t, c2, srv2.URL+"/bug-reports", `{"title":"twice"}`, "Idempotency-Key", "k-1")
	assert.EqualValues(t, 2, f2.hits.Load())
	assert.Equal(t, []string{`{"title":"twice"}`, `{"title":"twice"}`}, f2.bodies, "the body is re-sent intact")
}

func TestRetryHonoursNonRetryableStatus(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":{"code":"not_found","message":"no such thing"}}`)
	}))
	defer srv.Close()
	c, err := client.New(srv.URL, client.WithRetry(3))
	require.NoError(t, err)
	_, err = client.Check(c.GetAPIRootWithResponse(context.Background()))
	var apiErr *client.APIError
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, "not_found", apiErr.Code)
	assert.EqualValues(t, 1, hits.Load(), "a 404 is an answer, not a failure to retry")
}

func TestParseErrorDialects(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		code    string
		message string
		fields  map[string][]string
	}{
		{"plain", 404, `{"error":{"code":"not_found","message":"model 7 not found"}}`, "not_found", "model 7 not found", nil},
		{"fastapi", 403, `{"detail":"Admin access required"}`, "", "Admin access required", nil},
		{"fastapi validation", 422, `{"detail":[{"loc":["body","email"],"msg":"not an email","type":"value_error"}]}`,
			"", "email: not an email", map[string][]string{"email": {"not an email"}}},
		{"envelope", 409, `{"success":false,"status":409,"error":{"code":"conflict","message":"already resolved","details":{"status":["bad"]}}}`,
			"conflict", "already resolved", map[string][]string{"status": {"bad"}}},
		{"drf", 400, `{"error":"Validation failed","details":{"name":["This field is required."]}}`,
			"", "Validation failed", map[string][]string{"name": {"This field is required."}}},
		{"not json", 502, "Bad Gateway\n", "", "Bad Gateway", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := client.ParseError(tt.status, []byte(tt.body))
			assert.Equal(t, tt.status, e.StatusCode)
			assert.Equal(t, tt.code, e.Code)
			assert.Equal(t, tt.message, e.Message)
			assert.Equal(t, tt.fields, e.Fields)
			assert.Contains(t, e.Error(), tt.message)
		})
	}
}
