package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/workflow"
)

// roleDirectory is a fixed set of roles, id to name.
type roleDirectory map[int64]string

func (r roleDirectory) RoleName(_ context.Context, id int64) (string, error) {
	name, ok := r[id]
	if !ok {
		return "", errs.NotFoundf("role %d not found", id)
	}
	return name, nil
}

var roles = roleDirectory{2: "Agent", 3: "Specialist", 5: "Manager"}

// taskCount is a TaskCounter that says every workflow has n tasks.
type taskCount int

func (n taskCount) CountTasks(context.Context, int64) (int, error) { return int(n), nil }

func newService(t *testing.T, db *store.DB, cfg workflow.Config) *workflow.Service {
	t.Helper()
	if cfg.Roles == nil {
		cfg.Roles = roles
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	return workflow.New(workflow.NewBunStore(db.DB), cfg)
}

func id(v int64) *int64 { return &v }

// itSupport is the document's create-with-graph example.
func itSupport() (workflow.WorkflowInput, *workflow.GraphInput) {
	w03, w07 := 0.3, 0.7
	return workflow.WorkflowInput{
			Name: "IT Support Request", Description: "Standard IT support workflow",
			Category: "Technology", SubCategory: "Support", Department: "IT",
			LowSLA: "72:00:00", MediumSLA: "48:00:00", HighSLA: "24:00:00", UrgentSLA: "04:00:00",
		}, &workflow.GraphInput{
			Nodes: []workflow.NodeInput{
				{TempID: "node_1", StepInput: workflow.StepInput{Name: "Triage", RoleID: id(2), IsStart: true, Weight: &w03}},
				{TempID: "node_2", StepInput: workflow.StepInput{Name: "Resolution", RoleID: id(3), IsEnd: true, Weight: &w07}},
			},
			Edges: []workflow.EdgeInput{{FromTempID: "node_1", ToTempID: "node_2", Name: "Assign"}},
		}
}

// createExample stores itSupport and returns it with its inputs.
func createExample(t *testing.T, svc *workflow.Service) (workflow.Created, workflow.WorkflowInput, *workflow.GraphInput) {
	t.Helper()
	in, g := itSupport()
	c, err := svc.CreateWorkflow(context.Background(), in, g)
	require.NoError(t, err)
	return c, in, g
}

func TestCreateWorkflowWithGraph(t *testing.T) {
	dbtest.ForEachDB(t, workflow.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := newService(t, db, workflow.Config{})
		in, g := itSupport()
		g.Nodes = append(g.Nodes, workflow.NodeInput{TempID: "node_3", StepInput: workflow.StepInput{Name: "Review", EscalateTo: id(5), Design: workflow.Design{X: 100, Y: -20.5}}})

		c, err := svc.CreateWorkflow(ctx, in, g)
		require.NoError(t, err)
		assert.Equal(t, workflow.StatusDraft, c.Status)
		assert.Equal(t, "IT Support Request", c.Name)
		assert.Equal(t, "04:00:00", c.Urgent.String())
		assert.Equal(t, "72:00:00", c.Low.String())
		require.Len(t, c.TempIDMapping, 3)
		require.Len(t, c.Graph.Nodes, 3)
		triage := c.Graph.Nodes[0]
		assert.Equal(t, c.TempIDMapping["node_1"], triage.ID)
		assert.Equal(t, "node_1", triage.TempID)
		assert.Equal(t, "Agent", triage.RoleName)
		assert.Equal(t, 0.3, triage.Weight)
		assert.Equal(t, 1, triage.Order)
		review := c.Graph.Nodes[2]
		assert.Equal(t, workflow.DefaultWeight, review.Weight, "weight defaults to 0.5")
		assert.Equal(t, 3, review.Order, "order defaults to the node's position")
		assert.Nil(t, review.RoleID)
		assert.Equal(t, id(5), review.EscalateTo)
		require.Len(t, c.Graph.Edges, 1)
		assert.Equal(t, c.TempIDMapping["node_1"], c.Graph.Edges[0].FromStepID)
		assert.Equal(t, c.TempIDMapping["node_2"], c.Graph.Edges[0].ToStepID)

		d, err := svc.Detail(ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, c.Workflow, d.Workflow)
		for i := range c.Graph.Nodes {
			c.Graph.Nodes[i].TempID = ""
		}
		assert.Equal(t, c.Graph, d.Graph, "read back as created, temp_ids aside")

		steps, total, err := svc.ListSteps(ctx, c.ID, workflow.ListOptions{PageSize: 2, Page: 2})
		require.NoError(t, err)
		assert.Equal(t, 3, total)
		require.Len(t, steps, 1)
		assert.Equal(t, "Review", steps[0].Name)
		step, err := svc.GetStep(ctx, triage.ID)
		require.NoError(t, err)
		assert.Equal(t, triage.Step, step)
	})
}

func TestWorkflowNamesAreUniqueInAnyCase(t *testing.T) {
	dbtest.ForEachDB(t, workflow.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := newService(t, db, workflow.Config{})
		a, err := svc.CreateWorkflow(ctx, workflow.WorkflowInput{Name: "Équipe IT"}, nil)
		require.NoError(t, err)
		_, err = svc.CreateWorkflow(ctx, workflow.WorkflowInput{Name: " éQUIPE it "}, nil)
		require.ErrorIs(t, err, errs.ErrConflict)
		assert.Contains(t, err.Error(), "already exists")

		b, err := svc.CreateWorkflow(ctx, workflow.WorkflowInput{Name: "Other"}, nil)
		require.NoError(t, err)
		_, err = svc.UpdateDetails(ctx, b.ID, workflow.WorkflowInput{Name: "ÉQUIPE IT"})
		require.ErrorIs(t, err, errs.ErrConflict)
		got, err := svc.GetWorkflow(ctx, a.ID)
		require.NoError(t, err)
		assert.Equal(t, "Équipe IT", got.Name)
	})
}

func TestConcurrentCreatesWithOneNameMakeOne(t *testing.T) {
	dbtest.ForEachDB(t, workflow.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := newService(t, db, workflow.Config{})
		const n = 4
		results := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				in, g := itSupport()
				_, results[i] = svc.CreateWorkflow(ctx, in, g)
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range results {
			if err == nil {
				ok++
				continue
			}
			assert.ErrorIs(t, err, errs.ErrConflict)
		}
		assert.Equal(t, 1, ok)
		list, total, err := svc.ListWorkflows(ctx, workflow.ListOptions{})
		require.NoError(t, err)
		assert.Equal(t, 1, total)
		steps, _, err := svc.ListSteps(ctx, list[0].ID, workflow.ListOptions{})
		require.NoError(t, err)
		assert.Len(t, steps, 2, "the losers left no steps behind")
		_, all, err := svc.ListSteps(ctx, 0, workflow.ListOptions{})
		require.NoError(t, err)
		assert.Equal(t, 2, all)
	})
}

func TestCreateWorkflowRefusesUnknownRoles(t *testing.T) {
	dbtest.ForEachDB(t, workflow.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := newService(t, db, workflow.Config{})
		in, g := itSupport()
		g.Nodes[1].RoleID = id(99)
		g.Nodes[1].EscalateTo = id(98)
		_, err := svc.CreateWorkflow(ctx, in, g)
		require.ErrorIs(t, err, errs.ErrInvalid)
		assert.Equal(t, []string{"graph.nodes[1].escalate_to", "graph.nodes[1].role_id"}, errs.As(err).FieldNames())
		_, total, err := svc.ListWorkflows(ctx, workflow.ListOptions{})
		require.NoError(t, err)
		assert.Zero(t, total)

		c, err := svc.CreateWorkflow(ctx, workflow.WorkflowInput{Name: "x"}, nil)
		require.NoError(t, err)
		_, err = svc.CreateStep(ctx, c.ID, workflow.StepInput{Name: "s", RoleID: id(99)})
		require.ErrorIs(t, err, errs.ErrInvalid)
		assert.Equal(t, []string{"role_id"}, errs.As(err).FieldNames())
	})
}

// graphCase is a graph to initialize and the one broken rule it shows.
type graphCase struct {
	name     string
	category string
	nodes    []workflow.NodeInput
	edges    []workflow.EdgeInput
	field    string
	message  string
	// implied counts the rules that break with it, unavoidably.
	implied int
}

func n(tempID string, role int64, start, end bool) workflow.NodeInput {
	in := workflow.NodeInput{TempID: tempID, StepInput: workflow.StepInput{Name: tempID, IsStart: start, IsEnd: end}}
	if role != 0 {
		in.RoleID = &role
	}
	return in
}

func e(from, to string) workflow.EdgeInput { return workflow.EdgeInput{FromTempID: from, ToTempID: to} }

func TestInitializeNamesEachBrokenRule(t *testing.T) {
	cases := []graphCase{
		{name: "no category", nodes: []workflow.NodeInput{n("a", 2, true, false), n("b", 3, false, true)}, edges: []workflow.EdgeInput{e("a", "b")},
			field: "category", message: "needs a category"},
		{name: "no steps", category: "c", field: "graph", message: "the workflow has no steps"},
		{name: "a step without a role", category: "c", nodes: []workflow.NodeInput{n("a", 2, true, false), n("b", 0, false, true)}, edges: []workflow.EdgeInput{e("a", "b")},
			field: "graph", message: `step "b" (%d) has no role`},
		{name: "no start", category: "c", nodes: []workflow.NodeInput{n("a", 2, false, false), n("b", 3, false, true)}, edges: []workflow.EdgeInput{e("a", "b")},
			field: "graph", message: "no step is the start step"},
		{name: "two starts", category: "c", nodes: []workflow.NodeInput{n("a", 2, true, false), n("a2", 2, true, false), n("b", 3, false, true)}, edges: []workflow.EdgeInput{e("a", "b"), e("a2", "b")},
			field: "graph", message: "2 steps are start steps"},
		{name: "no end", category: "c", nodes: []workflow.NodeInput{n("a", 2, true, false), n("b", 3, false, false)}, edges: []workflow.EdgeInput{e("a", "b"), e("b", "a")},
			field: "graph", message: "no step is an end step"},
		{name: "unreachable step", category: "c", nodes: []workflow.NodeInput{n("a", 2, true, false), n("b", 3, false, true), n("c", 3, false, true)}, edges: []workflow.EdgeInput{e("a", "b")},
			field: "graph", message: `step "c" (%d) cannot be reached from the start step`},
		{name: "no end reachable", category: "c", nodes: []workflow.NodeInput{n("a", 2, true, false), n("b", 3, false, false), n("z", 3, false, true)}, edges: []workflow.EdgeInput{e("a", "b"), e("b", "a"), e("z", "a")},
			field: "graph", message: "no end step can be reached from the start step", implied: 1}, // the end is unreachable too
		{name: "dead end", category: "c", nodes: []workflow.NodeInput{n("a", 2, true, false), n("b", 3, false, false), n("z", 3, false, true)}, edges: []workflow.EdgeInput{e("a", "b"), e("a", "z")},
			field: "graph", message: `step "b" (%d) is not an end step and has no outgoing transition`},
	}
	dbtest.ForEachDB(t, workflow.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := newService(t, db, workflow.Config{})
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c, err := svc.CreateWorkflow(ctx, workflow.WorkflowInput{Name: fmt.Sprint("w", i), Category: tc.category},
					&workflow.GraphInput{Nodes: tc.nodes, Edges: tc.edges})
				require.NoError(t, err)
				_, err = svc.Initialize(ctx, c.ID)
				require.ErrorIs(t, err, errs.ErrInvalid)
				details := errs.As(err).Fields
				require.Len(t, details, 1, "%v", details)
				require.Len(t, details[tc.field], 1+tc.implied, "exactly one rule is broken: %v", details)
				msg := tc.message
				if last := len(tc.nodes) - 1; last >= 0 && (tc.name == "a step without a role" || tc.name == "unreachable step") {
					msg = fmt.Sprintf(msg, c.TempIDMapping[tc.nodes[last].TempID])
				} else if tc.name == "dead end" {
					msg = fmt.Sprintf(msg, c.TempIDMapping["b"])
				}
				assert.Contains(t, details[tc.field][tc.implied], msg)
				got, err := svc.GetWorkflow(ctx, c.ID)
				require.NoError(t, err)
				assert.Equal(t, workflow.StatusDraft, got.Status)
			})
		}

		t.Run("every rule at once", func(t *testing.T) {
			c, err := svc.CreateWorkflow(ctx, workflow.WorkflowInput{Name: "broken"},
				&workflow.GraphInput{Nodes: []workflow.NodeInput{n("a", 0, false, false), n("b", 0, false, false)}})
			require.NoError(t, err)
			_, err = svc.Initialize(ctx, c.ID)
			require.ErrorIs(t, err, errs.ErrInvalid)
			fields := errs.As(err).Fields
			assert.Equal(t, []string{"category", "graph"}, errs.As(err).FieldNames())
			assert.Len(t, fields["graph"], 6, "%q", fields["graph"]) // two roles, start, end, two dead ends
		})

		t.Run("a role deleted since", func(t *testing.T) {
			dir := roleDirectory{2: "Agent", 3: "Specialist"}
			svc := newService(t, db, workflow.Config{Roles: dir})
			in, g := itSupport()
			in.Name = "roles change"
			c, err := svc.CreateWorkflow(ctx, in, g)
			require.NoError(t, err)
			delete(dir, 3)
			_, err = svc.Initialize(ctx, c.ID)
			require.ErrorIs(t, err, errs.ErrInvalid)
			assert.Equal(t, []string{fmt.Sprintf(`step "Resolution" (%d): role 3 does not exist (role_id)`, c.TempIDMapping["node_2"])}, errs.As(err).Fields["graph"])
			graph, err := svc.Graph(ctx, c.ID)
			require.NoError(t, err, "reading still works")
			assert.Equal(t, "", graph.Nodes[1].RoleName)
		})
	})
}

func TestInitializeAndKeepUsable(t *testing.T) {
	dbtest.ForEachDB(t, workflow.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := newService(t, db, workflow.Config{})
		c, in, g := createExample(t, svc)
		d, err := svc.Initialize(ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, workflow.StatusInitialized, d.Status)
		assert.Equal(t, "Agent", d.Graph.Nodes[0].RoleName)
		again, err := svc.Initialize(ctx, c.ID)
		require.NoError(t, err, "initializing twice changes nothing")
		assert.Equal(t, d.UpdatedAt, again.UpdatedAt)

		// An initialized workflow refuses changes that break a rule...
		end := c.TempIDMapping["node_2"]
		err = svc.DeleteStep(ctx, end)
		require.ErrorIs(t, err, errs.ErrInvalid)
		assert.Contains(t, errs.As(err).Fields["graph"][0], "no step is an end step")
		_, err = svc.UpdateDetails(ctx, c.ID, workflow.WorkflowInput{Name: in.Name})
		require.ErrorIs(t, err, errs.ErrInvalid)
		assert.Equal(t, []string{"category"}, errs.As(err).FieldNames())
		_, err = svc.UpdateGraph(ctx, c.ID, workflow.GraphInput{Nodes: []workflow.NodeInput{n("only", 2, true, false)}})
		require.ErrorIs(t, err, errs.ErrInvalid)
		graph, err := svc.Graph(ctx, c.ID)
		require.NoError(t, err)
		assert.Len(t, graph.Nodes, 2, "the refused changes left the graph alone")

		// A lone new step cannot be reached yet, so it waits for a graph
		// that reaches it.
		_, err = svc.CreateStep(ctx, c.ID, workflow.StepInput{Name: "Review", RoleID: id(5), IsEnd: true})
		require.ErrorIs(t, err, errs.ErrInvalid)

		// ...and takes those that keep them.
		g.Nodes[1].IsEnd = false
		g.Nodes = append(g.Nodes, n("Review", 5, false, true))
		g.Edges = append(g.Edges, workflow.EdgeInput{FromTempID: "node_2", ToTempID: "Review"})
		replaced, err := svc.UpdateGraph(ctx, c.ID, *g)
		require.NoError(t, err)
		assert.Equal(t, workflow.StatusInitialized, replaced.Status)
		assert.Equal(t, "Manager", replaced.Graph.Nodes[2].RoleName)
		_, err = svc.CreateTransition(ctx, workflow.TransitionInput{FromStepID: replaced.TempIDMapping["node_1"], ToStepID: replaced.TempIDMapping["Review"], Name: "Shortcut"})
		require.NoError(t, err)
		w, err := svc.SetStatus(ctx, c.ID, workflow.StatusDeployed)
		require.NoError(t, err)
		assert.Equal(t, workflow.StatusDeployed, w.Status)
		_, err = svc.Initialize(ctx, c.ID)
		require.ErrorIs(t, err, errs.ErrConflict, "a deployed workflow is not initialized again")

		draft, err := svc.CreateWorkflow(ctx, workflow.WorkflowInput{Name: "draft"}, nil)
		require.NoError(t, err)
		_, err = svc.SetStatus(ctx, draft.ID, workflow.StatusDeployed)
		require.ErrorIs(t, err, errs.ErrConflict, "a draft is deployed only after Initialize")
		_, err = svc.SetStatus(ctx, draft.ID, "retired")
		require.ErrorIs(t, err, errs.ErrInvalid)
	})
}

// failingStore is the real store with one kind of write failing, as a
// database that breaks half-way through a transaction would.
type failingStore struct {
	workflow.Store
}

func (f failingStore) Atomically(ctx context.Context, fn func(ctx context.Context, st workflow.Store) error) error {
	return f.Store.Atomically(ctx, func(ctx context.Context, st workflow.Store) error {
		return fn(ctx, failingStore{st})
	})
}

var errInjected = errors.New("injected failure")

func (f failingStore) InsertTransition(context.Context, *workflow.Transition) error {
	return errInjected
}

func TestUpdateGraphIsAtomic(t *testing.T) {
	dbtest.ForEachDB(t, workflow.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := newService(t, db, workflow.Config{})
		c, _, _ := createExample(t, svc)
		before, err := svc.Detail(ctx, c.ID)
		require.NoError(t, err)

		// The new graph's steps are written, then its first transition fails.
		broken := workflow.New(failingStore{workflow.NewBunStore(db.DB)}, workflow.Config{Roles: roles})
		_, err = broken.UpdateGraph(ctx, c.ID, workflow.GraphInput{
			Nodes: []workflow.NodeInput{n("x", 2, true, false), n("y", 3, false, true), n("z", 3, false, true)},
			Edges: []workflow.EdgeInput{e("x", "y")},
		})
		require.ErrorIs(t, err, errInjected)
		after, err := svc.Detail(ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, before, after, "the old graph is intact")

		replaced, err := svc.UpdateGraph(ctx, c.ID, workflow.GraphInput{
			Nodes: []workflow.NodeInput{n("x", 2, true, false), n("y", 3, false, true)},
			Edges: []workflow.EdgeInput{e("x", "y")},
		})
		require.NoError(t, err)
		assert.NotEqual(t, c.TempIDMapping["node_1"], replaced.TempIDMapping["x"])
		_, err = svc.GetStep(ctx, c.TempIDMapping["node_1"])
		require.ErrorIs(t, err, errs.ErrNotFound, "the old steps are gone")
		_, err = svc.GetTransition(ctx, c.Graph.Edges[0].ID)
		require.ErrorIs(t, err, errs.ErrNotFound, "with their transitions")
		assert.True(t, replaced.UpdatedAt.After(c.UpdatedAt) || replaced.UpdatedAt.Equal(c.UpdatedAt))
	})
}

func TestTransitionInvariants(t *testing.T) {
	dbtest.ForEachDB(t, workflow.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := newService(t, db, workflow.Config{})
		in, g := itSupport()
		a, err := svc.CreateWorkflow(ctx, in, g)
		require.NoError(t, err)
		in.Name = "Another"
		b, err := svc.CreateWorkflow(ctx, in, g)
		require.NoError(t, err)
		a1, a2 := a.TempIDMapping["node_1"], a.TempIDMapping["node_2"]
		b1 := b.TempIDMapping["node_1"]

		_, err = svc.CreateTransition(ctx, workflow.TransitionInput{FromStepID: a1, ToStepID: b1})
		require.ErrorIs(t, err, errs.ErrInvalid, "across workflows")
		assert.Equal(t, []string{"to_step_id"}, errs.As(err).FieldNames())

		_, err = svc.CreateTransition(ctx, workflow.TransitionInput{FromStepID: a1, ToStepID: a1})
		require.ErrorIs(t, err, errs.ErrInvalid, "self loop")

		_, err = svc.CreateTransition(ctx, workflow.TransitionInput{FromStepID: a1, ToStepID: a2})
		require.ErrorIs(t, err, errs.ErrConflict, "duplicate of the graph's edge")

		_, err = svc.CreateTransition(ctx, workflow.TransitionInput{FromStepID: 9999, ToStepID: a2})
		require.ErrorIs(t, err, errs.ErrInvalid)
		assert.Equal(t, []string{"from_step_id"}, errs.As(err).FieldNames())

		back, err := svc.CreateTransition(ctx, workflow.TransitionInput{FromStepID: a2, ToStepID: a1, Name: "Reopen"})
		require.NoError(t, err)
		assert.Equal(t, a.ID, back.WorkflowID)
		list, total, err := svc.ListTransitions(ctx, a.ID, workflow.ListOptions{})
		require.NoError(t, err)
		assert.Equal(t, 2, total)
		assert.Equal(t, back, list[1])

		// Deleting a step takes its transitions with it.
		require.NoError(t, svc.DeleteStep(ctx, a2))
		_, total, err = svc.ListTransitions(ctx, a.ID, workflow.ListOptions{})
		require.NoError(t, err)
		assert.Zero(t, total)
		require.NoError(t, svc.DeleteTransition(ctx, b.Graph.Edges[0].ID))
		require.ErrorIs(t, svc.DeleteTransition(ctx, b.Graph.Edges[0].ID), errs.ErrNotFound)

		// The database refuses a cross-workflow transition by itself too.
		st := workflow.NewBunStore(db.DB)
		err = st.InsertTransition(ctx, &workflow.Transition{WorkflowID: b.ID, FromStepID: b1, ToStepID: a1})
		require.ErrorIs(t, err, errs.ErrConflict)
	})
}

func TestWorkflowWithTasksKeepsItsGraph(t *testing.T) {
	dbtest.ForEachDB(t, workflow.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		busy := newService(t, db, workflow.Config{Tasks: taskCount(3)})
		c, _, g := createExample(t, busy)

		err := busy.DeleteWorkflow(ctx, c.ID)
		require.ErrorIs(t, err, errs.ErrConflict)
		assert.Contains(t, err.Error(), "has 3 tasks; it cannot be deleted")
		_, err = busy.UpdateGraph(ctx, c.ID, *g)
		require.ErrorIs(t, err, errs.ErrConflict)
		assert.Contains(t, err.Error(), "its graph cannot be replaced")
		require.ErrorIs(t, busy.DeleteStep(ctx, c.TempIDMapping["node_1"]), errs.ErrConflict)
		require.ErrorIs(t, busy.DeleteTransition(ctx, c.Graph.Edges[0].ID), errs.ErrConflict)
		d, err := busy.Detail(ctx, c.ID)
		require.NoError(t, err)
		assert.Len(t, d.Graph.Nodes, 2)

		idle := newService(t, db, workflow.Config{Tasks: taskCount(0)})
		_, err = idle.UpdateGraph(ctx, c.ID, *g)
		require.NoError(t, err)
		require.NoError(t, idle.DeleteWorkflow(ctx, c.ID))
		_, err = idle.GetWorkflow(ctx, c.ID)
		require.ErrorIs(t, err, errs.ErrNotFound)
		_, total, err := idle.ListSteps(ctx, 0, workflow.ListOptions{})
		require.NoError(t, err)
		assert.Zero(t, total, "steps go with their workflow")
		_, total, err = idle.ListTransitions(ctx, 0, workflow.ListOptions{})
		require.NoError(t, err)
		assert.Zero(t, total, "and transitions")
		require.ErrorIs(t, idle.DeleteWorkflow(ctx, c.ID), errs.ErrNotFound)
	})
}

func TestUpdateStep(t *testing.T) {
	dbtest.ForEachDB(t, workflow.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := newService(t, db, workflow.Config{})
		c, _, _ := createExample(t, svc)
		triage := c.TempIDMapping["node_1"]
		step, err := svc.UpdateStep(ctx, triage, workflow.StepInput{Name: "Assess", Instruction: "Review ticket", RoleID: id(5), IsStart: true, Design: workflow.Design{X: 1, Y: 2}})
		require.NoError(t, err)
		assert.Equal(t, workflow.Step{
			ID: triage, WorkflowID: c.ID, Name: "Assess", Instruction: "Review ticket", RoleID: id(5), RoleName: "Manager",
			Weight: workflow.DefaultWeight, Order: 1, IsStart: true, Design: workflow.Design{X: 1, Y: 2},
		}, step, "a PUT replaces the fields; order stays")
		got, err := svc.GetStep(ctx, triage)
		require.NoError(t, err)
		assert.Equal(t, step, got)
		_, err = svc.UpdateStep(ctx, 9999, workflow.StepInput{Name: "x"})
		require.ErrorIs(t, err, errs.ErrNotFound)
	})
}

func TestListOptions(t *testing.T) {
	dbtest.ForEachDB(t, workflow.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := newService(t, db, workflow.Config{})
		for i := range 11 {
			_, err := svc.CreateWorkflow(ctx, workflow.WorkflowInput{Name: fmt.Sprint("w", i)}, nil)
			require.NoError(t, err)
		}
		page, total, err := svc.ListWorkflows(ctx, workflow.ListOptions{})
		require.NoError(t, err)
		assert.Equal(t, 11, total)
		assert.Len(t, page, workflow.DefaultPageSize)
		page, _, err = svc.ListWorkflows(ctx, workflow.ListOptions{Page: 2})
		require.NoError(t, err)
		require.Len(t, page, 1)
		assert.Equal(t, "w10", page[0].Name)
		_, _, err = svc.ListWorkflows(ctx, workflow.ListOptions{PageSize: workflow.MaxPageSize})
		require.NoError(t, err)
		_, _, err = svc.ListWorkflows(ctx, workflow.ListOptions{PageSize: workflow.MaxPageSize + 1})
		require.ErrorIs(t, err, errs.ErrInvalid)
		_, _, err = svc.ListWorkflows(ctx, workflow.ListOptions{Page: -1})
		require.ErrorIs(t, err, errs.ErrInvalid)
	})
}
