package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// workflowRow is the table model of a Workflow. SLAs are whole seconds.
type workflowRow struct {
	bun.BaseModel `bun:"table:workflow_workflows,alias:w"`

	ID   int64  `bun:"id,pk,autoincrement"`
	Name string `bun:"name,notnull"`
	// NameKey is the name folded to lower case by Go, whose unique index
	// makes names unique in any case alike on both engines (SQLite's
	// lower() folds ASCII only).
	NameKey       string    `bun:"name_key,notnull"`
	Description   string    `bun:"description,type:text,notnull"`
	Category      string    `bun:"category,notnull"`
	SubCategory   string    `bun:"sub_category,notnull"`
	Department    string    `bun:"department,notnull"`
	Status        string    `bun:"status,notnull"`
	LowSLASecs    *int64    `bun:"low_sla_seconds"`
	MediumSLASecs *int64    `bun:"medium_sla_seconds"`
	HighSLASecs   *int64    `bun:"high_sla_seconds"`
	UrgentSLASecs *int64    `bun:"urgent_sla_seconds"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	UpdatedAt     time.Time `bun:"updated_at,notnull"`
	// Calendar is the SLA calendar, JSON; NULL for none.
	Calendar   *store.JSON[Calendar] `bun:"calendar,type:text"`
	SLAVersion int                   `bun:"sla_version,notnull"`
}

// stepRow is the table model of a Step.
type stepRow struct {
	bun.BaseModel `bun:"table:workflow_steps,alias:s"`

	ID          int64   `bun:"id,pk,autoincrement"`
	WorkflowID  int64   `bun:"workflow_id,notnull"`
	Name        string  `bun:"name,notnull"`
	Description string  `bun:"description,type:text,notnull"`
	Instruction string  `bun:"instruction,type:text,notnull"`
	RoleID      *int64  `bun:"role_id"`
	EscalateTo  *int64  `bun:"escalate_to"`
	Weight      float64 `bun:"weight,notnull"`
	Order       int     `bun:"step_order,notnull"`
	IsStart     bool    `bun:"is_start,notnull"`
	IsEnd       bool    `bun:"is_end,notnull"`
	DesignX     float64 `bun:"design_x,notnull"`
	DesignY     float64 `bun:"design_y,notnull"`
}

// transitionRow is the table model of a Transition.
type transitionRow struct {
	bun.BaseModel `bun:"table:workflow_transitions,alias:t"`

	ID         int64  `bun:"id,pk,autoincrement"`
	WorkflowID int64  `bun:"workflow_id,notnull"`
	FromStepID int64  `bun:"from_step_id,notnull"`
	ToStepID   int64  `bun:"to_step_id,notnull"`
	Name       string `bun:"name,notnull"`
}

// Migrations returns the schema of workflow definitions. Each migration
// creates tables from its own frozen models, never from the live rows, so
// that a column added later is added by a later migration on every
// database, old or new.
func Migrations() []store.Migration {
	return []store.Migration{{
		ID:      "20261206100000",
		Comment: "workflow: workflows, steps, transitions",
		Up: func(ctx context.Context, tx bun.Tx) error {
			type workflowRowV1 struct {
				bun.BaseModel `bun:"table:workflow_workflows"`

				ID            int64     `bun:"id,pk,autoincrement"`
				Name          string    `bun:"name,notnull"`
				NameKey       string    `bun:"name_key,notnull"`
				Description   string    `bun:"description,type:text,notnull"`
				Category      string    `bun:"category,notnull"`
				SubCategory   string    `bun:"sub_category,notnull"`
				Department    string    `bun:"department,notnull"`
				Status        string    `bun:"status,notnull"`
				LowSLASecs    *int64    `bun:"low_sla_seconds"`
				MediumSLASecs *int64    `bun:"medium_sla_seconds"`
				HighSLASecs   *int64    `bun:"high_sla_seconds"`
				UrgentSLASecs *int64    `bun:"urgent_sla_seconds"`
				CreatedAt     time.Time `bun:"created_at,notnull"`
				UpdatedAt     time.Time `bun:"updated_at,notnull"`
			}
			type stepRowV1 struct {
				bun.BaseModel `bun:"table:workflow_steps"`

				ID          int64   `bun:"id,pk,autoincrement"`
				WorkflowID  int64   `bun:"workflow_id,notnull"`
				Name        string  `bun:"name,notnull"`
				Description string  `bun:"description,type:text,notnull"`
				Instruction string  `bun:"instruction,type:text,notnull"`
				RoleID      *int64  `bun:"role_id"`
				EscalateTo  *int64  `bun:"escalate_to"`
				Weight      float64 `bun:"weight,notnull"`
				Order       int     `bun:"step_order,notnull"`
				IsStart     bool    `bun:"is_start,notnull"`
				IsEnd       bool    `bun:"is_end,notnull"`
				DesignX     float64 `bun:"design_x,notnull"`
				DesignY     float64 `bun:"design_y,notnull"`
			}
			type transitionRowV1 struct {
				bun.BaseModel `bun:"table:workflow_transitions"`

				ID         int64  `bun:"id,pk,autoincrement"`
				WorkflowID int64  `bun:"workflow_id,notnull"`
				FromStepID int64  `bun:"from_step_id,notnull"`
				ToStepID   int64  `bun:"to_step_id,notnull"`
				Name       string `bun:"name,notnull"`
			}
			if _, err := tx.NewCreateTable().Model((*workflowRowV1)(nil)).Exec(ctx); err != nil {
				return fmt.Errorf("create workflow_workflows: %w", err)
			}
			if _, err := tx.NewCreateTable().Model((*stepRowV1)(nil)).
				ForeignKey(`("workflow_id") REFERENCES "workflow_workflows" ("id") ON DELETE CASCADE`).
				Exec(ctx); err != nil {
				return fmt.Errorf("create workflow_steps: %w", err)
			}
			// The transitions' foreign keys name the workflow with the step,
			// so the database itself refuses a transition between steps of
			// two workflows.
			if err := store.CreateIndexes(ctx, tx,
				store.Index{Table: "workflow_workflows", Name: "workflow_workflows_name_key_idx", Columns: []string{"name_key"}, Unique: true},
				store.Index{Table: "workflow_steps", Name: "workflow_steps_workflow_id_idx", Columns: []string{"workflow_id", "id"}, Unique: true},
				store.Index{Table: "workflow_steps", Name: "workflow_steps_order_idx", Columns: []string{"workflow_id", "step_order"}},
			); err != nil {
				return err
			}
			if _, err := tx.NewCreateTable().Model((*transitionRowV1)(nil)).
				ForeignKey(`("workflow_id", "from_step_id") REFERENCES "workflow_steps" ("workflow_id", "id") ON DELETE CASCADE`).
				ForeignKey(`("workflow_id", "to_step_id") REFERENCES "workflow_steps" ("workflow_id", "id") ON DELETE CASCADE`).
				Exec(ctx); err != nil {
				return fmt.Errorf("create workflow_transitions: %w", err)
			}
			return store.CreateIndexes(ctx, tx,
				store.Index{Table: "workflow_transitions", Name: "workflow_transitions_pair_idx", Columns: []string{"from_step_id", "to_step_id"}, Unique: true},
				// The cascades from workflow_steps look transitions up by
				// workflow and either step.
				store.Index{Table: "workflow_transitions", Name: "workflow_transitions_from_idx", Columns: []string{"workflow_id", "from_step_id"}},
				store.Index{Table: "workflow_transitions", Name: "workflow_transitions_to_idx", Columns: []string{"workflow_id", "to_step_id"}},
			)
		},
	}, taskMigration, slaMigration, policyMigration}
}

// BunStore is the bun implementation of Store.
type BunStore struct {
	db bun.IDB
	// lockRows is set in a PostgreSQL transaction: GetWorkflow locks the
	// row. SQLite transactions begin IMMEDIATE and so hold the database's
	// write lock already.
	lockRows bool
}

// NewBunStore returns a Store on db.
func NewBunStore(db bun.IDB) *BunStore {
	return &BunStore{db: db}
}

// Atomically implements Store.
func (s *BunStore) Atomically(ctx context.Context, fn func(ctx context.Context, st Store) error) error {
	return store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		return fn(ctx, &BunStore{db: tx, lockRows: store.LocksRows(tx)})
	})
}

// InsertWorkflow implements Store.
func (s *BunStore) InsertWorkflow(ctx context.Context, w *Workflow) error {
	row := toWorkflowRow(*w)
	if _, err := s.db.NewInsert().Model(row).Exec(ctx); err != nil {
		return nameTaken(w.Name, fmt.Errorf("insert workflow: %w", store.Translate(err)))
	}
	w.ID = row.ID
	return nil
}

// nameTaken says which name clashed when err is a Conflict: the only
// unique value of a workflow row is its name.
func nameTaken(name string, err error) error {
	if errors.Is(err, errs.ErrConflict) {
		return errs.Wrap(errs.Conflict, err, "a workflow named %q already exists", name)
	}
	return err
}

// GetWorkflow implements Store.
func (s *BunStore) GetWorkflow(ctx context.Context, id int64) (Workflow, error) {
	var row workflowRow
	q := s.db.NewSelect().Model(&row).Where("id = ?", id)
	if s.lockRows {
		q = q.For("UPDATE")
	}
	if err := store.ScanOne(ctx, q, "workflow %d not found", id); err != nil {
		return Workflow{}, fmt.Errorf("get workflow: %w", err)
	}
	return row.toWorkflow(), nil
}

// ListWorkflows implements Store.
func (s *BunStore) ListWorkflows(ctx context.Context, limit, offset int) ([]Workflow, int, error) {
	var rows []workflowRow
	q := s.db.NewSelect().Model(&rows).Order("id")
	total, err := store.Page{Limit: limit, Offset: offset}.Apply(q).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list workflows: %w", store.Translate(err))
	}
	out := make([]Workflow, len(rows))
	for i := range rows {
		out[i] = rows[i].toWorkflow()
	}
	return out, int(total), nil
}

// UpdateWorkflow implements Store.
func (s *BunStore) UpdateWorkflow(ctx context.Context, w Workflow) error {
	row := toWorkflowRow(w)
	q := s.db.NewUpdate().Model(row).WherePK().ExcludeColumn("id", "created_at")
	if err := store.ExecOne(ctx, q, "workflow %d not found", w.ID); err != nil {
		return nameTaken(w.Name, fmt.Errorf("update workflow: %w", err))
	}
	return nil
}

// DeleteWorkflow implements Store.
func (s *BunStore) DeleteWorkflow(ctx context.Context, id int64) error {
	q := s.db.NewDelete().Model((*workflowRow)(nil)).Where("id = ?", id)
	if err := store.ExecOne(ctx, q, "workflow %d not found", id); err != nil {
		return fmt.Errorf("delete workflow: %w", err)
	}
	return nil
}

// Touch implements Store.
func (s *BunStore) Touch(ctx context.Context, workflowID int64, at time.Time) error {
	q := s.db.NewUpdate().Model((*workflowRow)(nil)).Set("updated_at = ?", at).Where("id = ?", workflowID)
	if err := store.ExecOne(ctx, q, "workflow %d not found", workflowID); err != nil {
		return fmt.Errorf("touch workflow: %w", err)
	}
	return nil
}

// InsertStep implements Store.
func (s *BunStore) InsertStep(ctx context.Context, st *Step) error {
	row := toStepRow(*st)
	if _, err := s.db.NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("insert step: %w", store.Translate(err))
	}
	st.ID = row.ID
	return nil
}

// GetStep implements Store.
func (s *BunStore) GetStep(ctx context.Context, id int64) (Step, error) {
	var row stepRow
	if err := store.ScanOne(ctx, s.db.NewSelect().Model(&row).Where("id = ?", id), "step %d not found", id); err != nil {
		return Step{}, fmt.Errorf("get step: %w", err)
	}
	return row.toStep(), nil
}

// ListSteps implements Store.
func (s *BunStore) ListSteps(ctx context.Context, workflowID int64, limit, offset int) ([]Step, int, error) {
	var rows []stepRow
	q := s.db.NewSelect().Model(&rows).Order("workflow_id", "step_order", "id")
	if workflowID != 0 {
		q = q.Where("workflow_id = ?", workflowID)
	}
	total, err := store.Page{Limit: limit, Offset: offset}.Apply(q).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list steps: %w", store.Translate(err))
	}
	out := make([]Step, len(rows))
	for i := range rows {
		out[i] = rows[i].toStep()
	}
	return out, int(total), nil
}

// UpdateStep implements Store.
func (s *BunStore) UpdateStep(ctx context.Context, st Step) error {
	q := s.db.NewUpdate().Model(toStepRow(st)).WherePK().ExcludeColumn("id", "workflow_id")
	if err := store.ExecOne(ctx, q, "step %d not found", st.ID); err != nil {
		return fmt.Errorf("update step: %w", err)
	}
	return nil
}

// DeleteStep implements Store.
func (s *BunStore) DeleteStep(ctx context.Context, id int64) error {
	q := s.db.NewDelete().Model((*stepRow)(nil)).Where("id = ?", id)
	if err := store.ExecOne(ctx, q, "step %d not found", id); err != nil {
		return fmt.Errorf("delete step: %w", err)
	}
	return nil
}

// DeleteSteps implements Store.
func (s *BunStore) DeleteSteps(ctx context.Context, workflowID int64) error {
	if _, err := store.Exec(ctx, s.db.NewDelete().Model((*stepRow)(nil)).Where("workflow_id = ?", workflowID)); err != nil {
		return fmt.Errorf("delete steps: %w", err)
	}
	return nil
}

// InsertTransition implements Store.
func (s *BunStore) InsertTransition(ctx context.Context, t *Transition) error {
	row := &transitionRow{WorkflowID: t.WorkflowID, FromStepID: t.FromStepID, ToStepID: t.ToStepID, Name: t.Name}
	if _, err := s.db.NewInsert().Model(row).Exec(ctx); err != nil {
		err = store.Translate(err)
		if errors.Is(err, errs.ErrConflict) {
			return errs.Wrap(errs.Conflict, err, "a transition from step %d to step %d already exists", t.FromStepID, t.ToStepID)
		}
		return fmt.Errorf("insert transition: %w", err)
	}
	t.ID = row.ID
	return nil
}

// GetTransition implements Store.
func (s *BunStore) GetTransition(ctx context.Context, id int64) (Transition, error) {
	var row transitionRow
	if err := store.ScanOne(ctx, s.db.NewSelect().Model(&row).Where("id = ?", id), "transition %d not found", id); err != nil {
		return Transition{}, fmt.Errorf("get transition: %w", err)
	}
	return row.toTransition(), nil
}

// ListTransitions implements Store.
func (s *BunStore) ListTransitions(ctx context.Context, workflowID int64, limit, offset int) ([]Transition, int, error) {
	var rows []transitionRow
	q := s.db.NewSelect().Model(&rows).Order("id")
	if workflowID != 0 {
		q = q.Where("workflow_id = ?", workflowID)
	}
	total, err := store.Page{Limit: limit, Offset: offset}.Apply(q).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list transitions: %w", store.Translate(err))
	}
	out := make([]Transition, len(rows))
	for i := range rows {
		out[i] = rows[i].toTransition()
	}
	return out, int(total), nil
}

// DeleteTransition implements Store.
func (s *BunStore) DeleteTransition(ctx context.Context, id int64) error {
	q := s.db.NewDelete().Model((*transitionRow)(nil)).Where("id = ?", id)
	if err := store.ExecOne(ctx, q, "transition %d not found", id); err != nil {
		return fmt.Errorf("delete transition: %w", err)
	}
	return nil
}

func toWorkflowRow(w Workflow) *workflowRow {
	return &workflowRow{
		ID: w.ID, Name: w.Name, NameKey: strings.ToLower(w.Name), Description: w.Description,
		Category: w.Category, SubCategory: w.SubCategory, Department: w.Department, Status: string(w.Status),
		LowSLASecs: seconds(w.Low), MediumSLASecs: seconds(w.Medium), HighSLASecs: seconds(w.High), UrgentSLASecs: seconds(w.Urgent),
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt, SLAVersion: w.SLAVersion,
		Calendar: store.NullJSON(deref(w.Calendar, Calendar{}), w.Calendar != nil),
	}
}

func (row *workflowRow) toWorkflow() Workflow {
	w := Workflow{
		ID: row.ID, Name: row.Name, Description: row.Description,
		Category: row.Category, SubCategory: row.SubCategory, Department: row.Department, Status: Status(row.Status),
		SLAs: SLAs{
			Low: duration(row.LowSLASecs), Medium: duration(row.MediumSLASecs),
			High: duration(row.HighSLASecs), Urgent: duration(row.UrgentSLASecs),
		},
		CreatedAt: row.CreatedAt.UTC(), UpdatedAt: row.UpdatedAt.UTC(), SLAVersion: row.SLAVersion,
	}
	if row.Calendar != nil {
		c := row.Calendar.V
		w.Calendar = &c
	}
	return w
}

func seconds(d *Duration) *int64 {
	if d == nil {
		return nil
	}
	s := int64(time.Duration(*d) / time.Second)
	return &s
}

func duration(secs *int64) *Duration {
	if secs == nil {
		return nil
	}
	d := Duration(time.Duration(*secs) * time.Second)
	return &d
}

func toStepRow(s Step) *stepRow {
	return &stepRow{
		ID: s.ID, WorkflowID: s.WorkflowID, Name: s.Name, Description: s.Description, Instruction: s.Instruction,
		RoleID: s.RoleID, EscalateTo: s.EscalateTo, Weight: s.Weight, Order: s.Order,
		IsStart: s.IsStart, IsEnd: s.IsEnd, DesignX: s.Design.X, DesignY: s.Design.Y,
	}
}

func (row *stepRow) toStep() Step {
	return Step{
		ID: row.ID, WorkflowID: row.WorkflowID, Name: row.Name, Description: row.Description, Instruction: row.Instruction,
		RoleID: row.RoleID, EscalateTo: row.EscalateTo, Weight: row.Weight, Order: row.Order,
		IsStart: row.IsStart, IsEnd: row.IsEnd, Design: Design{X: row.DesignX, Y: row.DesignY},
	}
}

func (row *transitionRow) toTransition() Transition {
	return Transition{ID: row.ID, WorkflowID: row.WorkflowID, FromStepID: row.FromStepID, ToStepID: row.ToStepID, Name: row.Name}
}
