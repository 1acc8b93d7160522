// Package errs defines the kinds of error that bugflow's services return.
//
// Domain code returns an *Error (or wraps one with fmt.Errorf and %w); callers
// test the kind with errors.Is against the sentinels (errors.Is(err,
// errs.ErrNotFound)) or with KindOf. The reference server maps each kind to one
// HTTP status code in one place, so a domain package never needs to know about
// HTTP. This package is a leaf: it imports nothing from bugflow.
package errs

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Kind classifies an error by what the caller can do about it.
type Kind int

// The kinds of error. Internal is the zero value: anything that is not
// classified is a fault of bugflow or of its environment.
const (
	Internal     Kind = iota // unexpected; the caller cannot fix it
	NotFound                 // the addressed thing does not exist (or is hidden from the caller)
	Conflict                 // the request clashes with the current state (duplicate, stale)
	Invalid                  // the input is malformed; Fields says which parts
	Unauthorized             // no credentials, or credentials that do not identify anyone
	Forbidden                // the caller is known but may not do this
	Gone                     // the thing existed but has expired or been used up
	RateLimited              // too many requests; RetryAfter says when to come back
	Unavailable              // a dependency is down or the service is shutting down
	TooLarge                 // the input exceeds a size limit
)

var kindNames = map[Kind]string{
	Internal:     "internal",
	NotFound:     "not_found",
	Conflict:     "conflict",
	Invalid:      "invalid",
	Unauthorized: "unauthorized",
	Forbidden:    "forbidden",
	Gone:         "gone",
	RateLimited:  "rate_limited",
	Unavailable:  "unavailable",
	TooLarge:     "too_large",
}

// String returns the kind's stable snake_case name, used as the error code in
// API responses.
func (k Kind) String() string {
	if name, ok := kindNames[k]; ok {
		return name
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Sentinels for errors.Is. An *Error of the same kind matches its sentinel.
var (
	ErrInternal     = &Error{Kind: Internal, Message: "internal error"}
	ErrNotFound     = &Error{Kind: NotFound, Message: "not found"}
	ErrConflict     = &Error{Kind: Conflict, Message: "conflict"}
	ErrInvalid      = &Error{Kind: Invalid, Message: "invalid input"}
	ErrUnauthorized = &Error{Kind: Unauthorized, Message: "unauthorized"}
	ErrForbidden    = &Error{Kind: Forbidden, Message: "forbidden"}
	ErrGone         = &Error{Kind: Gone, Message: "gone"}
	ErrRateLimited  = &Error{Kind: RateLimited, Message: "rate limited"}
	ErrUnavailable  = &Error{Kind: Unavailable, Message: "unavailable"}
	ErrTooLarge     = &Error{Kind: TooLarge, Message: "too large"}
)

// Error is a classified error. Message is safe to show to the API caller; the
// wrapped Err (if any) is for logs and is never rendered in a response.
type Error struct {
	Kind    Kind
	Message string
	// Fields holds per-field problems for Invalid errors: field name to
	// messages. Nil for other kinds.
	Fields map[string][]string
	// RetryAfter is how long a RateLimited caller should wait.
	RetryAfter time.Duration
	// Err is the underlying cause, if any.
	Err error
}

// Error implements error. It includes the cause so that logs are useful.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Kind.String()
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel (or any *Error) of the same kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind
}

// WithField returns a copy of e with one more message for field.
func (e *Error) WithField(field, message string) *Error {
	c := *e
	c.Fields = maps.Clone(e.Fields)
	if c.Fields == nil {
		c.Fields = map[string][]string{}
	}
	c.Fields[field] = append(slices.Clone(c.Fields[field]), message)
	return &c
}

// FieldNames returns the names of the fields with problems, sorted, so that
// renderings are deterministic.
func (e *Error) FieldNames() []string {
	return slices.Sorted(maps.Keys(e.Fields))
}

// New returns an error of the given kind with a formatted message.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap classifies cause as kind with a caller-facing message. The cause is kept
// for errors.Is/As and logs but is not shown to API callers.
func Wrap(kind Kind, cause error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...), Err: cause}
}

// NotFoundf returns a NotFound error.
func NotFoundf(format string, args ...any) *Error { return New(NotFound, format, args...) }

// Conflictf returns a Conflict error.
func Conflictf(format string, args ...any) *Error { return New(Conflict, format, args...) }

// Invalidf returns an Invalid error without field details; add them with
// WithField.
func Invalidf(format string, args ...any) *Error { return New(Invalid, format, args...) }

// InvalidField returns an Invalid error about one field.
func InvalidField(field, message string) *Error {
	return (&Error{Kind: Invalid, Message: field + ": " + message}).WithField(field, message)
}

// Unauthorizedf returns an Unauthorized error.
func Unauthorizedf(format string, args ...any) *Error { return New(Unauthorized, format, args...) }

// Forbiddenf returns a Forbidden error.
func Forbiddenf(format string, args ...any) *Error { return New(Forbidden, format, args...) }

// Gonef returns a Gone error.
func Gonef(format string, args ...any) *Error { return New(Gone, format, args...) }

// Unavailablef returns an Unavailable error.
func Unavailablef(format string, args ...any) *Error { return New(Unavailable, format, args...) }

// TooLargef returns a TooLarge error.
func TooLargef(format string, args ...any) *Error { return New(TooLarge, format, args...) }

// RateLimitedf returns a RateLimited error telling the caller to wait retryAfter.
func RateLimitedf(retryAfter time.Duration, format string, args ...any) *Error {
	e := New(RateLimited, format, args...)
	e.RetryAfter = retryAfter
	return e
}

// As returns the first *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// KindOf returns the kind of the first *Error in err's chain, or Internal.
func KindOf(err error) Kind {
	if e := As(err); e != nil {
		return e.Kind
	}
	return Internal
}
