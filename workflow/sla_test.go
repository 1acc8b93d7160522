package workflow_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/audit"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/notify"
	"github.com/bugflow/bugflow/workflow"
)

// nullChannel accepts every notification; the tests read the outbox.
type nullChannel struct{}

func (nullChannel) Name() string                                    { return "null" }
func (nullChannel) Send(context.Context, notify.Notification) error { return nil }

func slaMigrations() []store.Migration {
	return slices.Concat(workflow.Migrations(), audit.Migrations(), notify.Migrations())
}

// withOutbox gives the engine's service an outbox on db.
func withOutbox(db *store.DB) func(e *engine, cfg *workflow.Config) {
	return func(e *engine, cfg *workflow.Config) {
		cfg.Notifier = notify.New(notify.NewBunStore(db.DB), notify.Config{Channels: []notify.Channel{nullChannel{}}, Now: e.clock.now})
	}
}

// outbox lists every stored notification, oldest first, as "kind
// recipient item", or "kind recipient tTASK" for one about a task.
func outbox(t *testing.T, db *store.DB) []string {
	t.Helper()
	ns, _, err := notify.NewBunStore(db.DB).List(context.Background(), notify.StatusPending, 0, 0)
	require.NoError(t, err)
	out := []string{}
	for _, n := range slices.Backward(ns) {
		about := itoa(n.TaskItemID)
		if n.TaskItemID == 0 {
			about = "t" + itoa(n.TaskID)
		}
		out = append(out, n.Kind+" "+n.Recipient+" "+about)
	}
	return out
}

func (e *engine) check(t *testing.T) workflow.SLAReport {
	t.Helper()
	r, err := e.svc.CheckSLA(context.Background())
	require.NoError(t, err)
	return r
}

func (e *engine) at(d time.Duration) { e.clock.mu.Lock(); e.clock.t = t0.Add(d); e.clock.mu.Unlock() }

func TestCheckSLAMarksEachThresholdOnceOnBothSidesOfIt(t *testing.T) {
	dbtest.ForEachDB(t, slaMigrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEngineWith(t, db, withOutbox(db))
		task := e.start(t)
		item := e.detail(t, task.ID).Assignments[0]
		// High: the task aims at t0+24h; alice's Triage share (0.3) at
		// t0+7h12m, so her warnings fall at 5h45m36s (80 %) and 6h28m48s
		// (90 %).
		itemState := func() workflow.SLAState { return e.detail(t, task.ID).Assignments[0].SLAState }
		assert.Equal(t, workflow.SLAOnTime, itemState())
		assert.Equal(t, workflow.SLAOnTime, e.detail(t, task.ID).SLAState)

		steps := []struct {
			at        time.Duration
			item      workflow.SLAState
			report    workflow.SLAReport
			itemState workflow.AssignmentStatus
		}{
			{5*time.Hour + 45*time.Minute + 35*time.Second, workflow.SLAOnTime, workflow.SLAReport{}, workflow.AssignmentNew},
			{5*time.Hour + 45*time.Minute + 36*time.Second, workflow.SLAWarned80, workflow.SLAReport{AssignmentsWarned: 1}, workflow.AssignmentNew},
			{6*time.Hour + 28*time.Minute + 47*time.Second, workflow.SLAWarned80, workflow.SLAReport{}, workflow.AssignmentNew},
			{6*time.Hour + 28*time.Minute + 48*time.Second, workflow.SLAWarned90, workflow.SLAReport{AssignmentsWarned: 1}, workflow.AssignmentNew},
			{7*time.Hour + 12*time.Minute, workflow.SLAWarned90, workflow.SLAReport{}, workflow.AssignmentNew}, // at the target: not past it
			{7*time.Hour + 12*time.Minute + time.Second, workflow.SLABreached, workflow.SLAReport{AssignmentsBreached: 1}, workflow.AssignmentBreached},
		}
		for _, step := range steps {
			e.at(step.at)
			assert.Equal(t, step.report, e.check(t), "at +%s", step.at)
			assert.Equal(t, workflow.SLAReport{}, e.check(t), "a second check at +%s marks nothing", step.at)
			got := e.detail(t, task.ID).Assignments[0]
			assert.Equal(t, step.item, got.SLAState, "at +%s", step.at)
			assert.Equal(t, step.itemState, got.Status, "at +%s", step.at)
		}
		assert.Equal(t, workflow.SLAOnTime, e.detail(t, task.ID).SLAState, "the task's own clock is far from its marks")
		id := itoa(item.ID)
		assert.Equal(t, []string{"assigned a1 " + id, "sla_warning a1 " + id, "sla_warning a1 " + id, "sla_breached a1 " + id}, outbox(t, db))

		logs, _, err := e.svc.ActionLogs(ctx, admin, task.ID, workflow.ListOptions{})
		require.NoError(t, err)
		var actions []string
		for _, l := range logs {
			if l.Action == workflow.LogSLAWarning || l.Action == workflow.LogSLABreached {
				actions = append(actions, l.Action+" "+l.Username)
			}
		}
		assert.Equal(t, []string{"sla_warning system", "sla_warning system", "sla_breached system"}, actions)
		events, _, err := e.trail.List(ctx, audit.Filter{TargetType: "TaskItem", TargetID: id}, 1, 50)
		require.NoError(t, err)
		require.Len(t, events, 3)
		assert.Equal(t, "sla_breached", events[0].Action, "newest first")
		assert.Nil(t, events[0].UserID, "the check acts as no user")

		// A breached holder still moves the task on; her item is resolved
		// (the breach is not left behind on an open item) and sam's step
		// starts a clock of its own: 24h × 0.7 from now.
		_, err = e.svc.Transition(ctx, alice, task.ID, &e.assign, "done late")
		require.NoError(t, err)
		d := e.detail(t, task.ID)
		assert.Equal(t, workflow.AssignmentResolved, d.Assignments[0].Status)
		assert.Equal(t, workflow.SLABreached, d.Assignments[0].SLAState, "the breach stays on record")
		assert.Equal(t, workflow.SLAOnTime, d.Assignments[1].SLAState)

		// The task: 80 % of 24h at 19h12m, 90 % at 21h36m, breached after 24h.
		for _, step := range []struct {
			at    time.Duration
			state workflow.SLAState
		}{
			{19*time.Hour + 11*time.Minute, workflow.SLAOnTime},
			{19*time.Hour + 12*time.Minute, workflow.SLAWarned80},
			{21*time.Hour + 36*time.Minute, workflow.SLAWarned90},
			{24 * time.Hour, workflow.SLAWarned90},
			{24*time.Hour + time.Second, workflow.SLABreached},
		} {
			e.at(step.at)
			e.check(t)
			e.check(t)
			got := e.detail(t, task.ID)
			assert.Equal(t, step.state, got.SLAState, "task at +%s", step.at)
			if step.state == workflow.SLABreached {
				require.NotNil(t, got.BreachedAt)
				assert.Equal(t, t0.Add(step.at), *got.BreachedAt)
			} else {
				assert.Nil(t, got.BreachedAt)
			}
		}
		var taskNotes []string
		for _, n := range outbox(t, db) {
			if strings.HasSuffix(n, " t"+itoa(task.ID)) {
				taskNotes = append(taskNotes, n)
			}
		}
		assert.Equal(t, []string{"sla_warning c1 t" + itoa(task.ID), "sla_warning c1 t" + itoa(task.ID), "sla_breached c1 t" + itoa(task.ID)}, taskNotes, "the ticket owner hears of the task's marks")

		// A resolved task is never marked again, and its owner is told.
		_, err = e.svc.Transition(ctx, sam, task.ID, nil, "fixed")
		require.NoError(t, err)
		e.at(100 * time.Hour)
		assert.Equal(t, workflow.SLAReport{}, e.check(t))
		assert.Contains(t, outbox(t, db), "resolved c1 t"+itoa(task.ID))
	})
}

func TestCheckSLAJumpsToTheHighestMarkOnce(t *testing.T) {
	dbtest.ForEachDB(t, slaMigrations(), func(t *testing.T, db *store.DB) {
		e := newEngineWith(t, db, withOutbox(db))
		task := e.start(t)
		e.at(30 * time.Hour)
		assert.Equal(t, workflow.SLAReport{TasksBreached: 1, AssignmentsBreached: 1}, e.check(t))
		d := e.detail(t, task.ID)
		assert.Equal(t, workflow.SLABreached, d.SLAState)
		assert.Equal(t, workflow.AssignmentBreached, d.Assignments[0].Status)
		id := itoa(d.Assignments[0].ID)
		assert.Equal(t, []string{"assigned a1 " + id, "sla_breached c1 t" + itoa(task.ID), "sla_breached a1 " + id}, outbox(t, db), "no warnings after the fact")
	})
}

func TestCheckSLAOfTwoReplicasMarksAndNotifiesOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url, slaMigrations())
		e := newEngineWith(t, db, withOutbox(db))
		const tasks = 12
		for range tasks {
			e.start(t)
		}
		// A second process: its own pool, its own service, the same clock.
		db2 := dbtest.Open(t, url, slaMigrations())
		replica := workflow.New(workflow.NewBunStore(db2.DB), workflow.Config{People: e.dir, Audit: audit.New(audit.NewBunStore(db2.DB), audit.Config{}),
			Notifier: notify.New(notify.NewBunStore(db2.DB), notify.Config{Channels: []notify.Channel{nullChannel{}}}), Now: e.clock.now})

		for _, at := range []time.Duration{6 * time.Hour, 7 * time.Hour, 25 * time.Hour} {
			e.at(at)
			var wg sync.WaitGroup
			reports := make([]workflow.SLAReport, 4)
			for i, svc := range []*workflow.Service{e.svc, replica, e.svc, replica} {
				wg.Go(func() {
					r, err := svc.CheckSLA(ctx)
					assert.NoError(t, err)
					reports[i] = r
				})
			}
			wg.Wait()
			var sum workflow.SLAReport
			for _, r := range reports {
				sum.TasksWarned += r.TasksWarned
				sum.TasksBreached += r.TasksBreached
				sum.AssignmentsWarned += r.AssignmentsWarned
				sum.AssignmentsBreached += r.AssignmentsBreached
			}
			switch at {
			case 6 * time.Hour:
				assert.Equal(t, workflow.SLAReport{AssignmentsWarned: tasks}, sum, "each item warned at 80 %% once")
			case 7 * time.Hour:
				assert.Equal(t, workflow.SLAReport{AssignmentsWarned: tasks}, sum, "each item warned at 90 %% once")
			default:
				assert.Equal(t, workflow.SLAReport{TasksBreached: tasks, AssignmentsBreached: tasks}, sum, "each breached once")
			}
		}
		notes := outbox(t, db)
		count := map[string]int{}
		for _, n := range notes {
			count[n]++
		}
		for n, c := range count {
			if n[:len("sla_warning")] == "sla_warning" {
				assert.Equal(t, 2, c, "%s: one warning at 80 %% and one at 90 %%", n)
			} else {
				assert.Equal(t, 1, c, n)
			}
		}
		assert.Len(t, notes, tasks*(1+2+1)+tasks, "per task: assigned, two warnings and a breach of its item, and the task's breach")
		logs := 0
		for id := int64(1); id <= tasks; id++ {
			ls, _, err := e.svc.ActionLogs(ctx, admin, id, workflow.ListOptions{})
			require.NoError(t, err)
			for _, l := range ls {
				if l.Action == workflow.LogSLABreached {
					logs++
				}
			}
		}
		assert.Equal(t, 2*tasks, logs, "one breach line for each task and each item")
	})
}

// failingObserver refuses every task change.
type failingObserver struct{}

func (failingObserver) TaskStatusChanged(context.Context, workflow.Task) error {
	return errors.New("observer refuses")
}

// Notifications are written in the transaction of their cause: transfers
// and escalations tell the new holder, and a change that rolls back leaves
// no notification behind.
func TestNotificationsShareTheirCausesTransaction(t *testing.T) {
	dbtest.ForEachDB(t, slaMigrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEngineWith(t, db, withOutbox(db))
		task := e.start(t)
		first := e.detail(t, task.ID).Assignments[0]
		moved, err := e.svc.Transfer(ctx, admin, first.ID, "u9", "to uma")
		require.NoError(t, err)
		up, err := e.svc.Escalate(ctx, workflow.Actor{UserID: "u9", Username: "uma"}, moved.ID, "needs a manager")
		require.NoError(t, err)
		assert.Equal(t, []string{"assigned a1 " + itoa(first.ID), "transferred u9 " + itoa(moved.ID), "escalated " + up.UserID + " " + itoa(up.ID)}, outbox(t, db))

		refusing := workflow.New(workflow.NewBunStore(db.DB), workflow.Config{People: e.dir, Observer: failingObserver{},
			Notifier: notify.New(notify.NewBunStore(db.DB), notify.Config{Channels: []notify.Channel{nullChannel{}}}), Now: e.clock.now})
		_, err = refusing.StartTask(ctx, ticket())
		require.ErrorContains(t, err, "observer refuses")
		assert.Len(t, outbox(t, db), 3, "the refused task's assignment was not notified")
	})
}

// breachLog is a BreachObserver that keeps the tasks it hears of; with
// refuse set it fails, which must undo the mark.
type breachLog struct {
	mu     sync.Mutex
	tasks  []int64
	refuse bool
}

func (b *breachLog) TaskBreached(_ context.Context, t workflow.Task) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.refuse {
		return errors.New("breach observer refuses")
	}
	b.tasks = append(b.tasks, t.ID)
	return nil
}

// The breach observer hears of a task's breach once, in the transaction
// that marks it: its failure leaves the task unmarked.
func TestCheckSLATellsTheBreachObserverOnceInItsTransaction(t *testing.T) {
	dbtest.ForEachDB(t, slaMigrations(), func(t *testing.T, db *store.DB) {
		heard := &breachLog{refuse: true}
		e := newEngineWith(t, db, func(_ *engine, cfg *workflow.Config) { cfg.Breaches = heard })
		task := e.start(t)
		e.at(30 * time.Hour)
		_, err := e.svc.CheckSLA(context.Background())
		require.ErrorContains(t, err, "breach observer refuses")
		assert.NotEqual(t, workflow.SLABreached, e.detail(t, task.ID).SLAState, "the refused breach is not marked")

		heard.refuse = false
		e.check(t)
		e.check(t)
		assert.Equal(t, []int64{task.ID}, heard.tasks, "once")
		assert.Equal(t, workflow.SLABreached, e.detail(t, task.ID).SLAState)
	})
}
