package workflow_test

import (
	"context"
	"fmt"
	"log"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/workflow"
)

// A workflow is created with its graph in one call, the nodes named by
// temp_ids; Initialize says what keeps it from running, and makes it
// usable once nothing does.
func Example() {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite::memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := store.Migrate(ctx, db, workflow.Migrations()); err != nil {
		log.Fatal(err)
	}
	svc := workflow.New(workflow.NewBunStore(db.DB), workflow.Config{Roles: roleDirectory{2: "Agent", 3: "Specialist"}})

	agent := int64(2)
	c, err := svc.CreateWorkflow(ctx, workflow.WorkflowInput{
		Name: "IT Support Request", Category: "Technology", Department: "IT",
		LowSLA: "72:00:00", MediumSLA: "48:00:00", HighSLA: "24:00:00", UrgentSLA: "04:00:00",
	}, &workflow.GraphInput{
		Nodes: []workflow.NodeInput{
			{TempID: "node_1", StepInput: workflow.StepInput{Name: "Triage", RoleID: &agent, IsStart: true}},
			{TempID: "node_2", StepInput: workflow.StepInput{Name: "Resolution", IsEnd: true}},
		},
		Edges: []workflow.EdgeInput{{FromTempID: "node_1", ToTempID: "node_2", Name: "Assign"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	triage := c.Graph.Nodes[0]
	fmt.Println(c.Status, triage.Name, triage.RoleName, triage.Weight, c.TempIDMapping["node_1"] == triage.ID)

	_, err = svc.Initialize(ctx, c.ID)
	fmt.Println(errs.KindOf(err), errs.As(err).Fields["graph"])

	specialist := int64(3)
	resolution := c.Graph.Nodes[1]
	if _, err := svc.UpdateStep(ctx, resolution.ID, workflow.StepInput{Name: "Resolution", RoleID: &specialist, IsEnd: true}); err != nil {
		log.Fatal(err)
	}
	d, err := svc.Initialize(ctx, c.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.Status, d.Urgent, d.Graph.Nodes[1].RoleName)
	// Output:
	// draft Triage Agent 0.5 true
	// invalid [step "Resolution" (2) has no role]
	// initialized 04:00:00 Specialist
}
