package server

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/bugflow/bugflow/errs"
)

// Family is an API family: a group of routes that share one documented error
// dialect.
type Family int

// The API families, named after the documents that define them.
const (
	// Plain is seeds/000 (BugFlows sign-in and triage models):
	// {"error": {"code", "message"}}.
	Plain Family = iota
	// FastAPI is seeds/001 (failure analysis) and seeds/003 (tasks):
	// {"detail": "..."}, and 422 {"detail": [{"loc","msg","type"}]} for
	// field validation errors.
	FastAPI
	// Envelope is seeds/002 (bug reports):
	// {"success": false, "status": N, "error": {"code", "message"}}.
	Envelope
	// DRF is seeds/004 (workflows, tickets): {"error": "...", "details": {field: [msgs]}}.
	DRF
)

// statusFor is the one place that maps an error kind to an HTTP status code.
// The only dialect difference is FastAPI's 422 for field validation errors.
func statusFor(f Family, e *errs.Error) int {
	if errors.Is(e, errMethodNotAllowed) {
		return http.StatusMethodNotAllowed
	}
	switch e.Kind {
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Conflict:
		return http.StatusConflict
	case errs.Invalid:
		if f == FastAPI && len(e.Fields) > 0 {
			return http.StatusUnprocessableEntity
		}
		return http.StatusBadRequest
	case errs.Unauthorized:
		return http.StatusUnauthorized
	case errs.Forbidden:
		return http.StatusForbidden
	case errs.Gone:
		return http.StatusGone
	case errs.RateLimited:
		return http.StatusTooManyRequests
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	case errs.TooLarge:
		return http.StatusRequestEntityTooLarge
	default:
		return http.StatusInternalServerError
	}
}

// errMethodNotAllowed marks the router's 405 answer. It is an Invalid error
// (the request is wrong) that statusFor renders as 405.
var errMethodNotAllowed = errors.New("method not allowed")

// classify turns any error into an *errs.Error that is safe to render:
// unclassified errors become a generic internal error so that nothing about
// bugflow's internals reaches the caller.
func classify(err error) *errs.Error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errs.TooLargef("request body exceeds the limit of %d bytes", tooLarge.Limit)
	}
	if e := errs.As(err); e != nil && e.Kind != errs.Internal {
		return e
	}
	return &errs.Error{Kind: errs.Internal, Message: "internal server error"}
}

// writeError renders err in family's dialect. Internal errors are logged with
// their cause and the request id; the response says only "internal server
// error".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, f Family, err error) {
	e := classify(err)
	if e.Kind == errs.Invalid && infoFrom(r.Context()).plainInvalid {
		e = &errs.Error{Kind: errs.Invalid, Message: e.Message}
	}
	status := statusFor(f, e)
	if status >= 500 {
		infoFrom(r.Context()).failure = err
	}
	if status >= 500 && e.Kind == errs.Internal {
		s.logger.ErrorContext(r.Context(), "request failed", "error", err.Error(), "request_id", RequestID(r.Context()), "method", r.Method, "path", r.URL.Path)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="bugflow"`)
	}
	if e.Kind == errs.RateLimited || (e.Kind == errs.Unavailable && e.RetryAfter > 0) {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(e)))
	}
	writeJSON(w, status, errorBody(f, status, e))
}

// retryAfterSeconds rounds up, and never says 0: a client told to retry
// after 0 seconds would hammer the server.
func retryAfterSeconds(e *errs.Error) int {
	return max(1, int(math.Ceil(e.RetryAfter.Seconds())))
}

// errorBody builds the documented error shape of each family.
func errorBody(f Family, status int, e *errs.Error) any {
	code, msg := e.Kind.String(), e.Message
	if status == http.StatusMethodNotAllowed {
		code = "method_not_allowed"
	}
	switch f {
	case FastAPI:
		if status == http.StatusUnprocessableEntity {
			items := []validationItem{}
			for _, field := range e.FieldNames() {
				for _, m := range e.Fields[field] {
					items = append(items, validationItem{Loc: []string{"body", field}, Msg: m, Type: "value_error"})
				}
			}
			return map[string]any{"detail": items}
		}
		return map[string]any{"detail": msg}
	case Envelope:
		inner := map[string]any{"code": code, "message": msg}
		if len(e.Fields) > 0 {
			inner["details"] = e.Fields
		}
		return map[string]any{"success": false, "status": status, "error": inner}
	case DRF:
		body := map[string]any{"error": msg}
		if len(e.Fields) > 0 {
			body["details"] = e.Fields
		}
		return body
	default:
		return map[string]any{"error": map[string]string{"code": code, "message": msg}}
	}
}

type validationItem struct {
	Loc  []string `json:"loc"`
	Msg  string   `json:"msg"`
	Type string   `json:"type"`
}

// writeJSON writes v as the response body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// An encoding failure here means the client went away mid-response; the
	// status line is already sent and there is no one left to tell.
	_ = json.NewEncoder(w).Encode(v)
}

// plainInvalid keeps an Invalid error's message but drops its field details,
// so that a FastAPI route answers 400 rather than 422: seeds/001 uses 400
// for business rules (invalid XML, child scope) and 422 for model validation.
func plainInvalid(err error) error {
	if e := errs.As(err); e != nil && e.Kind == errs.Invalid && len(e.Fields) > 0 {
		return &errs.Error{Kind: errs.Invalid, Message: e.Message, Err: e.Err}
	}
	return err
}
