package personal

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/bugflow/bugflow/errs"
)

// EventQueue enqueues the durable jobs that run event-based processes. Its
// EnqueueTx must write the job in the transaction ctx carries (beginning
// one when there is none), so that an event that rolls back runs nothing;
// the engine's implementation is its job queue's InsertTx.
type EventQueue interface {
	EnqueueTx(ctx context.Context, args river.JobArgs) error
}

// EventArgs is the job that runs one event-based process for one event.
type EventArgs struct {
	ProcessID string `json:"process_id"`
	Event     Event  `json:"event"`
	// Subject names what the event happened to: a personal task's id, a
	// bug report's id, a ticket's id.
	Subject string `json:"subject"`
}

// Kind implements river.JobArgs.
func (EventArgs) Kind() string { return "personal.processes.event" }

// InsertOpts implements river.JobArgsWithInsertOpts: a run that fails is
// retried up to 10 times. Waiting for a busy process is a River snooze,
// which does not count as an attempt, so a busy process delays an event's
// run but never drops it.
func (EventArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 10} }

// busyRetryAfter is how long an event's run waits when its process is
// running already: runs of one process never overlap, and an event is not
// dropped because an earlier one is still being handled.
const busyRetryAfter = 30 * time.Second

// inProcessKey marks a ctx in which a process runs.
type inProcessKey struct{}

// runningProcess marks ctx as a process's run: the task changes it makes
// are not events, or a process that reschedules tasks on task_updated
// would start itself for ever.
func runningProcess(ctx context.Context) context.Context {
	return context.WithValue(ctx, inProcessKey{}, true)
}

// fire enqueues one run of each active process waiting for ev: the
// owner's processes for an owner's event, every owner's for the engine's
// events (owner ""). It runs inside the event's transaction.
func (s *Service) fire(ctx context.Context, ev Event, owner, subject string) error {
	if s.events == nil || s.processes == nil || ctx.Value(inProcessKey{}) != nil {
		return nil
	}
	ps, err := s.processes.EventProcesses(ctx, ev, owner)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if err := s.events.EnqueueTx(ctx, EventArgs{ProcessID: p.ID, Event: ev, Subject: subject}); err != nil {
			return fmt.Errorf("personal: enqueue process %s for %s: %w", p.ID, ev, err)
		}
	}
	return nil
}

// BugReportCreated runs the processes waiting for bug_report_created; the
// engine calls it in the transaction that files report id.
func (s *Service) BugReportCreated(ctx context.Context, id string) error {
	return s.fire(ctx, BugReportCreated, "", id)
}

// TicketBreached runs the processes waiting for ticket_breached; the
// engine calls it in the transaction that marks the breach of ticket id's
// workflow task.
func (s *Service) TicketBreached(ctx context.Context, ticketID string) error {
	return s.fire(ctx, TicketBreached, "", ticketID)
}

// RunEvent runs process id for an event, unless it is no longer an active
// event-based process; its execution's message names the event. A process
// running already is a Conflict.
func (s *Service) RunEvent(ctx context.Context, a EventArgs) (Execution, bool, error) {
	if s.processes == nil {
		return Execution{}, false, nil
	}
	p, err := s.processes.Process(ctx, a.ProcessID)
	if errs.KindOf(err) == errs.NotFound {
		return Execution{}, false, nil
	}
	if err != nil {
		return Execution{}, false, fmt.Errorf("personal: run process %s for %s: %w", a.ProcessID, a.Event, err)
	}
	if !p.IsActive || p.Trigger != EventBased || p.Event != a.Event {
		return Execution{}, false, nil
	}
	e, err := s.runWith(ctx, p, nil, fmt.Sprintf("on %s of %s: ", a.Event, a.Subject))
	return e, err == nil, err
}

// eventWorker runs an event's process.
type eventWorker struct {
	river.WorkerDefaults[EventArgs]
	s *Service
}

func (w *eventWorker) Work(ctx context.Context, job *river.Job[EventArgs]) error {
	_, _, err := w.s.RunEvent(ctx, job.Args)
	if errs.KindOf(err) == errs.Conflict {
		return river.JobSnooze(busyRetryAfter)
	}
	return err
}
