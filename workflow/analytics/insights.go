package analytics

import (
	"math"
	"time"
)

// SLA risk levels.
const (
	RiskHigh   = "high"
	RiskMedium = "medium"
	RiskLow    = "low"
)

// SLARiskInput is what the risk score of one open task needs, in seconds
// so that the database can compute the same inputs.
type SLARiskInput struct {
	// Remaining is target − now; negative once the target has passed.
	Remaining time.Duration
	// Allowed is target − created: the task's whole SLA.
	Allowed  time.Duration
	Priority string
	// Age is now − created.
	Age time.Duration
}

// SLARiskScore is the additive risk, out of 100, that an open task misses
// its SLA, the sum of four parts:
//
//	time remaining (≤ 40): passed 40, < 2 h 30, < 8 h 20, < 24 h 10, else 0
//	share of SLA elapsed (≤ 30): 30 · clamp(1 − Remaining/Allowed, 0, 1)
//	priority (≤ 15): Urgent 15, High 10, Medium 5, Low 0
//	age (≤ 15): ≥ 14 days 15, ≥ 7 days 10, ≥ 3 days 5, else 0
//
// An Allowed of zero or less counts as wholly elapsed. The elapsed part
// is computed in whole seconds and rounded down to a whole point,
// ⌊30·(Allowed−Remaining)/Allowed⌋, in integers, so the database computes
// the same number and no float rounding moves a point.
func SLARiskScore(in SLARiskInput) int {
	score := 0
	switch {
	case in.Remaining <= 0:
		score += 40
	case in.Remaining < 2*time.Hour:
		score += 30
	case in.Remaining < 8*time.Hour:
		score += 20
	case in.Remaining < 24*time.Hour:
		score += 10
	}
	score += elapsedPoints(in.Remaining, in.Allowed)
	score += PriorityRisk(in.Priority)
	switch day := 24 * time.Hour; {
	case in.Age >= 14*day:
		score += 15
	case in.Age >= 7*day:
		score += 10
	case in.Age >= 3*day:
		score += 5
	}
	return score
}

// elapsedPoints is the elapsed-share part of SLARiskScore.
func elapsedPoints(remaining, allowed time.Duration) int {
	allowedSecs := int64(allowed / time.Second)
	if allowedSecs <= 0 {
		return 30
	}
	elapsedSecs := allowedSecs - int64(remaining/time.Second)
	switch {
	case elapsedSecs <= 0:
		return 0
	case elapsedSecs >= allowedSecs:
		return 30
	}
	return int(30 * elapsedSecs / allowedSecs)
}

// PriorityRisk is the priority part of SLARiskScore.
func PriorityRisk(priority string) int {
	switch priority {
	case "Urgent":
		return 15
	case "High":
		return 10
	case "Medium":
		return 5
	}
	return 0
}

// RiskLevel names a score: ≥ 70 high, ≥ 40 medium, else low.
func RiskLevel(score int) string {
	switch {
	case score >= 70:
		return RiskHigh
	case score >= 40:
		return RiskMedium
	}
	return RiskLow
}

// WeekdayFactors returns, for Sunday (0) to Saturday (6), how busy that
// weekday is against the average day:
//
//	mean_d = count_d / days_d,   factor_d = mean_d / (Σcount / Σdays)
//
// where count_d is what happened on weekday d in the range and days_d how
// many weekdays d the range holds. A weekday the range does not hold, and
// every weekday when nothing happened, gets factor 1 (no evidence of a
// difference).
func WeekdayFactors(counts, days [7]float64) [7]float64 {
	var total, totalDays float64
	for d := range 7 {
		total += counts[d]
		totalDays += days[d]
	}
	var out [7]float64
	for d := range 7 {
		out[d] = 1
		if total == 0 || totalDays == 0 || days[d] == 0 {
			continue
		}
		out[d] = (counts[d] / days[d]) / (total / totalDays)
	}
	return out
}

// WeekdaysIn counts each weekday (Sunday 0) among the days of [from, to),
// days starting at midnight UTC; a partial day at either end counts.
func WeekdaysIn(from, to time.Time) [7]float64 {
	var out [7]float64
	day := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	for ; day.Before(to); day = day.AddDate(0, 0, 1) {
		out[day.Weekday()]++
	}
	return out
}

// AnomalyWindow is how many preceding days an anomaly is judged against.
const AnomalyWindow = 7

// Anomaly is a day whose count is far from the days before it.
type Anomaly struct {
	// Index is the day's position in the series.
	Index    int     `json:"-"`
	Value    float64 `json:"value"`
	Expected float64 `json:"expected"`
	StdDev   float64 `json:"std_dev"`
	// Kind is "spike" (above) or "drop" (below).
	Kind string `json:"kind"`
}

// Anomalies finds the days more than 2σ from the mean of the
// AnomalyWindow days before them:
//
//	|yₜ − m| > 2·max(σ, 1),  m, σ = Mean, StdDev of yₜ₋₇ … yₜ₋₁
//
// σ is floored at 1 because the series are counts: after a week of equal
// counts any change would otherwise be "infinitely" unusual, yet a jump of
// more than two still shows. Days with fewer than seven before them are
// not judged.
func Anomalies(ys []float64) []Anomaly {
	out := []Anomaly{}
	for t := AnomalyWindow; t < len(ys); t++ {
		window := ys[t-AnomalyWindow : t]
		m, sigma := Mean(window), StdDev(window)
		if math.Abs(ys[t]-m) <= 2*math.Max(sigma, 1) {
			continue
		}
		kind := "spike"
		if ys[t] < m {
			kind = "drop"
		}
		out = append(out, Anomaly{Index: t, Value: ys[t], Expected: m, StdDev: sigma, Kind: kind})
	}
	return out
}

// EscalationSpikes returns the positions of the days whose escalations
// exceed twice the daily average of the series:
//
//	yₜ > 2 · Σy / n
//
// An empty or all-zero series has none.
func EscalationSpikes(ys []float64) []int {
	out := []int{}
	m := Mean(ys)
	if m == 0 {
		return out
	}
	for t, y := range ys {
		if y > 2*m {
			out = append(out, t)
		}
	}
	return out
}

// Health states of a service.
const (
	HealthHealthy  = "healthy"
	HealthDegraded = "degraded"
	HealthCritical = "critical"
)

// HealthStatus judges a workflow (or the whole service) from its SLA
// compliance rate (nil when no task is decided) and the share of its open
// tasks that are idle or at high risk:
//
//	critical: rate < 0.75 or troubled share > 0.25
//	degraded: rate < 0.90 or troubled share > 0.10
//	healthy:  otherwise (an unknown rate counts as fine)
func HealthStatus(rate *float64, open, troubled int) string {
	share := 0.0
	if open > 0 {
		share = float64(troubled) / float64(open)
	}
	switch {
	case (rate != nil && *rate < 0.75) || share > 0.25:
		return HealthCritical
	case (rate != nil && *rate < 0.90) || share > 0.10:
		return HealthDegraded
	}
	return HealthHealthy
}
