package personal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/bugflow/bugflow/audit"
	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/jobs"
)

// Directory tells the daily digest where to mail a user.
type Directory interface {
	// Contact returns the user's email address ("" for none) and a name
	// to greet them by.
	Contact(ctx context.Context, userID string) (email, name string, err error)
}

// Viewer is who asks about processes.
type Viewer struct {
	UserID string
	Admin  bool
}

// visible returns process id when v may see it: admins see every process,
// users the built-ins and their own. Any other is NotFound, so that ids
// cannot be probed.
func (s *Service) visible(ctx context.Context, v Viewer, id string) (Process, error) {
	if s.processes == nil {
		return Process{}, errs.Unavailablef("automated processes are not available")
	}
	p, err := s.processes.Process(ctx, id)
	if err != nil {
		return Process{}, err
	}
	if !v.Admin && !p.Builtin() && p.OwnerID != v.UserID {
		return Process{}, errs.NotFoundf("process %q not found", id)
	}
	return p, nil
}

// EnsureBuiltins stores the built-in processes that are not stored yet.
// Their first scheduled run is the first tick after now.
func (s *Service) EnsureBuiltins(ctx context.Context) error {
	if s.processes == nil {
		return nil
	}
	now := s.now()
	for i, p := range builtins() {
		// A microsecond apart, so that they list in this order.
		p.CreatedAt, p.LastTick = now.Add(time.Duration(i)*time.Microsecond), &now
		if err := s.processes.EnsureProcess(ctx, p); err != nil {
			return fmt.Errorf("personal: built-in processes: %w", err)
		}
	}
	return nil
}

// CreateProcess stores a process of owner; its actions work on owner's
// tasks only. A time-based one first runs at the first tick after now.
func (s *Service) CreateProcess(ctx context.Context, owner string, in NewProcess) (Process, error) {
	if s.processes == nil {
		return Process{}, errs.Unavailablef("automated processes are not available")
	}
	if owner == "" {
		return Process{}, errs.Invalidf("personal: a process needs an owner")
	}
	now := s.now()
	p := Process{
		ID: uuid.NewString(), OwnerID: owner, Name: strings.TrimSpace(in.Name), Description: in.Description,
		Trigger: in.Trigger, Schedule: strings.TrimSpace(in.Schedule), Event: in.Event, Action: in.Action, IsActive: true,
		CreatedAt: now, LastTick: &now,
	}
	if err := p.validate(); err != nil {
		return Process{}, err
	}
	// One transaction for the bound, the row and its audit event.
	err := s.store.Atomically(ctx, func(ctx context.Context, _ Store) error {
		n, err := s.processes.CountProcesses(ctx, owner)
		if err != nil {
			return err
		}
		if n >= s.maxProcesses {
			return errs.Conflictf("you have %d processes, the most one user may keep", n)
		}
		if err := s.processes.InsertProcess(ctx, p); err != nil {
			return err
		}
		if s.audit == nil {
			return nil
		}
		return s.audit.Record(ctx, audit.Change{Action: "create_process", TargetType: "personal_process", TargetID: p.ID, After: p})
	})
	if err != nil {
		return Process{}, fmt.Errorf("personal: create process: %w", err)
	}
	return p, nil
}

// Processes returns the processes v may see: every one for admins, the
// built-ins and their own for users.
func (s *Service) Processes(ctx context.Context, v Viewer) ([]Process, error) {
	if s.processes == nil {
		return nil, errs.Unavailablef("automated processes are not available")
	}
	ps, err := s.processes.Processes(ctx, v.UserID, v.Admin)
	if err != nil {
		return nil, fmt.Errorf("personal: list processes: %w", err)
	}
	return ps, nil
}

// Execute runs process id now, for v, and returns its execution, whose
// status says whether the process succeeded. Users run their own
// processes; built-ins, which work on every user's tasks, only admins
// (Forbidden). A process already running is a Conflict.
func (s *Service) Execute(ctx context.Context, v Viewer, id string) (Execution, error) {
	p, err := s.visible(ctx, v, id)
	if err != nil {
		return Execution{}, fmt.Errorf("personal: execute process: %w", err)
	}
	if p.Builtin() && !v.Admin {
		return Execution{}, errs.Forbiddenf("only admins run built-in processes")
	}
	return s.run(ctx, p, nil)
}

// Executions returns a page of process id's executions, newest first, and
// how many there are. limit is 1 to MaxExecutionsPage.
func (s *Service) Executions(ctx context.Context, v Viewer, id string, limit, offset int) ([]Execution, int, error) {
	if limit < 1 || limit > MaxExecutionsPage {
		return nil, 0, errs.InvalidField("limit", fmt.Sprintf("must be from 1 to %d", MaxExecutionsPage))
	}
	if offset < 0 {
		return nil, 0, errs.InvalidField("offset", "must not be negative")
	}
	if _, err := s.visible(ctx, v, id); err != nil {
		return nil, 0, fmt.Errorf("personal: executions: %w", err)
	}
	out, n, err := s.processes.Executions(ctx, id, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("personal: executions: %w", err)
	}
	return out, n, nil
}

// RunDue runs every active time-based process whose schedule has fired
// since its last claimed tick, once (however many ticks were missed), and
// returns how many ran. Replicas may call it at the same time: each tick
// is claimed by one of them only. The job queue calls it every minute
// (RegisterJobs).
func (s *Service) RunDue(ctx context.Context) (int, error) {
	if s.processes == nil {
		return 0, nil
	}
	ps, err := s.processes.Processes(ctx, "", true)
	if err != nil {
		return 0, fmt.Errorf("personal: due processes: %w", err)
	}
	now := s.now()
	ran := 0
	var failures []error
	for _, p := range ps {
		if !p.IsActive || p.Trigger != TimeBased {
			continue
		}
		sched, err := schedule(p.Schedule)
		if err != nil {
			failures = append(failures, fmt.Errorf("process %s: schedule: %w", p.ID, err))
			continue
		}
		last := p.CreatedAt
		if p.LastTick != nil {
			last = *p.LastTick
		}
		tick, due := latestTick(sched, s.loc, last, now)
		if !due {
			continue
		}
		claimed, err := s.processes.ClaimTick(ctx, p.ID, tick)
		if err != nil {
			failures = append(failures, err)
			continue
		}
		if !claimed {
			continue
		}
		if _, err := s.run(ctx, p, &tick); err != nil {
			if errs.KindOf(err) == errs.Conflict {
				// Still running from an earlier tick: this tick is
				// folded into that run rather than queued behind it.
				s.log.InfoContext(ctx, "process still running; tick skipped", "process_id", p.ID, "tick", tick)
				continue
			}
			failures = append(failures, err)
			continue
		}
		ran++
	}
	return ran, errors.Join(failures...)
}

// run records an execution of p, performs its action and records the
// outcome. The action's failure is the execution's (status failed), not
// run's; run fails only when the execution cannot be recorded.
func (s *Service) run(ctx context.Context, p Process, tick *time.Time) (Execution, error) {
	return s.runWith(ctx, p, tick, "")
}

// runWith is run with the execution's message starting with prefix.
func (s *Service) runWith(ctx context.Context, p Process, tick *time.Time, prefix string) (Execution, error) {
	ctx = runningProcess(ctx)
	now := s.now()
	if err := s.processes.FailStale(ctx, p.ID, now.Add(-StaleRunAfter), "interrupted: its server stopped while it ran"); err != nil {
		return Execution{}, err
	}
	e := Execution{ID: uuid.NewString(), ProcessID: p.ID, Status: ExecutionRunning, StartedAt: now, Tick: tick}
	if err := s.processes.StartExecution(ctx, e); err != nil {
		return Execution{}, fmt.Errorf("personal: run process: %w", err)
	}
	msg, err := s.perform(ctx, p)
	e.Status = ExecutionSuccess
	if err != nil {
		e.Status = ExecutionFailed
		msg = err.Error()
		s.log.WarnContext(ctx, "process failed", "process_id", p.ID, "error", msg)
	}
	msg = prefix + msg
	if len(msg) > MaxMessageLength {
		msg = msg[:MaxMessageLength]
	}
	done := s.now()
	e.Message, e.CompletedAt = msg, &done
	// The outcome is stored even when the request that ran it has gone.
	if err := s.processes.FinishExecution(context.WithoutCancel(ctx), e); err != nil {
		return Execution{}, fmt.Errorf("personal: run process: %w", err)
	}
	return e, nil
}

// perform does p's action and returns what it did.
func (s *Service) perform(ctx context.Context, p Process) (string, error) {
	switch p.Action {
	case RescheduleOverdue:
		n, err := s.RescheduleOverdue(ctx, p.OwnerID)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("moved %d overdue task(s) to today", n), nil
	case DailyDigest:
		return s.SendDigests(ctx, p.OwnerID)
	default:
		return "", fmt.Errorf("unknown action %q", p.Action)
	}
}

// today returns the start of today and of tomorrow in the service's time
// zone.
func (s *Service) today() (time.Time, time.Time) {
	now := s.now().In(s.loc)
	start := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, s.loc)
	return start, start.AddDate(0, 0, 1)
}

// overdueBatch is how many overdue tasks one read takes.
const overdueBatch = 500

// RescheduleOverdue moves the not-started and in-progress tasks of owner
// (of everyone when owner is "") due before today to today, keeping their
// time of day (in the service's time zone), and returns how many moved.
func (s *Service) RescheduleOverdue(ctx context.Context, owner string) (int, error) {
	start, _ := s.today()
	moved := 0
	for {
		tasks, err := s.store.Overdue(ctx, owner, []Status{NotStarted, InProgress}, start, overdueBatch)
		if err != nil {
			return moved, fmt.Errorf("personal: reschedule overdue: %w", err)
		}
		if len(tasks) == 0 {
			return moved, nil
		}
		for _, t := range tasks {
			old := t.DueDate.In(s.loc)
			due := time.Date(start.Year(), start.Month(), start.Day(), old.Hour(), old.Minute(), old.Second(), old.Nanosecond(), s.loc).UTC()
			err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
				before := t
				t.DueDate, t.UpdatedAt = &due, s.now()
				if err := st.Update(ctx, t); err != nil {
					return err
				}
				return s.record(ctx, "reschedule_personal_task", t.ID, before, t)
			})
			if err != nil {
				return moved, fmt.Errorf("personal: reschedule overdue: %w", err)
			}
			moved++
		}
	}
}

// maxDigestTasks bounds the tasks one digest run reads.
const maxDigestTasks = 100000

// SendDigests mails each user with an email address (owner only, when not
// "") the list of their unfinished tasks due today, and says what it did.
// It fails when any mail could not be sent, after trying every user.
func (s *Service) SendDigests(ctx context.Context, owner string) (string, error) {
	if s.mailer == nil || s.directory == nil {
		return "", errs.Unavailablef("no mail transport or user directory configured")
	}
	start, end := s.today()
	tasks, err := s.processes.DueBetween(ctx, owner, start.UTC(), end.UTC(), maxDigestTasks)
	if err != nil {
		return "", fmt.Errorf("personal: digest: %w", err)
	}
	byOwner := map[string][]Task{}
	var owners []string
	for _, t := range tasks {
		if _, ok := byOwner[t.OwnerID]; !ok {
			owners = append(owners, t.OwnerID)
		}
		byOwner[t.OwnerID] = append(byOwner[t.OwnerID], t)
	}
	sent, skipped := 0, 0
	var failed []error
	for _, o := range owners {
		email, name, err := s.directory.Contact(ctx, o)
		if err != nil || email == "" {
			skipped++
			continue
		}
		if err := s.mailer.Send(ctx, digestMessage(email, name, start, byOwner[o], s.loc)); err != nil {
			failed = append(failed, fmt.Errorf("mail to user %s: %w", o, err))
			continue
		}
		sent++
	}
	msg := fmt.Sprintf("mailed %d digest(s); %d user(s) without an email address skipped", sent, skipped)
	if len(failed) > 0 {
		return "", fmt.Errorf("%s; %d failed: %w", msg, len(failed), errors.Join(failed...))
	}
	return msg, nil
}

// digestMessage is one user's daily digest.
func digestMessage(email, name string, day time.Time, tasks []Task, loc *time.Location) auth.Message {
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\nYour tasks due today (%s):\n\n", name, day.Format("Monday, 2 January 2006"))
	for _, t := range tasks {
		fmt.Fprintf(&b, "- %s %s [%s, %s]\n", t.DueDate.In(loc).Format("15:04"), t.Name, t.Priority, t.Status)
	}
	return auth.Message{To: email, Subject: fmt.Sprintf("%d task(s) due today", len(tasks)), Text: b.String()}
}

// TickArgs is the periodic job that runs due processes (RunDue). The queue
// inserts it every minute; an embedder may insert one to run due processes
// at once.
type TickArgs struct{}

// Kind implements river.JobArgs.
func (TickArgs) Kind() string { return "personal.processes.tick" }

// tickWorker runs due processes. Running it twice for one minute is
// harmless: each tick is claimed once.
type tickWorker struct {
	river.WorkerDefaults[TickArgs]
	s *Service
}

func (w *tickWorker) Work(ctx context.Context, _ *river.Job[TickArgs]) error {
	_, err := w.s.RunDue(ctx)
	return err
}

// tickEvery is how often the queue looks for due processes; schedules
// are minute-grained cron expressions.
const tickEvery = time.Minute

// RegisterJobs adds the worker that runs event-based processes (EventArgs),
// and the worker that runs time-based processes and its periodic job (every minute, and once at start, so that a run missed
// during downtime happens at once).
func (s *Service) RegisterJobs(workers *river.Workers, periodic *[]*river.PeriodicJob) {
	river.AddWorker(workers, &tickWorker{s: s})
	river.AddWorker(workers, &eventWorker{s: s})
	*periodic = append(*periodic, jobs.Every(tickEvery, TickArgs{}))
}
