package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// APIError is a non-2xx answer of the server, decoded from whichever error
// dialect the called API family speaks, so that callers handle all five
// families with one errors.As.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Body is the raw response body, for dialects this package does not know.
	Body []byte
	// Code is the machine-readable error code where the dialect has one
	// (e.g. "not_found"), else "".
	Code string
	// Message is the human-readable message; for a body in no known dialect,
	// the start of the body itself.
	Message string
	// Detail is the structured part of the answer beyond code and message:
	// FastAPI's list of validation problems, or the bug reports' and the
	// workflow API's details object, as encoding/json decodes them into an
	// any ([]any or map[string]any). Nil when there is none.
	Detail any
	// Fields holds the per-field messages of validation errors, keyed by
	// field name, whichever dialect carried them.
	Fields map[string][]string
}

// Error implements error.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "bugflow: %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" {
		b.WriteString(" (" + e.Code + ")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// response is what every generated *WithResponse result offers. Generic code
// cannot reach the Body and HTTPResponse fields, hence the getters.
type response interface {
	StatusCode() int
	GetBody() []byte
}

// Check turns a generated call's non-2xx answer into an *APIError, so that
// callers handle failures in one place instead of testing every status:
//
//	health, err := client.Check(c.GetHealthWithResponse(ctx))
//
// The result is returned even with an *APIError, because some error answers
// are typed too (the 503 of /health carries a Health in JSON503).
func Check[R response](r R, err error) (R, error) {
	if err != nil {
		return r, err
	}
	if code := r.StatusCode(); code < 200 || code > 299 {
		return r, parseError(code, r.GetBody())
	}
	return r, nil
}

// CheckResponse returns nil for a 2xx resp and an *APIError otherwise, for
// answers to Client.Do. body is resp's body, already read by the caller.
func CheckResponse(resp *http.Response, body []byte) error {
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	return parseError(resp.StatusCode, body)
}

// maxMessage bounds a Message taken from a body in no known dialect, such as
// a proxy's HTML error page, to keep error strings readable.
const maxMessage = 512

// parseError decodes an error body in any of the server's four dialects:
//
//	{"error": {"code", "message"}}                       BugFlows
//	{"detail": "..."} or {"detail": [{"loc","msg"}]}     analysis, tasks
//	{"success": false, "status", "error": {...}}         bug reports
//	{"error": "...", "details": {field: [msgs]}}         workflows, tickets
func parseError(status int, body []byte) *APIError {
	e := &APIError{StatusCode: status, Body: body}
	var doc struct {
		Detail  json.RawMessage `json:"detail"`
		Error   json.RawMessage `json:"error"`
		Details json.RawMessage `json:"details"`
	}
	_ = json.Unmarshal(body, &doc)
	switch {
	case len(doc.Detail) > 0:
		parseDetail(e, doc.Detail)
	case len(doc.Error) > 0 && doc.Error[0] == '{':
		var inner struct {
			Code    string          `json:"code"`
			Message string          `json:"message"`
			Details json.RawMessage `json:"details"`
		}
		_ = json.Unmarshal(doc.Error, &inner)
		e.Code, e.Message = inner.Code, inner.Message
		setDetails(e, inner.Details)
	case len(doc.Error) > 0 && doc.Error[0] == '"':
		_ = json.Unmarshal(doc.Error, &e.Message)
		setDetails(e, doc.Details)
	}
	if e.Message == "" && e.Code == "" {
		e.Message = bodyExcerpt(body)
	}
	return e
}

// parseDetail reads FastAPI's detail: a string, or a list of validation
// problems whose last location element names the field.
func parseDetail(e *APIError, raw json.RawMessage) {
	if json.Unmarshal(raw, &e.Message) == nil {
		return
	}
	var items []struct {
		Loc []any  `json:"loc"`
		Msg string `json:"msg"`
	}
	if json.Unmarshal(raw, &items) != nil {
		return
	}
	_ = json.Unmarshal(raw, &e.Detail)
	msgs := make([]string, 0, len(items))
	e.Fields = map[string][]string{}
	for _, it := range items {
		field := "body"
		if len(it.Loc) > 0 {
			field = fmt.Sprint(it.Loc[len(it.Loc)-1])
		}
		e.Fields[field] = append(e.Fields[field], it.Msg)
		msgs = append(msgs, field+": "+it.Msg)
	}
	e.Message = strings.Join(msgs, "; ")
}

// setDetails records a details object of per-field messages.
func setDetails(e *APIError, raw json.RawMessage) {
	if len(raw) == 0 || string(raw) == "null" {
		return
	}
	_ = json.Unmarshal(raw, &e.Detail)
	var fields map[string][]string
	if json.Unmarshal(raw, &fields) == nil {
		e.Fields = fields
	}
}

// bodyExcerpt is the start of a body in no known dialect, valid UTF-8.
func bodyExcerpt(body []byte) string {
	s := strings.TrimSpace(string(body[:min(len(body), maxMessage)]))
	return strings.ToValidUTF8(s, "")
}
