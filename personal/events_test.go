package personal_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/jobs"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/personal"
)

// txQueue is the engine's EventQueue (the job queue's EnqueueTx). With fail
// set it fails after writing, as a queue whose insert breaks would.
type txQueue struct {
	q    *jobs.Queue
	fail bool
}

func (tq *txQueue) EnqueueTx(ctx context.Context, args river.JobArgs) error {
	if err := tq.q.EnqueueTx(ctx, args); err != nil {
		return err
	}
	if tq.fail {
		return errors.New("queue broke after the insert")
	}
	return nil
}

// eventJobs returns the queued event runs, oldest first.
func eventJobs(t *testing.T, q *jobs.Queue) []personal.EventArgs {
	t.Helper()
	rows, err := q.List(context.Background(), nil, []string{personal.EventArgs{}.Kind()}, 100)
	require.NoError(t, err)
	out := make([]personal.EventArgs, len(rows))
	for i, r := range rows {
		require.NoError(t, json.Unmarshal(r.EncodedArgs, &out[i]))
	}
	slices.Reverse(out) // List is newest first
	return out
}

// Each event enqueues one run per active process waiting for it (the
// owner's, for a task event), in the event's transaction: an event that
// rolls back, or whose enqueue fails, leaves neither its change nor a run.
func TestEventsEnqueueRunsInTheEventsTransaction(t *testing.T) {
	migrations := slices.Concat(personal.Migrations(), jobs.Migrations())
	dbtest.ForEachDB(t, migrations, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		require.NoError(t, jobs.Migrate(ctx, db))
		q, err := jobs.New(db, jobs.Config{Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		queue := &txQueue{q: q}
		clk := &clock{t: time.Date(2026, 12, 17, 10, 0, 0, 0, time.UTC)}
		svc := personal.New(personal.NewBunStore(db.DB), personal.Config{Events: queue, Now: clk.now, MaxProcessesPerUser: 10})

		proc := func(owner string, ev personal.Event) personal.Process {
			t.Helper()
			p, err := svc.CreateProcess(ctx, owner, personal.NewProcess{Name: string(ev), Trigger: personal.EventBased, Event: ev, Action: personal.RescheduleOverdue})
			require.NoError(t, err)
			assert.Equal(t, ev, p.Event)
			return p
		}
		completed := proc("alice", personal.TaskCompleted)
		created := proc("alice", personal.TaskCreated)
		proc("bob", personal.TaskCreated)
		reports := proc("root", personal.BugReportCreated)
		_, err = svc.CreateProcess(ctx, "alice", personal.NewProcess{Name: "by hand", Trigger: personal.Manual, Action: personal.RescheduleOverdue})
		require.NoError(t, err)
		require.Empty(t, eventJobs(t, q))

		task, err := svc.CreateTask(ctx, "alice", personal.NewTask{Name: "write the notes"})
		require.NoError(t, err)
		assert.Equal(t, []personal.EventArgs{{ProcessID: created.ID, Event: personal.TaskCreated, Subject: task.ID}}, eventJobs(t, q),
			"alice's task_created process only: bob's waits for bob's tasks")

		name := "write the release notes"
		_, err = svc.UpdateTask(ctx, "alice", task.ID, personal.TaskChange{Name: &name})
		require.NoError(t, err)
		require.Len(t, eventJobs(t, q), 1, "no process waits for task_updated")
		done := personal.Completed
		_, err = svc.UpdateTask(ctx, "alice", task.ID, personal.TaskChange{Status: &done})
		require.NoError(t, err)
		jobsNow := eventJobs(t, q)
		require.Len(t, jobsNow, 2)
		assert.Equal(t, personal.EventArgs{ProcessID: completed.ID, Event: personal.TaskCompleted, Subject: task.ID}, jobsNow[1])
		_, err = svc.UpdateTask(ctx, "alice", task.ID, personal.TaskChange{Name: &name})
		require.NoError(t, err)
		require.Len(t, eventJobs(t, q), 2, "a change of a completed task does not complete it again")

		rolledBack := errors.New("the caller's transaction fails later")
		err = store.RunInTx(ctx, db.DB, func(ctx context.Context, _ bun.IDB) error {
			if _, err := svc.CreateTask(ctx, "alice", personal.NewTask{Name: "never"}); err != nil {
				return err
			}
			return rolledBack
		})
		require.ErrorIs(t, err, rolledBack)
		assert.Len(t, eventJobs(t, q), 2, "the rolled-back event runs nothing")

		queue.fail = true
		_, err = svc.CreateTask(ctx, "alice", personal.NewTask{Name: "half"})
		require.Error(t, err)
		queue.fail = false
		assert.Len(t, eventJobs(t, q), 2, "a failed enqueue leaves no run")
		list, err := svc.ListTasks(ctx, "alice", personal.Filter{})
		require.NoError(t, err)
		assert.Len(t, list, 1, "and no task: the event's change and its runs go together")

		require.NoError(t, svc.BugReportCreated(ctx, "report-1"))
		require.NoError(t, svc.TicketBreached(ctx, "TX1"))
		jobsNow = eventJobs(t, q)
		require.Len(t, jobsNow, 3, "no process waits for ticket_breached")
		assert.Equal(t, personal.EventArgs{ProcessID: reports.ID, Event: personal.BugReportCreated, Subject: "report-1"}, jobsNow[2])
	})
}

// RunEvent runs an event's process once and records the execution with
// the event in its message; a process already running is a Conflict (the
// job retries later), and a run for a process that no longer waits for
// the event does nothing.
func TestRunEventRecordsExecutionsAndNeverOverlaps(t *testing.T) {
	dbtest.ForEachDB(t, personal.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 12, 17, 10, 0, 0, 0, time.UTC)}
		st := personal.NewBunStore(db.DB)
		svc := personal.New(st, personal.Config{Now: clk.now})
		p, err := svc.CreateProcess(ctx, "alice", personal.NewProcess{Name: "tidy", Trigger: personal.EventBased, Event: personal.TaskCompleted, Action: personal.RescheduleOverdue})
		require.NoError(t, err)
		due := clk.now().AddDate(0, 0, -2)
		_, err = svc.CreateTask(ctx, "alice", personal.NewTask{Name: "late", DueDate: &due})
		require.NoError(t, err)

		e, ran, err := svc.RunEvent(ctx, personal.EventArgs{ProcessID: p.ID, Event: personal.TaskCompleted, Subject: "t1"})
		require.NoError(t, err)
		require.True(t, ran)
		assert.Equal(t, personal.ExecutionSuccess, e.Status)
		assert.Equal(t, "on task_completed of t1: moved 1 overdue task(s) to today", e.Message)

		_, ran, err = svc.RunEvent(ctx, personal.EventArgs{ProcessID: p.ID, Event: personal.TaskCreated, Subject: "t1"})
		require.NoError(t, err)
		assert.False(t, ran, "the process waits for another event")
		_, ran, err = svc.RunEvent(ctx, personal.EventArgs{ProcessID: "gone", Event: personal.TaskCompleted})
		require.NoError(t, err)
		assert.False(t, ran, "a deleted process")

		running := personal.Execution{ID: "busy", ProcessID: p.ID, Status: personal.ExecutionRunning, StartedAt: clk.now()}
		require.NoError(t, st.StartExecution(ctx, running))
		_, _, err = svc.RunEvent(ctx, personal.EventArgs{ProcessID: p.ID, Event: personal.TaskCompleted, Subject: "t2"})
		require.ErrorIs(t, err, errs.ErrConflict, "runs of one process never overlap")

		_, n, err := svc.Executions(ctx, alice, p.ID, 10, 0)
		require.NoError(t, err)
		assert.Equal(t, 2, n, "the event's run and the one still running")
	})
}
