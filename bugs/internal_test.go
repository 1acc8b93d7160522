package bugs

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// collapseSpace does what the regular expression it replaced did, on
// every kind of space, run and position.
func TestCollapseSpaceIsTheRegexp(t *testing.T) {
	re := regexp.MustCompile(`\s+`)
	for _, s := range []string{
		"", " ", "a", "a b", "a  b", " a ", "\ta\n", "a\r\n\tb", "a\fb", "a\vb", "a\u00a0b", "a\u2003 b",
		"é  ü", "  lead", "trail  ", "a \t b \n\n c", "x\xffy  z", "one two three", "a ",
	} {
		assert.Equal(t, re.ReplaceAllString(s, " "), collapseSpace(s), "%q", s)
	}
}

// Report ids keep their form (bug_ and 24 hex digits), differ, and sort
// by the millisecond they were made in.
func TestNewIDsSortByTime(t *testing.T) {
	first := newID()
	assert.Regexp(t, `^bug_[0-9a-f]{24}$`, first)
	seen := map[string]bool{first: true}
	for range 1000 {
		id := newID()
		assert.False(t, seen[id], "repeated id %s", id)
		seen[id] = true
	}
	time.Sleep(2 * time.Millisecond)
	later := newID()
	assert.Less(t, first, later)
	assert.Less(t, first[:16], later[:16], "the time prefix grew")
}
