package personal

import (
	"context"
	"time"
)

// Store persists personal tasks. BunStore implements it. Every read and
// write names the owner, so that no method can reach another user's task.
type Store interface {
	// Atomically runs fn with a Store in one transaction (joining the one
	// ctx carries).
	Atomically(ctx context.Context, fn func(ctx context.Context, st Store) error) error
	// Insert stores a new task with its tags.
	Insert(ctx context.Context, t Task) error
	// Get returns owner's task id (NotFound for another owner's).
	Get(ctx context.Context, owner, id string) (Task, error)
	// Update stores every field of t (found by owner and id) and its tags.
	Update(ctx context.Context, t Task) error
	// Delete removes owner's task id (NotFound for another owner's).
	Delete(ctx context.Context, owner, id string) error
	// List returns up to limit of owner's tasks matching f, by due date
	// (none last), then creation.
	List(ctx context.Context, owner string, f Filter, limit int) ([]Task, error)
	// Count returns how many tasks owner has.
	Count(ctx context.Context, owner string) (int, error)
	// Overdue returns up to limit tasks of owner (of everyone when owner
	// is "") whose status is one of statuses and whose due date is before
	// before, oldest due first.
	Overdue(ctx context.Context, owner string, statuses []Status, before time.Time, limit int) ([]Task, error)
}

// ProcessStore persists automated processes and their executions. BunStore
// implements it; Config.Processes defaults to the task Store when that
// implements it too.
type ProcessStore interface {
	// EnsureProcess stores p unless a process with its id exists.
	EnsureProcess(ctx context.Context, p Process) error
	// InsertProcess stores a new process.
	InsertProcess(ctx context.Context, p Process) error
	// Process returns process id.
	Process(ctx context.Context, id string) (Process, error)
	// Processes returns the built-in processes and owner's, or every one
	// when all is set, built-ins first, then by creation.
	Processes(ctx context.Context, owner string, all bool) ([]Process, error)
	// CountProcesses returns how many processes owner has.
	CountProcesses(ctx context.Context, owner string) (int, error)
	// ClaimTick moves process id's last tick to tick when it is before
	// tick (or unset), and reports whether it did: of several replicas
	// claiming one tick, exactly one succeeds.
	ClaimTick(ctx context.Context, id string, tick time.Time) (bool, error)
	// StartExecution stores a running execution; Conflict when the process
	// has one running already.
	StartExecution(ctx context.Context, e Execution) error
	// FinishExecution stores e's outcome and sets its process's last
	// execution to e's start.
	FinishExecution(ctx context.Context, e Execution) error
	// FailStale marks executions of process id still running since before
	// cutoff as failed with message.
	FailStale(ctx context.Context, id string, cutoff time.Time, message string) error
	// Executions returns a page of process id's executions, newest first,
	// and how many there are.
	Executions(ctx context.Context, id string, limit, offset int) ([]Execution, int, error)
	// EventProcesses returns the active event-based processes waiting for
	// ev, of owner or of every owner when owner is "", oldest first. It
	// joins the transaction ctx carries.
	EventProcesses(ctx context.Context, ev Event, owner string) ([]Process, error)
	// DueBetween returns up to limit unfinished tasks due in [from, to),
	// of owner or of everyone when owner is "", by owner then due date.
	DueBetween(ctx context.Context, owner string, from, to time.Time, limit int) ([]Task, error)
}
