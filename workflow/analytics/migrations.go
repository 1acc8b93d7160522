package analytics

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/internal/store"
)

// Migrations returns the indexes the analytics queries read through. The
// tables are packages workflow's and tickets'; these migrations only add
// indexes, so they come after theirs (by ID).
func Migrations() []store.Migration {
	return []store.Migration{{
		ID:      "20261215160000",
		Comment: "analytics: indexes for time ranges",
		Up: func(ctx context.Context, tx bun.Tx) error {
			return store.CreateIndexes(ctx, tx,
				// Every ticket figure selects a creation range.
				store.Index{Table: "tickets", Name: "tickets_created_idx", Columns: []string{"created_at"}},
				// Resolution trends reach tickets from their tasks.
				store.Index{Table: "tickets", Name: "tickets_task_idx", Columns: []string{"task_id"}, Where: "task_id IS NOT NULL"},
				// Task figures select a creation range; resolution trends a
				// resolution range.
				store.Index{Table: "workflow_tasks", Name: "workflow_tasks_created_idx", Columns: []string{"created_at"}},
				store.Index{Table: "workflow_tasks", Name: "workflow_tasks_resolved_idx", Columns: []string{"resolved_at"}, Where: "resolved_at IS NOT NULL"},
				// Assignment figures select an assignment range.
				store.Index{Table: "workflow_task_items", Name: "workflow_task_items_assigned_idx", Columns: []string{"assigned_at"}},
			)
		},
	}, insightMigration, coverMigration, taskCoverMigration}
}
