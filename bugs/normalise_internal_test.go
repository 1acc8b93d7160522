package bugs

import (
	"regexp"
	"testing"

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
