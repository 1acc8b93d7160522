package personal

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// processRow is the table model of a Process.
type processRow struct {
	bun.BaseModel `bun:"table:personal_processes,alias:pp"`

	ID            string     `bun:"id,pk"`
	OwnerID       string     `bun:"owner_id,notnull"`
	Name          string     `bun:"name,notnull"`
	Description   string     `bun:"description,type:text,notnull"`
	Trigger       string     `bun:"trigger_type,notnull"`
	Schedule      string     `bun:"schedule,notnull"`
	Event         string     `bun:"event,notnull"`
	Action        string     `bun:"action,notnull"`
	IsActive      bool       `bun:"is_active,notnull"`
	LastExecution *time.Time `bun:"last_execution"`
	LastTick      *time.Time `bun:"last_tick"`
	CreatedAt     time.Time  `bun:"created_at,notnull"`
}

// executionRow is the table model of an Execution.
type executionRow struct {
	bun.BaseModel `bun:"table:personal_process_executions,alias:pe"`

	ID          string     `bun:"id,pk"`
	ProcessID   string     `bun:"process_id,notnull"`
	Status      string     `bun:"status,notnull"`
	Message     string     `bun:"message,type:text,notnull"`
	StartedAt   time.Time  `bun:"started_at,notnull"`
	CompletedAt *time.Time `bun:"completed_at"`
	Tick        *time.Time `bun:"tick"`
}

// processMigrations creates the process tables from frozen models.
func processMigrations() []store.Migration {
	return []store.Migration{{
		ID:      "20261207400100",
		Comment: "personal: automated processes and their executions",
		Up: func(ctx context.Context, tx bun.Tx) error {
			type processRowV1 struct {
				bun.BaseModel `bun:"table:personal_processes"`

				ID            string     `bun:"id,pk"`
				OwnerID       string     `bun:"owner_id,notnull"`
				Name          string     `bun:"name,notnull"`
				Description   string     `bun:"description,type:text,notnull"`
				Trigger       string     `bun:"trigger_type,notnull"`
				Schedule      string     `bun:"schedule,notnull"`
				Action        string     `bun:"action,notnull"`
				IsActive      bool       `bun:"is_active,notnull"`
				LastExecution *time.Time `bun:"last_execution"`
				LastTick      *time.Time `bun:"last_tick"`
				CreatedAt     time.Time  `bun:"created_at,notnull"`
			}
			type executionRowV1 struct {
				bun.BaseModel `bun:"table:personal_process_executions"`

				ID          string     `bun:"id,pk"`
				ProcessID   string     `bun:"process_id,notnull"`
				Status      string     `bun:"status,notnull"`
				Message     string     `bun:"message,type:text,notnull"`
				StartedAt   time.Time  `bun:"started_at,notnull"`
				CompletedAt *time.Time `bun:"completed_at"`
				Tick        *time.Time `bun:"tick"`
			}
			if _, err := tx.NewCreateTable().Model((*processRowV1)(nil)).Exec(ctx); err != nil {
				return fmt.Errorf("create personal_processes: %w", err)
			}
			if _, err := tx.NewCreateTable().Model((*executionRowV1)(nil)).Exec(ctx); err != nil {
				return fmt.Errorf("create personal_process_executions: %w", err)
			}
			// The partial unique index is what keeps a process to one
			// running execution, across replicas too.
			return store.CreateIndexes(ctx, tx,
				store.Index{Table: "personal_processes", Name: "personal_processes_owner_idx", Columns: []string{"owner_id", "created_at"}},
				store.Index{Table: "personal_process_executions", Name: "personal_process_executions_process_idx", Columns: []string{"process_id", "started_at"}},
				store.Index{Table: "personal_process_executions", Name: "personal_process_executions_running_idx", Columns: []string{"process_id"}, Unique: true, Where: "status = 'running'"},
			)
		},
	}, {
		ID:      "20261215180000",
		Comment: "personal: the event of event-based processes",
		Up: func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, "ALTER TABLE personal_processes ADD COLUMN event VARCHAR(40) NOT NULL DEFAULT ''"); err != nil {
				return fmt.Errorf("add personal_processes.event: %w", err)
			}
			// An event looks up the active processes waiting for it.
			return store.CreateIndexes(ctx, tx,
				store.Index{Table: "personal_processes", Name: "personal_processes_event_idx", Columns: []string{"event", "owner_id"}},
			)
		},
	}}
}

// EventProcesses implements ProcessStore. It joins the transaction ctx
// carries: it is read in the event's.
func (s *BunStore) EventProcesses(ctx context.Context, ev Event, owner string) ([]Process, error) {
	var rows []processRow
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		q := tx.NewSelect().Model(&rows).
			Where("event = ?", string(ev)).Where("trigger_type = ?", string(EventBased)).Where("is_active = ?", true).
			OrderExpr("created_at, id")
		if owner != "" {
			q = q.Where("owner_id = ?", owner)
		}
		return q.Scan(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("processes waiting for %s: %w", ev, store.Translate(err))
	}
	out := make([]Process, len(rows))
	for i, r := range rows {
		out[i] = r.toProcess()
	}
	return out, nil
}

// EnsureProcess implements ProcessStore.
func (s *BunStore) EnsureProcess(ctx context.Context, p Process) error {
	if _, err := s.db.NewInsert().Model(toProcessRow(p)).On("CONFLICT (id) DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("ensure process: %w", store.Translate(err))
	}
	return nil
}

// InsertProcess implements ProcessStore. It joins the transaction ctx
// carries, in which CreateProcess also records the change.
func (s *BunStore) InsertProcess(ctx context.Context, p Process) error {
	return store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		if _, err := tx.NewInsert().Model(toProcessRow(p)).Exec(ctx); err != nil {
			return fmt.Errorf("insert process: %w", store.Translate(err))
		}
		return nil
	})
}

// Process implements ProcessStore.
func (s *BunStore) Process(ctx context.Context, id string) (Process, error) {
	var row processRow
	if err := store.ScanOne(ctx, s.db.NewSelect().Model(&row).Where("id = ?", id), "process %q not found", id); err != nil {
		return Process{}, err
	}
	return row.toProcess(), nil
}

// Processes implements ProcessStore.
func (s *BunStore) Processes(ctx context.Context, owner string, all bool) ([]Process, error) {
	var rows []processRow
	q := s.db.NewSelect().Model(&rows).OrderExpr("owner_id <> '', created_at, id")
	if !all {
		q = q.Where("owner_id IN (?)", bun.In([]string{"", owner}))
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list processes: %w", store.Translate(err))
	}
	out := make([]Process, len(rows))
	for i, r := range rows {
		out[i] = r.toProcess()
	}
	return out, nil
}

// CountProcesses implements ProcessStore.
func (s *BunStore) CountProcesses(ctx context.Context, owner string) (int, error) {
	var n int
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		count, err := tx.NewSelect().Model((*processRow)(nil)).Where("owner_id = ?", owner).Count(ctx)
		n = int(count)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("count processes: %w", store.Translate(err))
	}
	return n, nil
}

// ClaimTick implements ProcessStore. One conditional UPDATE: the database
// lets exactly one of several concurrent ones change the row.
func (s *BunStore) ClaimTick(ctx context.Context, id string, tick time.Time) (bool, error) {
	n, err := store.Exec(ctx, s.db.NewUpdate().Model((*processRow)(nil)).Set("last_tick = ?", tick).
		Where("id = ?", id).Where("last_tick IS NULL OR last_tick < ?", tick))
	if err != nil {
		return false, fmt.Errorf("claim process tick: %w", err)
	}
	return n == 1, nil
}

// StartExecution implements ProcessStore.
func (s *BunStore) StartExecution(ctx context.Context, e Execution) error {
	if _, err := s.db.NewInsert().Model(toExecutionRow(e)).Exec(ctx); err != nil {
		err = store.Translate(err)
		if errs.KindOf(err) == errs.Conflict {
			return errs.Wrap(errs.Conflict, err, "the process is running already")
		}
		return fmt.Errorf("start execution: %w", err)
	}
	return nil
}

// FinishExecution implements ProcessStore.
func (s *BunStore) FinishExecution(ctx context.Context, e Execution) error {
	return store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		q := tx.NewUpdate().Model(toExecutionRow(e)).WherePK().Column("status", "message", "completed_at")
		if err := store.ExecOne(ctx, q, "execution %q not found", e.ID); err != nil {
			return fmt.Errorf("finish execution: %w", err)
		}
		_, err := tx.NewUpdate().Model((*processRow)(nil)).Set("last_execution = ?", e.StartedAt).Where("id = ?", e.ProcessID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("record last execution: %w", store.Translate(err))
		}
		return nil
	})
}

// FailStale implements ProcessStore.
func (s *BunStore) FailStale(ctx context.Context, id string, cutoff time.Time, message string) error {
	_, err := s.db.NewUpdate().Model((*executionRow)(nil)).
		Set("status = ?", string(ExecutionFailed)).Set("message = ?", message).Set("completed_at = ?", cutoff).
		Where("process_id = ?", id).Where("status = ?", string(ExecutionRunning)).Where("started_at < ?", cutoff).Exec(ctx)
	if err != nil {
		return fmt.Errorf("fail stale executions: %w", store.Translate(err))
	}
	return nil
}

// Executions implements ProcessStore.
func (s *BunStore) Executions(ctx context.Context, id string, limit, offset int) ([]Execution, int, error) {
	var rows []executionRow
	n, err := s.db.NewSelect().Model(&rows).Where("process_id = ?", id).OrderExpr("started_at DESC, id DESC").
		Limit(int64(limit)).Offset(int64(offset)).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list executions: %w", store.Translate(err))
	}
	out := make([]Execution, len(rows))
	for i, r := range rows {
		out[i] = r.toExecution()
	}
	return out, int(n), nil
}

// DueBetween implements ProcessStore.
func (s *BunStore) DueBetween(ctx context.Context, owner string, from, to time.Time, limit int) ([]Task, error) {
	var rows []taskRow
	q := s.db.NewSelect().Model(&rows).Where("status <> ?", string(Completed)).
		Where("due_date >= ?", from).Where("due_date < ?", to).OrderExpr("owner_id, due_date, id").Limit(int64(limit))
	if owner != "" {
		q = q.Where("owner_id = ?", owner)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list tasks due: %w", store.Translate(err))
	}
	return s.withTags(ctx, rows)
}

func toProcessRow(p Process) *processRow {
	return &processRow{
		ID: p.ID, OwnerID: p.OwnerID, Name: p.Name, Description: p.Description, Trigger: string(p.Trigger),
		Schedule: p.Schedule, Event: string(p.Event), Action: string(p.Action), IsActive: p.IsActive, LastExecution: p.LastExecution,
		LastTick: p.LastTick, CreatedAt: p.CreatedAt,
	}
}

func (r processRow) toProcess() Process {
	return Process{
		ID: r.ID, OwnerID: r.OwnerID, Name: r.Name, Description: r.Description, Trigger: Trigger(r.Trigger),
		Schedule: r.Schedule, Event: Event(r.Event), Action: Action(r.Action), IsActive: r.IsActive, LastExecution: store.UTC(r.LastExecution),
		LastTick: store.UTC(r.LastTick), CreatedAt: r.CreatedAt.UTC(),
	}
}

func toExecutionRow(e Execution) *executionRow {
	return &executionRow{ID: e.ID, ProcessID: e.ProcessID, Status: string(e.Status), Message: e.Message,
		StartedAt: e.StartedAt, CompletedAt: e.CompletedAt, Tick: e.Tick}
}

func (r executionRow) toExecution() Execution {
	return Execution{ID: r.ID, ProcessID: r.ProcessID, Status: ExecutionStatus(r.Status), Message: r.Message,
		StartedAt: r.StartedAt.UTC(), CompletedAt: store.UTC(r.CompletedAt), Tick: store.UTC(r.Tick)}
}

// chatRow is one stored chat message.
type chatRow struct {
	bun.BaseModel `bun:"table:personal_chat_messages,alias:pc"`

	ID        int64     `bun:"id,pk,autoincrement"`
	OwnerID   string    `bun:"owner_id,notnull"`
	SessionID string    `bun:"session_id,notnull"`
	Role      string    `bun:"role,notnull"`
	Content   string    `bun:"content,type:text,notnull"`
	At        time.Time `bun:"at,notnull"`
}

// chatMigrations creates the chat table from a frozen model.
func chatMigrations() []store.Migration {
	return []store.Migration{{
		ID:      "20261207400200",
		Comment: "personal: chat sessions",
		Up: func(ctx context.Context, tx bun.Tx) error {
			type chatRowV1 struct {
				bun.BaseModel `bun:"table:personal_chat_messages"`

				ID        int64     `bun:"id,pk,autoincrement"`
				OwnerID   string    `bun:"owner_id,notnull"`
				SessionID string    `bun:"session_id,notnull"`
				Role      string    `bun:"role,notnull"`
				Content   string    `bun:"content,type:text,notnull"`
				At        time.Time `bun:"at,notnull"`
			}
			if _, err := tx.NewCreateTable().Model((*chatRowV1)(nil)).Exec(ctx); err != nil {
				return fmt.Errorf("create personal_chat_messages: %w", err)
			}
			return store.CreateIndexes(ctx, tx,
				store.Index{Table: "personal_chat_messages", Name: "personal_chat_messages_session_idx", Columns: []string{"owner_id", "session_id", "id"}})
		},
	}}
}

// ChatHistory implements ChatStore.
func (s *BunStore) ChatHistory(ctx context.Context, owner, session string, limit int) ([]ChatMessage, error) {
	var rows []chatRow
	err := s.db.NewSelect().Model(&rows).Where("owner_id = ?", owner).Where("session_id = ?", session).
		OrderExpr("id DESC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("read chat history: %w", store.Translate(err))
	}
	out := make([]ChatMessage, len(rows))
	for i, r := range rows {
		out[len(rows)-1-i] = ChatMessage{Role: r.Role, Content: r.Content, At: r.At.UTC()}
	}
	return out, nil
}

// AppendChat implements ChatStore.
func (s *BunStore) AppendChat(ctx context.Context, owner, session string, msgs []ChatMessage, keep int) error {
	return store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		rows := make([]chatRow, len(msgs))
		for i, m := range msgs {
			rows[i] = chatRow{OwnerID: owner, SessionID: session, Role: m.Role, Content: m.Content, At: m.At}
		}
		if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
			return fmt.Errorf("store chat messages: %w", store.Translate(err))
		}
		// The oldest message to keep; SQLite has no OFFSET without LIMIT.
		var oldest []int64
		err := tx.NewSelect().Model((*chatRow)(nil)).Column("id").Where("owner_id = ?", owner).Where("session_id = ?", session).
			OrderExpr("id DESC").Limit(1).Offset(int64(keep-1)).Scan(ctx, &oldest)
		if err != nil {
			return fmt.Errorf("prune chat history: %w", store.Translate(err))
		}
		if len(oldest) == 0 {
			return nil
		}
		_, err = tx.NewDelete().Model((*chatRow)(nil)).Where("owner_id = ?", owner).Where("session_id = ?", session).
			Where("id < ?", oldest[0]).Exec(ctx)
		if err != nil {
			return fmt.Errorf("prune chat history: %w", store.Translate(err))
		}
		return nil
	})
}
