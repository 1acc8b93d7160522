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
	// the workflow's SLA for its priority; nil without one.
	TargetResolution *time.Time `json:"target_resolution"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
	ResolvedAt       *time.Time `json:"resolved_at"`
}

// Assignment is one person's charge of a task's step (seeds/004's task
// item).
type Assignment struct {
	ID       int64            `json:"task_item_id"`
	TaskID   int64            `json:"task_id"`
	UserID   string           `json:"user_id"`
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
