package analytics_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/workflow/analytics"
)

const eps = 1e-9

func TestLinearTrend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		ys               []float64
		intercept, slope float64
	}{
		{"empty", nil, 0, 0},
		{"one point", []float64{7}, 7, 0},
		{"flat", []float64{5, 5, 5, 5}, 5, 0},
		{"line", []float64{1, 2, 3}, 1, 1},
		// x̄ 1.5, ȳ 5; Σdxdy = 4.5+0.5+0.5+4.5 = 10; Σdx² = 5; b 2; a 5−3 = 2.
		{"steeper", []float64{2, 4, 6, 8}, 2, 2},
		// x̄ 1, ȳ 2; Σdxdy = −1·1 + 0 + 1·0 = −1; Σdx² = 2; b −0.5; a 2.5.
		{"falling", []float64{3, 1, 2}, 2.5, -0.5},
	}
	for _, tt := range tests {
		a, b := analytics.LinearTrend(tt.ys)
		assert.InDelta(t, tt.intercept, a, eps, tt.name)
		assert.InDelta(t, tt.slope, b, eps, tt.name)
	}
}

func TestExponentialSmoothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		ys    []float64
		alpha float64
		want  float64
	}{
		{"empty", nil, 0.3, 0},
		{"one", []float64{4}, 0.3, 4},
		// 10 → 0.3·20 + 0.7·10 = 13
		{"two", []float64{10, 20}, 0.3, 13},
		// 13 → 0.3·30 + 0.7·13 = 9 + 9.1 = 18.1
		{"three", []float64{10, 20, 30}, 0.3, 18.1},
		// 10 → 0.4·0 + 0.6·10 = 6 → 0.4·10 + 0.6·6 = 7.6
		{"alpha 0.4", []float64{10, 0, 10}, 0.4, 7.6},
	}
	for _, tt := range tests {
		assert.InDelta(t, tt.want, analytics.ExponentialSmoothing(tt.ys, tt.alpha), eps, tt.name)
	}
}

func TestMeanStdDev(t *testing.T) {
	t.Parallel()
	// The textbook series: mean 5, squared deviations 9+1+1+1+0+0+4+16 =
	// 32, /8 = 4, σ 2.
	ys := []float64{2, 4, 4, 4, 5, 5, 7, 9}
	assert.InDelta(t, 5, analytics.Mean(ys), eps)
	assert.InDelta(t, 2, analytics.StdDev(ys), eps)
	assert.Zero(t, analytics.Mean(nil))
	assert.Zero(t, analytics.StdDev(nil))
}

func TestEnsemble(t *testing.T) {
	t.Parallel()
	rising := []float64{1, 2, 3, 4, 5, 6, 7}
	// Trend: a 1, b 1, so step k is at x = 6+k: 7+k.
	// Smoothing α 0.3: 1, 1.3, 1.81, 2.467, 3.2269, 4.05883, 4.941181.
	// σ: mean 4, squared deviations 9+4+1+0+1+4+9 = 28, /7 = 4, σ 2.
	f := analytics.Ensemble(rising, 2, analytics.VolumeAlpha, analytics.MinHistory)
	require.Nil(t, f.Reason)
	assert.Equal(t, 2, f.Horizon)
	assert.Equal(t, 7, f.History)
	assert.NotEmpty(t, f.Method)
	assert.NotEmpty(t, f.Interval)
	require.Len(t, f.Points, 2)
	// k 1: (8 + 4.941181)/2 = 6.4705905
	assert.Equal(t, 1, f.Points[0].Step)
	assert.InDelta(t, 6.4705905, f.Points[0].Value, 1e-7)
	assert.InDelta(t, 4.4705905, f.Points[0].Lower, 1e-7)
	assert.InDelta(t, 8.4705905, f.Points[0].Upper, 1e-7)
	// k 2: (9 + 4.941181)/2 = 6.9705905
	assert.InDelta(t, 6.9705905, f.Points[1].Value, 1e-7)

	// Falling 7..1: trend 7 − (6+k) = 1 − k; smoothing is 8 minus the
	// rising one, 3.058819; σ 2.
	falling := []float64{7, 6, 5, 4, 3, 2, 1}
	f = analytics.Ensemble(falling, 5, analytics.VolumeAlpha, analytics.MinHistory)
	require.Len(t, f.Points, 5)
	// k 3: (−2 + 3.058819)/2 = 0.5294095, lower clamped at 0.
	assert.InDelta(t, 0.5294095, f.Points[2].Value, 1e-7)
	assert.Zero(t, f.Points[2].Lower)
	assert.InDelta(t, 2.5294095, f.Points[2].Upper, 1e-7)
	// k 5: (−4 + 3.058819)/2 < 0, clamped: 0, band [0, 2].
	assert.Zero(t, f.Points[4].Value)
	assert.Zero(t, f.Points[4].Lower)
	assert.InDelta(t, 2, f.Points[4].Upper, eps)

	flat := analytics.Ensemble([]float64{3, 3, 3, 3, 3, 3, 3}, 1, analytics.VolumeAlpha, analytics.MinHistory)
	assert.Equal(t, []analytics.ForecastPoint{{Step: 1, Value: 3, Lower: 3, Upper: 3}}, flat.Points)
}

func TestEnsembleTooShortGivesAReason(t *testing.T) {
	t.Parallel()
	// 6 points is one short of MinHistory; 7 is enough (checked above).
	f := analytics.Ensemble([]float64{1, 2, 3, 4, 5, 6}, 3, analytics.VolumeAlpha, analytics.MinHistory)
	require.NotNil(t, f.Reason)
	assert.Contains(t, *f.Reason, "6 points")
	assert.Empty(t, f.Points)
	assert.NotNil(t, f.Points, "an empty list, not null, in JSON")
	assert.Equal(t, 3, f.Horizon)

	f = analytics.Ensemble([]float64{1, 2, 3, 4, 5, 6, 7}, 0, analytics.VolumeAlpha, analytics.MinHistory)
	require.NotNil(t, f.Reason)
}

func TestForecastCategory(t *testing.T) {
	t.Parallel()
	// Flat: s 10, mean 10.
	c := analytics.ForecastCategory("Network", []float64{10, 10, 10, 10})
	require.Nil(t, c.Reason)
	assert.InDelta(t, 10, *c.NextWeek, eps)
	assert.Equal(t, analytics.TrendStable, c.Direction)
	// s 0, 0, 0, 0.4·10 = 4; mean 2.5; 4 > 2.75.
	c = analytics.ForecastCategory("Network", []float64{0, 0, 0, 10})
	assert.InDelta(t, 4, *c.NextWeek, eps)
	assert.Equal(t, analytics.TrendRising, c.Direction)
	// s 10, 10, 10, 0.6·10 = 6; mean 7.5; 6 < 6.75.
	c = analytics.ForecastCategory("Network", []float64{10, 10, 10, 0})
	assert.InDelta(t, 6, *c.NextWeek, eps)
	assert.Equal(t, analytics.TrendFalling, c.Direction)
	// 3 weeks is one short.
	c = analytics.ForecastCategory("Network", []float64{1, 2, 3})
	require.NotNil(t, c.Reason)
	assert.Nil(t, c.NextWeek)
}

func TestWeightByWeekday(t *testing.T) {
	t.Parallel()
	base := analytics.Forecast{Method: analytics.EnsembleMethod, Horizon: 3, Points: []analytics.ForecastPoint{
		{Step: 1, Value: 10, Lower: 8, Upper: 12},
		{Step: 2, Value: 10, Lower: 8, Upper: 12},
		{Step: 3, Value: 10, Lower: 8, Upper: 12},
	}}
	// Friday, Saturday, Sunday: factors 1.4, 0.5 and (wrapping to index 0) 0.
	factors := [7]float64{0, 1, 1, 1, 1, 1.4, 0.5}
	got := analytics.WeightByWeekday(base, factors, time.Friday)
	assert.Equal(t, analytics.WorkloadMethod, got.Method)
	require.Len(t, got.Points, 3)
	assert.InDelta(t, 14, got.Points[0].Value, eps)
	assert.InDelta(t, 11.2, got.Points[0].Lower, eps)
	assert.InDelta(t, 16.8, got.Points[0].Upper, eps)
	assert.InDelta(t, 5, got.Points[1].Value, eps)
	assert.InDelta(t, 0, got.Points[2].Value, eps)
	assert.InDelta(t, 10, base.Points[0].Value, eps, "the input is left alone")

	reason := "too short"
	short := analytics.Forecast{Reason: &reason, Points: []analytics.ForecastPoint{}}
	assert.Equal(t, short, analytics.WeightByWeekday(short, factors, time.Monday))
}

func TestExpectedBreaches(t *testing.T) {
	t.Parallel()
	// p = 1/(3+1) = 0.25; E = 8·0.25 = 2; σ = √(8·0.25·0.75) = √1.5.
	p, e, sigma, ok := analytics.ExpectedBreaches(8, 3, 1)
	require.True(t, ok)
	assert.InDelta(t, 0.25, p, eps)
	assert.InDelta(t, 2, e, eps)
	assert.InDelta(t, math.Sqrt(1.5), sigma, eps)
	// Nothing due: 0 expected whatever p.
	_, e, sigma, ok = analytics.ExpectedBreaches(0, 1, 1)
	assert.True(t, ok)
	assert.Zero(t, e)
	assert.Zero(t, sigma)
	// Nothing decided: unknown.
	_, _, _, ok = analytics.ExpectedBreaches(5, 0, 0)
	assert.False(t, ok)
}
