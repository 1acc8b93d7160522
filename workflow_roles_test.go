package bugflow_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/workflow"
)

// The engine's workflow steps name the roles of its identity service: a
// step's role_id must be one of them, and its role_name is that role's.
func TestWorkflowStepsNameTheEnginesRoles(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		e, agent := engineWithAgentRole(t, url)

		in := workflow.WorkflowInput{Name: "IT Support", Category: "Technology", Department: "IT"}
		c, err := e.Workflow.CreateWorkflow(ctx, in, &workflow.GraphInput{Nodes: []workflow.NodeInput{
			{TempID: "a", StepInput: workflow.StepInput{Name: "Triage", RoleID: &agent.ID, IsStart: true}},
		}})
		require.NoError(t, err)
		assert.Equal(t, "Agent", c.Graph.Nodes[0].RoleName)

		unknown := agent.ID + 1000
		in.Name = "Other"
		_, err = e.Workflow.CreateWorkflow(ctx, in, &workflow.GraphInput{Nodes: []workflow.NodeInput{
			{TempID: "a", StepInput: workflow.StepInput{Name: "Triage", RoleID: &unknown, IsStart: true}},
		}})
		assert.Equal(t, errs.Invalid, errs.KindOf(err), "a role the engine does not know: %v", err)
	})
}

// Initialize checks a graph's roles with the engine's identity service,
// which shares the database: on SQLite, one connection. The check must not
// wait for the connection that Initialize's own transaction holds.
func TestWorkflowInitializeChecksTheEnginesRoles(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		e, agent := engineWithAgentRole(t, url)
		c, err := e.Workflow.CreateWorkflow(ctx, workflow.WorkflowInput{Name: "IT Support", Category: "Technology"}, &workflow.GraphInput{
			Nodes: []workflow.NodeInput{
				{TempID: "a", StepInput: workflow.StepInput{Name: "Triage", RoleID: &agent.ID, IsStart: true}},
				{TempID: "b", StepInput: workflow.StepInput{Name: "Fix", RoleID: &agent.ID, EscalateTo: &agent.ID, IsEnd: true}},
			},
			Edges: []workflow.EdgeInput{{FromTempID: "a", ToTempID: "b"}},
		})
		require.NoError(t, err)

		// A deadlock fails here instead of hanging the package's tests.
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		d, err := e.Workflow.Initialize(ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, workflow.StatusInitialized, d.Status)
		assert.Equal(t, "Agent", d.Graph.Nodes[0].RoleName)
	})
}

// engineWithAgentRole opens an engine on url whose identity service has
// the role "Agent".
func engineWithAgentRole(t *testing.T, url string) (*bugflow.Engine, auth.DomainRole) {
	t.Helper()
	ctx := context.Background()
	e, err := bugflow.Open(ctx, bugflow.Config{DatabaseURL: url, Logger: slog.New(slog.DiscardHandler), Jobs: bugflow.JobsConfig{Disabled: true}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	admin := &auth.Identity{User: auth.User{Role: auth.RoleAdmin}}
	agent, err := e.Auth.CreateRole(ctx, admin, auth.RoleInput{Name: "Agent"})
	require.NoError(t, err)
	return e, agent
}

// The task engine assigns the holders of the engine's roles and makes a
// Ticket Coordinator the owner, through the adapter over auth.
func TestTasksAreAssignedToTheEnginesRoleHolders(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		e, agent := engineWithAgentRole(t, url)
		admin := &auth.Identity{User: auth.User{Role: auth.RoleAdmin}}
		tc, err := e.Auth.RoleByName(ctx, auth.TicketCoordinator)
		require.NoError(t, err)
		users := map[string]auth.User{}
		for _, name := range []string{"alice", "carol", "dave"} {
			u, err := e.Auth.Register(ctx, auth.Registration{Username: name, Password: "correct horse battery"})
			require.NoError(t, err)
			users[name] = u
		}
		for _, m := range []struct {
			role int64
			user string
		}{{agent.ID, "alice"}, {tc.ID, "carol"}} {
			_, err := e.Auth.AddUserRole(ctx, admin, m.role, users[m.user].ID)
			require.NoError(t, err)
		}
		c, err := e.Workflow.CreateWorkflow(ctx, workflow.WorkflowInput{Name: "IT Support", Category: "Technology", Department: "IT"}, &workflow.GraphInput{
			Nodes: []workflow.NodeInput{
				{TempID: "a", StepInput: workflow.StepInput{Name: "Triage", RoleID: &agent.ID, IsStart: true}},
				{TempID: "b", StepInput: workflow.StepInput{Name: "Fix", RoleID: &agent.ID, IsEnd: true}},
			},
			Edges: []workflow.EdgeInput{{FromTempID: "a", ToTempID: "b"}},
		})
		require.NoError(t, err)
		_, err = e.Workflow.Initialize(ctx, c.ID)
		require.NoError(t, err)

		task, err := e.Workflow.StartTask(ctx, workflow.TaskStart{Subject: "Laptop", Department: "IT", Category: "Technology"})
		require.NoError(t, err)
		require.NotNil(t, task.TicketOwnerID)
		assert.Equal(t, users["carol"].ID, *task.TicketOwnerID)
		d, err := e.Workflow.GetTask(ctx, workflow.Actor{Admin: true}, task.ID)
		require.NoError(t, err)
		require.Len(t, d.Assignments, 1)
		assert.Equal(t, users["alice"].ID, d.Assignments[0].UserID)
		assert.Equal(t, "alice", d.Assignments[0].Username)
		assert.Equal(t, "Agent", d.Assignments[0].RoleName)

		moved, err := e.Workflow.Transfer(ctx, workflow.Actor{Admin: true}, d.Assignments[0].ID, users["dave"].ID, "")
		require.NoError(t, err)
		assert.Equal(t, "dave", moved.Username)
		_, err = e.Workflow.Transfer(ctx, workflow.Actor{Admin: true}, moved.ID, "no-such-user", "")
		assert.Equal(t, errs.Invalid, errs.KindOf(err))
	})
}
