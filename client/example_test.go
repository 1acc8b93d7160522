package client_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/bugflow/bugflow/client"
)

func Example() {
	// A stand-in for a running bugflow server.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"healthy","version":"0.1.0","timestamp":"2026-11-22T10:00:00Z"}`)
	}))
	defer srv.Close()

	c, err := client.New(srv.URL, client.WithRetry(3))
	if err != nil {
		panic(err)
	}
	health, err := client.Check(c.GetHealthWithResponse(context.Background()))
	if err != nil {
		panic(err)
	}
	fmt.Println(health.JSON200.Status, health.JSON200.Version)
	// Output: healthy 0.1.0
}
