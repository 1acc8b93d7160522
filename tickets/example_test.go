package tickets_test

import (
	"context"
	"fmt"
	"log"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/tickets"
	"github.com/bugflow/bugflow/workflow"
)

// helpDesk stands in for the workflow engine: it takes IT tickets only,
// starting task 1 of workflow 3, owned by coordinator "u2".
type helpDesk struct{}

func (helpDesk) StartTask(_ context.Context, in workflow.TaskStart) (workflow.Task, error) {
	if in.Department != "IT" {
		return workflow.Task{}, errs.Wrap(errs.NotFound, workflow.ErrNoWorkflow, "no workflow for %s", in.Department)
	}
	owner := "u2"
	return workflow.Task{ID: 1, WorkflowID: 3, TicketID: in.TicketID, Status: workflow.TaskNew, TicketOwnerID: &owner}, nil
}

// A ticket is submitted and taken by intake; one that no workflow matches
// waits as New; its status then follows its task; its submitter reads it
// and another user cannot.
func Example() {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite::memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := store.Migrate(ctx, db, tickets.Migrations()); err != nil {
		log.Fatal(err)
	}
	svc := tickets.New(tickets.NewBunStore(db.DB), tickets.Config{Intake: helpDesk{}})

	alice := tickets.Caller{UserID: "u1"}
	res, err := svc.Submit(ctx, alice, tickets.Input{
		Subject: "Laptop not turning on", Category: "Technology", SubCategory: "Hardware",
		Department: "IT", Priority: "high",
		Employee: &tickets.Employee{ID: 101, Name: "John Smith", Email: "john.smith@company.com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(res.TicketID), res.Status, res.Priority, *res.TaskID, *res.OwnerID)

	other, err := svc.Submit(ctx, alice, tickets.Input{Subject: "New desk chair", Department: "Facilities"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(other.Status, other.Priority, other.TaskID == nil)
	fmt.Println(other.Message)

	// The engine tells the service of each task change (TaskObserver).
	err = svc.TaskStatusChanged(ctx, workflow.Task{ID: 1, WorkflowID: 3, TicketID: res.TicketID, Status: workflow.TaskResolved})
	if err != nil {
		log.Fatal(err)
	}
	t, err := svc.Get(ctx, alice, res.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.Status)

	_, err = svc.Get(ctx, tickets.Caller{UserID: "u9"}, res.ID)
	fmt.Println(errs.KindOf(err))
	// Output:
	// 16 Open High 1 u2
	// New Medium true
	// No initialized workflow matches this ticket's department and category; it is stored as New, without a task.
	// Resolved
	// not_found
}
