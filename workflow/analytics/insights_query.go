package analytics

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/uptrace/bun"
)

// The operational insights of seeds/004 (admin only): workload, SLA risk,
// anomalies, service health and their summary. Counts, sums and the SLA
// risk scores are computed by the database; Go applies the formulas of
// insights.go to the handful of aggregates that come back.

// IdleAfter is how long an open task may go without a change before it is
// idle.
const IdleAfter = 7 * 24 * time.Hour

// listLimit is how many tasks or users an insight lists (the riskiest, the
// longest idle, the busiest): enough to act on, and a bound on the size of
// the answer whatever the size of the history.
const listLimit = 20

// openTask keeps the tasks (alias tk) not yet resolved.
const openTask = "tk.status <> 'resolved'"

// wholeSeconds returns SQL for the whole seconds since 1970 of the timestamp
// column col, rounded down, on either dialect. On PostgreSQL date_part
// rather than EXTRACT: EXTRACT returns numeric (since PostgreSQL 14), whose
// arithmetic made the SLA risk score, ten of these a task, cost 0.6 s over
// the 67,000 open tasks of the million-ticket bench, against 0.35 s in
// double precision. A double holds a microsecond timestamp of this era to
// within 2^-22 s, far less than a microsecond, so the floor is the same.
func (s *Service) wholeSeconds(col string) string {
	if s.pg {
		return "CAST(FLOOR(date_part('epoch', " + col + ")) AS BIGINT)"
	}
	return "unixepoch(" + col + ")"
}

// float returns SQL casting the numeric expression expr to a
// floating-point number, so that a count scans into a float64 on SQLite
// as on PostgreSQL.
func (s *Service) float(expr string) string {
	if s.pg {
		return "CAST((" + expr + ") AS DOUBLE PRECISION)"
	}
	return "CAST((" + expr + ") AS REAL)"
}

// weekday returns SQL for the UTC weekday (Sunday 0) of the timestamp
// column col.
func (s *Service) weekday(col string) string {
	if s.pg {
		return "CAST(EXTRACT(DOW FROM " + col + " AT TIME ZONE 'UTC') AS INTEGER)"
	}
	return "CAST(strftime('%w', " + col + ") AS INTEGER)"
}

// windows is a range cut into whole windows of one width counted back from
// its end, so that no window is partial: the first window starts at
// Start, and what happened before it is left out.
type windows struct {
	Start time.Time
	End   time.Time
	Width time.Duration
	N     int
}

// windowsOf cuts f's range into windows of width.
func windowsOf(f Filter, width time.Duration) windows {
	n := int(f.To.Sub(f.From) / width)
	return windows{Start: f.To.Add(-time.Duration(n) * width), End: f.To, Width: width, N: n}
}

// at returns the start of window i (0 the oldest).
func (w windows) at(i int) time.Time { return w.Start.Add(time.Duration(i) * w.Width) }

// series runs q (a select over the rows to count, scoped already) grouped
// by the window of the timestamp column col, and returns value per window,
// oldest first (0 where a window has no rows), and which windows had rows.
// value is an aggregate SQL expression.
func (s *Service) series(ctx context.Context, q *bun.SelectQuery, col, value string, w windows) ([]float64, []bool, error) {
	ys, seen := make([]float64, w.N), make([]bool, w.N)
	if w.N == 0 {
		return ys, seen, nil
	}
	var rows []struct {
		K int64   `bun:"k"`
		V float64 `bun:"v"`
	}
	q = q.ColumnExpr(s.windowBack(col, w)+" AS k").
		ColumnExpr(s.float(value)+" AS v").
		Where(col+" >= ?", w.Start).Where(col+" < ?", w.End).
		GroupExpr("k")
	if err := q.Scan(ctx, &rows); err != nil {
		return nil, nil, err
	}
	for _, r := range rows {
		i := w.N - 1 - int(r.K)
		if i >= 0 && i < w.N {
			ys[i], seen[i] = r.V, true
		}
	}
	return ys, seen, nil
}

// windowBack returns SQL for the window, counted back from w's end (0 the
// last), of the timestamp column col: t is in window k when t ∈
// [end − (k+1)·width, end − k·width), which in whole seconds is
// k = (end − t − 1) div width. Integer division truncates toward zero on
// both dialects, so a time in the end's own second is in window 0 too.
func (s *Service) windowBack(col string, w windows) string {
	return fmt.Sprintf("((%d - %s - 1) / %d)", w.End.Unix(), s.wholeSeconds(col), int64(w.Width/time.Second))
}

// UserLoad is one person's share of the work.
type UserLoad struct {
	UserID   string `json:"user_id"`
	Username string `json:"username"`
	// Open is the assignments the user holds now (new or in progress).
	Open int `json:"open"`
	// Assigned is the assignments the user received in the range.
	Assigned int `json:"assigned"`
	// Resolved is the assignments the user finished in the range.
	Resolved int `json:"resolved"`
}

// WeekdayLoad is how busy one weekday is.
type WeekdayLoad struct {
	Weekday string `json:"weekday"`
	// Tasks is the tasks created on this weekday in the range; Days how
	// many of this weekday the range holds.
	Tasks  int     `json:"tasks"`
	Days   int     `json:"days"`
	Factor float64 `json:"factor"`
}

// Workload is the workload analysis: who holds the work, and how it falls
// on the days of the week (WeekdayFactors).
type Workload struct {
	Filter Filter `json:"filter"`
	// Users is the busiest people, by open assignments, at most 20.
	Users    []UserLoad    `json:"users"`
	Weekdays []WeekdayLoad `json:"weekdays"`
	// AverageDaily is the tasks created per day of the range.
	AverageDaily float64 `json:"average_daily"`
}

// Workload returns who holds the work of f's scope and the weekday factors
// of the tasks created in f's range.
func (s *Service) Workload(ctx context.Context, f Filter) (Workload, error) {
	f, err := s.bounds(f)
	if err != nil {
		return Workload{}, err
	}
	out := Workload{Filter: f, Users: []UserLoad{}}
	q := assignments(s.db, f).
		ColumnExpr("ti.user_id AS user_id").ColumnExpr("MAX(ti.username) AS username").
		ColumnExpr(countIf("ti.status IN ('new', 'in progress')")+" AS open").
		ColumnExpr(countIf("ti.assigned_at >= ? AND ti.assigned_at < ?")+" AS assigned", f.From, f.To).
		ColumnExpr(countIf("ti.status = 'resolved' AND ti.acted_at >= ? AND ti.acted_at < ?")+" AS resolved", f.From, f.To).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("ti.status IN ('new', 'in progress')").WhereOr("ti.assigned_at >= ?", f.From).WhereOr("ti.acted_at >= ?", f.From)
		}).
		GroupExpr("ti.user_id").OrderExpr("open DESC, assigned DESC, user_id").Limit(listLimit)
	if err := q.Scan(ctx, &out.Users); err != nil {
		return Workload{}, fmt.Errorf("workload by user: %w", err)
	}
	var days []struct {
		D int `bun:"d"`
		N int `bun:"n"`
	}
	dq := s.db.NewSelect().TableExpr("workflow_tasks AS tk").
		ColumnExpr(s.weekday("tk.created_at") + " AS d").ColumnExpr("COUNT(*) AS n").GroupExpr("d")
	if err := taskScope(within(dq, "tk.created_at", f), "tk", f).Scan(ctx, &days); err != nil {
		return Workload{}, fmt.Errorf("workload by weekday: %w", err)
	}
	var counts [7]float64
	var total float64
	for _, d := range days {
		if d.D >= 0 && d.D < 7 {
			counts[d.D] = float64(d.N)
			total += float64(d.N)
		}
	}
	in := WeekdaysIn(f.From, f.To)
	factors := WeekdayFactors(counts, in)
	var nDays float64
	for d := range 7 {
		nDays += in[d]
		out.Weekdays = append(out.Weekdays, WeekdayLoad{Weekday: time.Weekday(d).String(), Tasks: int(counts[d]), Days: int(in[d]), Factor: factors[d]})
	}
	if nDays > 0 {
		out.AverageDaily = total / nDays
	}
	return out, nil
}

// RiskTask is one open task and its SLA risk.
type RiskTask struct {
	TaskID           int64     `json:"task_id" bun:"task_id"`
	TicketID         string    `json:"ticket_id" bun:"ticket_id"`
	Subject          string    `json:"subject" bun:"subject"`
	WorkflowID       int64     `json:"workflow_id" bun:"workflow_id"`
	Priority         string    `json:"priority" bun:"priority"`
	CreatedAt        time.Time `json:"created_at" bun:"created_at"`
	TargetResolution time.Time `json:"target_resolution" bun:"target_resolution"`
	Score            int       `json:"score" bun:"score"`
	Level            string    `json:"level" bun:"-"`
}

// SLARiskReport is the risk that the open tasks miss their SLA.
type SLARiskReport struct {
	Filter Filter `json:"filter"`
	// At is the moment the open tasks were judged at.
	At time.Time `json:"at"`
	// Open is the open tasks that have an SLA target; each is High, Medium
	// or Low (RiskLevel of SLARiskScore).
	Open   int `json:"open"`
	High   int `json:"high"`
	Medium int `json:"medium"`
	Low    int `json:"low"`
	// Tasks is the riskiest open tasks, at most 20, riskiest first.
	Tasks []RiskTask `json:"tasks"`
}

// riskScore returns SQL computing SLARiskScore of a task (alias tk) at the
// moment of epoch second now, and its arguments. Its inputs are whole
// seconds, as SLARiskScore's integer arithmetic takes them.
func (s *Service) riskScore(now int64) (string, []any) {
	target, created := s.wholeSeconds("tk.target_resolution"), s.wholeSeconds("tk.created_at")
	remaining := "(" + target + " - ?)"
	allowed := "(" + target + " - " + created + ")"
	age := "(? - " + created + ")"
	sql := "(CASE WHEN " + remaining + " <= 0 THEN 40 WHEN " + remaining + " < 7200 THEN 30 WHEN " + remaining + " < 28800 THEN 20 WHEN " + remaining + " < 86400 THEN 10 ELSE 0 END" +
		" + CASE WHEN " + allowed + " <= 0 THEN 30 WHEN " + allowed + " - " + remaining + " <= 0 THEN 0 WHEN " + remaining + " <= 0 THEN 30 ELSE (30 * (" + allowed + " - " + remaining + ")) / " + allowed + " END" +
		" + CASE tk.priority WHEN 'Urgent' THEN 15 WHEN 'High' THEN 10 WHEN 'Medium' THEN 5 ELSE 0 END" +
		" + CASE WHEN " + age + " >= 1209600 THEN 15 WHEN " + age + " >= 604800 THEN 10 WHEN " + age + " >= 259200 THEN 5 ELSE 0 END)"
	// The placeholders, in order: four remaining, three remaining in the
	// elapsed part, three ages.
	args := []any{now, now, now, now, now, now, now, now, now, now}
	return sql, args
}

// SLARisk scores every open task of f's scope that has an SLA target, as
// of the service's clock. The risk is about now, so f's range does not
// apply: a task opened long ago is the likeliest to be at risk.
func (s *Service) SLARisk(ctx context.Context, f Filter) (SLARiskReport, error) {
	f, err := s.bounds(f)
	if err != nil {
		return SLARiskReport{}, err
	}
	now := s.clock()
	out := SLARiskReport{Filter: f, At: now, Tasks: []RiskTask{}}
	score, args := s.riskScore(now.Unix())
	scored := func() *bun.SelectQuery {
		q := s.db.NewSelect().TableExpr("workflow_tasks AS tk").
			Where(openTask).Where("tk.target_resolution IS NOT NULL")
		return taskScope(q, "tk", f)
	}
	inner := scored().ColumnExpr(score+" AS score", args...)
	err = s.db.NewSelect().TableExpr("(?) AS r", inner).
		ColumnExpr("COUNT(*) AS open").
		ColumnExpr(countIf("r.score >= 70")+" AS high").
		ColumnExpr(countIf("r.score >= 40 AND r.score < 70")+" AS medium").
		ColumnExpr(countIf("r.score < 40")+" AS low").
		Scan(ctx, &out.Open, &out.High, &out.Medium, &out.Low)
	if err != nil {
		return SLARiskReport{}, fmt.Errorf("SLA risk levels: %w", err)
	}
	// The riskiest first: ranked on the columns of the open tasks' index
	// alone, and only those listed read from the table (subject, ticket).
	top := scored().ColumnExpr("tk.id AS id, tk.target_resolution AS target").ColumnExpr(score+" AS score", args...).
		OrderExpr("score DESC, tk.target_resolution, tk.id").Limit(listLimit)
	err = s.db.NewSelect().TableExpr("(?) AS r", top).Join("JOIN workflow_tasks AS tk ON tk.id = r.id").
		ColumnExpr("tk.id AS task_id, tk.ticket_id, tk.subject, tk.workflow_id, tk.priority, tk.created_at, tk.target_resolution, r.score").
		OrderExpr("r.score DESC, r.target, r.id").Scan(ctx, &out.Tasks)
	if err != nil {
		return SLARiskReport{}, fmt.Errorf("SLA risk tasks: %w", err)
	}
	for i := range out.Tasks {
		out.Tasks[i].Level = RiskLevel(out.Tasks[i].Score)
	}
	return out, nil
}

// DayAnomaly is a day whose ticket volume is far from the week before it.
type DayAnomaly struct {
	Date string `json:"date"`
	Anomaly
}

// IdleTask is an open task nobody changed for IdleAfter or longer.
type IdleTask struct {
	TaskID     int64     `json:"task_id" bun:"task_id"`
	TicketID   string    `json:"ticket_id" bun:"ticket_id"`
	Subject    string    `json:"subject" bun:"subject"`
	WorkflowID int64     `json:"workflow_id" bun:"workflow_id"`
	Status     string    `json:"status" bun:"status"`
	UpdatedAt  time.Time `json:"updated_at" bun:"updated_at"`
}

// EscalationSpike is a day with more than twice the average escalations.
type EscalationSpike struct {
	Date         string  `json:"date"`
	Escalations  int     `json:"escalations"`
	DailyAverage float64 `json:"daily_average"`
}

// AnomalyReport is what is unusual in f's range: days of unusual ticket
// volume (Anomalies), idle open tasks, days of unusual escalations
// (EscalationSpikes). Days are the whole days counted back from the end
// of the range.
type AnomalyReport struct {
	Filter Filter `json:"filter"`
	// VolumeAnomalies is the days more than 2σ from the mean of the seven
	// days before them.
	VolumeAnomalies []DayAnomaly `json:"volume_anomalies"`
	// IdleTasks counts the open tasks of the scope not changed for
	// IdleDays days (whatever the range), listing the 20 longest idle.
	IdleTasks struct {
		Count    int        `json:"count"`
		IdleDays int        `json:"idle_days"`
		Tasks    []IdleTask `json:"tasks"`
	} `json:"idle_tasks"`
	EscalationSpikes []EscalationSpike `json:"escalation_spikes"`
}

// Anomalies returns the anomaly report of f.
func (s *Service) Anomalies(ctx context.Context, f Filter) (AnomalyReport, error) {
	f, err := s.bounds(f)
	if err != nil {
		return AnomalyReport{}, err
	}
	out := AnomalyReport{Filter: f, VolumeAnomalies: []DayAnomaly{}, EscalationSpikes: []EscalationSpike{}}
	w := windowsOf(f, 24*time.Hour)
	volume, _, err := s.series(ctx, ticketScope(s.db.NewSelect().TableExpr("tickets AS t"), "t", f), "t.created_at", "COUNT(*)", w)
	if err != nil {
		return AnomalyReport{}, fmt.Errorf("daily volume: %w", err)
	}
	for _, a := range Anomalies(volume) {
		out.VolumeAnomalies = append(out.VolumeAnomalies, DayAnomaly{Date: w.at(a.Index).Format(time.RFC3339), Anomaly: a})
	}
	idleBefore := s.clock().Add(-IdleAfter)
	idle := func() *bun.SelectQuery {
		q := s.db.NewSelect().TableExpr("workflow_tasks AS tk").Where(openTask).Where("tk.updated_at < ?", idleBefore)
		return taskScope(q, "tk", f)
	}
	out.IdleTasks.IdleDays = int(IdleAfter / (24 * time.Hour))
	out.IdleTasks.Tasks = []IdleTask{}
	count, err := idle().Count(ctx)
	if err != nil {
		return AnomalyReport{}, fmt.Errorf("idle tasks: %w", err)
	}
	out.IdleTasks.Count = int(count)
	err = idle().ColumnExpr("tk.id AS task_id, tk.ticket_id, tk.subject, tk.workflow_id, tk.status, tk.updated_at").
		OrderExpr("tk.updated_at, tk.id").Limit(listLimit).Scan(ctx, &out.IdleTasks.Tasks)
	if err != nil {
		return AnomalyReport{}, fmt.Errorf("idle tasks: %w", err)
	}
	eq := assignments(s.db, f).Where("ti.origin = 'Escalation'")
	escalations, _, err := s.series(ctx, eq, "ti.assigned_at", "COUNT(*)", w)
	if err != nil {
		return AnomalyReport{}, fmt.Errorf("daily escalations: %w", err)
	}
	avg := Mean(escalations)
	for _, i := range EscalationSpikes(escalations) {
		out.EscalationSpikes = append(out.EscalationSpikes, EscalationSpike{Date: w.at(i).Format(time.RFC3339), Escalations: int(escalations[i]), DailyAverage: avg})
	}
	return out, nil
}

// WorkflowHealth is the health of one workflow, or of all (WorkflowID 0).
type WorkflowHealth struct {
	WorkflowID int64  `json:"workflow_id" bun:"workflow_id"`
	Name       string `json:"name" bun:"name"`
	Department string `json:"department" bun:"department"`
	// Open is its open tasks now; Overdue those past their target; Idle
	// those unchanged for IdleAfter.
	Open    int `json:"open" bun:"open"`
	Overdue int `json:"overdue" bun:"overdue"`
	Idle    int `json:"idle" bun:"idle"`
	// Troubled is the open tasks overdue, idle or both.
	Troubled int `json:"-" bun:"troubled"`
	// Met and Breached count the tasks created in the range by their SLA
	// outcome (workflow.Compliance); ComplianceRate is Met/(Met+Breached),
	// null when none is decided.
	Met            int      `json:"met" bun:"met"`
	Breached       int      `json:"breached" bun:"breached"`
	ComplianceRate *float64 `json:"compliance_rate" bun:"-"`
	// Resolved is the tasks resolved in the range, AvgResolutionHours
	// their mean time from creation (null without any).
	Resolved           int      `json:"resolved" bun:"resolved"`
	AvgResolutionHours *float64 `json:"avg_resolution_hours" bun:"avg_resolution_hours"`
	// Status is HealthStatus of the compliance rate and the troubled
	// share of the open tasks.
	Status string `json:"status" bun:"-"`
}

// ServiceHealthReport is the health of the whole service and of each
// workflow in f's scope.
type ServiceHealthReport struct {
	Filter    Filter           `json:"filter"`
	Overall   WorkflowHealth   `json:"overall"`
	Workflows []WorkflowHealth `json:"workflows"`
}

// ServiceHealth returns the health of f's workflows: open, overdue and
// idle tasks now, SLA compliance and resolution time in f's range.
func (s *Service) ServiceHealth(ctx context.Context, f Filter) (ServiceHealthReport, error) {
	f, err := s.bounds(f)
	if err != nil {
		return ServiceHealthReport{}, err
	}
	now := s.clock()
	idleBefore := now.Add(-IdleAfter)
	out := ServiceHealthReport{Filter: f, Workflows: []WorkflowHealth{}}
	// Three reads, each of one set of tasks from its own index alone (the
	// open ones now, those created in the range, those resolved in it),
	// merged by workflow. One read of their union (open OR created OR
	// resolved) had to visit the table for each row: 0.8 s at a million
	// tickets.
	perWorkflow := func() *bun.SelectQuery {
		q := s.db.NewSelect().TableExpr("workflow_tasks AS tk").Join("JOIN workflow_workflows AS w ON w.id = tk.workflow_id").
			ColumnExpr("tk.workflow_id AS workflow_id, MAX(w.name) AS name, MAX(w.department) AS department").
			GroupExpr("tk.workflow_id")
		return taskScope(q, "tk", f)
	}
	open := perWorkflow().Where(openTask).
		ColumnExpr("COUNT(*) AS open").
		ColumnExpr(countIf("tk.target_resolution < ?")+" AS overdue", now).
		ColumnExpr(countIf("tk.updated_at < ?")+" AS idle", idleBefore).
		ColumnExpr(countIf("tk.target_resolution < ? OR tk.updated_at < ?")+" AS troubled", now, idleBefore)
	created := within(perWorkflow(), "tk.created_at", f).
		ColumnExpr(countIf(slaMet)+" AS met").
		ColumnExpr(countIf(slaBreached)+" AS breached", now)
	resolved := within(perWorkflow(), "tk.resolved_at", f).
		ColumnExpr("COUNT(*) AS resolved").
		ColumnExpr("AVG(" + s.seconds("tk.resolved_at", "tk.created_at") + ") / 3600.0 AS avg_resolution_hours")
	byID := map[int64]*WorkflowHealth{}
	for _, part := range []struct {
		what string
		q    *bun.SelectQuery
	}{{"open tasks", open}, {"tasks created", created}, {"tasks resolved", resolved}} {
		var rows []WorkflowHealth
		if err := part.q.Scan(ctx, &rows); err != nil {
			return ServiceHealthReport{}, fmt.Errorf("service health, %s: %w", part.what, err)
		}
		// Each figure comes from one of the reads, zero in the others.
		for _, r := range rows {
			h := byID[r.WorkflowID]
			if h == nil {
				h = &WorkflowHealth{WorkflowID: r.WorkflowID, Name: r.Name, Department: r.Department}
				byID[r.WorkflowID] = h
			}
			h.addCounts(r)
			if r.AvgResolutionHours != nil {
				h.AvgResolutionHours = r.AvgResolutionHours
			}
		}
	}
	for _, h := range byID {
		out.Workflows = append(out.Workflows, *h)
	}
	slices.SortFunc(out.Workflows, func(a, b WorkflowHealth) int { return cmp.Compare(a.WorkflowID, b.WorkflowID) })
	all := &out.Overall
	all.Name = "all"
	var hours float64
	for i := range out.Workflows {
		h := &out.Workflows[i]
		if h.AvgResolutionHours != nil {
			*h.AvgResolutionHours = roundHours(*h.AvgResolutionHours)
		}
		finishHealth(h)
		all.addCounts(*h)
		if h.AvgResolutionHours != nil {
			hours += *h.AvgResolutionHours * float64(h.Resolved)
		}
	}
	if all.Resolved > 0 {
		avg := roundHours(hours / float64(all.Resolved))
		all.AvgResolutionHours = &avg
	}
	finishHealth(all)
	return out, nil
}

// addCounts adds the task counts of o (not its averages or rates) to h.
func (h *WorkflowHealth) addCounts(o WorkflowHealth) {
	h.Open += o.Open
	h.Overdue += o.Overdue
	h.Idle += o.Idle
	h.Troubled += o.Troubled
	h.Met += o.Met
	h.Breached += o.Breached
	h.Resolved += o.Resolved
}

// roundHours rounds a number of hours to 1e-7 hour (0.36 ms): SQLite's julianday arithmetic leaves
// errors in the last digits that PostgreSQL's exact epoch does not, and
// the two databases should give the same answer.
func roundHours(h float64) float64 {
	return math.Round(h*1e7) / 1e7
}

// finishHealth fills in the compliance rate and status of h from its
// counts.
func finishHealth(h *WorkflowHealth) {
	if decided := h.Met + h.Breached; decided > 0 {
		r := float64(h.Met) / float64(decided)
		h.ComplianceRate = &r
	}
	h.Status = HealthStatus(h.ComplianceRate, h.Open, h.Troubled)
}

// Operational is the operational insights summary: the headline of each
// insight.
type Operational struct {
	Filter Filter    `json:"filter"`
	At     time.Time `json:"at"`
	// Health is the whole service's (ServiceHealth's overall).
	Health WorkflowHealth `json:"health"`
	// TicketsCreated is the tickets created in the range.
	TicketsCreated int `json:"tickets_created"`
	// SLARisk counts the open tasks by risk level.
	SLARisk struct {
		High   int `json:"high"`
		Medium int `json:"medium"`
		Low    int `json:"low"`
	} `json:"sla_risk"`
	IdleTasks        int `json:"idle_tasks"`
	VolumeAnomalies  int `json:"volume_anomalies"`
	EscalationSpikes int `json:"escalation_spikes"`
	// BusiestUsers is the five people holding the most open assignments.
	BusiestUsers []UserLoad `json:"busiest_users"`
}

// Operational returns the operational insights summary of f.
func (s *Service) Operational(ctx context.Context, f Filter) (Operational, error) {
	f, err := s.bounds(f)
	if err != nil {
		return Operational{}, err
	}
	out := Operational{Filter: f, At: s.clock()}
	health, err := s.ServiceHealth(ctx, f)
	if err != nil {
		return Operational{}, err
	}
	out.Health = health.Overall
	risk, err := s.SLARisk(ctx, f)
	if err != nil {
		return Operational{}, err
	}
	out.SLARisk.High, out.SLARisk.Medium, out.SLARisk.Low = risk.High, risk.Medium, risk.Low
	anomalies, err := s.Anomalies(ctx, f)
	if err != nil {
		return Operational{}, err
	}
	out.IdleTasks, out.VolumeAnomalies, out.EscalationSpikes = anomalies.IdleTasks.Count, len(anomalies.VolumeAnomalies), len(anomalies.EscalationSpikes)
	load, err := s.Workload(ctx, f)
	if err != nil {
		return Operational{}, err
	}
	out.BusiestUsers = load.Users[:min(5, len(load.Users))]
	q := within(s.db.NewSelect().TableExpr("tickets AS t"), "t.created_at", f)
	created, err := ticketScope(q, "t", f).Count(ctx)
	if err != nil {
		return Operational{}, fmt.Errorf("tickets created: %w", err)
	}
	out.TicketsCreated = int(created)
	return out, nil
}
