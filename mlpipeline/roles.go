package mlpipeline

import (
	"strings"
	"unicode"

	"github.com/bugflow/bugflow/errs"
)

// Role names reported for each column.
const (
	RoleText   = "text"
	RoleTarget = "target"
	RoleIgnore = "ignored"
)

// ColumnRole says what training did with one CSV column and why.
type ColumnRole struct {
	Column   string `json:"column"`
	Role     string `json:"role"`
	Personal bool   `json:"personal,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// Header names (normalised: lower case letters and digits) of the columns
// that are text: the primary title first, then longer descriptions.
var (
	titleNames = []string{"summary", "title", "subject", "shortdescription", "name"}
	bodyNames  = []string{"description", "body", "details", "text", "content", "comment", "comments", "message"}
	// knownTargets are triage fields worth predicting when their values
	// allow it.
	knownTargets = map[string]bool{
		"priority": true, "severity": true, "component": true, "components": true,
		"assignee": true, "assignedto": true, "resolution": true, "status": true,
		"issuetype": true, "type": true, "bugtype": true, "kind": true, "product": true,
		"project": true, "category": true, "platform": true, "os": true, "opsys": true,
		"hardware": true, "team": true, "area": true, "milestone": true, "labels": true,
		"label": true, "classification": true, "module": true, "subsystem": true,
	}
	// personalParts mark columns whose values identify people.
	personalParts = []string{"assignee", "assignedto", "reporter", "creator", "author", "owner",
		"user", "email", "mail", "login", "commenter", "watcher", "person", "developer", "qacontact"}
	// neverTargetParts mark identifiers, dates, versions and people who do
	// not triage (a reporter is not predicted from the text they wrote).
	neverTargetParts = []string{"date", "created", "updated", "resolved", "due", "time", "version",
		"reporter", "creator", "author", "watcher", "vote", "url", "link", "email", "estimate",
		"spent", "sprint", "parent", "epic"}
	neverTargetSuffixes = []string{"id", "key", "number", "no", "count"}
)

// chooseTextColumns returns the text columns: the override when given, else
// the first title-like column plus the first description-like column by name,
// else the column with the longest values in the sample.
func chooseTextColumns(cols []*column, sample [][]string, override []string) ([]int, error) {
	if len(override) > 0 {
		return resolveColumns(cols, override, "text_columns")
	}
	var out []int
	for _, names := range [][]string{titleNames, bodyNames} {
		if ci := findByNames(cols, names); ci >= 0 {
			out = append(out, ci)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	best, bestLen := -1, 0.0
	for ci := range cols {
		total, words := 0, 0
		for _, row := range sample {
			total += len(row[ci])
			words += len(strings.Fields(row[ci]))
		}
		if len(sample) == 0 {
			break
		}
		avgWords := float64(words) / float64(len(sample))
		if avgWords >= 3 && avgWords > bestLen {
			best, bestLen = ci, avgWords
		}
	}
	if best < 0 {
		return nil, errs.Invalidf("no text column found: name one Summary, Title or Description, or set text_columns")
	}
	return []int{best}, nil
}

func findByNames(cols []*column, names []string) int {
	for _, n := range names {
		for ci, c := range cols {
			if c.key == n {
				return ci
			}
		}
	}
	return -1
}

// resolveColumns maps user-given column names to column positions.
func resolveColumns(cols []*column, names []string, field string) ([]int, error) {
	var out []int
	for _, n := range names {
		key := normalizeHeader(n)
		found := -1
		for ci, c := range cols {
			if c.key == key {
				found = ci
				break
			}
		}
		if found < 0 {
			return nil, errs.InvalidField(field, "unknown column "+quote(n))
		}
		out = append(out, found)
	}
	return out, nil
}

func quote(s string) string { return "\"" + s + "\"" }

// markPersonal flags columns that name people, by header or by values that
// look like e-mail addresses.
func markPersonal(cols []*column, sample [][]string) {
	for ci, c := range cols {
		if c.text {
			continue
		}
		for _, p := range personalParts {
			if strings.Contains(c.key, p) {
				c.personal = true
			}
		}
		emails, nonEmpty := 0, 0
		for _, row := range sample {
			v := strings.TrimSpace(row[ci])
			if v == "" {
				continue
			}
			nonEmpty++
			if emailRE.MatchString(v) {
				emails++
			}
		}
		if nonEmpty > 0 && emails*3 > nonEmpty {
			c.personal = true
		}
	}
}

// targetVerdict decides whether a non-text column is a target; reason
// explains a refusal.
func targetVerdict(c *column) (ok bool, reason string) {
	switch {
	case c.text:
		return false, "text column"
	case c.nonEmpty == 0:
		return false, "empty"
	case c.dropped:
		return false, "too many distinct or long values (identifier, date or free text)"
	case len(c.values) < 2:
		return false, "constant"
	}
	for _, suf := range neverTargetSuffixes {
		if strings.HasSuffix(c.key, suf) {
			return false, "identifier"
		}
	}
	for _, p := range neverTargetParts {
		if strings.Contains(c.key, p) {
			return false, "identifier, date, version or reporter"
		}
	}
	distinct := len(c.values)
	if float64(distinct) > 0.5*float64(c.nonEmpty) {
		return false, "mostly unique values (identifier or free text)"
	}
	if c.nonEmpty < 10 {
		return false, "fewer than 10 values"
	}
	if knownTargets[c.key] {
		return true, ""
	}
	if dateOrNumberShare(c.values) > 0.8 {
		return false, "dates or numbers"
	}
	avgLen := float64(c.totalLen) / float64(c.nonEmpty)
	if distinct <= 200 && float64(distinct) <= 0.05*float64(c.nonEmpty) && avgLen <= 30 {
		return true, ""
	}
	return false, "not a recognised categorical field"
}

// dateOrNumberShare is the share of values made only of digits and date or
// number punctuation.
func dateOrNumberShare(values []string) float64 {
	if len(values) == 0 {
		return 0
	}
	n := 0
	for _, v := range values {
		digits, other := 0, 0
		for _, r := range v {
			switch {
			case unicode.IsDigit(r):
				digits++
			case strings.ContainsRune("-/:. +TZ,", r):
			default:
				other++
			}
		}
		// Month names ("30/Sep/21 17:20") leave a few letters.
		if digits > 0 && other <= 3 && digits >= 2*other {
			n++
		}
	}
	return float64(n) / float64(len(values))
}
