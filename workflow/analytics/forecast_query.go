package analytics

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/errs"
)

// The forecasts of seeds/004 (admin only). Each reads a short series of
// aggregates from the database (one number per whole day or week counted
// back from the end of the filter's range, so that no period is partial)
// and forecasts it with the functions of forecast.go. Every answer states
// its method, horizon and interval; with too short a history it carries a
// reason instead of points.

// Horizons of the forecasts, in days (weeks for the category forecast).
const (
	DefaultHorizon = 7
	MaxHorizon     = 90
)

// ParseHorizon reads the horizon query parameter: how many days (weeks
// for the category forecast) to forecast, 1 to MaxHorizon, DefaultHorizon
// when absent.
func ParseHorizon(q url.Values) (int, error) {
	v := q.Get("horizon")
	if v == "" {
		return DefaultHorizon, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxHorizon {
		return 0, errs.InvalidField("horizon", "must be an integer from 1 to "+strconv.Itoa(MaxHorizon))
	}
	return n, nil
}

// SeriesValue is one period of a history.
type SeriesValue struct {
	// Date is the start of the period, RFC 3339.
	Date  string  `json:"date"`
	Value float64 `json:"value"`
}

// SeriesForecast is a history and its forecast.
type SeriesForecast struct {
	Filter Filter `json:"filter"`
	// Unit says what the values count or measure.
	Unit     string        `json:"unit"`
	History  []SeriesValue `json:"history"`
	Forecast Forecast      `json:"forecast"`
}

// dated returns the history of ys over w, and fc with the dates of its
// points (the windows after w).
func dated(ys []float64, w windows, fc Forecast) ([]SeriesValue, Forecast) {
	history := make([]SeriesValue, len(ys))
	for i, y := range ys {
		history[i] = SeriesValue{Date: w.at(i).Format(time.RFC3339), Value: y}
	}
	for i := range fc.Points {
		fc.Points[i].Date = w.at(w.N + fc.Points[i].Step - 1).Format(time.RFC3339)
	}
	return history, fc
}

// ForecastVolume forecasts the tickets created per day over the next
// horizon days from the whole days of f's range (Ensemble, α VolumeAlpha,
// at least MinHistory days).
func (s *Service) ForecastVolume(ctx context.Context, f Filter, horizon int) (SeriesForecast, error) {
	f, err := s.bounds(f)
	if err != nil {
		return SeriesForecast{}, err
	}
	w := windowsOf(f, 24*time.Hour)
	ys, _, err := s.series(ctx, ticketScope(s.db.NewSelect().TableExpr("tickets AS t"), "t", f), "t.created_at", "COUNT(*)", w)
	if err != nil {
		return SeriesForecast{}, fmt.Errorf("volume forecast: %w", err)
	}
	history, fc := dated(ys, w, Ensemble(ys, horizon, VolumeAlpha, MinHistory))
	return SeriesForecast{Filter: f, Unit: "tickets per day", History: history, Forecast: fc}, nil
}

// ForecastResolution forecasts the mean resolution time, in hours, of the
// tasks resolved on each of the next horizon days, from the days of f's
// range on which tasks were resolved (days without any have no mean and
// are left out of the history; at least MinHistory such days).
func (s *Service) ForecastResolution(ctx context.Context, f Filter, horizon int) (SeriesForecast, error) {
	f, err := s.bounds(f)
	if err != nil {
		return SeriesForecast{}, err
	}
	w := windowsOf(f, 24*time.Hour)
	q := taskScope(s.db.NewSelect().TableExpr("workflow_tasks AS tk").Where("tk.resolved_at IS NOT NULL"), "tk", f)
	ys, seen, err := s.series(ctx, q, "tk.resolved_at", "AVG("+s.seconds("tk.resolved_at", "tk.created_at")+") / 3600.0", w)
	if err != nil {
		return SeriesForecast{}, fmt.Errorf("resolution forecast: %w", err)
	}
	out := SeriesForecast{Filter: f, Unit: "mean hours from creation to resolution, by day of resolution", History: []SeriesValue{}}
	var present []float64
	for i, y := range ys {
		if seen[i] {
			y = roundHours(y)
			present = append(present, y)
			out.History = append(out.History, SeriesValue{Date: w.at(i).Format(time.RFC3339), Value: y})
		}
	}
	_, out.Forecast = dated(nil, w, Ensemble(present, horizon, VolumeAlpha, MinHistory))
	return out, nil
}

// CategoryForecast is the weekly trend of the busiest categories.
type CategoryForecast struct {
	Filter Filter `json:"filter"`
	Method string `json:"method"`
	// Horizon is 1: the smoothed level forecasts the next week.
	Horizon  int    `json:"horizon"`
	Interval string `json:"interval"`
	// WeekStarts is the start of each week of the histories, RFC 3339.
	WeekStarts []string        `json:"week_starts"`
	Categories []CategoryTrend `json:"categories"`
}

// maxCategories is how many categories the category forecast covers, the
// busiest in the range.
const maxCategories = 20

// ForecastCategory forecasts next week's tickets of each of the 20 busiest
// categories of f's range from its whole weeks (ForecastCategory: weekly
// smoothing, α CategoryAlpha).
func (s *Service) ForecastCategory(ctx context.Context, f Filter) (CategoryForecast, error) {
	f, err := s.bounds(f)
	if err != nil {
		return CategoryForecast{}, err
	}
	w := windowsOf(f, 7*24*time.Hour)
	out := CategoryForecast{Filter: f, Method: "simple exponential smoothing of weekly counts, α 0.4", Horizon: 1,
		Interval: "none: a point forecast with a trend direction", WeekStarts: []string{}, Categories: []CategoryTrend{}}
	for i := range w.N {
		out.WeekStarts = append(out.WeekStarts, w.at(i).Format(time.RFC3339))
	}
	scoped := func() *bun.SelectQuery {
		q := s.db.NewSelect().TableExpr("tickets AS t").Where("t.created_at >= ?", w.Start).Where("t.created_at < ?", w.End)
		return ticketScope(q, "t", f)
	}
	var top []string
	err = scoped().ColumnExpr("t.category").GroupExpr("t.category").OrderExpr("COUNT(*) DESC, t.category").Limit(maxCategories).Scan(ctx, &top)
	if err != nil {
		return CategoryForecast{}, fmt.Errorf("busiest categories: %w", err)
	}
	if len(top) == 0 || w.N == 0 {
		return out, nil
	}
	var rows []struct {
		Category string `bun:"category"`
		K        int64  `bun:"k"`
		N        int    `bun:"n"`
	}
	err = scoped().ColumnExpr("t.category AS category").
		ColumnExpr(s.windowBack("t.created_at", w)+" AS k").
		ColumnExpr("COUNT(*) AS n").Where("t.category IN (?)", bun.In(top)).
		GroupExpr("t.category, k").Scan(ctx, &rows)
	if err != nil {
		return CategoryForecast{}, fmt.Errorf("weekly categories: %w", err)
	}
	weeks := make(map[string][]float64, len(top))
	for _, c := range top {
		weeks[c] = make([]float64, w.N)
	}
	for _, r := range rows {
		if i := w.N - 1 - int(r.K); i >= 0 && i < w.N {
			weeks[r.Category][i] = float64(r.N)
		}
	}
	for _, c := range top {
		out.Categories = append(out.Categories, ForecastCategory(c, weeks[c]))
	}
	return out, nil
}

// SLARiskForecast estimates the SLA breaches of the coming days.
type SLARiskForecast struct {
	Filter   Filter    `json:"filter"`
	At       time.Time `json:"at"`
	Method   string    `json:"method"`
	Horizon  int       `json:"horizon"`
	Interval string    `json:"interval"`
	// OverdueNow is the open tasks already past their target.
	OverdueNow int `json:"overdue_now"`
	// Due is the open tasks whose target falls in the next Horizon days.
	Due int `json:"due"`
	// Met and Breached count the tasks created in the range by outcome;
	// BreachShare is Breached/(Met+Breached).
	Met         int      `json:"met"`
	Breached    int      `json:"breached"`
	BreachShare *float64 `json:"breach_share"`
	// ExpectedBreaches is Due × BreachShare, with its band.
	ExpectedBreaches *float64 `json:"expected_breaches"`
	Lower            *float64 `json:"lower"`
	Upper            *float64 `json:"upper"`
	Reason           *string  `json:"reason"`
}

// ForecastSLARisk estimates how many open tasks of f's scope will breach
// their SLA in the next horizon days (ExpectedBreaches), from the tasks
// due then and the breach share of the tasks created in f's range.
func (s *Service) ForecastSLARisk(ctx context.Context, f Filter, horizon int) (SLARiskForecast, error) {
	f, err := s.bounds(f)
	if err != nil {
		return SLARiskForecast{}, err
	}
	now := s.clock()
	out := SLARiskForecast{Filter: f, At: now, Method: BreachMethod, Horizon: horizon, Interval: BreachInterval}
	until := now.Add(time.Duration(horizon) * 24 * time.Hour)
	// Two reads, each from one index alone: the open tasks' deadlines, and
	// the outcomes of the tasks created in the range. One read of both sets
	// (open OR created in the range) had to visit the table for each row
	// (1.1 s at a million tickets).
	open := s.db.NewSelect().TableExpr("workflow_tasks AS tk").
		ColumnExpr(countIf("tk.target_resolution < ?")+" AS overdue", now).
		ColumnExpr(countIf("tk.target_resolution >= ? AND tk.target_resolution < ?")+" AS due", now, until).
		Where(openTask).Where("tk.target_resolution IS NOT NULL")
	if err := taskScope(open, "tk", f).Scan(ctx, &out.OverdueNow, &out.Due); err != nil {
		return SLARiskForecast{}, fmt.Errorf("SLA risk forecast, open tasks: %w", err)
	}
	created := s.db.NewSelect().TableExpr("workflow_tasks AS tk").
		ColumnExpr(countIf(slaMet)+" AS met").
		ColumnExpr(countIf(slaBreached)+" AS breached", now).
		Where("tk.target_resolution IS NOT NULL")
	if err := taskScope(within(created, "tk.created_at", f), "tk", f).Scan(ctx, &out.Met, &out.Breached); err != nil {
		return SLARiskForecast{}, fmt.Errorf("SLA risk forecast, tasks of the range: %w", err)
	}
	p, e, sigma, ok := ExpectedBreaches(out.Due, out.Met, out.Breached)
	if !ok {
		reason := "no task created in the range has met or breached its SLA yet: no breach share to forecast with"
		out.Reason = &reason
		return out, nil
	}
	lower, upper := max(e-sigma, 0), e+sigma
	out.BreachShare, out.ExpectedBreaches, out.Lower, out.Upper = &p, &e, &lower, &upper
	return out, nil
}

// WorkloadForecast is the forecast of new tasks per day, weighted by
// weekday.
type WorkloadForecast struct {
	SeriesForecast
	Weekdays []WeekdayLoad `json:"weekdays"`
}

// ForecastWorkload forecasts the tasks created on each of the next horizon
// days: the Ensemble forecast of the average day of f's range, times the
// weekday factor of each day (WeightByWeekday).
func (s *Service) ForecastWorkload(ctx context.Context, f Filter, horizon int) (WorkloadForecast, error) {
	f, err := s.bounds(f)
	if err != nil {
		return WorkloadForecast{}, err
	}
	w := windowsOf(f, 24*time.Hour)
	ys, _, err := s.series(ctx, taskScope(s.db.NewSelect().TableExpr("workflow_tasks AS tk"), "tk", f), "tk.created_at", "COUNT(*)", w)
	if err != nil {
		return WorkloadForecast{}, fmt.Errorf("workload forecast: %w", err)
	}
	load, err := s.Workload(ctx, f)
	if err != nil {
		return WorkloadForecast{}, err
	}
	var factors [7]float64
	for d, l := range load.Weekdays {
		factors[d] = l.Factor
	}
	history, fc := dated(ys, w, Ensemble(ys, horizon, VolumeAlpha, MinHistory))
	fc = WeightByWeekday(fc, factors, w.End.Weekday())
	return WorkloadForecast{SeriesForecast: SeriesForecast{Filter: f, Unit: "tasks created per day", History: history, Forecast: fc}, Weekdays: load.Weekdays}, nil
}

// ComprehensiveForecast is every forecast at once.
type ComprehensiveForecast struct {
	Volume     SeriesForecast   `json:"volume"`
	Resolution SeriesForecast   `json:"resolution"`
	Category   CategoryForecast `json:"category"`
	SLARisk    SLARiskForecast  `json:"sla_risk"`
	Workload   WorkloadForecast `json:"workload"`
}

// ForecastComprehensive returns every forecast of f over horizon days.
func (s *Service) ForecastComprehensive(ctx context.Context, f Filter, horizon int) (ComprehensiveForecast, error) {
	var out ComprehensiveForecast
	var err error
	if out.Volume, err = s.ForecastVolume(ctx, f, horizon); err != nil {
		return ComprehensiveForecast{}, err
	}
	if out.Resolution, err = s.ForecastResolution(ctx, f, horizon); err != nil {
		return ComprehensiveForecast{}, err
	}
	if out.Category, err = s.ForecastCategory(ctx, f); err != nil {
		return ComprehensiveForecast{}, err
	}
	if out.SLARisk, err = s.ForecastSLARisk(ctx, f, horizon); err != nil {
		return ComprehensiveForecast{}, err
	}
	if out.Workload, err = s.ForecastWorkload(ctx, f, horizon); err != nil {
		return ComprehensiveForecast{}, err
	}
	return out, nil
}
