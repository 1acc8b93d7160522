package server

import (
	"context"
	"net/http"
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
