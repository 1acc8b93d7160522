package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/internal/store"
)

// One check's verdict answers GET /health for healthCacheFor, and not a
// moment longer.
func TestHealthVerdictIsReusedForASecond(t *testing.T) {
	url := "sqlite://" + filepath.ToSlash(filepath.Join(t.TempDir(), "bf.db"))
	s, _ := newTestServerWith(t, func(cfg *bugflow.Config) { cfg.DatabaseURL = url })
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	s.now = func() time.Time { return now }

	rec, _ := do(t, s, http.MethodGet, "/health", nil)
	require.Equal(t, http.StatusOK, rec.Code)

	db, err := store.Open(context.Background(), url)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.ExecContext(context.Background(), "DROP TABLE bugflow_migrations")
	require.NoError(t, err)

	now = now.Add(healthCacheFor - time.Nanosecond)
	rec, _ = do(t, s, http.MethodGet, "/health", nil)
	assert.Equal(t, http.StatusOK, rec.Code, "the verdict of a moment ago still answers")

	now = now.Add(time.Nanosecond)
	rec, body := do(t, s, http.MethodGet, "/health", nil)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code, "after healthCacheFor the database is checked again")
	assert.Equal(t, "unhealthy", body["status"])
}

// The API root's links come from the route table: a collection of the
// workflow API appears once its GET route is registered, and nothing else
// does.
func TestAPIRootLinksServedCollections(t *testing.T) {
	s, _ := newTestServer(t)
	ok := func(w http.ResponseWriter, _ *http.Request) error { w.WriteHeader(http.StatusOK); return nil }
	s.group("", DRF,
		get("/widgets/", anyone, ok),
		get("/widgets/:id/", anyone, ok),
		post("/gadgets/", anyone, ok),
	)
	s.group("", Plain, get("/plain/", anyone, ok))
	s.group("", DRF, get("/a/b/", anyone, ok))

	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Host = "bugflow.example:8002"
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{
		"message": "Welcome to Workflow Management API",
		"version": "1.0",
		"roles": "http://bugflow.example:8002/roles/",
		"workflows": "http://bugflow.example:8002/workflows/",
		"steps": "http://bugflow.example:8002/steps/",
		"transitions": "http://bugflow.example:8002/transitions/",
		"analytics": "http://bugflow.example:8002/analytics/",
		"tickets": "http://bugflow.example:8002/tickets/",
		"tasks": "http://bugflow.example:8002/tasks/",
		"widgets": "http://bugflow.example:8002/widgets/"
	}`, rec.Body.String())
}
