package analytics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/analyticstest"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/tickets"
	"github.com/bugflow/bugflow/workflow"
	"github.com/bugflow/bugflow/workflow/analytics"
)

// insightNow is the clock of the insight tests: a Tuesday noon.
var insightNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func insightMigrations() []store.Migration {
	return slices.Concat(workflow.Migrations(), tickets.Migrations(), analytics.Migrations())
}

func ago(d time.Duration) time.Time { return insightNow.Add(-d) }
func ptr[T any](v T) *T             { return &v }

const (
	hour = time.Hour
	day  = 24 * time.Hour
)

// seedInsights writes the history the insight tests count by hand:
//
//	T1 Network Urgent  created −25h target −1h   open (u1 new)            risk 40+30+15+0 = 85
//	T2 Network High    created −6h  target +1h   open (u1 in progress)    risk 30+⌊30·6/7⌋=25+10+0 = 65
//	T3 Payroll Low     created −1d  target +6d   open (u2 new)            risk 0+⌊30/7⌋=4+0+0 = 4
//	T4 Payroll Medium  created −10d target −3d   open, idle since −8d     risk 40+30+5+10 = 85
//	                   (u2 reassigned, u3 Transferred new at +1h)
//	T5 Network Low     created −5d  target +2d   resolved −4d: met        (u1 resolved)
//	T6 Network Medium  created −4d  target −1d   resolved −12h: breached  (u2 escalated, u3 Escalation at +2h, resolved)
//	T7 Payroll High    created −2d  no target    resolved −1d: no SLA
//
// One ticket per task (submitted by s1 for T1-T3, s2 for the rest), and
// ten more without a task at −36h, submitted by s1.
func seedInsights(t *testing.T, db bun.IDB) {
	t.Helper()
	ctx := context.Background()
	created := ago(40 * day)
	_, err := db.NewInsert().Model(&[]analyticstest.WorkflowRow{
		{ID: 1, Name: "Net", NameKey: "net", Category: "Network", Department: "IT", Status: "deployed", CreatedAt: created, UpdatedAt: created},
		{ID: 2, Name: "Pay", NameKey: "pay", Category: "Payroll", Department: "HR", Status: "deployed", CreatedAt: created, UpdatedAt: created},
	}).Exec(ctx)
	require.NoError(t, err)
	_, err = db.NewInsert().Model(&[]analyticstest.StepRow{
		{ID: 1, WorkflowID: 1, Name: "Start", Order: 1, IsStart: true}, {ID: 2, WorkflowID: 1, Name: "End", Order: 2, IsEnd: true},
		{ID: 3, WorkflowID: 2, Name: "Start", Order: 1, IsStart: true}, {ID: 4, WorkflowID: 2, Name: "End", Order: 2, IsEnd: true},
	}).Exec(ctx)
	require.NoError(t, err)
	type spec struct {
		wf                int64
		priority          string
		created, resolved time.Duration // ago; resolved 0 = open
		sla               time.Duration // 0 = none
		updated           time.Duration // ago; 0 = created or resolved
	}
	specs := []spec{
		{1, "Urgent", 25 * hour, 0, 24 * hour, 0},
		{1, "High", 6 * hour, 0, 7 * hour, 0},
		{2, "Low", day, 0, 7 * day, 0},
		{2, "Medium", 10 * day, 0, 7 * day, 8 * day},
		{1, "Low", 5 * day, 4 * day, 7 * day, 0},
		{1, "Medium", 4 * day, 12 * hour, 3 * day, 0},
		{2, "High", 2 * day, day, 0, 0},
	}
	category := map[int64]string{1: "Network", 2: "Payroll"}
	department := map[int64]string{1: "IT", 2: "HR"}
	var tasks []analyticstest.TaskRow
	var tks []analyticstest.TicketRow
	for i, sp := range specs {
		id := int64(i + 1)
		tk := analyticstest.TaskRow{ID: id, WorkflowID: sp.wf, TicketID: fmt.Sprintf("TX20261201%06d", id), Subject: fmt.Sprintf("task %d", id),
			Priority: sp.priority, Status: "new", CurrentStepID: 2*sp.wf - 1, CreatedAt: ago(sp.created), UpdatedAt: ago(sp.created)}
		if sp.sla > 0 {
			tk.TargetResolution = ptr(ago(sp.created).Add(sp.sla))
		}
		status := "Open"
		if sp.resolved > 0 {
			tk.Status, tk.CurrentStepID, tk.ResolvedAt, tk.UpdatedAt, status = "resolved", 2*sp.wf, ptr(ago(sp.resolved)), ago(sp.resolved), "Resolved"
		}
		if id == 2 {
			tk.Status = "in progress"
		}
		if sp.updated > 0 {
			tk.UpdatedAt = ago(sp.updated)
		}
		tasks = append(tasks, tk)
		by := "s1"
		if id > 3 {
			by = "s2"
		}
		tks = append(tks, analyticstest.TicketRow{ID: id, TicketID: tk.TicketID, Subject: tk.Subject, Category: category[sp.wf], Department: department[sp.wf],
			Priority: sp.priority, Status: status, SubmittedBy: ptr(by), TaskID: ptr(id), WorkflowID: ptr(sp.wf), CreatedAt: tk.CreatedAt, UpdatedAt: tk.UpdatedAt})
	}
	for i := range 10 {
		id := int64(100 + i)
		tks = append(tks, analyticstest.TicketRow{ID: id, TicketID: fmt.Sprintf("TX20261130%06d", id), Subject: "extra", Category: "Network", Department: "IT",
			Priority: "Low", Status: "New", SubmittedBy: ptr("s1"), CreatedAt: ago(36 * hour), UpdatedAt: ago(36 * hour)})
	}
	_, err = db.NewInsert().Model(&tasks).Exec(ctx)
	require.NoError(t, err)
	_, err = db.NewInsert().Model(&tks).Exec(ctx)
	require.NoError(t, err)
	item := func(id, task int64, user, status, origin string, assigned time.Time, acted *time.Time) analyticstest.ItemRow {
		step := tasks[task-1].CurrentStepID
		return analyticstest.ItemRow{ID: id, TaskID: task, UserID: user, Username: user + "name", RoleID: 1, RoleName: "Agent", RoleKey: "agent",
			StepID: step, Status: status, Origin: origin, AssignedAt: assigned, ActedAt: acted}
	}
	_, err = db.NewInsert().Model(&[]analyticstest.ItemRow{
		item(1, 1, "u1", "new", "System", ago(25*hour), nil),
		item(2, 2, "u1", "in progress", "System", ago(6*hour), ptr(ago(5*hour))),
		item(3, 3, "u2", "new", "System", ago(day), nil),
		item(4, 4, "u2", "reassigned", "System", ago(10*day), ptr(ago(10*day-hour))),
		item(5, 4, "u3", "new", "Transferred", ago(10*day-hour), nil),
		item(6, 5, "u1", "resolved", "System", ago(5*day), ptr(ago(4*day))),
		item(7, 6, "u2", "escalated", "System", ago(4*day), ptr(ago(4*day-2*hour))),
		item(8, 6, "u3", "resolved", "Escalation", ago(4*day-2*hour), ptr(ago(12*hour))),
	}).Exec(ctx)
	require.NoError(t, err)
}

func newInsights(t *testing.T, db *store.DB) *analytics.Service {
	t.Helper()
	seedInsights(t, db.DB)
	return analytics.New(db.DB, analytics.Config{Now: func() time.Time { return insightNow }})
}

// TestInsightsCountedByHand checks every insight against the numbers
// worked out from seedInsights, on each database, and that both
// databases give the same answers to the last digit.
func TestInsightsCountedByHand(t *testing.T) {
	answers := map[string]map[string]string{}
	admin := workflow.Actor{UserID: "admin", Admin: true}
	dbtest.ForEachDB(t, insightMigrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newInsights(t, db)
		got := map[string]string{}
		answers[t.Name()] = got
		keep := func(name string, v any) {
			b, err := json.Marshal(v)
			require.NoError(t, err)
			got[name] = string(b)
		}
		f := analytics.Filter{}

		risk, err := s.SLARisk(ctx, f)
		require.NoError(t, err)
		keep("sla-risk", risk)
		assert.Equal(t, [4]int{4, 2, 1, 1}, [4]int{risk.Open, risk.High, risk.Medium, risk.Low})
		require.Len(t, risk.Tasks, 4)
		ids := []int64{risk.Tasks[0].TaskID, risk.Tasks[1].TaskID, risk.Tasks[2].TaskID, risk.Tasks[3].TaskID}
		assert.Equal(t, []int64{4, 1, 2, 3}, ids, "riskiest first, the earlier target first among equals")
		assert.Equal(t, []int{85, 85, 65, 4}, []int{risk.Tasks[0].Score, risk.Tasks[1].Score, risk.Tasks[2].Score, risk.Tasks[3].Score})
		assert.Equal(t, analytics.RiskHigh, risk.Tasks[0].Level)

		health, err := s.ServiceHealth(ctx, f)
		require.NoError(t, err)
		keep("service-health", health)
		require.Len(t, health.Workflows, 2)
		w1, w2, all := health.Workflows[0], health.Workflows[1], health.Overall
		// W1: open T1, T2; overdue T1; met T5; breached T6, T1; resolved
		// T5, T6; troubled T1.
		assert.Equal(t, [7]int{2, 1, 0, 1, 2, 2, 1}, [7]int{w1.Open, w1.Overdue, w1.Idle, w1.Met, w1.Breached, w1.Resolved, w1.Troubled})
		require.NotNil(t, w1.ComplianceRate)
		assert.InDelta(t, 1.0/3, *w1.ComplianceRate, 1e-9)
		require.NotNil(t, w1.AvgResolutionHours)
		assert.InDelta(t, 54, *w1.AvgResolutionHours, 1e-6) // (24 + 84) / 2
		assert.Equal(t, analytics.HealthCritical, w1.Status)
		assert.Equal(t, [6]int{2, 1, 1, 0, 1, 1}, [6]int{w2.Open, w2.Overdue, w2.Idle, w2.Met, w2.Breached, w2.Resolved})
		assert.InDelta(t, 24, *w2.AvgResolutionHours, 1e-6)
		assert.Equal(t, [6]int{4, 2, 1, 1, 3, 3}, [6]int{all.Open, all.Overdue, all.Idle, all.Met, all.Breached, all.Resolved})
		assert.InDelta(t, 0.25, *all.ComplianceRate, 1e-9)
		assert.InDelta(t, 44, *all.AvgResolutionHours, 1e-6) // (24 + 84 + 24) / 3

		load, err := s.Workload(ctx, f)
		require.NoError(t, err)
		keep("workload", load)
		assert.Equal(t, []analytics.UserLoad{
			{UserID: "u1", Username: "u1name", Open: 2, Assigned: 3, Resolved: 1},
			{UserID: "u2", Username: "u2name", Open: 1, Assigned: 3, Resolved: 0},
			{UserID: "u3", Username: "u3name", Open: 1, Assigned: 2, Resolved: 1},
		}, load.Users)
		// 7 tasks over the 31 calendar days Nov 1 (a Sunday) - Dec 1:
		// five Sundays, Mondays, Tuesdays, four of the others.
		assert.InDelta(t, 7.0/31, load.AverageDaily, 1e-9)
		byDay := map[string]analytics.WeekdayLoad{}
		for _, d := range load.Weekdays {
			byDay[d.Weekday] = d
		}
		assert.Equal(t, 2, byDay["Monday"].Tasks)
		assert.Equal(t, 5, byDay["Monday"].Days)
		assert.InDelta(t, (2.0/5)/(7.0/31), byDay["Monday"].Factor, 1e-9)
		assert.InDelta(t, 0, byDay["Wednesday"].Factor, 1e-9)
		assert.InDelta(t, (1.0/4)/(7.0/31), byDay["Thursday"].Factor, 1e-9)

		anomalies, err := s.Anomalies(ctx, f)
		require.NoError(t, err)
		keep("anomalies", anomalies)
		// The day [−2d, −1d) holds T1, T7 and the ten extras: 12 after a
		// week of 0,1,1,0,0,0,0.
		require.Len(t, anomalies.VolumeAnomalies, 1)
		assert.Equal(t, ago(2*day).Format(time.RFC3339), anomalies.VolumeAnomalies[0].Date)
		assert.InDelta(t, 12, anomalies.VolumeAnomalies[0].Value, 1e-9)
		assert.InDelta(t, 2.0/7, anomalies.VolumeAnomalies[0].Expected, 1e-9)
		assert.Equal(t, 1, anomalies.IdleTasks.Count)
		assert.Equal(t, int64(4), anomalies.IdleTasks.Tasks[0].TaskID)
		// One escalation in 30 days: above twice the daily average 1/30.
		require.Len(t, anomalies.EscalationSpikes, 1)
		assert.Equal(t, ago(4*day).Format(time.RFC3339), anomalies.EscalationSpikes[0].Date)

		op, err := s.Operational(ctx, f)
		require.NoError(t, err)
		keep("operational", op)
		assert.Equal(t, 17, op.TicketsCreated)
		assert.Equal(t, [6]int{2, 1, 1, 1, 1, 1}, [6]int{op.SLARisk.High, op.SLARisk.Medium, op.SLARisk.Low, op.IdleTasks, op.VolumeAnomalies, op.EscalationSpikes})
		assert.Equal(t, analytics.HealthCritical, op.Health.Status)
		assert.Len(t, op.BusiestUsers, 3)

		srf, err := s.ForecastSLARisk(ctx, f, 7)
		require.NoError(t, err)
		keep("forecast-sla-risk", srf)
		// Due within 7 days: T2 (+1h), T3 (+6d); overdue T1, T4; decided
		// in the range: met T5, breached T6, T1, T4: p 0.75, E 1.5,
		// σ √(2·0.75·0.25).
		assert.Equal(t, [4]int{2, 2, 1, 3}, [4]int{srf.OverdueNow, srf.Due, srf.Met, srf.Breached})
		require.Nil(t, srf.Reason)
		assert.InDelta(t, 1.5, *srf.ExpectedBreaches, 1e-9)
		assert.InDelta(t, 1.5+math.Sqrt(0.375), *srf.Upper, 1e-9)
		// Due in one day: only T2.
		srf1, err := s.ForecastSLARisk(ctx, f, 1)
		require.NoError(t, err)
		assert.Equal(t, 1, srf1.Due)

		vol, err := s.ForecastVolume(ctx, f, 3)
		require.NoError(t, err)
		keep("forecast-volume", vol)
		require.Len(t, vol.History, 30)
		assert.InDelta(t, 12, vol.History[28].Value, 1e-9)
		assert.InDelta(t, 2, vol.History[29].Value, 1e-9) // T2, T3
		require.Nil(t, vol.Forecast.Reason)
		require.Len(t, vol.Forecast.Points, 3)
		assert.Equal(t, insightNow.Format(time.RFC3339), vol.Forecast.Points[0].Date)
		var ys []float64
		for _, h := range vol.History {
			ys = append(ys, h.Value)
		}
		assert.Equal(t, analytics.Ensemble(ys, 3, analytics.VolumeAlpha, analytics.MinHistory).Points[0].Value, vol.Forecast.Points[0].Value)

		res, err := s.ForecastResolution(ctx, f, 7)
		require.NoError(t, err)
		keep("forecast-resolution", res)
		// T5 resolved in [−4d, −3d) after 24h; T6 (84h) and T7 (24h) in
		// [−1d, now): two days, fewer than seven: a reason, no points.
		assert.Equal(t, []analytics.SeriesValue{{Date: ago(4 * day).Format(time.RFC3339), Value: 24}, {Date: ago(day).Format(time.RFC3339), Value: 54}}, res.History)
		require.NotNil(t, res.Forecast.Reason)
		assert.Empty(t, res.Forecast.Points)

		cat, err := s.ForecastCategory(ctx, f)
		require.NoError(t, err)
		keep("forecast-category", cat)
		// Four whole weeks back from now; Network has T1, T2, T5, T6 and
		// the ten extras: 10+4 in the last week... T1 −25h, T2 −6h, T5 −5d,
		// T6 −4d and the extras −36h all fall in the last 7 days.
		require.Len(t, cat.Categories, 2)
		assert.Equal(t, "Network", cat.Categories[0].Category)
		assert.Equal(t, []float64{0, 0, 0, 14}, cat.Categories[0].Weeks)
		// Payroll: T3 −1d, T7 −2d in the last week, T4 −10d in the one before.
		assert.Equal(t, []float64{0, 0, 1, 2}, cat.Categories[1].Weeks)
		assert.Equal(t, analytics.TrendRising, cat.Categories[0].Direction)

		wl, err := s.ForecastWorkload(ctx, f, 7)
		require.NoError(t, err)
		keep("forecast-workload", wl)
		require.Len(t, wl.Forecast.Points, 7)

		comp, err := s.ForecastComprehensive(ctx, f, 7)
		require.NoError(t, err)
		assert.Equal(t, vol.History, comp.Volume.History)

		// Drill-downs.
		rows, n, err := s.DrilldownTickets(ctx, tickets.Caller{UserID: "admin", Admin: true}, f, analytics.TicketSelect{SLA: analytics.SLABreached}, store.Page{Limit: 10})
		require.NoError(t, err)
		keep("drill-tickets-sla", rows)
		assert.Equal(t, 3, n) // T1, T4, T6
		rows, n, err = s.DrilldownTickets(ctx, tickets.Caller{UserID: "s2"}, f, analytics.TicketSelect{}, store.Page{Limit: 2})
		require.NoError(t, err)
		assert.Equal(t, 4, n, "s2 submitted T4-T7")
		assert.Len(t, rows, 2)
		_, n, err = s.DrilldownTickets(ctx, tickets.Caller{UserID: "c1", Coordinator: true}, f, analytics.TicketSelect{}, store.Page{Limit: 2})
		require.NoError(t, err)
		assert.Equal(t, 17, n, "a coordinator sees every ticket")
		_, n, err = s.DrilldownTickets(ctx, tickets.Caller{UserID: "admin", Admin: true}, f, analytics.TicketSelect{Age: "1-3d"}, store.Page{Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, 12, n, "T1 (25h), T3 (exactly 1d) and the ten extras (36h); T7 is resolved")
		_, n, err = s.DrilldownTickets(ctx, tickets.Caller{UserID: "admin", Admin: true}, f, analytics.TicketSelect{SLA: analytics.SLAOpen}, store.Page{Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, 2, n, "T2 and T3")
		_, n, err = s.DrilldownTickets(ctx, tickets.Caller{UserID: "admin", Admin: true}, f, analytics.TicketSelect{SLA: analytics.SLANone}, store.Page{Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, 11, n, "T7 and the ten without a task")

		trows, n, err := s.DrilldownTasks(ctx, workflow.Actor{UserID: "u2"}, f, "", store.Page{Limit: 10})
		require.NoError(t, err)
		keep("drill-tasks-u2", trows)
		assert.Equal(t, 3, n, "u2 is assigned T3, T4, T6")
		_, n, err = s.DrilldownWorkflow(ctx, admin, 2, f, store.Page{Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, 3, n)
		_, _, err = s.DrilldownWorkflow(ctx, admin, 99, f, store.Page{Limit: 10})
		assert.ErrorIs(t, err, errs.ErrNotFound)

		arows, n, err := s.DrilldownAssignments(ctx, admin, f, analytics.AssignmentSelect{Origin: "Transferred"}, store.Page{Limit: 10})
		require.NoError(t, err)
		keep("drill-transfers", arows)
		require.Equal(t, 1, n)
		require.NotNil(t, arows[0].FromUserID)
		assert.Equal(t, "u2", *arows[0].FromUserID)
		_, n, err = s.DrilldownAssignments(ctx, workflow.Actor{UserID: "u3"}, f, analytics.AssignmentSelect{UserID: "u3"}, store.Page{Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		_, _, err = s.DrilldownAssignments(ctx, workflow.Actor{UserID: "u3"}, f, analytics.AssignmentSelect{UserID: "u1"}, store.Page{Limit: 10})
		assert.ErrorIs(t, err, errs.ErrForbidden)
	})
	if len(answers) == 2 {
		var names []string
		for n := range answers {
			names = append(names, n)
		}
		a, b := answers[names[0]], answers[names[1]]
		for k := range a {
			assert.JSONEq(t, a[k], b[k], "%s differs between the databases", k)
		}
	}
}

func TestForecastsGiveAReasonOnAShortHistory(t *testing.T) {
	dbtest.ForEachDB(t, insightMigrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newInsights(t, db)
		// Six whole days are one short of MinHistory; seven are enough.
		short := analytics.Filter{From: ago(6 * day), To: insightNow}
		vol, err := s.ForecastVolume(ctx, short, 7)
		require.NoError(t, err)
		require.NotNil(t, vol.Forecast.Reason)
		assert.Equal(t, 7, vol.Forecast.Horizon)
		assert.NotEmpty(t, vol.Forecast.Method)
		vol, err = s.ForecastVolume(ctx, analytics.Filter{From: ago(7 * day), To: insightNow}, 7)
		require.NoError(t, err)
		assert.Nil(t, vol.Forecast.Reason)
		wl, err := s.ForecastWorkload(ctx, short, 7)
		require.NoError(t, err)
		assert.NotNil(t, wl.Forecast.Reason)
		// Three weeks are one short of MinCategoryWeeks.
		cat, err := s.ForecastCategory(ctx, analytics.Filter{From: ago(21 * day), To: insightNow})
		require.NoError(t, err)
		require.NotEmpty(t, cat.Categories)
		assert.NotNil(t, cat.Categories[0].Reason)
		// Nothing decided in a range before the history: no breach share.
		srf, err := s.ForecastSLARisk(ctx, analytics.Filter{From: ago(90 * day), To: ago(60 * day)}, 7)
		require.NoError(t, err)
		assert.NotNil(t, srf.Reason)
		assert.Nil(t, srf.ExpectedBreaches)
	})
}
