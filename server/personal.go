package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/personal"
)

// owner is whose personal tasks the caller works on: their user id, or
// "admin" for the bootstrap admin, who has no stored user.
func owner(r *http.Request) string {
	id := identityFrom(r.Context())
	if id.User.ID == "" {
		return "admin"
	}
	return id.User.ID
}

// dueDate is seeds/003's due_date: RFC 3339 ("2025-12-31T23:59:59Z") or a
// bare date ("2025-12-31", midnight UTC), which people type.
func dueDate(field, v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, errs.InvalidField(field, "must be an RFC 3339 date-time, e.g. 2025-12-31T23:59:59Z, or a date, e.g. 2025-12-31")
}

// personalTaskBody is seeds/003's create and update body. Fields are raw so that
// an update tells an absent field (unchanged) from null (cleared, for
// due_date) and a wrong type names its field.
type personalTaskBody struct {
	Name        json.RawMessage `json:"name"`
	Description json.RawMessage `json:"description"`
	Status      json.RawMessage `json:"status"`
	Priority    json.RawMessage `json:"priority"`
	DueDate     json.RawMessage `json:"due_date"`
	Tags        json.RawMessage `json:"tags"`
}

// present reports whether a field was sent with a value other than null.
func present(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

// rawString decodes a string field, or nil when absent or null.
func rawString(field string, raw json.RawMessage) (*string, error) {
	if !present(raw) {
		return nil, nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, errs.InvalidField(field, "must be a string")
	}
	return &v, nil
}

// change turns the body into a TaskChange, checking each field's type.
func (b personalTaskBody) change() (personal.TaskChange, error) {
	var ch personal.TaskChange
	var err error
	if ch.Name, err = rawString("name", b.Name); err != nil {
		return ch, err
	}
	if ch.Description, err = rawString("description", b.Description); err != nil {
		return ch, err
	}
	status, err := rawString("status", b.Status)
	if err != nil {
		return ch, err
	}
	if status != nil {
		ch.Status = (*personal.Status)(status)
	}
	priority, err := rawString("priority", b.Priority)
	if err != nil {
		return ch, err
	}
	if priority != nil {
		ch.Priority = (*personal.Priority)(priority)
	}
	due, err := rawString("due_date", b.DueDate)
	if err != nil {
		return ch, err
	}
	if due != nil {
		t, err := dueDate("due_date", *due)
		if err != nil {
			return ch, err
		}
		ch.DueDate = &t
	}
	ch.ClearDueDate = len(b.DueDate) > 0 && !present(b.DueDate)
	if present(b.Tags) {
		var tags []string
		if err := json.Unmarshal(b.Tags, &tags); err != nil {
			return ch, errs.InvalidField("tags", "must be an array of strings")
		}
		ch.Tags = &tags
	}
	return ch, nil
}

func (s *Server) listPersonalTasks(w http.ResponseWriter, r *http.Request) error {
	f, err := taskFilter(r.URL.Query())
	if err != nil {
		return err
	}
	tasks, err := s.engine.Personal.ListTasks(r.Context(), owner(r), f)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, map[string][]personal.Task{"tasks": tasks})
}

// taskFilter reads the list's query: the document's status and priority,
// and tag, due_before, due_after and q.
func taskFilter(q url.Values) (personal.Filter, error) {
	f := personal.Filter{
		Status: personal.Status(q.Get("status")), Priority: personal.Priority(q.Get("priority")),
		Tag: q.Get("tag"), Q: q.Get("q"),
	}
	for _, b := range []struct {
		name string
		to   **time.Time
	}{{"due_before", &f.DueBefore}, {"due_after", &f.DueAfter}} {
		if v := q.Get(b.name); v != "" {
			t, err := dueDate(b.name, v)
			if err != nil {
				return f, err
			}
			*b.to = &t
		}
	}
	return f, f.Validate()
}

func (s *Server) createPersonalTask(w http.ResponseWriter, r *http.Request) error {
	var body personalTaskBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	ch, err := body.change()
	if err != nil {
		return err
	}
	in := personal.NewTask{DueDate: ch.DueDate}
	if ch.Name == nil {
		return errs.InvalidField("name", "is required")
	}
	in.Name = *ch.Name
	if ch.Description != nil {
		in.Description = *ch.Description
	}
	if ch.Status != nil {
		in.Status = *ch.Status
	}
	if ch.Priority != nil {
		in.Priority = *ch.Priority
	}
	if ch.Tags != nil {
		in.Tags = *ch.Tags
	}
	task, err := s.engine.Personal.CreateTask(r.Context(), owner(r), in)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusCreated, task)
}

func (s *Server) updatePersonalTask(w http.ResponseWriter, r *http.Request) error {
	var body personalTaskBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	ch, err := body.change()
	if err != nil {
		return err
	}
	task, err := s.engine.Personal.UpdateTask(r.Context(), owner(r), httprouter.ParamsFromContext(r.Context()).ByName("task_id"), ch)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, task)
}

func (s *Server) deletePersonalTask(w http.ResponseWriter, r *http.Request) error {
	if err := s.engine.Personal.DeleteTask(r.Context(), owner(r), httprouter.ParamsFromContext(r.Context()).ByName("task_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// viewer is the caller as the processes service sees them.
func viewer(r *http.Request) personal.Viewer {
	return personal.Viewer{UserID: owner(r), Admin: identityFrom(r.Context()).IsAdmin()}
}

func (s *Server) listProcesses(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.engine.Personal.Processes(r.Context(), viewer(r))
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, map[string][]personal.Process{"processes": ps})
}

func (s *Server) executeProcess(w http.ResponseWriter, r *http.Request) error {
	e, err := s.engine.Personal.Execute(r.Context(), viewer(r), httprouter.ParamsFromContext(r.Context()).ByName("process_id"))
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, e)
}

// executionsPage is one page of a process's execution history.
type executionsPage struct {
	Executions []personal.Execution `json:"executions"`
	Total      int                  `json:"total"`
	Limit      int                  `json:"limit"`
	Offset     int                  `json:"offset"`
}

func (s *Server) listExecutions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := intQuery(q, "limit", 20, 1, personal.MaxExecutionsPage)
	if err != nil {
		return err
	}
	offset, err := intQuery(q, "offset", 0, 0, 1_000_000)
	if err != nil {
		return err
	}
	runs, total, err := s.engine.Personal.Executions(r.Context(), viewer(r), httprouter.ParamsFromContext(r.Context()).ByName("process_id"), limit, offset)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, executionsPage{Executions: runs, Total: total, Limit: limit, Offset: offset})
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Message   json.RawMessage `json:"message"`
		SessionID json.RawMessage `json:"session_id"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	msg, err := rawString("message", body.Message)
	if err != nil {
		return err
	}
	if msg == nil {
		return errs.InvalidField("message", "is required")
	}
	session, err := rawString("session_id", body.SessionID)
	if err != nil {
		return err
	}
	if session == nil {
		session = new(string)
	}
	out, err := s.engine.Personal.Chat(r.Context(), owner(r), *session, *msg)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, out)
}
