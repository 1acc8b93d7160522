// Package notify is bugflow's notification outbox. A service that causes a
// notification (the task engine: an assignment, a transfer, an escalation,
// an SLA warning or breach, a resolved ticket) calls Service.Notify inside
// the transaction of its change, so that the notification is stored exactly
// when the change is committed: a crash between the two loses nothing. A
// durable periodic job (RegisterJobs) then delivers what is pending through
// pluggable channels (mail, an HTTP webhook), retrying with backoff; after
// the last attempt a notification is failed, listed by FailedNotifications
// and queued again by Retry.
//
// Delivery is at least once: a process that dies after a channel accepted
// a notification but before it was marked sent leaves it to be sent again
// once its claim lapses. Receivers that must not act twice use the
// notification's id (the webhook's X-Bugflow-Delivery header). Two
// processes never deliver one notification at the same time: each claims it
// with a conditional update first.
package notify

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/bugflow/bugflow/audit"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// Message is what a service asks to send to one user.
type Message struct {
	// Key identifies the event the message is about, such as
	// "task_item:12:sla_breached": a second Notify with the same Key is
	// ignored, so a retried or concurrent cause notifies once.
	Key string
	// Kind is what happened: assigned, transferred, escalated, sla_warning,
	// sla_breached, resolved.
	Kind string
	// Recipient is the user id to tell.
	Recipient string
	TaskID    int64
	// TaskItemID is the assignment the message is about, 0 for none.
	TaskItemID int64
	Subject    string
	Body       string
}

// Status is where a notification is in its delivery.
type Status string

// The notification statuses.
const (
	StatusPending Status = "pending" // waiting for (another) attempt
	StatusSending Status = "sending" // claimed by a process that is delivering it
	StatusSent    Status = "sent"
	StatusFailed  Status = "failed" // every attempt failed; Retry queues it again
)

// Notification is one message on one channel.
type Notification struct {
	ID         int64     `json:"id"`
	Channel    string    `json:"channel"`
	Kind       string    `json:"kind"`
	Recipient  string    `json:"recipient"`
	TaskID     int64     `json:"task_id"`
	TaskItemID int64     `json:"task_item_id"`
	Subject    string    `json:"subject"`
	Body       string    `json:"body"`
	Status     Status    `json:"status"`
	Attempts   int       `json:"attempts"`
	LastError  string    `json:"last_error"`
	CreatedAt  time.Time `json:"created_at"`
	// NextAttemptAt is when a pending notification is due.
	NextAttemptAt time.Time  `json:"next_attempt_at"`
	SentAt        *time.Time `json:"sent_at"`
}

// Channel delivers notifications one way (mail, a webhook). Send returns
// nil only when the notification was accepted; it must honour ctx.
type Channel interface {
	// Name identifies the channel in stored notifications ("mail",
	// "webhook"); it must not change between releases.
	Name() string
	Send(ctx context.Context, n Notification) error
}

// Auditor records the changes the service makes (package audit's Service).
type Auditor interface {
	Record(ctx context.Context, c audit.Change) error
}

// Defaults for Config's zero values.
const (
	DefaultMaxAttempts = 5
	DefaultBackoff     = 30 * time.Second
	DefaultClaimFor    = 5 * time.Minute
	DefaultBatch       = 100
)

// Config configures a Service. Zero values mean the documented defaults.
type Config struct {
	// Channels are where every message goes, each as a notification of
	// its own. None: Notify stores nothing.
	Channels []Channel
	// MaxAttempts is how many delivery attempts a notification gets before
	// it is failed. Default 5.
	MaxAttempts int
	// Backoff is the wait after the first failed attempt; it doubles after
	// each further one. Default 30 s.
	Backoff time.Duration
	// ClaimFor is how long a process may take to deliver a notification it
	// claimed before another process may claim it again. Default 5 min; it
	// must exceed the slowest channel's own timeout and retries.
	ClaimFor time.Duration
	// Batch bounds how many notifications one Deliver sends. Default 100.
	Batch int
	// Audit records retries of failed notifications. Nil records nothing.
	Audit Auditor
	// Logger receives delivery failures. Default slog.Default().
	Logger *slog.Logger
	// Now is the service's clock. Default time.Now.
	Now func() time.Time
}

// Service is the outbox.
type Service struct {
	store    Store
	channels []Channel
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
}

// New returns a Service on st.
func New(st Store, cfg Config) *Service {
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, DefaultMaxAttempts)
	cfg.Backoff = cmp.Or(cfg.Backoff, DefaultBackoff)
	cfg.ClaimFor = cmp.Or(cfg.ClaimFor, DefaultClaimFor)
	cfg.Batch = cmp.Or(cfg.Batch, DefaultBatch)
	return &Service{store: st, channels: cfg.Channels, cfg: cfg, log: cmp.Or(cfg.Logger, slog.Default()), now: store.Clock(cfg.Now)}
}

// Notify stores m once per channel, in the transaction that ctx carries (or
// one of its own). A message whose Key was stored before is ignored.
func (s *Service) Notify(ctx context.Context, m Message) error {
	if m.Key == "" || m.Recipient == "" {
		return errs.Invalidf("notify: a message needs a key and a recipient")
	}
	now := s.now()
	for _, c := range s.channels {
		n := Notification{Channel: c.Name(), Kind: m.Kind, Recipient: m.Recipient, TaskID: m.TaskID, TaskItemID: m.TaskItemID,
			Subject: m.Subject, Body: m.Body, Status: StatusPending, CreatedAt: now, NextAttemptAt: now}
		if err := s.store.Insert(ctx, &n, m.Key+"|"+c.Name()); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
	}
	return nil
}

// Delivered counts what one Deliver did.
type Delivered struct {
	Sent, Retrying, Failed int
}

// Deliver sends the notifications that are due, each claimed first so that
// no other process sends it at the same time, and records each outcome: sent,
// pending again after a backoff, or failed after the last attempt.
func (s *Service) Deliver(ctx context.Context) (Delivered, error) {
	var out Delivered
	due, err := s.store.Due(ctx, s.now(), s.cfg.Batch)
	if err != nil {
		return out, fmt.Errorf("notify: %w", err)
	}
	for _, n := range due {
		now := s.now()
		claimed, err := s.store.Claim(ctx, n.ID, now, now.Add(s.cfg.ClaimFor))
		if err != nil {
			return out, fmt.Errorf("notify: %w", err)
		}
		if !claimed {
			continue
		}
		n.Attempts++
		sendErr := s.send(ctx, n)
		now = s.now()
		switch {
		case sendErr == nil:
			n.Status, n.SentAt, n.LastError = StatusSent, &now, ""
			out.Sent++
		case n.Attempts >= s.cfg.MaxAttempts:
			n.Status, n.LastError = StatusFailed, sendErr.Error()
			out.Failed++
			s.log.Warn("notification failed", "id", n.ID, "channel", n.Channel, "attempts", n.Attempts, "error", sendErr)
		default:
			n.Status, n.LastError = StatusPending, sendErr.Error()
			n.NextAttemptAt = now.Add(s.cfg.Backoff << (n.Attempts - 1))
			out.Retrying++
		}
		if err := s.store.Finish(ctx, n); err != nil {
			return out, fmt.Errorf("notify: %w", err)
		}
	}
	return out, nil
}

// send hands n to its channel. A channel that is no longer configured is a
// failed attempt, so the notification ends failed rather than pending for
// ever.
func (s *Service) send(ctx context.Context, n Notification) error {
	for _, c := range s.channels {
		if c.Name() == n.Channel {
			return c.Send(ctx, n)
		}
	}
	return fmt.Errorf("channel %q is not configured", n.Channel)
}

// FailedNotifications returns one page of failed notifications, newest
// first, and how many there are.
func (s *Service) FailedNotifications(ctx context.Context, limit, offset int) ([]Notification, int, error) {
	if limit < 0 || offset < 0 {
		return nil, 0, errs.Invalidf("limit and offset must not be negative")
	}
	return s.store.List(ctx, StatusFailed, limit, offset)
}

// Retry queues a failed notification again with a fresh set of attempts.
// A notification that is not failed is a Conflict; an unknown one is
// NotFound.
func (s *Service) Retry(ctx context.Context, id int64) (Notification, error) {
	var n Notification
	err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		before, err := st.Get(ctx, id)
		if err != nil {
			return err
		}
		if before.Status != StatusFailed {
			return errs.Conflictf("notification %d is %s, not failed", id, before.Status)
		}
		n = before
		n.Status, n.Attempts, n.NextAttemptAt = StatusPending, 0, s.now()
		if err := st.Finish(ctx, n); err != nil {
			return err
		}
		if s.cfg.Audit == nil {
			return nil
		}
		return s.cfg.Audit.Record(ctx, audit.Change{Action: "retry_notification", TargetType: "Notification",
			TargetID: strconv.FormatInt(id, 10), Before: before, After: n})
	})
	if err != nil {
		return Notification{}, fmt.Errorf("retry notification: %w", err)
	}
	return n, nil
}

// Get returns one notification.
func (s *Service) Get(ctx context.Context, id int64) (Notification, error) {
	return s.store.Get(ctx, id)
}
