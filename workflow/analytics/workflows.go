package analytics

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// tasksOf selects from the tasks of f created in the range, aliased tk.
func (s *Service) tasksOf(f Filter) *bun.SelectQuery {
	return taskScope(within(s.db.NewSelect().TableExpr("workflow_tasks AS tk"), "tk.created_at", f), "tk", f)
}

// taskColumns selects what a task group reports: its SLA counts, its
// resolved tasks and the sum of their resolution times.
func (s *Service) taskColumns(q *bun.SelectQuery, now time.Time) *bun.SelectQuery {
	return slaColumns(q, now).
		ColumnExpr(countIf("tk.resolved_at IS NOT NULL") + " AS resolved").
		ColumnExpr("COALESCE(SUM(CASE WHEN tk.resolved_at IS NOT NULL THEN " + s.seconds("tk.resolved_at", "tk.created_at") + " END), 0.0) AS resolution_seconds")
}

// taskGroup is what taskColumns selects.
type taskGroup struct {
	slaCounts
	Resolved          int     `bun:"resolved"`
	ResolutionSeconds float64 `bun:"resolution_seconds"`
}

// TaskFigures are the figures of a group of tasks.
type TaskFigures struct {
	Tasks    int `json:"tasks"`
	Open     int `json:"open"`
	Resolved int `json:"resolved"`
	// AvgResolutionHours is AverageHours over the resolved tasks, from
	// creation to resolution.
	AvgResolutionHours *float64 `json:"avg_resolution_hours"`
	SLA                SLA      `json:"sla"`
}

func (g taskGroup) figures() TaskFigures {
	return TaskFigures{Tasks: g.Total, Resolved: g.Resolved, Open: g.Total - g.Resolved,
		AvgResolutionHours: AverageHours(g.ResolutionSeconds, g.Resolved), SLA: g.sla()}
}

// WorkflowMetrics is workflow performance (GET /analytics/workflows/metrics/).
type WorkflowMetrics struct {
	Filters Filter    `json:"filters"`
	At      time.Time `json:"at"`
	// Workflows are the MaxGroups with the most tasks in the range, most
	// first.
	Workflows []WorkflowFigures `json:"workflows"`
}

// WorkflowFigures is one workflow of WorkflowMetrics.
type WorkflowFigures struct {
	WorkflowID int64  `json:"workflow_id"`
	Name       string `json:"name"`
	Department string `json:"department"`
	TaskFigures
}

// WorkflowMetrics computes the figures of the tasks created in the range,
// by workflow.
func (s *Service) WorkflowMetrics(ctx context.Context, f Filter) (WorkflowMetrics, error) {
	f, err := s.bounds(f)
	if err != nil {
		return WorkflowMetrics{}, err
	}
	now := s.clock()
	var rows []struct {
		taskGroup
		ID         int64  `bun:"id"`
		Name       string `bun:"name"`
		Department string `bun:"department"`
	}
	q := s.taskColumns(s.tasksOf(f), now).Join("JOIN workflow_workflows AS w ON w.id = tk.workflow_id").
		ColumnExpr("w.id AS id, w.name AS name, w.department AS department").
		GroupExpr("w.id, w.name, w.department").OrderExpr("total DESC, w.id").Limit(MaxGroups)
	if err := scan(ctx, q, "workflow metrics", &rows); err != nil {
		return WorkflowMetrics{}, err
	}
	out := WorkflowMetrics{Filters: f, At: now, Workflows: []WorkflowFigures{}}
	for _, r := range rows {
		out.Workflows = append(out.Workflows, WorkflowFigures{WorkflowID: r.ID, Name: r.Name, Department: r.Department, TaskFigures: r.figures()})
	}
	return out, nil
}

// Departments is department analytics (GET /analytics/workflows/departments/).
type Departments struct {
	Filters     Filter              `json:"filters"`
	At          time.Time           `json:"at"`
	Departments []DepartmentFigures `json:"departments"`
}

// DepartmentFigures is one department of Departments: the tasks of its
// workflows.
type DepartmentFigures struct {
	Department string `json:"department"`
	// Workflows counts the department's workflows that have tasks in the
	// range.
	Workflows int `json:"workflows"`
	TaskFigures
}

// Departments computes the figures of the tasks created in the range, by
// their workflow's department.
func (s *Service) Departments(ctx context.Context, f Filter) (Departments, error) {
	f, err := s.bounds(f)
	if err != nil {
		return Departments{}, err
	}
	now := s.clock()
	var rows []struct {
		taskGroup
		Department string `bun:"department"`
		Workflows  int    `bun:"workflows"`
	}
	q := s.taskColumns(s.tasksOf(f), now).Join("JOIN workflow_workflows AS w ON w.id = tk.workflow_id").
		ColumnExpr("w.department AS department, COUNT(DISTINCT tk.workflow_id) AS workflows").
		GroupExpr("w.department").OrderExpr("total DESC, w.department").Limit(MaxGroups)
	if err := scan(ctx, q, "departments", &rows); err != nil {
		return Departments{}, err
	}
	out := Departments{Filters: f, At: now, Departments: []DepartmentFigures{}}
	for _, r := range rows {
		out.Departments = append(out.Departments, DepartmentFigures{Department: r.Department, Workflows: r.Workflows, TaskFigures: r.figures()})
	}
	return out, nil
}

// assignmentsOf selects from the assignments (task items, ti) made in the
// range to the tasks (tk) of f.
func (s *Service) assignmentsOf(f Filter) *bun.SelectQuery {
	return within(assignments(s.db, f), "ti.assigned_at", f)
}

// assignmentColumns selects what an assignment group reports.
func (s *Service) assignmentColumns(q *bun.SelectQuery) *bun.SelectQuery {
	return q.ColumnExpr("COUNT(*) AS assignments").
		ColumnExpr(countIf("ti.status IN ('new', 'in progress')") + " AS active").
		ColumnExpr(countIf("ti.status = 'resolved'") + " AS resolved").
		ColumnExpr(countIf("ti.status = 'escalated'") + " AS escalated").
		ColumnExpr(countIf("ti.status = 'reassigned'") + " AS reassigned").
		ColumnExpr(countIf("ti.status = 'breached'") + " AS breached").
		ColumnExpr(countIf("ti.acted_at IS NOT NULL") + " AS acted").
		ColumnExpr("COALESCE(SUM(CASE WHEN ti.acted_at IS NOT NULL THEN " + s.seconds("ti.acted_at", "ti.assigned_at") + " END), 0.0) AS action_seconds")
}

// assignmentGroup is what assignmentColumns selects.
type assignmentGroup struct {
	Assignments   int     `bun:"assignments"`
	Active        int     `bun:"active"`
	Resolved      int     `bun:"resolved"`
	Escalated     int     `bun:"escalated"`
	Reassigned    int     `bun:"reassigned"`
	Breached      int     `bun:"breached"`
	Acted         int     `bun:"acted"`
	ActionSeconds float64 `bun:"action_seconds"`
}

// AssignmentFigures are the figures of a group of assignments, by the
// assignment's status now.
type AssignmentFigures struct {
	Assignments int `json:"assignments"`
	// Active is new or in progress.
	Active     int `json:"active"`
	Resolved   int `json:"resolved"`
	Escalated  int `json:"escalated"`
	Reassigned int `json:"reassigned"`
	Breached   int `json:"breached"`
	// AvgActionHours is AverageHours over the assignments acted on, from
	// assignment to the assignee's action.
	AvgActionHours *float64 `json:"avg_action_hours"`
}

func (g assignmentGroup) figures() AssignmentFigures {
	return AssignmentFigures{Assignments: g.Assignments, Active: g.Active, Resolved: g.Resolved, Escalated: g.Escalated,
		Reassigned: g.Reassigned, Breached: g.Breached, AvgActionHours: AverageHours(g.ActionSeconds, g.Acted)}
}

// StepPerformance is step performance (GET /analytics/workflows/steps/).
type StepPerformance struct {
	Filters Filter        `json:"filters"`
	Steps   []StepFigures `json:"steps"`
}

// StepFigures is one step of StepPerformance: the assignments made at it.
type StepFigures struct {
	StepID       int64  `json:"step_id"`
	StepName     string `json:"step_name"`
	WorkflowID   int64  `json:"workflow_id"`
	WorkflowName string `json:"workflow_name"`
	AssignmentFigures
}

// MaxSteps bounds the steps StepPerformance lists.
const MaxSteps = 200

// Steps computes the figures of the assignments made in the range, by
// step, in workflow and step order.
func (s *Service) Steps(ctx context.Context, f Filter) (StepPerformance, error) {
	f, err := s.bounds(f)
	if err != nil {
		return StepPerformance{}, err
	}
	var rows []struct {
		assignmentGroup
		StepID       int64  `bun:"step_id"`
		StepName     string `bun:"step_name"`
		WorkflowID   int64  `bun:"workflow_id"`
		WorkflowName string `bun:"workflow_name"`
	}
	q := s.assignmentColumns(s.assignmentsOf(f)).
		Join("JOIN workflow_steps AS st ON st.id = ti.step_id").Join("JOIN workflow_workflows AS w ON w.id = st.workflow_id").
		ColumnExpr("st.id AS step_id, st.name AS step_name, w.id AS workflow_id, w.name AS workflow_name").
		GroupExpr("st.id, st.name, st.step_order, w.id, w.name").OrderExpr("w.id, st.step_order, st.id").Limit(MaxSteps)
	if err := scan(ctx, q, "steps", &rows); err != nil {
		return StepPerformance{}, err
	}
	out := StepPerformance{Filters: f, Steps: []StepFigures{}}
	for _, r := range rows {
		out.Steps = append(out.Steps, StepFigures{StepID: r.StepID, StepName: r.StepName, WorkflowID: r.WorkflowID, WorkflowName: r.WorkflowName,
			AssignmentFigures: r.figures()})
	}
	return out, nil
}
