package analytics

import (
	"fmt"
	"math"
	"time"
)

// The forecasts of seeds/004 follow the system behind the document: a
// volume is forecast as the average of a least-squares trend and simple
// exponential smoothing, with a band of one standard deviation; category
// trends use weekly smoothing. The functions here work on series the
// database has already aggregated (one number per day or week), never on
// rows.

// VolumeAlpha is the smoothing factor of the volume, resolution, SLA and
// workload forecasts (the reference system's 0.3).
const VolumeAlpha = 0.3

// CategoryAlpha is the smoothing factor of the weekly category trend
// forecast (the reference system's 0.4).
const CategoryAlpha = 0.4

// MinHistory is the fewest points a series needs before the ensemble
// forecasts it: a trend through fewer than seven days (or weeks) is noise.
const MinHistory = 7

// MinCategoryWeeks is the fewest weekly points a category trend needs.
const MinCategoryWeeks = 4

// LinearTrend fits y = a + b·x by least squares to the points (i, ys[i]),
// i = 0..n-1:
//
//	b = Σ(x−x̄)(y−ȳ) / Σ(x−x̄)²,  a = ȳ − b·x̄
//
// It returns intercept a and slope b. With one point the slope is 0 and
// the intercept that point; with none both are 0.
func LinearTrend(ys []float64) (intercept, slope float64) {
	n := len(ys)
	if n == 0 {
		return 0, 0
	}
	xMean := float64(n-1) / 2
	yMean := Mean(ys)
	var sxy, sxx float64
	for i, y := range ys {
		dx := float64(i) - xMean
		sxy += dx * (y - yMean)
		sxx += dx * dx
	}
	if sxx == 0 {
		return yMean, 0
	}
	slope = sxy / sxx
	return yMean - slope*xMean, slope
}

// ExponentialSmoothing returns the level of simple exponential smoothing
// over ys with factor alpha:
//
//	s₀ = y₀,  sₜ = α·yₜ + (1−α)·sₜ₋₁
//
// The forecast of every future point is the last level. It is 0 for an
// empty series.
func ExponentialSmoothing(ys []float64, alpha float64) float64 {
	if len(ys) == 0 {
		return 0
	}
	s := ys[0]
	for _, y := range ys[1:] {
		s = alpha*y + (1-alpha)*s
	}
	return s
}

// Mean is Σy / n, 0 for an empty series.
func Mean(ys []float64) float64 {
	if len(ys) == 0 {
		return 0
	}
	var sum float64
	for _, y := range ys {
		sum += y
	}
	return sum / float64(len(ys))
}

// StdDev is the population standard deviation √(Σ(y−ȳ)² / n), 0 for an
// empty series. The population form is used because the series is the
// whole history in the range, not a sample of it.
func StdDev(ys []float64) float64 {
	if len(ys) == 0 {
		return 0
	}
	m := Mean(ys)
	var ss float64
	for _, y := range ys {
		ss += (y - m) * (y - m)
	}
	return math.Sqrt(ss / float64(len(ys)))
}

// ForecastPoint is one forecast step: the value and its band.
type ForecastPoint struct {
	// Step is 1 for the first period after the history.
	Step int `json:"step"`
	// Date is the start of the period forecast, RFC 3339.
	Date  string  `json:"date,omitempty"`
	Value float64 `json:"value"`
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
}

// Forecast is a forecast with what it says about itself: its method, how
// far it reaches and what its band means. When the history is too short
// Points is empty and Reason says why; that is an answer, not an error.
type Forecast struct {
	Method   string `json:"method"`
	Horizon  int    `json:"horizon"`
	Interval string `json:"interval"`
	// History is how many points the forecast was made from.
	History int             `json:"history"`
	Points  []ForecastPoint `json:"points"`
	Reason  *string         `json:"reason"`
}

// EnsembleMethod and EnsembleInterval describe Ensemble's forecasts.
const (
	EnsembleMethod   = "ensemble: mean of a least-squares linear trend and simple exponential smoothing"
	EnsembleInterval = "±1 standard deviation of the history"
)

// Ensemble forecasts horizon points after ys: step k (1-based) is
//
//	ŷₖ = ( (a + b·(n−1+k)) + s ) / 2,  band ŷₖ ± σ
//
// where a, b are LinearTrend(ys), s is ExponentialSmoothing(ys, alpha)
// and σ is StdDev(ys). Counts and durations are never negative, so values
// and lower bounds are clamped at 0. With fewer than minHistory points
// (or a horizon below 1) it returns no points and a Reason.
func Ensemble(ys []float64, horizon int, alpha float64, minHistory int) Forecast {
	f := Forecast{Method: EnsembleMethod, Horizon: horizon, Interval: EnsembleInterval, History: len(ys), Points: []ForecastPoint{}}
	if horizon < 1 {
		reason := "horizon must be at least 1"
		f.Reason = &reason
		return f
	}
	if len(ys) < minHistory {
		reason := fmt.Sprintf("history too short: %d points, at least %d needed", len(ys), minHistory)
		f.Reason = &reason
		return f
	}
	a, b := LinearTrend(ys)
	s := ExponentialSmoothing(ys, alpha)
	sigma := StdDev(ys)
	n := len(ys)
	for k := 1; k <= horizon; k++ {
		v := ((a + b*float64(n-1+k)) + s) / 2
		v = math.Max(v, 0)
		f.Points = append(f.Points, ForecastPoint{Step: k, Value: v, Lower: math.Max(v-sigma, 0), Upper: v + sigma})
	}
	return f
}

// Trend directions of a category forecast.
const (
	TrendRising  = "rising"
	TrendFalling = "falling"
	TrendStable  = "stable"
)

// CategoryTrend is the weekly forecast of one category.
type CategoryTrend struct {
	Category string `json:"category"`
	// Weeks is the weekly ticket counts, oldest first.
	Weeks []float64 `json:"weeks"`
	// NextWeek is the smoothed level: the forecast of the next week; nil
	// with Reason when there are too few weeks.
	NextWeek *float64 `json:"next_week"`
	// Direction compares NextWeek with the mean week: rising above 110 %,
	// falling below 90 %, stable between.
	Direction string  `json:"direction"`
	Reason    *string `json:"reason"`
}

// ForecastCategory smooths weekly counts with CategoryAlpha,
//
//	s₀ = w₀,  sₜ = 0.4·wₜ + 0.6·sₜ₋₁,  next week = s
//
// and calls it rising when s > 1.1·w̄, falling when s < 0.9·w̄ (w̄ the mean
// week), stable otherwise. Fewer than MinCategoryWeeks weeks give a Reason.
func ForecastCategory(category string, weeks []float64) CategoryTrend {
	out := CategoryTrend{Category: category, Weeks: weeks, Direction: TrendStable}
	if len(weeks) < MinCategoryWeeks {
		reason := fmt.Sprintf("history too short: %d weeks, at least %d needed", len(weeks), MinCategoryWeeks)
		out.Reason = &reason
		return out
	}
	s := ExponentialSmoothing(weeks, CategoryAlpha)
	out.NextWeek = &s
	m := Mean(weeks)
	switch {
	case s > 1.1*m:
		out.Direction = TrendRising
	case s < 0.9*m:
		out.Direction = TrendFalling
	}
	return out
}

// WorkloadMethod describes WeightByWeekday's forecasts.
const WorkloadMethod = EnsembleMethod + ", times the weekday factor of each day"

// WeightByWeekday turns a daily forecast of the average day into one of
// each weekday: point k (1-based) falls on weekday (first + k − 1) mod 7
// and its value and band are multiplied by that weekday's factor
// (WeekdayFactors):
//
//	ŵₖ = ŷₖ · factor[(first + k − 1) mod 7]
//
// A forecast with a Reason is returned as it is.
func WeightByWeekday(f Forecast, factors [7]float64, first time.Weekday) Forecast {
	if f.Reason != nil {
		return f
	}
	f.Method = WorkloadMethod
	points := make([]ForecastPoint, len(f.Points))
	for i, p := range f.Points {
		w := factors[(int(first)+p.Step-1)%7]
		points[i] = ForecastPoint{Step: p.Step, Date: p.Date, Value: p.Value * w, Lower: p.Lower * w, Upper: p.Upper * w}
	}
	f.Points = points
	return f
}

// BreachMethod and BreachInterval describe ExpectedBreaches.
const (
	BreachMethod   = "open tasks due within the horizon × the breach share of the tasks decided in the range"
	BreachInterval = "±1 binomial standard deviation, √(n·p·(1−p))"
)

// ExpectedBreaches estimates how many of due open tasks will breach their
// SLA, taking the breach share of the decided tasks as the chance of each:
//
//	p = breached / (met + breached),  E = due · p,  σ = √(due · p · (1 − p))
//
// ok is false when no task is decided (p unknown).
func ExpectedBreaches(due, met, breached int) (p, expected, sigma float64, ok bool) {
	decided := met + breached
	if decided == 0 {
		return 0, 0, 0, false
	}
	p = float64(breached) / float64(decided)
	n := float64(due)
	return p, n * p, math.Sqrt(n * p * (1 - p)), true
}
