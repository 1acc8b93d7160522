package activity

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/internal/store"
)

// entryRow is the table model of an Entry.
type entryRow struct {
	bun.BaseModel `bun:"table:activity_entries,alias:a"`

	ID     int64  `bun:"id,pk,autoincrement"`
	UserID string `bun:"user_id,notnull"`
	Action string `bun:"action,notnull"`
	// Summary and Target are NOT NULL with "" for none: simpler than
	// nullable columns for fields that are only ever displayed.
	Summary string                       `bun:"summary,notnull"`
	Target  string                       `bun:"target,notnull"`
	Details *store.JSON[json.RawMessage] `bun:"details,type:text"`
	At      time.Time                    `bun:"at,notnull"`
}

// Migrations returns the schema of the activity log. Each migration creates
// tables from its own frozen model, never from entryRow.
func Migrations() []store.Migration {
	return []store.Migration{{
		ID:      "20261123100100",
		Comment: "activity: entries",
		Up: func(ctx context.Context, tx bun.Tx) error {
			type entryRowV1 struct {
				bun.BaseModel `bun:"table:activity_entries,alias:a"`

				ID      int64     `bun:"id,pk,autoincrement"`
				UserID  string    `bun:"user_id,notnull"`
				Action  string    `bun:"action,notnull"`
				Summary string    `bun:"summary,notnull"`
				Target  string    `bun:"target,notnull"`
				Details *string   `bun:"details,type:text"`
				At      time.Time `bun:"at,notnull"`
			}
			if _, err := tx.NewCreateTable().Model((*entryRowV1)(nil)).Exec(ctx); err != nil {
				return fmt.Errorf("create activity_entries: %w", err)
			}
			// (user_id, at) serves Recent; (at) serves Prune.
			return store.CreateIndexes(ctx, tx,
				store.Index{Table: "activity_entries", Name: "activity_entries_user_at_idx", Columns: []string{"user_id", "at"}},
				store.Index{Table: "activity_entries", Name: "activity_entries_at_idx", Columns: []string{"at"}},
			)
		},
	}}
}

// BunStore is the bun implementation of Store, on SQLite or PostgreSQL.
type BunStore struct {
	db bun.IDB
}

// NewBunStore returns a Store on db (a *bun.DB or a transaction).
func NewBunStore(db bun.IDB) *BunStore {
	return &BunStore{db: db}
}

// Insert implements Store.
func (s *BunStore) Insert(ctx context.Context, e *Entry) error {
	row := &entryRow{UserID: e.UserID, Action: e.Action, Summary: e.Summary, Target: e.Target, At: e.At,
		Details: store.NullJSON(e.Details, len(e.Details) > 0)}
	if _, err := s.db.NewInsert().Model(row).Returning("id").Exec(ctx); err != nil {
		return fmt.Errorf("insert activity entry: %w", store.Translate(err))
	}
	e.ID = row.ID
	return nil
}

// Recent implements Store.
func (s *BunStore) Recent(ctx context.Context, userID string, since time.Time, limit int) ([]Entry, error) {
	var rows []entryRow
	err := store.Page{Limit: limit}.Apply(s.db.NewSelect().Model(&rows).
		Where("user_id = ?", userID).
		Where("at >= ?", since).
		OrderExpr("at DESC, id DESC")).
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("select activity entries: %w", store.Translate(err))
	}
	out := make([]Entry, len(rows))
	for i, r := range rows {
		out[i] = Entry{ID: r.ID, UserID: r.UserID, Action: r.Action, Summary: r.Summary, Target: r.Target, At: r.At.UTC(), Details: r.Details.Get()}
	}
	return out, nil
}

// DeleteBefore implements Store.
func (s *BunStore) DeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	n, err := store.Exec(ctx, s.db.NewDelete().Model((*entryRow)(nil)).Where("at < ?", t))
	if err != nil {
		return 0, fmt.Errorf("delete activity entries: %w", err)
	}
	return n, nil
}
