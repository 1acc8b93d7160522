package tickets_test

import (
	"context"
	"fmt"
	"log"
	"slices"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/tickets"
	"github.com/bugflow/bugflow/workflow"
)

// frontDesk is a People with an Agent role (2) held by alice and a Ticket
// Coordinator role (9) held by carol.
type frontDesk struct{}

var frontDeskRoles = map[int64]workflow.Holder{2: {UserID: "u-alice", Username: "alice"}, 9: {UserID: "u-carol", Username: "carol"}}

func (frontDesk) RoleName(_ context.Context, id int64) (string, error) {
	if name, ok := map[int64]string{2: "Agent", 9: "Ticket Coordinator"}[id]; ok {
		return name, nil
	}
	return "", errs.NotFoundf("role %d not found", id)
}

func (frontDesk) RoleHolders(_ context.Context, id int64) ([]workflow.Holder, error) {
	if h, ok := frontDeskRoles[id]; ok {
		return []workflow.Holder{h}, nil
	}
	return nil, nil
}

func (frontDesk) User(_ context.Context, id string) (workflow.Holder, error) {
	for _, h := range frontDeskRoles {
		if h.UserID == id {
			return h, nil
		}
	}
	return workflow.Holder{}, errs.NotFoundf("no user %q", id)
}

func (frontDesk) CoordinatorRole(context.Context) (int64, error) { return 9, nil }

// The main story with the real workflow engine: a workflow for IT
// hardware, a ticket submitted into it in one transaction (ticket, task,
// owner, assignment), the agent finalising the task, and the ticket
// following its task to Resolved.
func Example_withTheWorkflowEngine() {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite::memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := store.Migrate(ctx, db, slices.Concat(workflow.Migrations(), tickets.Migrations())); err != nil {
		log.Fatal(err)
	}
	// The engine tells tickets of every task change; tickets is built
	// after the engine it hands tickets to, hence the function.
	var desk *tickets.Service
	engine := workflow.New(workflow.NewBunStore(db.DB), workflow.Config{
		Roles: frontDesk{}, People: frontDesk{},
		Observer: workflow.TaskObserverFunc(func(ctx context.Context, t workflow.Task) error { return desk.TaskStatusChanged(ctx, t) }),
	})
	desk = tickets.New(tickets.NewBunStore(db.DB), tickets.Config{Intake: engine})

	agent := int64(2)
	c, err := engine.CreateWorkflow(ctx, workflow.WorkflowInput{Name: "Hardware", Category: "Technology", Department: "IT", HighSLA: "24:00:00"},
		&workflow.GraphInput{Nodes: []workflow.NodeInput{{TempID: "fix", StepInput: workflow.StepInput{Name: "Fix", RoleID: &agent, IsStart: true, IsEnd: true}}}})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := engine.Initialize(ctx, c.ID); err != nil {
		log.Fatal(err)
	}

	eve := tickets.Caller{UserID: "u-eve"}
	res, err := desk.Submit(ctx, eve, tickets.Input{
		Subject: "Laptop not turning on", Category: "Technology", SubCategory: "Hardware", Department: "IT", Priority: "High",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, "owner", *res.OwnerID)

	alice := workflow.Actor{UserID: "u-alice", Username: "alice"}
	r, err := engine.Transition(ctx, alice, *res.TaskID, nil, "Replaced the power supply")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Message)
	t, err := desk.Get(ctx, eve, res.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.Status)
	// Output:
	// Open owner u-carol
	// Task resolved
	// Resolved
}
