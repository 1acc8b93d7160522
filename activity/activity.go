// Package activity keeps each user's recent actions: the "user journey" that
// bug reports attach so that a triager sees what the reporter did just before
// the problem. Every service that acts for a signed-in user may Record an
// Entry; readers ask for the Recent entries of one user.
//
// The log is bounded by design: long fields are truncated on the way in, and
// Prune removes entries older than a cut-off so that the table does not grow
// forever (run it on a schedule, e.g. daily with a 30-day cut-off).
package activity

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// Size bounds of an Entry. Longer fields are cut (on a character boundary)
// rather than refused: recording activity is a side effect of some other
// action, which must never fail because a page title was long.
const (
	MaxUserIDLength  = 100
	MaxActionLength  = 100
	MaxSummaryLength = 500
	MaxTargetLength  = 500
	// MaxDetailsBytes bounds the JSON details. Larger details are replaced
	// by {"truncated": true, "bytes": N}: cutting JSON text would make it
	// invalid.
	MaxDetailsBytes = 4096
)

// Recent limits.
const (
	DefaultRecentLimit = 20
	MaxRecentLimit     = 1000
)

// Entry is one recorded action of one user.
type Entry struct {
	// ID is assigned by Record; it grows with each entry, so it orders
	// entries that share a timestamp.
	ID int64 `json:"id"`
	// UserID is the acting user.
	UserID string `json:"userId"`
	// Action is a short machine-readable kind, e.g. "page-view",
	// "task-create", "bug-report.create".
	Action string `json:"action"`
	// Summary is a human-readable line, e.g. "Viewed page: API Documentation".
	Summary string `json:"summary,omitempty"`
	// Target names the object acted on, e.g. a path or "task_123".
	Target string `json:"target,omitempty"`
	// Details is optional JSON with anything else worth keeping.
	Details json.RawMessage `json:"details,omitempty"`
	// At is when the action happened; Record uses the service's clock when zero.
	At time.Time `json:"timestamp"`
}

// Config configures a Service. The zero value is the default.
type Config struct {
	// Logger receives the service's logs. Default slog.Default().
	Logger *slog.Logger
	// Now is the service's clock, read for every time it records. Default
	// time.Now; readings are used in UTC, truncated to microseconds.
	Now func() time.Time
}

// Service records and reads users' activity.
type Service struct {
	store Store
	log   *slog.Logger
	now   func() time.Time
}

// New returns a Service on st.
func New(st Store, cfg Config) *Service {
	return &Service{store: st, log: cmp.Or(cfg.Logger, slog.Default()), now: store.Clock(cfg.Now)}
}

// Record stores one action. UserID and Action are required; overlong fields
// are truncated (see the Max constants); Details must be valid JSON when set.
// It returns the stored entry with its ID.
func (s *Service) Record(ctx context.Context, e Entry) (Entry, error) {
	if e.UserID == "" {
		return Entry{}, errs.InvalidField("userId", "required")
	}
	if e.Action == "" {
		return Entry{}, errs.InvalidField("action", "required")
	}
	if len(e.Details) > 0 && !json.Valid(e.Details) {
		return Entry{}, errs.InvalidField("details", "must be valid JSON")
	}
	e.ID = 0
	e.UserID = Truncate(e.UserID, MaxUserIDLength)
	e.Action = Truncate(e.Action, MaxActionLength)
	e.Summary = Truncate(e.Summary, MaxSummaryLength)
	e.Target = Truncate(e.Target, MaxTargetLength)
	if len(e.Details) > MaxDetailsBytes {
		e.Details = json.RawMessage(fmt.Sprintf(`{"truncated":true,"bytes":%d}`, len(e.Details)))
	}
	if e.At.IsZero() {
		e.At = s.now()
	} else {
		e.At = e.At.UTC().Truncate(time.Microsecond)
	}
	if err := s.store.Insert(ctx, &e); err != nil {
		return Entry{}, fmt.Errorf("activity: record: %w", err)
	}
	return e, nil
}

// Recent returns the last limit entries of userID that happened at or after
// since, oldest first (the order of a journey). A limit of 0 means
// DefaultRecentLimit; larger than MaxRecentLimit is capped.
func (s *Service) Recent(ctx context.Context, userID string, since time.Time, limit int) ([]Entry, error) {
	if limit < 0 {
		return nil, errs.InvalidField("limit", "must not be negative")
	}
	if limit == 0 {
		limit = DefaultRecentLimit
	}
	limit = min(limit, MaxRecentLimit)
	if userID == "" {
		return nil, nil
	}
	entries, err := s.store.Recent(ctx, userID, since.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("activity: recent: %w", err)
	}
	// The store answers newest first so that LIMIT keeps the latest ones;
	// a journey reads forwards in time.
	for i, j := 0, len(entries)-1; i < j; i, j = i+1, j-1 {
		entries[i], entries[j] = entries[j], entries[i]
	}
	return entries, nil
}

// Prune deletes every entry older than olderThan and returns how many went.
func (s *Service) Prune(ctx context.Context, olderThan time.Time) (int64, error) {
	n, err := s.store.DeleteBefore(ctx, olderThan.UTC())
	if err != nil {
		return 0, fmt.Errorf("activity: prune: %w", err)
	}
	return n, nil
}

// Truncate cuts s to at most n characters (runes), never splitting one.
// Invalid UTF-8 becomes U+FFFD and NUL bytes are dropped first, because
// PostgreSQL text refuses both.
func Truncate(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	count := 0
	for i := range s {
		if count == n {
			return s[:i]
		}
		count++
	}
	return s
}
