package workflow_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/audit"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/workflow"
)

// coordinatorRole is the Ticket Coordinator role of the test directory.
const coordinatorRole = 9

// directory is a People of fixed roles whose holders tests change.
type directory struct {
	mu      sync.Mutex
	holders map[int64][]workflow.Holder
}

func newDirectory() *directory {
	return &directory{holders: map[int64][]workflow.Holder{
		2:               {{UserID: "a1", Username: "alice"}, {UserID: "a2", Username: "arthur"}},
		3:               {{UserID: "s1", Username: "sam"}},
		5:               {{UserID: "m1", Username: "mia"}, {UserID: "m2", Username: "max"}},
		coordinatorRole: {{UserID: "c1", Username: "carol"}, {UserID: "c2", Username: "cody"}},
	}}
}

func (d *directory) RoleName(_ context.Context, id int64) (string, error) {
	if id == coordinatorRole {
		return "Ticket Coordinator", nil
	}
	return roles.RoleName(context.Background(), id)
}

func (d *directory) RoleHolders(_ context.Context, id int64) ([]workflow.Holder, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.holders[id]), nil
}

func (d *directory) User(_ context.Context, userID string) (workflow.Holder, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, hs := range d.holders {
		for _, h := range hs {
			if h.UserID == userID {
				return h, nil
			}
		}
	}
	if userID == "u9" {
		return workflow.Holder{UserID: "u9", Username: "uma"}, nil
	}
	return workflow.Holder{}, errs.NotFoundf("user %q not found", userID)
}

func (d *directory) CoordinatorRole(context.Context) (int64, error) { return coordinatorRole, nil }

func (d *directory) set(role int64, hs ...workflow.Holder) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.holders[role] = hs
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// observed records the statuses an Observer hears of.
type observed struct {
	mu     sync.Mutex
	events []string
}

func (o *observed) TaskStatusChanged(_ context.Context, t workflow.Task) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, string(t.Status))
	return nil
}

// engine is a task engine on a fresh database with the example workflow
// initialized.
type engine struct {
	svc   *workflow.Service
	dir   *directory
	clock *clock
	obs   *observed
	trail *audit.Service
	wf    workflow.Created
	// triage, resolution are the example's steps; assign its transition.
	triage, resolution int64
	assign             int64
}

var (
	admin = workflow.Actor{UserID: "", Username: "admin", Admin: true}
	alice = workflow.Actor{UserID: "a1", Username: "alice"}
	sam   = workflow.Actor{UserID: "s1", Username: "sam"}
	carol = workflow.Actor{UserID: "c1", Username: "carol"}
	eve   = workflow.Actor{UserID: "e1", Username: "eve"}
)

var t0 = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

func newEngine(t *testing.T, db *store.DB) *engine {
	t.Helper()
	return newEngineWith(t, db, nil)
}

// newEngineWith is newEngine with its service's Config changed by tune
// (nil for none) before the service is built.
func newEngineWith(t *testing.T, db *store.DB, tune func(e *engine, cfg *workflow.Config)) *engine {
	t.Helper()
	e := &engine{dir: newDirectory(), clock: &clock{t: t0}, obs: &observed{}}
	e.trail = audit.New(audit.NewBunStore(db.DB), audit.Config{})
	cfg := workflow.Config{People: e.dir, Observer: e.obs, Audit: e.trail, Now: e.clock.now}
	if tune != nil {
		tune(e, &cfg)
	}
	e.svc = newService(t, db, cfg)
	in, g := itSupport()
	g.Nodes[0].EscalateTo = id(5)
	c, err := e.svc.CreateWorkflow(context.Background(), in, g)
	require.NoError(t, err)
	_, err = e.svc.Initialize(context.Background(), c.ID)
	require.NoError(t, err)
	e.wf, e.triage, e.resolution, e.assign = c, c.TempIDMapping["node_1"], c.TempIDMapping["node_2"], c.Graph.Edges[0].ID
	return e
}

// ticket is the document's example ticket.
func ticket() workflow.TaskStart {
	return workflow.TaskStart{TicketID: "TX20261207123456", Subject: "Laptop will not boot", Description: "Black screen",
		Department: " it ", Category: "TECHNOLOGY", SubCategory: "Hardware", Priority: workflow.PriorityHigh}
}

func (e *engine) start(t *testing.T) workflow.Task {
	t.Helper()
	task, err := e.svc.StartTask(context.Background(), ticket())
	require.NoError(t, err)
	return task
}

func (e *engine) detail(t *testing.T, id int64) workflow.TaskDetail {
	t.Helper()
	d, err := e.svc.GetTask(context.Background(), admin, id)
	require.NoError(t, err)
	return d
}

func migrations() []store.Migration { return slices.Concat(workflow.Migrations(), audit.Migrations()) }

func TestStartTaskMatchesAssignsAndTargets(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEngine(t, db)

		task := e.start(t)
		assert.Equal(t, e.wf.ID, task.WorkflowID, "subcategory Hardware still matches sub_category Support")
		assert.Equal(t, workflow.TaskNew, task.Status)
		assert.Equal(t, workflow.StepRef{ID: e.triage, Name: "Triage"}, task.CurrentStep)
		require.NotNil(t, task.TargetResolution)
		assert.Equal(t, t0.Add(24*time.Hour), *task.TargetResolution, "created + the High SLA")
		require.NotNil(t, task.TicketOwnerID)
		assert.Equal(t, "c1", *task.TicketOwnerID)

		d := e.detail(t, task.ID)
		require.Len(t, d.Assignments, 1)
		a := d.Assignments[0]
		assert.Equal(t, "a1", a.UserID)
		assert.Equal(t, "alice", a.Username)
		assert.Equal(t, "Agent", a.RoleName)
		assert.Equal(t, workflow.OriginSystem, a.Origin)
		assert.Equal(t, workflow.AssignmentNew, a.Status)
		require.NotNil(t, a.TargetResolution)
		// 24h × 0.3 / (0.3 + 0.7)
		assert.Equal(t, t0.Add(24*time.Hour*3/10), *a.TargetResolution)

		// Round-robin: the next ticket goes to the next holder and owner,
		// then back to the first.
		second, third := e.start(t), e.start(t)
		assert.Equal(t, "c2", *second.TicketOwnerID)
		assert.Equal(t, "c1", *third.TicketOwnerID)
		assert.Equal(t, "a2", e.detail(t, second.ID).Assignments[0].UserID)
		assert.Equal(t, "a1", e.detail(t, third.ID).Assignments[0].UserID)

		// No workflow: NotFound wrapping ErrNoWorkflow.
		in := ticket()
		in.Category = "Facilities"
		_, err := e.svc.StartTask(ctx, in)
		require.ErrorIs(t, err, errs.ErrNotFound)
		require.ErrorIs(t, err, workflow.ErrNoWorkflow)
		in = ticket()
		in.Priority = "Critical"
		_, err = e.svc.StartTask(ctx, in)
		assert.Equal(t, []string{"priority"}, errs.As(err).FieldNames())
		in.Priority, in.Subject = "", " "
		_, err = e.svc.StartTask(ctx, in)
		assert.Equal(t, []string{"subject"}, errs.As(err).FieldNames())
		in.Subject = "Priority defaults to Medium"
		task, err = e.svc.StartTask(ctx, in)
		require.NoError(t, err)
		assert.Equal(t, workflow.PriorityMedium, task.Priority)
		assert.Equal(t, t0.Add(48*time.Hour), *task.TargetResolution)

		assert.Equal(t, []string{"new", "new", "new", "new"}, e.obs.events, "the observer hears of each creation")
	})
}

func TestStartTaskPrefersTheSubCategoryThenTheOldest(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEngine(t, db)
		newWorkflow := func(name, sub string, initialize bool) int64 {
			in, g := itSupport()
			in.Name, in.SubCategory = name, sub
			c, err := e.svc.CreateWorkflow(ctx, in, g)
			require.NoError(t, err)
			if initialize {
				_, err = e.svc.Initialize(ctx, c.ID)
				require.NoError(t, err)
			}
			return c.ID
		}
		draft := newWorkflow("Draft hardware", "Hardware", false)
		hardware := newWorkflow("Hardware", "hardware", true)

		task := e.start(t)
		assert.Equal(t, hardware, task.WorkflowID, "the matching sub_category wins, in any case")
		assert.NotEqual(t, draft, task.WorkflowID, "a draft never matches")

		in := ticket()
		in.SubCategory = "Network"
		task, err := e.svc.StartTask(ctx, in)
		require.NoError(t, err)
		assert.Equal(t, e.wf.ID, task.WorkflowID, "no sub_category matches: the oldest")

		_, err = e.svc.SetStatus(ctx, e.wf.ID, workflow.StatusPaused)
		require.NoError(t, err)
		task, err = e.svc.StartTask(ctx, in)
		require.NoError(t, err)
		assert.Equal(t, hardware, task.WorkflowID, "a paused workflow does not match")
		_, err = e.svc.SetStatus(ctx, hardware, workflow.StatusDeployed)
		require.NoError(t, err)
		task, err = e.svc.StartTask(ctx, in)
		require.NoError(t, err)
		assert.Equal(t, hardware, task.WorkflowID, "a deployed workflow matches")
	})
}

func TestARoleWithoutHoldersLeavesTheTaskUnassigned(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEngine(t, db)
		e.dir.set(2)
		e.dir.set(coordinatorRole)
		task := e.start(t)
		assert.Nil(t, task.TicketOwnerID, "no Ticket Coordinator: no owner")
		assert.Empty(t, e.detail(t, task.ID).Assignments)

		e.dir.set(2, workflow.Holder{UserID: "a1", Username: "alice"})
		assigned := e.start(t)
		list := func(tab workflow.Tab) []int64 {
			ts, _, err := e.svc.AllTasks(ctx, admin, workflow.AllTasksFilter{Tab: tab}, workflow.ListOptions{})
			require.NoError(t, err)
			var ids []int64
			for _, t := range ts {
				ids = append(ids, t.ID)
			}
			return ids
		}
		assert.Equal(t, []int64{task.ID}, list(workflow.TabUnassigned))
		assert.Equal(t, []int64{assigned.ID}, list(workflow.TabActive))
		assert.Empty(t, list(workflow.TabInactive))
		assert.Equal(t, []int64{assigned.ID, task.ID}, list(""))
		logs, _, err := e.svc.ActionLogs(ctx, admin, task.ID, workflow.ListOptions{})
		require.NoError(t, err)
		require.Len(t, logs, 2)
		assert.Equal(t, workflow.LogUnassigned, logs[1].Action)
		_, _, err = e.svc.AllTasks(ctx, admin, workflow.AllTasksFilter{Tab: "closed"}, workflow.ListOptions{})
		assert.Equal(t, []string{"tab"}, errs.As(err).FieldNames())
		_, _, err = e.svc.AllTasks(ctx, alice, workflow.AllTasksFilter{}, workflow.ListOptions{})
		require.ErrorIs(t, err, errs.ErrForbidden)
	})
}

func TestTransitionRules(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEngine(t, db)
		task := e.start(t)
		tr := id(e.assign)

		_, err := e.svc.Transition(ctx, alice, task.ID, tr, "  ")
		assert.Equal(t, []string{"notes"}, errs.As(err).FieldNames(), "notes are required")
		_, err = e.svc.Transition(ctx, eve, task.ID, tr, "done")
		require.ErrorIs(t, err, errs.ErrForbidden, "no assignment")
		_, err = e.svc.Transition(ctx, carol, task.ID, tr, "done")
		require.ErrorIs(t, err, errs.ErrForbidden, "the owner holds no assignment on the step")
		_, err = e.svc.Transition(ctx, admin, task.ID, tr, "done")
		require.ErrorIs(t, err, errs.ErrForbidden, "an admin too needs an assignment")
		_, err = e.svc.Transition(ctx, alice, task.ID, nil, "done")
		assert.Equal(t, []string{"transition_id"}, errs.As(err).FieldNames(), "a step with transitions out is not finalised")
		_, err = e.svc.Transition(ctx, alice, task.ID, id(e.assign+1000), "done")
		assert.Equal(t, []string{"transition_id"}, errs.As(err).FieldNames())
		_, err = e.svc.Transition(ctx, alice, task.ID+1000, tr, "done")
		require.ErrorIs(t, err, errs.ErrNotFound)

		// No one holds the next role: 503 and nothing changed.
		e.dir.set(3)
		_, err = e.svc.Transition(ctx, alice, task.ID, tr, "done")
		require.ErrorIs(t, err, errs.ErrUnavailable)
		d := e.detail(t, task.ID)
		assert.Equal(t, e.triage, d.CurrentStep.ID)
		assert.Equal(t, workflow.AssignmentNew, d.Assignments[0].Status)
		e.dir.set(3, workflow.Holder{UserID: "s1", Username: "sam"})

		e.clock.add(time.Hour)
		r, err := e.svc.Transition(ctx, alice, task.ID, tr, "Completed initial assessment")
		require.NoError(t, err)
		assert.Equal(t, workflow.TransitionResult{Success: true, Message: "Task transitioned to Resolution",
			Task: workflow.TaskSummary{ID: task.ID, CurrentStep: workflow.StepRef{ID: e.resolution, Name: "Resolution"}, Status: workflow.TaskInProgress}}, r)
		d = e.detail(t, task.ID)
		require.Len(t, d.Assignments, 2)
		assert.Equal(t, workflow.AssignmentResolved, d.Assignments[0].Status)
		assert.Equal(t, "Completed initial assessment", d.Assignments[0].Notes)
		assert.Equal(t, "s1", d.Assignments[1].UserID)
		assert.Equal(t, t0.Add(time.Hour+24*time.Hour*7/10), *d.Assignments[1].TargetResolution)

		_, err = e.svc.Transition(ctx, alice, task.ID, tr, "again")
		require.ErrorIs(t, err, errs.ErrConflict, "the transition no longer leaves the task's step")
		_, err = e.svc.Transition(ctx, alice, task.ID, nil, "again")
		require.ErrorIs(t, err, errs.ErrForbidden, "alice's assignment is resolved")

		r, err = e.svc.Transition(ctx, sam, task.ID, nil, "Fixed")
		require.NoError(t, err)
		assert.Equal(t, workflow.TaskResolved, r.Task.Status)
		d = e.detail(t, task.ID)
		assert.Equal(t, workflow.TaskResolved, d.Status)
		require.NotNil(t, d.ResolvedAt)
		assert.Equal(t, workflow.AssignmentResolved, d.Assignments[1].Status)
		_, err = e.svc.Transition(ctx, sam, task.ID, nil, "again")
		require.ErrorIs(t, err, errs.ErrConflict, "a resolved task")

		assert.Equal(t, []string{"new", "in progress", "resolved"}, e.obs.events)
		events, _, err := e.trail.List(ctx, audit.Filter{TargetType: "Task", Action: "transition"}, 1, 10)
		require.NoError(t, err)
		assert.Len(t, events, 2, "each transition is audited; the refused ones are not")
	})
}

func TestTransferRules(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEngine(t, db)
		task := e.start(t)
		item := e.detail(t, task.ID).Assignments[0]

		_, err := e.svc.Transfer(ctx, alice, item.ID, "u9", "")
		require.ErrorIs(t, err, errs.ErrForbidden, "admins only")
		_, err = e.svc.Transfer(ctx, admin, item.ID, "nobody", "")
		assert.Equal(t, []string{"new_user_id"}, errs.As(err).FieldNames())
		_, err = e.svc.Transfer(ctx, admin, item.ID, "", "")
		assert.Equal(t, []string{"new_user_id"}, errs.As(err).FieldNames())
		_, err = e.svc.Transfer(ctx, admin, item.ID, "a1", "")
		assert.Equal(t, []string{"new_user_id"}, errs.As(err).FieldNames(), "alice holds it already")
		_, err = e.svc.Transfer(ctx, admin, item.ID+1000, "u9", "")
		assert.Equal(t, []string{"task_item_id"}, errs.As(err).FieldNames())

		e.clock.add(time.Minute)
		moved, err := e.svc.Transfer(ctx, admin, item.ID, "u9", "Transferred to specialist")
		require.NoError(t, err)
		assert.Equal(t, workflow.OriginTransferred, moved.Origin)
		assert.Equal(t, "uma", moved.Username)
		assert.Equal(t, item.StepID, moved.StepID)
		assert.Equal(t, item.TargetResolution, moved.TargetResolution, "keeps the target")
		d := e.detail(t, task.ID)
		assert.Equal(t, workflow.AssignmentReassigned, d.Assignments[0].Status)

		_, err = e.svc.Transfer(ctx, admin, item.ID, "s1", "")
		require.ErrorIs(t, err, errs.ErrConflict, "not from reassigned")
		uma := workflow.Actor{UserID: "u9", Username: "uma"}
		_, err = e.svc.Transition(ctx, alice, task.ID, id(e.assign), "mine?")
		require.ErrorIs(t, err, errs.ErrForbidden, "the old holder may no longer act")
		_, err = e.svc.Transition(ctx, uma, task.ID, id(e.assign), "done")
		require.NoError(t, err)
		_, err = e.svc.Transfer(ctx, admin, moved.ID, "s1", "")
		require.ErrorIs(t, err, errs.ErrConflict, "not from resolved")

		found, _, err := e.svc.AllTasks(ctx, admin, workflow.AllTasksFilter{Search: "UMA"}, workflow.ListOptions{})
		require.NoError(t, err)
		require.Len(t, found, 1, "search finds a task by an assignee")
	})
}

func TestEscalateRules(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEngine(t, db)
		task := e.start(t)
		item := e.detail(t, task.ID).Assignments[0]

		_, err := e.svc.Escalate(ctx, alice, item.ID, " ")
		assert.Equal(t, []string{"reason"}, errs.As(err).FieldNames())
		_, err = e.svc.Escalate(ctx, eve, item.ID, "help")
		require.ErrorIs(t, err, errs.ErrForbidden, "neither its holder nor an admin")
		e.dir.set(5)
		_, err = e.svc.Escalate(ctx, alice, item.ID, "help")
		require.ErrorIs(t, err, errs.ErrUnavailable)
		e.dir.set(5, workflow.Holder{UserID: "m1", Username: "mia"}, workflow.Holder{UserID: "m2", Username: "max"})

		up, err := e.svc.Escalate(ctx, alice, item.ID, "Customer requires manager involvement")
		require.NoError(t, err)
		assert.Equal(t, workflow.OriginEscalation, up.Origin)
		assert.Equal(t, "m1", up.UserID)
		assert.Equal(t, "Manager", up.RoleName)
		assert.Equal(t, item.TargetResolution, up.TargetResolution, "keeps the old target")
		assert.Equal(t, workflow.AssignmentEscalated, e.detail(t, task.ID).Assignments[0].Status)

		_, err = e.svc.Escalate(ctx, alice, item.ID, "again")
		require.ErrorIs(t, err, errs.ErrConflict, "the item is escalated")
		_, err = e.svc.Escalate(ctx, admin, up.ID, "again")
		require.ErrorIs(t, err, errs.ErrConflict, "once per role per task")

		// The manager works the step now; a step without escalate_to
		// cannot be escalated.
		mia := workflow.Actor{UserID: "m1", Username: "mia"}
		_, err = e.svc.Transition(ctx, mia, task.ID, id(e.assign), "handled")
		require.NoError(t, err)
		last := e.detail(t, task.ID).Assignments[2]
		_, err = e.svc.Escalate(ctx, sam, last.ID, "help")
		assert.Equal(t, []string{"task_item_id"}, errs.As(err).FieldNames())
	})
}

func TestTaskAccessViewsAndUpdates(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEngine(t, db)
		task := e.start(t)
		other := e.start(t) // arthur's, owned by cody

		for _, who := range []workflow.Actor{admin, alice, carol} {
			_, err := e.svc.GetTask(ctx, who, task.ID)
			assert.NoError(t, err, who.Username)
			_, err = e.svc.Visualization(ctx, who, task.ID)
			assert.NoError(t, err, who.Username)
			_, _, err = e.svc.ActionLogs(ctx, who, task.ID, workflow.ListOptions{})
			assert.NoError(t, err, who.Username)
		}
		_, err := e.svc.GetTask(ctx, eve, task.ID)
		require.ErrorIs(t, err, errs.ErrForbidden)
		_, err = e.svc.GetTask(ctx, alice, other.ID)
		require.ErrorIs(t, err, errs.ErrForbidden, "assigned to another task only")
		_, err = e.svc.Visualization(ctx, eve, task.ID)
		require.ErrorIs(t, err, errs.ErrForbidden)
		_, _, err = e.svc.ActionLogs(ctx, eve, task.ID, workflow.ListOptions{})
		require.ErrorIs(t, err, errs.ErrForbidden)
		_, err = e.svc.UpdateTask(ctx, eve, task.ID, workflow.TaskInput{Subject: "x"})
		require.ErrorIs(t, err, errs.ErrForbidden)

		visible, n, err := e.svc.ListTasks(ctx, alice, workflow.ListOptions{})
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		assert.Equal(t, task.ID, visible[0].ID)
		_, n, err = e.svc.ListTasks(ctx, eve, workflow.ListOptions{})
		require.NoError(t, err)
		assert.Zero(t, n)
		_, n, err = e.svc.ListTasks(ctx, admin, workflow.ListOptions{})
		require.NoError(t, err)
		assert.Equal(t, 2, n)

		owned, n, err := e.svc.OwnedTickets(ctx, carol, workflow.ListOptions{})
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		assert.Equal(t, task.ID, owned[0].ID)

		updated, err := e.svc.UpdateTask(ctx, alice, task.ID, workflow.TaskInput{Subject: "Laptop dead", Description: "Keyboard too", Priority: workflow.PriorityUrgent})
		require.NoError(t, err)
		assert.Equal(t, t0.Add(4*time.Hour), *updated.TargetResolution, "the target follows the priority")
		found, _, err := e.svc.AllTasks(ctx, admin, workflow.AllTasksFilter{Search: "keyboard"}, workflow.ListOptions{})
		require.NoError(t, err)
		require.Len(t, found, 1)
		found, _, err = e.svc.AllTasks(ctx, admin, workflow.AllTasksFilter{Search: "ALICE"}, workflow.ListOptions{})
		require.NoError(t, err)
		require.Len(t, found, 1, "the assignee survives an update of the search text")
		found, _, err = e.svc.AllTasks(ctx, admin, workflow.AllTasksFilter{Search: "%"}, workflow.ListOptions{})
		require.NoError(t, err)
		assert.Empty(t, found, "LIKE wildcards are literal")

		// update-user-status
		_, err = e.svc.UpdateUserStatus(ctx, eve, task.ID, workflow.AssignmentInProgress)
		require.ErrorIs(t, err, errs.ErrForbidden)
		_, err = e.svc.UpdateUserStatus(ctx, alice, task.ID, workflow.AssignmentResolved)
		assert.Equal(t, []string{"status"}, errs.As(err).FieldNames())
		a, err := e.svc.UpdateUserStatus(ctx, alice, task.ID, workflow.AssignmentInProgress)
		require.NoError(t, err)
		assert.Equal(t, workflow.AssignmentInProgress, a.Status)
		d := e.detail(t, task.ID)
		assert.Equal(t, workflow.TaskInProgress, d.Status)
		assert.Equal(t, workflow.AssignmentInProgress, d.Assignments[0].Status, "persisted")

		mine, n, err := e.svc.MyTasks(ctx, alice, workflow.MyTasksFilter{Role: "agent", AssignmentStatus: workflow.AssignmentInProgress, WorkflowID: e.wf.ID}, workflow.ListOptions{})
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		assert.Equal(t, task.ID, mine[0].Task.ID)
		assert.Equal(t, "Laptop dead", mine[0].Task.Subject)
		for _, f := range []workflow.MyTasksFilter{{Role: "Manager"}, {AssignmentStatus: workflow.AssignmentNew}, {WorkflowID: e.wf.ID + 1}} {
			_, n, err = e.svc.MyTasks(ctx, alice, f, workflow.ListOptions{})
			require.NoError(t, err)
			assert.Zero(t, n, "%+v", f)
		}
		_, _, err = e.svc.MyTasks(ctx, alice, workflow.MyTasksFilter{AssignmentStatus: "done"}, workflow.ListOptions{})
		assert.Equal(t, []string{"assignment_status"}, errs.As(err).FieldNames())

		// visualization after a transition
		_, err = e.svc.Transition(ctx, alice, task.ID, id(e.assign), "assessed")
		require.NoError(t, err)
		v, err := e.svc.Visualization(ctx, alice, task.ID)
		require.NoError(t, err)
		require.Len(t, v.Steps, 2)
		assert.Equal(t, workflow.StepDone, v.Steps[0].State)
		assert.Equal(t, "alice", v.Steps[0].Assignments[0].Username)
		assert.Equal(t, workflow.StepCurrent, v.Steps[1].State)
		assert.Equal(t, "sam", v.Steps[1].Assignments[0].Username)
		v, err = e.svc.Visualization(ctx, admin, other.ID)
		require.NoError(t, err)
		assert.Equal(t, []workflow.StepState{workflow.StepCurrent, workflow.StepPending}, []workflow.StepState{v.Steps[0].State, v.Steps[1].State})

		logs, n, err := e.svc.ActionLogs(ctx, alice, task.ID, workflow.ListOptions{PageSize: 2, Page: 3})
		require.NoError(t, err)
		assert.Equal(t, 6, n, "created, assigned, updated, status_changed, transition, assigned")
		assert.Equal(t, []string{workflow.LogTransition, workflow.LogAssigned}, []string{logs[0].Action, logs[1].Action})
		require.Len(t, logs, 2)

		// The workflow cannot lose its graph while tasks stand on it.
		err = e.svc.DeleteWorkflow(ctx, e.wf.ID)
		require.ErrorIs(t, err, errs.ErrConflict)
		_, err = e.svc.UpdateGraph(ctx, e.wf.ID, workflow.GraphInput{})
		require.ErrorIs(t, err, errs.ErrConflict)

		require.ErrorIs(t, e.svc.DeleteTask(ctx, alice, task.ID), errs.ErrForbidden)
		require.NoError(t, e.svc.DeleteTask(ctx, admin, task.ID))
		require.NoError(t, e.svc.DeleteTask(ctx, admin, other.ID))
		_, err = e.svc.GetTask(ctx, admin, task.ID)
		require.ErrorIs(t, err, errs.ErrNotFound)
		require.NoError(t, e.svc.DeleteWorkflow(ctx, e.wf.ID), "without tasks it can go")

		var actions []string
		events, _, err := e.trail.List(ctx, audit.Filter{TargetType: "Task"}, 1, 100)
		require.NoError(t, err)
		for _, ev := range slices.Backward(events) {
			actions = append(actions, ev.Action)
		}
		assert.Equal(t, []string{"create_task", "create_task", "update_task", "update_user_status", "transition", "delete_task", "delete_task"}, actions)
	})
}

func TestCreateTaskByAdmin(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEngine(t, db)
		_, err := e.svc.CreateTask(ctx, alice, workflow.TaskInput{WorkflowID: e.wf.ID, Subject: "x"})
		require.ErrorIs(t, err, errs.ErrForbidden)
		_, err = e.svc.CreateTask(ctx, admin, workflow.TaskInput{WorkflowID: e.wf.ID + 100, Subject: "x"})
		assert.Equal(t, []string{"workflow_id"}, errs.As(err).FieldNames())
		in, g := itSupport()
		in.Name = "Draft"
		draft, err := e.svc.CreateWorkflow(ctx, in, g)
		require.NoError(t, err)
		_, err = e.svc.CreateTask(ctx, admin, workflow.TaskInput{WorkflowID: draft.ID, Subject: "x"})
		require.ErrorIs(t, err, errs.ErrConflict)
		task, err := e.svc.CreateTask(ctx, admin, workflow.TaskInput{WorkflowID: e.wf.ID, Subject: "Set up laptop", Priority: workflow.PriorityLow})
		require.NoError(t, err)
		assert.Equal(t, t0.Add(72*time.Hour), *task.TargetResolution)
		assert.Len(t, e.detail(t, task.ID).Assignments, 1)
		logs, _, err := e.svc.ActionLogs(ctx, admin, task.ID, workflow.ListOptions{})
		require.NoError(t, err)
		require.NotNil(t, logs[0].UserID)
		assert.Equal(t, "admin", logs[0].Username)
	})
}

// txPeople is a directory that reads the database the way the engine's
// adapter does: in the transaction ctx carries.
type txPeople struct {
	*directory
	db *store.DB
}

func (p txPeople) RoleHolders(ctx context.Context, id int64) ([]workflow.Holder, error) {
	var hs []workflow.Holder
	err := store.RunInTx(ctx, p.db.DB, func(ctx context.Context, tx bun.IDB) error {
		var one int
		if err := tx.NewSelect().ColumnExpr("1").Scan(ctx, &one); err != nil {
			return err
		}
		var err error
		hs, err = p.directory.RoleHolders(ctx, id)
		return err
	})
	return hs, err
}

// Intake runs inside the ticket's transaction: StartTask joins it (on
// SQLite, whose one connection it holds, anything else would wait
// forever), and a ticket rolled back takes its task with it.
func TestStartTaskJoinsTheCallersTransaction(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		e := newEngine(t, db)
		svc := newService(t, db, workflow.Config{People: txPeople{e.dir, db}, Now: e.clock.now})
		errTicket := errors.New("the ticket could not be stored")
		err := store.RunInTx(ctx, db.DB, func(ctx context.Context, _ bun.IDB) error {
			task, err := svc.StartTask(ctx, ticket())
			require.NoError(t, err)
			assert.NotZero(t, task.ID)
			return errTicket
		})
		require.ErrorIs(t, err, errTicket)
		_, n, err := svc.ListTasks(ctx, admin, workflow.ListOptions{})
		require.NoError(t, err)
		assert.Zero(t, n, "rolled back with the ticket")

		err = store.RunInTx(ctx, db.DB, func(ctx context.Context, _ bun.IDB) error {
			_, err := svc.StartTask(ctx, ticket())
			return err
		})
		require.NoError(t, err)
		_, n, err = svc.ListTasks(ctx, admin, workflow.ListOptions{})
		require.NoError(t, err)
		assert.Equal(t, 1, n)
	})
}

// A step's target is its weight's share of the task's SLA, equal shares
// when the weights sum to 0.
func TestStepTargetsShareTheSLA(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEngine(t, db)
		for _, c := range []struct {
			name    string
			weights [2]float64
			want    time.Duration
		}{
			{"thirds", [2]float64{0.2, 0.4}, 8 * time.Hour}, // 24h × 0.2 / 0.6
			{"zero", [2]float64{0, 0}, 12 * time.Hour},      // 24h / 2
		} {
			in, g := itSupport()
			in.Name, in.Department = c.name, c.name
			g.Nodes[0].Weight, g.Nodes[1].Weight = &c.weights[0], &c.weights[1]
			wf, err := e.svc.CreateWorkflow(ctx, in, g)
			require.NoError(t, err)
			_, err = e.svc.Initialize(ctx, wf.ID)
			require.NoError(t, err)
			start := ticket()
			start.Department = c.name
			task, err := e.svc.StartTask(ctx, start)
			require.NoError(t, err)
			assert.Equal(t, t0.Add(c.want), *e.detail(t, task.ID).Assignments[0].TargetResolution, c.name)
		}
	})
}
