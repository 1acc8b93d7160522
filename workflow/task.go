package workflow

import (
	"context"
	"errors"
	"time"
)

// A task is one ticket (or one piece of work an admin creates) moving
// through an initialized workflow: it stands on one step at a time, and
// the people working that step hold assignments on it.

// TaskStatus is where a task is in its life.
type TaskStatus string

// The task statuses.
const (
	TaskNew        TaskStatus = "new"         // at its start step, not yet acted on
	TaskInProgress TaskStatus = "in progress" // acted on, not finished
	TaskResolved   TaskStatus = "resolved"    // finished at an end step
	// TaskOnHold is a task waiting on someone outside (the customer): its
	// SLA clock stands still until it is resumed.
	TaskOnHold TaskStatus = "on_hold"
)

// AssignmentStatus is where one person's assignment to a task's step is.
type AssignmentStatus string

// The assignment statuses. New, in progress are active: the holder may act
// on the task; the others are finished.
const (
	AssignmentNew        AssignmentStatus = "new"
	AssignmentInProgress AssignmentStatus = "in progress"
	AssignmentResolved   AssignmentStatus = "resolved"
	AssignmentEscalated  AssignmentStatus = "escalated"
	AssignmentReassigned AssignmentStatus = "reassigned"
	AssignmentBreached   AssignmentStatus = "breached"
	// AssignmentOnHold is not a status an assignment takes: given to
	// Service.UpdateUserStatus it puts the task on hold (TaskOnHold),
	// leaving the assignment as it is.
	AssignmentOnHold AssignmentStatus = "on_hold"
)

// Origin says how an assignment came about.
type Origin string

// The assignment origins.
const (
	OriginSystem      Origin = "System"      // round-robin at intake or on a transition
	OriginTransferred Origin = "Transferred" // an admin moved it to someone
	OriginEscalation  Origin = "Escalation"  // escalated to the step's escalation role
)

// Priority is a task's priority, its ticket's; it picks the workflow SLA
// that sets the task's target.
type Priority string

// The priorities.
const (
	PriorityLow    Priority = "Low"
	PriorityMedium Priority = "Medium"
	PriorityHigh   Priority = "High"
	PriorityUrgent Priority = "Urgent"
)

// StepRef names a step.
type StepRef struct {
	ID   int64  `json:"step_id"`
	Name string `json:"name"`
}

// Task is a piece of work moving through a workflow.
type Task struct {
	ID         int64 `json:"task_id"`
	WorkflowID int64 `json:"workflow_id"`
	// TicketID is the id ("TX…") of the ticket the task works on, "" for
	// a task created without one.
	TicketID    string     `json:"ticket_id"`
	Subject     string     `json:"subject"`
	Description string     `json:"description"`
	Priority    Priority   `json:"priority"`
	Status      TaskStatus `json:"status"`
	CurrentStep StepRef    `json:"current_step"`
	// TicketOwnerID is the Ticket Coordinator who owns the ticket, if any.
	TicketOwnerID *string `json:"ticket_owner_id"`
	// TargetResolution is when the task should be resolved: created +
	// the workflow's SLA for its priority + the time it was paused, in
	// working time when the workflow has a calendar; nil without an SLA.
	TargetResolution *time.Time `json:"target_resolution"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
	ResolvedAt       *time.Time `json:"resolved_at"`
	// SLAState is how far the task is through its SLA, as the periodic
	// check (Service.CheckSLA) last marked it.
	SLAState SLAState `json:"sla_state"`
	// BreachedAt is when the check found the task past its target.
	BreachedAt *time.Time `json:"breached_at"`
	// SLAVersion is the version of its workflow's SLA policy that the
	// task's clock runs under (see SLAPolicy for when it changes).
	SLAVersion int `json:"sla_version"`
	// PausedSeconds is the SLA time the task spent on hold in finished
	// pauses; its target is later by as much.
	PausedSeconds int64 `json:"paused_seconds"`
	// PausedAt is when the current pause began; nil unless on hold.
	PausedAt *time.Time `json:"paused_at"`
}

// Assignment is one person's charge of a task's step (seeds/004's task
// item).
type Assignment struct {
	ID     int64  `json:"task_item_id"`
	TaskID int64  `json:"task_id"`
	UserID string `json:"user_id"`
	// Username is the holder's username when assigned, kept so that
	// lists, search and the visualization need no user directory.
	Username string           `json:"username"`
	RoleID   int64            `json:"role_id"`
	RoleName string           `json:"role_name"`
	StepID   int64            `json:"step_id"`
	Status   AssignmentStatus `json:"assignment_status"`
	Origin   Origin           `json:"origin"`
	Notes    string           `json:"notes"`
	// TargetResolution is when the step should be done: assigned + the
	// task's SLA × the step's weight share; an escalated or transferred
	// assignment keeps its predecessor's.
	TargetResolution *time.Time `json:"target_resolution"`
	AssignedAt       time.Time  `json:"assigned_at"`
	ActedAt          *time.Time `json:"acted_at"`
	// SLAState is how far the assignment is through its step's share of
	// the SLA, as the periodic check last marked it.
	SLAState SLAState `json:"sla_state"`
	// PausedSeconds is the SLA time its task was on hold while the
	// assignment was active; its target is later by as much.
	PausedSeconds int64 `json:"paused_seconds"`
}

// TaskStart is what intake knows of a ticket to start a task for.
type TaskStart struct {
	TicketID    string
	Subject     string
	Description string
	Department  string
	Category    string
	SubCategory string
	Priority    Priority
}

// ErrNoWorkflow is the cause of the NotFound error of Service.StartTask
// when no initialized workflow matches the ticket.
var ErrNoWorkflow = errors.New("no initialized workflow matches the ticket's department and category")

// TaskObserver hears of every change of a task's status, inside the
// transaction of the change: package tickets keeps its tickets' status in
// step with their tasks through it.
type TaskObserver interface {
	TaskStatusChanged(ctx context.Context, t Task) error
}

// Valid reports whether p is one of the four priorities.
func (p Priority) Valid() bool {
	switch p {
	case PriorityLow, PriorityMedium, PriorityHigh, PriorityUrgent:
		return true
	}
	return false
}

// Active reports whether the holder of an assignment in status s may still
// act on it.
func (s AssignmentStatus) Active() bool {
	return s == AssignmentNew || s == AssignmentInProgress
}

// Workable reports whether the holder of an assignment in status s may
// still move its task on (transition, escalate): an active assignment, or
// one marked breached, since a breach must not strand the work. Only an
// active one may be transferred.
func (s AssignmentStatus) Workable() bool {
	return s.Active() || s == AssignmentBreached
}

// Holder is a user who may be assigned work.
type Holder struct {
	UserID   string
	Username string
}

// People is the directory of users that the task engine assigns work to.
// The engine passes auth's users and roles; the calls may be made inside a
// transaction that ctx carries, so an implementation must join it (on
// SQLite a second connection would wait forever for the one it holds).
type People interface {
	Roles
	// RoleHolders returns the users who hold the role, ordered by user
	// id: the order round-robin walks. None is an empty list.
	RoleHolders(ctx context.Context, roleID int64) ([]Holder, error)
	// User returns the user with id, or an errs.NotFound error.
	User(ctx context.Context, userID string) (Holder, error)
	// CoordinatorRole returns the id of the Ticket Coordinator role, whose
	// holders own incoming tickets in turn, or an errs.NotFound error when
	// there is none.
	CoordinatorRole(ctx context.Context) (int64, error)
}

// Actor is who calls a task method: its user id ("" for the bootstrap
// admin), username and whether it is an admin.
type Actor struct {
	UserID   string
	Username string
	Admin    bool
}

// TaskDetail is a task with its assignments, oldest first.
type TaskDetail struct {
	Task
	Assignments []Assignment `json:"assignments"`
}

// MyTask is one of a user's assignments with the task it is on.
type MyTask struct {
	Assignment
	Task Task `json:"task"`
}

// TaskInput is a task that an admin creates on a workflow, or the details
// of a task that UpdateTask replaces (WorkflowID and TicketID are then
// ignored). Priority "" means Medium.
type TaskInput struct {
	WorkflowID  int64    `json:"workflow_id"`
	TicketID    string   `json:"ticket_id"`
	Subject     string   `json:"subject"`
	Description string   `json:"description"`
	Priority    Priority `json:"priority"`
}

// MyTasksFilter narrows Service.MyTasks; zero fields do not filter.
type MyTasksFilter struct {
	// Role is a role name, compared in any case.
	Role             string
	AssignmentStatus AssignmentStatus
	WorkflowID       int64
}

// Tab is a view of Service.AllTasks.
type Tab string

// The tabs of all-tasks. "" shows every task.
const (
	// TabActive is the tasks that are not resolved and that someone holds
	// an active assignment on.
	TabActive Tab = "active"
	// TabInactive is the resolved tasks.
	TabInactive Tab = "inactive"
	// TabUnassigned is the tasks that are not resolved and that no one
	// holds an active assignment on: their step's role had no holders, or
	// their holders' assignments all ended.
	TabUnassigned Tab = "unassigned"
)

// AllTasksFilter narrows Service.AllTasks.
type AllTasksFilter struct {
	Tab Tab
	// Search matches, in any case, a part of the subject, the description
	// or the username of anyone ever assigned to the task.
	Search string
}

// TaskFilter is what the store's task lists filter on.
type TaskFilter struct {
	Tab    Tab
	Search string // already lower case
	// OwnerID, when not nil, keeps the tasks whose ticket owner it is.
	OwnerID *string
	// VisibleTo, when not nil, keeps the tasks the user owns or holds an
	// assignment on.
	VisibleTo *string
}

// TransitionResult is what a transition did, as seeds/004 shows it.
type TransitionResult struct {
	Success bool        `json:"success"`
	Task    TaskSummary `json:"task"`
	Message string      `json:"message"`
}

// TaskSummary is a task's id, step and status.
type TaskSummary struct {
	ID          int64      `json:"task_id"`
	CurrentStep StepRef    `json:"current_step"`
	Status      TaskStatus `json:"status"`
}

// StepState is where a task stands with respect to one of its workflow's
// steps.
type StepState string

// The step states of a visualization.
const (
	StepDone    StepState = "done"
	StepCurrent StepState = "current"
	StepPending StepState = "pending"
)

// VisualStep is one step of a task's visualization with the people who
// were assigned to it on this task.
type VisualStep struct {
	StepID      int64        `json:"step_id"`
	Name        string       `json:"name"`
	Order       int          `json:"order"`
	IsStart     bool         `json:"is_start"`
	IsEnd       bool         `json:"is_end"`
	State       StepState    `json:"status"`
	Assignments []Assignment `json:"assignments"`
}

// Visualization is a task's progress through its workflow.
type Visualization struct {
	TaskID      int64        `json:"task_id"`
	WorkflowID  int64        `json:"workflow_id"`
	Status      TaskStatus   `json:"status"`
	CurrentStep StepRef      `json:"current_step"`
	Steps       []VisualStep `json:"steps"`
	Transitions []Transition `json:"transitions"`
}

// LogEntry is one line of a task's history.
type LogEntry struct {
	ID       int64     `json:"id"`
	TaskID   int64     `json:"task_id"`
	UserID   *string   `json:"user_id"` // nil for the system (intake)
	Username string    `json:"username"`
	Action   string    `json:"action"`
	StepID   int64     `json:"step_id"`
	StepName string    `json:"step_name"`
	Notes    string    `json:"notes"`
	At       time.Time `json:"created_at"`
}

// The actions of a task's history.
const (
	LogCreated     = "created"
	LogAssigned    = "assigned"
	LogUnassigned  = "waiting" // the step's role had no holders
	LogTransition  = "transition"
	LogResolved    = "resolved"
	LogTransferred = "transferred"
	LogEscalated   = "escalated"
	LogStatus      = "status_changed"
	LogUpdated     = "updated"
	LogSLAWarning  = "sla_warning"
	LogSLABreached = "sla_breached"
	LogOnHold      = "on_hold"
	LogResumed     = "resumed"
	LogRetargeted  = "sla_retargeted"
)

// TaskObserverFunc is a function as a TaskObserver. It lets an assembly
// hand the workflow Service an observer that is built after it (package
// tickets needs the Service to be built first).
type TaskObserverFunc func(ctx context.Context, t Task) error

// TaskStatusChanged implements TaskObserver.
func (f TaskObserverFunc) TaskStatusChanged(ctx context.Context, t Task) error { return f(ctx, t) }
