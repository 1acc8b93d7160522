package analytics_test

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/internal/analyticstest"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/tickets"
	"github.com/bugflow/bugflow/workflow"
	"github.com/bugflow/bugflow/workflow/analytics"
)

func migrations() []store.Migration {
	return slices.Concat(workflow.Migrations(), tickets.Migrations(), analytics.Migrations())
}

func f64(v float64) *float64 { return &v }

// seeded returns a service over the seeded history of analyticstest,
// judged at analyticstest.Now, and the filter of its range.
func seeded(t *testing.T, db *store.DB) (*analytics.Service, analytics.Filter) {
	t.Helper()
	require.NoError(t, analyticstest.Seed(context.Background(), db.DB))
	svc := analytics.New(db.DB, analytics.Config{Now: func() time.Time { return analyticstest.Now }})
	f, err := analytics.ParseFilter(url.Values{"start_date": {analyticstest.StartDate}, "end_date": {analyticstest.EndDate}})
	require.NoError(t, err)
	return svc, f
}

// The expected numbers below are worked out by hand from the history that
// analyticstest documents (ticket and assignment tables in its comments).
// Both databases must give exactly them, so they give identical numbers.
func TestFiguresOnASeededHistory(t *testing.T) {
	answers := map[string]string{}
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc, f := seeded(t, db)
		var all []any

		// Tickets created in [03-10, 03-15): T1 T2 T3 T4 T5 T7.
		trends, err := svc.TicketTrends(ctx, f, analytics.Day)
		require.NoError(t, err)
		assert.Equal(t, []analytics.TicketVolume{
			{Date: "2026-03-10", Created: 1, Resolved: 1}, // T1; T1
			{Date: "2026-03-11", Created: 1, Resolved: 1}, // T2; T6 (created before the range)
			{Date: "2026-03-12", Created: 2, Resolved: 1}, // T3 T7; T2
			{Date: "2026-03-13", Created: 1, Resolved: 0}, // T4
			{Date: "2026-03-14", Created: 1, Resolved: 0}, // T5 (resolved on the 15th)
		}, trends.Points)
		assert.Equal(t, analytics.TicketVolumeSum{Created: 6, Resolved: 3}, trends.Totals)
		all = append(all, trends)

		// 2026-03-10 is a Tuesday: the range is in the week of Monday 03-09.
		weekly, err := svc.TicketTrends(ctx, f, analytics.Week)
		require.NoError(t, err)
		assert.Equal(t, []analytics.TicketVolume{{Date: "2026-03-09", Created: 6, Resolved: 3}}, weekly.Points)
		all = append(all, weekly)

		items, err := svc.TaskItemTrends(ctx, f, analytics.Day)
		require.NoError(t, err)
		assert.Equal(t, []analytics.AssignmentTrend{
			{Date: "2026-03-10", Assigned: 2, System: 2, Resolved: 2},                 // a1 a2
			{Date: "2026-03-11", Assigned: 2, System: 1, Transferred: 1, Resolved: 1}, // a3 a4
			{Date: "2026-03-12", Assigned: 2, System: 1, Escalation: 1},               // a5 a6
			{Date: "2026-03-13", Assigned: 1, System: 1},                              // a7
			{Date: "2026-03-14", Assigned: 1, System: 1, Resolved: 1},                 // a8
		}, items.Points)
		all = append(all, items)

		cats, err := svc.TicketCategories(ctx, f)
		require.NoError(t, err)
		assert.Equal(t, 6, cats.Total)
		assert.Equal(t, []analytics.CategoryCount{
			{Category: "Hardware", Count: 2, Resolved: 2, Open: 0, Share: 33.33}, // T1 T2
			{Category: "Payroll", Count: 2, Resolved: 1, Open: 1, Share: 33.33},  // T4 T5
			{Category: "Other", Count: 1, Resolved: 0, Open: 1, Share: 16.67},    // T7
			{Category: "Software", Count: 1, Resolved: 0, Open: 1, Share: 16.67}, // T3
		}, cats.Categories)
		all = append(all, cats)

		dash, err := svc.Dashboard(ctx, f)
		require.NoError(t, err)
		assert.Equal(t, 6, dash.TotalTickets)
		assert.Equal(t, 3, dash.OpenTickets)     // T3 T4 T7
		assert.Equal(t, 3, dash.ResolvedTickets) // T1 T2 T5
		assert.Equal(t, f64(50), dash.ResolutionRate)
		assert.Equal(t, f64(10), dash.AvgResolutionHours) // (4 + 24 + 2) / 3
		// Met T1 T5, breached T2 T4, open T3, no SLA T7: 2 / (2 + 2).
		assert.Equal(t, analytics.SLA{Total: 6, Met: 2, Breached: 2, Open: 1, NoSLA: 1, Rate: f64(50)}, dash.SLA)
		// Open when the range starts: T6 (resolved 03-11) and T8. Each day
		// adds what was created and takes what was resolved.
		assert.Equal(t, []analytics.DashboardPoint{
			{Date: "2026-03-10", Created: 1, OpenBacklog: 2, SLACompliance: f64(100)}, // 2 + 1 - 1; T1 met
			{Date: "2026-03-11", Created: 1, OpenBacklog: 2, SLACompliance: f64(0)},   // 2 + 1 - 1; T2 breached
			{Date: "2026-03-12", Created: 2, OpenBacklog: 3},                          // 2 + 2 - 1; T3 open, T7 none
			{Date: "2026-03-13", Created: 1, OpenBacklog: 4, SLACompliance: f64(0)},   // T4 breached
			{Date: "2026-03-14", Created: 1, OpenBacklog: 5, SLACompliance: f64(100)}, // T5 met
		}, dash.Series)
		all = append(all, dash)

		status, err := svc.TicketStatus(ctx, f)
		require.NoError(t, err)
		assert.Equal(t, analytics.Distribution{Filters: f, Total: 6, Groups: []analytics.GroupCount{
			{Name: "New", Count: 1, Share: 16.67}, {Name: "Open", Count: 1, Share: 16.67},
			{Name: "In Progress", Count: 1, Share: 16.67}, {Name: "Resolved", Count: 3, Share: 50},
		}}, status)
		all = append(all, status)

		prio, err := svc.TicketPriority(ctx, f)
		require.NoError(t, err)
		assert.Equal(t, []analytics.PriorityCount{
			{Priority: "Low", Count: 2, Open: 2, Share: 33.33},                                    // T3 T7
			{Priority: "Medium", Count: 1, Open: 1, Share: 16.67},                                 // T4
			{Priority: "High", Count: 2, Resolved: 2, Share: 33.33, AvgResolutionHours: f64(14)},  // (4 + 24) / 2
			{Priority: "Urgent", Count: 1, Resolved: 1, Share: 16.67, AvgResolutionHours: f64(2)}, // T5
		}, prio.Priorities)
		all = append(all, prio)

		// Open: T3 74h, T4 51h, T7 69h old at 03-15 12:00.
		age, err := svc.TicketAge(ctx, f)
		require.NoError(t, err)
		assert.Equal(t, 3, age.OpenTickets)
		assert.Equal(t, f64(64.67), age.AverageAgeHours) // 194 / 3
		var counts []int
		for _, b := range age.Brackets {
			counts = append(counts, b.Count)
		}
		assert.Equal(t, []int{0, 2, 1, 0, 0}, counts)
		assert.Equal(t, "30d+", age.Brackets[4].Bracket)
		assert.Nil(t, age.Brackets[4].MaxHours)
		all = append(all, age)

		sla, err := svc.TicketSLA(ctx, f)
		require.NoError(t, err)
		assert.Equal(t, analytics.SLA{Total: 6, Met: 2, Breached: 2, Open: 1, NoSLA: 1, Rate: f64(50)}, sla.Overall)
		assert.Equal(t, []analytics.PrioritySLA{
			{Priority: "Low", SLA: analytics.SLA{Total: 2, Open: 1, NoSLA: 1}},
			{Priority: "Medium", SLA: analytics.SLA{Total: 1, Breached: 1, Rate: f64(0)}},
			{Priority: "High", SLA: analytics.SLA{Total: 2, Met: 1, Breached: 1, Rate: f64(50)}},
			{Priority: "Urgent", SLA: analytics.SLA{Total: 1, Met: 1, Rate: f64(100)}},
		}, sla.ByPriority)
		all = append(all, sla)

		// Tasks created in the range: 1-5.
		wf, err := svc.WorkflowMetrics(ctx, f)
		require.NoError(t, err)
		assert.Equal(t, []analytics.WorkflowFigures{
			{WorkflowID: 1, Name: "Laptop", Department: "IT", TaskFigures: analytics.TaskFigures{Tasks: 3, Open: 1, Resolved: 2,
				AvgResolutionHours: f64(14), SLA: analytics.SLA{Total: 3, Met: 1, Breached: 1, Open: 1, Rate: f64(50)}}},
			{WorkflowID: 2, Name: "Payroll", Department: "HR", TaskFigures: analytics.TaskFigures{Tasks: 2, Open: 1, Resolved: 1,
				AvgResolutionHours: f64(2), SLA: analytics.SLA{Total: 2, Met: 1, Breached: 1, Rate: f64(50)}}},
		}, wf.Workflows)
		all = append(all, wf)

		deps, err := svc.Departments(ctx, f)
		require.NoError(t, err)
		require.Len(t, deps.Departments, 2)
		assert.Equal(t, "IT", deps.Departments[0].Department)
		assert.Equal(t, 1, deps.Departments[0].Workflows)
		assert.Equal(t, wf.Workflows[0].TaskFigures, deps.Departments[0].TaskFigures)
		assert.Equal(t, "HR", deps.Departments[1].Department)
		assert.Equal(t, wf.Workflows[1].TaskFigures, deps.Departments[1].TaskFigures)
		all = append(all, deps)

		// Assignments made in the range: a1-a8.
		steps, err := svc.Steps(ctx, f)
		require.NoError(t, err)
		assert.Equal(t, []analytics.StepFigures{
			{StepID: 1, StepName: "Triage", WorkflowID: 1, WorkflowName: "Laptop", AssignmentFigures: analytics.AssignmentFigures{
				Assignments: 5, Active: 1, Resolved: 2, Escalated: 1, Reassigned: 1, AvgActionHours: f64(7.67)}}, // (1 + 20 + 2) / 3
			{StepID: 2, StepName: "Fix", WorkflowID: 1, WorkflowName: "Laptop", AssignmentFigures: analytics.AssignmentFigures{
				Assignments: 1, Resolved: 1, AvgActionHours: f64(3)}},
			{StepID: 3, StepName: "Review", WorkflowID: 2, WorkflowName: "Payroll", AssignmentFigures: analytics.AssignmentFigures{
				Assignments: 2, Resolved: 1, Breached: 1, AvgActionHours: f64(2)}},
		}, steps.Steps)
		all = append(all, steps)

		ts, err := svc.TaskStatus(ctx, f)
		require.NoError(t, err)
		assert.Equal(t, []analytics.GroupCount{{Name: "new", Count: 1, Share: 20}, {Name: "in progress", Count: 1, Share: 20}, {Name: "resolved", Count: 3, Share: 60}}, ts.Groups)
		all = append(all, ts)

		origin, err := svc.TaskOrigin(ctx, f)
		require.NoError(t, err)
		assert.Equal(t, []analytics.GroupCount{{Name: "System", Count: 6, Share: 75}, {Name: "Transferred", Count: 1, Share: 12.5}, {Name: "Escalation", Count: 1, Share: 12.5}}, origin.Groups)
		all = append(all, origin)

		perf, err := svc.TaskPerformance(ctx, f)
		require.NoError(t, err)
		assert.Equal(t, analytics.TaskFigures{Tasks: 5, Open: 2, Resolved: 3, AvgResolutionHours: f64(10),
			SLA: analytics.SLA{Total: 5, Met: 2, Breached: 2, Open: 1, Rate: f64(50)}}, perf.Tasks)
		assert.Equal(t, f64(60), perf.ResolutionRate)
		// Acted: 1 + 3 + 20 + 2 + 2 = 28 hours over 5.
		assert.Equal(t, analytics.AssignmentFigures{Assignments: 8, Active: 1, Resolved: 4, Escalated: 1, Reassigned: 1, Breached: 1,
			AvgActionHours: f64(5.6)}, perf.Assignments)
		all = append(all, perf)

		users, err := svc.TaskUsers(ctx, f)
		require.NoError(t, err)
		assert.Equal(t, 3, users.TotalUsers)
		assert.Equal(t, []analytics.UserFigures{
			{Rank: 1, UserID: "u1", Username: "alice", AssignmentFigures: analytics.AssignmentFigures{Assignments: 3, Resolved: 2, Reassigned: 1,
				AvgActionHours: f64(1.5)}, ResolutionRate: f64(66.67)}, // a1 a3 a8
			{Rank: 1, UserID: "u2", Username: "bob", AssignmentFigures: analytics.AssignmentFigures{Assignments: 3, Active: 1, Resolved: 2,
				AvgActionHours: f64(8.33)}, ResolutionRate: f64(66.67)}, // a2 a4 a6: (3 + 20 + 2) / 3
			{Rank: 3, UserID: "u3", Username: "carol", AssignmentFigures: analytics.AssignmentFigures{Assignments: 2, Escalated: 1, Breached: 1},
				ResolutionRate: f64(0)}, // a5 a7
		}, users.Users)
		all = append(all, users)

		tr, err := svc.TaskTransfers(ctx, f)
		require.NoError(t, err)
		assert.Equal(t, 8, tr.Assignments)
		assert.Equal(t, 1, tr.Transfers)
		assert.Equal(t, 1, tr.Escalations)
		assert.Equal(t, f64(12.5), tr.TransferRate)
		assert.Equal(t, []analytics.StepCount{{StepID: 1, StepName: "Triage", Count: 1}}, tr.ByStep)
		assert.Equal(t, []analytics.UserCount{{UserID: "u2", Username: "bob", Count: 1}}, tr.Receivers)
		assert.Equal(t, []analytics.UserCount{{UserID: "u1", Username: "alice", Count: 1}}, tr.Senders)
		all = append(all, tr)

		b, err := json.Marshal(all)
		require.NoError(t, err)
		answers[string(db.Dialect)] = string(b)
	})
	if len(answers) == 2 {
		assert.JSONEq(t, answers["sqlite"], answers["postgres"], "both databases give identical numbers")
	}
}

// The assignment figures join the tasks only when the filter selects
// tasks by an attribute of theirs; with such a filter they must count only
// the assignments of those tasks (analyticstest's table of assignments).
func TestAssignmentFiguresKeepTheTaskFilter(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc, f := seeded(t, db)
		origins := func(f analytics.Filter) []analytics.GroupCount {
			t.Helper()
			d, err := svc.TaskOrigin(ctx, f)
			require.NoError(t, err)
			return d.Groups
		}
		// Unfiltered: a1-a8.
		assert.Equal(t, []analytics.GroupCount{{Name: "System", Count: 6, Share: 75}, {Name: "Transferred", Count: 1, Share: 12.5},
			{Name: "Escalation", Count: 1, Share: 12.5}}, origins(f))
		// W2 (department HR): a7 (task 4) and a8 (task 5).
		w2 := f
		w2.WorkflowID = analyticstest.W2
		want := []analytics.GroupCount{{Name: "System", Count: 2, Share: 100}, {Name: "Transferred"}, {Name: "Escalation"}}
		assert.Equal(t, want, origins(w2))
		hr := f
		hr.Department = "HR"
		assert.Equal(t, want, origins(hr))
		// High: tasks 1 and 2, a1-a4.
		high := f
		high.Priority = "High"
		assert.Equal(t, []analytics.GroupCount{{Name: "System", Count: 3, Share: 75}, {Name: "Transferred", Count: 1, Share: 25},
			{Name: "Escalation"}}, origins(high))

		items, err := svc.TaskItemTrends(ctx, w2, analytics.Day)
		require.NoError(t, err)
		assert.Equal(t, []analytics.AssignmentTrend{
			{Date: "2026-03-10"}, {Date: "2026-03-11"}, {Date: "2026-03-12"},
			{Date: "2026-03-13", Assigned: 1, System: 1},              // a7
			{Date: "2026-03-14", Assigned: 1, System: 1, Resolved: 1}, // a8
		}, items.Points)

		load, err := svc.Workload(ctx, w2)
		require.NoError(t, err)
		var users []string
		for _, u := range load.Users {
			users = append(users, u.UserID)
		}
		// a7 carol (breached, assigned in the range), a8 alice.
		assert.ElementsMatch(t, []string{"u1", "u3"}, users)

		// The drill-down's count, of a page of one: a1-a8, then a7 a8.
		admin := workflow.Actor{UserID: "admin", Admin: true}
		for _, c := range []struct {
			f    analytics.Filter
			want int
		}{{f, 8}, {w2, 2}, {high, 4}} {
			rows, n, err := svc.DrilldownAssignments(ctx, admin, c.f, analytics.AssignmentSelect{}, store.Page{Limit: 1})
			require.NoError(t, err)
			assert.Equal(t, c.want, n)
			assert.Len(t, rows, 1)
		}
	})
}
