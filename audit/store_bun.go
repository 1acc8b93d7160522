package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/internal/store"
)

// eventRow is the table model of an Event. Before and After are JSON text.
type eventRow struct {
	bun.BaseModel `bun:"table:audit_events,alias:e"`

	ID         int64     `bun:"id,pk,autoincrement"`
	UserID     *string   `bun:"user_id"`
	Username   string    `bun:"username,notnull"`
	Action     string    `bun:"action,notnull"`
	TargetType string    `bun:"target_type,notnull"`
	TargetID   string    `bun:"target_id,notnull"`
	Before     string    `bun:"before_state,type:text,notnull"`
	After      string    `bun:"after_state,type:text,notnull"`
	At         time.Time `bun:"at,notnull"`
}

// Migrations returns the schema of audit events. Each migration creates
// tables from its own frozen model, never from eventRow.
func Migrations() []store.Migration {
	return []store.Migration{{
		ID:      "20261207090000",
		Comment: "audit: events",
		Up: func(ctx context.Context, tx bun.Tx) error {
			type eventRowV1 struct {
				bun.BaseModel `bun:"table:audit_events"`

				ID         int64     `bun:"id,pk,autoincrement"`
				UserID     *string   `bun:"user_id"`
				Username   string    `bun:"username,notnull"`
				Action     string    `bun:"action,notnull"`
				TargetType string    `bun:"target_type,notnull"`
				TargetID   string    `bun:"target_id,notnull"`
				Before     string    `bun:"before_state,type:text,notnull"`
				After      string    `bun:"after_state,type:text,notnull"`
				At         time.Time `bun:"at,notnull"`
			}
			if _, err := tx.NewCreateTable().Model((*eventRowV1)(nil)).Exec(ctx); err != nil {
				return fmt.Errorf("create audit_events: %w", err)
			}
			// Lists are newest first (id order); each filter has an index
			// that ends in id, so a filtered page reads only its rows.
			return store.CreateIndexes(ctx, tx,
				store.Index{Table: "audit_events", Name: "audit_events_target_idx", Columns: []string{"target_type", "target_id", "id"}},
				store.Index{Table: "audit_events", Name: "audit_events_user_idx", Columns: []string{"user_id", "id"}},
				store.Index{Table: "audit_events", Name: "audit_events_action_idx", Columns: []string{"action", "id"}},
				store.Index{Table: "audit_events", Name: "audit_events_at_idx", Columns: []string{"at"}},
			)
		},
	}}
}

// BunStore is the bun implementation of Store, on SQLite or PostgreSQL.
type BunStore struct {
	db bun.IDB
}

// NewBunStore returns a Store on db.
func NewBunStore(db bun.IDB) *BunStore {
	return &BunStore{db: db}
}

// Insert implements Store.
func (s *BunStore) Insert(ctx context.Context, e *Event) error {
	row := &eventRow{UserID: e.UserID, Username: e.Username, Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID,
		Before: string(e.Before), After: string(e.After), At: e.Timestamp}
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		_, err := tx.NewInsert().Model(row).Returning("id").Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("insert audit event: %w", store.Translate(err))
	}
	e.ID = row.ID
	return nil
}

// Get implements Store.
func (s *BunStore) Get(ctx context.Context, id int64) (Event, error) {
	var row eventRow
	if err := store.ScanOne(ctx, s.db.NewSelect().Model(&row).Where("id = ?", id), "audit event %d not found", id); err != nil {
		return Event{}, fmt.Errorf("get audit event: %w", err)
	}
	return row.toEvent(), nil
}

// List implements Store.
func (s *BunStore) List(ctx context.Context, f Filter, limit, offset int) ([]Event, int, error) {
	var rows []eventRow
	q := s.db.NewSelect().Model(&rows).OrderExpr("id DESC")
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.UserID != "" {
		q = q.Where("user_id = ?", f.UserID)
	}
	if f.TargetType != "" {
		q = q.Where("target_type = ?", f.TargetType)
	}
	if f.TargetID != "" {
		q = q.Where("target_id = ?", f.TargetID)
	}
	if f.Since != nil {
		q = q.Where("at >= ?", f.Since.UTC())
	}
	if f.Until != nil {
		q = q.Where("at <= ?", f.Until.UTC())
	}
	total, err := store.Page{Limit: limit, Offset: offset}.Apply(q).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list audit events: %w", store.Translate(err))
	}
	out := make([]Event, len(rows))
	for i := range rows {
		out[i] = rows[i].toEvent()
	}
	return out, int(total), nil
}

func (row *eventRow) toEvent() Event {
	return Event{ID: row.ID, UserID: row.UserID, Username: row.Username, Action: row.Action, TargetType: row.TargetType,
		TargetID: row.TargetID, Before: json.RawMessage(row.Before), After: json.RawMessage(row.After), Timestamp: row.At.UTC()}
}
