package bugs_test

import (
	"context"
	"encoding/json"
	"errors"
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
				if *page.Items[i].ErrorMessage == "panic: nil map write in handler 42" {
					found = &page.Items[i]
				}
			}
			require.NotNil(t, found, "the panic was filed")
			assert.Equal(t, "panic", *found.ErrorCode)
			assert.Contains(t, *found.ErrorStack, "capture_test.go")
			var c requestContext
			require.NoError(t, json.Unmarshal(found.Context, &c))
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

		t.Run("5xx answers, not 4xx or aborts", func(t *testing.T) {
			h := bugs.CaptureHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/abort":
					panic(http.ErrAbortHandler)
				case "/missing":
					http.NotFound(w, r)
				default:
					// An outer middleware's request id wins over the header.
					w.Header().Set("X-Request-ID", "server-assigned")
					http.Error(w, "down", http.StatusServiceUnavailable)
				}
			}), svc)
			before, err := svc.List(ctx, bugs.ListFilter{Limit: bugs.MaxLimit})
			require.NoError(t, err)

			for _, path := range []string{"/items/17", "/items/18"} {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
				assert.Equal(t, http.StatusServiceUnavailable, w.Code, "the answer is untouched")
			}
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/missing", nil))
			func() {
				defer func() { _ = recover() }()
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/abort", nil))
			}()

			after, err := svc.List(ctx, bugs.ListFilter{Limit: bugs.MaxLimit})
			require.NoError(t, err)
			require.Equal(t, before.Total+1, after.Total, "one report for both 503s, none for the 404 and the abort")
			r := after.Items[0]
			assert.Equal(t, "503 Service Unavailable on GET /items/17", *r.ErrorMessage)
			assert.Equal(t, "503", *r.ErrorCode)
			assert.Equal(t, 2, r.OccurrenceCount)
			var c requestContext
			require.NoError(t, json.Unmarshal(r.Context, &c))
			assert.Equal(t, "server-assigned", c.RequestID)
			assert.Equal(t, http.StatusServiceUnavailable, c.Status)
		})
	})
}
