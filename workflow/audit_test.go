package workflow_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/audit"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/workflow"
)

func TestDefinitionChangesAreAudited(t *testing.T) {
	migrations := slices.Concat(workflow.Migrations(), audit.Migrations())
	dbtest.ForEachDB(t, migrations, func(t *testing.T, db *store.DB) {
		trail := audit.New(audit.NewBunStore(db.DB), audit.Config{})
		svc := newService(t, db, workflow.Config{Audit: trail})
		ctx := audit.WithActor(context.Background(), audit.Actor{UserID: "u1", Username: "admin"})
		actions := func(targetType string) []string {
			t.Helper()
			events, _, err := trail.List(ctx, audit.Filter{TargetType: targetType}, 1, 100)
			require.NoError(t, err)
			var out []string
			for _, e := range slices.Backward(events) {
				out = append(out, e.Action+" "+e.TargetID)
				assert.Equal(t, "admin", e.Username)
			}
			return out
		}

		in, g := itSupport()
		c, err := svc.CreateWorkflow(ctx, in, g)
		require.NoError(t, err)
		_, err = svc.CreateWorkflow(ctx, in, g)
		require.ErrorIs(t, err, errs.ErrConflict, "a refused change records nothing")
		in.Description = "changed"
		_, err = svc.UpdateDetails(ctx, c.ID, in)
		require.NoError(t, err)
		step, err := svc.CreateStep(ctx, c.ID, workflow.StepInput{Name: "Review", RoleID: id(2), IsEnd: true})
		require.NoError(t, err)
		tr, err := svc.CreateTransition(ctx, workflow.TransitionInput{FromStepID: c.TempIDMapping["node_1"], ToStepID: step.ID})
		require.NoError(t, err)
		_, err = svc.UpdateStep(ctx, step.ID, workflow.StepInput{Name: "Review 2", RoleID: id(2), IsEnd: true})
		require.NoError(t, err)
		require.NoError(t, svc.DeleteTransition(ctx, tr.ID))
		require.NoError(t, svc.DeleteStep(ctx, step.ID))
		_, err = svc.Initialize(ctx, c.ID)
		require.NoError(t, err)
		_, err = svc.UpdateGraph(ctx, c.ID, *g)
		require.NoError(t, err)
		require.NoError(t, svc.DeleteWorkflow(ctx, c.ID))

		wid := itoa(c.ID)
		assert.Equal(t, []string{"create_workflow " + wid, "update_workflow " + wid, "initialize_workflow " + wid,
			"update_workflow_graph " + wid, "delete_workflow " + wid}, actions("Workflow"))
		sid := itoa(step.ID)
		assert.Equal(t, []string{"create_step " + sid, "update_step " + sid, "delete_step " + sid}, actions("Step"))
		tid := itoa(tr.ID)
		assert.Equal(t, []string{"create_transition " + tid, "delete_transition " + tid}, actions("Transition"))

		events, _, err := trail.List(ctx, audit.Filter{Action: "update_workflow"}, 1, 1)
		require.NoError(t, err)
		assert.Contains(t, string(events[0].Before), `"description":"Standard IT support workflow"`)
		assert.Contains(t, string(events[0].After), `"description":"changed"`)
	})
}

func itoa(v int64) string { return fmt.Sprint(v) }
