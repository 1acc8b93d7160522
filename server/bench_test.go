package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/server"
)

// BenchmarkHealth compares GET /health through the full middleware stack
// (request id, recovery, access log, metrics, body limit) with a bare
// httprouter handler doing the same work (database ping and JSON body). The
// ratio of the two ns/op is the middleware's cost. The access log goes to a
// discarding JSON handler, so its formatting is counted but not disk I/O.
func BenchmarkHealth(b *testing.B) {
	engine, err := bugflow.Open(context.Background(), bugflow.Config{DatabaseURL: "sqlite::memory:", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer engine.Close()

	full := server.New(engine, server.WithLogger(slog.New(slog.NewJSONHandler(discard{}, nil))))
	bare := httprouter.New()
	bare.GET("/health", func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		status := "healthy"
		if engine.Ping(r.Context()) != nil {
			status = "unhealthy"
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "version": bugflow.Version, "timestamp": time.Now().UTC()})
	})

	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"bare_httprouter", bare}, {"full_stack", full}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				c.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health", nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
