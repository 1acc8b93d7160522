// Command embed shows bugflow embedded in another program: the engine on an
// SQLite file, the reference API mounted under the program's own mux, and a
// durable background job of the program's own on bugflow's queue.
//
//	go run ./examples/embed
//	curl localhost:8081/health
//	curl localhost:8081/hello
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/riverqueue/river"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/server"
)

// greetArgs is a job of the embedding program. River stores it as JSON, so
// it survives restarts.
type greetArgs struct {
	Name string `json:"name"`
}

func (greetArgs) Kind() string { return "example_greet" }

type greetWorker struct {
	river.WorkerDefaults[greetArgs]
}

func (greetWorker) Work(ctx context.Context, job *river.Job[greetArgs]) error {
	slog.InfoContext(ctx, "hello from a durable job", "name", job.Args.Name, "attempt", job.Attempt)
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	engine, err := bugflow.Open(ctx, bugflow.Config{
		DatabaseURL: "sqlite:" + filepath.Join(os.TempDir(), "bugflow-embed-example.db"),
		Jobs: bugflow.JobsConfig{
			Register: func(w *river.Workers, _ *[]*river.PeriodicJob) { river.AddWorker(w, greetWorker{}) },
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer engine.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		res, err := engine.Enqueue(r.Context(), greetArgs{Name: "curl"}, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "queued job %d\n", res.Job.ID)
	})
	mux.Handle("/", server.New(engine)) // everything else is bugflow's API

	srv := &http.Server{Addr: "127.0.0.1:8081", Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	slog.Info("embedded bugflow listening", "addr", srv.Addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
