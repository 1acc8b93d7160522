package workflow_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/workflow"
)

// t0 (2026-12-07) is a Monday.
var (
	friday  = time.Date(2026, 12, 11, 0, 0, 0, 0, time.UTC)
	monday  = time.Date(2026, 12, 14, 0, 0, 0, 0, time.UTC)
	tuesday = time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)
)

// officeHours is Monday to Friday, 09:00-17:00 UTC.
func officeHours(holidays ...string) *workflow.Calendar {
	return &workflow.Calendar{TimeZone: "UTC", Days: workflow.Weekdays(), Start: "09:00", End: "17:00", Holidays: holidays}
}

// setPolicy replaces the example workflow's SLAs and calendar.
func (e *engine) setPolicy(t *testing.T, high string, cal *workflow.Calendar) workflow.Workflow {
	t.Helper()
	in, _ := itSupport()
	in.HighSLA, in.Calendar = high, cal
	w, err := e.svc.UpdateDetails(context.Background(), e.wf.ID, in)
	require.NoError(t, err)
	return w
}

func (e *engine) set(at time.Time) { e.clock.mu.Lock(); e.clock.t = at; e.clock.mu.Unlock() }

func TestWorkflowCalendarIsValidatedStoredAndVersioned(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEngine(t, db)
		assert.Equal(t, 1, e.wf.SLAVersion)
		assert.Nil(t, e.wf.Calendar)

		in, _ := itSupport()
		in.Calendar = &workflow.Calendar{TimeZone: "Mars/Olympus", Days: []time.Weekday{9}, Start: "9am", End: "17:00", Holidays: []string{"25.12."}}
		_, err := e.svc.UpdateDetails(ctx, e.wf.ID, in)
		require.ErrorIs(t, err, errs.ErrInvalid)
		var ee *errs.Error
		require.ErrorAs(t, err, &ee)
		for _, f := range []string{"calendar.time_zone", "calendar.days", "calendar.start", "calendar.holidays"} {
			assert.Contains(t, ee.Fields, f)
		}

		w := e.setPolicy(t, "24:00:00", &workflow.Calendar{TimeZone: "Europe/Berlin", Days: []time.Weekday{3, 2, 2}, Start: "09:00", End: "17:00"})
		assert.Equal(t, 2, w.SLAVersion)
		got, err := e.svc.GetWorkflow(ctx, e.wf.ID)
		require.NoError(t, err)
		require.NotNil(t, got.Calendar)
		assert.Equal(t, []time.Weekday{time.Tuesday, time.Wednesday}, got.Calendar.Days, "sorted, without repeats")
		assert.Equal(t, "Europe/Berlin", got.Calendar.TimeZone)

		// The same policy again is no new version; a changed one is.
		assert.Equal(t, 2, e.setPolicy(t, "24:00:00", &workflow.Calendar{TimeZone: "Europe/Berlin", Days: []time.Weekday{2, 3}, Start: "09:00", End: "17:00"}).SLAVersion)
		assert.Equal(t, 3, e.setPolicy(t, "24:00:00", nil).SLAVersion)
		assert.Equal(t, 4, e.setPolicy(t, "25:00:00", nil).SLAVersion)
	})
}

func TestCalendarTargetsTasksAndStepsInWorkingTime(t *testing.T) {
	dbtest.ForEachDB(t, slaMigrations(), func(t *testing.T, db *store.DB) {
		e := newEngineWith(t, db, withOutbox(db))
		e.setPolicy(t, "24:00:00", officeHours("2026-12-15"))
		e.set(friday.Add(15 * time.Hour))
		task := e.start(t)
		d := e.detail(t, task.ID)
		// 24 working hours from Friday 15:00: Friday 2h, Monday 8h,
		// (Tuesday a holiday), Wednesday 8h, Thursday 6h.
		require.NotNil(t, d.TargetResolution)
		assert.Equal(t, time.Date(2026, 12, 17, 15, 0, 0, 0, time.UTC), *d.TargetResolution)
		assert.Equal(t, 2, d.SLAVersion)
		// Triage's share, 7h12m: Friday 2h, Monday 5h12m.
		assert.Equal(t, monday.Add(14*time.Hour+12*time.Minute), *d.Assignments[0].TargetResolution)

		item := func() workflow.Assignment { return e.detail(t, task.ID).Assignments[0] }
		// 80 % of 7h12m is 5h45m36s of working time: Monday 12:45:36.
		for _, step := range []struct {
			at    time.Time
			state workflow.SLAState
		}{
			{friday.Add(16*time.Hour + 59*time.Minute), workflow.SLAOnTime},
			{friday.Add(24*time.Hour + 12*time.Hour), workflow.SLAOnTime}, // Saturday: no time passes
			{monday.Add(12*time.Hour + 45*time.Minute + 35*time.Second), workflow.SLAOnTime},
			{monday.Add(12*time.Hour + 45*time.Minute + 36*time.Second), workflow.SLAWarned80},
			{monday.Add(14*time.Hour + 12*time.Minute), workflow.SLAWarned90},
			{monday.Add(14*time.Hour + 12*time.Minute + time.Second), workflow.SLABreached},
		} {
			e.set(step.at)
			e.check(t)
			assert.Equal(t, step.state, item().SLAState, "at %s", step.at)
		}
		assert.Equal(t, workflow.SLAOnTime, e.detail(t, task.ID).SLAState, "the task has used 7h12m of 24h")
	})
}

// Golden: a calendar whose only working days are Tuesday and Wednesday
// (Zammad users saw such tickets go overdue at once). A ticket that
// comes in on a Friday is not due before Tuesday, and nothing is said
// about it before then.
func TestGoldenTuesdayWednesdayCalendarDoesNotGoOverdueAtOnce(t *testing.T) {
	dbtest.ForEachDB(t, slaMigrations(), func(t *testing.T, db *store.DB) {
		e := newEngineWith(t, db, withOutbox(db))
		in, _ := itSupport()
		in.Calendar = &workflow.Calendar{TimeZone: "Europe/Berlin", Days: []time.Weekday{time.Tuesday, time.Wednesday}, Start: "09:00", End: "17:00"}
		_, err := e.svc.UpdateDetails(context.Background(), e.wf.ID, in)
		require.NoError(t, err)
		e.set(friday.Add(10 * time.Hour))
		tk := ticket()
		tk.Priority = workflow.PriorityUrgent // 4h
		task, err := e.svc.StartTask(context.Background(), tk)
		require.NoError(t, err)
		// Tuesday 09:00 in Berlin is 08:00 UTC; 4 working hours later.
		require.NotNil(t, task.TargetResolution)
		assert.Equal(t, tuesday.Add(12*time.Hour), *task.TargetResolution)
		for _, at := range []time.Time{friday.Add(18 * time.Hour), monday.Add(12 * time.Hour), tuesday.Add(8 * time.Hour)} {
			e.set(at)
			assert.Equal(t, workflow.SLAReport{}, e.check(t), "at %s", at)
		}
		assert.Equal(t, workflow.SLAOnTime, e.detail(t, task.ID).SLAState)
		// 80 % of 4h is 3h12m after 08:00 UTC.
		e.set(tuesday.Add(11*time.Hour + 11*time.Minute))
		assert.Equal(t, workflow.SLAOnTime, e.detail(t, task.ID).SLAState)
		e.set(tuesday.Add(11*time.Hour + 12*time.Minute))
		e.check(t)
		assert.Equal(t, workflow.SLAWarned80, e.detail(t, task.ID).SLAState)
	})
}

// Golden: with a calendar, a warning or a breach notice (an SLA
// escalation, in Zammad's words) is never sent outside working hours; the
// first check in working hours sends it.
func TestGoldenNoSLANoticeOutsideWorkingHours(t *testing.T) {
	dbtest.ForEachDB(t, slaMigrations(), func(t *testing.T, db *store.DB) {
		e := newEngineWith(t, db, withOutbox(db))
		e.setPolicy(t, "24:00:00", officeHours())
		e.set(t0.Add(4 * time.Hour)) // Monday 13:00
		tk := ticket()
		tk.Priority = workflow.PriorityUrgent
		task, err := e.svc.StartTask(context.Background(), tk)
		require.NoError(t, err)
		assert.Equal(t, t0.Add(8*time.Hour), *task.TargetResolution, "Monday 17:00")
		before := outbox(t, db)
		for _, at := range []time.Time{t0.Add(8*time.Hour + time.Second), t0.Add(15 * time.Hour), t0.Add(23*time.Hour + 59*time.Minute)} {
			e.set(at)
			assert.Equal(t, workflow.SLAReport{}, e.check(t), "at %s: outside working hours", at)
		}
		assert.Equal(t, before, outbox(t, db), "nothing sent at night")
		e.set(t0.Add(24 * time.Hour)) // Tuesday 09:00
		assert.Equal(t, workflow.SLAReport{TasksBreached: 1, AssignmentsBreached: 1}, e.check(t))
		d := e.detail(t, task.ID)
		assert.Equal(t, t0.Add(24*time.Hour), *d.BreachedAt)
		assert.Len(t, outbox(t, db), len(before)+2)
	})
}

func TestOnHoldPausesTheClockAndResumingExtendsTheTarget(t *testing.T) {
	dbtest.ForEachDB(t, slaMigrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEngineWith(t, db, withOutbox(db))
		task := e.start(t) // High: t0+24h; alice's item t0+7h12m

		e.at(time.Hour)
		// Only the holder of an active item on the current step may.
		for _, who := range []workflow.Actor{sam, eve, carol} {
			_, err := e.svc.UpdateUserStatus(ctx, who, task.ID, workflow.AssignmentOnHold)
			require.ErrorIs(t, err, errs.ErrForbidden, who.Username)
		}
		_, err := e.svc.UpdateUserStatus(ctx, alice, task.ID, "resolved")
		require.ErrorIs(t, err, errs.ErrInvalid)
		item, err := e.svc.UpdateUserStatus(ctx, alice, task.ID, workflow.AssignmentOnHold)
		require.NoError(t, err)
		assert.Equal(t, workflow.AssignmentNew, item.Status, "the item is left as it is")
		d := e.detail(t, task.ID)
		assert.Equal(t, workflow.TaskOnHold, d.Status)
		require.NotNil(t, d.PausedAt)
		assert.Equal(t, t0.Add(time.Hour), *d.PausedAt)
		assert.Equal(t, []string{"new", "on_hold"}, e.obs.events, "the ticket hears of it")

		// Far past both targets: a paused clock is never warned or breached.
		e.at(40 * time.Hour)
		assert.Equal(t, workflow.SLAReport{}, e.check(t))
		// Resuming: 39h paused.
		_, err = e.svc.UpdateUserStatus(ctx, alice, task.ID, workflow.AssignmentInProgress)
		require.NoError(t, err)
		d = e.detail(t, task.ID)
		assert.Equal(t, workflow.TaskInProgress, d.Status)
		assert.Nil(t, d.PausedAt)
		assert.Equal(t, int64(39*3600), d.PausedSeconds)
		assert.Equal(t, t0.Add(63*time.Hour), *d.TargetResolution)
		assert.Equal(t, int64(39*3600), d.Assignments[0].PausedSeconds)
		assert.Equal(t, t0.Add(46*time.Hour+12*time.Minute), *d.Assignments[0].TargetResolution)
		assert.Equal(t, workflow.AssignmentInProgress, d.Assignments[0].Status)
		// 1h of 7h12m used: nothing due yet; 80 % (5h45m36s) is due at
		// +44h45m36s.
		assert.Equal(t, workflow.SLAReport{}, e.check(t))
		e.at(44*time.Hour + 45*time.Minute + 35*time.Second)
		assert.Equal(t, workflow.SLAReport{}, e.check(t))
		e.at(44*time.Hour + 45*time.Minute + 36*time.Second)
		assert.Equal(t, workflow.SLAReport{AssignmentsWarned: 1}, e.check(t))

		logs, _, err := e.svc.ActionLogs(ctx, admin, task.ID, workflow.ListOptions{PageSize: 100})
		require.NoError(t, err)
		var actions []string
		for _, l := range logs {
			actions = append(actions, l.Action)
		}
		assert.Subset(t, actions, []string{workflow.LogOnHold, workflow.LogResumed})
	})
}

// Golden: accumulated paused time survives a reassignment and a change of
// the workflow's SLA policy; resolved tasks are not re-scored.
func TestGoldenPausedTimeSurvivesReassignmentAndPolicyChange(t *testing.T) {
	dbtest.ForEachDB(t, slaMigrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEngineWith(t, db, withOutbox(db))
		done := e.start(t)
		task := e.start(t) // arthur holds its Triage item (round-robin)
		_, err := e.svc.Transition(ctx, alice, done.ID, &e.assign, "on")
		require.NoError(t, err)
		_, err = e.svc.Transition(ctx, sam, done.ID, nil, "fixed")
		require.NoError(t, err)
		arthur := workflow.Actor{UserID: "a2", Username: "arthur"}

		e.at(time.Hour)
		_, err = e.svc.UpdateUserStatus(ctx, arthur, task.ID, workflow.AssignmentOnHold)
		require.NoError(t, err)
		e.at(3 * time.Hour)
		old := e.detail(t, task.ID).Assignments[0]
		moved, err := e.svc.Transfer(ctx, admin, old.ID, "a1", "arthur is away")
		require.NoError(t, err)
		e.at(5 * time.Hour)
		_, err = e.svc.UpdateUserStatus(ctx, alice, task.ID, workflow.AssignmentInProgress)
		require.NoError(t, err)
		d := e.detail(t, task.ID)
		assert.Equal(t, int64(4*3600), d.PausedSeconds, "4h on hold, across the transfer")
		assert.Equal(t, t0.Add(28*time.Hour), *d.TargetResolution)
		got := d.Assignments[len(d.Assignments)-1]
		assert.Equal(t, moved.ID, got.ID)
		assert.Equal(t, int64(2*3600), got.PausedSeconds, "alice's item was paused from its transfer on")
		assert.Equal(t, old.TargetResolution.Add(4*time.Hour), *got.TargetResolution, "the inherited target moves by the whole pause")

		e.at(6 * time.Hour)
		w := e.setPolicy(t, "30:00:00", nil)
		assert.Equal(t, 2, w.SLAVersion)
		d = e.detail(t, task.ID)
		assert.Equal(t, 2, d.SLAVersion)
		assert.Equal(t, int64(4*3600), d.PausedSeconds)
		assert.Equal(t, t0.Add(34*time.Hour), *d.TargetResolution, "created + the new 30h + 4h paused")
		assert.Equal(t, *got.TargetResolution, *d.Assignments[len(d.Assignments)-1].TargetResolution, "items keep their targets")

		f := e.detail(t, done.ID)
		assert.Equal(t, 1, f.SLAVersion, "a resolved task keeps its policy")
		assert.Equal(t, t0.Add(24*time.Hour), *f.TargetResolution)

		// A second pause under the new policy adds to the first.
		e.at(7 * time.Hour)
		_, err = e.svc.UpdateUserStatus(ctx, alice, task.ID, workflow.AssignmentOnHold)
		require.NoError(t, err)
		e.at(8 * time.Hour)
		_, err = e.svc.UpdateUserStatus(ctx, alice, task.ID, workflow.AssignmentInProgress)
		require.NoError(t, err)
		d = e.detail(t, task.ID)
		assert.Equal(t, int64(5*3600), d.PausedSeconds)
		assert.Equal(t, t0.Add(35*time.Hour), *d.TargetResolution)
	})
}

// Golden: a transition or a reply never leaves a stale breach behind: an
// item resolved by a transition just before its target is not breached
// afterwards, and a task resumed (or moved on) after a long hold is judged
// by its extended target.
func TestGoldenNoStaleBreachAfterATransition(t *testing.T) {
	dbtest.ForEachDB(t, slaMigrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEngineWith(t, db, withOutbox(db))
		task := e.start(t)
		e.at(7 * time.Hour) // alice's target is +7h12m
		_, err := e.svc.Transition(ctx, alice, task.ID, &e.assign, "handed on in time")
		require.NoError(t, err)
		e.at(7*time.Hour + 13*time.Minute)
		assert.Equal(t, workflow.SLAReport{}, e.check(t))
		d := e.detail(t, task.ID)
		assert.Equal(t, workflow.SLAOnTime, d.Assignments[0].SLAState)
		assert.Equal(t, workflow.AssignmentResolved, d.Assignments[0].Status)

		// Sam puts it on hold before the task's target (+24h) and moves it
		// on well past it: the transition resumes the clock first.
		e.at(20 * time.Hour)
		_, err = e.svc.UpdateUserStatus(ctx, sam, task.ID, workflow.AssignmentOnHold)
		require.NoError(t, err)
		e.at(30 * time.Hour)
		assert.Equal(t, workflow.SLAReport{}, e.check(t), "on hold: nothing marked")
		_, err = e.svc.Transition(ctx, sam, task.ID, nil, "customer answered; fixed")
		require.NoError(t, err)
		d = e.detail(t, task.ID)
		assert.Equal(t, workflow.TaskResolved, d.Status)
		assert.Equal(t, int64(10*3600), d.PausedSeconds)
		assert.Equal(t, t0.Add(34*time.Hour), *d.TargetResolution)
		assert.Nil(t, d.BreachedAt)
		e.at(50 * time.Hour)
		assert.Equal(t, workflow.SLAReport{}, e.check(t))
		assert.Equal(t, workflow.SLAOnTime, e.detail(t, task.ID).SLAState)
		for _, n := range outbox(t, db) {
			assert.False(t, strings.HasPrefix(n, "sla_breached"), n)
		}
	})
}

// A scripted run over several tasks: pauses, a transfer, a priority
// change, policy changes (with and without a calendar), transitions and
// resolutions, with the check run before each change. Every task's SLA,
// recomputed from its stored history, equals what the live clock recorded.
func TestRecomputeSLAFromHistoryEqualsTheLiveClock(t *testing.T) {
	dbtest.ForEachDB(t, slaMigrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEngineWith(t, db, withOutbox(db))
		arthur := workflow.Actor{UserID: "a2", Username: "arthur"}
		// step moves the clock to t0+d, runs the check, then does fn.
		step := func(d time.Duration, fn func() error) {
			t.Helper()
			e.at(d)
			e.check(t)
			require.NoError(t, fn())
		}
		noop := func() error { return nil }
		var a, b, c, f workflow.Task
		step(0, func() (err error) { a, err = e.svc.StartTask(ctx, ticket()); return })         // alice
		step(0, func() (err error) { b, err = e.svc.StartTask(ctx, ticket()); return })         // arthur
		step(time.Hour, func() (err error) { c, err = e.svc.StartTask(ctx, ticket()); return }) // alice
		step(2*time.Hour, func() error {
			_, err := e.svc.UpdateUserStatus(ctx, alice, a.ID, workflow.AssignmentOnHold)
			return err
		})
		step(3*time.Hour, func() error {
			_, err := e.svc.Transfer(ctx, admin, e.detail(t, b.ID).Assignments[0].ID, "a1", "")
			return err
		})
		step(4*time.Hour, func() error {
			_, err := e.svc.UpdateTask(ctx, admin, c.ID, workflow.TaskInput{Subject: "c", Priority: workflow.PriorityUrgent})
			return err
		})
		step(6*time.Hour, func() error { _, err := e.svc.Transition(ctx, alice, b.ID, &e.assign, "on"); return err })
		step(7*time.Hour, func() error {
			_, err := e.svc.UpdateUserStatus(ctx, alice, a.ID, workflow.AssignmentInProgress)
			return err
		})
		step(8*time.Hour, func() error { e.setPolicy(t, "20:00:00", nil); return nil })
		step(9*time.Hour, func() error {
			_, err := e.svc.UpdateUserStatus(ctx, alice, a.ID, workflow.AssignmentOnHold)
			return err
		})
		step(10*time.Hour, func() error { _, err := e.svc.Transition(ctx, sam, b.ID, nil, "fixed"); return err })
		step(11*time.Hour, func() error { e.setPolicy(t, "20:00:00", officeHours()); return nil }) // Monday 20:00: after hours
		step(11*time.Hour, func() (err error) { f, err = e.svc.StartTask(ctx, ticket()); return }) // arthur
		step(24*time.Hour+10*time.Hour, func() error {                                             // Tuesday 10:00
			_, err := e.svc.UpdateUserStatus(ctx, alice, a.ID, workflow.AssignmentInProgress)
			return err
		})
		step(24*time.Hour+11*time.Hour, func() error {
			_, err := e.svc.UpdateUserStatus(ctx, arthur, f.ID, workflow.AssignmentOnHold)
			return err
		})
		step(48*time.Hour+12*time.Hour, func() error { // Wednesday 12:00
			_, err := e.svc.UpdateUserStatus(ctx, arthur, f.ID, workflow.AssignmentInProgress)
			return err
		})
		end := 96*time.Hour + 16*time.Hour // Friday 16:00
		step(end, noop)

		at := t0.Add(end)
		states := map[workflow.SLAState]int{}
		for _, task := range []workflow.Task{a, b, c, f} {
			live, err := e.svc.LiveSLA(ctx, task.ID, at)
			require.NoError(t, err)
			replayed, err := e.svc.RecomputeSLA(ctx, task.ID, at)
			require.NoError(t, err)
			assert.Equal(t, live, replayed, "task %d", task.ID)
			states[live.State]++
		}
		// The run is worth replaying: it paused, re-targeted and breached.
		af, err := e.svc.LiveSLA(ctx, a.ID, at)
		require.NoError(t, err)
		assert.Equal(t, 3, af.Version)
		assert.Positive(t, af.Paused)
		assert.Positive(t, states[workflow.SLABreached])
	})
}
