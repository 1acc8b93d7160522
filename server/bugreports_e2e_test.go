package server_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/bugs"
	"github.com/bugflow/bugflow/client"
	"github.com/bugflow/bugflow/client/api"
	"github.com/bugflow/bugflow/internal/apitest"
	"github.com/bugflow/bugflow/internal/dbtest"
)

// signedInUser registers and logs in a non-admin user and returns its token.
func signedInUser(t *testing.T, srv *apitest.Server, username string) string {
	t.Helper()
	ctx := context.Background()
	c := newAPIClient(t, srv)
	_, err := client.Check(c.RegisterWithResponse(ctx, api.RegisterJSONRequestBody{Username: username, Password: username + "-password", Name: ptr("Jane"), Lastname: ptr("Smith")}))
	require.NoError(t, err)
	in, err := client.Check(c.LoginWithResponse(ctx, api.LoginJSONRequestBody{Username: username, Password: username + "-password"}))
	require.NoError(t, err)
	return in.JSON200.Token
}

// The six seeds/002 endpoints through the generated client, on every backend.
func TestBugReportsWithGeneratedClient(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, _ := identityServer(t, url)
		ctx := context.Background()
		admin := newAPIClient(t, srv, client.WithToken(testAdminKey))
		userToken := signedInUser(t, srv, "jane")
		user := newAPIClient(t, srv, client.WithToken(userToken))

		// Any signed-in user may auto-report; the same error twice is one
		// report counted twice, and an id in the message changes nothing.
		first, err := client.Check(user.AutoBugReportWithResponse(ctx, api.AutoBugReportJSONRequestBody{
			Source: "auto:client", ErrorMessage: ptr("Order 1234 not found for user 7f9c2a1e-0d4b-4c8e-9b1a-2f3e4d5c6b7a"),
			Context: &map[string]interface{}{"url": "https://app.example.com/pages/123", "apiKey": "sk-live-123"},
		}))
		require.NoError(t, err)
		require.NotNil(t, first.JSON201, "a new report is 201")
		second, err := client.Check(user.AutoBugReportWithResponse(ctx, api.AutoBugReportJSONRequestBody{
			Source: "auto:client", ErrorMessage: ptr("Order 98 not found for user 11111111-2222-3333-4444-555555555555"),
		}))
		require.NoError(t, err)
		require.NotNil(t, second.JSON200, "a repeat is 200")
		assert.Equal(t, first.JSON201.Data.Id, second.JSON200.Data.Id)
		assert.Equal(t, 2, second.JSON200.Data.OccurrenceCount)
		assert.Equal(t, "[REDACTED]", (*first.JSON201.Data.Context)["apiKey"])
		assert.NotEmpty(t, first.JSON201.Data.Title, "auto title")

		// Everything else is for admins (TestEveryRouteEnforcesItsAccess
		// checks the 401 and 403 of every route).
		created, err := client.Check(admin.CreateBugReportWithResponse(ctx, api.CreateBugReportJSONRequestBody{
			Title: "Export button not working", Description: ptr("When clicking Export on pages with tables, nothing happens"),
			Source: "user:command", Severity: ptr(api.BugSeverity("high")), SpaceId: ptr("space_456"),
			Context: &map[string]interface{}{"pageId": "page_789"},
		}))
		require.NoError(t, err)
		rep := created.JSON201.Data
		assert.Equal(t, api.BugStatus("open"), rep.Status)
		assert.Equal(t, 201, int(created.JSON201.Status))

		got, err := client.Check(admin.GetBugReportWithResponse(ctx, api.GetBugReportJSONRequestBody{BugReportId: first.JSON201.Data.Id}))
		require.NoError(t, err)
		require.NotNil(t, got.JSON200.Data.Reporter)
		assert.Equal(t, "Jane Smith", got.JSON200.Data.Reporter.Name)

		upd, err := client.Check(admin.UpdateBugReportWithResponse(ctx, api.UpdateBugReportJSONRequestBody{BugReportId: rep.Id, Status: ptr(api.BugStatus("resolved"))}))
		require.NoError(t, err)
		assert.NotNil(t, upd.JSON200.Data.ResolvedAt, "resolve stamps resolvedAt")

		page, err := client.Check(admin.ListBugReportsWithResponse(ctx, api.ListBugReportsJSONRequestBody{Limit: ptr(1)}))
		require.NoError(t, err)
		assert.Equal(t, 2, page.JSON200.Data.Meta.Total)
		assert.True(t, page.JSON200.Data.Meta.HasNextPage)
		assert.False(t, page.JSON200.Data.Meta.HasPrevPage)
		require.Len(t, page.JSON200.Data.Items, 1)
		assert.Equal(t, rep.Id, page.JSON200.Data.Items[0].Id, "newest first")
		filtered, err := client.Check(admin.ListBugReportsWithResponse(ctx, api.ListBugReportsJSONRequestBody{Source: ptr(api.BugSource("auto:client"))}))
		require.NoError(t, err)
		require.Len(t, filtered.JSON200.Data.Items, 1)

		_, err = client.Check(admin.DeleteBugReportWithResponse(ctx, api.DeleteBugReportJSONRequestBody{BugReportId: rep.Id}))
		require.NoError(t, err)
		gone, err := admin.GetBugReportWithResponse(ctx, api.GetBugReportJSONRequestBody{BugReportId: rep.Id})
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, gone.StatusCode())
		page, err = client.Check(admin.ListBugReportsWithResponse(ctx, api.ListBugReportsJSONRequestBody{}))
		require.NoError(t, err)
		assert.Equal(t, 1, page.JSON200.Data.Meta.Total, "deleted reports are not listed")
	})
}

// The curl examples of seeds/002 as raw HTTP, plus the 400s that name the
// field and the journey attached to a report filed by a person.
func TestBugReportsCurlExamples(t *testing.T) {
	srv, _ := identityServer(t, "")
	auth := []string{"Authorization", "Bearer " + testAdminKey}

	resp, body := rawPost(t, srv.Client, srv.URL+"/api/bug-reports/auto", `{
"source": "auto:client",
"errorMessage": "Cannot read property \"length\" of undefined",
"errorStack": "TypeError: Cannot read property...",
"context": {
"url": "https://app.example.com/pages/123",
"userAgent": "Mozilla/5.0..."
}
}`, auth...)
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	assert.Equal(t, true, body["success"])
	id := body["data"].(map[string]any)["id"].(string)

	resp, body = rawPost(t, srv.Client, srv.URL+"/api/bug-reports/list", `{
"status": "open",
"severity": "high",
"limit": 10
}`, auth...)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	meta := body["data"].(map[string]any)["meta"].(map[string]any)
	assert.Equal(t, float64(10), meta["limit"])
	_, body = rawPost(t, srv.Raw, srv.URL+"/api/bug-reports/list", `{"limit": 1000}`, auth...)
	meta = body["data"].(map[string]any)["meta"].(map[string]any)
	assert.Equal(t, float64(100), meta["limit"], "limits above 100 are capped")

	resp, body = rawPost(t, srv.Client, srv.URL+"/api/bug-reports/get", `{ "bugReportId": "`+id+`" }`, auth...)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	resp, body = rawPost(t, srv.Client, srv.URL+"/api/bug-reports/update", `{
"bugReportId": "`+id+`",
"status": "resolved"
}`, auth...)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	resp, body = rawPost(t, srv.Client, srv.URL+"/api/bug-reports/delete", `{ "bugReportId": "`+id+`" }`, auth...)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)

	// Bad input is a 400 naming the field.
	for _, tt := range []struct{ path, body, field string }{
		{"/api/bug-reports/create", `{"source": "user:command"}`, "title"},
		{"/api/bug-reports/create", `{"title": "x", "source": "user:command", "severity": "urgent"}`, "severity"},
		{"/api/bug-reports/auto", `{"source": "user:command", "errorMessage": "x"}`, "source"},
		{"/api/bug-reports/list", `{"source": "auto:nowhere"}`, "source"},
		{"/api/bug-reports/list", `{"fromDate": "yesterday"}`, "fromDate"},
		{"/api/bug-reports/get", `{}`, "bugReportId"},
	} {
		resp, body = rawPost(t, srv.Raw, srv.URL+tt.path, tt.body, auth...)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s %s: %v", tt.path, tt.body, body)
		errBody, _ := body["error"].(map[string]any)
		assert.Contains(t, errBody["details"], tt.field, "%s %s", tt.path, tt.body)
		assert.Equal(t, false, body["success"])
	}

	// A person's recent requests become the journey of the report they file.
	ctx := context.Background()
	adminUser, key, err := srv.Engine.Auth.CreateAdmin(ctx, rootIdentity(t, srv), "triager")
	require.NoError(t, err)
	sess, err := srv.Engine.Auth.AdminLogin(ctx, adminUser.Username, key)
	require.NoError(t, err)
	withSession := []string{"Cookie", "jji_session=" + sess.Token}
	resp, _ = rawPost(t, srv.Client, srv.URL+"/api/bug-reports/list", `{}`, withSession...)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, body = rawPost(t, srv.Client, srv.URL+"/api/bug-reports/create", `{"title": "Broken list", "source": "user:command", "userJourney": {"breadcrumbs": ["clicked export"]}}`, withSession...)
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	journey := body["data"].(map[string]any)["userJourney"].(map[string]any)
	actions := journey["recentActions"].([]any)
	require.NotEmpty(t, actions)
	assert.Contains(t, actions[0].(map[string]any)["summary"], "/api/bug-reports/list")
	assert.NotNil(t, journey["client"], "the client's breadcrumbs are kept")
}

// 100 concurrent identical auto reports through the whole HTTP stack make
// one report with count 100, on every backend.
func TestConcurrentAutoReportsMakeOneReport(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, _ := identityServer(t, url)
		var wg sync.WaitGroup
		codes := make(chan int, 100)
		for range 100 {
			wg.Go(func() {
				resp, _ := rawPost(t, srv.Raw, srv.URL+"/api/bug-reports/auto", `{"source": "auto:server", "errorMessage": "database is locked"}`, "Authorization", "Bearer "+testAdminKey)
				codes <- resp.StatusCode
			})
		}
		wg.Wait()
		close(codes)
		created := 0
		for c := range codes {
			require.Contains(t, []int{200, 201}, c)
			if c == 201 {
				created++
			}
		}
		assert.Equal(t, 1, created)
		page, err := srv.Engine.Bugs.List(context.Background(), bugs.ListFilter{})
		require.NoError(t, err)
		require.Len(t, page.Items, 1)
		assert.Equal(t, 100, page.Items[0].OccurrenceCount)
	})
}
