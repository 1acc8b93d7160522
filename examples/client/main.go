// Command client calls a running bugflow server with the Go client.
//
//	go run ./cmd/bugflow serve &
//	go run ./examples/client http://localhost:8080
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/bugflow/bugflow/client"
)

func main() {
	base := "http://localhost:8080"
	if len(os.Args) > 1 {
		base = os.Args[1]
	}
	c, err := client.New(base, client.WithRetry(3), client.WithToken(os.Getenv("BUGFLOW_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	health, err := client.Check(c.GetHealthWithResponse(ctx))
	var apiErr *client.APIError
	switch {
	case errors.As(err, &apiErr):
		log.Fatalf("server answered %d: %s", apiErr.StatusCode, apiErr.Message)
	case err != nil:
		log.Fatal(err)
	}
	fmt.Printf("%s: %s, version %s\n", base, health.JSON200.Status, health.JSON200.Version)
}
