package workflow_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/audit"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/workflow"
)

// race runs fn n times at once and returns each call's error.
func race(n int, fn func(i int) error) []error {
	out := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			out[i] = fn(i)
		}()
	}
	start.Done()
	done.Wait()
	return out
}

// kinds counts errors by kind ("ok" for nil).
func kinds(errors []error) map[string]int {
	out := map[string]int{}
	for _, err := range errors {
		if err == nil {
			out["ok"]++
		} else {
			out[errs.KindOf(err).String()]++
		}
	}
	return out
}

// Two people who both hold an active assignment on a task's step take the
// same transition at once: one moves the task, the other is told the task
// moved on (409), and nothing is done twice or half.
func TestConcurrentTransitionsOneWins(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEngine(t, db)
		for range 5 {
			task := e.start(t)
			first := e.detail(t, task.ID).Assignments[0]
			// A second active holder of the same step (as two holders of a
			// role would be), stored directly.
			second := first
			second.ID, second.UserID, second.Username = 0, "a9", "ana"
			require.NoError(t, workflow.NewBunStore(db.DB).InsertAssignment(ctx, &second))
			actors := []workflow.Actor{{UserID: first.UserID, Username: first.Username}, {UserID: "a9", Username: "ana"}}

			errors := race(2, func(i int) error {
				_, err := e.svc.Transition(ctx, actors[i], task.ID, id(e.assign), fmt.Sprintf("done by %d", i))
				return err
			})
			require.Equal(t, map[string]int{"ok": 1, "conflict": 1}, kinds(errors), "%v", errors)

			d := e.detail(t, task.ID)
			assert.Equal(t, e.resolution, d.CurrentStep.ID)
			require.Len(t, d.Assignments, 3, "exactly one assignment at the next step")
			assert.Equal(t, workflow.AssignmentResolved, d.Assignments[0].Status)
			assert.Equal(t, workflow.AssignmentResolved, d.Assignments[1].Status)
			assert.Equal(t, e.resolution, d.Assignments[2].StepID)
			logs, _, err := e.svc.ActionLogs(ctx, admin, task.ID, workflow.ListOptions{PageSize: 100})
			require.NoError(t, err)
			transitions := 0
			for _, l := range logs {
				if l.Action == workflow.LogTransition {
					transitions++
				}
			}
			assert.Equal(t, 1, transitions)
		}
		events, _, err := e.trail.List(ctx, audit.Filter{Action: "transition"}, 1, 100)
		require.NoError(t, err)
		assert.Len(t, events, 5, "one audited transition per task")
	})
}

// 200 tickets arrive at once on a workflow whose start role has 7
// holders: each makes exactly one task, and the holders' shares differ by
// at most one.
func TestConcurrentIntakeIsFair(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEngine(t, db)
		var holders []workflow.Holder
		for i := range 7 {
			holders = append(holders, workflow.Holder{UserID: fmt.Sprintf("h%d", i), Username: fmt.Sprintf("holder%d", i)})
		}
		e.dir.set(2, holders...)
		const n = 200
		ids := make([]int64, n)
		errors := race(n, func(i int) error {
			in := ticket()
			in.TicketID = fmt.Sprintf("TX20261207%06d", i)
			task, err := e.svc.StartTask(ctx, in)
			ids[i] = task.ID
			return err
		})
		require.Equal(t, map[string]int{"ok": n}, kinds(errors), "%v", errors)

		tasks, total, err := e.svc.AllTasks(ctx, admin, workflow.AllTasksFilter{}, workflow.ListOptions{PageSize: 100})
		require.NoError(t, err)
		assert.Equal(t, n, total)
		perUser, perTicket, owners := map[string]int{}, map[string]int{}, map[string]int{}
		for page := 1; page <= 2; page++ {
			if page == 2 {
				tasks, _, err = e.svc.AllTasks(ctx, admin, workflow.AllTasksFilter{}, workflow.ListOptions{PageSize: 100, Page: 2})
				require.NoError(t, err)
			}
			for _, task := range tasks {
				perTicket[task.TicketID]++
				owners[*task.TicketOwnerID]++
				require.Len(t, task.Assignments, 1)
				perUser[task.Assignments[0].UserID]++
			}
		}
		assert.Len(t, perTicket, n, "every ticket has its task")
		for ticket, count := range perTicket {
			assert.Equal(t, 1, count, ticket)
		}
		require.Len(t, perUser, 7)
		lo, hi := n, 0
		for _, c := range perUser {
			lo, hi = min(lo, c), max(hi, c)
		}
		assert.LessOrEqual(t, hi-lo, 1, "assignments per holder: %v", perUser)
		assert.Equal(t, map[string]int{"c1": n / 2, "c2": n / 2}, owners)
	})
}

// Everyone escalates one assignment at once: one escalation happens.
func TestConcurrentEscalationsOneWins(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEngine(t, db)
		task := e.start(t)
		item := e.detail(t, task.ID).Assignments[0]
		holder := workflow.Actor{UserID: item.UserID, Username: item.Username}
		errors := race(8, func(i int) error {
			actor := admin
			if i%2 == 0 {
				actor = holder
			}
			_, err := e.svc.Escalate(ctx, actor, item.ID, fmt.Sprintf("help %d", i))
			return err
		})
		require.Equal(t, map[string]int{"ok": 1, "conflict": 7}, kinds(errors), "%v", errors)
		d := e.detail(t, task.ID)
		require.Len(t, d.Assignments, 2)
		assert.Equal(t, workflow.AssignmentEscalated, d.Assignments[0].Status)
		assert.Equal(t, workflow.OriginEscalation, d.Assignments[1].Origin)
	})
}
