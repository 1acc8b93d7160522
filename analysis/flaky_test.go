package analysis

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestDetectFlaky(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	rec := func(job, test string, o Outcome, ago time.Duration) OutcomeRecord {
		return OutcomeRecord{JobName: job, TestName: test, Outcome: o, At: now.Add(-ago)}
	}
	records := []OutcomeRecord{
		// flaky: failed and passed in job A within 14 days
		rec("A", "t.flaky", Failed, 2*day),
		rec("A", "t.flaky", Passed, 1*day),
		rec("A", "t.flaky", Errored, 3*day),
		// an old failure outside the window does not count
		rec("A", "t.old", Failed, 20*day),
		rec("A", "t.old", Passed, 1*day),
		// failed in A, passed only in B: not the same job
		rec("A", "t.split", Failed, 1*day),
		rec("B", "t.split", Passed, 1*day),
		// always failing is not flaky; skipped says nothing
		rec("A", "t.broken", Failed, 1*day),
		rec("A", "t.broken", Skipped, 2*day),
		// a record from the future (clock skew) is ignored
		rec("A", "t.future", Failed, -day),
		rec("A", "t.future", Passed, day),
	}
	got := DetectFlaky(records, now, 0)
	assert.Equal(t, []FlakyTest{{
		JobName: "A", TestName: "t.flaky", Passes: 1, Failures: 2,
		LastFailure: now.Add(-2 * day), LastPass: now.Add(-day),
	}}, got)
	assert.Equal(t, "flaky: in job A it failed 2 times and passed 1 time in the last 14 days", got[0].Evidence())

	assert.Len(t, DetectFlaky(records, now, 30*day), 2, "a wider window also sees t.old")
}
