// Package analyticstest seeds a small history of workflows, tasks,
// assignments and tickets whose analytics are worked out by hand in the
// tests of package analytics and of the server. Rows are inserted
// directly, with the times the history needs, into the tables of packages
// workflow and tickets.
package analyticstest

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Now is the moment the history is judged at: 2026-03-15 12:00 UTC, a
// Sunday.
var Now = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

// The range the hand-worked figures cover: start_date=2026-03-10 and
// end_date=2026-03-14, which is [From, To).
const (
	StartDate = "2026-03-10"
	EndDate   = "2026-03-14"
)

// IDs of the seeded workflows: W1 "Laptop" (department IT) and W2
// "Payroll" (department HR).
const (
	W1 int64 = 1
	W2 int64 = 2
)

// WorkflowRow is the row of a workflow with the columns the analytics read; tests
// insert histories with it.
type WorkflowRow struct {
	bun.BaseModel `bun:"table:workflow_workflows"`

	ID          int64     `bun:"id,pk"`
	Name        string    `bun:"name"`
	NameKey     string    `bun:"name_key"`
	Description string    `bun:"description"`
	Category    string    `bun:"category"`
	SubCategory string    `bun:"sub_category"`
	Department  string    `bun:"department"`
	Status      string    `bun:"status"`
	CreatedAt   time.Time `bun:"created_at"`
	UpdatedAt   time.Time `bun:"updated_at"`
}

// StepRow is the row of a workflow step with the columns the analytics read; tests
// insert histories with it.
type StepRow struct {
	bun.BaseModel `bun:"table:workflow_steps"`

	ID          int64   `bun:"id,pk"`
	WorkflowID  int64   `bun:"workflow_id"`
	Name        string  `bun:"name"`
	Description string  `bun:"description"`
	Instruction string  `bun:"instruction"`
	Weight      float64 `bun:"weight"`
	Order       int     `bun:"step_order"`
	IsStart     bool    `bun:"is_start"`
	IsEnd       bool    `bun:"is_end"`
	DesignX     float64 `bun:"design_x"`
	DesignY     float64 `bun:"design_y"`
}

// TaskRow is the row of a workflow task with the columns the analytics read; tests
// insert histories with it.
type TaskRow struct {
	bun.BaseModel `bun:"table:workflow_tasks"`

	ID               int64      `bun:"id,pk"`
	WorkflowID       int64      `bun:"workflow_id"`
	TicketID         string     `bun:"ticket_id"`
	Subject          string     `bun:"subject"`
	Description      string     `bun:"description"`
	Priority         string     `bun:"priority"`
	Status           string     `bun:"status"`
	CurrentStepID    int64      `bun:"current_step_id"`
	TargetResolution *time.Time `bun:"target_resolution"`
	SearchText       string     `bun:"search_text"`
	CreatedAt        time.Time  `bun:"created_at"`
	UpdatedAt        time.Time  `bun:"updated_at"`
	ResolvedAt       *time.Time `bun:"resolved_at"`
	SLALevel         int        `bun:"sla_level"`
}

// ItemRow is the row of a task item (assignment) with the columns the analytics read; tests
// insert histories with it.
type ItemRow struct {
	bun.BaseModel `bun:"table:workflow_task_items"`

	ID         int64      `bun:"id,pk"`
	TaskID     int64      `bun:"task_id"`
	UserID     string     `bun:"user_id"`
	Username   string     `bun:"username"`
	RoleID     int64      `bun:"role_id"`
	RoleName   string     `bun:"role_name"`
	RoleKey    string     `bun:"role_key"`
	StepID     int64      `bun:"step_id"`
	Status     string     `bun:"status"`
	Origin     string     `bun:"origin"`
	Notes      string     `bun:"notes"`
	AssignedAt time.Time  `bun:"assigned_at"`
	ActedAt    *time.Time `bun:"acted_at"`
	SLALevel   int        `bun:"sla_level"`
}

// TicketRow is the row of a ticket with the columns the analytics read; tests
// insert histories with it.
type TicketRow struct {
	bun.BaseModel `bun:"table:tickets"`

	ID          int64     `bun:"id,pk"`
	TicketID    string    `bun:"ticket_id"`
	Subject     string    `bun:"subject"`
	Description string    `bun:"description"`
	Category    string    `bun:"category"`
	SubCategory string    `bun:"sub_category"`
	Department  string    `bun:"department"`
	Priority    string    `bun:"priority"`
	Status      string    `bun:"status"`
	SubmittedBy *string   `bun:"submitted_by"`
	TaskID      *int64    `bun:"task_id"`
	WorkflowID  *int64    `bun:"workflow_id"`
	CreatedAt   time.Time `bun:"created_at"`
	UpdatedAt   time.Time `bun:"updated_at"`
}

// at is 2026-03-day hour:00 UTC.
func at(day, hour int) time.Time { return time.Date(2026, 3, day, hour, 0, 0, 0, time.UTC) }

func ptr[T any](v T) *T { return &v }

// ticket is one seeded ticket and its task (none when workflow is 0).
type ticket struct {
	workflow    int64
	department  string
	priority    string
	category    string
	status      string // the ticket's
	taskStatus  string
	step        int64
	created     time.Time
	resolved    *time.Time
	target      *time.Time
	withoutTask bool
}

// The history. Ticket n has task n (T7 has none). Times are March 2026,
// UTC; the range is [03-10, 03-15).
//
//	T1 W1 IT High   Hardware created 10 09:00, resolved 10 13:00 (4h), target 10 17:00: met
//	T2 W1 IT High   Hardware created 11 08:00, resolved 12 08:00 (24h), target 11 16:00: breached
//	T3 W1 IT Low    Software created 12 10:00, in progress, target 16 10:00: open
//	T4 W2 HR Medium Payroll  created 13 09:00, new, target 14 09:00 (passed): breached
//	T5 W2 HR Urgent Payroll  created 14 23:00, resolved 15 01:00 (2h, after the range), target 15 03:00: met
//	T6 W1 IT Medium Hardware created 09 12:00 (before), resolved 11 12:00 (48h), target 10 12:00: breached
//	T7 -  IT Low    Other    created 12 15:00, New, no task: no SLA
//	T8 W2 HR Medium Payroll  created 08 10:00 (before), new, no target
//	T9 W1 IT Low    Software created 15 06:00 (after), new, no target
var tickets = []ticket{
	{W1, "IT", "High", "Hardware", "Resolved", "resolved", 2, at(10, 9), ptr(at(10, 13)), ptr(at(10, 17)), false},
	{W1, "IT", "High", "Hardware", "Resolved", "resolved", 2, at(11, 8), ptr(at(12, 8)), ptr(at(11, 16)), false},
	{W1, "IT", "Low", "Software", "In Progress", "in progress", 1, at(12, 10), nil, ptr(at(16, 10)), false},
	{W2, "HR", "Medium", "Payroll", "Open", "new", 3, at(13, 9), nil, ptr(at(14, 9)), false},
	{W2, "HR", "Urgent", "Payroll", "Resolved", "resolved", 3, at(14, 23), ptr(at(15, 1)), ptr(at(15, 3)), false},
	{W1, "IT", "Medium", "Hardware", "Resolved", "resolved", 2, at(9, 12), ptr(at(11, 12)), ptr(at(10, 12)), false},
	{0, "IT", "Low", "Other", "New", "", 0, at(12, 15), nil, nil, true},
	{W2, "HR", "Medium", "Payroll", "Open", "new", 3, at(8, 10), nil, nil, false},
	{W1, "IT", "Low", "Software", "Open", "new", 1, at(15, 6), nil, nil, false},
}

// item is one seeded assignment.
type item struct {
	task     int64
	step     int64
	user     string
	origin   string
	status   string
	assigned time.Time
	acted    *time.Time
}

// The assignments (a1..a9), users u1 alice, u2 bob, u3 carol; steps s1
// Triage and s2 Fix of W1, s3 Review of W2.
//
//	a1 task1 s1 alice System      10 09:00, acted 10 10:00 (1h), resolved
//	a2 task1 s2 bob   System      10 10:00, acted 10 13:00 (3h), resolved
//	a3 task2 s1 alice System      11 08:00, reassigned
//	a4 task2 s1 bob   Transferred 11 12:00, acted 12 08:00 (20h), resolved
//	a5 task3 s1 carol System      12 10:00, escalated
//	a6 task3 s1 bob   Escalation  12 14:00, acted 12 16:00 (2h), in progress
//	a7 task4 s3 carol System      13 09:00, breached
//	a8 task5 s3 alice System      14 23:00, acted 15 01:00 (2h), resolved
//	a9 task6 s1 alice System      09 12:00 (before), acted 11 12:00, resolved
var items = []item{
	{1, 1, "u1", "System", "resolved", at(10, 9), ptr(at(10, 10))},
	{1, 2, "u2", "System", "resolved", at(10, 10), ptr(at(10, 13))},
	{2, 1, "u1", "System", "reassigned", at(11, 8), nil},
	{2, 1, "u2", "Transferred", "resolved", at(11, 12), ptr(at(12, 8))},
	{3, 1, "u3", "System", "escalated", at(12, 10), nil},
	{3, 1, "u2", "Escalation", "in progress", at(12, 14), ptr(at(12, 16))},
	{4, 3, "u3", "System", "breached", at(13, 9), nil},
	{5, 3, "u1", "System", "resolved", at(14, 23), ptr(at(15, 1))},
	{6, 1, "u1", "System", "resolved", at(9, 12), ptr(at(11, 12))},
}

var usernames = map[string]string{"u1": "alice", "u2": "bob", "u3": "carol"}

// Seed inserts the history into db, which holds the schemas of packages
// workflow and tickets (their ids start from 1, so db should be fresh).
func Seed(ctx context.Context, db bun.IDB) error {
	created := at(1, 0)
	workflows := []WorkflowRow{
		{ID: W1, Name: "Laptop", NameKey: "laptop", Category: "IT", SubCategory: "Hardware", Department: "IT", Status: "deployed", CreatedAt: created, UpdatedAt: created},
		{ID: W2, Name: "Payroll", NameKey: "payroll", Category: "HR", SubCategory: "Pay", Department: "HR", Status: "deployed", CreatedAt: created, UpdatedAt: created},
	}
	steps := []StepRow{
		{ID: 1, WorkflowID: W1, Name: "Triage", Weight: 1, Order: 1, IsStart: true},
		{ID: 2, WorkflowID: W1, Name: "Fix", Weight: 1, Order: 2, IsEnd: true},
		{ID: 3, WorkflowID: W2, Name: "Review", Weight: 1, Order: 1, IsStart: true, IsEnd: true},
	}
	var tasks []TaskRow
	var ticketRows []TicketRow
	for i, t := range tickets {
		n := int64(i + 1)
		id := fmt.Sprintf("TX202603%02d%06d", t.created.Day(), n)
		row := TicketRow{ID: n, TicketID: id, Subject: "ticket " + id, Category: t.category, SubCategory: "any",
			Department: t.department, Priority: t.priority, Status: t.status, CreatedAt: t.created, UpdatedAt: t.created}
		if !t.withoutTask {
			row.TaskID, row.WorkflowID = ptr(n), ptr(t.workflow)
			tasks = append(tasks, TaskRow{ID: n, WorkflowID: t.workflow, TicketID: id, Subject: row.Subject, Priority: t.priority,
				Status: t.taskStatus, CurrentStepID: t.step, TargetResolution: t.target, CreatedAt: t.created, UpdatedAt: t.created,
				ResolvedAt: t.resolved})
		}
		ticketRows = append(ticketRows, row)
	}
	var itemRows []ItemRow
	for i, it := range items {
		itemRows = append(itemRows, ItemRow{ID: int64(i + 1), TaskID: it.task, UserID: it.user, Username: usernames[it.user], RoleID: 1,
			RoleName: "Agent", RoleKey: "agent", StepID: it.step, Status: it.status, Origin: it.origin, AssignedAt: it.assigned, ActedAt: it.acted})
	}
	for _, rows := range []any{&workflows, &steps, &tasks, &itemRows, &ticketRows} {
		if _, err := db.NewInsert().Model(rows).Exec(ctx); err != nil {
			return fmt.Errorf("seed %T: %w", rows, err)
		}
	}
	return nil
}
