package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/client"
	"github.com/bugflow/bugflow/client/api"
	"github.com/bugflow/bugflow/internal/analyticstest"
	"github.com/bugflow/bugflow/internal/apitest"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

// analyticsServer starts a server whose clock stands at analyticstest.Now
// over the history analyticstest seeds (jobs off, so that no SLA check
// touches it), and returns it with a client of a signed-in user who is no
// admin and a client of the admin.
func analyticsServer(t *testing.T, url string) (*apitest.Server, *client.Client, *client.Client) {
	t.Helper()
	srv := apitest.Start(t, apitest.Config{Engine: bugflow.Config{
		DatabaseURL: url, AdminKey: testAdminKey, SecretKey: "secret for tests",
		Now: func() time.Time { return analyticstest.Now }, Jobs: bugflow.JobsConfig{Disabled: true},
	}})
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	require.NoError(t, err)
	require.NoError(t, analyticstest.Seed(ctx, db.DB))
	require.NoError(t, db.Close())
	user := newAPIClient(t, srv, client.WithToken(signedInUser(t, srv, "analyst")))
	return srv, user, newAPIClient(t, srv, client.WithToken(testAdminKey))
}

// Every analytics figure through the generated client, on a seeded
// history, on every backend: the numbers are those worked out by hand in
// package analytics' tests (the history's comments list every row).
func TestAnalyticsWithGeneratedClient(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, c, admin := analyticsServer(t, url)
		ctx := context.Background()
		start, end := analyticstest.StartDate, analyticstest.EndDate

		root, err := client.Check(c.GetAPIRootWithResponse(ctx))
		require.NoError(t, err)
		assert.Equal(t, srv.URL+"/analytics/", root.JSON200.AdditionalProperties["analytics"])
		index, err := client.Check(c.GetAnalyticsIndexWithResponse(ctx))
		require.NoError(t, err)
		names := map[string]string{}
		for _, e := range index.JSON200.Endpoints {
			names[e.Name] = e.Url
			assert.Equal(t, adminAnalytics[e.Name], e.AdminOnly, e.Name)
		}
		for _, n := range []string{"ticket-trends", "task-item-trends", "ticket-categories", "tickets/dashboard", "tickets/status",
			"tickets/priority", "tickets/age", "tickets/sla", "workflows/metrics", "workflows/departments", "workflows/steps",
			"tasks/status", "tasks/origin", "tasks/performance", "tasks/users", "tasks/transfers"} {
			assert.Equal(t, srv.URL+"/analytics/"+n+"/", names[n], "the index links %s", n)
		}

		trends, err := client.Check(c.GetTicketTrendsWithResponse(ctx, &api.GetTicketTrendsParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		require.Len(t, trends.JSON200.Points, 5)
		assert.Equal(t, 2, trends.JSON200.Points[2].Created)
		assert.Equal(t, 6, trends.JSON200.Totals.Created)
		assert.Equal(t, 3, trends.JSON200.Totals.Resolved)
		week := api.GetTicketTrendsParamsIntervalWeek
		weekly, err := client.Check(c.GetTicketTrendsWithResponse(ctx, &api.GetTicketTrendsParams{StartDate: &start, EndDate: &end, Interval: &week}))
		require.NoError(t, err)
		require.Len(t, weekly.JSON200.Points, 1)
		assert.Equal(t, "2026-03-09", weekly.JSON200.Points[0].Date.String())

		items, err := client.Check(c.GetTaskItemTrendsWithResponse(ctx, &api.GetTaskItemTrendsParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		require.Len(t, items.JSON200.Points, 5)
		assert.Equal(t, 1, items.JSON200.Points[1].Transferred)

		cats, err := client.Check(c.GetTicketCategoriesWithResponse(ctx, &api.GetTicketCategoriesParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		assert.Equal(t, "Hardware", cats.JSON200.Categories[0].Category)
		assert.Equal(t, 33.33, cats.JSON200.Categories[0].Share)

		dash, err := client.Check(c.GetTicketDashboardWithResponse(ctx, &api.GetTicketDashboardParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		assert.Equal(t, 6, dash.JSON200.TotalTickets)
		assert.Equal(t, 10.0, *dash.JSON200.AvgResolutionHours)
		assert.Equal(t, 50.0, *dash.JSON200.Sla.Rate)
		require.Len(t, dash.JSON200.Series, 5)
		assert.Equal(t, 5, dash.JSON200.Series[4].OpenBacklog)
		assert.Nil(t, dash.JSON200.Series[2].SlaCompliance)
		// Aggregates are the same for everyone.
		adminDash, err := client.Check(admin.GetTicketDashboardWithResponse(ctx, &api.GetTicketDashboardParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		assert.JSONEq(t, string(dash.Body), string(adminDash.Body))

		status, err := client.Check(c.GetTicketStatusDistributionWithResponse(ctx, &api.GetTicketStatusDistributionParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		assert.Equal(t, "Resolved", status.JSON200.Groups[3].Name)
		assert.Equal(t, 3, status.JSON200.Groups[3].Count)

		prio, err := client.Check(c.GetTicketPriorityDistributionWithResponse(ctx, &api.GetTicketPriorityDistributionParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		assert.Equal(t, 14.0, *prio.JSON200.Priorities[2].AvgResolutionHours)

		age, err := client.Check(c.GetTicketAgeDistributionWithResponse(ctx, &api.GetTicketAgeDistributionParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		assert.Equal(t, 3, age.JSON200.OpenTickets)
		assert.Equal(t, 2, age.JSON200.Brackets[1].Count)

		sla, err := client.Check(c.GetTicketSLAComplianceWithResponse(ctx, &api.GetTicketSLAComplianceParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		assert.Equal(t, 1, sla.JSON200.Overall.NoSla)
		assert.Equal(t, 2, sla.JSON200.Overall.Breached)

		wf, err := client.Check(c.GetWorkflowMetricsWithResponse(ctx, &api.GetWorkflowMetricsParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		require.Len(t, wf.JSON200.Workflows, 2)
		assert.Equal(t, "Laptop", wf.JSON200.Workflows[0].Name)
		assert.Equal(t, 3, wf.JSON200.Workflows[0].Tasks)

		deps, err := client.Check(c.GetDepartmentAnalyticsWithResponse(ctx, &api.GetDepartmentAnalyticsParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		assert.Equal(t, "IT", deps.JSON200.Departments[0].Department)

		steps, err := client.Check(c.GetStepPerformanceWithResponse(ctx, &api.GetStepPerformanceParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		require.Len(t, steps.JSON200.Steps, 3)
		assert.Equal(t, 7.67, *steps.JSON200.Steps[0].AvgActionHours)

		ts, err := client.Check(c.GetTaskStatusDistributionWithResponse(ctx, &api.GetTaskStatusDistributionParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		assert.Equal(t, 5, ts.JSON200.Total)

		origin, err := client.Check(c.GetTaskOriginDistributionWithResponse(ctx, &api.GetTaskOriginDistributionParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		assert.Equal(t, 75.0, origin.JSON200.Groups[0].Share)

		perf, err := client.Check(c.GetTaskPerformanceWithResponse(ctx, &api.GetTaskPerformanceParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		assert.Equal(t, 5.6, *perf.JSON200.Assignments.AvgActionHours)
		assert.Equal(t, 60.0, *perf.JSON200.ResolutionRate)

		users, err := client.Check(c.GetUserRankingsWithResponse(ctx, &api.GetUserRankingsParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		require.Len(t, users.JSON200.Users, 3)
		assert.Equal(t, []int{1, 1, 3}, []int{users.JSON200.Users[0].Rank, users.JSON200.Users[1].Rank, users.JSON200.Users[2].Rank})

		tr, err := client.Check(c.GetTransferAnalyticsWithResponse(ctx, &api.GetTransferAnalyticsParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		assert.Equal(t, 12.5, *tr.JSON200.TransferRate)
		require.Len(t, tr.JSON200.Receivers, 1)
		assert.Equal(t, "bob", *tr.JSON200.Receivers[0].Username)

		// A filter narrows every figure: W2 holds T4 and T5.
		w2 := analyticstest.W2
		narrow, err := client.Check(c.GetTicketDashboardWithResponse(ctx, &api.GetTicketDashboardParams{StartDate: &start, EndDate: &end, WorkflowId: &w2}))
		require.NoError(t, err)
		assert.Equal(t, 2, narrow.JSON200.TotalTickets)
		assert.Equal(t, w2, *narrow.JSON200.Filters.WorkflowId)
	})
}

// The dashboard answers an SVG chart for ?format=svg and for Accept:
// image/svg+xml, with its three series.
func TestAnalyticsDashboardSVG(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, c, _ := analyticsServer(t, url)
		ctx := context.Background()
		start, end := analyticstest.StartDate, analyticstest.EndDate
		svg := api.Svg
		resp, err := client.Check(c.GetTicketDashboardWithResponse(ctx, &api.GetTicketDashboardParams{StartDate: &start, EndDate: &end, Format: &svg}))
		require.NoError(t, err)
		assert.Equal(t, "image/svg+xml", resp.HTTPResponse.Header.Get("Content-Type"))
		assertDashboardSVG(t, resp.Body)

		token := signedInUser(t, srv, "viewer")
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/analytics/tickets/dashboard/?start_date="+start+"&end_date="+end, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "image/svg+xml")
		raw, err := srv.Client.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(raw.Body)
		raw.Body.Close()
		assert.Equal(t, http.StatusOK, raw.StatusCode)
		assert.Equal(t, "image/svg+xml", raw.Header.Get("Content-Type"))
		assertDashboardSVG(t, body)
	})
}

// assertDashboardSVG checks that body is well-formed XML whose series
// groups hold the seeded range's points: 5 days, 4 with an SLA rate.
func assertDashboardSVG(t *testing.T, body []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(body))
	points := map[string]string{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "well-formed SVG")
		if el, ok := tok.(xml.StartElement); ok && el.Name.Local == "g" {
			var id, n string
			for _, a := range el.Attr {
				switch a.Name.Local {
				case "id":
					id = a.Value
				case "data-points":
					n = a.Value
				}
			}
			if n != "" {
				points[id] = n
			}
		}
	}
	assert.Equal(t, map[string]string{"volume": "5", "open-backlog": "5", "sla-compliance": "4"}, points)
}

// A bad filter is 400 in seeds/004's error shape, naming each bad
// parameter, for every analytics figure.
func TestAnalyticsRejectsABadFilter(t *testing.T) {
	srv, c, _ := analyticsServer(t, "sqlite://"+t.TempDir()+"/analytics.db")
	ctx := context.Background()
	bad := "2026-02-30"
	resp, err := c.GetTicketTrendsWithResponse(ctx, &api.GetTicketTrendsParams{StartDate: &bad})
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode())
	assert.Equal(t, []string{"must be an RFC 3339 time or a YYYY-MM-DD date"}, (*resp.JSON400.Details)["start_date"])

	token := signedInUser(t, srv, "prober")
	for _, path := range []string{"ticket-trends", "task-item-trends", "ticket-categories", "tickets/dashboard", "tickets/status",
		"tickets/priority", "tickets/age", "tickets/sla", "workflows/metrics", "workflows/departments", "workflows/steps",
		"tasks/status", "tasks/origin", "tasks/performance", "tasks/users", "tasks/transfers"} {
		// Values the document's schema refuses too, so sent unvalidated.
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/analytics/"+path+"/?start_date=2026-03-10&end_date=2026-03-01&workflow_id=0&priority=urgent", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		raw, err := srv.Raw.Do(req)
		require.NoError(t, err)
		var body struct {
			Error   string              `json:"error"`
			Details map[string][]string `json:"details"`
		}
		require.NoError(t, json.NewDecoder(raw.Body).Decode(&body))
		raw.Body.Close()
		assert.Equal(t, http.StatusBadRequest, raw.StatusCode, path)
		assert.NotEmpty(t, body.Error, path)
		var fields []string
		for f := range body.Details {
			fields = append(fields, f)
		}
		assert.ElementsMatch(t, []string{"end_date", "workflow_id", "priority"}, fields, path)
	}
	for _, q := range []string{"interval=month", "format=png"} {
		path := "/analytics/ticket-trends/?"
		if strings.HasPrefix(q, "format") {
			path = "/analytics/tickets/dashboard/?"
		}
		req, err := http.NewRequest(http.MethodGet, srv.URL+path+q, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		raw, err := srv.Raw.Do(req)
		require.NoError(t, err)
		raw.Body.Close()
		assert.Equal(t, http.StatusBadRequest, raw.StatusCode, q)
	}
}
