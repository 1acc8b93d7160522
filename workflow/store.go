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
}
