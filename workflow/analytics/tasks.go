package analytics

import (
	"context"
	"time"
)

// The task statuses and assignment origins every distribution lists.
var (
	taskStatuses = []string{"new", "in progress", "resolved"}
	origins      = []string{"System", "Transferred", "Escalation"}
)

// TaskStatus counts the tasks created in the range by status.
func (s *Service) TaskStatus(ctx context.Context, f Filter) (Distribution, error) {
	f, err := s.bounds(f)
	if err != nil {
		return Distribution{}, err
	}
	return distribution(ctx, f, s.tasksOf(f), "tk.status", taskStatuses)
}

// TaskOrigin counts the assignments made in the range by origin: System
// (round-robin), Transferred (an admin moved the task) or Escalation.
func (s *Service) TaskOrigin(ctx context.Context, f Filter) (Distribution, error) {
	f, err := s.bounds(f)
	if err != nil {
		return Distribution{}, err
	}
	return distribution(ctx, f, s.assignmentsOf(f), "ti.origin", origins)
}

// TaskPerformance is task performance (GET /analytics/tasks/performance/).
type TaskPerformance struct {
	Filters Filter    `json:"filters"`
	At      time.Time `json:"at"`
	// Tasks are the figures of the tasks created in the range.
	Tasks TaskFigures `json:"tasks"`
	// ResolutionRate is Percent(resolved, tasks).
	ResolutionRate *float64 `json:"resolution_rate"`
	// Assignments are the figures of the assignments made in the range.
	Assignments AssignmentFigures `json:"assignments"`
}

// TaskPerformance computes the figures of the tasks created and the
// assignments made in the range.
func (s *Service) TaskPerformance(ctx context.Context, f Filter) (TaskPerformance, error) {
	f, err := s.bounds(f)
	if err != nil {
		return TaskPerformance{}, err
	}
	now := s.clock()
	var tg taskGroup
	if err := scan(ctx, s.taskColumns(s.tasksOf(f), now), "task performance", &tg); err != nil {
		return TaskPerformance{}, err
	}
	var ag assignmentGroup
	if err := scan(ctx, s.assignmentColumns(s.assignmentsOf(f)), "assignment performance", &ag); err != nil {
		return TaskPerformance{}, err
	}
	return TaskPerformance{Filters: f, At: now, Tasks: tg.figures(), ResolutionRate: Percent(tg.Resolved, tg.Total), Assignments: ag.figures()}, nil
}

// UserRankings is user performance (GET /analytics/tasks/users/).
type UserRankings struct {
	Filters Filter `json:"filters"`
	// TotalUsers counts every user assigned in the range.
	TotalUsers int `json:"total_users"`
	// Users are the MaxGroups best ranked, best first.
	Users []UserFigures `json:"users"`
}

// UserFigures is one user of UserRankings: the assignments made to them in
// the range.
type UserFigures struct {
	// Rank orders users by assignments resolved, most first; users with
	// as many share a rank (1, 2, 2, 4).
	Rank     int    `json:"rank"`
	UserID   string `json:"user_id"`
	Username string `json:"username"`
	AssignmentFigures
	// ResolutionRate is Percent(resolved, assignments).
	ResolutionRate *float64 `json:"resolution_rate"`
}

// TaskUsers ranks the users assigned in the range by the assignments they
// resolved (a window function over the per-user aggregates).
func (s *Service) TaskUsers(ctx context.Context, f Filter) (UserRankings, error) {
	f, err := s.bounds(f)
	if err != nil {
		return UserRankings{}, err
	}
	var rows []struct {
		assignmentGroup
		Rank       int    `bun:"rank"`
		TotalUsers int    `bun:"total_users"`
		UserID     string `bun:"user_id"`
		Username   string `bun:"username"`
	}
	q := s.assignmentColumns(s.assignmentsOf(f)).
		ColumnExpr("ti.user_id AS user_id, MAX(ti.username) AS username").
		ColumnExpr("RANK() OVER (ORDER BY " + countIf("ti.status = 'resolved'") + " DESC) AS rank").
		ColumnExpr("COUNT(*) OVER () AS total_users").
		GroupExpr("ti.user_id").OrderExpr("rank, ti.user_id").Limit(MaxGroups)
	if err := scan(ctx, q, "user rankings", &rows); err != nil {
		return UserRankings{}, err
	}
	out := UserRankings{Filters: f, Users: []UserFigures{}}
	for _, r := range rows {
		out.TotalUsers = r.TotalUsers
		out.Users = append(out.Users, UserFigures{Rank: r.Rank, UserID: r.UserID, Username: r.Username, AssignmentFigures: r.figures(),
			ResolutionRate: Percent(r.Resolved, r.Assignments)})
	}
	return out, nil
}

// Transfers is transfer analytics (GET /analytics/tasks/transfers/).
type Transfers struct {
	Filters Filter `json:"filters"`
	// Assignments counts every assignment made in the range.
	Assignments int `json:"assignments"`
	// Transfers counts those an admin made by moving a task (origin
	// Transferred); Escalations those made by escalating.
	Transfers   int `json:"transfers"`
	Escalations int `json:"escalations"`
	// TransferRate is Percent(transfers, assignments); EscalationRate
	// likewise.
	TransferRate   *float64 `json:"transfer_rate"`
	EscalationRate *float64 `json:"escalation_rate"`
	// ByStep are the MaxTop steps with the most transfers, most first.
	ByStep []StepCount `json:"by_step"`
	// Receivers are the MaxTop users who received the most transfers;
	// Senders the MaxTop whose assignments were most often moved away
	// (status reassigned).
	Receivers []UserCount `json:"receivers"`
	Senders   []UserCount `json:"senders"`
}

// StepCount is a step and a count.
type StepCount struct {
	StepID   int64  `json:"step_id"`
	StepName string `json:"step_name"`
	Count    int    `json:"count"`
}

// UserCount is a user and a count.
type UserCount struct {
	UserID   string `json:"user_id"`
	Username string `json:"username"`
	Count    int    `json:"count"`
}

// MaxTop bounds the "most" lists of Transfers.
const MaxTop = 10

// TaskTransfers computes the transfers among the assignments made in the
// range.
func (s *Service) TaskTransfers(ctx context.Context, f Filter) (Transfers, error) {
	f, err := s.bounds(f)
	if err != nil {
		return Transfers{}, err
	}
	var k struct {
		N           int `bun:"n"`
		Transfers   int `bun:"transfers"`
		Escalations int `bun:"escalations"`
	}
	q := s.assignmentsOf(f).ColumnExpr("COUNT(*) AS n").
		ColumnExpr(countIf("ti.origin = 'Transferred'") + " AS transfers").
		ColumnExpr(countIf("ti.origin = 'Escalation'") + " AS escalations")
	if err := scan(ctx, q, "transfers", &k); err != nil {
		return Transfers{}, err
	}
	out := Transfers{Filters: f, Assignments: k.N, Transfers: k.Transfers, Escalations: k.Escalations,
		TransferRate: Percent(k.Transfers, k.N), EscalationRate: Percent(k.Escalations, k.N),
		ByStep: []StepCount{}, Receivers: []UserCount{}, Senders: []UserCount{}}
	q = s.assignmentsOf(f).Join("JOIN workflow_steps AS st ON st.id = ti.step_id").Where("ti.origin = 'Transferred'").
		ColumnExpr("st.id AS step_id, st.name AS step_name, COUNT(*) AS count").
		GroupExpr("st.id, st.name").OrderExpr("count DESC, st.id").Limit(MaxTop)
	if err := scan(ctx, q, "transfers by step", &out.ByStep); err != nil {
		return Transfers{}, err
	}
	for _, side := range []struct {
		cond string
		dst  *[]UserCount
	}{{"ti.origin = 'Transferred'", &out.Receivers}, {"ti.status = 'reassigned'", &out.Senders}} {
		q = s.assignmentsOf(f).Where(side.cond).
			ColumnExpr("ti.user_id AS user_id, MAX(ti.username) AS username, COUNT(*) AS count").
			GroupExpr("ti.user_id").OrderExpr("count DESC, ti.user_id").Limit(MaxTop)
		if err := scan(ctx, q, "transfers by user", side.dst); err != nil {
			return Transfers{}, err
		}
	}
	return out, nil
}
