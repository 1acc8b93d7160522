package analytics

import (
	"context"
)

// TicketTrends is ticket volume over time (GET /analytics/ticket-trends/).
type TicketTrends struct {
	Filters  Filter          `json:"filters"`
	Interval Interval        `json:"interval"`
	Points   []TicketVolume  `json:"points"`
	Totals   TicketVolumeSum `json:"totals"`
}

// TicketVolume is one bucket of TicketTrends.
type TicketVolume struct {
	// Date is the first day of the bucket, YYYY-MM-DD (UTC).
	Date string `json:"date"`
	// Created counts the tickets created in the bucket.
	Created int `json:"created"`
	// Resolved counts the tickets whose task was resolved in the bucket,
	// whenever they were created.
	Resolved int `json:"resolved"`
}

// TicketVolumeSum is the sum of TicketTrends' points.
type TicketVolumeSum struct {
	Created  int `json:"created"`
	Resolved int `json:"resolved"`
}

// TicketTrends counts the tickets created and resolved in each bucket of
// the range, one point per bucket (0 where nothing happened).
func (s *Service) TicketTrends(ctx context.Context, f Filter, iv Interval) (TicketTrends, error) {
	f, err := s.bounds(f)
	if err != nil {
		return TicketTrends{}, err
	}
	created, err := s.ticketsCreated(ctx, f, iv)
	if err != nil {
		return TicketTrends{}, err
	}
	resolved, err := s.ticketsResolved(ctx, f, iv)
	if err != nil {
		return TicketTrends{}, err
	}
	labels := iv.labels(f.From, f.To)
	c, r := dense(labels, created), dense(labels, resolved)
	out := TicketTrends{Filters: f, Interval: iv, Points: make([]TicketVolume, len(labels))}
	for i, l := range labels {
		out.Points[i] = TicketVolume{Date: l, Created: c[i], Resolved: r[i]}
		out.Totals.Created += c[i]
		out.Totals.Resolved += r[i]
	}
	return out, nil
}

// TaskItemTrends is task assignments over time (GET
// /analytics/task-item-trends/).
type TaskItemTrends struct {
	Filters  Filter            `json:"filters"`
	Interval Interval          `json:"interval"`
	Points   []AssignmentTrend `json:"points"`
}

// AssignmentTrend is one bucket of TaskItemTrends: the assignments made in
// it, by how they were made, and how many of those are resolved by now.
type AssignmentTrend struct {
	Date        string `json:"date"`
	Assigned    int    `json:"assigned"`
	System      int    `json:"system"`
	Transferred int    `json:"transferred"`
	Escalation  int    `json:"escalation"`
	Resolved    int    `json:"resolved"`
}

// TaskItemTrends counts the assignments (task items) made in each bucket
// of the range, by origin, for the tasks of f.
func (s *Service) TaskItemTrends(ctx context.Context, f Filter, iv Interval) (TaskItemTrends, error) {
	f, err := s.bounds(f)
	if err != nil {
		return TaskItemTrends{}, err
	}
	var rows []struct {
		Bucket      string `bun:"bucket"`
		Assigned    int    `bun:"assigned"`
		System      int    `bun:"system"`
		Transferred int    `bun:"transferred"`
		Escalation  int    `bun:"escalation"`
		Resolved    int    `bun:"resolved"`
	}
	b := s.bucket("ti.assigned_at", iv)
	q := assignments(s.db, f).ColumnExpr(b + " AS bucket").ColumnExpr("COUNT(*) AS assigned").
		ColumnExpr(countIf("ti.origin = 'System'") + " AS system").
		ColumnExpr(countIf("ti.origin = 'Transferred'") + " AS transferred").
		ColumnExpr(countIf("ti.origin = 'Escalation'") + " AS escalation").
		ColumnExpr(countIf("ti.status = 'resolved'") + " AS resolved")
	q = within(q, "ti.assigned_at", f).GroupExpr(b)
	if err := scan(ctx, q, "task item trends", &rows); err != nil {
		return TaskItemTrends{}, err
	}
	labels := iv.labels(f.From, f.To)
	at := make(map[string]int, len(rows))
	for i, r := range rows {
		at[r.Bucket] = i + 1
	}
	out := TaskItemTrends{Filters: f, Interval: iv, Points: make([]AssignmentTrend, len(labels))}
	for i, l := range labels {
		p := AssignmentTrend{Date: l}
		if j := at[l]; j > 0 {
			r := rows[j-1]
			p = AssignmentTrend{Date: l, Assigned: r.Assigned, System: r.System, Transferred: r.Transferred, Escalation: r.Escalation, Resolved: r.Resolved}
		}
		out.Points[i] = p
	}
	return out, nil
}

// TicketCategories is the category distribution of tickets (GET
// /analytics/ticket-categories/).
type TicketCategories struct {
	Filters Filter `json:"filters"`
	// Total counts every ticket of the range.
	Total int `json:"total"`
	// Categories are the MaxGroups largest, largest first.
	Categories []CategoryCount `json:"categories"`
}

// CategoryCount is one category of TicketCategories.
type CategoryCount struct {
	Category string  `json:"category"`
	Count    int     `json:"count"`
	Open     int     `json:"open"`
	Resolved int     `json:"resolved"`
	Share    float64 `json:"share"`
}

// MaxGroups bounds the groups (categories, workflows, departments, users,
// steps) a figure lists, so that an answer's size does not grow with the
// data.
const MaxGroups = 100

// TicketCategories counts the tickets of the range by category.
func (s *Service) TicketCategories(ctx context.Context, f Filter) (TicketCategories, error) {
	f, err := s.bounds(f)
	if err != nil {
		return TicketCategories{}, err
	}
	out := TicketCategories{Filters: f, Categories: []CategoryCount{}}
	q := ticketScope(within(s.db.NewSelect().TableExpr("tickets AS t").ColumnExpr("COUNT(*)"), "t.created_at", f), "t", f)
	if err := scan(ctx, q, "ticket count", &out.Total); err != nil {
		return TicketCategories{}, err
	}
	var rows []struct {
		Category string `bun:"category"`
		N        int    `bun:"n"`
		Resolved int    `bun:"resolved"`
	}
	q = s.db.NewSelect().TableExpr("tickets AS t").ColumnExpr("t.category AS category").ColumnExpr("COUNT(*) AS n").
		ColumnExpr(countIf("t.status = 'Resolved'") + " AS resolved")
	q = ticketScope(within(q, "t.created_at", f), "t", f).GroupExpr("t.category").OrderExpr("n DESC, category").Limit(MaxGroups)
	if err := scan(ctx, q, "ticket categories", &rows); err != nil {
		return TicketCategories{}, err
	}
	for _, r := range rows {
		out.Categories = append(out.Categories, CategoryCount{Category: r.Category, Count: r.N, Resolved: r.Resolved, Open: r.N - r.Resolved, Share: Share(r.N, out.Total)})
	}
	return out, nil
}
