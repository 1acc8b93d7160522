package bugs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/bugflow/bugflow/activity"
	"github.com/bugflow/bugflow/bugs"
	"github.com/bugflow/bugflow/internal/store"
)

// Two captured errors that differ only in an id become one report with a
// count; a person's report carries their recent actions.
func Example() {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite::memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := store.Migrate(ctx, db, bugs.Migrations(), activity.Migrations()); err != nil {
		log.Fatal(err)
	}
	journal := activity.New(activity.NewBunStore(db.DB), activity.Config{})
	svc := bugs.New(bugs.NewBunStore(db.DB), bugs.Config{Journey: journal})

	for _, msg := range []string{"Order 1234 not found", "Order 5678 not found"} {
		r, created, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorMessage: msg})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r.Title, r.OccurrenceCount, created)
	}

	if _, err := journal.Record(ctx, activity.Entry{UserID: "user_789", Action: "page-view", Summary: "Viewed page: Export"}); err != nil {
		log.Fatal(err)
	}
	r, err := svc.Create(ctx, bugs.CreateInput{Title: "Export button not working", Source: bugs.SourceUserCommand, ReporterID: "user_789"})
	if err != nil {
		log.Fatal(err)
	}
	var journey bugs.Journey
	if err := json.Unmarshal(r.UserJourney, &journey); err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Status, r.Severity, journey.RecentActions[0].Summary)
	// Output:
	// Order 1234 not found 1 true
	// Order 1234 not found 2 false
	// open medium Viewed page: Export
}
