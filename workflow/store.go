package workflow

import (
	"context"
	"time"
)

// Store persists workflow definitions. BunStore implements it on SQLite and
// PostgreSQL. Deleting a workflow deletes its steps and transitions;
// deleting a step deletes its transitions.
type Store interface {
	// Atomically runs fn with a Store whose every call is part of one
	// transaction, committed when fn returns nil and rolled back otherwise.
	// In it, GetWorkflow locks the workflow's row until the end, so that
	// changes to one workflow's graph take turns.
	Atomically(ctx context.Context, fn func(ctx context.Context, st Store) error) error

	// InsertWorkflow stores w and sets its ID; a name that another
	// workflow has (in any case) is an errs.Conflict.
	InsertWorkflow(ctx context.Context, w *Workflow) error
	GetWorkflow(ctx context.Context, id int64) (Workflow, error)
	// ListWorkflows returns at most limit workflows (0: all) after the
	// first offset, by id, and how many there are.
	ListWorkflows(ctx context.Context, limit, offset int) ([]Workflow, int, error)
	// UpdateWorkflow stores w's details, status and UpdatedAt.
	UpdateWorkflow(ctx context.Context, w Workflow) error
	DeleteWorkflow(ctx context.Context, id int64) error

	// InsertStep stores s and sets its ID.
	InsertStep(ctx context.Context, s *Step) error
	GetStep(ctx context.Context, id int64) (Step, error)
	// ListSteps returns at most limit steps (0: all) after the first
	// offset, of one workflow when workflowID is not 0, by workflow, order
	// and id, and how many there are. RoleName is left "".
	ListSteps(ctx context.Context, workflowID int64, limit, offset int) ([]Step, int, error)
	// UpdateStep stores every field of s but its workflow.
	UpdateStep(ctx context.Context, s Step) error
	DeleteStep(ctx context.Context, id int64) error
	// DeleteSteps deletes every step (and so every transition) of a
	// workflow.
	DeleteSteps(ctx context.Context, workflowID int64) error

	// InsertTransition stores t and sets its ID; one that already leads
	// between its two steps is an errs.Conflict.
	InsertTransition(ctx context.Context, t *Transition) error
	GetTransition(ctx context.Context, id int64) (Transition, error)
	// ListTransitions is ListSteps for transitions, by id.
	ListTransitions(ctx context.Context, workflowID int64, limit, offset int) ([]Transition, int, error)
	DeleteTransition(ctx context.Context, id int64) error

	// Touch sets a workflow's UpdatedAt, for a change to its graph.
	Touch(ctx context.Context, workflowID int64, at time.Time) error

	// Tasks: see TaskStore.
	TaskStore
}

// SLAItem is an assignment the SLA check looks at, with what its clock
// needs of its task.
type SLAItem struct {
	Assignment
	WorkflowID int64
	SLAVersion int
}

// TaskStore persists tasks, their assignments and history, and the
// round-robin turns of roles. Deleting a task deletes its assignments and
// history; a workflow or step that a task stands on cannot be deleted.
type TaskStore interface {
	// TaskWorkflow reads a workflow without locking it, for the changes of
	// tasks, which do not change their workflow (GetWorkflow locks it).
	TaskWorkflow(ctx context.Context, id int64) (Workflow, error)
	// CountTasks returns how many tasks a workflow has.
	CountTasks(ctx context.Context, workflowID int64) (int, error)
	// InsertTask stores t and sets its ID.
	InsertTask(ctx context.Context, t *Task, search string) error
	// GetTask returns one task; LockTask does too and, in a transaction,
	// locks its row until the end so that changes to one task take turns.
	GetTask(ctx context.Context, id int64) (Task, error)
	LockTask(ctx context.Context, id int64) (Task, error)
	// UpdateTask stores every field of t but its workflow, ticket and
	// creation time.
	UpdateTask(ctx context.Context, t Task) error
	// AddSearchText appends text (lower case) to what a task's search
	// matches.
	AddSearchText(ctx context.Context, taskID int64, text string) error
	// SetSearchText replaces what a task's search matches.
	SetSearchText(ctx context.Context, taskID int64, text string) error
	DeleteTask(ctx context.Context, id int64) error
	// ListTasks returns at most limit tasks (0: all) after the first
	// offset that f keeps, newest first, and how many f keeps.
	ListTasks(ctx context.Context, f TaskFilter, limit, offset int) ([]Task, int, error)

	// InsertAssignment stores a and sets its ID.
	InsertAssignment(ctx context.Context, a *Assignment) error
	GetAssignment(ctx context.Context, id int64) (Assignment, error)
	// UpdateAssignment stores a's status, notes and ActedAt.
	UpdateAssignment(ctx context.Context, a Assignment) error
	// Assignments returns the assignments of the tasks, oldest first.
	Assignments(ctx context.Context, taskIDs ...int64) ([]Assignment, error)
	// UserAssignments returns at most limit of a user's assignments (0:
	// all) after the first offset that f keeps, newest first, with their
	// tasks, and how many f keeps.
	UserAssignments(ctx context.Context, userID string, f MyTasksFilter, limit, offset int) ([]MyTask, int, error)

	// InsertLog stores e and sets its ID.
	InsertLog(ctx context.Context, e *LogEntry) error
	// Logs returns at most limit of a task's log entries (0: all) after
	// the first offset, oldest first, and how many there are.
	Logs(ctx context.Context, taskID int64, limit, offset int) ([]LogEntry, int, error)

	// SLAOpenTasks returns up to limit tasks with a target, neither
	// resolved nor on hold and not marked breached, with ids above
	// afterID, by id.
	SLAOpenTasks(ctx context.Context, afterID int64, limit int) ([]Task, error)
	// SLAOpenAssignments is SLAOpenTasks for active assignments, of tasks
	// not on hold.
	SLAOpenAssignments(ctx context.Context, afterID int64, limit int) ([]SLAItem, error)
	// RaiseTaskSLA marks a task at level (a breach only once its target is
	// before now, and with now as its breach time) if it is still open,
	// not on hold and marked lower, and reports whether it did.
	RaiseTaskSLA(ctx context.Context, id int64, level int, now time.Time) (bool, error)
	// RaiseAssignmentSLA marks an assignment as RaiseTaskSLA marks a task;
	// a breach also sets its status to breached.
	RaiseAssignmentSLA(ctx context.Context, id int64, level int, now time.Time) (bool, error)

	// ComplianceCounts counts the tasks of a workflow (every workflow when
	// workflowID is 0) created in [from, to): all of them, those without a
	// target, those resolved by their target (met), and those resolved
	// after it or not resolved with a target before now or a breach mark
	// (breached).
	ComplianceCounts(ctx context.Context, workflowID int64, from, to, now time.Time) (ComplianceCounts, error)

	// InsertSLAPolicy stores one version of a workflow's SLA policy.
	InsertSLAPolicy(ctx context.Context, p SLAPolicy) error
	// SLAPolicy returns one version of a workflow's SLA policy.
	SLAPolicy(ctx context.Context, workflowID int64, version int) (SLAPolicy, error)
	// InsertSLAEvent stores e and sets its ID.
	InsertSLAEvent(ctx context.Context, e *SLAEvent) error
	// SLAEvents returns a task's SLA history, oldest first.
	SLAEvents(ctx context.Context, taskID int64) ([]SLAEvent, error)
	// OpenTaskIDs returns the ids of a workflow's tasks that are not
	// resolved, by id.
	OpenTaskIDs(ctx context.Context, workflowID int64) ([]int64, error)

	// NextTurn counts one more assignment to the role and returns how many
	// it has had, this one included: the round-robin cursor. In a
	// transaction the role's counter stays locked until the end.
	NextTurn(ctx context.Context, roleID int64) (int64, error)
}
