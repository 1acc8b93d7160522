package analytics

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/tickets"
	"github.com/bugflow/bugflow/workflow"
)

// The drill-downs of seeds/004 list the tickets, tasks and assignments
// behind a figure, a page at a time. Unlike the figures, they show
// individual records, so they follow the object-level rules of the lists
// they come from: an admin sees every record; a Ticket Coordinator every
// ticket (as GET /tickets/ shows them); anyone else sees the tickets
// they submitted or own, and the tasks (with their assignments) whose
// ticket they own or on which they hold an assignment, as workflow's task
// lists do. A user's drill-down is for admins and that user alone
// (Forbidden for others); a workflow's lists the tasks of it the caller
// may see.

// TicketRow is a ticket in a drill-down.
type TicketRow struct {
	TicketID   string    `json:"ticket_id" bun:"ticket_id"`
	Subject    string    `json:"subject" bun:"subject"`
	Category   string    `json:"category" bun:"category"`
	Department string    `json:"department" bun:"department"`
	Priority   string    `json:"priority" bun:"priority"`
	Status     string    `json:"status" bun:"status"`
	WorkflowID *int64    `json:"workflow_id" bun:"workflow_id"`
	TaskID     *int64    `json:"task_id" bun:"task_id"`
	CreatedAt  time.Time `json:"created_at" bun:"created_at"`
	// TargetResolution and ResolvedAt are its task's.
	TargetResolution *time.Time `json:"target_resolution" bun:"target_resolution"`
	ResolvedAt       *time.Time `json:"resolved_at" bun:"resolved_at"`
	// SLA is its task's outcome (SLA outcome names), no_sla without a
	// task or target.
	SLA string `json:"sla" bun:"sla"`
}

// SLA outcomes of a drill-down, workflow.Compliance's categories.
const (
	SLAMet      = "met"
	SLABreached = "breached"
	SLAOpen     = "open"
	SLANone     = "no_sla"
)

// AgeBrackets returns the names of the age brackets of the age
// drill-down, TicketAge's.
func AgeBrackets() []string {
	out := make([]string, len(ageBrackets))
	for i, b := range ageBrackets {
		out[i] = b.name
	}
	return out
}

// TicketSelect narrows a ticket drill-down beyond the Filter; "" means any.
type TicketSelect struct {
	// Status is a ticket status (New, Open, In Progress, Resolved, ...).
	Status string
	// Age is an age bracket (AgeBrackets); it keeps the tickets not
	// resolved, as old as the bracket says.
	Age string
	// SLA is an SLA outcome: met, breached, open or no_sla.
	SLA string
}

// validate reports a bad selector as Invalid, naming its query parameter.
func (sel TicketSelect) validate() error {
	if sel.Age != "" {
		if !slices.Contains(AgeBrackets(), sel.Age) {
			return errs.InvalidField("bracket", "must be one of "+strings.Join(AgeBrackets(), ", "))
		}
	}
	switch sel.SLA {
	case "", SLAMet, SLABreached, SLAOpen, SLANone:
	default:
		return errs.InvalidField("sla", "must be one of met, breached, open, no_sla")
	}
	if len(sel.Status) > 50 || !store.ValidText(sel.Status) {
		return errs.InvalidField("status", "must be a ticket status")
	}
	return nil
}

// slaOutcome returns SQL naming the SLA outcome of a task (alias tk,
// possibly outer-joined, so every column may be null) at the moment its
// one parameter gives.
func slaOutcome() string {
	return "CASE WHEN " + slaNone + " THEN '" + SLANone + "' WHEN " + slaMet + " THEN '" + SLAMet +
		"' WHEN " + slaBreached + " THEN '" + SLABreached + "' ELSE '" + SLAOpen + "' END"
}

// DrilldownTickets returns a page of the tickets created in f's range and
// scope that sel selects and actor may see, newest first, and how many
// there are.
func (s *Service) DrilldownTickets(ctx context.Context, caller tickets.Caller, f Filter, sel TicketSelect, page store.Page) ([]TicketRow, int, error) {
	f, err := s.bounds(f)
	if err != nil {
		return nil, 0, err
	}
	if err := sel.validate(); err != nil {
		return nil, 0, err
	}
	now := s.clock()
	rows := []TicketRow{}
	q := s.db.NewSelect().TableExpr("tickets AS t").Join("LEFT JOIN workflow_tasks AS tk ON tk.id = t.task_id").
		ColumnExpr("t.ticket_id, t.subject, t.category, t.department, t.priority, t.status, t.workflow_id, t.task_id, t.created_at").
		ColumnExpr("tk.target_resolution, tk.resolved_at").
		ColumnExpr(slaOutcome()+" AS sla", now)
	q = ticketScope(within(q, "t.created_at", f), "t", f)
	if sel.Status != "" {
		q = q.Where("t.status = ?", sel.Status)
	}
	// A ticket of age in [lo, hi) was created in (now−hi, now−lo], as
	// TicketAge counts it.
	for i, b := range ageBrackets {
		if b.name != sel.Age {
			continue
		}
		q = q.Where("t.status <> 'Resolved'").Where("t.created_at <= ?", now.Add(-time.Duration(b.minHours)*time.Hour))
		if i+1 < len(ageBrackets) {
			q = q.Where("t.created_at > ?", now.Add(-time.Duration(ageBrackets[i+1].minHours)*time.Hour))
		}
	}
	switch sel.SLA {
	case SLANone:
		q = q.Where(slaNone)
	case SLAMet:
		q = q.Where(slaMet)
	case SLABreached:
		q = q.Where(slaBreached, now)
	case SLAOpen:
		q = q.Where("NOT ("+slaNone+")").Where("NOT ("+slaMet+")").Where("NOT ("+slaBreached+")", now)
	}
	if !caller.Admin && !caller.Coordinator {
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("t.submitted_by = ?", caller.UserID).WhereOr("t.owner_id = ?", caller.UserID)
		})
	}
	n, err := page.Apply(q.OrderExpr("t.created_at DESC, t.id DESC")).ScanAndCount(ctx, &rows)
	if err != nil {
		return nil, 0, fmt.Errorf("ticket drill-down: %w", store.Translate(err))
	}
	return rows, int(n), nil
}

// TaskRow is a task in a drill-down.
type TaskRow struct {
	TaskID           int64      `json:"task_id" bun:"task_id"`
	TicketID         string     `json:"ticket_id" bun:"ticket_id"`
	Subject          string     `json:"subject" bun:"subject"`
	WorkflowID       int64      `json:"workflow_id" bun:"workflow_id"`
	Priority         string     `json:"priority" bun:"priority"`
	Status           string     `json:"status" bun:"status"`
	CurrentStepID    int64      `json:"current_step_id" bun:"current_step_id"`
	CreatedAt        time.Time  `json:"created_at" bun:"created_at"`
	TargetResolution *time.Time `json:"target_resolution" bun:"target_resolution"`
	ResolvedAt       *time.Time `json:"resolved_at" bun:"resolved_at"`
}

// taskVisible keeps the tasks (alias tk) actor may see.
func taskVisible(q *bun.SelectQuery, actor workflow.Actor) *bun.SelectQuery {
	if actor.Admin {
		return q
	}
	return q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("tk.ticket_owner_id = ?", actor.UserID).
			WhereOr("EXISTS (SELECT 1 FROM workflow_task_items AS v WHERE v.task_id = tk.id AND v.user_id = ?)", actor.UserID)
	})
}

// DrilldownTasks returns a page of the tasks created in f's range and
// scope, with status when it is not "", that actor may see, newest first,
// and how many there are.
func (s *Service) DrilldownTasks(ctx context.Context, actor workflow.Actor, f Filter, status string, page store.Page) ([]TaskRow, int, error) {
	f, err := s.bounds(f)
	if err != nil {
		return nil, 0, err
	}
	switch workflow.TaskStatus(status) {
	case "", workflow.TaskNew, workflow.TaskInProgress, workflow.TaskResolved:
	default:
		return nil, 0, errs.InvalidField("status", "must be one of new, in progress, resolved")
	}
	rows := []TaskRow{}
	q := s.db.NewSelect().TableExpr("workflow_tasks AS tk").
		ColumnExpr("tk.id AS task_id, tk.ticket_id, tk.subject, tk.workflow_id, tk.priority, tk.status, tk.current_step_id, tk.created_at, tk.target_resolution, tk.resolved_at")
	q = taskVisible(taskScope(within(q, "tk.created_at", f), "tk", f), actor)
	if status != "" {
		q = q.Where("tk.status = ?", status)
	}
	n, err := page.Apply(q.OrderExpr("tk.created_at DESC, tk.id DESC")).ScanAndCount(ctx, &rows)
	if err != nil {
		return nil, 0, fmt.Errorf("task drill-down: %w", store.Translate(err))
	}
	return rows, int(n), nil
}

// DrilldownWorkflow returns a page of the tasks of workflow id that the
// rest of f selects and actor may see; NotFound when there is no such
// workflow.
func (s *Service) DrilldownWorkflow(ctx context.Context, actor workflow.Actor, id int64, f Filter, page store.Page) ([]TaskRow, int, error) {
	exists, err := s.db.NewSelect().TableExpr("workflow_workflows").Where("id = ?", id).Exists(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("workflow drill-down: %w", store.Translate(err))
	}
	if !exists {
		return nil, 0, errs.NotFoundf("workflow %d not found", id)
	}
	f.WorkflowID = id
	return s.DrilldownTasks(ctx, actor, f, "", page)
}

// AssignmentRow is an assignment (seeds/004's task item) in a drill-down.
type AssignmentRow struct {
	TaskItemID int64      `json:"task_item_id" bun:"task_item_id"`
	TaskID     int64      `json:"task_id" bun:"task_id"`
	TicketID   string     `json:"ticket_id" bun:"ticket_id"`
	WorkflowID int64      `json:"workflow_id" bun:"workflow_id"`
	UserID     string     `json:"user_id" bun:"user_id"`
	Username   string     `json:"username" bun:"username"`
	RoleName   string     `json:"role_name" bun:"role_name"`
	StepID     int64      `json:"step_id" bun:"step_id"`
	Status     string     `json:"assignment_status" bun:"status"`
	Origin     string     `json:"origin" bun:"origin"`
	AssignedAt time.Time  `json:"assigned_at" bun:"assigned_at"`
	ActedAt    *time.Time `json:"acted_at" bun:"acted_at"`
	// FromUserID is, for a transferred assignment, the holder of the
	// assignment it replaced (the task's latest reassigned one before it).
	FromUserID *string `json:"from_user_id" bun:"from_user_id"`
}

// AssignmentSelect narrows an assignment drill-down; "" means any.
type AssignmentSelect struct {
	Origin string
	UserID string
}

// DrilldownAssignments returns a page of the assignments made in f's
// range on tasks of f's scope that sel selects and actor may see, newest
// first, and how many there are. Naming another user than oneself is
// Forbidden to non-admins.
func (s *Service) DrilldownAssignments(ctx context.Context, actor workflow.Actor, f Filter, sel AssignmentSelect, page store.Page) ([]AssignmentRow, int, error) {
	f, err := s.bounds(f)
	if err != nil {
		return nil, 0, err
	}
	switch workflow.Origin(sel.Origin) {
	case "", workflow.OriginSystem, workflow.OriginTransferred, workflow.OriginEscalation:
	default:
		return nil, 0, errs.InvalidField("origin", "must be one of System, Transferred, Escalation")
	}
	if sel.UserID != "" && !actor.Admin && sel.UserID != actor.UserID {
		return nil, 0, errs.Forbiddenf("only admins may drill down into another user's tasks")
	}
	// selected keeps the assignments of the drill-down; the count needs
	// their tasks only to apply a task filter or the actor's visibility.
	selected := func(q *bun.SelectQuery) *bun.SelectQuery {
		q = within(q, "ti.assigned_at", f)
		if sel.Origin != "" {
			q = q.Where("ti.origin = ?", sel.Origin)
		}
		if sel.UserID != "" {
			q = q.Where("ti.user_id = ?", sel.UserID)
		}
		return q
	}
	withTasks := func() *bun.SelectQuery {
		return s.db.NewSelect().TableExpr("workflow_task_items AS ti").Join("JOIN workflow_tasks AS tk ON tk.id = ti.task_id")
	}
	count := selected(assignments(s.db, f))
	if !actor.Admin {
		count = taskVisible(taskScope(selected(withTasks()), "tk", f), actor)
	}
	n, err := count.Count(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("assignment drill-down count: %w", store.Translate(err))
	}
	rows := []AssignmentRow{}
	q := withTasks().ColumnExpr("ti.id AS task_item_id, ti.task_id, tk.ticket_id, tk.workflow_id, ti.user_id, ti.username, ti.role_name, ti.step_id, ti.status, ti.origin, ti.assigned_at, ti.acted_at")
	if sel.Origin == string(workflow.OriginTransferred) {
		q = q.ColumnExpr("(SELECT p.user_id FROM workflow_task_items AS p WHERE p.task_id = ti.task_id AND p.status = 'reassigned' AND p.id < ti.id ORDER BY p.id DESC LIMIT 1) AS from_user_id")
	}
	q = taskVisible(taskScope(selected(q), "tk", f), actor)
	if err := page.Apply(q.OrderExpr("ti.assigned_at DESC, ti.id DESC")).Scan(ctx, &rows); err != nil {
		return nil, 0, fmt.Errorf("assignment drill-down: %w", store.Translate(err))
	}
	return rows, int(n), nil
}
