package analytics

import (
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/workflow"
)

// Limits of a Filter.
const (
	// DefaultRange is the range of a filter without start_date: the 30
	// days before its end.
	DefaultRange = 30 * 24 * time.Hour
	// MaxRange is the longest range a filter may span, two years (a leap
	// day included). Day buckets stay at most 731 points per series.
	MaxRange = 731 * 24 * time.Hour
	// MaxDepartmentLength is the longest department a filter names, in
	// characters: the longest a ticket or workflow stores.
	MaxDepartmentLength = 100
)

// Filter selects what an analytics query covers. The zero Filter is the 30
// days before the service's clock, every workflow, department and priority.
type Filter struct {
	// From and To bound the range [From, To); a zero To is the service's
	// clock, a zero From is DefaultRange before To. Records fall in the
	// range by their creation time, unless a figure says otherwise (a
	// resolution trend buckets by resolution time).
	From time.Time `json:"start_date"`
	To   time.Time `json:"end_date"`
	// WorkflowID keeps one workflow's tasks and tickets; 0 means any.
	WorkflowID int64 `json:"workflow_id,omitempty"`
	// Department keeps one department: a ticket's own, and a task's
	// workflow's. "" means any.
	Department string `json:"department,omitempty"`
	// Priority keeps one priority (Low, Medium, High, Urgent); "" means
	// any.
	Priority string `json:"priority,omitempty"`
}

// Validate reports what is wrong with f as one Invalid error naming each
// field (by its query parameter name); nil when f is usable.
func (f Filter) Validate() error {
	var e *errs.Error
	add := func(field, msg string) {
		if e == nil {
			e = errs.Invalidf("invalid filter")
		}
		e = e.WithField(field, msg)
	}
	if f.WorkflowID < 0 {
		add("workflow_id", "must be a positive integer")
	}
	if !store.ValidText(f.Department) || utf8.RuneCountInString(f.Department) > MaxDepartmentLength {
		add("department", "must be valid text of at most "+strconv.Itoa(MaxDepartmentLength)+" characters")
	}
	if f.Priority != "" && !validPriority(f.Priority) {
		add("priority", "must be one of Low, Medium, High, Urgent")
	}
	if !f.From.IsZero() && !f.To.IsZero() {
		if field, msg := rangeProblem(f.From, f.To); field != "" {
			add(field, msg)
		}
	}
	if e == nil {
		return nil
	}
	return e
}

// rangeProblem names the field and the problem of a range [from, to), or
// returns "" when it is fine.
func rangeProblem(from, to time.Time) (string, string) {
	switch {
	case !to.After(from):
		return "end_date", "must be after start_date"
	case to.Sub(from) > MaxRange:
		return "end_date", "the range may span at most 731 days"
	}
	return "", ""
}

func validPriority(p string) bool {
	switch workflow.Priority(p) {
	case workflow.PriorityLow, workflow.PriorityMedium, workflow.PriorityHigh, workflow.PriorityUrgent:
		return true
	}
	return false
}

// ParseFilter reads a Filter from the query parameters start_date and
// end_date (each an RFC 3339 time or a YYYY-MM-DD date in UTC; a date as
// end_date covers its whole day), workflow_id (a positive integer),
// department and priority. Absent parameters leave the Filter's zero
// values, which the service fills in (see Filter). Every bad parameter is
// named in the one Invalid error returned.
func ParseFilter(q url.Values) (Filter, error) {
	var f Filter
	var e *errs.Error
	add := func(field, msg string) {
		if e == nil {
			e = errs.Invalidf("invalid filter")
		}
		e = e.WithField(field, msg)
	}
	badDate := false
	if v := q.Get("start_date"); v != "" {
		t, ok := parseDate(v, false)
		if !ok {
			add("start_date", "must be an RFC 3339 time or a YYYY-MM-DD date")
			badDate = true
		}
		f.From = t
	}
	if v := q.Get("end_date"); v != "" {
		t, ok := parseDate(v, true)
		if !ok {
			add("end_date", "must be an RFC 3339 time or a YYYY-MM-DD date")
			badDate = true
		}
		f.To = t
	}
	if v := q.Get("workflow_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			add("workflow_id", "must be a positive integer")
		}
		f.WorkflowID = max(id, 0)
	}
	f.Department = q.Get("department")
	f.Priority = q.Get("priority")
	checked := f
	if badDate {
		// A bad date leaves no range to judge.
		checked.From, checked.To = time.Time{}, time.Time{}
	}
	if err := checked.Validate(); err != nil {
		ve := errs.As(err)
		for _, name := range ve.FieldNames() {
			for _, msg := range ve.Fields[name] {
				add(name, msg)
			}
		}
	}
	if e != nil {
		return Filter{}, e
	}
	return f, nil
}

// parseDate reads an RFC 3339 time or a YYYY-MM-DD date (UTC midnight; the
// next midnight when end, so that an end date covers its day). Years
// outside 1970-9999 are refused: nothing bugflow stores is older, and both
// databases order such times as text or timestamps alike.
func parseDate(v string, end bool) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		d, derr := time.Parse(time.DateOnly, v)
		if derr != nil {
			return time.Time{}, false
		}
		t = d
		if end {
			t = t.AddDate(0, 0, 1)
		}
	}
	t = t.UTC().Truncate(time.Microsecond)
	if t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}, false
	}
	return t, true
}

// bounds returns f with its zero times filled in from the service's clock
// (see Filter) and checks it.
func (s *Service) bounds(f Filter) (Filter, error) {
	if f.To.IsZero() {
		f.To = s.clock()
	}
	if f.From.IsZero() {
		f.From = f.To.Add(-DefaultRange)
	}
	f.From, f.To = f.From.UTC().Truncate(time.Microsecond), f.To.UTC().Truncate(time.Microsecond)
	if err := f.Validate(); err != nil {
		return Filter{}, err
	}
	return f, nil
}
