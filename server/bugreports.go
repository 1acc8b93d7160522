package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/bugflow/bugflow/bugs"
	"github.com/bugflow/bugflow/errs"
)

// bugReportsMaxBody bounds a bug report request: the field limits add up to
// about 70 KB of text, plus context, metadata and a client journey.
const bugReportsMaxBody = 512 << 10

// bugDate parses a date filter: RFC 3339, or a plain date meaning its
// midnight UTC.
func bugDate(field, v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			t = t.UTC()
			return &t, nil
		}
	}
	return nil, errs.InvalidField(field, "must be an ISO 8601 date or date-time, e.g. 2025-02-14 or 2025-02-14T10:00:00Z")
}

func (s *Server) listBugReports(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Source      string `json:"source"`
		Severity    string `json:"severity"`
		Status      string `json:"status"`
		WorkspaceID string `json:"workspaceId"`
		FromDate    string `json:"fromDate"`
		ToDate      string `json:"toDate"`
		Page        int    `json:"page"`
		Limit       int    `json:"limit"`
	}
	// An empty body lists everything with the defaults.
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &body); err != nil {
			return err
		}
	}
	from, err := bugDate("fromDate", body.FromDate)
	if err != nil {
		return err
	}
	to, err := bugDate("toDate", body.ToDate)
	if err != nil {
		return err
	}
	page, err := s.engine.Bugs.List(r.Context(), bugs.ListFilter{
		Source: bugs.Source(body.Source), Severity: bugs.Severity(body.Severity), Status: bugs.Status(body.Status),
		WorkspaceID: body.WorkspaceID, FromDate: from, ToDate: to, Page: body.Page, Limit: body.Limit,
	})
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, map[string]any{
		"items": page.Items,
		"meta": map[string]any{
			"page": page.Page, "limit": page.Limit, "total": page.Total,
			"hasNextPage": page.HasNextPage, "hasPrevPage": page.HasPrevPage,
		},
	})
}

// reporter is the person behind a report, as seeds/002's get shows it.
type reporter struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	AvatarURL *string `json:"avatarUrl"`
}

func (s *Server) getBugReport(w http.ResponseWriter, r *http.Request) error {
	id, err := decodeIDField(r, "bugReportId")
	if err != nil {
		return err
	}
	rep, err := s.engine.Bugs.Get(r.Context(), id)
	if err != nil {
		return err
	}
	out := struct {
		bugs.Report
		Reporter *reporter `json:"reporter"`
	}{Report: rep}
	if rep.ReporterID != nil {
		// A reporter who has since been deleted is shown by id alone.
		if u, err := s.engine.Auth.User(r.Context(), *rep.ReporterID); err == nil {
			name := strings.TrimSpace(u.Name + " " + u.Lastname)
			if name == "" {
				name = u.Username
			}
			if name == "" {
				name = u.Email
			}
			out.Reporter = &reporter{ID: u.ID, Name: name}
		} else {
			out.Reporter = &reporter{ID: *rep.ReporterID}
		}
	}
	return reply(w, r, http.StatusOK, out)
}

// bugReportBody is the union of create's and auto's bodies.
type bugReportBody struct {
	Title        string          `json:"title"`
	Description  string          `json:"description"`
	Source       string          `json:"source"`
	Severity     string          `json:"severity"`
	WorkspaceID  string          `json:"workspaceId"`
	SpaceID      string          `json:"spaceId"`
	ErrorMessage string          `json:"errorMessage"`
	ErrorStack   string          `json:"errorStack"`
	ErrorCode    string          `json:"errorCode"`
	Context      json.RawMessage `json:"context"`
	Metadata     json.RawMessage `json:"metadata"`
	UserJourney  json.RawMessage `json:"userJourney"`
	OccurredAt   string          `json:"occurredAt"`
}

func (b bugReportBody) occurredAt() (time.Time, error) {
	t, err := bugDate("occurredAt", b.OccurredAt)
	if err != nil || t == nil {
		return time.Time{}, err
	}
	return *t, nil
}

func (s *Server) createBugReport(w http.ResponseWriter, r *http.Request) error {
	var body bugReportBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	at, err := body.occurredAt()
	if err != nil {
		return err
	}
	rep, err := s.engine.Bugs.Create(r.Context(), bugs.CreateInput{
		Title: body.Title, Description: body.Description, Source: bugs.Source(body.Source), Severity: bugs.Severity(body.Severity),
		WorkspaceID: body.WorkspaceID, SpaceID: body.SpaceID, ReporterID: identityFrom(r.Context()).User.ID,
		ErrorMessage: body.ErrorMessage, ErrorStack: body.ErrorStack, ErrorCode: body.ErrorCode,
		Context: body.Context, Metadata: body.Metadata, UserJourney: body.UserJourney, OccurredAt: at,
	})
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusCreated, rep)
}

// autoBugReport answers 201 when the error made a new report and 200 when
// it was folded into an existing one (its occurrenceCount says how often).
func (s *Server) autoBugReport(w http.ResponseWriter, r *http.Request) error {
	var body bugReportBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	at, err := body.occurredAt()
	if err != nil {
		return err
	}
	rep, created, err := s.engine.Bugs.Auto(r.Context(), bugs.AutoInput{
		Source: bugs.Source(body.Source), ErrorMessage: body.ErrorMessage, ErrorStack: body.ErrorStack, ErrorCode: body.ErrorCode,
		Title: body.Title, Severity: bugs.Severity(body.Severity), WorkspaceID: body.WorkspaceID, SpaceID: body.SpaceID,
		ReporterID: identityFrom(r.Context()).User.ID, Context: body.Context, Metadata: body.Metadata, OccurredAt: at,
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return reply(w, r, status, rep)
}

func (s *Server) updateBugReport(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		BugReportID string  `json:"bugReportId"`
		Title       *string `json:"title"`
		Description *string `json:"description"`
		Severity    *string `json:"severity"`
		Status      *string `json:"status"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if strings.TrimSpace(body.BugReportID) == "" {
		return errs.InvalidField("bugReportId", "required")
	}
	in := bugs.UpdateInput{ID: body.BugReportID, Title: body.Title, Description: body.Description}
	if body.Severity != nil {
		sev := bugs.Severity(*body.Severity)
		in.Severity = &sev
	}
	if body.Status != nil {
		st := bugs.Status(*body.Status)
		in.Status = &st
	}
	rep, err := s.engine.Bugs.Update(r.Context(), in)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, rep)
}

func (s *Server) deleteBugReport(w http.ResponseWriter, r *http.Request) error {
	id, err := decodeIDField(r, "bugReportId")
	if err != nil {
		return err
	}
	if err := s.engine.Bugs.Delete(r.Context(), id); err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, map[string]any{"id": id, "deleted": true})
}
