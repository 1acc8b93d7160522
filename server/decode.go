package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/bugflow/bugflow/errs"
)

// decodeJSON reads one JSON value from the request body into v. Problems come
// back as errs kinds so that every family renders them in its dialect: an
// empty or malformed body is Invalid (naming the field for a type mismatch),
// an oversized one TooLarge.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return err
		}
		return errs.Invalidf("request body has data after the JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var (
		tooLarge  *http.MaxBytesError
		syntax    *json.SyntaxError
		typeError *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return err
	case errors.Is(err, io.EOF):
		return errs.Invalidf("request body is required")
	case errors.As(err, &syntax):
		return errs.Invalidf("malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typeError) && typeError.Field != "":
		return errs.InvalidField(typeError.Field, "must be "+jsonTypeName(typeError.Type.Kind().String()))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.Invalidf("malformed JSON: the body ends too early")
	default:
		return errs.Invalidf("malformed JSON: %s", err.Error())
	}
}

// jsonTypeName names a Go kind the way a JSON client thinks of it.
func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	}
	return "of another type"
}

// decodeIDField reads a JSON object body and returns its string field
// named field, which must be present and not blank. The documents' status
// and lookup calls all take such a body ({"training_job_id": "..."}).
func decodeIDField(r *http.Request, field string) (string, error) {
	var body map[string]json.RawMessage
	if err := decodeJSON(r, &body); err != nil {
		return "", err
	}
	var v string
	if raw, ok := body[field]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", errs.InvalidField(field, "must be a string")
		}
	}
	if strings.TrimSpace(v) == "" {
		return "", errs.InvalidField(field, "is required")
	}
	return v, nil
}
