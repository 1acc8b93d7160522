package server

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/bugs"
	"github.com/bugflow/bugflow/errs"
)

// The server files its own panics and 5xx answers as auto:server reports,
// with the request's method, path and id, and its headers redacted.
func TestServerCapturesItsOwnFailures(t *testing.T) {
	s, _ := newTestServer(t)
	s.handle(http.MethodGet, "/t/panic", FastAPI, func(http.ResponseWriter, *http.Request) { panic("nil map in handler") })
	s.handle(http.MethodGet, "/t/fail", Plain, func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, Plain, errs.Wrap(errs.Internal, context.DeadlineExceeded, "boom"))
	})

	rec, _ := do(t, s, http.MethodGet, "/t/panic", nil, "X-Request-ID", "req-panic-1", "Authorization", "Bearer secret-token-123")
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.JSONEq(t, `{"detail":"internal server error"}`, rec.Body.String(), "the answer leaks nothing")
	rec, _ = do(t, s, http.MethodGet, "/t/fail", nil)
	require.Equal(t, http.StatusInternalServerError, rec.Code)

	page, err := s.engine.Bugs.List(context.Background(), bugs.ListFilter{Source: bugs.SourceAutoServer})
	require.NoError(t, err)
	require.Len(t, page.Items, 2)
	var panicked bugs.Report
	for _, r := range page.Items {
		if r.ErrorCode != nil && *r.ErrorCode == "panic" {
			panicked = r
		}
	}
	require.NotEmpty(t, panicked.ID, "the panic was filed")
	assert.Contains(t, *panicked.ErrorMessage, "nil map in handler")
	assert.Contains(t, *panicked.ErrorStack, "capture_internal_test.go", "the stack points at the handler")
	var ctx struct {
		Method    string            `json:"method"`
		Path      string            `json:"path"`
		RequestID string            `json:"requestId"`
		Headers   map[string]string `json:"headers"`
	}
	require.NoError(t, json.Unmarshal(panicked.Context, &ctx))
	assert.Equal(t, "GET", ctx.Method)
	assert.Equal(t, "/t/panic", ctx.Path)
	assert.Equal(t, "req-panic-1", ctx.RequestID)
	assert.Equal(t, "[REDACTED]", ctx.Headers["Authorization"])
	assert.NotContains(t, string(panicked.Context), "secret-token-123")
}
