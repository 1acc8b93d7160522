package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/internal/store"
)

// notificationRow is the table model of a Notification. Key is unique: the
// cause's key and the channel.
type notificationRow struct {
	bun.BaseModel `bun:"table:notify_notifications,alias:n"`

	ID            int64      `bun:"id,pk,autoincrement"`
	Key           string     `bun:"dedup_key,notnull"`
	Channel       string     `bun:"channel,notnull"`
	Kind          string     `bun:"kind,notnull"`
	Recipient     string     `bun:"recipient,notnull"`
	TaskID        int64      `bun:"task_id,notnull"`
	TaskItemID    int64      `bun:"task_item_id,notnull"`
	Subject       string     `bun:"subject,type:text,notnull"`
	Body          string     `bun:"body,type:text,notnull"`
	Status        string     `bun:"status,notnull"`
	Attempts      int        `bun:"attempts,notnull"`
	LastError     string     `bun:"last_error,type:text,notnull"`
	CreatedAt     time.Time  `bun:"created_at,notnull"`
	NextAttemptAt time.Time  `bun:"next_attempt_at,notnull"`
	ClaimedUntil  *time.Time `bun:"claimed_until"`
	SentAt        *time.Time `bun:"sent_at"`
}

// Migrations returns the outbox's schema, built from frozen models.
func Migrations() []store.Migration {
	return []store.Migration{{
		ID:      "20261207300100",
		Comment: "notify: the notification outbox",
		Up: func(ctx context.Context, tx bun.Tx) error {
			type notificationRowV1 struct {
				bun.BaseModel `bun:"table:notify_notifications"`

				ID            int64      `bun:"id,pk,autoincrement"`
				Key           string     `bun:"dedup_key,notnull"`
				Channel       string     `bun:"channel,notnull"`
				Kind          string     `bun:"kind,notnull"`
				Recipient     string     `bun:"recipient,notnull"`
				TaskID        int64      `bun:"task_id,notnull"`
				TaskItemID    int64      `bun:"task_item_id,notnull"`
				Subject       string     `bun:"subject,type:text,notnull"`
				Body          string     `bun:"body,type:text,notnull"`
				Status        string     `bun:"status,notnull"`
				Attempts      int        `bun:"attempts,notnull"`
				LastError     string     `bun:"last_error,type:text,notnull"`
				CreatedAt     time.Time  `bun:"created_at,notnull"`
				NextAttemptAt time.Time  `bun:"next_attempt_at,notnull"`
				ClaimedUntil  *time.Time `bun:"claimed_until"`
				SentAt        *time.Time `bun:"sent_at"`
			}
			if _, err := tx.NewCreateTable().Model((*notificationRowV1)(nil)).Exec(ctx); err != nil {
				return fmt.Errorf("create notify_notifications: %w", err)
			}
			return store.CreateIndexes(ctx, tx,
				store.Index{Table: "notify_notifications", Name: "notify_notifications_key_idx", Columns: []string{"dedup_key"}, Unique: true},
				// Due: what waits, by when it is due.
				store.Index{Table: "notify_notifications", Name: "notify_notifications_due_idx", Columns: []string{"status", "next_attempt_at"}},
				// List: a status, newest first.
				store.Index{Table: "notify_notifications", Name: "notify_notifications_status_idx", Columns: []string{"status", "id"}},
			)
		},
	}}
}

// BunStore is the bun implementation of Store.
type BunStore struct {
	db bun.IDB
}

// NewBunStore returns a Store on db.
func NewBunStore(db bun.IDB) *BunStore { return &BunStore{db: db} }

// Atomically implements Store.
func (s *BunStore) Atomically(ctx context.Context, fn func(ctx context.Context, st Store) error) error {
	return store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		return fn(ctx, &BunStore{db: tx})
	})
}

// Insert implements Store. It joins the transaction that ctx carries, which
// is the point of an outbox.
func (s *BunStore) Insert(ctx context.Context, n *Notification, key string) error {
	row := toRow(*n)
	row.Key = key
	return store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		res, err := tx.NewInsert().Model(row).On("CONFLICT (dedup_key) DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("insert notification: %w", store.Translate(err))
		}
		if k, _ := res.RowsAffected(); k == 1 {
			n.ID = row.ID
		}
		return nil
	})
}

// Get implements Store.
func (s *BunStore) Get(ctx context.Context, id int64) (Notification, error) {
	var row notificationRow
	if err := store.ScanOne(ctx, s.db.NewSelect().Model(&row).Where("id = ?", id), "notification %d not found", id); err != nil {
		return Notification{}, fmt.Errorf("get notification: %w", err)
	}
	return row.toNotification(), nil
}

// dueWhere is the condition of a notification due at now.
const dueWhere = "(status = ? AND next_attempt_at <= ?) OR (status = ? AND claimed_until < ?)"

// Due implements Store.
func (s *BunStore) Due(ctx context.Context, now time.Time, limit int) ([]Notification, error) {
	var rows []notificationRow
	err := s.db.NewSelect().Model(&rows).Where(dueWhere, StatusPending, now, StatusSending, now).Order("id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("due notifications: %w", store.Translate(err))
	}
	out := make([]Notification, len(rows))
	for i := range rows {
		out[i] = rows[i].toNotification()
	}
	return out, nil
}

// Claim implements Store. The condition is checked again by the UPDATE, so
// of two processes racing for one row (PostgreSQL re-evaluates it after the
// first commits) only one changes it.
func (s *BunStore) Claim(ctx context.Context, id int64, now, until time.Time) (bool, error) {
	res, err := s.db.NewUpdate().Model((*notificationRow)(nil)).Set("status = ?", StatusSending).Set("claimed_until = ?", until).
		Where("id = ?", id).WhereGroup(" AND ", func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Where(dueWhere, StatusPending, now, StatusSending, now)
	}).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("claim notification: %w", store.Translate(err))
	}
	k, err := res.RowsAffected()
	return k == 1, err
}

// Finish implements Store.
func (s *BunStore) Finish(ctx context.Context, n Notification) error {
	q := s.db.NewUpdate().Model(toRow(n)).WherePK().Column("status", "attempts", "last_error", "next_attempt_at", "sent_at").
		Set("claimed_until = NULL")
	if err := store.ExecOne(ctx, q, "notification %d not found", n.ID); err != nil {
		return fmt.Errorf("finish notification: %w", err)
	}
	return nil
}

// List implements Store.
func (s *BunStore) List(ctx context.Context, status Status, limit, offset int) ([]Notification, int, error) {
	var rows []notificationRow
	q := s.db.NewSelect().Model(&rows).Where("status = ?", status).OrderExpr("id DESC")
	total, err := store.Page{Limit: limit, Offset: offset}.Apply(q).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list notifications: %w", store.Translate(err))
	}
	out := make([]Notification, len(rows))
	for i := range rows {
		out[i] = rows[i].toNotification()
	}
	return out, int(total), nil
}

func toRow(n Notification) *notificationRow {
	return &notificationRow{
		ID: n.ID, Channel: n.Channel, Kind: n.Kind, Recipient: n.Recipient, TaskID: n.TaskID, TaskItemID: n.TaskItemID,
		Subject: n.Subject, Body: n.Body, Status: string(n.Status), Attempts: n.Attempts, LastError: n.LastError,
		CreatedAt: n.CreatedAt, NextAttemptAt: n.NextAttemptAt, SentAt: n.SentAt,
	}
}

func (row *notificationRow) toNotification() Notification {
	return Notification{
		ID: row.ID, Channel: row.Channel, Kind: row.Kind, Recipient: row.Recipient, TaskID: row.TaskID, TaskItemID: row.TaskItemID,
		Subject: row.Subject, Body: row.Body, Status: Status(row.Status), Attempts: row.Attempts, LastError: row.LastError,
		CreatedAt: row.CreatedAt.UTC(), NextAttemptAt: row.NextAttemptAt.UTC(), SentAt: store.UTC(row.SentAt),
	}
}
