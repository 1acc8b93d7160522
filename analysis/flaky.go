package analysis

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// FlakyWindow is how far back DetectFlaky looks (Harness uses 14 days).
const FlakyWindow = 14 * 24 * time.Hour

// OutcomeRecord is one recorded test outcome of a job's build, passes
// included: flakiness cannot be seen from failures alone.
type OutcomeRecord struct {
	JobName  string
	Build    int
	TestName string
	Outcome  Outcome
	At       time.Time
}

// FlakyTest is a test that both failed and passed in one job within the
// window.
type FlakyTest struct {
	JobName     string    `json:"job_name"`
	TestName    string    `json:"test_name"`
	Passes      int       `json:"passes"`
	Failures    int       `json:"failures"`
	LastFailure time.Time `json:"last_failure"`
	LastPass    time.Time `json:"last_pass"`
}

// Evidence is the sentence the analysis details carry for a flaky test.
func (f FlakyTest) Evidence() string {
	return "flaky: in job " + f.JobName + " it failed " + plural(f.Failures, "time") + " and passed " +
		plural(f.Passes, "time") + " in the last 14 days"
}

func plural(n int, word string) string {
	s := strconv.Itoa(n) + " " + word
	if n != 1 {
		s += "s"
	}
	return s
}

// DetectFlaky returns the tests that both failed (or errored) and passed in
// the same job within window before now (window <= 0 means FlakyWindow),
// sorted by job and test name. Skipped outcomes say nothing either way.
func DetectFlaky(records []OutcomeRecord, now time.Time, window time.Duration) []FlakyTest {
	if window <= 0 {
		window = FlakyWindow
	}
	since := now.Add(-window)
	type key struct{ job, test string }
	stats := map[key]*FlakyTest{}
	for _, r := range records {
		if r.At.Before(since) || r.At.After(now) {
			continue
		}
		k := key{r.JobName, r.TestName}
		ft := stats[k]
		if ft == nil {
			ft = &FlakyTest{JobName: r.JobName, TestName: r.TestName}
			stats[k] = ft
		}
		switch {
		case r.Outcome == Passed:
			ft.Passes++
			if r.At.After(ft.LastPass) {
				ft.LastPass = r.At
			}
		case r.Outcome.IsFailure():
			ft.Failures++
			if r.At.After(ft.LastFailure) {
				ft.LastFailure = r.At
			}
		}
	}
	var out []FlakyTest
	for _, ft := range stats {
		if ft.Passes > 0 && ft.Failures > 0 {
			out = append(out, *ft)
		}
	}
	slices.SortFunc(out, func(a, b FlakyTest) int {
		if c := strings.Compare(a.JobName, b.JobName); c != 0 {
			return c
		}
		return strings.Compare(a.TestName, b.TestName)
	})
	return out
}
