package server

import (
	"net/http"
	"time"

	"github.com/bugflow/bugflow/audit"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// seeds/004's audit events, for admins: who changed what in workflows,
// tasks, tickets and role memberships.

// dateRule is what a start_date or end_date must be.
const dateRule = "must be an RFC 3339 time (2026-12-05T10:30:00Z) or a date (2026-12-05)"

// auditDate reads the query parameter name as an RFC 3339 time or a
// YYYY-MM-DD date (UTC). A date as end_date means the end of that day, so
// that the range includes the whole day; audit.Filter's bounds are
// inclusive and times are kept to the microsecond.
func auditDate(r *http.Request, name string, end bool) (*time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	if err := store.CheckText(name, v); err != nil {
		return nil, err
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return &t, nil
	}
	day, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return nil, errs.InvalidField(name, dateRule)
	}
	if end {
		day = day.AddDate(0, 0, 1).Add(-time.Microsecond)
	}
	return &day, nil
}

// auditFilter reads the filter query parameters of r.
func auditFilter(r *http.Request) (audit.Filter, error) {
	q := r.URL.Query()
	f := audit.Filter{Action: q.Get("action"), UserID: q.Get("user_id"), TargetType: q.Get("target_type"), TargetID: q.Get("target_id")}
	var err error
	if f.Since, err = auditDate(r, "start_date", false); err != nil {
		return f, err
	}
	f.Until, err = auditDate(r, "end_date", true)
	return f, err
}

func (s *Server) listAuditEvents(w http.ResponseWriter, r *http.Request) error {
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	return s.replyAuditPage(w, r, f)
}

// auditEventsByTarget is listAuditEvents for one target, both of whose
// parameters are required.
func (s *Server) auditEventsByTarget(w http.ResponseWriter, r *http.Request) error {
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	missing := errs.Invalidf("target_type and target_id are required")
	if f.TargetType == "" {
		missing = missing.WithField("target_type", "This field is required.")
	}
	if f.TargetID == "" {
		missing = missing.WithField("target_id", "This field is required.")
	}
	if len(missing.Fields) > 0 {
		return missing
	}
	return s.replyAuditPage(w, r, f)
}

func (s *Server) replyAuditPage(w http.ResponseWriter, r *http.Request, f audit.Filter) error {
	p, err := drfPaging(r)
	if err != nil {
		return err
	}
	events, count, err := s.engine.Audit.List(r.Context(), f, p.Offset/p.Limit+1, p.Limit)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, newDRFPage(r, p, count, events))
}

func (s *Server) getAuditEvent(w http.ResponseWriter, r *http.Request) error {
	return replyByID(w, r, "audit event", s.engine.Audit.Get)
}
