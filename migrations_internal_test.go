package bugflow

import (
	"context"
	"log/slog"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/activity"
	"github.com/bugflow/bugflow/analysis"
	"github.com/bugflow/bugflow/audit"
	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/bugs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/jobs"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/mlpipeline"
	"github.com/bugflow/bugflow/tickets"
	"github.com/bugflow/bugflow/workflow"
)

// Every release's database upgrades to this one: a database left at each
// migration (and an empty one) is opened by the engine, which applies the
// rest, and then every domain can write. A migration that creates a table
// from a live row struct fails here as soon as that struct gains a column
// that a later migration adds too.
func TestMigrationsUpgradeFromEveryEarlierSchema(t *testing.T) {
	var ids []string
	for _, set := range domainMigrations() {
		for _, m := range set {
			ids = append(ids, m.ID)
		}
	}
	slices.Sort(ids)
	starts := append([]string{"empty"}, ids...)
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			for _, start := range starts {
				t.Run(start, func(t *testing.T) {
					ctx := context.Background()
					url := b.NewURL(t)
					if start != "empty" {
						db := dbtest.Open(t, url, nil)
						require.NoError(t, jobs.Migrate(ctx, db))
						_, err := store.MigrateTo(ctx, db, start, domainMigrations()...)
						require.NoError(t, err)
						require.NoError(t, db.Close())
					}
					e, err := Open(ctx, Config{DatabaseURL: url, Logger: slog.New(slog.DiscardHandler), Jobs: JobsConfig{Disabled: true}})
					require.NoError(t, err)
					t.Cleanup(func() { _ = e.Close() })
					require.NoError(t, e.Check(ctx))
					smokeWrite(t, e)
				})
			}
		})
	}
}

// smokeWrite writes through every domain's service and reads one back.
func smokeWrite(t *testing.T, e *Engine) {
	t.Helper()
	ctx := context.Background()
	u, err := e.Auth.Register(ctx, auth.Registration{Username: "smoke", Password: "correct horse", Name: "Smoke", Lastname: "Test"})
	require.NoError(t, err)
	_, err = e.Activity.Record(ctx, activity.Entry{UserID: u.ID, Action: "page-view", Summary: "smoke"})
	require.NoError(t, err)
	r, err := e.Bugs.Create(ctx, bugs.CreateInput{Title: "smoke", Source: bugs.SourceUserCommand, ReporterID: u.ID})
	require.NoError(t, err)
	_, err = e.Bugs.Get(ctx, r.ID)
	require.NoError(t, err)
	require.NoError(t, e.Analysis.Start(ctx, analysis.RecordInput{JobID: "smoke", JobName: "smoke-job", BuildNumber: 1}))
	_, err = e.ML.CreateTraining(ctx, mlpipeline.Caller{UserID: u.ID}, mlpipeline.TrainingRequest{Files: []string{"upload.csv"}})
	require.NoError(t, err)
	w, err := e.Workflow.CreateWorkflow(ctx, workflow.WorkflowInput{Name: "smoke", UrgentSLA: "01:00:00"},
		&workflow.GraphInput{Nodes: []workflow.NodeInput{{TempID: "a", StepInput: workflow.StepInput{Name: "smoke"}}}})
	require.NoError(t, err)
	_, err = e.Workflow.Detail(ctx, w.ID)
	require.NoError(t, err)
	tk, err := e.Tickets.Submit(ctx, tickets.Caller{UserID: u.ID}, tickets.Input{Subject: "smoke", Department: "IT", Category: "Smoke"})
	require.NoError(t, err)
	_, err = e.Tickets.Get(ctx, tickets.Caller{UserID: u.ID}, tk.ID)
	require.NoError(t, err)
	require.NoError(t, e.Audit.Record(ctx, audit.Change{Action: "smoke", TargetType: "Smoke", TargetID: "1"}))
	_, _, err = e.Audit.List(ctx, audit.Filter{Action: "smoke"}, 1, 10)
	require.NoError(t, err)
}
