package analytics

import "math"

// round returns x rounded half away from zero to places decimals. Figures
// are rounded once, at the end, so that both databases' floating-point
// sums (SQLite's julianday arithmetic, PostgreSQL's epoch extraction) give
// the same answer.
func round(x float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(x*p) / p
}

// Share is part as a percentage of total, 100 × part / total, rounded to 2
// decimals; 0 when total is 0 (nothing to share).
func Share(part, total int) float64 {
	if total <= 0 {
		return 0
	}
	return round(100*float64(part)/float64(total), 2)
}

// Percent is 100 × part / whole rounded to 2 decimals, or nil when whole
// is 0: a rate of nothing is unknown, not 0 % nor 100 %.
func Percent(part, whole int) *float64 {
	if whole <= 0 {
		return nil
	}
	r := round(100*float64(part)/float64(whole), 2)
	return &r
}

// ComplianceRate is the SLA compliance of decided work, 100 × met /
// (met + breached) rounded to 2 decimals; nil when nothing is decided.
// Open work (not resolved, target not passed) and work without an SLA
// count in neither term: open is not met (workflow.Service.SLACompliance).
func ComplianceRate(met, breached int) *float64 {
	return Percent(met, met+breached)
}

// AverageHours is the mean of n durations whose sum is sumSeconds, in
// hours: sumSeconds / n / 3600, rounded to 2 decimals; nil when n is 0.
func AverageHours(sumSeconds float64, n int) *float64 {
	if n <= 0 {
		return nil
	}
	h := round(sumSeconds/float64(n)/3600, 2)
	return &h
}

// AverageAgeHours is the mean age at the moment nowEpoch (Unix seconds) of
// n items whose creation times (Unix seconds) sum to sumEpoch:
// (nowEpoch - sumEpoch / n) / 3600 hours, rounded to 2 decimals; nil when
// n is 0. The database sums creation times, so that no per-row age needs
// the moment inside the query.
func AverageAgeHours(nowEpoch, sumEpoch float64, n int) *float64 {
	if n <= 0 {
		return nil
	}
	h := round((nowEpoch-sumEpoch/float64(n))/3600, 2)
	return &h
}

// Backlog is the open count at the end of each bucket: start (open when
// the range begins) plus every bucket's created minus its resolved, up to
// and including that bucket: backlog[i] = start + Σ_{j≤i} (created[j] −
// resolved[j]). created and resolved have one entry per bucket.
func Backlog(start int, created, resolved []int) []int {
	out := make([]int, len(created))
	open := start
	for i := range created {
		open += created[i] - resolved[i]
		out[i] = open
	}
	return out
}
