package server

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestREADMEStatusTableIsTrue keeps the README's status table honest: every
// path it names as served is routed, and no path it names as not served yet
// is, nor anything below it. A route that lands without the table changing
// fails here.
func TestREADMEStatusTableIsTrue(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "\n## Status\n")
	require.True(t, ok, "README has a Status section")
	section, _, _ = strings.Cut(section, "\n## ")

	s, _ := newTestServer(t)
	var routed []string
	for _, r := range s.Routes() {
		routed = append(routed, r.Path)
	}
	param := regexp.MustCompile(`\{([a-z_]+)\}`)
	pathOf := func(tok string) string { return param.ReplaceAllString(tok, ":$1") }
	below := func(prefix string) bool {
		for _, p := range routed {
			if p == prefix || strings.HasPrefix(p, strings.TrimSuffix(prefix, "/")+"/") {
				return true
			}
		}
		return false
	}

	rows := 0
	for line := range strings.SplitSeq(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "00") {
			continue
		}
		rows++
		served, notYet := backticked(cells[2]), backticked(cells[3])
		require.NotEmpty(t, served, "row %q names what it serves", cells[1])
		for _, tok := range served {
			assert.Contains(t, routed, pathOf(tok), "README says %s is served (%s)", tok, cells[1])
		}
		for _, tok := range notYet {
			if tok == "/" {
				continue
			}
			assert.False(t, below(pathOf(tok)), "README says %s is not served yet, but a route is there (%s)", tok, cells[1])
		}
	}
	assert.Equal(t, 5, rows, "one row per document")
}

// backticked returns the `code` spans of cell that are paths.
func backticked(cell string) []string {
	var paths []string
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(cell, -1) {
		if strings.HasPrefix(m[1], "/") {
			paths = append(paths, m[1])
		}
	}
	return paths
}
