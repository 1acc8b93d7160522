package server

import (
	"context"
	"encoding/json"
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
// does. Links use the host each request names, although the server keeps
// its last answer.
func TestAPIRootLinksServedCollections(t *testing.T) {
	s, _ := newTestServer(t)
	root := func(host string) map[string]string {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
		var links map[string]string
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &links))
		return links
	}
	assert.NotContains(t, root("bugflow.example:8002"), "widgets", "no widget route yet")

	ok := func(w http.ResponseWriter, _ *http.Request) error { w.WriteHeader(http.StatusOK); return nil }
	s.group("", DRF,
		get("/widgets/", anyone, ok),
		get("/widgets/:id/", anyone, ok),
		post("/gadgets/", anyone, ok),
	)
	s.group("", Plain, get("/plain/", anyone, ok))
	s.group("", DRF, get("/a/b/", anyone, ok))

	want := func(base string) map[string]string {
		return map[string]string{
			"message":     "Welcome to Workflow Management API",
			"version":     "1.0",
			"roles":       base + "/roles/",
			"workflows":   base + "/workflows/",
			"steps":       base + "/steps/",
			"transitions": base + "/transitions/",
			"analytics":   base + "/analytics/",
			"tickets":     base + "/tickets/",
			"tasks":       base + "/tasks/",
			"widgets":     base + "/widgets/",
		}
	}
	assert.Equal(t, want("http://bugflow.example:8002"), root("bugflow.example:8002"), "routes added after an answer")
	assert.Equal(t, want("http://other.example"), root("other.example"), "another host")
	assert.Equal(t, want("http://bugflow.example:8002"), root("bugflow.example:8002"), "the first host again")
}
