package analytics

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/internal/store"
)

// insightMigration adds the indexes the operational insights, forecasts
// and drill-downs read through, so that each reads the rows it counts
// (open tasks, a range, one origin) rather than the whole history.
var insightMigration = store.Migration{
	ID:      "20261215165000",
	Comment: "analytics: indexes for open tasks, escalations and transfers, finished assignments",
	Up: func(ctx context.Context, tx bun.Tx) error {
		return store.CreateIndexes(ctx, tx,
			// Service health, workload and the SLA forecast count the open
			// tasks of each workflow; the idle tasks are open ones by their
			// last change.
			store.Index{Table: "workflow_tasks", Name: "workflow_tasks_open_workflow_idx", Columns: []string{"workflow_id"}, Where: "status <> 'resolved'"},
			store.Index{Table: "workflow_tasks", Name: "workflow_tasks_open_updated_idx", Columns: []string{"updated_at"}, Where: "status <> 'resolved'"},
			// Escalation spikes and the transfer and origin drill-downs
			// select one origin over a range.
			store.Index{Table: "workflow_task_items", Name: "workflow_task_items_origin_idx", Columns: []string{"origin", "assigned_at"}},
			// The workload counts the assignments held now and those
			// finished in the range.
			store.Index{Table: "workflow_task_items", Name: "workflow_task_items_active_idx", Columns: []string{"user_id"}, Where: "status IN ('new', 'in progress')"},
			store.Index{Table: "workflow_task_items", Name: "workflow_task_items_acted_idx", Columns: []string{"acted_at"}, Where: "acted_at IS NOT NULL"},
		)
	},
}
