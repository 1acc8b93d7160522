package bugs

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// Source says where a report came from.
type Source string

// The sources of seeds/002.
const (
	SourceAutoServer  Source = "auto:server"  // server-side error capture
	SourceAutoClient  Source = "auto:client"  // client-side error boundary
	SourceAutoAgent   Source = "auto:agent"   // AI tool error
	SourceUserCommand Source = "user:command" // reported by a person
)

// Sources lists every valid Source.
var Sources = []Source{SourceAutoServer, SourceAutoClient, SourceAutoAgent, SourceUserCommand}

// Valid reports whether s is one of Sources.
func (s Source) Valid() bool {
	switch s {
	case SourceAutoServer, SourceAutoClient, SourceAutoAgent, SourceUserCommand:
		return true
	}
	return false
}

// Auto reports whether s is one of the automatic capture sources.
func (s Source) Auto() bool {
	return s == SourceAutoServer || s == SourceAutoClient || s == SourceAutoAgent
}

// Severity is how bad a report is.
type Severity string

// The severities of seeds/002.
const (
	SeverityLow      Severity = "low"      // minor issue
	SeverityMedium   Severity = "medium"   // moderate issue (the default)
	SeverityHigh     Severity = "high"     // major issue
	SeverityCritical Severity = "critical" // system down
)

// Severities lists every valid Severity, least severe first.
var Severities = []Severity{SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

// Valid reports whether s is one of Severities.
func (s Severity) Valid() bool {
	switch s {
	case SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical:
		return true
	}
	return false
}

// Status is where a report is in triage.
type Status string

// The statuses of seeds/002.
const (
	StatusOpen       Status = "open"        // new, unreviewed
	StatusTriaged    Status = "triaged"     // reviewed and prioritised
	StatusInProgress Status = "in_progress" // being fixed
	StatusResolved   Status = "resolved"    // fix deployed
	StatusClosed     Status = "closed"      // closed
)

// Statuses lists every valid Status in workflow order.
var Statuses = []Status{StatusOpen, StatusTriaged, StatusInProgress, StatusResolved, StatusClosed}

// Valid reports whether s is one of Statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusOpen, StatusTriaged, StatusInProgress, StatusResolved, StatusClosed:
		return true
	}
	return false
}

// Done reports whether s ends the report's life (resolved or closed); a new
// occurrence of a done report is a regression.
func (s Status) Done() bool { return s == StatusResolved || s == StatusClosed }

// Field limits in characters (runes), as in the reference system, and the
// bound on each JSON field in bytes.
const (
	MaxTitleLength        = 500
	MaxDescriptionLength  = 10_000
	MaxErrorMessageLength = 10_000
	MaxErrorStackLength   = 50_000
	MaxErrorCodeLength    = 100
	MaxIDLength           = 100
	MaxJSONBytes          = 64 << 10
)

// Report is one bug report. The JSON names are those of seeds/002; nullable
// fields are pointers (or nil JSON) so that they render as null.
type Report struct {
	ID          string  `json:"id"`
	WorkspaceID *string `json:"workspaceId"`
	SpaceID     *string `json:"spaceId"`
	ReporterID  *string `json:"reporterId"`

	Source   Source   `json:"source"`
	Severity Severity `json:"severity"`
	Status   Status   `json:"status"`

	Title        string  `json:"title"`
	Description  *string `json:"description"`
	ErrorMessage *string `json:"errorMessage"`
	ErrorStack   *string `json:"errorStack"`
	ErrorCode    *string `json:"errorCode"`

	// UserJourney is a Journey object (see Journey) or nil.
	UserJourney json.RawMessage `json:"userJourney"`
	// Context and Metadata are JSON objects (secrets redacted) or nil.
	Context  json.RawMessage `json:"context"`
	Metadata json.RawMessage `json:"metadata"`

	// OccurrenceCount is how many times this error was reported (1 for a
	// report filed by hand).
	OccurrenceCount int `json:"occurrenceCount"`
	// Fingerprint is the hex SHA-256 that groups occurrences ("" when the
	// report has no errorMessage); NormaliserVersion is the version of
	// Normalise that produced it (0 with no fingerprint).
	Fingerprint       string `json:"fingerprint,omitempty"`
	NormaliserVersion int    `json:"normaliserVersion,omitempty"`
	// Regression is set when a resolved or closed report recurred and was
	// reopened. It stays set as a record of that history.
	Regression bool `json:"regression"`

	// OccurredAt is when the (first) error occurred; FirstSeenAt and
	// LastSeenAt bound the occurrences that were counted into this report.
	OccurredAt  time.Time  `json:"occurredAt"`
	FirstSeenAt time.Time  `json:"firstSeenAt"`
	LastSeenAt  time.Time  `json:"lastSeenAt"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	ResolvedAt  *time.Time `json:"resolvedAt"`
	DeletedAt   *time.Time `json:"deletedAt"`
}

// Journey is the shape of Report.UserJourney.
type Journey struct {
	// RecentActions are the reporter's last actions recorded by bugflow,
	// oldest first.
	RecentActions []JourneyAction `json:"recentActions"`
	// SessionStartedAt is the time of the oldest recent action (nil with
	// none).
	SessionStartedAt *time.Time `json:"sessionStartedAt"`
	// Client is the userJourney the client sent, kept as sent (secrets
	// redacted).
	Client json.RawMessage `json:"client,omitempty"`
}

// JourneyAction is one step of a Journey.
type JourneyAction struct {
	ID        string    `json:"id"`
	Source    string    `json:"source"`
	Summary   string    `json:"summary"`
	Timestamp time.Time `json:"timestamp"`
}

// CreateInput is a report filed by a person (seeds/002 create). Empty strings
// and nil JSON mean "not given".
type CreateInput struct {
	Title       string   // required
	Description string   // optional
	Source      Source   // required; usually user:command
	Severity    Severity // default medium
	WorkspaceID string
	SpaceID     string
	// ReporterID is the signed-in user; their journey is attached.
	ReporterID   string
	ErrorMessage string
	ErrorStack   string
	ErrorCode    string
	Context      json.RawMessage // a JSON object
	Metadata     json.RawMessage // a JSON object
	// UserJourney is the client's own journey (any JSON object), kept under
	// userJourney.client.
	UserJourney json.RawMessage
	// OccurredAt defaults to now.
	OccurredAt time.Time
}

// AutoInput is an automatically captured error (seeds/002 auto). Empty
// strings and nil JSON mean "not given".
type AutoInput struct {
	Source       Source // required: auto:server, auto:client or auto:agent
	ErrorMessage string
	ErrorStack   string
	ErrorCode    string
	Title        string   // default: derived (AutoTitle)
	Severity     Severity // default: derived (AutoSeverity)
	WorkspaceID  string
	SpaceID      string
	ReporterID   string
	Context      json.RawMessage // a JSON object
	Metadata     json.RawMessage // a JSON object
	// OccurredAt defaults to now.
	OccurredAt time.Time
}

// UpdateInput changes a report (seeds/002 update); nil fields are left alone.
type UpdateInput struct {
	ID          string
	Title       *string
	Description *string
	Severity    *Severity
	Status      *Status
}

// ListFilter selects reports (seeds/002 list). Zero values mean "any"; Page
// defaults to 1 (at most MaxPage) and Limit to DefaultLimit (at most
// MaxLimit).
type ListFilter struct {
	Source      Source
	Severity    Severity
	Status      Status
	WorkspaceID string
	// FromDate and ToDate bound occurredAt, both inclusive.
	FromDate *time.Time
	ToDate   *time.Time
	Page     int
	Limit    int
}

// Paging defaults and bounds of List. MaxPage keeps the offset of a page,
// and page × limit, far from overflowing.
const (
	DefaultLimit = 20
	MaxLimit     = 100
	MaxPage      = 1_000_000
)

// Page is one page of List results, newest first.
type Page struct {
	Items       []Report `json:"items"`
	Page        int      `json:"page"`
	Limit       int      `json:"limit"`
	Total       int      `json:"total"`
	HasNextPage bool     `json:"hasNextPage"`
	HasPrevPage bool     `json:"hasPrevPage"`
}

// normalise checks f and fills in defaults. A page beyond the data is not an
// error: it is empty; a page beyond MaxPage is.
func (f *ListFilter) normalise() error {
	if f.Source != "" && !f.Source.Valid() {
		return invalidEnum("source", f.Source, Sources)
	}
	if f.Severity != "" && !f.Severity.Valid() {
		return invalidEnum("severity", f.Severity, Severities)
	}
	if f.Status != "" && !f.Status.Valid() {
		return invalidEnum("status", f.Status, Statuses)
	}
	if f.FromDate != nil && f.ToDate != nil && f.ToDate.Before(*f.FromDate) {
		return errs.InvalidField("toDate", "must not be before fromDate")
	}
	switch {
	case f.Page < 0 || f.Page > MaxPage:
		return errs.InvalidField("page", fmt.Sprintf("must be from 1 to %d", MaxPage))
	case f.Page == 0:
		f.Page = 1
	}
	switch {
	case f.Limit < 0:
		return errs.InvalidField("limit", "must be between 1 and 100")
	case f.Limit == 0:
		f.Limit = DefaultLimit
	case f.Limit > MaxLimit:
		// Capped rather than refused, like most list APIs; meta.limit
		// tells the caller what was applied.
		f.Limit = MaxLimit
	}
	return nil
}

func invalidEnum[T ~string](field string, got T, valid []T) error {
	msg := "must be one of"
	for i, v := range valid {
		if i > 0 {
			msg += ","
		}
		msg += " " + string(v)
	}
	return errs.InvalidField(field, msg+" (got "+quoteShort(string(got))+")")
}

func quoteShort(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "..."
	}
	return `"` + s + `"`
}

// checkLength returns an InvalidField error when s is longer than max
// characters or cannot be stored (store.CheckText).
func checkLength(field, s string, max int) error {
	if err := store.CheckText(field, s); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(s); n > max {
		return errs.InvalidField(field, fmt.Sprintf("must be at most %d characters (got %d)", max, n))
	}
	return nil
}
