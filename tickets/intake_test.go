package tickets_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/audit"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/tickets"
	"github.com/bugflow/bugflow/workflow"
)

// desk is a People with an Agent role (2) and a Ticket Coordinator role
// (9), each with its holders.
type desk map[int64][]workflow.Holder

var deskRoles = map[int64]string{2: "Agent", 9: "Ticket Coordinator"}

func (d desk) RoleName(_ context.Context, id int64) (string, error) {
	if name, ok := deskRoles[id]; ok {
		return name, nil
	}
	return "", errs.NotFoundf("no role %d", id)
}

func (d desk) RoleHolders(_ context.Context, id int64) ([]workflow.Holder, error) {
	return d[id], nil
}

func (d desk) User(_ context.Context, userID string) (workflow.Holder, error) {
	for _, hs := range d {
		for _, h := range hs {
			if h.UserID == userID {
				return h, nil
			}
		}
	}
	return workflow.Holder{}, errs.NotFoundf("no user %q", userID)
}

func (d desk) CoordinatorRole(context.Context) (int64, error) { return 9, nil }

// laterObserver hands task changes to the tickets service, which is built
// after the workflow service it takes tasks from.
type laterObserver struct{ svc **tickets.Service }

func (o laterObserver) TaskStatusChanged(ctx context.Context, t workflow.Task) error {
	return (*o.svc).TaskStatusChanged(ctx, t)
}

// TestIntakeWithTheWorkflowEngine submits tickets to the real task engine:
// the document's example ticket (subcategory Hardware) is taken by its
// example workflow (sub_category Support), owners and assignees are picked
// in turn, the ticket follows its task to resolution, and a ticket of no
// workflow waits New; all on SQLite and PostgreSQL.
func TestIntakeWithTheWorkflowEngine(t *testing.T) {
	dbtest.ForEachDB(t, slices.Concat(workflow.Migrations(), tickets.Migrations(), audit.Migrations()), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		trail := audit.New(audit.NewBunStore(db.DB), audit.Config{})
		people := desk{
			2: {{UserID: "u-a1", Username: "agent1"}, {UserID: "u-a2", Username: "agent2"}},
			9: {{UserID: "u-c1", Username: "coord1"}, {UserID: "u-c2", Username: "coord2"}},
		}
		var svc *tickets.Service
		engine := workflow.New(workflow.NewBunStore(db.DB), workflow.Config{Roles: people, People: people, Observer: laterObserver{&svc}, Audit: trail})
		svc = tickets.New(tickets.NewBunStore(db.DB), tickets.Config{Intake: engine, Audit: trail})

		agent := int64(2)
		c, err := engine.CreateWorkflow(ctx, workflow.WorkflowInput{
			Name: "IT Support Request", Category: "Technology", SubCategory: "Support", Department: "IT",
			LowSLA: "72:00:00", MediumSLA: "48:00:00", HighSLA: "24:00:00", UrgentSLA: "04:00:00",
		}, &workflow.GraphInput{
			Nodes: []workflow.NodeInput{
				{TempID: "triage", StepInput: workflow.StepInput{Name: "Triage", RoleID: &agent, IsStart: true}},
				{TempID: "fix", StepInput: workflow.StepInput{Name: "Resolution", RoleID: &agent, IsEnd: true}},
			},
			Edges: []workflow.EdgeInput{{FromTempID: "triage", ToTempID: "fix", Name: "Assign"}},
		})
		require.NoError(t, err)

		// Before the workflow is initialized nothing matches.
		early, err := svc.Submit(ctx, alice, laptop)
		require.NoError(t, err)
		assert.Equal(t, tickets.StatusNew, early.Status)
		assert.Equal(t, tickets.NoWorkflowMessage, early.Message)
		_, err = engine.Initialize(ctx, c.ID)
		require.NoError(t, err)

		first, err := svc.Submit(ctx, alice, laptop)
		require.NoError(t, err)
		assert.Equal(t, tickets.StatusOpen, first.Status)
		assert.Empty(t, first.Message)
		require.NotNil(t, first.TaskID)
		assert.Equal(t, c.ID, *first.WorkflowID)
		second, err := svc.Submit(ctx, alice, laptop)
		require.NoError(t, err)
		owners := []string{*first.OwnerID, *second.OwnerID}
		slices.Sort(owners)
		assert.Equal(t, []string{"u-c1", "u-c2"}, owners, "owners are picked in turn")
		task, err := engine.GetTask(ctx, workflow.Actor{Admin: true}, *first.TaskID)
		require.NoError(t, err)
		assert.Equal(t, first.TicketID, task.TicketID)
		assert.Equal(t, workflow.PriorityHigh, task.Priority)

		// The longest subject a ticket may have is one a task takes.
		long := laptop
		long.Subject = strings.Repeat("s", tickets.MaxSubjectLength)
		longest, err := svc.Submit(ctx, alice, long)
		require.NoError(t, err)
		assert.Equal(t, tickets.StatusOpen, longest.Status)

		// The ticket follows its task to resolution.
		holder := workflow.Actor{UserID: task.Assignments[0].UserID, Username: task.Assignments[0].Username}
		_, err = engine.Transition(ctx, holder, task.ID, &c.Graph.Edges[0].ID, "Triaged")
		require.NoError(t, err)
		got, err := svc.Get(ctx, admin, first.ID)
		require.NoError(t, err)
		assert.Equal(t, tickets.StatusInProgress, got.Status)
		task, err = engine.GetTask(ctx, workflow.Actor{Admin: true}, task.ID)
		require.NoError(t, err)
		var next workflow.Actor
		for _, a := range task.Assignments {
			if a.Status.Active() {
				next = workflow.Actor{UserID: a.UserID, Username: a.Username}
			}
		}
		_, err = engine.Transition(ctx, next, task.ID, nil, "Fixed")
		require.NoError(t, err)
		got, err = svc.Get(ctx, admin, first.ID)
		require.NoError(t, err)
		assert.Equal(t, tickets.StatusResolved, got.Status)
		events, _, err := trail.List(ctx, audit.Filter{Action: "update_ticket", TargetType: "Ticket"}, 1, 10)
		require.NoError(t, err)
		assert.Len(t, events, 2, "each status the task gave the ticket is audited")

		// A ticket no workflow matches waits New, without a task.
		hr := laptop
		hr.Department = "HR"
		waiting, err := svc.Submit(ctx, alice, hr)
		require.NoError(t, err)
		assert.Equal(t, tickets.StatusNew, waiting.Status)
		assert.Nil(t, waiting.TaskID)
		// Rerouted to IT, it is taken.
		it := "IT"
		rerouted, err := svc.Update(ctx, alice, waiting.ID, tickets.Update{Department: &it})
		require.NoError(t, err)
		assert.Equal(t, tickets.StatusOpen, rerouted.Status)
		require.NotNil(t, rerouted.TaskID)
	})
}

// 200 tickets submitted at once to one workflow whose start role has 7
// holders: every ticket is stored with exactly one task of its own, and
// the holders' shares differ by at most one; on SQLite and PostgreSQL.
func TestConcurrentSubmitsEachGetOneTask(t *testing.T) {
	dbtest.ForEachDB(t, slices.Concat(workflow.Migrations(), tickets.Migrations(), audit.Migrations()), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		people := desk{9: {{UserID: "u-c1", Username: "coord1"}}}
		for i := range 7 {
			people[2] = append(people[2], workflow.Holder{UserID: fmt.Sprintf("u-a%d", i), Username: fmt.Sprintf("agent%d", i)})
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
		require.NoError(t, err)
		_, err = engine.Initialize(ctx, c.ID)
		require.NoError(t, err)

		const n = 200
		results := make([]tickets.Result, n)
		errors := make([]error, n)
		var start, done sync.WaitGroup
		start.Add(1)
		for i := range n {
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait()
				results[i], errors[i] = svc.Submit(ctx, alice, laptop)
			}()
		}
		start.Done()
		done.Wait()
		for _, err := range errors {
			require.NoError(t, err)
		}
		tasks, ticketIDs := map[int64]bool{}, map[string]bool{}
		for _, r := range results {
			require.NotNil(t, r.TaskID)
			assert.Equal(t, tickets.StatusOpen, r.Status)
			tasks[*r.TaskID], ticketIDs[r.TicketID] = true, true
		}
		assert.Len(t, tasks, n, "one task per ticket")
		assert.Len(t, ticketIDs, n, "ticket ids are unique")
		_, count, err := svc.List(ctx, admin, tickets.Filter{Status: tickets.StatusOpen}, tickets.ListOptions{})
		require.NoError(t, err)
		assert.Equal(t, n, count)

		perUser := map[string]int{}
		for page := 1; page <= 2; page++ {
			all, total, err := engine.AllTasks(ctx, workflow.Actor{Admin: true}, workflow.AllTasksFilter{}, workflow.ListOptions{Page: page, PageSize: 100})
			require.NoError(t, err)
			require.Equal(t, n, total, "no task without its ticket")
			for _, task := range all {
				require.Len(t, task.Assignments, 1)
				perUser[task.Assignments[0].UserID]++
			}
		}
		require.Len(t, perUser, 7)
		lo, hi := n, 0
		for _, c := range perUser {
			lo, hi = min(lo, c), max(hi, c)
		}
		assert.LessOrEqual(t, hi-lo, 1, "round-robin shares: %v", perUser)
	})
}
