package tickets_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/audit"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/tickets"
	"github.com/bugflow/bugflow/workflow"
)

// benchRow is the raw single-row insert that submitting a ticket is
// measured against.
type benchRow struct {
	bun.BaseModel `bun:"table:tickets_bench_rows"`
	ID            int64     `bun:"id,pk,autoincrement"`
	Subject       string    `bun:"subject,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
}

var benchMigrations = []store.Migration{{ID: "20261207119100", Comment: "tickets bench: raw rows", Up: func(ctx context.Context, tx bun.Tx) error {
	_, err := tx.NewCreateTable().Model((*benchRow)(nil)).Exec(ctx)
	return err
}}}

// BenchmarkSubmit submits tickets through the library, intake by the real
// task engine included (ticket, task, assignment, owner, audit events, one
// transaction), next to a raw single-row insert on the same database: the
// ratio of their ns/op is what a ticket costs over the cheapest write.
func BenchmarkSubmit(b *testing.B) {
	for _, backend := range dbtest.Backends() {
		db := dbtest.Open(b, backend.NewURL(b), slices.Concat(workflow.Migrations(), tickets.Migrations(), audit.Migrations(), benchMigrations))
		ctx := context.Background()
		people := desk{9: {{UserID: "u-c1", Username: "coord1"}}}
		for _, id := range []string{"u-a1", "u-a2", "u-a3", "u-a4", "u-a5", "u-a6", "u-a7"} {
			people[2] = append(people[2], workflow.Holder{UserID: id, Username: id})
		}
		var svc *tickets.Service
		trail := audit.New(audit.NewBunStore(db.DB), audit.Config{})
		engine := workflow.New(workflow.NewBunStore(db.DB), workflow.Config{Roles: people, People: people, Observer: laterObserver{&svc}, Audit: trail})
		svc = tickets.New(tickets.NewBunStore(db.DB), tickets.Config{Intake: engine, Audit: trail})
		agent := int64(2)
		c, err := engine.CreateWorkflow(ctx, workflow.WorkflowInput{Name: "IT", Category: "Technology", Department: "IT", HighSLA: "24:00:00"},
			&workflow.GraphInput{Nodes: []workflow.NodeInput{
				{TempID: "a", StepInput: workflow.StepInput{Name: "Triage", RoleID: &agent, IsStart: true}},
				{TempID: "b", StepInput: workflow.StepInput{Name: "Fix", RoleID: &agent, IsEnd: true}},
			}, Edges: []workflow.EdgeInput{{FromTempID: "a", ToTempID: "b"}}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := engine.Initialize(ctx, c.ID); err != nil {
			b.Fatal(err)
		}
		b.Run(backend.Name+"/submit", func(b *testing.B) {
			for b.Loop() {
				if _, err := svc.Submit(ctx, alice, laptop); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tickets/s")
		})
		b.Run(backend.Name+"/raw_insert", func(b *testing.B) {
			for b.Loop() {
				if _, err := db.NewInsert().Model(&benchRow{Subject: laptop.Subject, CreatedAt: store.Now()}).Exec(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
