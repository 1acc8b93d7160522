package personal_test

import (
	"context"
	"fmt"
	"time"

	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/personal"
)

// A user's tasks, changed through the service and through the chat.
func Example() {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite::memory:")
	if err != nil {
		panic(err)
	}
	defer db.Close()
	if _, err := store.Migrate(ctx, db, personal.Migrations()); err != nil {
		panic(err)
	}
	// Wednesday 16 December 2026, 10:00 UTC.
	now := func() time.Time { return time.Date(2026, 12, 16, 10, 0, 0, 0, time.UTC) }
	svc := personal.New(personal.NewBunStore(db.DB), personal.Config{Now: now})

	if _, err := svc.CreateTask(ctx, "alice", personal.NewTask{Name: "Pay rent", Priority: personal.Urgent, Tags: []string{"Home"}}); err != nil {
		panic(err)
	}
	reply, err := svc.Chat(ctx, "alice", "", "remind me to review the docs by Friday, high priority")
	if err != nil {
		panic(err)
	}
	fmt.Println(reply.Response)
	reply, err = svc.Chat(ctx, "alice", reply.SessionID, "group my tasks by priority")
	if err != nil {
		panic(err)
	}
	fmt.Println(reply.Response)
	// Output:
	// Added "review the docs" (high priority, not started, due Fri 18 Dec 2026 23:59).
	// Your tasks by priority:
	// urgent (1): Pay rent
	// high (1): review the docs
}
