package workflow

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/bugflow/bugflow/internal/jobs"
	"github.com/bugflow/bugflow/notify"
)

// SLAState is how far a task or an assignment is through its SLA.
type SLAState string

// The SLA states, in the order the check moves through them. A mark is
// never taken back: a task resolved late stays breached.
const (
	SLAOnTime   SLAState = "on_time"
	SLAWarned80 SLAState = "warned_80" // 80 % of the time to the target has passed
	SLAWarned90 SLAState = "warned_90" // 90 % has passed
	SLABreached SLAState = "breached"  // the target has passed
)

// The stored SLA levels: the percentage of the SLA elapsed that each mark
// stands for, so that "a higher mark" is a plain comparison in SQL.
const (
	levelOnTime   = 0
	levelWarned80 = 80
	levelWarned90 = 90
	levelBreached = 100
)

func slaState(level int) SLAState {
	switch {
	case level >= levelBreached:
		return SLABreached
	case level >= levelWarned90:
		return SLAWarned90
	case level >= levelWarned80:
		return SLAWarned80
	}
	return SLAOnTime
}

// Notifier stores the notifications that task changes cause (package
// notify's outbox). Notify is called inside the change's transaction, with
// its ctx, so that a notification exists exactly when its cause does.
type Notifier interface {
	Notify(ctx context.Context, m notify.Message) error
}

// BreachObserver hears of each task that breaches its SLA, once, inside
// the transaction that marks the breach (its failure undoes the mark).
type BreachObserver interface {
	TaskBreached(ctx context.Context, t Task) error
}

// SLAReport counts the marks one CheckSLA made.
type SLAReport struct {
	TasksWarned, TasksBreached             int
	AssignmentsWarned, AssignmentsBreached int
}

// slaBatch is how many rows the check reads at a time.
const slaBatch = 200

// CheckSLA marks every open task and active assignment whose SLA reached a
// new mark at the service's clock: warned at 80 % and 90 % of the SLA time
// from its start (a task's creation, an assignment's assignment) to its
// target, paused time left out, breached once the target has passed; a
// breached assignment's status becomes breached (its holder may still
// move the task on). Tasks on hold, and the assignments of their tasks,
// are not marked: their clock stands still. On a workflow with a calendar
// a row is marked only while now is in working hours, so that no warning
// or breach notice goes out at night or on a holiday; the next check in
// working hours makes the mark. Each mark is a conditional update, with a
// history line, an audit event and a notification (to the assignment's
// holder, or the task's ticket owner) in its transaction, so that it
// happens exactly once however many processes run the check at the same
// time. A row that jumps several marks at once gets the highest only.
func (s *Service) CheckSLA(ctx context.Context) (SLAReport, error) {
	var r SLAReport
	now := s.now()
	cache := map[policyKey]policyAndClock{}
	clockOf := func(workflowID int64, version int) (slaClock, error) {
		var clk slaClock
		err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
			var err error
			_, clk, err = policyClock(ctx, st, workflowID, version, cache)
			return err
		})
		return clk, err
	}
	for after := int64(0); ; {
		tasks, err := s.store.SLAOpenTasks(ctx, after, slaBatch)
		if err != nil {
			return r, err
		}
		for _, t := range tasks {
			after = t.ID
			clk, err := clockOf(t.WorkflowID, t.SLAVersion)
			if err != nil {
				return r, err
			}
			if !clk.working(now) {
				continue
			}
			level := slaLevelOn(clk, t.CreatedAt, *t.TargetResolution, now, time.Duration(t.PausedSeconds)*time.Second)
			if level <= slaLevelOf(t.SLAState) {
				continue
			}
			marked, err := s.markTask(ctx, t, level, now)
			if err != nil {
				return r, err
			}
			if marked && level == levelBreached {
				r.TasksBreached++
			} else if marked {
				r.TasksWarned++
			}
		}
		if len(tasks) < slaBatch {
			break
		}
	}
	for after := int64(0); ; {
		items, err := s.store.SLAOpenAssignments(ctx, after, slaBatch)
		if err != nil {
			return r, err
		}
		for _, a := range items {
			after = a.ID
			clk, err := clockOf(a.WorkflowID, a.SLAVersion)
			if err != nil {
				return r, err
			}
			if !clk.working(now) {
				continue
			}
			level := slaLevelOn(clk, a.AssignedAt, *a.TargetResolution, now, time.Duration(a.PausedSeconds)*time.Second)
			if level <= slaLevelOf(a.SLAState) {
				continue
			}
			marked, err := s.markAssignment(ctx, a.Assignment, level, now)
			if err != nil {
				return r, err
			}
			if marked && level == levelBreached {
				r.AssignmentsBreached++
			} else if marked {
				r.AssignmentsWarned++
			}
		}
		if len(items) < slaBatch {
			break
		}
	}
	return r, nil
}

func slaLevelOf(st SLAState) int {
	switch st {
	case SLAWarned80:
		return levelWarned80
	case SLAWarned90:
		return levelWarned90
	case SLABreached:
		return levelBreached
	}
	return levelOnTime
}

// markTask raises a task's mark to level and reports whether this call did.
func (s *Service) markTask(ctx context.Context, t Task, level int, now time.Time) (bool, error) {
	var marked bool
	err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		ok, err := st.RaiseTaskSLA(ctx, t.ID, level, now)
		if err != nil || !ok {
			return err
		}
		marked = true
		after, err := st.GetTask(ctx, t.ID)
		if err != nil {
			return err
		}
		action, kind, note := slaWords(level, "task", *t.TargetResolution)
		if err := s.history(ctx, st, nil, t.ID, action, after.CurrentStep.ID, note, now); err != nil {
			return err
		}
		if err := s.record(ctx, action, "Task", t.ID, t, after); err != nil {
			return err
		}
		if level == levelBreached && s.breaches != nil {
			if err := s.breaches.TaskBreached(ctx, after); err != nil {
				return err
			}
		}
		if t.TicketOwnerID == nil {
			return nil
		}
		return s.notify(ctx, notify.Message{
			Key: "task:" + strconv.FormatInt(t.ID, 10) + ":" + string(slaState(level)), Kind: kind, Recipient: *t.TicketOwnerID,
			TaskID: t.ID, Subject: fmt.Sprintf("Task %d: %s", t.ID, note), Body: fmt.Sprintf("Task %d (%s): %s.", t.ID, t.Subject, note),
		})
	})
	if err != nil {
		return false, fmt.Errorf("SLA check of task %d: %w", t.ID, err)
	}
	return marked, nil
}

// markAssignment raises an assignment's mark to level and reports whether
// this call did.
func (s *Service) markAssignment(ctx context.Context, a Assignment, level int, now time.Time) (bool, error) {
	var marked bool
	err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		// The task's lock orders the mark after any change of the task
		// that is under way (a transition resolving this assignment).
		t, err := st.LockTask(ctx, a.TaskID)
		if err != nil {
			return err
		}
		if t.Status == TaskOnHold {
			return nil // put on hold since it was read: its clock stands still
		}
		ok, err := st.RaiseAssignmentSLA(ctx, a.ID, level, now)
		if err != nil || !ok {
			return err
		}
		marked = true
		after, err := st.GetAssignment(ctx, a.ID)
		if err != nil {
			return err
		}
		action, kind, note := slaWords(level, "assignment of "+a.Username, *a.TargetResolution)
		if err := s.history(ctx, st, nil, a.TaskID, action, a.StepID, note, now); err != nil {
			return err
		}
		if err := s.record(ctx, action, "TaskItem", a.ID, a, after); err != nil {
			return err
		}
		return s.notify(ctx, notify.Message{
			Key: "task_item:" + strconv.FormatInt(a.ID, 10) + ":" + string(slaState(level)), Kind: kind, Recipient: a.UserID,
			TaskID: a.TaskID, TaskItemID: a.ID, Subject: fmt.Sprintf("Task %d: %s", a.TaskID, note),
			Body: fmt.Sprintf("Task %d (%s): %s.", a.TaskID, t.Subject, note),
		})
	})
	if err != nil {
		return false, fmt.Errorf("SLA check of task item %d: %w", a.ID, err)
	}
	return marked, nil
}

// slaWords names a mark: its history action, notification kind and note.
func slaWords(level int, what string, target time.Time) (action, kind, note string) {
	due := target.UTC().Format(time.RFC3339)
	if level == levelBreached {
		return LogSLABreached, "sla_breached", fmt.Sprintf("the %s breached its SLA (target %s)", what, due)
	}
	return LogSLAWarning, "sla_warning", fmt.Sprintf("%d%% of the SLA of the %s has elapsed (target %s)", level, what, due)
}

// notify stores m in the outbox, when there is one.
func (s *Service) notify(ctx context.Context, m notify.Message) error {
	if s.notifier == nil {
		return nil
	}
	return s.notifier.Notify(ctx, m)
}

// DefaultSLACheckEvery is how often the SLA check runs by default.
const DefaultSLACheckEvery = time.Minute

// slaCheckArgs is the periodic SLA check job.
type slaCheckArgs struct{}

// Kind implements river.JobArgs.
func (slaCheckArgs) Kind() string { return "workflow_sla_check" }

type slaCheckWorker struct {
	river.WorkerDefaults[slaCheckArgs]
	s *Service
}

func (w *slaCheckWorker) Work(ctx context.Context, _ *river.Job[slaCheckArgs]) error {
	r, err := w.s.CheckSLA(ctx)
	if err == nil && r != (SLAReport{}) {
		w.s.log.Info("SLA check", "tasks_warned", r.TasksWarned, "tasks_breached", r.TasksBreached,
			"items_warned", r.AssignmentsWarned, "items_breached", r.AssignmentsBreached)
	}
	return err
}

// Jobs returns the registration of the periodic SLA check, run every
// every (DefaultSLACheckEvery when 0), for the engine's job queue. River
// runs a periodic job on one process of those sharing a database, and the
// check's conditional marks make a second run harmless anyway.
func (s *Service) Jobs(every time.Duration) func(workers *river.Workers, periodic *[]*river.PeriodicJob) {
	if every <= 0 {
		every = DefaultSLACheckEvery
	}
	return func(workers *river.Workers, periodic *[]*river.PeriodicJob) {
		river.AddWorker(workers, &slaCheckWorker{s: s})
		*periodic = append(*periodic, jobs.Every(every, slaCheckArgs{}))
	}
}
