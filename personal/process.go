package personal

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/jobs"
	"github.com/bugflow/bugflow/internal/store"
)

// Trigger is what starts a process.
type Trigger string

// The triggers of the document.
const (
	// Manual processes run only when someone executes them.
	Manual Trigger = "manual"
	// TimeBased processes run on their cron Schedule (and manually).
	TimeBased Trigger = "time_based"
	// EventBased processes run when their Event happens (and manually).
	EventBased Trigger = "event_based"
)

// Event is what starts an event-based process.
type Event string

// The events a process can wait for. The task events are of the process
// owner's own personal tasks; the others are the engine's, whoever caused
// them.
const (
	// TaskCreated: the owner created a personal task.
	TaskCreated Event = "task_created"
	// TaskUpdated: the owner changed a personal task.
	TaskUpdated Event = "task_updated"
	// TaskCompleted: the owner changed a personal task to completed (it
	// is also a TaskUpdated).
	TaskCompleted Event = "task_completed"
	// BugReportCreated: someone filed a bug report by hand (package bugs'
	// Create; captured reports are not events).
	BugReportCreated Event = "bug_report_created"
	// TicketBreached: the workflow task that works on a ticket breached
	// its SLA.
	TicketBreached Event = "ticket_breached"
)

// Events lists every Event.
var Events = []Event{TaskCreated, TaskUpdated, TaskCompleted, BugReportCreated, TicketBreached}

// Action is what a process does when it runs.
type Action string

// The actions a process can take. Each works on its owner's tasks, or on
// every user's for a built-in process (no owner).
const (
	// RescheduleOverdue moves not-started and in-progress tasks due before
	// today to today, keeping their time of day.
	RescheduleOverdue Action = "reschedule_overdue"
	// DailyDigest mails each user with an email address the list of their
	// unfinished tasks due today.
	DailyDigest Action = "daily_digest"
)

// Actions lists every Action.
var Actions = []Action{RescheduleOverdue, DailyDigest}

// ExecutionStatus is where an execution stands.
type ExecutionStatus string

// The execution statuses of the document.
const (
	ExecutionRunning ExecutionStatus = "running"
	ExecutionSuccess ExecutionStatus = "success"
	ExecutionFailed  ExecutionStatus = "failed"
)

// Process is an automated process: a built-in one (OwnerID "") or a
// user's own.
type Process struct {
	ID          string  `json:"process_id"`
	OwnerID     string  `json:"-"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Trigger     Trigger `json:"trigger_type"`
	// Schedule is the cron expression of a time-based process (five
	// fields, evaluated in the service's time zone), "" otherwise.
	Schedule string `json:"schedule"`
	// Event is what starts an event-based process, "" for the others.
	Event         Event      `json:"event"`
	Action        Action     `json:"action"`
	IsActive      bool       `json:"is_active"`
	LastExecution *time.Time `json:"last_execution"`
	// LastTick is the latest scheduled time that a run was claimed for;
	// replicas claim a tick by moving it forward, so that only one runs it.
	LastTick  *time.Time `json:"-"`
	CreatedAt time.Time  `json:"-"`
}

// Builtin reports whether the process is one of bugflow's own.
func (p Process) Builtin() bool { return p.OwnerID == "" }

// NewProcess is what CreateProcess takes.
type NewProcess struct {
	Name        string
	Description string
	Trigger     Trigger
	Schedule    string
	// Event is what starts an event_based process.
	Event  Event
	Action Action
}

// Execution is one run of a process.
type Execution struct {
	ID          string          `json:"execution_id"`
	ProcessID   string          `json:"process_id"`
	Status      ExecutionStatus `json:"status"`
	Message     string          `json:"message"`
	StartedAt   time.Time       `json:"started_at"`
	CompletedAt *time.Time      `json:"completed_at"`
	// Tick is the scheduled time a time-based run was for; nil for a
	// manual run.
	Tick *time.Time `json:"-"`
}

// Limits of processes.
const (
	MaxProcessNameLength = 200
	// MaxMessageLength bounds an execution's message.
	MaxMessageLength = 2000
	// DefaultMaxProcessesPerUser bounds how many processes a user keeps.
	DefaultMaxProcessesPerUser = 50
	// MaxExecutionsPage bounds one page of execution history.
	MaxExecutionsPage = 100
	// StaleRunAfter is how long an execution may stay running before the
	// next run takes it for one whose process died, and marks it failed.
	StaleRunAfter = time.Hour
)

// The built-in processes, with ids fixed so that every replica and every
// restart agrees on them.
var (
	// RescheduleOverdueID is the document's process: daily at 07:30.
	RescheduleOverdueID = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://bugflow.dev/processes/reschedule-overdue")).String()
	// DailyDigestID mails each user their tasks due today, daily at 07:45
	// (after the reschedule has moved overdue tasks to today).
	DailyDigestID = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://bugflow.dev/processes/daily-digest")).String()
)

// builtins are the built-in processes as first stored.
func builtins() []Process {
	return []Process{{
		ID: RescheduleOverdueID, Name: "Reschedule overdue tasks",
		Description: "Moves not-started and in-progress tasks due before today to today, keeping their time of day.",
		Trigger:     TimeBased, Schedule: "30 7 * * *", Action: RescheduleOverdue, IsActive: true,
	}, {
		ID: DailyDigestID, Name: "Daily digest",
		Description: "Mails each user with an email address the list of their unfinished tasks due today.",
		Trigger:     TimeBased, Schedule: "45 7 * * *", Action: DailyDigest, IsActive: true,
	}}
}

// validate checks a new process, naming each wrong field.
func (p Process) validate() error {
	var e *errs.Error
	add := func(field, msg string) {
		if e == nil {
			e = errs.Invalidf("invalid process")
		}
		e = e.WithField(field, msg)
	}
	switch {
	case !store.ValidText(p.Name) || !store.ValidText(p.Description):
		add("name", store.TextRule)
	case strings.TrimSpace(p.Name) == "":
		add("name", "is required")
	case utf8.RuneCountInString(p.Name) > MaxProcessNameLength:
		add("name", fmt.Sprintf("must be at most %d characters", MaxProcessNameLength))
	case utf8.RuneCountInString(p.Description) > MaxDescriptionLength:
		add("description", fmt.Sprintf("must be at most %d characters", MaxDescriptionLength))
	}
	if p.Trigger != TimeBased && p.Schedule != "" {
		add("schedule", "only time_based processes have a schedule")
	}
	if p.Trigger != EventBased && p.Event != "" {
		add("event", "only event_based processes have an event")
	}
	switch p.Trigger {
	case Manual:
	case TimeBased:
		if _, err := schedule(p.Schedule); err != nil {
			add("schedule", err.Error())
		}
	case EventBased:
		if !slices.Contains(Events, p.Event) {
			add("event", "must be one of task_created, task_updated, task_completed, bug_report_created, ticket_breached")
		}
	default:
		add("trigger_type", "must be manual, time_based or event_based")
	}
	if !slices.Contains(Actions, p.Action) {
		add("action", "must be one of reschedule_overdue, daily_digest")
	}
	if e == nil {
		return nil
	}
	return e
}

// cronSchedule is the part of a parsed cron expression a process uses.
type cronSchedule interface{ Next(time.Time) time.Time }

// schedule parses a process's cron expression: five fields (or a
// descriptor such as @daily); the time zone is the service's, so CRON_TZ
// is refused rather than silently winning.
func schedule(expr string) (cronSchedule, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, fmt.Errorf("is required for a time_based process")
	}
	if strings.Contains(expr, "TZ=") {
		return nil, fmt.Errorf("must not name a time zone: the server's processes time zone applies")
	}
	s, err := jobs.Cron(expr)
	if err != nil {
		return nil, fmt.Errorf("is not a cron expression: %s", errs.As(err).Fields["schedule"][0])
	}
	return s, nil
}

// latestTick returns the latest time at or before now that sched fires
// after last (evaluated in loc), and whether there is one. Ticks missed
// while no process ran collapse into this one: a process runs once after
// downtime, not once per missed tick.
func latestTick(sched cronSchedule, loc *time.Location, last, now time.Time) (time.Time, bool) {
	// A year back is as far as catching up needs to look; it also bounds
	// the walk for a schedule that fires every minute.
	from := last
	if yearAgo := now.AddDate(-1, 0, 0); from.Before(yearAgo) {
		from = yearAgo
	}
	next := sched.Next(from.In(loc))
	if next.IsZero() || next.After(now) {
		return time.Time{}, false
	}
	for {
		after := sched.Next(next)
		if after.IsZero() || after.After(now) {
			return next.UTC(), true
		}
		next = after
	}
}
