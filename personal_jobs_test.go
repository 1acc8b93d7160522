package bugflow_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/bugs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/personal"
)

// The engine runs time-based processes from its job queue: a tick job
// worked by the engine runs the overdue reschedule once its 07:30 has
// passed on the engine's clock, in the configured time zone.
func TestEngineRunsDueProcessesOnItsQueue(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		var mu sync.Mutex
		// 07:00 in Tokyo (no daylight saving time) is 22:00 UTC the day before.
		now := time.Date(2026, 12, 17, 22, 0, 0, 0, time.UTC)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		e, err := bugflow.Open(ctx, bugflow.Config{DatabaseURL: url, Logger: quiet, Now: clock, TimeZone: "Asia/Tokyo"})
		require.NoError(t, err)
		defer e.Close()

		due := time.Date(2026, 12, 15, 9, 15, 0, 0, time.UTC) // 18:15 Tokyo
		task, err := e.Personal.CreateTask(ctx, "alice", personal.NewTask{Name: "late", DueDate: &due})
		require.NoError(t, err)

		mu.Lock()
		now = now.Add(31 * time.Minute) // 07:31 Tokyo
		mu.Unlock()
		res, err := e.Enqueue(ctx, personal.TickArgs{}, nil)
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			row, err := e.Job(ctx, res.Job.ID)
			require.NoError(t, err)
			return row.State == rivertype.JobStateCompleted
		}, 90*time.Second, 20*time.Millisecond)

		runs, n, err := e.Personal.Executions(ctx, personal.Viewer{Admin: true}, personal.RescheduleOverdueID, 10, 0)
		require.NoError(t, err)
		require.GreaterOrEqual(t, n, 1, "the tick (or the periodic one run at start) ran it")
		require.Equal(t, 1, n, "once, however many ticks were worked")
		assert.Equal(t, personal.ExecutionSuccess, runs[0].Status)
		got, err := e.Personal.Task(ctx, "alice", task.ID)
		require.NoError(t, err)
		assert.Equal(t, time.Date(2026, 12, 18, 9, 15, 0, 0, time.UTC), *got.DueDate, "today in Tokyo, at 18:15 Tokyo still")
	})
}

// The engine runs event-based processes on its queue: completing a task
// runs its owner's task_completed process, and filing a bug report runs a
// bug_report_created process, each once, recorded with its event.
func TestEngineRunsEventProcessesOnItsQueue(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		now := time.Date(2026, 12, 17, 10, 0, 0, 0, time.UTC)
		e, err := bugflow.Open(ctx, bugflow.Config{DatabaseURL: url, Logger: quiet, Now: func() time.Time { return now }})
		require.NoError(t, err)
		defer e.Close()

		tidy, err := e.Personal.CreateProcess(ctx, "alice", personal.NewProcess{Name: "tidy up when done",
			Trigger: personal.EventBased, Event: personal.TaskCompleted, Action: personal.RescheduleOverdue})
		require.NoError(t, err)
		triage, err := e.Personal.CreateProcess(ctx, "root", personal.NewProcess{Name: "on a new report",
			Trigger: personal.EventBased, Event: personal.BugReportCreated, Action: personal.RescheduleOverdue})
		require.NoError(t, err)

		due := now.AddDate(0, 0, -3)
		late, err := e.Personal.CreateTask(ctx, "alice", personal.NewTask{Name: "late", DueDate: &due})
		require.NoError(t, err)
		task, err := e.Personal.CreateTask(ctx, "alice", personal.NewTask{Name: "finish me"})
		require.NoError(t, err)
		done := personal.Completed
		_, err = e.Personal.UpdateTask(ctx, "alice", task.ID, personal.TaskChange{Status: &done})
		require.NoError(t, err)
		report, err := e.Bugs.Create(ctx, bugs.CreateInput{Title: "it broke", Source: bugs.SourceUserCommand})
		require.NoError(t, err)

		kind := []string{personal.EventArgs{}.Kind()}
		require.Eventually(t, func() bool {
			rows, err := e.Jobs(ctx, nil, kind, 10)
			require.NoError(t, err)
			for _, r := range rows {
				if r.State != rivertype.JobStateCompleted {
					return false
				}
			}
			return len(rows) == 2
		}, 90*time.Second, 20*time.Millisecond)

		runs, n, err := e.Personal.Executions(ctx, personal.Viewer{Admin: true}, tidy.ID, 10, 0)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		assert.Equal(t, personal.ExecutionSuccess, runs[0].Status)
		assert.Equal(t, "on task_completed of "+task.ID+": moved 1 overdue task(s) to today", runs[0].Message)
		got, err := e.Personal.Task(ctx, "alice", late.ID)
		require.NoError(t, err)
		assert.Equal(t, now.Truncate(24*time.Hour), got.DueDate.Truncate(24*time.Hour), "moved to today")

		runs, n, err = e.Personal.Executions(ctx, personal.Viewer{Admin: true}, triage.ID, 10, 0)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		assert.Equal(t, "on bug_report_created of "+report.ID+": moved 0 overdue task(s) to today", runs[0].Message)
	})
}
