package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"

	"github.com/bugflow/bugflow/analysis"
	"github.com/bugflow/bugflow/errs"
)

// Family is an API family: a group of routes that share one documented
// dialect, the shape of their answers. Each family's dialect is one value in
// its own file (dialect_*.go).
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
	// {"success": false, "status": N, "error": {"code", "message"}}, and
	// {"data", "success": true, "status"} around every success.
	Envelope
	// DRF is seeds/004 (workflows, tickets): {"error": "...", "details": {field: [msgs]}}.
	DRF
)

// dialect is how one family speaks HTTP. Every answer goes through it: the
// route wrapper renders returned errors with status and errorBody, and
// reply wraps success bodies with success.
type dialect struct {
	// status maps an error to the family's HTTP status: statusFor plus the
	// family's quirks.
	status func(e *errs.Error) int
	// errorBody is the family's documented error body for e answered with
	// status.
	errorBody func(status int, e *errs.Error) any
	// success is the body that carries data in a successful answer.
	success func(status int, data any) any
}

func (f Family) dialect() dialect {
	switch f {
	case FastAPI:
		return fastAPIDialect
	case Envelope:
		return envelopeDialect
	case DRF:
		return drfDialect
	default:
		return plainDialect
	}
}

// statusFor is the one place that maps an error kind to an HTTP status code;
// dialects differ from it only in their documented quirks.
func statusFor(e *errs.Error) int {
	if errors.Is(e, errMethodNotAllowed) {
		return http.StatusMethodNotAllowed
	}
	switch e.Kind {
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Conflict:
		return http.StatusConflict
	case errs.Invalid:
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

// errorCode is the machine-readable code of the dialects that have one: the
// kind's name, and method_not_allowed for the router's 405.
func errorCode(status int, e *errs.Error) string {
	if status == http.StatusMethodNotAllowed {
		return "method_not_allowed"
	}
	return e.Kind.String()
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

// jobStillRunning is the 202 answer to a request about a job that has not
// finished (analysis.JobNotFinishedError): seeds/001 tells the caller to
// come back, which is no error status.
type jobStillRunning struct {
	Detail string `json:"detail"`
	Status string `json:"status"`
}

// renderError answers err in family f's dialect; it is the only writer of
// error answers. Internal errors are logged with their cause and the
// request id; the response says only "internal server error".
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, f Family, err error) {
	d := f.dialect()
	var running *analysis.JobNotFinishedError
	if errors.As(err, &running) {
		_ = writeJSON(w, http.StatusAccepted, d.success(http.StatusAccepted, jobStillRunning{Detail: running.Error(), Status: running.Status}))
		return
	}
	var tracker *analysis.TrackerError
	if errors.As(err, &tracker) {
		// The tracker failed, not bugflow and not the caller: 502, with a
		// message that names the tracker and carries no secret.
		infoFrom(r.Context()).failure = err
		_ = writeJSON(w, http.StatusBadGateway, d.errorBody(http.StatusBadGateway, &errs.Error{Kind: errs.Unavailable, Message: tracker.Message}))
		return
	}
	e := classify(err)
	if e.Kind == errs.Invalid && infoFrom(r.Context()).plainInvalid {
		e = &errs.Error{Kind: errs.Invalid, Message: e.Message}
	}
	status := d.status(e)
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
	// The error body is made of maps and strings, which always encode.
	_ = writeJSON(w, status, d.errorBody(status, e))
}

// retryAfterSeconds rounds up, and never says 0: a client told to retry
// after 0 seconds would hammer the server.
func retryAfterSeconds(e *errs.Error) int {
	return max(1, int(math.Ceil(e.RetryAfter.Seconds())))
}

// reply writes a successful answer with status: data, wrapped as the
// route's dialect wraps successes. It fails only when data cannot be
// encoded, before anything is written, so that the error is still rendered.
func reply(w http.ResponseWriter, r *http.Request, status int, data any) error {
	return writeJSON(w, status, infoFrom(r.Context()).family.dialect().success(status, data))
}

// writeJSON writes v as the response body with the given status: v's JSON
// (json.Marshal's bytes) and a newline.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	buf := jsonBuffers.Get().(*bytes.Buffer)
	defer putJSONBuffer(buf)
	// An Encoder writes what json.Marshal returns and a newline, into a
	// buffer reused from request to request.
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	writeBody(w, status, buf.Bytes())
	return nil
}

// writeBody writes body, JSON, as the response with the given status.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// A write failure means the client went away mid-response; the status
	// line is already sent and there is no one left to tell.
	_, _ = w.Write(body)
}

// jsonBuffers are writeJSON's buffers. One that grew past
// maxPooledJSONBuffer (a large list) is left to the garbage collector, so
// that the pool does not keep the largest answer's memory for ever.
var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledJSONBuffer = 64 << 10

func putJSONBuffer(buf *bytes.Buffer) {
	if buf.Cap() > maxPooledJSONBuffer {
		return
	}
	buf.Reset()
	jsonBuffers.Put(buf)
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
