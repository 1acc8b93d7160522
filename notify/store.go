package notify

import (
	"context"
	"time"
)

// Store persists the outbox. BunStore implements it on SQLite and
// PostgreSQL.
type Store interface {
	// Atomically runs fn with a Store whose calls share one transaction.
	Atomically(ctx context.Context, fn func(ctx context.Context, st Store) error) error
	// Insert stores n and sets its ID, in the transaction ctx carries, unless
	// a notification with key exists (then it does nothing).
	Insert(ctx context.Context, n *Notification, key string) error
	Get(ctx context.Context, id int64) (Notification, error)
	// Due returns up to limit notifications, oldest first, that are pending
	// and due at now, or sending with a claim that lapsed before now.
	Due(ctx context.Context, now time.Time, limit int) ([]Notification, error)
	// Claim marks a due notification sending until until, and reports
	// whether this call did (false: another process claimed it first or it
	// is no longer due).
	Claim(ctx context.Context, id int64, now, until time.Time) (bool, error)
	// Finish stores n's status, attempts, error, next attempt and sent time.
	Finish(ctx context.Context, n Notification) error
	// List returns up to limit notifications (0: all) in status after the
	// first offset, newest first, and how many there are.
	List(ctx context.Context, status Status, limit, offset int) ([]Notification, int, error)
}
