package bugs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/bugs"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

// requestContext is the context CaptureHandler files.
type requestContext struct {
	Method    string         `json:"method"`
	Path      string         `json:"path"`
	Route     string         `json:"route"`
	Error     string         `json:"error"`
	Panic     string         `json:"panic"`
	RequestID string         `json:"requestId"`
	Status    int            `json:"status"`
	Headers   map[string]any `json:"headers"`
}

func TestCapture(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc, _ := newServices(db)

		t.Run("error", func(t *testing.T) {
			r, err := svc.Capture(ctx, errs.Unavailablef("queue 7 is down"), bugs.WithFields(map[string]any{"job": "sync", "password": "x"}))
			require.NoError(t, err)
			assert.Equal(t, bugs.SourceAutoServer, r.Source)
			assert.Equal(t, "queue 7 is down", *r.ErrorMessage)
			assert.Equal(t, "unavailable", *r.ErrorCode)
			assert.Contains(t, *r.ErrorStack, "TestCapture", "the caller's stack")
			assert.JSONEq(t, `{"job": "sync", "password": "[REDACTED]"}`, string(r.Context))

			again, err := svc.Capture(ctx, errs.Unavailablef("queue 9 is down"))
			require.NoError(t, err)
			assert.Equal(t, r.ID, again.ID)
			assert.Equal(t, 2, again.OccurrenceCount)

			none, err := svc.Capture(ctx, nil)
			require.NoError(t, err)
			assert.Empty(t, none.ID)
		})

		t.Run("panic", func(t *testing.T) {
			h := bugs.CaptureHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				panic("nil map write in handler 42")
			}), svc)
			req := httptest.NewRequest(http.MethodPost, "/api/pages/create", nil)
			req.Header.Set("Authorization", "Bearer secret-token")
			req.Header.Set("Cookie", "access_token=abc")
			req.Header.Set("X-Api-Key", "k")
			req.Header.Set("User-Agent", "test-agent")
			req.Header.Set("X-Request-ID", "req-123")
			recovered := func() (v any) {
				defer func() { v = recover() }()
				h.ServeHTTP(httptest.NewRecorder(), req)
				return nil
			}()
			assert.Equal(t, "nil map write in handler 42", recovered, "the panic goes on to the outer recovery")

			page, err := svc.List(ctx, bugs.ListFilter{Source: bugs.SourceAutoServer, Severity: ""})
			require.NoError(t, err)
			var found *bugs.Report
			for i := range page.Items {
				if *page.Items[i].ErrorMessage == "panic on POST /api/pages/create" {
					found = &page.Items[i]
				}
			}
			require.NotNil(t, found, "the panic was filed")
			assert.Equal(t, "panic", *found.ErrorCode)
			assert.Contains(t, *found.ErrorStack, "capture_test.go")
			var c requestContext
			require.NoError(t, json.Unmarshal(found.Context, &c))
			assert.Equal(t, "nil map write in handler 42", c.Panic)
			assert.Equal(t, "POST", c.Method)
			assert.Equal(t, "/api/pages/create", c.Path)
			assert.Equal(t, "req-123", c.RequestID)
			assert.Equal(t, bugs.Redacted, c.Headers["Authorization"])
			assert.Equal(t, bugs.Redacted, c.Headers["Cookie"])
			assert.Equal(t, bugs.Redacted, c.Headers["X-Api-Key"])
			assert.Equal(t, "test-agent", c.Headers["User-Agent"])
		})

		t.Run("oversized input is cut, not refused", func(t *testing.T) {
			r, err := svc.Capture(ctx, errors.New(strings.Repeat("long error ", 2000)),
				bugs.WithStack(strings.Repeat("frame\n", 20_000)),
				bugs.WithFields(map[string]any{"blob": strings.Repeat("x", bugs.MaxJSONBytes)}))
			require.NoError(t, err)
			assert.Len(t, []rune(*r.ErrorMessage), bugs.MaxErrorMessageLength)
			assert.Len(t, []rune(*r.ErrorStack), bugs.MaxErrorStackLength)
			assert.Contains(t, string(r.Context), `"truncated":true`)

			h := bugs.CaptureHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusInternalServerError)
			}), svc)
			req := httptest.NewRequest(http.MethodGet, "/big", nil)
			req.Header.Set("X-Big", strings.Repeat("y", 200_000))
			h.ServeHTTP(httptest.NewRecorder(), req)
			page, err := svc.List(ctx, bugs.ListFilter{Limit: bugs.MaxLimit})
			require.NoError(t, err)
			var found bool
			for _, r := range page.Items {
				found = found || *r.ErrorMessage == "500 Internal Server Error on GET /big"
			}
			assert.True(t, found, "a request with a huge header is still filed")
		})

		t.Run("5xx answers, not 503, 4xx or aborts", func(t *testing.T) {
			h := bugs.CaptureHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/abort":
					panic(http.ErrAbortHandler)
				case "/missing":
					http.NotFound(w, r)
				case "/down":
					// A deliberate answer: a dependency is down or a
					// feature is switched off.
					http.Error(w, "down", http.StatusServiceUnavailable)
				default:
					// An outer middleware's request id wins over the header.
					w.Header().Set("X-Request-ID", "server-assigned")
					http.Error(w, "boom", http.StatusInternalServerError)
				}
			}), svc)
			before, err := svc.List(ctx, bugs.ListFilter{Limit: bugs.MaxLimit})
			require.NoError(t, err)

			for _, path := range []string{"/items/17", "/items/18"} {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
				assert.Equal(t, http.StatusInternalServerError, w.Code, "the answer is untouched")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/down", nil))
			assert.Equal(t, http.StatusServiceUnavailable, w.Code)
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/missing", nil))
			func() {
				defer func() { _ = recover() }()
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/abort", nil))
			}()

			after, err := svc.List(ctx, bugs.ListFilter{Limit: bugs.MaxLimit})
			require.NoError(t, err)
			require.Equal(t, before.Total+1, after.Total, "one report for both 500s, none for the 503, the 404 and the abort")
			r := after.Items[0]
			assert.Equal(t, "500 Internal Server Error on GET /items/17", *r.ErrorMessage)
			assert.Equal(t, "500", *r.ErrorCode)
			assert.Equal(t, 2, r.OccurrenceCount)
			var c requestContext
			require.NoError(t, json.Unmarshal(r.Context, &c))
			assert.Equal(t, "server-assigned", c.RequestID)
			assert.Equal(t, http.StatusInternalServerError, c.Status)
		})

		t.Run("keyed on the route, not the path", func(t *testing.T) {
			// net/http's ServeMux records the pattern that matched.
			mux := http.NewServeMux()
			mux.HandleFunc("GET /shelves/{shelf}/books/{name}", func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "boom", http.StatusBadGateway)
			})
			h := bugs.CaptureHandler(mux, svc)
			names := []string{"dune", "emma", "ulysses", "3f2a9c1e-0d4b-4e59-9a77-5b1c2d3e4f60", "a%20b"}
			for i, name := range names {
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, fmt.Sprintf("/shelves/s%d/books/%s", i, name), nil))
			}
			r := onlyReport(t, svc, "502 Bad Gateway on GET /shelves/{shelf}/books/{name}")
			assert.Equal(t, len(names), r.OccurrenceCount)
			assert.Equal(t, "502", *r.ErrorCode)

			// A router of the embedder's own names its route and error.
			var failWith error
			h = bugs.CaptureHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusInternalServerError)
			}), svc,
				bugs.WithRoute(func(*http.Request) string { return "/orders/:id" }),
				bugs.WithRequestError(func(*http.Request) error { return failWith }))
			for i := range 3 {
				failWith = fmt.Errorf("order %c: %w", 'a'+i, errs.ErrInternal)
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPut, fmt.Sprintf("/orders/x%c", 'a'+i), nil))
			}
			r = onlyReport(t, svc, "500 Internal Server Error (internal) on PUT /orders/:id")
			assert.Equal(t, 3, r.OccurrenceCount)
			assert.Equal(t, "internal", *r.ErrorCode)
			var c requestContext
			require.NoError(t, json.Unmarshal(r.Context, &c))
			assert.Equal(t, "/orders/:id", c.Route)
			assert.Equal(t, "/orders/xa", c.Path, "the first path is kept for context")
			assert.Equal(t, "order a: internal error", c.Error)

			// Another kind of failure on the same route is another report.
			failWith = errs.ErrTooLarge
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPut, "/orders/xz", nil))
			onlyReport(t, svc, "500 Internal Server Error (too_large) on PUT /orders/:id")
		})
	})
}

// onlyReport returns the one report whose message is msg, failing unless
// there is exactly one.
func onlyReport(t *testing.T, svc *bugs.Service, msg string) bugs.Report {
	t.Helper()
	page, err := svc.List(context.Background(), bugs.ListFilter{Limit: bugs.MaxLimit})
	require.NoError(t, err)
	var found []bugs.Report
	for _, r := range page.Items {
		if r.ErrorMessage != nil && *r.ErrorMessage == msg {
			found = append(found, r)
		}
	}
	require.Len(t, found, 1, "reports with message %q", msg)
	return found[0]
}
