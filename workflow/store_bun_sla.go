package workflow

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/bugflow/bugflow/internal/store"
)

// slaMigration adds the SLA marks of tasks and assignments: how far each
// is through its SLA (0 on time, 80 and 90 warned, 100 breached) and when a
// task breached.
var slaMigration = store.Migration{
	ID:      "20261207300000",
	Comment: "workflow: SLA warning and breach marks",
	Up: func(ctx context.Context, tx bun.Tx) error {
		type taskRowV2 struct {
			bun.BaseModel `bun:"table:workflow_tasks"`
		}
		type assignmentRowV2 struct {
			bun.BaseModel `bun:"table:workflow_task_items"`
		}
		for _, add := range []struct {
			model any
			expr  string
		}{
			{(*taskRowV2)(nil), "sla_level INTEGER NOT NULL DEFAULT 0"},
			{(*taskRowV2)(nil), "breached_at TIMESTAMP"},
			{(*assignmentRowV2)(nil), "sla_level INTEGER NOT NULL DEFAULT 0"},
		} {
			if tx.Dialect().Name() == dialect.PG && add.expr == "breached_at TIMESTAMP" {
				add.expr = "breached_at TIMESTAMPTZ"
			}
			if _, err := tx.NewAddColumn().Model(add.model).ColumnExpr(add.expr).Exec(ctx); err != nil {
				return fmt.Errorf("add column %s: %w", add.expr, err)
			}
		}
		// The check reads what is open and has a target, by id.
		return store.CreateIndexes(ctx, tx,
			store.Index{Table: "workflow_tasks", Name: "workflow_tasks_sla_idx", Columns: []string{"sla_level", "id"}, Where: "target_resolution IS NOT NULL AND status <> 'resolved'"},
			store.Index{Table: "workflow_task_items", Name: "workflow_task_items_sla_idx", Columns: []string{"sla_level", "id"}, Where: "target_resolution IS NOT NULL AND status IN ('new', 'in progress')"},
		)
	},
}

// SLAOpenTasks implements TaskStore.
func (s *BunStore) SLAOpenTasks(ctx context.Context, afterID int64, limit int) ([]Task, error) {
	var rows []taskRow
	q := s.taskSelect(&rows).Where("tk.target_resolution IS NOT NULL").Where("tk.status <> ?", TaskResolved).Where("tk.status <> ?", TaskOnHold).
		Where("tk.sla_level < ?", levelBreached).Where("tk.id > ?", afterID).OrderExpr("tk.id").Limit(int64(limit))
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list tasks for the SLA check: %w", store.Translate(err))
	}
	out := make([]Task, len(rows))
	for i := range rows {
		out[i] = rows[i].toTask()
	}
	return out, nil
}

// SLAOpenAssignments implements TaskStore.
func (s *BunStore) SLAOpenAssignments(ctx context.Context, afterID int64, limit int) ([]SLAItem, error) {
	var rows []struct {
		assignmentRow `bun:",extend"`
		WorkflowID    int64 `bun:"task_workflow_id"`
		SLAVersion    int   `bun:"task_sla_version"`
	}
	q := s.db.NewSelect().Model(&rows).ColumnExpr("ti.*").ColumnExpr("tk.workflow_id AS task_workflow_id, tk.sla_version AS task_sla_version").
		Join("JOIN workflow_tasks AS tk ON tk.id = ti.task_id").Where("tk.status <> ?", TaskOnHold).
		Where("ti.target_resolution IS NOT NULL").Where("ti.status IN (?)", bun.In(activeStatuses)).
		Where("ti.sla_level < ?", levelBreached).Where("ti.id > ?", afterID).Order("ti.id").Limit(int64(limit))
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list task items for the SLA check: %w", store.Translate(err))
	}
	out := make([]SLAItem, len(rows))
	for i := range rows {
		out[i] = SLAItem{Assignment: rows[i].toAssignment(), WorkflowID: rows[i].WorkflowID, SLAVersion: rows[i].SLAVersion}
	}
	return out, nil
}

// RaiseTaskSLA implements TaskStore. Its WHERE repeats every condition of
// the mark, so that of two processes marking one task, only the first
// changes the row (PostgreSQL re-checks the condition once the first
// commits; SQLite runs one writer at a time).
func (s *BunStore) RaiseTaskSLA(ctx context.Context, id int64, level int, now time.Time) (bool, error) {
	q := s.db.NewUpdate().Model((*taskRow)(nil)).Set("sla_level = ?", level).
		Where("id = ?", id).Where("sla_level < ?", level).Where("status <> ?", TaskResolved).Where("status <> ?", TaskOnHold).
		Where("target_resolution IS NOT NULL")
	if level == levelBreached {
		q = q.Set("breached_at = ?", now).Where("target_resolution < ?", now)
	}
	return raised(ctx, q)
}

// RaiseAssignmentSLA implements TaskStore, as RaiseTaskSLA does; a breach
// also sets the assignment's status to breached.
func (s *BunStore) RaiseAssignmentSLA(ctx context.Context, id int64, level int, now time.Time) (bool, error) {
	q := s.db.NewUpdate().Model((*assignmentRow)(nil)).Set("sla_level = ?", level).
		Where("id = ?", id).Where("sla_level < ?", level).Where("status IN (?)", bun.In(activeStatuses)).Where("target_resolution IS NOT NULL")
	if level == levelBreached {
		q = q.Set("status = ?", AssignmentBreached).Where("target_resolution < ?", now)
	}
	return raised(ctx, q)
}

func raised(ctx context.Context, q *bun.UpdateQuery) (bool, error) {
	res, err := q.Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("mark SLA: %w", store.Translate(err))
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ComplianceCounts implements TaskStore, in one aggregate query. Times are
// compared as the databases store them: timestamps on PostgreSQL, and on
// SQLite UTC text of one format, whose order is the times' order.
func (s *BunStore) ComplianceCounts(ctx context.Context, workflowID int64, from, to, now time.Time) (ComplianceCounts, error) {
	var c struct {
		Total    int `bun:"total"`
		Met      int `bun:"met"`
		Breached int `bun:"breached"`
		NoSLA    int `bun:"no_sla"`
	}
	q := s.db.NewSelect().Model((*taskRow)(nil)).
		ColumnExpr("COUNT(*) AS total").
		ColumnExpr("COALESCE(SUM(CASE WHEN tk.target_resolution IS NULL THEN 1 ELSE 0 END), 0) AS no_sla").
		ColumnExpr("COALESCE(SUM(CASE WHEN tk.target_resolution IS NOT NULL AND tk.resolved_at IS NOT NULL AND tk.resolved_at <= tk.target_resolution THEN 1 ELSE 0 END), 0) AS met").
		ColumnExpr(`COALESCE(SUM(CASE WHEN tk.target_resolution IS NOT NULL AND (
			(tk.resolved_at IS NOT NULL AND tk.resolved_at > tk.target_resolution) OR
			(tk.resolved_at IS NULL AND (tk.breached_at IS NOT NULL OR tk.target_resolution < ?))) THEN 1 ELSE 0 END), 0) AS breached`, now).
		Where("tk.created_at >= ?", from).Where("tk.created_at < ?", to)
	if workflowID != 0 {
		q = q.Where("tk.workflow_id = ?", workflowID)
	}
	if err := q.Scan(ctx, &c); err != nil {
		return ComplianceCounts{}, fmt.Errorf("count SLA compliance: %w", store.Translate(err))
	}
	return ComplianceCounts{Total: c.Total, Met: c.Met, Breached: c.Breached, NoSLA: c.NoSLA}, nil
}
