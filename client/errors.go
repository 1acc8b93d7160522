package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// APIError is a non-2xx answer of the server, decoded from whichever error
// dialect the called API family speaks.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the machine-readable error code where the dialect has one
	// (e.g. "not_found"), else "".
	Code string
	// Message is the human-readable message.
	Message string
	// Fields holds per-field problems of validation errors.
	Fields map[string][]string
	// Body is the raw response body.
	Body []byte
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

// response is what every generated *WithResponse result offers.
type response interface {
	StatusCode() int
	GetBody() []byte
}

// Check turns a generated call's non-2xx answer into an *APIError, so that
// callers handle failures in one place:
//
//	health, err := client.Check(c.GetHealthWithResponse(ctx))
func Check[R response](r R, err error) (R, error) {
	if err != nil {
		return r, err
	}
	if code := r.StatusCode(); code < 200 || code > 299 {
		return r, ParseError(code, r.GetBody())
	}
	return r, nil
}

// ParseError decodes an error body in any of the server's four dialects:
//
//	{"error": {"code", "message"}}                       BugFlows
//	{"detail": "..."} or {"detail": [{"loc","msg"}]}     analysis, tasks
//	{"success": false, "status", "error": {...}}         bug reports
//	{"error": "...", "details": {field: [msgs]}}         workflows, tickets
func ParseError(status int, body []byte) *APIError {
	e := &APIError{StatusCode: status, Body: body}
	var doc struct {
		Detail json.RawMessage `json:"detail"`
		Error  json.RawMessage `json:"error"`
		// Details is the DRF dialect's per-field map.
		Details map[string][]string `json:"details"`
	}
	if json.Unmarshal(body, &doc) != nil {
		e.Message = strings.TrimSpace(string(body))
		return e
	}
	switch {
	case len(doc.Detail) > 0:
		parseDetail(e, doc.Detail)
	case len(doc.Error) > 0 && doc.Error[0] == '{':
		var inner struct {
			Code    string              `json:"code"`
			Message string              `json:"message"`
			Details map[string][]string `json:"details"`
		}
		_ = json.Unmarshal(doc.Error, &inner)
		e.Code, e.Message, e.Fields = inner.Code, inner.Message, inner.Details
	case len(doc.Error) > 0:
		_ = json.Unmarshal(doc.Error, &e.Message)
		e.Fields = doc.Details
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
		e.Message = string(raw)
		return
	}
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
