package bugs

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Severity rules of the reference system, as word lists checked against the
// lower-cased error message.
var (
	criticalWords = []string{"database", "connection refused", "internal server error"}
	highWords     = []string{"timeout", "timed out", "authentication", "unauthorized"}
	mediumWords   = []string{"validation", "invalid"}
	reStatus500   = regexp.MustCompile(`\b500\b`)
	reStatus4013  = regexp.MustCompile(`\b40[13]\b`)
)

// AutoSeverity derives a severity for a captured error that came without
// one: critical when the message mentions a database, a refused connection,
// an internal server error or code 500; high for timeouts, authentication,
// unauthorised, 401 or 403; medium for validation and invalid input and for
// any auto:agent error; low for other auto:client errors; else medium.
func AutoSeverity(source Source, message, code string) Severity {
	m := strings.ToLower(message)
	c := strings.ToLower(strings.TrimSpace(code))
	// The regular expressions run only on a message that holds their
	// digits: most do not, and the expressions cost more than the word
	// lists.
	switch {
	case containsAny(m, criticalWords) || strings.Contains(m, "500") && reStatus500.MatchString(m) || c == "500":
		return SeverityCritical
	case containsAny(m, highWords) || strings.Contains(m, "40") && reStatus4013.MatchString(m) || c == "401" || c == "403" || c == "etimedout":
		return SeverityHigh
	case containsAny(m, mediumWords) || source == SourceAutoAgent:
		return SeverityMedium
	case source == SourceAutoClient:
		return SeverityLow
	}
	return SeverityMedium
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// titleCut is where a long first line is cut; with the "..." the title is
// at most 100 characters.
const titleCut = 97

// AutoTitle derives a title for a captured error that came without one: the
// first non-blank line of the message (cut to 97 characters plus "..."),
// else "Error <code>", else "<Source> error at <time>".
func AutoTitle(source Source, message, code string, at time.Time) string {
	for line := range strings.SplitSeq(message, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if utf8.RuneCountInString(line) > titleCut+3 {
			return string([]rune(line)[:titleCut]) + "..."
		}
		return line
	}
	if code = strings.TrimSpace(code); code != "" {
		return "Error " + code
	}
	return sourceLabel(source) + " error at " + at.UTC().Format(time.RFC3339)
}

func sourceLabel(s Source) string {
	switch s {
	case SourceAutoServer:
		return "Server"
	case SourceAutoClient:
		return "Client"
	case SourceAutoAgent:
		return "Agent"
	case SourceUserCommand:
		return "User"
	}
	return "Unknown"
}
