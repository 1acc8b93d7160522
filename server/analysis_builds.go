package server

import (
	"encoding/json"
	"net/http"

	"github.com/bugflow/bugflow/analysis"
)

// analyze queues the analysis of a Jenkins build (seeds/001 POST
// /analyze): 202 with the job to poll.
func (s *Server) analyze(w http.ResponseWriter, r *http.Request) error {
	var fields map[string]json.RawMessage
	if err := decodeJSON(r, &fields); err != nil {
		return err
	}
	req, err := analysis.ParseJenkinsRequest(fields)
	if err != nil {
		return err
	}
	// Without a Jenkins to ask, the request is a plain Invalid (400:
	// "invalid integration/config state").
	id, err := s.engine.Builds.Start(r.Context(), req)
	if err != nil {
		return err
	}
	return s.queued(w, r, id, "Analysis queued")
}

// reanalyze queues a new analysis of the build a stored job analysed, with
// the body's analysis settings on top of the stored ones.
func (s *Server) reanalyze(w http.ResponseWriter, r *http.Request) error {
	fields := map[string]json.RawMessage{}
	// curl -X POST without -d sends no body: nothing to override.
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &fields); err != nil {
			return err
		}
	}
	// The body's validation errors name fields (422); a source job that
	// cannot be re-analysed is a plain Invalid (400), as seeds/001 has it.
	id, err := s.engine.Builds.Reanalyze(r.Context(), jobID(r), fields)
	if err != nil {
		return err
	}
	return s.queued(w, r, id, "Re-analysis queued")
}

// queued answers 202 with where the job's result will be.
func (s *Server) queued(w http.ResponseWriter, r *http.Request, id, message string) error {
	base := s.engine.Trackers.PublicBaseURL()
	return reply(w, r, http.StatusAccepted, analysis.Queued{
		Status: "queued", JobID: id, Message: message + "; poll result_url for the result.",
		BaseURL: base, ResultURL: base + "/results/" + id,
	})
}

// pushReportPortal pushes a job's classifications into Report Portal;
// integration problems are answered 200 with errors[] (seeds/001).
func (s *Server) pushReportPortal(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	child := q.Get("child_job_name")
	number, err := intQuery(q, "child_build_number", 0, 0, 1<<31-1)
	if err != nil {
		return err
	}
	out, err := s.engine.Trackers.PushReportPortal(r.Context(), jobID(r), child, number)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, out)
}

// enrichComments resolves the tracker items a job's comments mention to
// their live statuses, with the caller's saved tokens when signed in.
func (s *Server) enrichComments(w http.ResponseWriter, r *http.Request) error {
	creds, err := s.credentials(r, trackerCreds{})
	if err != nil {
		return err
	}
	out, err := s.engine.Trackers.EnrichComments(r.Context(), jobID(r), creds)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, map[string]any{"enrichments": out})
}
