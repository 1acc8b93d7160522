package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// The seeded history: four deployed workflows of three steps each, fifty
// users, tickets spread evenly over the year before the clock.
var seedWorkflows = []struct{ name, department, category string }{
	{"Bench Network", "IT", "Network"},
	{"Bench Payroll", "HR", "Payroll"},
	{"Bench Invoices", "Finance", "Invoices"},
	{"Bench Repairs", "Facilities", "Repairs"},
}

const (
	seedUsers   = 50
	seedHistory = 365 * 24 * time.Hour
)

// seedSLA is the SLA of each priority of every seeded workflow.
var seedSLA = map[string]time.Duration{"Urgent": 4 * time.Hour, "High": 24 * time.Hour, "Medium": 72 * time.Hour, "Low": 168 * time.Hour}

// seed empties the workflow and ticket tables of the database at url and
// fills them with n tickets, their tasks and their assignments, by COPY.
// It returns the ids of the workflows (for the drill-downs).
func seed(ctx context.Context, url string, n int, now time.Time) ([]int64, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `TRUNCATE tickets, workflow_task_logs, workflow_task_items, workflow_tasks, workflow_transitions, workflow_steps, workflow_workflows RESTART IDENTITY CASCADE`); err != nil {
		return nil, fmt.Errorf("truncate: %w", err)
	}
	// Steps of workflow w are ids 3w+1 (start), 3w+2, 3w+3 (end).
	var wfIDs []int64
	for w, wf := range seedWorkflows {
		var id int64
		err := conn.QueryRow(ctx, `INSERT INTO workflow_workflows (name, name_key, description, category, sub_category, department, status,
			low_sla_seconds, medium_sla_seconds, high_sla_seconds, urgent_sla_seconds, created_at, updated_at)
			VALUES ($1::text, lower($1::text), '', $2, '', $3, 'deployed', $4, $5, $6, $7, $8, $8) RETURNING id`,
			wf.name, wf.category, wf.department, int64(seedSLA["Low"].Seconds()), int64(seedSLA["Medium"].Seconds()),
			int64(seedSLA["High"].Seconds()), int64(seedSLA["Urgent"].Seconds()), now.Add(-seedHistory-24*time.Hour)).Scan(&id)
		if err != nil {
			return nil, fmt.Errorf("insert workflow: %w", err)
		}
		wfIDs = append(wfIDs, id)
		for s, name := range []string{"Triage", "Work", "Done"} {
			_, err := conn.Exec(ctx, `INSERT INTO workflow_steps (id, workflow_id, name, description, instruction, role_id, weight, step_order, is_start, is_end, design_x, design_y)
				VALUES ($1, $2, $3, '', '', 1, 0.5, $4, $5, $6, 0, 0)`, 3*w+s+1, id, name, s+1, s == 0, s == 2)
			if err != nil {
				return nil, fmt.Errorf("insert step: %w", err)
			}
		}
	}
	if _, err := conn.Exec(ctx, `SELECT setval(pg_get_serial_sequence('workflow_steps', 'id'), 100)`); err != nil {
		return nil, err
	}

	rng := rand.New(rand.NewPCG(16, uint64(n)))
	tasks := make([][]any, 0, 10000)
	tickets := make([][]any, 0, 10000)
	items := make([][]any, 0, 15000)
	flush := func() error {
		for _, c := range []struct {
			table string
			cols  []string
			rows  [][]any
		}{
			{"workflow_tasks", []string{"id", "workflow_id", "ticket_id", "subject", "description", "priority", "status", "current_step_id",
				"ticket_owner_id", "target_resolution", "search_text", "created_at", "updated_at", "resolved_at", "sla_level", "breached_at"}, tasks},
			{"tickets", []string{"ticket_id", "subject", "description", "category", "sub_category", "department", "priority", "status",
				"submitted_by", "owner_id", "task_id", "workflow_id", "created_at", "updated_at"}, tickets},
			{"workflow_task_items", []string{"task_id", "user_id", "username", "role_id", "role_name", "role_key", "step_id", "status",
				"origin", "notes", "target_resolution", "assigned_at", "acted_at", "sla_level"}, items},
		} {
			if _, err := conn.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
				return fmt.Errorf("copy %s: %w", c.table, err)
			}
		}
		tasks, tickets, items = tasks[:0], tickets[:0], items[:0]
		return nil
	}
	priorities := []string{"Low", "Low", "Low", "Low", "Medium", "Medium", "Medium", "High", "High", "Urgent"}
	for i := 1; i <= n; i++ {
		w := i % len(seedWorkflows)
		wf := seedWorkflows[w]
		created := now.Add(-time.Duration(rng.Int64N(int64(seedHistory)))).Truncate(time.Microsecond)
		priority := priorities[rng.IntN(len(priorities))]
		sla := seedSLA[priority]
		target := created.Add(sla)
		resolvedShare := 50
		if now.Sub(created) > 14*24*time.Hour {
			resolvedShare = 95
		}
		status, ticketStatus, step := "in progress", "In Progress", int64(3*w+2)
		var resolved, breached *time.Time
		updated := created.Add(time.Duration(rng.Int64N(int64(now.Sub(created)) + 1))).Truncate(time.Microsecond)
		switch r := rng.IntN(100); {
		case r < resolvedShare:
			at := created.Add(time.Duration(rng.Int64N(int64(2 * sla)))).Truncate(time.Microsecond)
			if at.After(now) {
				at = now
			}
			resolved, updated, status, ticketStatus, step = &at, at, "resolved", "Resolved", int64(3*w+3)
		case r < resolvedShare+(100-resolvedShare)/3:
			status, ticketStatus, step = "new", "Open", int64(3*w+1)
		}
		if resolved == nil && target.Before(now) {
			b := target.Add(time.Minute)
			breached = &b
		}
		user := fmt.Sprintf("u%d", 1+rng.IntN(seedUsers))
		owner := fmt.Sprintf("u%d", 1+rng.IntN(seedUsers))
		ticketID := fmt.Sprintf("TXB%09d", i)
		subject := fmt.Sprintf("%s request %d", wf.category, i)
		tasks = append(tasks, []any{int64(i), wfIDs[w], ticketID, subject, "seeded", priority, status, step,
			owner, target, subject, created, updated, resolved, 0, breached})
		tickets = append(tickets, []any{ticketID, subject, "seeded", wf.category, "", wf.department, priority, ticketStatus,
			"submitter", owner, int64(i), wfIDs[w], created, updated})
		// The first assignment, by round-robin; a fifth of the tasks were
		// then transferred or escalated.
		first := "resolved"
		if status == "new" {
			first = "new"
		} else if status == "in progress" {
			first = "in progress"
		}
		second := ""
		switch r := rng.IntN(10); {
		case r == 0:
			second, first = "Transferred", "reassigned"
		case r == 1:
			second, first = "Escalation", "escalated"
		}
		var acted any
		if first != "new" {
			acted = created.Add(30 * time.Minute)
		}
		items = append(items, []any{int64(i), user, user, int64(1), "Agent", "agent", int64(3*w + 1), first, "System", "", target, created, acted, 0})
		if second != "" {
			other := fmt.Sprintf("u%d", 1+rng.IntN(seedUsers))
			st := "in progress"
			if status == "resolved" {
				st = "resolved"
			}
			items = append(items, []any{int64(i), other, other, int64(1), "Agent", "agent", int64(3*w + 1), st, second, "moved", target, created.Add(time.Hour), nil, 0})
		}
		if len(tasks) == cap(tasks) {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	for _, stmt := range []string{
		`SELECT setval(pg_get_serial_sequence('workflow_tasks', 'id'), (SELECT COALESCE(MAX(id), 1) FROM workflow_tasks))`,
		// VACUUM as autovacuum would after a bulk load: it marks the pages
		// all-visible, without which no index-only scan skips the table.
		`VACUUM ANALYZE tickets`, `VACUUM ANALYZE workflow_tasks`, `VACUUM ANALYZE workflow_task_items`,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return wfIDs, nil
}

// seeded returns the id of the first seeded workflow (for the
// drill-downs) and how many tickets the database holds.
func seeded(ctx context.Context, url string) (wfID int64, tickets int, err error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, 0, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	err = conn.QueryRow(ctx, `SELECT COALESCE((SELECT MIN(id) FROM workflow_workflows), 0), (SELECT COUNT(*) FROM tickets)`).Scan(&wfID, &tickets)
	if err != nil {
		return 0, 0, fmt.Errorf("read the seeded history: %w", err)
	}
	return wfID, tickets, nil
}
