package workflow

import (
	"context"
	"fmt"
	"time"

	"github.com/bugflow/bugflow/errs"
)

// Compliance is how the tasks created in a time range fared against their
// SLA, from stored facts only. Unlike the system behind seeds/004, which
// counts a task without a resolution time as "met", a task that is not
// resolved is Open until its target passes, and Breached after.
type Compliance struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// At is the clock reading the open tasks were judged at.
	At time.Time `json:"at"`
	// Total is every task created in [From, To).
	Total int `json:"total"`
	// Met is the tasks resolved at or before their target.
	Met int `json:"met"`
	// Breached is the tasks resolved after their target, and those not
	// resolved whose target has passed (marked by the check or not yet).
	Breached int `json:"breached"`
	// Open is the tasks not resolved whose target has not passed.
	Open int `json:"open"`
	// NoSLA is the tasks without a target (their workflow had no SLA for
	// their priority); they count in none of the others.
	NoSLA int `json:"no_sla"`
	// Rate is Met / (Met + Breached): the share of decided tasks that met
	// their SLA; nil when none is decided, never a guess.
	Rate *float64 `json:"rate"`
}

// ComplianceCounts is what the store counts for Compliance.
type ComplianceCounts struct {
	Total, Met, Breached, NoSLA int
}

// SLACompliance returns the SLA compliance of the tasks created in
// [from, to) of one workflow (every workflow when workflowID is 0), judged
// at the service's clock. A range that ends before it starts is Invalid.
func (s *Service) SLACompliance(ctx context.Context, workflowID int64, from, to time.Time) (Compliance, error) {
	if !to.After(from) {
		return Compliance{}, errs.InvalidField("to", "must be after from")
	}
	now := s.now()
	c, err := s.store.ComplianceCounts(ctx, workflowID, from.UTC(), to.UTC(), now)
	if err != nil {
		return Compliance{}, fmt.Errorf("SLA compliance: %w", err)
	}
	out := Compliance{From: from.UTC(), To: to.UTC(), At: now, Total: c.Total, Met: c.Met, Breached: c.Breached, NoSLA: c.NoSLA,
		Open: c.Total - c.Met - c.Breached - c.NoSLA}
	if decided := c.Met + c.Breached; decided > 0 {
		r := float64(c.Met) / float64(decided)
		out.Rate = &r
	}
	return out, nil
}
