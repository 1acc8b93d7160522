package tickets

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/workflow"
)

// ticketRow is the table model of a Ticket. The employee is stored in
// three columns, all null for a ticket without one.
type ticketRow struct {
	bun.BaseModel `bun:"table:tickets,alias:t"`

	ID            int64     `bun:"id,pk,autoincrement"`
	TicketID      string    `bun:"ticket_id,notnull"`
	Subject       string    `bun:"subject,notnull"`
	Description   string    `bun:"description,type:text,notnull"`
	Category      string    `bun:"category,notnull"`
	SubCategory   string    `bun:"sub_category,notnull"`
	Department    string    `bun:"department,notnull"`
	Priority      string    `bun:"priority,notnull"`
	Status        string    `bun:"status,notnull"`
	EmployeeID    *int64    `bun:"employee_id"`
	EmployeeName  *string   `bun:"employee_name"`
	EmployeeEmail *string   `bun:"employee_email"`
	SubmittedBy   *string   `bun:"submitted_by"`
	OwnerID       *string   `bun:"owner_id"`
	TaskID        *int64    `bun:"task_id"`
	WorkflowID    *int64    `bun:"workflow_id"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	UpdatedAt     time.Time `bun:"updated_at,notnull"`
}

// Migrations returns the schema of tickets. Each migration creates tables
// from its own frozen model, never from ticketRow.
func Migrations() []store.Migration {
	return []store.Migration{{
		ID:      "20261207110000",
		Comment: "tickets: tickets",
		Up: func(ctx context.Context, tx bun.Tx) error {
			type ticketRowV1 struct {
				bun.BaseModel `bun:"table:tickets"`

				ID            int64     `bun:"id,pk,autoincrement"`
				TicketID      string    `bun:"ticket_id,notnull"`
				Subject       string    `bun:"subject,notnull"`
				Description   string    `bun:"description,type:text,notnull"`
				Category      string    `bun:"category,notnull"`
				SubCategory   string    `bun:"sub_category,notnull"`
				Department    string    `bun:"department,notnull"`
				Priority      string    `bun:"priority,notnull"`
				Status        string    `bun:"status,notnull"`
				EmployeeID    *int64    `bun:"employee_id"`
				EmployeeName  *string   `bun:"employee_name"`
				EmployeeEmail *string   `bun:"employee_email"`
				SubmittedBy   *string   `bun:"submitted_by"`
				OwnerID       *string   `bun:"owner_id"`
				TaskID        *int64    `bun:"task_id"`
				WorkflowID    *int64    `bun:"workflow_id"`
				CreatedAt     time.Time `bun:"created_at,notnull"`
				UpdatedAt     time.Time `bun:"updated_at,notnull"`
			}
			if _, err := tx.NewCreateTable().Model((*ticketRowV1)(nil)).Exec(ctx); err != nil {
				return fmt.Errorf("create tickets: %w", err)
			}
			// Lists are newest first (id order); a user who sees only
			// their own tickets reads them through the submitter and
			// owner indexes.
			return store.CreateIndexes(ctx, tx,
				store.Index{Table: "tickets", Name: "tickets_ticket_id_idx", Columns: []string{"ticket_id"}, Unique: true},
				store.Index{Table: "tickets", Name: "tickets_status_idx", Columns: []string{"status", "id"}},
				store.Index{Table: "tickets", Name: "tickets_submitted_by_idx", Columns: []string{"submitted_by", "id"}},
				store.Index{Table: "tickets", Name: "tickets_owner_idx", Columns: []string{"owner_id", "id"}},
			)
		},
	}}
}

// BunStore is the bun implementation of Store.
type BunStore struct {
	db bun.IDB
	// lockRows is set in a PostgreSQL transaction: Get locks the row.
	// SQLite transactions hold the database's write lock already.
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

// Insert implements Store. A colliding ticket id is skipped by ON CONFLICT
// rather than failed: on PostgreSQL a failed statement would abort the
// transaction that intake shares.
func (s *BunStore) Insert(ctx context.Context, t *Ticket) (bool, error) {
	row := toRow(*t)
	var ids []int64
	err := s.db.NewInsert().Model(row).On("CONFLICT (ticket_id) DO NOTHING").Returning("id").Scan(ctx, &ids)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("insert ticket: %w", store.Translate(err))
	}
	if len(ids) == 0 {
		return false, nil
	}
	t.ID = ids[0]
	return true, nil
}

// Get implements Store.
func (s *BunStore) Get(ctx context.Context, id int64) (Ticket, error) {
	return s.get(ctx, "id = ?", id, fmt.Sprintf("ticket %d not found", id))
}

// GetByTicketID implements Store.
func (s *BunStore) GetByTicketID(ctx context.Context, ticketID string) (Ticket, error) {
	return s.get(ctx, "ticket_id = ?", ticketID, fmt.Sprintf("ticket %q not found", ticketID))
}

func (s *BunStore) get(ctx context.Context, where string, arg any, notFound string) (Ticket, error) {
	var row ticketRow
	q := s.db.NewSelect().Model(&row).Where(where, arg)
	if s.lockRows {
		q = q.For("UPDATE")
	}
	if err := store.ScanOne(ctx, q, "%s", notFound); err != nil {
		return Ticket{}, fmt.Errorf("get ticket: %w", err)
	}
	return row.toTicket(), nil
}

// List implements Store.
func (s *BunStore) List(ctx context.Context, f Filter, visibleTo string, limit, offset int) ([]Ticket, int, error) {
	var rows []ticketRow
	q := s.db.NewSelect().Model(&rows).OrderExpr("id DESC")
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	if f.Priority != "" {
		q = q.Where("priority = ?", f.Priority)
	}
	if f.Department != "" {
		q = q.Where("department = ?", f.Department)
	}
	if f.Category != "" {
		q = q.Where("category = ?", f.Category)
	}
	if visibleTo != "" {
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("submitted_by = ?", visibleTo).WhereOr("owner_id = ?", visibleTo)
		})
	}
	total, err := store.Page{Limit: limit, Offset: offset}.Apply(q).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list tickets: %w", store.Translate(err))
	}
	out := make([]Ticket, len(rows))
	for i := range rows {
		out[i] = rows[i].toTicket()
	}
	return out, int(total), nil
}

// Update implements Store.
func (s *BunStore) Update(ctx context.Context, t Ticket) error {
	q := s.db.NewUpdate().Model(toRow(t)).WherePK().ExcludeColumn("id", "ticket_id", "created_at")
	if err := store.ExecOne(ctx, q, "ticket %d not found", t.ID); err != nil {
		return fmt.Errorf("update ticket: %w", err)
	}
	return nil
}

// Delete implements Store.
func (s *BunStore) Delete(ctx context.Context, id int64) error {
	q := s.db.NewDelete().Model((*ticketRow)(nil)).Where("id = ?", id)
	if err := store.ExecOne(ctx, q, "ticket %d not found", id); err != nil {
		return fmt.Errorf("delete ticket: %w", err)
	}
	return nil
}

func toRow(t Ticket) *ticketRow {
	row := &ticketRow{
		ID: t.ID, TicketID: t.TicketID, Subject: t.Subject, Description: t.Description,
		Category: t.Category, SubCategory: t.SubCategory, Department: t.Department,
		Priority: string(t.Priority), Status: string(t.Status), SubmittedBy: t.SubmittedBy, OwnerID: t.OwnerID,
		TaskID: t.TaskID, WorkflowID: t.WorkflowID, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
	}
	if e := t.Employee; e != nil {
		row.EmployeeID, row.EmployeeName, row.EmployeeEmail = &e.ID, &e.Name, &e.Email
	}
	return row
}

func (row *ticketRow) toTicket() Ticket {
	t := Ticket{
		ID: row.ID, TicketID: row.TicketID, Subject: row.Subject, Description: row.Description,
		Category: row.Category, SubCategory: row.SubCategory, Department: row.Department,
		Priority: workflow.Priority(row.Priority), Status: Status(row.Status), SubmittedBy: row.SubmittedBy, OwnerID: row.OwnerID,
		TaskID: row.TaskID, WorkflowID: row.WorkflowID, CreatedAt: row.CreatedAt.UTC(), UpdatedAt: row.UpdatedAt.UTC(),
	}
	if row.EmployeeID != nil {
		t.Employee = &Employee{ID: *row.EmployeeID, Name: deref(row.EmployeeName), Email: deref(row.EmployeeEmail)}
	}
	return t
}
