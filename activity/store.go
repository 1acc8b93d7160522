package activity

import (
	"context"
	"time"
)

// Store persists entries. BunStore implements it.
type Store interface {
	// Insert stores e and sets its ID.
	Insert(ctx context.Context, e *Entry) error
	// Recent returns up to limit entries of userID at or after since,
	// newest first.
	Recent(ctx context.Context, userID string, since time.Time, limit int) ([]Entry, error)
	// DeleteBefore removes entries older than t and returns how many.
	DeleteBefore(ctx context.Context, t time.Time) (int64, error)
}
