package tickets

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/workflow"
)

// Status is where a ticket is; it follows the ticket's task.
type Status string

// The ticket statuses (see the package documentation).
const (
	StatusNew        Status = "New"
	StatusOpen       Status = "Open"
	StatusInProgress Status = "In Progress"
	StatusResolved   Status = "Resolved"
)

// Statuses lists every Status, in the order of a ticket's life.
var Statuses = []Status{StatusNew, StatusOpen, StatusInProgress, StatusResolved}

// Priorities lists the priorities a ticket may have, lowest first: the
// workflow priorities, whose SLA sets the task's target.
var Priorities = []workflow.Priority{workflow.PriorityLow, workflow.PriorityMedium, workflow.PriorityHigh, workflow.PriorityUrgent}

// Limits on what a ticket holds, in characters.
const (
	// MaxSubjectLength is the longest subject a task takes (the
	// workflow engine's name limit), so that no valid ticket fails intake.
	MaxSubjectLength     = workflow.MaxNameLength
	MaxDescriptionLength = 10_000
	MaxNameLength        = 100 // category, subcategory, department
	MaxEmployeeName      = 200
	MaxEmailLength       = 254
	// MaxTicketIDAttempts is how many random ticket ids Submit tries
	// before it gives up: with a million ids a day, a run of collisions
	// that long means the day's ids are nearly spent.
	MaxTicketIDAttempts = 10
)

// Employee is who the ticket is for, as the submitting system names them;
// it is stored as given, not matched to a bugflow user.
type Employee struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Ticket is a request for work.
type Ticket struct {
	ID int64 `json:"id"`
	// TicketID is "TX" + the UTC date of submission (YYYYMMDD) + 6
	// random digits, unique.
	TicketID    string            `json:"ticket_id"`
	Subject     string            `json:"subject"`
	Description string            `json:"description"`
	Category    string            `json:"category"`
	SubCategory string            `json:"subcategory"`
	Department  string            `json:"department"`
	Priority    workflow.Priority `json:"priority"`
	Status      Status            `json:"status"`
	Employee    *Employee         `json:"employee"`
	// SubmittedBy is the user id of who submitted it, nil for a ticket
	// submitted without a signed-in user (an embedding program).
	SubmittedBy *string `json:"submitted_by"`
	// OwnerID is the Ticket Coordinator who owns it, picked at intake.
	OwnerID *string `json:"owner_id"`
	// TaskID and WorkflowID are the task working on it and its workflow,
	// nil while the ticket is New.
	TaskID     *int64    `json:"task_id"`
	WorkflowID *int64    `json:"workflow_id"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Input is the body of a new ticket (seeds/004's create body). Subject is
// required; Priority is one of Priorities in any case, Medium when empty;
// without a department and category no workflow matches.
type Input struct {
	Subject     string    `json:"subject"`
	Description string    `json:"description"`
	Category    string    `json:"category"`
	SubCategory string    `json:"subcategory"`
	Department  string    `json:"department"`
	Priority    string    `json:"priority"`
	Employee    *Employee `json:"employee"`
}

// Update changes a ticket; nil fields keep their value. Category,
// SubCategory and Department route the ticket to a workflow, so they may
// change only while the ticket is New (a change then offers it to intake
// again); the rest may change at any time. A priority changed after intake
// does not move the task's SLA target, which was set when it started.
type Update struct {
	Subject     *string `json:"subject"`
	Description *string `json:"description"`
	Category    *string `json:"category"`
	SubCategory *string `json:"subcategory"`
	Department  *string `json:"department"`
	Priority    *string `json:"priority"`
}

// problems collects field messages for one Invalid error.
type problems map[string][]string

func (p problems) add(field, msg string) { p[field] = append(p[field], msg) }

// text checks that v can be stored and is at most max characters.
func (p problems) text(field, v string, max int) {
	switch {
	case !store.ValidText(v):
		p.add(field, store.TextRule)
	case utf8.RuneCountInString(v) > max:
		p.add(field, fmt.Sprintf("must be at most %d characters", max))
	}
}

func (p problems) err(msg string) error {
	if len(p) == 0 {
		return nil
	}
	e := errs.Invalidf("%s", msg)
	for field, msgs := range p {
		for _, m := range msgs {
			e = e.WithField(field, m)
		}
	}
	return e
}

// ParsePriority returns the priority s names in any case.
func ParsePriority(s string) (workflow.Priority, bool) {
	for _, p := range Priorities {
		if strings.EqualFold(strings.TrimSpace(s), string(p)) {
			return p, true
		}
	}
	return "", false
}

func (p problems) priority(s string) workflow.Priority {
	if strings.TrimSpace(s) == "" {
		return workflow.PriorityMedium
	}
	pr, ok := ParsePriority(s)
	if !ok {
		p.add("priority", "Invalid priority value: must be one of Low, Medium, High, Urgent.")
	}
	return pr
}

func (p problems) subject(s string) {
	if strings.TrimSpace(s) == "" {
		p.add("subject", "This field is required.")
		return
	}
	p.text("subject", s, MaxSubjectLength)
}

func (p problems) routing(category, subCategory, department string) {
	p.text("category", category, MaxNameLength)
	p.text("subcategory", subCategory, MaxNameLength)
	p.text("department", department, MaxNameLength)
}

func (p problems) employee(e *Employee) {
	if e == nil {
		return
	}
	if e.ID < 0 {
		p.add("employee.id", "must not be negative")
	}
	p.text("employee.name", e.Name, MaxEmployeeName)
	p.text("employee.email", e.Email, MaxEmailLength)
	if e.Email != "" && store.ValidText(e.Email) {
		if a, err := mail.ParseAddress(e.Email); err != nil || a.Address != e.Email {
			p.add("employee.email", "must be an email address")
		}
	}
}

// Validate checks in, naming every bad field, and returns its priority.
func (in Input) Validate() (workflow.Priority, error) {
	p := problems{}
	p.subject(in.Subject)
	p.text("description", in.Description, MaxDescriptionLength)
	p.routing(in.Category, in.SubCategory, in.Department)
	pr := p.priority(in.Priority)
	p.employee(in.Employee)
	return pr, p.err("invalid ticket")
}

// Caller is who asks the service for tickets: the rules of the package
// documentation decide what it may see and change. An embedding program
// acting for no one passes Caller{Admin: true}.
type Caller struct {
	UserID      string
	Admin       bool
	Coordinator bool
}

// seesAll reports whether c reads and updates every ticket.
func (c Caller) seesAll() bool { return c.Admin || c.Coordinator }

// mayAccess reports whether c may read and update t.
func (c Caller) mayAccess(t Ticket) bool {
	if c.seesAll() {
		return true
	}
	return c.UserID != "" && (deref(t.SubmittedBy) == c.UserID || deref(t.OwnerID) == c.UserID)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Filter selects tickets in List; zero fields select everything.
type Filter struct {
	Status     Status
	Priority   string
	Department string
	Category   string
}

// ListOptions selects a page of a list. Page counts from 1 (0 means 1);
// PageSize 0 means DefaultPageSize and may not exceed MaxPageSize.
type ListOptions struct {
	Page     int
	PageSize int
}

// Page size bounds of ListOptions.
const (
	DefaultPageSize = 10
	MaxPageSize     = 100
)
