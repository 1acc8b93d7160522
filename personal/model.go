package personal

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// Status is where a task stands.
type Status string

// The statuses of the document.
const (
	NotStarted Status = "not_started"
	InProgress Status = "in_progress"
	Completed  Status = "completed"
	Blocked    Status = "blocked"
)

// Statuses lists every Status in the document's order.
var Statuses = []Status{NotStarted, InProgress, Completed, Blocked}

// Valid reports whether s is one of Statuses.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Priority is how much a task matters.
type Priority string

// The priorities of the document, from least to most pressing.
const (
	Low    Priority = "low"
	Medium Priority = "medium"
	High   Priority = "high"
	Urgent Priority = "urgent"
)

// Priorities lists every Priority from least to most pressing.
var Priorities = []Priority{Low, Medium, High, Urgent}

// Valid reports whether p is one of Priorities.
func (p Priority) Valid() bool { return slices.Contains(Priorities, p) }

// Size bounds. A personal list is small by nature; the bounds keep one user
// from filling the database or making a list answer unbounded.
const (
	MaxNameLength        = 200   // characters
	MaxDescriptionLength = 10000 // characters
	MaxTags              = 20    // per task
	MaxTagLength         = 50    // characters
	MaxQueryLength       = 200   // characters of a search
	// DefaultMaxTasksPerUser is Config.MaxTasksPerUser's default; a list
	// returns at most this many tasks, so it is also a list's size bound.
	DefaultMaxTasksPerUser = 1000
)

// Task is one personal task.
type Task struct {
	ID          string     `json:"task_id"`
	OwnerID     string     `json:"-"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Status      Status     `json:"status"`
	Priority    Priority   `json:"priority"`
	DueDate     *time.Time `json:"due_date"`
	// Tags are lower case, without repeats, in the order first given.
	Tags      []string  `json:"tags"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// NewTask is what CreateTask takes. Priority "" means Medium, Status ""
// NotStarted.
type NewTask struct {
	Name        string
	Description string
	Status      Status
	Priority    Priority
	DueDate     *time.Time
	Tags        []string
}

// TaskChange is what UpdateTask takes: nil fields stay as they are.
// ClearDueDate removes the due date (DueDate must then be nil).
type TaskChange struct {
	Name         *string
	Description  *string
	Status       *Status
	Priority     *Priority
	DueDate      *time.Time
	ClearDueDate bool
	Tags         *[]string
}

// Filter selects tasks of one owner; zero fields select everything.
type Filter struct {
	Status   Status
	Priority Priority
	// Tag matches tasks carrying it, in any case.
	Tag string
	// DueBefore and DueAfter bound the due date (exclusive); a task with
	// no due date matches neither.
	DueBefore *time.Time
	DueAfter  *time.Time
	// Q matches tasks whose name or description contains it, in any case.
	Q string
}

// Validate checks the filter's values, naming the query parameter of each
// that is wrong.
func (f Filter) Validate() error {
	var e *errs.Error
	add := func(field, msg string) {
		if e == nil {
			e = errs.Invalidf("invalid filter")
		}
		e = e.WithField(field, msg)
	}
	if f.Status != "" && !f.Status.Valid() {
		add("status", "must be one of not_started, in_progress, completed, blocked")
	}
	if f.Priority != "" && !f.Priority.Valid() {
		add("priority", "must be one of low, medium, high, urgent")
	}
	if utf8.RuneCountInString(f.Tag) > MaxTagLength || !store.ValidText(f.Tag) {
		add("tag", fmt.Sprintf("must be at most %d characters of text", MaxTagLength))
	}
	if utf8.RuneCountInString(f.Q) > MaxQueryLength || !store.ValidText(f.Q) {
		add("q", fmt.Sprintf("must be at most %d characters of text", MaxQueryLength))
	}
	if e == nil {
		return nil
	}
	return e
}

// normalTags trims, lower-cases and de-duplicates tags, refusing empty,
// overlong or too many ones. Lower case makes "Work" and "work" one tag,
// which is what a person filtering by tag expects.
func normalTags(tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		switch {
		case !store.ValidText(t):
			return nil, errs.InvalidField("tags", store.TextRule)
		case t == "":
			return nil, errs.InvalidField("tags", "must not be empty")
		case utf8.RuneCountInString(t) > MaxTagLength:
			return nil, errs.InvalidField("tags", fmt.Sprintf("each must be at most %d characters", MaxTagLength))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) > MaxTags {
		return nil, errs.InvalidField("tags", fmt.Sprintf("must be at most %d", MaxTags))
	}
	return out, nil
}

// validate checks a task as it would be stored, naming each wrong field.
func (t Task) validate() error {
	var e *errs.Error
	add := func(field, msg string) {
		if e == nil {
			e = errs.Invalidf("invalid task")
		}
		e = e.WithField(field, msg)
	}
	name := strings.TrimSpace(t.Name)
	switch {
	case !store.ValidText(t.Name):
		add("name", store.TextRule)
	case name == "":
		add("name", "is required")
	case utf8.RuneCountInString(t.Name) > MaxNameLength:
		add("name", fmt.Sprintf("must be at most %d characters", MaxNameLength))
	}
	switch {
	case !store.ValidText(t.Description):
		add("description", store.TextRule)
	case utf8.RuneCountInString(t.Description) > MaxDescriptionLength:
		add("description", fmt.Sprintf("must be at most %d characters", MaxDescriptionLength))
	}
	if !t.Status.Valid() {
		add("status", "must be one of not_started, in_progress, completed, blocked")
	}
	if !t.Priority.Valid() {
		add("priority", "must be one of low, medium, high, urgent")
	}
	if e == nil {
		return nil
	}
	return e
}
