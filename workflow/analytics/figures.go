package analytics

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/internal/store"
)

// SLA is how the tasks of a figure fared against their SLA, judged at the
// service's clock, by the definitions of workflow.Service.SLACompliance.
type SLA struct {
	// Total counts every task (or ticket) of the figure.
	Total int `json:"total"`
	// Met is those resolved at or before their target.
	Met int `json:"met"`
	// Breached is those resolved after their target, and those not
	// resolved whose target has passed.
	Breached int `json:"breached"`
	// Open is those not resolved whose target has not passed.
	Open int `json:"open"`
	// NoSLA is those without a target (a ticket without a task too).
	NoSLA int `json:"no_sla"`
	// Rate is ComplianceRate(Met, Breached), in percent; null when nothing
	// is decided.
	Rate *float64 `json:"rate"`
}

// slaCounts is what an aggregate query counts for an SLA; embed it in a
// row and select slaColumns.
type slaCounts struct {
	Total    int `bun:"total"`
	Met      int `bun:"met"`
	Breached int `bun:"breached"`
	NoSLA    int `bun:"no_sla"`
}

func (c slaCounts) sla() SLA {
	return SLA{Total: c.Total, Met: c.Met, Breached: c.Breached, NoSLA: c.NoSLA,
		Open: c.Total - c.Met - c.Breached - c.NoSLA, Rate: ComplianceRate(c.Met, c.Breached)}
}

// slaColumns selects the slaCounts of the rows of q, whose tasks are
// aliased tk (joined LEFT to tickets, a ticket without a task has no SLA),
// judged at now.
func slaColumns(q *bun.SelectQuery, now time.Time) *bun.SelectQuery {
	return q.ColumnExpr("COUNT(*) AS total").
		ColumnExpr(countIf(slaMet)+" AS met").
		ColumnExpr(countIf(slaBreached)+" AS breached", now).
		ColumnExpr(countIf(slaNone) + " AS no_sla")
}

// scan runs q into dst, naming what failed.
func scan(ctx context.Context, q *bun.SelectQuery, what string, dst ...any) error {
	if err := q.Scan(ctx, dst...); err != nil {
		return fmt.Errorf("analytics %s: %w", what, store.Translate(err))
	}
	return nil
}

// bucketCount is one bucket of a per-bucket count.
type bucketCount struct {
	Bucket string `bun:"bucket"`
	N      int    `bun:"n"`
}

// dense spreads per-bucket counts over labels, 0 where a bucket has no row.
func dense(labels []string, rows []bucketCount) []int {
	at := make(map[string]int, len(rows))
	for _, r := range rows {
		at[r.Bucket] = r.N
	}
	out := make([]int, len(labels))
	for i, l := range labels {
		out[i] = at[l]
	}
	return out
}

// ticketsCreated counts the tickets of f created in each bucket of iv.
func (s *Service) ticketsCreated(ctx context.Context, f Filter, iv Interval) ([]bucketCount, error) {
	var rows []bucketCount
	b := s.bucket("t.created_at", iv)
	q := s.db.NewSelect().TableExpr("tickets AS t").ColumnExpr(b + " AS bucket").ColumnExpr("COUNT(*) AS n")
	q = ticketScope(within(q, "t.created_at", f), "t", f).GroupExpr(b)
	return rows, scan(ctx, q, "tickets created", &rows)
}

// ticketsResolved counts the tickets of f (whenever created) whose task
// was resolved in each bucket of iv.
func (s *Service) ticketsResolved(ctx context.Context, f Filter, iv Interval) ([]bucketCount, error) {
	var rows []bucketCount
	b := s.bucket("tk.resolved_at", iv)
	q := s.db.NewSelect().TableExpr("tickets AS t").Join("JOIN workflow_tasks AS tk ON tk.id = t.task_id").
		ColumnExpr(b + " AS bucket").ColumnExpr("COUNT(*) AS n")
	q = ticketScope(within(q, "tk.resolved_at", f), "t", f).GroupExpr(b)
	return rows, scan(ctx, q, "tickets resolved", &rows)
}
