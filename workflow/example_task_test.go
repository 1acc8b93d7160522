package workflow_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/workflow"
)

// staff is a People of two roles with one holder each and no Ticket
// Coordinators.
type staff map[int64]workflow.Holder

func (s staff) RoleName(_ context.Context, id int64) (string, error) {
	return roleDirectory{2: "Agent", 3: "Specialist"}.RoleName(context.Background(), id)
}

func (s staff) RoleHolders(_ context.Context, id int64) ([]workflow.Holder, error) {
	if h, ok := s[id]; ok {
		return []workflow.Holder{h}, nil
	}
	return nil, nil
}

func (s staff) User(_ context.Context, userID string) (workflow.Holder, error) {
	for _, h := range s {
		if h.UserID == userID {
			return h, nil
		}
	}
	return workflow.Holder{}, errs.NotFoundf("no user %q", userID)
}

func (s staff) CoordinatorRole(context.Context) (int64, error) {
	return 0, errs.NotFoundf("no Ticket Coordinator role")
}

// A ticket becomes a task on the workflow that matches its department and
// category, assigned to the start step's role; each holder moves it on
// with a transition, and the last one, on a step with no way out,
// finalises it.
func Example_task() {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite::memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := store.Migrate(ctx, db, workflow.Migrations()); err != nil {
		log.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	people := staff{2: {UserID: "u-alice", Username: "alice"}, 3: {UserID: "u-sam", Username: "sam"}}
	svc := workflow.New(workflow.NewBunStore(db.DB), workflow.Config{
		Roles: roleDirectory{2: "Agent", 3: "Specialist"}, People: people, Now: func() time.Time { return now },
	})

	agent, specialist, w3, w7 := int64(2), int64(3), 0.3, 0.7
	c, err := svc.CreateWorkflow(ctx, workflow.WorkflowInput{
		Name: "IT Support Request", Category: "Technology", SubCategory: "Support", Department: "IT",
		LowSLA: "72:00:00", MediumSLA: "48:00:00", HighSLA: "24:00:00", UrgentSLA: "04:00:00",
	}, &workflow.GraphInput{
		Nodes: []workflow.NodeInput{
			{TempID: "node_1", StepInput: workflow.StepInput{Name: "Triage", RoleID: &agent, IsStart: true, Weight: &w3}},
			{TempID: "node_2", StepInput: workflow.StepInput{Name: "Resolution", RoleID: &specialist, IsEnd: true, Weight: &w7}},
		},
		Edges: []workflow.EdgeInput{{FromTempID: "node_1", ToTempID: "node_2", Name: "Assign"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := svc.Initialize(ctx, c.ID); err != nil {
		log.Fatal(err)
	}

	task, err := svc.StartTask(ctx, workflow.TaskStart{
		TicketID: "TX20261207000001", Subject: "Laptop will not boot",
		Department: "IT", Category: "Technology", SubCategory: "Hardware", Priority: workflow.PriorityHigh,
	})
	if err != nil {
		log.Fatal(err)
	}
	d, err := svc.GetTask(ctx, workflow.Actor{Admin: true}, task.ID)
	if err != nil {
		log.Fatal(err)
	}
	item := d.Assignments[0]
	fmt.Println(task.Status, task.CurrentStep.Name, "due", task.TargetResolution.Format(time.DateTime))
	fmt.Println(item.Username, item.RoleName, "due", item.TargetResolution.Format(time.DateTime))

	alice := workflow.Actor{UserID: "u-alice", Username: "alice"}
	r, err := svc.Transition(ctx, alice, task.ID, &c.Graph.Edges[0].ID, "Completed initial assessment")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Message, "/", r.Task.Status)

	sam := workflow.Actor{UserID: "u-sam", Username: "sam"}
	r, err = svc.Transition(ctx, sam, task.ID, nil, "Replaced the disk")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Message, "/", r.Task.Status)

	v, err := svc.Visualization(ctx, sam, task.ID)
	if err != nil {
		log.Fatal(err)
	}
	for _, step := range v.Steps {
		fmt.Println(step.Name, step.State, step.Assignments[0].Username, step.Assignments[0].Status)
	}
	// Output:
	// new Triage due 2026-12-08 09:00:00
	// alice Agent due 2026-12-07 16:12:00
	// Task transitioned to Resolution / in progress
	// Task resolved / resolved
	// Triage done alice resolved
	// Resolution done sam resolved
}
