package server_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/client"
	"github.com/bugflow/bugflow/client/api"
	"github.com/bugflow/bugflow/internal/analyticstest"
	"github.com/bugflow/bugflow/internal/dbtest"
)

// adminAnalytics names the analytics endpoints that are for admins (the
// document's 👑): the operational insights and the forecasts.
var adminAnalytics = map[string]bool{
	"operational": true, "workload": true, "sla-risk": true, "anomalies": true, "service-health": true,
	"forecast/volume": true, "forecast/resolution": true, "forecast/category": true, "forecast/sla-risk": true,
	"forecast/workload": true, "forecast/comprehensive": true,
}

// The operational insights, forecasts and drill-downs through the
// generated client on analyticstest's history (its comments list every
// row; the numbers below are counted from them), on every backend.
func TestAnalyticsInsightsWithGeneratedClient(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, user, admin := analyticsServer(t, url)
		ctx := context.Background()
		start, end := analyticstest.StartDate, analyticstest.EndDate

		index, err := client.Check(user.GetAnalyticsIndexWithResponse(ctx))
		require.NoError(t, err)
		names := map[string]bool{}
		for _, e := range index.JSON200.Endpoints {
			names[e.Name] = true
		}
		for _, n := range []string{"drilldown/tickets/status", "drilldown/tickets/priority", "drilldown/tickets/age", "drilldown/tickets/sla",
			"drilldown/tasks/status", "drilldown/tasks/origin", "drilldown/user/{id}", "drilldown/workflow/{id}", "drilldown/transfers"} {
			assert.True(t, names[n], "the index links %s", n)
		}
		for n := range adminAnalytics {
			assert.True(t, names[n], "the index links %s", n)
		}
		assert.Len(t, index.JSON200.Endpoints, 36)

		// SLA risk now (15 12:00), whatever the range: T4 (Medium, target
		// passed 27h ago, 24h SLA, 2d3h old) 40+30+5+0 = 75 high; T3 (Low,
		// 22h left of 96h, 3d2h old) 10+⌊30·74/96⌋=23+0+5 = 38 low.
		risk, err := client.Check(admin.GetAnalyticsSLARiskWithResponse(ctx, &api.GetAnalyticsSLARiskParams{}))
		require.NoError(t, err)
		assert.Equal(t, [4]int{2, 1, 0, 1}, [4]int{risk.JSON200.Open, risk.JSON200.High, risk.JSON200.Medium, risk.JSON200.Low})
		require.Len(t, risk.JSON200.Tasks, 2)
		assert.Equal(t, 75, risk.JSON200.Tasks[0].Score)
		assert.EqualValues(t, 4, risk.JSON200.Tasks[0].TaskId)
		assert.Equal(t, 38, risk.JSON200.Tasks[1].Score)

		// The breach forecast over 7 days: T3 is due (16 10:00), T4
		// overdue; of the tasks created in [10, 15) T1 and T5 met, T2 and
		// T4 breached: p 0.5, 0.5 expected.
		srf, err := client.Check(admin.GetAnalyticsForecastSLARiskWithResponse(ctx, &api.GetAnalyticsForecastSLARiskParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		assert.Equal(t, [4]int{1, 1, 2, 2}, [4]int{srf.JSON200.OverdueNow, srf.JSON200.Due, srf.JSON200.Met, srf.JSON200.Breached})
		require.NotNil(t, srf.JSON200.ExpectedBreaches)
		assert.InDelta(t, 0.5, *srf.JSON200.ExpectedBreaches, 1e-9)
		assert.Equal(t, 7, srf.JSON200.Horizon)
		assert.NotEmpty(t, srf.JSON200.Method)
		assert.NotEmpty(t, srf.JSON200.Interval)

		// Five days are too few to forecast: a reason, no points, no 500.
		vol, err := client.Check(admin.GetAnalyticsForecastVolumeWithResponse(ctx, &api.GetAnalyticsForecastVolumeParams{StartDate: &start, EndDate: &end, Horizon: ptr(3)}))
		require.NoError(t, err)
		require.NotNil(t, vol.JSON200.Forecast.Reason)
		assert.Empty(t, vol.JSON200.Forecast.Points)
		assert.Equal(t, 3, vol.JSON200.Forecast.Horizon)
		assert.Len(t, vol.JSON200.History, 5)
		// The default 30 days are enough.
		vol, err = client.Check(admin.GetAnalyticsForecastVolumeWithResponse(ctx, &api.GetAnalyticsForecastVolumeParams{}))
		require.NoError(t, err)
		assert.Nil(t, vol.JSON200.Forecast.Reason)
		assert.Len(t, vol.JSON200.Forecast.Points, 7)

		health, err := client.Check(admin.GetAnalyticsServiceHealthWithResponse(ctx, &api.GetAnalyticsServiceHealthParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		// Open now: T3, T4, T8, T9; met T1, T5; breached T2, T4.
		assert.Equal(t, [3]int{4, 2, 2}, [3]int{health.JSON200.Overall.Open, health.JSON200.Overall.Met, health.JSON200.Overall.Breached})
		assert.Len(t, health.JSON200.Workflows, 2)
		for name, call := range map[string]func() (int, error){
			"operational": func() (int, error) {
				r, err := admin.GetAnalyticsOperationalWithResponse(ctx, &api.GetAnalyticsOperationalParams{StartDate: &start, EndDate: &end})
				return r.StatusCode(), err
			},
			"workload": func() (int, error) {
				r, err := admin.GetAnalyticsWorkloadWithResponse(ctx, &api.GetAnalyticsWorkloadParams{})
				return r.StatusCode(), err
			},
			"anomalies": func() (int, error) {
				r, err := admin.GetAnalyticsAnomaliesWithResponse(ctx, &api.GetAnalyticsAnomaliesParams{})
				return r.StatusCode(), err
			},
			"forecast/resolution": func() (int, error) {
				r, err := admin.GetAnalyticsForecastResolutionWithResponse(ctx, &api.GetAnalyticsForecastResolutionParams{})
				return r.StatusCode(), err
			},
			"forecast/category": func() (int, error) {
				r, err := admin.GetAnalyticsForecastCategoryWithResponse(ctx, &api.GetAnalyticsForecastCategoryParams{})
				return r.StatusCode(), err
			},
			"forecast/workload": func() (int, error) {
				r, err := admin.GetAnalyticsForecastWorkloadWithResponse(ctx, &api.GetAnalyticsForecastWorkloadParams{})
				return r.StatusCode(), err
			},
			"forecast/comprehensive": func() (int, error) {
				r, err := admin.GetAnalyticsForecastComprehensiveWithResponse(ctx, &api.GetAnalyticsForecastComprehensiveParams{Horizon: ptr(14)})
				return r.StatusCode(), err
			},
		} {
			status, err := call()
			require.NoError(t, err, name)
			assert.Equal(t, http.StatusOK, status, name)
		}

		// Drill-downs, as the admin: the tickets created in [10, 15) are
		// T1, T2, T3, T4, T5, T7; three resolved.
		page, err := client.Check(admin.DrilldownTicketsByStatusWithResponse(ctx, &api.DrilldownTicketsByStatusParams{StartDate: &start, EndDate: &end, PageSize: ptr(4)}))
		require.NoError(t, err)
		assert.Equal(t, 6, page.JSON200.Count)
		assert.Len(t, page.JSON200.Results, 4)
		require.NotNil(t, page.JSON200.Next)
		assert.Nil(t, page.JSON200.Previous)
		page, err = client.Check(admin.DrilldownTicketsByStatusWithResponse(ctx, &api.DrilldownTicketsByStatusParams{StartDate: &start, EndDate: &end, PageSize: ptr(4), Page: ptr(2)}))
		require.NoError(t, err)
		assert.Len(t, page.JSON200.Results, 2)
		resolved, err := client.Check(admin.DrilldownTicketsByStatusWithResponse(ctx, &api.DrilldownTicketsByStatusParams{StartDate: &start, EndDate: &end, Status: ptr("Resolved")}))
		require.NoError(t, err)
		assert.Equal(t, 3, resolved.JSON200.Count)
		urgent := api.DrilldownTicketsByPriorityParamsPriority("Urgent")
		byPriority, err := client.Check(admin.DrilldownTicketsByPriorityWithResponse(ctx, &api.DrilldownTicketsByPriorityParams{StartDate: &start, EndDate: &end, Priority: &urgent}))
		require.NoError(t, err)
		assert.Equal(t, 1, byPriority.JSON200.Count) // T5
		for sla, want := range map[api.DrilldownTicketsBySLAParamsSla]int{
			api.DrilldownTicketsBySLAParamsSlaMet: 2, api.DrilldownTicketsBySLAParamsSlaBreached: 2,
			api.DrilldownTicketsBySLAParamsSlaOpen: 1, api.DrilldownTicketsBySLAParamsSlaNoSla: 1,
		} {
			got, err := client.Check(admin.DrilldownTicketsBySLAWithResponse(ctx, &api.DrilldownTicketsBySLAParams{StartDate: &start, EndDate: &end, Sla: &sla}))
			require.NoError(t, err)
			assert.Equal(t, want, got.JSON200.Count, sla)
		}
		// Unresolved and 1-3 days old at 15 12:00: T4 (13 09:00), T7 (12
		// 15:00); T3 (12 10:00) is 3d2h.
		bracket := api.DrilldownTicketsByAgeParamsBracket("1-3d")
		aged, err := client.Check(admin.DrilldownTicketsByAgeWithResponse(ctx, &api.DrilldownTicketsByAgeParams{StartDate: &start, EndDate: &end, Bracket: &bracket}))
		require.NoError(t, err)
		assert.Equal(t, 2, aged.JSON200.Count)
		status := api.DrilldownTasksByStatusParamsStatus("new")
		tasks, err := client.Check(admin.DrilldownTasksByStatusWithResponse(ctx, &api.DrilldownTasksByStatusParams{StartDate: &start, EndDate: &end, Status: &status}))
		require.NoError(t, err)
		assert.Equal(t, 1, tasks.JSON200.Count) // T4
		origin := api.DrilldownTasksByOriginParamsOriginEscalation
		escalated, err := client.Check(admin.DrilldownTasksByOriginWithResponse(ctx, &api.DrilldownTasksByOriginParams{StartDate: &start, EndDate: &end, Origin: &origin}))
		require.NoError(t, err)
		require.Equal(t, 1, escalated.JSON200.Count) // a6
		assert.Equal(t, "u2", escalated.JSON200.Results[0].UserId)
		transfers, err := client.Check(admin.DrilldownTransfersWithResponse(ctx, &api.DrilldownTransfersParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		require.Equal(t, 1, transfers.JSON200.Count) // a4, from alice's a3
		require.NotNil(t, transfers.JSON200.Results[0].FromUserId)
		assert.Equal(t, "u1", *transfers.JSON200.Results[0].FromUserId)
		bob, err := client.Check(admin.DrilldownUserWithResponse(ctx, "u2", &api.DrilldownUserParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		assert.Equal(t, 3, bob.JSON200.Count) // a2, a4, a6
		w1, err := client.Check(admin.DrilldownWorkflowWithResponse(ctx, analyticstest.W1, &api.DrilldownWorkflowParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		assert.Equal(t, 3, w1.JSON200.Count) // T1, T2, T3
		missing, err := admin.DrilldownWorkflowWithResponse(ctx, 99, &api.DrilldownWorkflowParams{})
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, missing.StatusCode())

		// A signed-in user who is no admin: the drill-downs answer with
		// only the records that user may see (none of this history is
		// theirs), another user's drill-down is 403, and the insights and
		// forecasts are 403.
		mine, err := client.Check(user.DrilldownTicketsByStatusWithResponse(ctx, &api.DrilldownTicketsByStatusParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		assert.Zero(t, mine.JSON200.Count)
		mineTasks, err := client.Check(user.DrilldownWorkflowWithResponse(ctx, analyticstest.W1, &api.DrilldownWorkflowParams{StartDate: &start, EndDate: &end}))
		require.NoError(t, err)
		assert.Zero(t, mineTasks.JSON200.Count)
		other, err := user.DrilldownUserWithResponse(ctx, "u2", &api.DrilldownUserParams{})
		require.NoError(t, err)
		assert.Equal(t, http.StatusForbidden, other.StatusCode())
		require.NotNil(t, other.JSON403)
		viewer := signedInUser(t, srv, "viewer")
		for path := range adminAnalytics {
			status, body := call(t, srv.Client, http.MethodGet, srv.URL+"/analytics/"+path+"/", "", "Authorization", "Bearer "+viewer)
			assert.Equal(t, http.StatusForbidden, status, "%s: %v", path, body)
			assert.NotEmpty(t, body["error"], path)
		}
	})
}

// A bad parameter of an insight, forecast or drill-down is 400 in the
// seeds/004 error shape, naming the parameter.
func TestAnalyticsInsightsRejectBadParameters(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, _, _ := analyticsServer(t, url)
		for _, tc := range []struct{ path, field string }{
			{"/analytics/forecast/volume/?horizon=0", "horizon"},
			{"/analytics/forecast/workload/?horizon=91", "horizon"},
			{"/analytics/forecast/comprehensive/?horizon=week", "horizon"},
			{"/analytics/sla-risk/?start_date=yesterday", "start_date"},
			{"/analytics/operational/?start_date=2026-03-10&end_date=2026-03-01", "end_date"},
			{"/analytics/drilldown/tickets/age/?bracket=old", "bracket"},
			{"/analytics/drilldown/tickets/sla/?sla=late", "sla"},
			{"/analytics/drilldown/tasks/origin/?origin=Magic", "origin"},
			{"/analytics/drilldown/tasks/status/?status=done", "status"},
			{"/analytics/drilldown/transfers/?workflow_id=0", "workflow_id"},
			{"/analytics/drilldown/user/u1/?priority=Whenever", "priority"},
			{"/analytics/drilldown/workflow/1/?page=0", "page"},
		} {
			// Values the schema refuses too, so sent unvalidated.
			status, body := call(t, srv.Raw, http.MethodGet, srv.URL+tc.path, "", "Authorization", "Bearer "+testAdminKey)
			require.Equal(t, http.StatusBadRequest, status, "%s: %v", tc.path, body)
			assert.NotEmpty(t, body["error"], tc.path)
			details, _ := body["details"].(map[string]any)
			assert.Contains(t, details, tc.field, tc.path)
		}
	})
}
