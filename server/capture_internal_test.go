package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/julienschmidt/httprouter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/bugs"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
)

// The server files its own panics and 5xx answers as auto:server reports,
// with the request's method, path and id, and its headers redacted.
func TestServerCapturesItsOwnFailures(t *testing.T) {
	s, _ := newTestServer(t)
	s.group("", FastAPI, get("/t/panic", anyone, func(http.ResponseWriter, *http.Request) error { panic("nil map in handler") }))
	s.group("", Plain, get("/t/fail", anyone, func(http.ResponseWriter, *http.Request) error {
		return errs.Wrap(errs.Internal, context.DeadlineExceeded, "boom")
	}))

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
	assert.Equal(t, "panic on GET /t/panic", *panicked.ErrorMessage)
	assert.Contains(t, *panicked.ErrorStack, "capture_internal_test.go", "the stack points at the handler")
	var ctx struct {
		Panic     string            `json:"panic"`
		Method    string            `json:"method"`
		Path      string            `json:"path"`
		RequestID string            `json:"requestId"`
		Headers   map[string]string `json:"headers"`
	}
	require.NoError(t, json.Unmarshal(panicked.Context, &ctx))
	assert.Equal(t, "nil map in handler", ctx.Panic)
	assert.Equal(t, "GET", ctx.Method)
	assert.Equal(t, "/t/panic", ctx.Path)
	assert.Equal(t, "req-panic-1", ctx.RequestID)
	assert.Equal(t, "[REDACTED]", ctx.Headers["Authorization"])
	assert.NotContains(t, string(panicked.Context), "secret-token-123")
}

// Self-capture keys reports on the route pattern and the error's kind: 30
// failures of one route through 30 different paths are one report with a
// count of 30, another kind of failure on the same route is another
// report, and a deliberate 503 (token storage without a secret key, a
// database outage) is no report at all.
func TestServerCaptureIsKeyedOnRouteAndKind(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		s, _ := newTestServerWith(t, func(cfg *bugflow.Config) { cfg.DatabaseURL = url })
		s.group("", Plain, get("/t/fail/:id", anyone, func(_ http.ResponseWriter, r *http.Request) error {
			id := httprouter.ParamsFromContext(r.Context()).ByName("id")
			return fmt.Errorf("load %q: %w", id, errors.New("no such column: x"))
		}))
		s.group("", DRF, get("/t/mixed/:mode", anyone, func(_ http.ResponseWriter, r *http.Request) error {
			if httprouter.ParamsFromContext(r.Context()).ByName("mode") == "panic" {
				panic("mixed " + r.URL.Path)
			}
			return errors.New("unclassified")
		}))
		s.group("", FastAPI, get("/t/outage/:id", anyone, func(http.ResponseWriter, *http.Request) error {
			return errs.Wrap(errs.Unavailable, errors.New("connection refused"), "database unavailable")
		}))

		ids := []string{"3f2a9c1e-0d4b-4e59-9a77-5b1c2d3e4f60", "alice", "order%20seven", "x"}
		for i := range 30 {
			rec, _ := do(t, s, http.MethodGet, fmt.Sprintf("/t/fail/%s-%d", ids[i%len(ids)], i), nil)
			require.Equal(t, http.StatusInternalServerError, rec.Code)
		}
		for _, mode := range []string{"one", "two", "panic", "panic"} {
			rec, _ := do(t, s, http.MethodGet, "/t/mixed/"+mode, nil)
			require.Equal(t, http.StatusInternalServerError, rec.Code)
		}
		for i := range 3 {
			rec, _ := do(t, s, http.MethodGet, fmt.Sprintf("/t/outage/%d", i), nil)
			require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		}
		ctx := context.Background()
		_, err := s.engine.Auth.Register(ctx, auth.Registration{Username: "carol", Password: "carol-password-1"})
		require.NoError(t, err)
		carol, err := s.engine.Auth.Login(ctx, "carol", "carol-password-1")
		require.NoError(t, err)
		rec, _ := do(t, s, http.MethodPut, "/api/user/tokens", strings.NewReader(`{"github_token": "ghp_x"}`),
			"Authorization", "Bearer "+carol.Token, "Content-Type", "application/json")
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, "token storage is off without a secret key")

		page, err := s.engine.Bugs.List(ctx, bugs.ListFilter{Source: bugs.SourceAutoServer, Limit: bugs.MaxLimit})
		require.NoError(t, err)
		got := map[string]int{}
		codes := map[string]string{}
		for _, r := range page.Items {
			got[*r.ErrorMessage] = r.OccurrenceCount
			codes[*r.ErrorMessage] = *r.ErrorCode
		}
		assert.Equal(t, map[string]int{
			"500 Internal Server Error (internal) on GET /t/fail/:id":    30,
			"500 Internal Server Error (internal) on GET /t/mixed/:mode": 2,
			"panic on GET /t/mixed/:mode":                                2,
		}, got)
		assert.Equal(t, "internal", codes["500 Internal Server Error (internal) on GET /t/fail/:id"])
		assert.Equal(t, "panic", codes["panic on GET /t/mixed/:mode"])
	})
}
