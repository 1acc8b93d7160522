// Package audit records who changed what (seeds/004's audit events): every
// change that the workflow, tickets and auth services make writes one
// Event, in the transaction of the change itself, so that an event exists
// exactly when its change was committed.
//
// A service records through Service.Record inside its own transaction
// (internal/store.RunInTx joins it). Who acted comes from the context
// (WithActor), which the server sets from the signed-in user; a change made
// by an embedding program without an actor is recorded with no user.
//
// It follows the domain package pattern of DESIGN.md: model, Service, a
// small Store interface and its bun implementation with migrations.
package audit

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// Actor is who makes a change.
type Actor struct {
	UserID   string // auth's user id
	Username string
}

type actorKey struct{}

// WithActor returns ctx carrying who acts in it.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor that ctx carries, if any.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// Event is one recorded change. Before is null for a creation and After
// for a deletion.
type Event struct {
	ID int64 `json:"id"`
	// UserID and Username are who acted; UserID is nil for a change made
	// without an actor (an embedding program, a scheduled job).
	UserID     *string         `json:"user_id"`
	Username   string          `json:"username"`
	Action     string          `json:"action"`
	TargetType string          `json:"target_type"`
	TargetID   string          `json:"target_id"`
	Before     json.RawMessage `json:"before"`
	After      json.RawMessage `json:"after"`
	Timestamp  time.Time       `json:"timestamp"`
}

// Change is what a service records: an action such as "update_workflow" on
// one target, and the target before and after (nil for none), which are
// stored as JSON.
type Change struct {
	Action     string
	TargetType string
	TargetID   string
	Before     any
	After      any
}

// Limits on what is recorded.
const (
	MaxNameLength = 100 // action, target type, target id, filter values
	// MaxStateBytes bounds the JSON of Before and After each; a larger
	// state is refused rather than silently cut, since an audit trail must
	// not lie. The services' own limits keep their states far below it.
	MaxStateBytes = 1 << 20
)

// Filter selects events; zero fields select everything. Since and Until
// bound Timestamp, inclusive.
type Filter struct {
	Action     string
	UserID     string
	TargetType string
	TargetID   string
	Since      *time.Time
	Until      *time.Time
}

// Validate checks f's values, naming every bad field.
func (f Filter) Validate() error {
	e := errs.Invalidf("invalid audit filter")
	for field, v := range map[string]string{"action": f.Action, "user_id": f.UserID, "target_type": f.TargetType, "target_id": f.TargetID} {
		if !store.ValidText(v) || utf8.RuneCountInString(v) > MaxNameLength {
			e = e.WithField(field, fmt.Sprintf("must be text of at most %d characters", MaxNameLength))
		}
	}
	if f.Since != nil && f.Until != nil && f.Until.Before(*f.Since) {
		e = e.WithField("end_date", "must not be before start_date")
	}
	if len(e.Fields) > 0 {
		return e
	}
	return nil
}

// Page size bounds of List.
const (
	DefaultPageSize = 10
	MaxPageSize     = 100
)

// Store persists events. BunStore implements it on SQLite and PostgreSQL.
type Store interface {
	// Insert stores e and sets its ID, inside the transaction that ctx
	// carries (internal/store.RunInTx) or else on its own.
	Insert(ctx context.Context, e *Event) error
	Get(ctx context.Context, id int64) (Event, error)
	// List returns at most limit events matching f after the first
	// offset, newest first, and how many match.
	List(ctx context.Context, f Filter, limit, offset int) ([]Event, int, error)
}

// Config configures a Service. The zero value works.
type Config struct {
	// Now is the service's clock. Default time.Now; readings are used in
	// UTC, truncated to microseconds.
	Now func() time.Time
}

// Service records and reads audit events.
type Service struct {
	store Store
	now   func() time.Time
}

// New returns a Service on st.
func New(st Store, cfg Config) *Service {
	return &Service{store: st, now: store.Clock(cfg.Now)}
}

// Record stores c as an event by the actor of ctx, at the service's now.
// Called inside a service's transaction, it joins it: the event commits or
// rolls back with the change.
func (s *Service) Record(ctx context.Context, c Change) error {
	e := Event{Action: c.Action, TargetType: c.TargetType, TargetID: c.TargetID, Timestamp: s.now()}
	if a, ok := ActorFrom(ctx); ok {
		// The bootstrap admin has no user id, only its name.
		if a.UserID != "" {
			e.UserID = &a.UserID
		}
		e.Username = a.Username
	}
	if c.Action == "" || c.TargetType == "" || c.TargetID == "" {
		return fmt.Errorf("record audit event: action, target type and target id are required (%q %q %q)", c.Action, c.TargetType, c.TargetID)
	}
	var err error
	if e.Before, err = state(c.Before); err != nil {
		return fmt.Errorf("record %s: before: %w", c.Action, err)
	}
	if e.After, err = state(c.After); err != nil {
		return fmt.Errorf("record %s: after: %w", c.Action, err)
	}
	if err := s.store.Insert(ctx, &e); err != nil {
		return fmt.Errorf("record %s: %w", c.Action, err)
	}
	return nil
}

// state is v as JSON, null for nil.
func state(v any) (json.RawMessage, error) {
	if v == nil {
		return json.RawMessage("null"), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxStateBytes {
		return nil, errs.TooLargef("the recorded state is %d bytes; at most %d are kept", len(b), MaxStateBytes)
	}
	return b, nil
}

// Get returns the event with id, or an errs.NotFound error.
func (s *Service) Get(ctx context.Context, id int64) (Event, error) {
	return s.store.Get(ctx, id)
}

// List returns page (from 1; 0 means 1) of the events matching f, newest
// first, pageSize at a time (0 means DefaultPageSize, at most
// MaxPageSize), and how many match.
func (s *Service) List(ctx context.Context, f Filter, page, pageSize int) ([]Event, int, error) {
	pageSize = cmp.Or(pageSize, DefaultPageSize)
	e := errs.Invalidf("invalid page")
	if pageSize < 1 || pageSize > MaxPageSize {
		e = e.WithField("page_size", fmt.Sprintf("must be between 1 and %d", MaxPageSize))
	}
	if page < 0 || page > math.MaxInt32/MaxPageSize {
		e = e.WithField("page", fmt.Sprintf("must be between 1 and %d", math.MaxInt32/MaxPageSize))
	}
	if len(e.Fields) > 0 {
		return nil, 0, e
	}
	if err := f.Validate(); err != nil {
		return nil, 0, err
	}
	f.Action, f.UserID = strings.TrimSpace(f.Action), strings.TrimSpace(f.UserID)
	f.TargetType, f.TargetID = strings.TrimSpace(f.TargetType), strings.TrimSpace(f.TargetID)
	w := store.PageNumber(page, pageSize)
	return s.store.List(ctx, f, w.Limit, w.Offset)
}
