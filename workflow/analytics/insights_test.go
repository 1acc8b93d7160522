package analytics_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/bugflow/bugflow/workflow/analytics"
)

func TestSLARiskScore(t *testing.T) {
	t.Parallel()
	h, day := time.Hour, 24*time.Hour
	tests := []struct {
		name  string
		in    analytics.SLARiskInput
		score int
		level string
	}{
		// passed 40; elapsed 25/24 clamped 30; Urgent 15; age < 3 d 0.
		{"passed", analytics.SLARiskInput{Remaining: -h, Allowed: 24 * h, Priority: "Urgent", Age: 25 * h}, 85, analytics.RiskHigh},
		// < 2 h 30; elapsed 1 − 119/600 = 0.80166…, ·30 = 24.05 → 24; High 10.
		{"under two hours", analytics.SLARiskInput{Remaining: 119 * time.Minute, Allowed: 10 * h, Priority: "High", Age: 8 * h}, 64, analytics.RiskMedium},
		// exactly 2 h is not under 2 h: 20; elapsed 0.75·30 = 22.5 → 22; Low 0.
		{"two hours", analytics.SLARiskInput{Remaining: 2 * h, Allowed: 8 * h, Priority: "Low", Age: 6 * h}, 42, analytics.RiskMedium},
		// 7h59m: 20; elapsed 1 − 479/2880 = 0.8336…, ·30 = 25.0 → 25; Medium 5.
		{"under eight hours", analytics.SLARiskInput{Remaining: 479 * time.Minute, Allowed: 48 * h, Priority: "Medium", Age: 40 * h}, 50, analytics.RiskMedium},
		// 8 h: 10; elapsed 1 − 8/48 = 0.8333…, ·30 = 25; Medium 5.
		{"eight hours", analytics.SLARiskInput{Remaining: 8 * h, Allowed: 48 * h, Priority: "Medium", Age: 40 * h}, 40, analytics.RiskMedium},
		// 24 h: 0; elapsed 0.5·30 = 15; Medium 5; age 3 d 5.
		{"a day", analytics.SLARiskInput{Remaining: 24 * h, Allowed: 48 * h, Priority: "Medium", Age: 3 * day}, 25, analytics.RiskLow},
		// 23h59m: 10; elapsed 1 − 1439/2880 = 0.50034…, ·30 = 15.01 → 15; Low; age just under 3 d 0.
		{"under a day", analytics.SLARiskInput{Remaining: 1439 * time.Minute, Allowed: 48 * h, Priority: "Low", Age: 3*day - time.Minute}, 25, analytics.RiskLow},
		// no SLA time at all counts as wholly elapsed: 40 + 30 + Low 0 + 14 d 15.
		{"zero allowed", analytics.SLARiskInput{Remaining: 0, Allowed: 0, Priority: "Low", Age: 14 * day}, 85, analytics.RiskHigh},
		// far off: 0; elapsed 0.1·30 = 3; Low; 13d23h 10.
		{"fresh", analytics.SLARiskInput{Remaining: 90 * h, Allowed: 100 * h, Priority: "Low", Age: 14*day - h}, 13, analytics.RiskLow},
		// 7 d exactly: 10; 7 d minus a minute: 5.
		{"a week", analytics.SLARiskInput{Remaining: 90 * h, Allowed: 100 * h, Priority: "Low", Age: 7 * day}, 13, analytics.RiskLow},
		{"under a week", analytics.SLARiskInput{Remaining: 90 * h, Allowed: 100 * h, Priority: "Low", Age: 7*day - time.Minute}, 8, analytics.RiskLow},
	}
	for _, tt := range tests {
		got := analytics.SLARiskScore(tt.in)
		assert.Equal(t, tt.score, got, tt.name)
		assert.Equal(t, tt.level, analytics.RiskLevel(got), tt.name)
	}
}

func TestRiskLevelEdges(t *testing.T) {
	t.Parallel()
	assert.Equal(t, analytics.RiskLow, analytics.RiskLevel(39))
	assert.Equal(t, analytics.RiskMedium, analytics.RiskLevel(40))
	assert.Equal(t, analytics.RiskMedium, analytics.RiskLevel(69))
	assert.Equal(t, analytics.RiskHigh, analytics.RiskLevel(70))
	assert.Equal(t, analytics.RiskHigh, analytics.RiskLevel(100))
}

func TestWeekdayFactors(t *testing.T) {
	t.Parallel()
	// A week with 10 a weekday and none at the weekend: 50 in 7 days,
	// 50/7 a day; a weekday is 10/(50/7) = 1.4, the weekend 0.
	f := analytics.WeekdayFactors([7]float64{0, 10, 10, 10, 10, 10, 0}, [7]float64{1, 1, 1, 1, 1, 1, 1})
	assert.InDelta(t, 0, f[0], eps)
	for d := 1; d <= 5; d++ {
		assert.InDelta(t, 1.4, f[d], eps)
	}
	assert.InDelta(t, 0, f[6], eps)

	// Two Sundays with 4 (2 a day), one Monday with 6; 10 in 3 days.
	// Sunday 2/(10/3) = 0.6, Monday 6/(10/3) = 1.8; days not in the range 1.
	f = analytics.WeekdayFactors([7]float64{4, 6}, [7]float64{2, 1})
	assert.InDelta(t, 0.6, f[0], eps)
	assert.InDelta(t, 1.8, f[1], eps)
	assert.InDelta(t, 1, f[3], eps)

	// Nothing happened: no evidence, all 1.
	assert.Equal(t, [7]float64{1, 1, 1, 1, 1, 1, 1}, analytics.WeekdayFactors([7]float64{}, [7]float64{1, 1, 1, 1, 1, 1, 1}))
}

func TestWeekdaysIn(t *testing.T) {
	t.Parallel()
	// 2026-12-01 is a Tuesday.
	tue := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, [7]float64{1, 1, 1, 1, 1, 1, 1}, analytics.WeekdaysIn(tue, tue.AddDate(0, 0, 7)))
	// Tuesday noon to Thursday midnight: Tuesday and Wednesday.
	assert.Equal(t, [7]float64{2: 1, 3: 1}, analytics.WeekdaysIn(tue.Add(12*time.Hour), tue.AddDate(0, 0, 2)))
	// One second into Thursday counts Thursday too.
	assert.Equal(t, [7]float64{2: 1, 3: 1, 4: 1}, analytics.WeekdaysIn(tue, tue.AddDate(0, 0, 2).Add(time.Second)))
}

func TestAnomalies(t *testing.T) {
	t.Parallel()
	flat := []float64{5, 5, 5, 5, 5, 5, 5}
	// σ 0 is floored at 1: 8 is 3 > 2 away, a spike; 7 is exactly 2, not.
	got := analytics.Anomalies(append(append([]float64{}, flat...), 8))
	if assert.Len(t, got, 1) {
		assert.Equal(t, 7, got[0].Index)
		assert.Equal(t, "spike", got[0].Kind)
		assert.InDelta(t, 5, got[0].Expected, eps)
	}
	assert.Empty(t, analytics.Anomalies(append(append([]float64{}, flat...), 7)))
	got = analytics.Anomalies(append(append([]float64{}, flat...), 2))
	if assert.Len(t, got, 1) {
		assert.Equal(t, "drop", got[0].Kind)
	}
	// Window 2,8,2,8,2,8,5: mean 5, squared deviations 9·6 = 54, σ √(54/7)
	// ≈ 2.7775, 2σ ≈ 5.555: 11 (6 away) is a spike, 10 (5 away) is not.
	swing := []float64{2, 8, 2, 8, 2, 8, 5}
	got = analytics.Anomalies(append(append([]float64{}, swing...), 11))
	if assert.Len(t, got, 1) {
		assert.InDelta(t, math.Sqrt(54.0/7), got[0].StdDev, eps)
	}
	assert.Empty(t, analytics.Anomalies(append(append([]float64{}, swing...), 10)))
	// Fewer than eight days judge nothing.
	assert.Empty(t, analytics.Anomalies([]float64{0, 0, 0, 0, 0, 0, 100}))
}

func TestEscalationSpikes(t *testing.T) {
	t.Parallel()
	// mean 2: 5 > 4.
	assert.Equal(t, []int{3}, analytics.EscalationSpikes([]float64{1, 1, 1, 5}))
	// mean 2: 4 is exactly twice, not above.
	assert.Empty(t, analytics.EscalationSpikes([]float64{1, 1, 2, 4}))
	assert.Empty(t, analytics.EscalationSpikes([]float64{0, 0, 0}))
	assert.Empty(t, analytics.EscalationSpikes(nil))
}

func TestHealthStatus(t *testing.T) {
	t.Parallel()
	rate := func(r float64) *float64 { return &r }
	tests := []struct {
		name           string
		rate           *float64
		open, troubled int
		want           string
	}{
		{"good", rate(0.95), 10, 1, analytics.HealthHealthy}, // share 0.1 is not above 0.1
		{"troubled share", rate(0.95), 10, 2, analytics.HealthDegraded},
		{"rate 0.90", rate(0.90), 10, 0, analytics.HealthHealthy},
		{"rate 0.89", rate(0.89), 10, 0, analytics.HealthDegraded},
		{"rate 0.75", rate(0.75), 10, 0, analytics.HealthDegraded},
		{"rate 0.74", rate(0.74), 10, 0, analytics.HealthCritical},
		{"unknown rate, many troubled", nil, 4, 2, analytics.HealthCritical},
		{"quarter troubled", nil, 4, 1, analytics.HealthDegraded},
		{"nothing open", nil, 0, 0, analytics.HealthHealthy},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, analytics.HealthStatus(tt.rate, tt.open, tt.troubled), tt.name)
	}
}
