package bugs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bugflow/bugflow/errs"
)

// Redacted replaces the value of every secret-looking key.
const Redacted = "[REDACTED]"

// secretKeyParts are the substrings that make a key secret, compared in lower
// case so that apiKey, API_KEY and X-Api-Key are all caught (the reference
// system compared case-sensitively and missed apiKey). "api-key" covers
// header names such as X-Api-Key.
var secretKeyParts = []string{"password", "secret", "token", "apikey", "api_key", "api-key", "credential", "authorization", "cookie"}

// IsSecretKey reports whether a JSON key (or header name) names a secret.
func IsSecretKey(key string) bool {
	k := strings.ToLower(key)
	for _, p := range secretKeyParts {
		if strings.Contains(k, p) {
			return true
		}
	}
	return false
}

// Sanitise returns v with the value of every secret key replaced by Redacted,
// at any depth of nested objects and arrays. It does not modify v.
func Sanitise(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			if IsSecretKey(k) {
				out[k] = Redacted
			} else {
				out[k] = Sanitise(val)
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			out[i] = Sanitise(val)
		}
		return out
	default:
		return v
	}
}

// cleanObject checks that raw is a JSON object (or absent: nil, empty or
// null) of at most MaxJSONBytes, and returns it with secrets redacted, or nil
// when absent. Numbers keep their exact text.
func cleanObject(field string, raw json.RawMessage) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil, nil
	}
	if len(trimmed) > MaxJSONBytes {
		return nil, errs.InvalidField(field, fmt.Sprintf("must be at most %d bytes of JSON (got %d)", MaxJSONBytes, len(trimmed)))
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, errs.InvalidField(field, "must be a JSON object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errs.InvalidField(field, "must be a JSON object")
	}
	out, err := json.Marshal(Sanitise(obj))
	if err != nil {
		return nil, fmt.Errorf("bugs: re-encode %s: %w", field, err)
	}
	return out, nil
}
