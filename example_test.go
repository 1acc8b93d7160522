package bugflow_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"

	"github.com/bugflow/bugflow"
)

// Open an engine on a private in-memory database, check it answers, close it.
func Example() {
	ctx := context.Background()
	engine, err := bugflow.Open(ctx, bugflow.Config{
		DatabaseURL: "sqlite::memory:",
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer engine.Close()

	fmt.Println(engine.Dialect(), engine.Ping(ctx) == nil)
	// Output: sqlite true
}
