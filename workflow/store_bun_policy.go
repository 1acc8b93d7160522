package workflow

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/bugflow/bugflow/internal/store"
)

// policyRow is the table model of an SLAPolicy. SLAs are whole seconds.
type policyRow struct {
	bun.BaseModel `bun:"table:workflow_sla_policies,alias:sp"`

	WorkflowID    int64                 `bun:"workflow_id,pk"`
	Version       int                   `bun:"version,pk"`
	LowSLASecs    *int64                `bun:"low_sla_seconds"`
	MediumSLASecs *int64                `bun:"medium_sla_seconds"`
	HighSLASecs   *int64                `bun:"high_sla_seconds"`
	UrgentSLASecs *int64                `bun:"urgent_sla_seconds"`
	Calendar      *store.JSON[Calendar] `bun:"calendar,type:text"`
	CreatedAt     time.Time             `bun:"created_at,notnull"`
}

// slaEventRow is the table model of an SLAEvent.
type slaEventRow struct {
	bun.BaseModel `bun:"table:workflow_task_sla_events,alias:se"`

	ID            int64     `bun:"id,pk,autoincrement"`
	TaskID        int64     `bun:"task_id,notnull"`
	Kind          string    `bun:"kind,notnull"`
	At            time.Time `bun:"at,notnull"`
	Version       int       `bun:"sla_version,notnull"`
	Priority      string    `bun:"priority,notnull"`
	PausedSeconds int64     `bun:"paused_seconds,notnull"`
}

// policyMigration adds business-hours calendars, versioned SLA policies,
// paused time and the tasks' SLA history. Existing workflows get version 1
// of their policy (no calendar); existing tasks run under it, with a start
// event at their creation.
var policyMigration = store.Migration{
	ID:      "20261215150000",
	Comment: "workflow: SLA calendars, policy versions, paused time, SLA history",
	Up: func(ctx context.Context, tx bun.Tx) error {
		type workflowRowV2 struct {
			bun.BaseModel `bun:"table:workflow_workflows"`
		}
		type taskRowV3 struct {
			bun.BaseModel `bun:"table:workflow_tasks"`
		}
		type assignmentRowV3 struct {
			bun.BaseModel `bun:"table:workflow_task_items"`
		}
		type policyRowV1 struct {
			bun.BaseModel `bun:"table:workflow_sla_policies"`

			WorkflowID    int64     `bun:"workflow_id,pk"`
			Version       int       `bun:"version,pk"`
			LowSLASecs    *int64    `bun:"low_sla_seconds"`
			MediumSLASecs *int64    `bun:"medium_sla_seconds"`
			HighSLASecs   *int64    `bun:"high_sla_seconds"`
			UrgentSLASecs *int64    `bun:"urgent_sla_seconds"`
			Calendar      *string   `bun:"calendar,type:text"`
			CreatedAt     time.Time `bun:"created_at,notnull"`
		}
		type slaEventRowV1 struct {
			bun.BaseModel `bun:"table:workflow_task_sla_events"`

			ID            int64     `bun:"id,pk,autoincrement"`
			TaskID        int64     `bun:"task_id,notnull"`
			Kind          string    `bun:"kind,notnull"`
			At            time.Time `bun:"at,notnull"`
			Version       int       `bun:"sla_version,notnull"`
			Priority      string    `bun:"priority,notnull"`
			PausedSeconds int64     `bun:"paused_seconds,notnull"`
		}
		stamp := "TIMESTAMP"
		if tx.Dialect().Name() == dialect.PG {
			stamp = "TIMESTAMPTZ"
		}
		for _, add := range []struct {
			model any
			expr  string
		}{
			{(*workflowRowV2)(nil), "calendar TEXT"},
			{(*workflowRowV2)(nil), "sla_version INTEGER NOT NULL DEFAULT 1"},
			{(*taskRowV3)(nil), "sla_version INTEGER NOT NULL DEFAULT 1"},
			{(*taskRowV3)(nil), "paused_seconds BIGINT NOT NULL DEFAULT 0"},
			{(*taskRowV3)(nil), "paused_at " + stamp},
			{(*assignmentRowV3)(nil), "paused_seconds BIGINT NOT NULL DEFAULT 0"},
		} {
			if _, err := tx.NewAddColumn().Model(add.model).ColumnExpr(add.expr).Exec(ctx); err != nil {
				return fmt.Errorf("add column %s: %w", add.expr, err)
			}
		}
		if _, err := tx.NewCreateTable().Model((*policyRowV1)(nil)).
			ForeignKey(`("workflow_id") REFERENCES "workflow_workflows" ("id") ON DELETE CASCADE`).
			Exec(ctx); err != nil {
			return fmt.Errorf("create workflow_sla_policies: %w", err)
		}
		if _, err := tx.NewCreateTable().Model((*slaEventRowV1)(nil)).
			ForeignKey(`("task_id") REFERENCES "workflow_tasks" ("id") ON DELETE CASCADE`).
			Exec(ctx); err != nil {
			return fmt.Errorf("create workflow_task_sla_events: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO workflow_sla_policies
			(workflow_id, version, low_sla_seconds, medium_sla_seconds, high_sla_seconds, urgent_sla_seconds, created_at)
			SELECT id, 1, low_sla_seconds, medium_sla_seconds, high_sla_seconds, urgent_sla_seconds, created_at FROM workflow_workflows`); err != nil {
			return fmt.Errorf("version 1 of existing SLA policies: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO workflow_task_sla_events (task_id, kind, at, sla_version, priority, paused_seconds)
			SELECT id, 'start', created_at, 1, priority, 0 FROM workflow_tasks`); err != nil {
			return fmt.Errorf("SLA start of existing tasks: %w", err)
		}
		return store.CreateIndexes(ctx, tx,
			store.Index{Table: "workflow_task_sla_events", Name: "workflow_task_sla_events_task_idx", Columns: []string{"task_id", "id"}},
			// Re-targeting reads a workflow's open tasks.
			store.Index{Table: "workflow_tasks", Name: "workflow_tasks_open_idx", Columns: []string{"workflow_id", "id"}, Where: "status <> 'resolved'"},
		)
	},
}

// InsertSLAPolicy implements TaskStore.
func (s *BunStore) InsertSLAPolicy(ctx context.Context, p SLAPolicy) error {
	row := &policyRow{
		WorkflowID: p.WorkflowID, Version: p.Version, LowSLASecs: seconds(p.Low), MediumSLASecs: seconds(p.Medium),
		HighSLASecs: seconds(p.High), UrgentSLASecs: seconds(p.Urgent), CreatedAt: p.CreatedAt,
	}
	if p.Calendar != nil {
		row.Calendar = &store.JSON[Calendar]{V: *p.Calendar}
	}
	if _, err := s.db.NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("insert SLA policy: %w", store.Translate(err))
	}
	return nil
}

// SLAPolicy implements TaskStore.
func (s *BunStore) SLAPolicy(ctx context.Context, workflowID int64, version int) (SLAPolicy, error) {
	var row policyRow
	q := s.db.NewSelect().Model(&row).Where("workflow_id = ?", workflowID).Where("version = ?", version)
	if err := store.ScanOne(ctx, q, "SLA policy %d of workflow %d not found", version, workflowID); err != nil {
		return SLAPolicy{}, fmt.Errorf("get SLA policy: %w", err)
	}
	p := SLAPolicy{
		WorkflowID: row.WorkflowID, Version: row.Version, CreatedAt: row.CreatedAt.UTC(),
		SLAs: SLAs{Low: duration(row.LowSLASecs), Medium: duration(row.MediumSLASecs), High: duration(row.HighSLASecs), Urgent: duration(row.UrgentSLASecs)},
	}
	if row.Calendar != nil {
		c := row.Calendar.V
		p.Calendar = &c
	}
	return p, nil
}

// InsertSLAEvent implements TaskStore.
func (s *BunStore) InsertSLAEvent(ctx context.Context, e *SLAEvent) error {
	row := &slaEventRow{TaskID: e.TaskID, Kind: e.Kind, At: e.At, Version: e.Version, Priority: string(e.Priority), PausedSeconds: e.PausedSeconds}
	if _, err := s.db.NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("insert SLA event: %w", store.Translate(err))
	}
	e.ID = row.ID
	return nil
}

// SLAEvents implements TaskStore.
func (s *BunStore) SLAEvents(ctx context.Context, taskID int64) ([]SLAEvent, error) {
	var rows []slaEventRow
	if err := s.db.NewSelect().Model(&rows).Where("task_id = ?", taskID).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list SLA events: %w", store.Translate(err))
	}
	out := make([]SLAEvent, len(rows))
	for i, r := range rows {
		out[i] = SLAEvent{ID: r.ID, TaskID: r.TaskID, Kind: r.Kind, At: r.At.UTC(), Version: r.Version, Priority: Priority(r.Priority), PausedSeconds: r.PausedSeconds}
	}
	return out, nil
}

// OpenTaskIDs implements TaskStore.
func (s *BunStore) OpenTaskIDs(ctx context.Context, workflowID int64) ([]int64, error) {
	var ids []int64
	err := s.db.NewSelect().Model((*taskRow)(nil)).Column("id").Where("workflow_id = ?", workflowID).
		Where("status <> ?", TaskResolved).Order("id").Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("list open tasks: %w", store.Translate(err))
	}
	return ids, nil
}
