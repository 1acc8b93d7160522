package analytics

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// ticketStatuses and priorities are listed in every distribution, in the
// order of a ticket's life and lowest first, 0 where none is.
var (
	ticketStatuses = []string{"New", "Open", "In Progress", "Resolved"}
	priorities     = []string{"Low", "Medium", "High", "Urgent"}
)

// ticketsWithTasks selects from the tickets of f created in the range,
// each with its task (tk, null columns for a ticket without one).
func (s *Service) ticketsWithTasks(f Filter) *bun.SelectQuery {
	q := s.db.NewSelect().TableExpr("tickets AS t").Join("LEFT JOIN workflow_tasks AS tk ON tk.id = t.task_id")
	return ticketScope(within(q, "t.created_at", f), "t", f)
}

// resolutionColumns selects the sum of the resolution times (creation of
// the ticket to resolution of its task, in seconds) and how many are
// resolved.
func (s *Service) resolutionColumns(q *bun.SelectQuery) *bun.SelectQuery {
	return q.ColumnExpr("COALESCE(SUM(CASE WHEN tk.resolved_at IS NOT NULL THEN " + s.seconds("tk.resolved_at", "t.created_at") + " END), 0.0) AS resolution_seconds").
		ColumnExpr(countIf("tk.resolved_at IS NOT NULL") + " AS resolved_tasks")
}

// Dashboard is the ticket KPI dashboard (GET /analytics/tickets/dashboard/).
type Dashboard struct {
	Filters Filter `json:"filters"`
	// At is the moment open tickets and SLAs were judged at.
	At              time.Time `json:"at"`
	TotalTickets    int       `json:"total_tickets"`
	OpenTickets     int       `json:"open_tickets"`
	ResolvedTickets int       `json:"resolved_tickets"`
	// ResolutionRate is Percent(resolved, total).
	ResolutionRate *float64 `json:"resolution_rate"`
	// AvgResolutionHours is AverageHours over the resolved tickets, from
	// the ticket's creation to its task's resolution.
	AvgResolutionHours *float64 `json:"avg_resolution_hours"`
	// SLA is the compliance of the tickets' tasks.
	SLA SLA `json:"sla"`
	// Series has one point per day of the range: what the SVG chart draws.
	Series []DashboardPoint `json:"series"`
}

// DashboardPoint is one day of the dashboard.
type DashboardPoint struct {
	Date string `json:"date"`
	// Created counts the tickets created that day.
	Created int `json:"created"`
	// OpenBacklog counts the tickets open at the end of the day (created
	// by then, their task not resolved by then), whenever created.
	OpenBacklog int `json:"open_backlog"`
	// SLACompliance is the ComplianceRate of the tickets created that day,
	// judged at At; null when none of them is decided.
	SLACompliance *float64 `json:"sla_compliance"`
}

// Dashboard computes the ticket KPIs of the range and its daily series.
func (s *Service) Dashboard(ctx context.Context, f Filter) (Dashboard, error) {
	f, err := s.bounds(f)
	if err != nil {
		return Dashboard{}, err
	}
	now := s.clock()
	// One pass over the range's tickets, by day: the KPIs are the sums of
	// the days (each ticket is in exactly one), so the range is not read
	// twice.
	var days []struct {
		slaCounts
		Bucket            string  `bun:"bucket"`
		Open              int     `bun:"open"`
		Resolved          int     `bun:"resolved"`
		ResolutionSeconds float64 `bun:"resolution_seconds"`
		ResolvedTasks     int     `bun:"resolved_tasks"`
	}
	b := s.bucket("t.created_at", Day)
	q := s.resolutionColumns(slaColumns(s.ticketsWithTasks(f), now)).
		ColumnExpr(countIf("t.status <> 'Resolved'") + " AS open").
		ColumnExpr(countIf("t.status = 'Resolved'") + " AS resolved").
		ColumnExpr(b + " AS bucket").GroupExpr(b)
	if err := scan(ctx, q, "dashboard", &days); err != nil {
		return Dashboard{}, err
	}
	var k slaCounts
	var open, resolvedTickets, resolvedTasks int
	var resolutionSeconds float64
	for _, d := range days {
		k.Total += d.Total
		k.Met += d.Met
		k.Breached += d.Breached
		k.NoSLA += d.NoSLA
		open += d.Open
		resolvedTickets += d.Resolved
		resolutionSeconds += d.ResolutionSeconds
		resolvedTasks += d.ResolvedTasks
	}
	out := Dashboard{Filters: f, At: now, TotalTickets: k.Total, OpenTickets: open, ResolvedTickets: resolvedTickets,
		ResolutionRate: Percent(resolvedTickets, k.Total), AvgResolutionHours: AverageHours(resolutionSeconds, resolvedTasks), SLA: k.sla()}

	// The series: the days above, per day resolutions of any ticket, and
	// the backlog the range starts with.
	resolved, err := s.ticketsResolved(ctx, f, Day)
	if err != nil {
		return Dashboard{}, err
	}
	var start int
	q = s.db.NewSelect().TableExpr("tickets AS t").Join("LEFT JOIN workflow_tasks AS tk ON tk.id = t.task_id").
		ColumnExpr("COUNT(*)").Where("t.created_at < ?", f.From).WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("tk.resolved_at IS NULL").WhereOr("tk.resolved_at >= ?", f.From)
	})
	if err := scan(ctx, ticketScope(q, "t", f), "open backlog", &start); err != nil {
		return Dashboard{}, err
	}
	labels := Day.labels(f.From, f.To)
	created := make([]int, len(labels))
	rates := make([]*float64, len(labels))
	at := make(map[string]int, len(labels))
	for i, l := range labels {
		at[l] = i
	}
	for _, d := range days {
		if i, ok := at[d.Bucket]; ok {
			created[i] = d.Total
			rates[i] = ComplianceRate(d.Met, d.Breached)
		}
	}
	backlog := Backlog(start, created, dense(labels, resolved))
	out.Series = make([]DashboardPoint, len(labels))
	for i, l := range labels {
		out.Series[i] = DashboardPoint{Date: l, Created: created[i], OpenBacklog: backlog[i], SLACompliance: rates[i]}
	}
	return out, nil
}

// Distribution counts the items of a range by one attribute (GET
// /analytics/tickets/status/, /analytics/tasks/status/,
// /analytics/tasks/origin/).
type Distribution struct {
	Filters Filter       `json:"filters"`
	Total   int          `json:"total"`
	Groups  []GroupCount `json:"groups"`
}

// GroupCount is one value of a Distribution.
type GroupCount struct {
	Name  string  `json:"name"`
	Count int     `json:"count"`
	Share float64 `json:"share"`
}

// distribution groups q's rows by the column expression by and lists
// every one of names (0 where none is) in their order.
func distribution(ctx context.Context, f Filter, q *bun.SelectQuery, by string, names []string) (Distribution, error) {
	var rows []struct {
		Name string `bun:"name"`
		N    int    `bun:"n"`
	}
	q = q.ColumnExpr(by + " AS name").ColumnExpr("COUNT(*) AS n").GroupExpr(by)
	if err := scan(ctx, q, "distribution", &rows); err != nil {
		return Distribution{}, err
	}
	counts := make(map[string]int, len(rows))
	out := Distribution{Filters: f}
	for _, r := range rows {
		counts[r.Name] = r.N
		out.Total += r.N
	}
	for _, n := range names {
		out.Groups = append(out.Groups, GroupCount{Name: n, Count: counts[n], Share: Share(counts[n], out.Total)})
	}
	return out, nil
}

// TicketStatus counts the tickets created in the range by status.
func (s *Service) TicketStatus(ctx context.Context, f Filter) (Distribution, error) {
	f, err := s.bounds(f)
	if err != nil {
		return Distribution{}, err
	}
	q := ticketScope(within(s.db.NewSelect().TableExpr("tickets AS t"), "t.created_at", f), "t", f)
	return distribution(ctx, f, q, "t.status", ticketStatuses)
}

// TicketPriorities is the priority distribution of tickets (GET
// /analytics/tickets/priority/).
type TicketPriorities struct {
	Filters    Filter          `json:"filters"`
	Total      int             `json:"total"`
	Priorities []PriorityCount `json:"priorities"`
}

// PriorityCount is one priority of TicketPriorities.
type PriorityCount struct {
	Priority           string   `json:"priority"`
	Count              int      `json:"count"`
	Open               int      `json:"open"`
	Resolved           int      `json:"resolved"`
	Share              float64  `json:"share"`
	AvgResolutionHours *float64 `json:"avg_resolution_hours"`
}

// TicketPriority counts the tickets created in the range by priority,
// with their resolution times.
func (s *Service) TicketPriority(ctx context.Context, f Filter) (TicketPriorities, error) {
	f, err := s.bounds(f)
	if err != nil {
		return TicketPriorities{}, err
	}
	var rows []struct {
		Priority          string  `bun:"priority"`
		N                 int     `bun:"n"`
		Resolved          int     `bun:"resolved"`
		ResolutionSeconds float64 `bun:"resolution_seconds"`
		ResolvedTasks     int     `bun:"resolved_tasks"`
	}
	q := s.resolutionColumns(s.ticketsWithTasks(f)).ColumnExpr("t.priority AS priority").ColumnExpr("COUNT(*) AS n").
		ColumnExpr(countIf("t.status = 'Resolved'") + " AS resolved").GroupExpr("t.priority")
	if err := scan(ctx, q, "ticket priorities", &rows); err != nil {
		return TicketPriorities{}, err
	}
	out := TicketPriorities{Filters: f}
	for _, r := range rows {
		out.Total += r.N
	}
	for _, p := range priorities {
		pc := PriorityCount{Priority: p}
		for _, r := range rows {
			if r.Priority == p {
				pc = PriorityCount{Priority: p, Count: r.N, Resolved: r.Resolved, Open: r.N - r.Resolved,
					AvgResolutionHours: AverageHours(r.ResolutionSeconds, r.ResolvedTasks)}
			}
		}
		pc.Share = Share(pc.Count, out.Total)
		out.Priorities = append(out.Priorities, pc)
	}
	return out, nil
}

// TicketAges is the age distribution of open tickets (GET
// /analytics/tickets/age/).
type TicketAges struct {
	Filters Filter    `json:"filters"`
	At      time.Time `json:"at"`
	// OpenTickets counts the tickets created in the range that are not
	// resolved at At.
	OpenTickets     int          `json:"open_tickets"`
	AverageAgeHours *float64     `json:"average_age_hours"`
	Brackets        []AgeBracket `json:"brackets"`
}

// AgeBracket is one bracket of TicketAges: open tickets whose age at At is
// in [MinHours, MaxHours) (no upper bound when MaxHours is null).
type AgeBracket struct {
	Bracket  string `json:"bracket"`
	MinHours int    `json:"min_hours"`
	MaxHours *int   `json:"max_hours"`
	Count    int    `json:"count"`
}

// ageBrackets are the brackets of TicketAges, by their lower bound in
// hours; the last has no upper bound.
var ageBrackets = []struct {
	name     string
	minHours int
}{{"0-24h", 0}, {"1-3d", 24}, {"3-7d", 72}, {"7-30d", 168}, {"30d+", 720}}

// TicketAge counts the open tickets created in the range by their age at
// the service's clock.
func (s *Service) TicketAge(ctx context.Context, f Filter) (TicketAges, error) {
	f, err := s.bounds(f)
	if err != nil {
		return TicketAges{}, err
	}
	now := s.clock()
	q := ticketScope(within(s.db.NewSelect().TableExpr("tickets AS t"), "t.created_at", f), "t", f).
		Where("t.status <> 'Resolved'").ColumnExpr("COUNT(*) AS n").
		ColumnExpr("COALESCE(SUM(" + s.epoch("t.created_at") + "), 0.0) AS created_sum")
	// A ticket of age in [lo, hi) was created in (now-hi, now-lo].
	for i, b := range ageBrackets {
		cond := "t.created_at <= ?"
		args := []any{now.Add(-time.Duration(b.minHours) * time.Hour)}
		if i+1 < len(ageBrackets) {
			cond += " AND t.created_at > ?"
			args = append(args, now.Add(-time.Duration(ageBrackets[i+1].minHours)*time.Hour))
		}
		q = q.ColumnExpr(countIf(cond)+" AS b"+string(rune('0'+i)), args...)
	}
	var row struct {
		N          int     `bun:"n"`
		CreatedSum float64 `bun:"created_sum"`
		B0         int     `bun:"b0"`
		B1         int     `bun:"b1"`
		B2         int     `bun:"b2"`
		B3         int     `bun:"b3"`
		B4         int     `bun:"b4"`
	}
	if err := scan(ctx, q, "ticket ages", &row); err != nil {
		return TicketAges{}, err
	}
	counts := []int{row.B0, row.B1, row.B2, row.B3, row.B4}
	out := TicketAges{Filters: f, At: now, OpenTickets: row.N,
		AverageAgeHours: AverageAgeHours(float64(now.UnixMicro())/1e6, row.CreatedSum, row.N)}
	for i, b := range ageBrackets {
		br := AgeBracket{Bracket: b.name, MinHours: b.minHours, Count: counts[i]}
		if i+1 < len(ageBrackets) {
			hi := ageBrackets[i+1].minHours
			br.MaxHours = &hi
		}
		out.Brackets = append(out.Brackets, br)
	}
	return out, nil
}

// TicketSLAs is the SLA compliance of tickets (GET /analytics/tickets/sla/).
type TicketSLAs struct {
	Filters    Filter        `json:"filters"`
	At         time.Time     `json:"at"`
	Overall    SLA           `json:"overall"`
	ByPriority []PrioritySLA `json:"by_priority"`
}

// PrioritySLA is the compliance of one priority's tickets.
type PrioritySLA struct {
	Priority string `json:"priority"`
	SLA
}

// TicketSLA computes the SLA compliance of the tickets created in the
// range, overall and by priority, judged at the service's clock.
func (s *Service) TicketSLA(ctx context.Context, f Filter) (TicketSLAs, error) {
	f, err := s.bounds(f)
	if err != nil {
		return TicketSLAs{}, err
	}
	now := s.clock()
	var rows []struct {
		slaCounts
		Priority string `bun:"priority"`
	}
	q := slaColumns(s.ticketsWithTasks(f), now).ColumnExpr("t.priority AS priority").GroupExpr("t.priority")
	if err := scan(ctx, q, "ticket SLA", &rows); err != nil {
		return TicketSLAs{}, err
	}
	out := TicketSLAs{Filters: f, At: now}
	var all slaCounts
	for _, p := range priorities {
		ps := PrioritySLA{Priority: p, SLA: slaCounts{}.sla()}
		for _, r := range rows {
			if r.Priority == p {
				ps.SLA = r.sla()
				all.Total += r.Total
				all.Met += r.Met
				all.Breached += r.Breached
				all.NoSLA += r.NoSLA
			}
		}
		out.ByPriority = append(out.ByPriority, ps)
	}
	out.Overall = all.sla()
	return out, nil
}
