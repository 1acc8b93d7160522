package workflow

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/bugflow/bugflow/internal/store"
)

// taskRow is the table model of a Task. SearchText is the lower-case text
// that all-tasks search matches: subject, description and the username of
// everyone ever assigned, kept in one column so that one index serves it.
type taskRow struct {
	bun.BaseModel `bun:"table:workflow_tasks,alias:tk"`

	ID               int64      `bun:"id,pk,autoincrement"`
	WorkflowID       int64      `bun:"workflow_id,notnull"`
	TicketID         string     `bun:"ticket_id,notnull"`
	Subject          string     `bun:"subject,type:text,notnull"`
	Description      string     `bun:"description,type:text,notnull"`
	Priority         string     `bun:"priority,notnull"`
	Status           string     `bun:"status,notnull"`
	CurrentStepID    int64      `bun:"current_step_id,notnull"`
	TicketOwnerID    *string    `bun:"ticket_owner_id"`
	TargetResolution *time.Time `bun:"target_resolution"`
	SearchText       string     `bun:"search_text,type:text,notnull"`
	CreatedAt        time.Time  `bun:"created_at,notnull"`
	UpdatedAt        time.Time  `bun:"updated_at,notnull"`
	ResolvedAt       *time.Time `bun:"resolved_at"`
	SLALevel         int        `bun:"sla_level,notnull"`
	BreachedAt       *time.Time `bun:"breached_at"`
	SLAVersion       int        `bun:"sla_version,notnull"`
	PausedSeconds    int64      `bun:"paused_seconds,notnull"`
	PausedAt         *time.Time `bun:"paused_at"`

	CurrentStepName string `bun:"current_step_name,scanonly"`
}

// assignmentRow is the table model of an Assignment (a task item).
// RoleKey is the role name folded by Go, for the my-tasks role filter in
// any case on both engines.
type assignmentRow struct {
	bun.BaseModel `bun:"table:workflow_task_items,alias:ti"`

	ID               int64      `bun:"id,pk,autoincrement"`
	TaskID           int64      `bun:"task_id,notnull"`
	UserID           string     `bun:"user_id,notnull"`
	Username         string     `bun:"username,notnull"`
	RoleID           int64      `bun:"role_id,notnull"`
	RoleName         string     `bun:"role_name,notnull"`
	RoleKey          string     `bun:"role_key,notnull"`
	StepID           int64      `bun:"step_id,notnull"`
	Status           string     `bun:"status,notnull"`
	Origin           string     `bun:"origin,notnull"`
	Notes            string     `bun:"notes,type:text,notnull"`
	TargetResolution *time.Time `bun:"target_resolution"`
	AssignedAt       time.Time  `bun:"assigned_at,notnull"`
	ActedAt          *time.Time `bun:"acted_at"`
	SLALevel         int        `bun:"sla_level,notnull"`
	PausedSeconds    int64      `bun:"paused_seconds,notnull"`
}

// logRow is the table model of a LogEntry.
type logRow struct {
	bun.BaseModel `bun:"table:workflow_task_logs,alias:tl"`

	ID        int64     `bun:"id,pk,autoincrement"`
	TaskID    int64     `bun:"task_id,notnull"`
	UserID    *string   `bun:"user_id"`
	Username  string    `bun:"username,notnull"`
	Action    string    `bun:"action,notnull"`
	StepID    int64     `bun:"step_id,notnull"`
	Notes     string    `bun:"notes,type:text,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`

	StepName string `bun:"step_name,scanonly"`
}

// turnRow is a role's round-robin counter.
type turnRow struct {
	bun.BaseModel `bun:"table:workflow_role_turns,alias:rt"`

	RoleID int64 `bun:"role_id,pk"`
	Turns  int64 `bun:"turns,notnull"`
}

// activeStatuses are the assignment statuses whose holder may act, as SQL
// values.
var activeStatuses = []string{string(AssignmentNew), string(AssignmentInProgress)}

// workableStatuses are the statuses whose holder may move the task on
// (AssignmentStatus.Workable): a task with one is someone's.
var workableStatuses = []string{string(AssignmentNew), string(AssignmentInProgress), string(AssignmentBreached)}

// taskMigration creates the task engine's tables from frozen models.
var taskMigration = store.Migration{
	ID:      "20261207100000",
	Comment: "workflow: tasks, task items, task history, round-robin turns",
	Up: func(ctx context.Context, tx bun.Tx) error {
		type taskRowV1 struct {
			bun.BaseModel `bun:"table:workflow_tasks"`

			ID               int64      `bun:"id,pk,autoincrement"`
			WorkflowID       int64      `bun:"workflow_id,notnull"`
			TicketID         string     `bun:"ticket_id,notnull"`
			Subject          string     `bun:"subject,type:text,notnull"`
			Description      string     `bun:"description,type:text,notnull"`
			Priority         string     `bun:"priority,notnull"`
			Status           string     `bun:"status,notnull"`
			CurrentStepID    int64      `bun:"current_step_id,notnull"`
			TicketOwnerID    *string    `bun:"ticket_owner_id"`
			TargetResolution *time.Time `bun:"target_resolution"`
			SearchText       string     `bun:"search_text,type:text,notnull"`
			CreatedAt        time.Time  `bun:"created_at,notnull"`
			UpdatedAt        time.Time  `bun:"updated_at,notnull"`
			ResolvedAt       *time.Time `bun:"resolved_at"`
		}
		type assignmentRowV1 struct {
			bun.BaseModel `bun:"table:workflow_task_items"`

			ID               int64      `bun:"id,pk,autoincrement"`
			TaskID           int64      `bun:"task_id,notnull"`
			UserID           string     `bun:"user_id,notnull"`
			Username         string     `bun:"username,notnull"`
			RoleID           int64      `bun:"role_id,notnull"`
			RoleName         string     `bun:"role_name,notnull"`
			RoleKey          string     `bun:"role_key,notnull"`
			StepID           int64      `bun:"step_id,notnull"`
			Status           string     `bun:"status,notnull"`
			Origin           string     `bun:"origin,notnull"`
			Notes            string     `bun:"notes,type:text,notnull"`
			TargetResolution *time.Time `bun:"target_resolution"`
			AssignedAt       time.Time  `bun:"assigned_at,notnull"`
			ActedAt          *time.Time `bun:"acted_at"`
		}
		type logRowV1 struct {
			bun.BaseModel `bun:"table:workflow_task_logs"`

			ID        int64     `bun:"id,pk,autoincrement"`
			TaskID    int64     `bun:"task_id,notnull"`
			UserID    *string   `bun:"user_id"`
			Username  string    `bun:"username,notnull"`
			Action    string    `bun:"action,notnull"`
			StepID    int64     `bun:"step_id,notnull"`
			Notes     string    `bun:"notes,type:text,notnull"`
			CreatedAt time.Time `bun:"created_at,notnull"`
		}
		type turnRowV1 struct {
			bun.BaseModel `bun:"table:workflow_role_turns"`

			RoleID int64 `bun:"role_id,pk"`
			Turns  int64 `bun:"turns,notnull"`
		}
		// A task stands on its workflow and step: RESTRICT keeps them
		// while it does (the definitions service also refuses the change
		// with a Conflict naming the reason, before the database would).
		if _, err := tx.NewCreateTable().Model((*taskRowV1)(nil)).
			ForeignKey(`("workflow_id") REFERENCES "workflow_workflows" ("id") ON DELETE RESTRICT`).
			ForeignKey(`("current_step_id") REFERENCES "workflow_steps" ("id") ON DELETE RESTRICT`).
			Exec(ctx); err != nil {
			return fmt.Errorf("create workflow_tasks: %w", err)
		}
		if _, err := tx.NewCreateTable().Model((*assignmentRowV1)(nil)).
			ForeignKey(`("task_id") REFERENCES "workflow_tasks" ("id") ON DELETE CASCADE`).
			ForeignKey(`("step_id") REFERENCES "workflow_steps" ("id") ON DELETE RESTRICT`).
			Exec(ctx); err != nil {
			return fmt.Errorf("create workflow_task_items: %w", err)
		}
		if _, err := tx.NewCreateTable().Model((*logRowV1)(nil)).
			ForeignKey(`("task_id") REFERENCES "workflow_tasks" ("id") ON DELETE CASCADE`).
			ForeignKey(`("step_id") REFERENCES "workflow_steps" ("id") ON DELETE RESTRICT`).
			Exec(ctx); err != nil {
			return fmt.Errorf("create workflow_task_logs: %w", err)
		}
		if _, err := tx.NewCreateTable().Model((*turnRowV1)(nil)).Exec(ctx); err != nil {
			return fmt.Errorf("create workflow_role_turns: %w", err)
		}
		if err := store.CreateIndexes(ctx, tx,
			// CountTasks, and the RESTRICT checks of deleting workflows
			// and steps.
			store.Index{Table: "workflow_tasks", Name: "workflow_tasks_workflow_idx", Columns: []string{"workflow_id"}},
			store.Index{Table: "workflow_tasks", Name: "workflow_tasks_step_idx", Columns: []string{"current_step_id"}},
			// owned-tickets, newest first.
			store.Index{Table: "workflow_tasks", Name: "workflow_tasks_owner_idx", Columns: []string{"ticket_owner_id", "id"}},
			// all-tasks tabs, newest first.
			store.Index{Table: "workflow_tasks", Name: "workflow_tasks_status_idx", Columns: []string{"status", "id"}},
			// a ticket's task.
			store.Index{Table: "workflow_tasks", Name: "workflow_tasks_ticket_idx", Columns: []string{"ticket_id"}, Where: "ticket_id <> ''"},
			// a task's assignments; the tabs' "has an active one".
			store.Index{Table: "workflow_task_items", Name: "workflow_task_items_task_idx", Columns: []string{"task_id", "status"}},
			// my-tasks, newest first.
			store.Index{Table: "workflow_task_items", Name: "workflow_task_items_user_idx", Columns: []string{"user_id", "id"}},
			store.Index{Table: "workflow_task_items", Name: "workflow_task_items_step_idx", Columns: []string{"step_id"}},
			store.Index{Table: "workflow_task_logs", Name: "workflow_task_logs_task_idx", Columns: []string{"task_id", "id"}},
			store.Index{Table: "workflow_task_logs", Name: "workflow_task_logs_step_idx", Columns: []string{"step_id"}},
		); err != nil {
			return err
		}
		if tx.Dialect().Name() == dialect.PG {
			return trigramIndex(ctx, tx)
		}
		return nil
	},
}

// trigramIndex gives all-tasks search (a LIKE '%…%' on search_text) a
// pg_trgm GIN index. Creating the extension needs a superuser, or, since
// PostgreSQL 13 where pg_trgm is trusted, CREATE on the database; a role
// with neither gets no index: search then scans the table, slower but
// right, and the migration does not fail. A savepoint keeps the failed
// statement from aborting the migration's transaction.
func trigramIndex(ctx context.Context, tx bun.Tx) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT workflow_trgm"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	_, err := tx.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS pg_trgm")
	if err == nil {
		_, err = tx.ExecContext(ctx, "CREATE INDEX IF NOT EXISTS workflow_tasks_search_trgm_idx ON workflow_tasks USING gin (search_text gin_trgm_ops)")
	}
	if err != nil {
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT workflow_trgm"); rerr != nil {
			return fmt.Errorf("roll back to savepoint: %w", rerr)
		}
		return nil
	}
	_, err = tx.ExecContext(ctx, "RELEASE SAVEPOINT workflow_trgm")
	return err
}

// TaskWorkflow implements TaskStore.
func (s *BunStore) TaskWorkflow(ctx context.Context, id int64) (Workflow, error) {
	return (&BunStore{db: s.db}).GetWorkflow(ctx, id)
}

// CountTasks implements TaskStore; the Service uses it as its TaskCounter
// unless Config.Tasks says otherwise.
func (s *BunStore) CountTasks(ctx context.Context, workflowID int64) (int, error) {
	n, err := s.db.NewSelect().Model((*taskRow)(nil)).Where("workflow_id = ?", workflowID).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count tasks: %w", store.Translate(err))
	}
	return int(n), nil
}

// InsertTask implements TaskStore.
func (s *BunStore) InsertTask(ctx context.Context, t *Task, search string) error {
	row := toTaskRow(*t)
	row.SearchText = search
	if _, err := s.db.NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("insert task: %w", store.Translate(err))
	}
	t.ID = row.ID
	return nil
}

// taskSelect selects tasks with their current step's name.
func (s *BunStore) taskSelect(rows any) *bun.SelectQuery {
	return s.db.NewSelect().Model(rows).ColumnExpr("tk.*").ColumnExpr("s.name AS current_step_name").
		Join("JOIN workflow_steps AS s ON s.id = tk.current_step_id")
}

// GetTask implements TaskStore.
func (s *BunStore) GetTask(ctx context.Context, id int64) (Task, error) {
	var row taskRow
	if err := store.ScanOne(ctx, s.taskSelect(&row).Where("tk.id = ?", id), "task %d not found", id); err != nil {
		return Task{}, fmt.Errorf("get task: %w", err)
	}
	return row.toTask(), nil
}

// LockTask implements TaskStore. The row is locked by a query of its own
// table only: PostgreSQL re-checks a locked row that changed against the
// query's joins with the rows it read before, so a lock taken through the
// join with the task's step finds no row once a transition moved it.
func (s *BunStore) LockTask(ctx context.Context, id int64) (Task, error) {
	if s.lockRows {
		var locked []int64
		if err := s.db.NewSelect().Model((*taskRow)(nil)).Column("id").Where("id = ?", id).For("UPDATE").Scan(ctx, &locked); err != nil {
			return Task{}, fmt.Errorf("lock task: %w", store.Translate(err))
		}
	}
	return s.GetTask(ctx, id)
}

// UpdateTask implements TaskStore.
func (s *BunStore) UpdateTask(ctx context.Context, t Task) error {
	q := s.db.NewUpdate().Model(toTaskRow(t)).WherePK().
		Column("subject", "description", "priority", "status", "current_step_id", "ticket_owner_id", "target_resolution", "updated_at", "resolved_at",
			"sla_version", "paused_seconds", "paused_at")
	if err := store.ExecOne(ctx, q, "task %d not found", t.ID); err != nil {
		return fmt.Errorf("update task: %w", err)
	}
	return nil
}

// AddSearchText implements TaskStore.
func (s *BunStore) AddSearchText(ctx context.Context, taskID int64, text string) error {
	q := s.db.NewUpdate().Model((*taskRow)(nil)).Set("search_text = search_text || ?", "\n"+text).Where("id = ?", taskID)
	if err := store.ExecOne(ctx, q, "task %d not found", taskID); err != nil {
		return fmt.Errorf("add search text: %w", err)
	}
	return nil
}

// SetSearchText implements TaskStore.
func (s *BunStore) SetSearchText(ctx context.Context, taskID int64, text string) error {
	q := s.db.NewUpdate().Model((*taskRow)(nil)).Set("search_text = ?", text).Where("id = ?", taskID)
	if err := store.ExecOne(ctx, q, "task %d not found", taskID); err != nil {
		return fmt.Errorf("set search text: %w", err)
	}
	return nil
}

// DeleteTask implements TaskStore.
func (s *BunStore) DeleteTask(ctx context.Context, id int64) error {
	q := s.db.NewDelete().Model((*taskRow)(nil)).Where("id = ?", id)
	if err := store.ExecOne(ctx, q, "task %d not found", id); err != nil {
		return fmt.Errorf("delete task: %w", err)
	}
	return nil
}

// hasActive is the SQL condition that a task has an active assignment.
const hasActive = "EXISTS (SELECT 1 FROM workflow_task_items AS a WHERE a.task_id = tk.id AND a.status IN (?))"

// ListTasks implements TaskStore.
func (s *BunStore) ListTasks(ctx context.Context, f TaskFilter, limit, offset int) ([]Task, int, error) {
	var rows []taskRow
	q := s.taskSelect(&rows).OrderExpr("tk.id DESC")
	switch f.Tab {
	case TabActive:
		q = q.Where("tk.status <> ?", TaskResolved).Where(hasActive, bun.In(workableStatuses))
	case TabInactive:
		q = q.Where("tk.status = ?", TaskResolved)
	case TabUnassigned:
		q = q.Where("tk.status <> ?", TaskResolved).Where("NOT "+hasActive, bun.In(workableStatuses))
	}
	if f.Search != "" {
		q = q.Where(`tk.search_text LIKE ? ESCAPE '\'`, "%"+escapeLike(f.Search)+"%")
	}
	if f.OwnerID != nil {
		q = q.Where("tk.ticket_owner_id = ?", *f.OwnerID)
	}
	if f.VisibleTo != nil {
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("tk.ticket_owner_id = ?", *f.VisibleTo).
				WhereOr("EXISTS (SELECT 1 FROM workflow_task_items AS v WHERE v.task_id = tk.id AND v.user_id = ?)", *f.VisibleTo)
		})
	}
	total, err := store.Page{Limit: limit, Offset: offset}.Apply(q).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list tasks: %w", store.Translate(err))
	}
	out := make([]Task, len(rows))
	for i := range rows {
		out[i] = rows[i].toTask()
	}
	return out, int(total), nil
}

// escapeLike escapes LIKE's wildcards (and its escape character) in s.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// InsertAssignment implements TaskStore.
func (s *BunStore) InsertAssignment(ctx context.Context, a *Assignment) error {
	row := toAssignmentRow(*a)
	if _, err := s.db.NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("insert task item: %w", store.Translate(err))
	}
	a.ID = row.ID
	return nil
}

// GetAssignment implements TaskStore.
func (s *BunStore) GetAssignment(ctx context.Context, id int64) (Assignment, error) {
	var row assignmentRow
	if err := store.ScanOne(ctx, s.db.NewSelect().Model(&row).Where("id = ?", id), "task item %d not found", id); err != nil {
		return Assignment{}, fmt.Errorf("get task item: %w", err)
	}
	return row.toAssignment(), nil
}

// UpdateAssignment implements TaskStore.
func (s *BunStore) UpdateAssignment(ctx context.Context, a Assignment) error {
	q := s.db.NewUpdate().Model(toAssignmentRow(a)).WherePK().Column("status", "notes", "acted_at", "target_resolution", "paused_seconds")
	if err := store.ExecOne(ctx, q, "task item %d not found", a.ID); err != nil {
		return fmt.Errorf("update task item: %w", err)
	}
	return nil
}

// Assignments implements TaskStore.
func (s *BunStore) Assignments(ctx context.Context, taskIDs ...int64) ([]Assignment, error) {
	if len(taskIDs) == 0 {
		return []Assignment{}, nil
	}
	var rows []assignmentRow
	if err := s.db.NewSelect().Model(&rows).Where("task_id IN (?)", bun.In(taskIDs)).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list task items: %w", store.Translate(err))
	}
	out := make([]Assignment, len(rows))
	for i := range rows {
		out[i] = rows[i].toAssignment()
	}
	return out, nil
}

// UserAssignments implements TaskStore.
func (s *BunStore) UserAssignments(ctx context.Context, userID string, f MyTasksFilter, limit, offset int) ([]MyTask, int, error) {
	var rows []assignmentRow
	q := s.db.NewSelect().Model(&rows).Where("ti.user_id = ?", userID).OrderExpr("ti.id DESC")
	if f.Role != "" {
		q = q.Where("ti.role_key = ?", strings.ToLower(strings.TrimSpace(f.Role)))
	}
	if f.AssignmentStatus != "" {
		q = q.Where("ti.status = ?", f.AssignmentStatus)
	}
	if f.WorkflowID != 0 {
		q = q.Where("EXISTS (SELECT 1 FROM workflow_tasks AS w WHERE w.id = ti.task_id AND w.workflow_id = ?)", f.WorkflowID)
	}
	total, err := store.Page{Limit: limit, Offset: offset}.Apply(q).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list user task items: %w", store.Translate(err))
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.TaskID
	}
	tasks := map[int64]Task{}
	if len(ids) > 0 {
		var trows []taskRow
		if err := s.taskSelect(&trows).Where("tk.id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
			return nil, 0, fmt.Errorf("list user tasks: %w", store.Translate(err))
		}
		for i := range trows {
			tasks[trows[i].ID] = trows[i].toTask()
		}
	}
	out := make([]MyTask, len(rows))
	for i := range rows {
		out[i] = MyTask{Assignment: rows[i].toAssignment(), Task: tasks[rows[i].TaskID]}
	}
	return out, int(total), nil
}

// InsertLog implements TaskStore.
func (s *BunStore) InsertLog(ctx context.Context, e *LogEntry) error {
	row := &logRow{TaskID: e.TaskID, UserID: e.UserID, Username: e.Username, Action: e.Action, StepID: e.StepID, Notes: e.Notes, CreatedAt: e.At}
	if _, err := s.db.NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("insert task log: %w", store.Translate(err))
	}
	e.ID = row.ID
	return nil
}

// Logs implements TaskStore.
func (s *BunStore) Logs(ctx context.Context, taskID int64, limit, offset int) ([]LogEntry, int, error) {
	var rows []logRow
	q := s.db.NewSelect().Model(&rows).ColumnExpr("tl.*").ColumnExpr("s.name AS step_name").
		Join("JOIN workflow_steps AS s ON s.id = tl.step_id").Where("tl.task_id = ?", taskID).Order("tl.id")
	total, err := store.Page{Limit: limit, Offset: offset}.Apply(q).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list task logs: %w", store.Translate(err))
	}
	out := make([]LogEntry, len(rows))
	for i, r := range rows {
		out[i] = LogEntry{ID: r.ID, TaskID: r.TaskID, UserID: r.UserID, Username: r.Username, Action: r.Action,
			StepID: r.StepID, StepName: r.StepName, Notes: r.Notes, At: r.CreatedAt.UTC()}
	}
	return out, int(total), nil
}

// NextTurn implements TaskStore. One upsert both creates the counter and
// counts on it; its row lock (PostgreSQL) or the write lock (SQLite) makes
// concurrent intakes take distinct turns.
func (s *BunStore) NextTurn(ctx context.Context, roleID int64) (int64, error) {
	row := &turnRow{RoleID: roleID, Turns: 1}
	var turns int64
	err := s.db.NewInsert().Model(row).
		On("CONFLICT (role_id) DO UPDATE").Set("turns = rt.turns + 1").
		Returning("turns").Scan(ctx, &turns)
	if err != nil {
		return 0, fmt.Errorf("next turn of role %d: %w", roleID, store.Translate(err))
	}
	return turns, nil
}

func toTaskRow(t Task) *taskRow {
	return &taskRow{
		ID: t.ID, WorkflowID: t.WorkflowID, TicketID: t.TicketID, Subject: t.Subject, Description: t.Description,
		Priority: string(t.Priority), Status: string(t.Status), CurrentStepID: t.CurrentStep.ID, TicketOwnerID: t.TicketOwnerID,
		TargetResolution: t.TargetResolution, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, ResolvedAt: t.ResolvedAt,
		SLAVersion: t.SLAVersion, PausedSeconds: t.PausedSeconds, PausedAt: t.PausedAt,
	}
}

func (row *taskRow) toTask() Task {
	return Task{
		ID: row.ID, WorkflowID: row.WorkflowID, TicketID: row.TicketID, Subject: row.Subject, Description: row.Description,
		Priority: Priority(row.Priority), Status: TaskStatus(row.Status),
		CurrentStep: StepRef{ID: row.CurrentStepID, Name: row.CurrentStepName}, TicketOwnerID: row.TicketOwnerID,
		TargetResolution: store.UTC(row.TargetResolution), CreatedAt: row.CreatedAt.UTC(), UpdatedAt: row.UpdatedAt.UTC(), ResolvedAt: store.UTC(row.ResolvedAt),
		SLAState: slaState(row.SLALevel), BreachedAt: store.UTC(row.BreachedAt),
		SLAVersion: row.SLAVersion, PausedSeconds: row.PausedSeconds, PausedAt: store.UTC(row.PausedAt),
	}
}

func toAssignmentRow(a Assignment) *assignmentRow {
	return &assignmentRow{
		ID: a.ID, TaskID: a.TaskID, UserID: a.UserID, Username: a.Username, RoleID: a.RoleID, RoleName: a.RoleName,
		RoleKey: strings.ToLower(a.RoleName), StepID: a.StepID, Status: string(a.Status), Origin: string(a.Origin), Notes: a.Notes,
		TargetResolution: a.TargetResolution, AssignedAt: a.AssignedAt, ActedAt: a.ActedAt, PausedSeconds: a.PausedSeconds,
	}
}

func (row *assignmentRow) toAssignment() Assignment {
	return Assignment{
		ID: row.ID, TaskID: row.TaskID, UserID: row.UserID, Username: row.Username, RoleID: row.RoleID, RoleName: row.RoleName,
		StepID: row.StepID, Status: AssignmentStatus(row.Status), Origin: Origin(row.Origin), Notes: row.Notes,
		TargetResolution: store.UTC(row.TargetResolution), AssignedAt: row.AssignedAt.UTC(), ActedAt: store.UTC(row.ActedAt),
		SLAState: slaState(row.SLALevel), PausedSeconds: row.PausedSeconds,
	}
}
