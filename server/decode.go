package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// checkParams refuses a request whose path parameters or query parameters
// are not store.ValidText (a %00 or a stray %FF), before its handler looks
// anything up with them.
func checkParams(r *http.Request) error {
	for _, p := range httprouter.ParamsFromContext(r.Context()) {
		if err := store.CheckText(p.Key, p.Value); err != nil {
			return err
		}
	}
	if r.URL.RawQuery == "" {
		return nil
	}
	q := r.URL.Query()
	for _, name := range slices.Sorted(maps.Keys(q)) {
		if !store.ValidText(name) {
			return errs.Invalidf("query parameter names %s", store.TextRule)
		}
		if err := store.CheckText(name, q[name]...); err != nil {
			return err
		}
	}
	return nil
}

// decodeJSON reads one JSON value from the request body into v. Problems come
// back as errs kinds so that every family renders them in its dialect: an
// empty or malformed body is Invalid (naming the field for a type mismatch),
// an oversized one TooLarge, and a body with a NUL character in any string
// or key is Invalid too, naming the field where it can.
func decodeJSON(r *http.Request, v any) error {
	body := &nulScanner{r: r.Body}
	dec := json.NewDecoder(body)
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
	if body.found {
		return nulError(v)
	}
	return nil
}

// nulEscape is the only way a JSON text can carry a NUL character: a raw
// 0x00 byte is a syntax error that the decoder reports itself.
const nulEscape = `\u0000`

// nulScanner passes a JSON body through and notes whether it holds
// nulEscape, keeping only how much of it the last bytes matched. In valid
// JSON every backslash starts an escape, so `\\u0000` (an escaped
// backslash, then text) is no NUL.
type nulScanner struct {
	r       io.Reader
	matched int
	found   bool
}

func (s *nulScanner) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if !s.found {
		s.scan(p[:n])
	}
	return n, err
}

func (s *nulScanner) scan(p []byte) {
	for i := 0; i < len(p); i++ {
		if s.matched == 0 {
			j := bytes.IndexByte(p[i:], '\\')
			if j < 0 {
				return
			}
			i += j
			s.matched = 1
			continue
		}
		if p[i] != nulEscape[s.matched] {
			// The escape was another one (`\\` included, whose second
			// backslash starts nothing).
			s.matched = 0
			continue
		}
		if s.matched++; s.matched == len(nulEscape) {
			s.found = true
			return
		}
	}
}

// maxFieldPath bounds the field name a NUL error reports: keys of free-form
// objects come from the client.
const maxFieldPath = 200

// nulError is the error for a decoded body holding a NUL. It names the
// first field that holds one, found by walking v's JSON form (only on this
// error path), so that FastAPI routes answer 422 with its location.
func nulError(v any) error {
	var tree any
	if b, err := json.Marshal(v); err == nil && json.Unmarshal(b, &tree) == nil {
		if path, ok := nulPath(tree, ""); ok && path != "" && len(path) <= maxFieldPath {
			return errs.InvalidField(path, store.TextRule)
		}
	}
	return errs.Invalidf("request body: strings and keys %s", store.TextRule)
}

// nulPath returns the path (a.b[0].c) of the first string in v that holds a
// NUL, or of the object whose key holds one.
func nulPath(v any, path string) (string, bool) {
	switch t := v.(type) {
	case string:
		return path, strings.IndexByte(t, 0) >= 0
	case []any:
		for i, e := range t {
			if p, ok := nulPath(e, path+"["+strconv.Itoa(i)+"]"); ok {
				return p, true
			}
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(t)) {
			if strings.IndexByte(k, 0) >= 0 {
				return path, true
			}
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			if p, ok := nulPath(t[k], sub); ok {
				return p, true
			}
		}
	}
	return "", false
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
		want := jsonTypeName(typeError.Type.Kind().String())
		if strings.HasPrefix(typeError.Value, "number") && isIntKind(typeError.Type.Kind()) {
			// A number, but a fraction or one beyond the integer's range.
			want = "a whole number within range"
		}
		return errs.InvalidField(typeError.Field, "must be "+want)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.Invalidf("malformed JSON: the body ends too early")
	default:
		return errs.Invalidf("malformed JSON: %s", err.Error())
	}
}

func isIntKind(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Uint64
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
