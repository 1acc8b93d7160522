package analytics

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/internal/store"
)

// coverMigration widens the range indexes the ticket figures read into
// covering ones (issue 16, point 4). Measured on a million seeded tickets
// (EXPLAIN ANALYZE of the dashboard's daily SLA query over 30 days): the
// planner joined each ticket of the range to its task by scanning all the
// tasks (a hash join over a sequential scan of a million rows, 2.7 s);
// with the columns in the indexes it reads the range's index entries and
// probes one index entry per task, touching no table page (1.4 s on the
// same loaded machine). The keys are plain columns, not INCLUDE ones, so
// that SQLite covers the same queries.
var coverMigration = store.Migration{
	ID:      "20261216100000",
	Comment: "analytics: covering indexes for tickets by creation, tasks' outcomes and resolutions",
	Up: func(ctx context.Context, tx bun.Tx) error {
		err := store.CreateIndexes(ctx, tx,
			// Every ticket figure selects a creation range, groups or
			// filters by these columns and joins the task.
			store.Index{Table: "tickets", Name: "tickets_created_cover_idx",
				Columns: []string{"created_at", "task_id", "status", "priority", "workflow_id", "department", "category"}},
			// A ticket's task, for its SLA outcome and resolution.
			store.Index{Table: "workflow_tasks", Name: "workflow_tasks_outcome_idx",
				Columns: []string{"id", "resolved_at", "target_resolution", "breached_at"}},
			// Resolution trends and forecasts select a resolution range and
			// read the creation time, the workflow and the priority.
			store.Index{Table: "workflow_tasks", Name: "workflow_tasks_resolved_cover_idx",
				Columns: []string{"resolved_at", "created_at", "id", "workflow_id", "priority"}, Where: "resolved_at IS NOT NULL"},
		)
		if err != nil {
			return err
		}
		// The narrower indexes these replace, this package's own (migration
		// 20261215160000): same leading column and predicate, so the wider
		// ones serve every query they served.
		return dropIndexes(ctx, tx, "tickets_created_idx", "workflow_tasks_resolved_idx")
	},
}

// taskCoverMigration does for the task and assignment figures what
// coverMigration does for the ticket ones: the task ranges (by creation),
// the assignment ranges (by assignment) and the open tasks are read from
// their index alone, without a table page per row.
var taskCoverMigration = store.Migration{
	ID:      "20261216101000",
	Comment: "analytics: covering indexes for tasks by creation, assignments by assignment, open tasks",
	Up: func(ctx context.Context, tx bun.Tx) error {
		err := store.CreateIndexes(ctx, tx,
			// Task figures select a creation range and group or filter by
			// these columns.
			store.Index{Table: "workflow_tasks", Name: "workflow_tasks_created_cover_idx",
				Columns: []string{"created_at", "workflow_id", "priority", "status", "current_step_id", "resolved_at", "target_resolution", "breached_at", "id"}},
			// Assignment figures select an assignment range (an origin's,
			// a user's) and join the task.
			store.Index{Table: "workflow_task_items", Name: "workflow_task_items_assigned_cover_idx",
				Columns: []string{"assigned_at", "task_id", "origin", "status", "user_id", "step_id", "acted_at", "username"}},
			// Service health, workload and the SLA risk score the open
			// tasks of each workflow by their times and priority.
			store.Index{Table: "workflow_tasks", Name: "workflow_tasks_open_cover_idx",
				Columns: []string{"workflow_id", "priority", "target_resolution", "created_at", "updated_at", "breached_at", "id"}, Where: "status <> 'resolved'"},
		)
		if err != nil {
			return err
		}
		// The narrower ones these replace, this package's own (migrations
		// 20261215160000 and 20261215165000).
		return dropIndexes(ctx, tx, "workflow_tasks_created_idx", "workflow_task_items_assigned_idx", "workflow_tasks_open_workflow_idx")
	},
}

// dropIndexes drops the named indexes, those that exist.
func dropIndexes(ctx context.Context, tx bun.Tx, names ...string) error {
	for _, name := range names {
		if _, err := tx.ExecContext(ctx, "DROP INDEX IF EXISTS "+name); err != nil {
			return fmt.Errorf("drop index %s: %w", name, store.Translate(err))
		}
	}
	return nil
}
