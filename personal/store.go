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
	// Overdue returns up to limit tasks of any owner whose status is one of
	// statuses and whose due date is before t, oldest due first.
	Overdue(ctx context.Context, statuses []Status, before time.Time, limit int) ([]Task, error)
}
