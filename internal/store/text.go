package store

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/bugflow/bugflow/errs"
)

// TextRule is what CheckText says about text it refuses.
const TextRule = `must be UTF-8 text without NUL characters (\u0000)`

// ValidText reports whether s can be stored and looked up as it is on every
// engine. bun refuses to put a NUL into a query on either engine (and
// PostgreSQL text cannot hold one), so such a value would fail as a
// database error instead of as the caller's mistake; invalid UTF-8 it
// silently turns into U+FFFD, so what was stored would not be what was
// given.
func ValidText(s string) bool {
	return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s)
}

// CheckText returns an Invalid error naming field when any of values is not
// ValidText. Domain packages call it on the text their callers give them.
func CheckText(field string, values ...string) error {
	for _, v := range values {
		if !ValidText(v) {
			return errs.InvalidField(field, TextRule)
		}
	}
	return nil
}

// CheckTexts is CheckText on each of fields (name to value), with every
// field that fails named in one error.
func CheckTexts(fields map[string]string) error {
	var bad []string
	for name, v := range fields {
		if !ValidText(v) {
			bad = append(bad, name)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	e := errs.Invalidf("%s: %s", strings.Join(bad, ", "), TextRule)
	for _, name := range bad {
		e = e.WithField(name, TextRule)
	}
	return e
}
