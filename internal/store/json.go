package store

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
)

// JSON is a column holding V as JSON text. Text is the one column type that
// both engines treat alike, so declare the field with type:text; a nullable
// column is a *JSON[T] (nil is NULL; see NullJSON and Get).
//
// A json.RawMessage is stored and read byte for byte, never re-encoded:
// callers validated it, and what is read back is what was written.
type JSON[T any] struct {
	V T
}

// NullJSON returns a JSON column holding v, or nil (NULL) when present is
// false.
func NullJSON[T any](v T, present bool) *JSON[T] {
	if !present {
		return nil
	}
	return &JSON[T]{V: v}
}

// Get returns the value of a nullable column: j.V, or the zero T for NULL.
func (j *JSON[T]) Get() T {
	if j == nil {
		var zero T
		return zero
	}
	return j.V
}

// Value implements driver.Valuer.
func (j JSON[T]) Value() (driver.Value, error) {
	if raw, ok := any(j.V).(json.RawMessage); ok {
		return string(raw), nil
	}
	b, err := json.Marshal(j.V)
	if err != nil {
		return nil, fmt.Errorf("encode json column: %w", err)
	}
	return string(b), nil
}

// Scan implements sql.Scanner. NULL leaves the zero T.
func (j *JSON[T]) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		var zero T
		j.V = zero
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("decode json column: unsupported type %T", src)
	}
	if raw, ok := any(&j.V).(*json.RawMessage); ok {
		*raw = append(json.RawMessage(nil), b...)
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("decode json column: %w", err)
	}
	j.V = v
	return nil
}
