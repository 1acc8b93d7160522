package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/client"
	"github.com/bugflow/bugflow/client/api"
	"github.com/bugflow/bugflow/internal/apitest"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/tickets"
	"github.com/bugflow/bugflow/workflow"
)

// documentTicket is seeds/004's create body exactly as the document writes
// it.
const documentTicket = `{
  "subject": "Laptop not turning on",
  "description": "My laptop shows no signs of power",
  "category": "Technology",
  "subcategory": "Hardware",
  "department": "IT",
  "priority": "High",
  "employee": {
    "id": 101,
    "name": "John Smith",
    "email": "john.smith@company.com"
  }
}`

// rawJSON sends body as raw HTTP through the contract harness, with the
// bearer token, and decodes the answer into a map.
func rawJSON(t *testing.T, srv *apitest.Server, method, path, body, token string) (int, map[string]any) {
	t.Helper()
	return call(t, srv.Client, method, srv.URL+path, body, "Authorization", "Bearer "+token)
}

// coordinator signs up username and makes it a Ticket Coordinator.
func coordinator(t *testing.T, srv *apitest.Server, username string) string {
	t.Helper()
	ctx := context.Background()
	token := signedInUser(t, srv, username)
	u, err := srv.Engine.Auth.UserByUsername(ctx, username)
	require.NoError(t, err)
	role, err := srv.Engine.Auth.RoleByName(ctx, auth.TicketCoordinator)
	require.NoError(t, err)
	admin := &auth.Identity{User: auth.User{Username: auth.ReservedUsername, Role: auth.RoleAdmin}, Method: auth.MethodBootstrap}
	_, err = srv.Engine.Auth.AddUserRole(ctx, admin, role.ID, u.ID)
	require.NoError(t, err)
	return token
}

// seeds/004's tickets through raw HTTP (the document's body as written)
// and the generated client: who may read, change and delete which ticket,
// and the audit trail of it all.
func TestTicketsWithGeneratedClient(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, _ := identityServer(t, url)
		ctx := context.Background()
		aliceToken, bobToken, carolToken := signedInUser(t, srv, "alice"), signedInUser(t, srv, "bob"), coordinator(t, srv, "carol")
		root := newAPIClient(t, srv, client.WithToken(testAdminKey))
		alice := newAPIClient(t, srv, client.WithToken(aliceToken))
		bob := newAPIClient(t, srv, client.WithToken(bobToken))
		carol := newAPIClient(t, srv, client.WithToken(carolToken))
		aliceUser, err := srv.Engine.Auth.UserByUsername(ctx, "alice")
		require.NoError(t, err)

		// The document's request, as written: 201 with its response's
		// fields. No workflow takes it, and the answer says so.
		status, body := rawJSON(t, srv, http.MethodPost, "/tickets/", documentTicket, aliceToken)
		require.Equal(t, http.StatusCreated, status, "%v", body)
		assert.Regexp(t, `^TX`+time.Now().UTC().Format("20060102")+`\d{6}$`, body["ticket_id"])
		assert.Equal(t, "Laptop not turning on", body["subject"])
		assert.Equal(t, "New", body["status"])
		assert.Equal(t, "High", body["priority"])
		assert.Equal(t, tickets.NoWorkflowMessage, body["message"])
		assert.Equal(t, map[string]any{"id": 101.0, "name": "John Smith", "email": "john.smith@company.com"}, body["employee"])
		assert.Equal(t, aliceUser.ID, body["submitted_by"])
		created, err := time.Parse(time.RFC3339Nano, body["created_at"].(string))
		require.NoError(t, err)
		assert.WithinDuration(t, time.Now(), created, time.Minute)
		laptopID := int64(body["id"].(float64))
		laptopTX := body["ticket_id"].(string)

		// /send/ takes the same body from another system.
		sent, err := client.Check(alice.SendTicketWithResponse(ctx, api.SendTicketJSONRequestBody{Subject: "VPN drops", Department: ptr("IT"), Priority: ptr("urgent")}))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, sent.StatusCode())
		assert.Equal(t, api.PriorityUrgent, sent.JSON201.Priority)
		assert.Equal(t, api.TicketStatusNew, sent.JSON201.Status)
		bobs, err := client.Check(bob.CreateTicketWithResponse(ctx, api.CreateTicketJSONRequestBody{Subject: "Chair broke"}))
		require.NoError(t, err)

		// Reading: the submitter, coordinators and admins; bob is told it
		// does not exist.
		for name, c := range map[string]*client.Client{"alice": alice, "carol": carol, "root": root} {
			got, err := client.Check(c.GetTicketWithResponse(ctx, fmt.Sprint(laptopID)))
			require.NoError(t, err, name)
			assert.Equal(t, laptopTX, got.JSON200.TicketId, name)
		}
		denied, err := bob.GetTicketWithResponse(ctx, fmt.Sprint(laptopID))
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, denied.StatusCode())
		require.NotNil(t, denied.JSON404)
		status, body = rawJSON(t, srv, http.MethodGet, "/tickets/"+laptopTX+"/", "", aliceToken)
		assert.Equal(t, http.StatusOK, status, "the TX ticket id names it too")
		assert.EqualValues(t, laptopID, body["id"])
		status, _ = rawJSON(t, srv, http.MethodGet, "/tickets/"+laptopTX+"/", "", bobToken)
		assert.Equal(t, http.StatusNotFound, status)

		count := func(c *client.Client, params *api.ListTicketsParams) int {
			list, err := client.Check(c.ListTicketsWithResponse(ctx, params))
			require.NoError(t, err)
			assert.Len(t, list.JSON200.Results, list.JSON200.Count)
			return list.JSON200.Count
		}
		assert.Equal(t, 2, count(alice, nil))
		assert.Equal(t, 1, count(bob, nil))
		assert.Equal(t, 3, count(carol, nil))
		assert.Equal(t, 3, count(root, &api.ListTicketsParams{Status: ptr(api.TicketStatusNew)}))
		assert.Equal(t, 0, count(root, &api.ListTicketsParams{Status: ptr(api.TicketStatusOpen)}))
		assert.Equal(t, 1, count(root, &api.ListTicketsParams{Priority: ptr("HIGH"), Department: ptr("IT"), Category: ptr("Technology")}))
		page, err := client.Check(carol.ListTicketsWithResponse(ctx, &api.ListTicketsParams{PageSize: ptr(2)}))
		require.NoError(t, err)
		require.NotNil(t, page.JSON200.Next)
		status, body = call(t, srv.Client, http.MethodGet, *page.JSON200.Next, "", "Authorization", "Bearer "+carolToken)
		require.Equal(t, http.StatusOK, status)
		assert.Len(t, body["results"], 1, "next works")

		// Changing: who may read it; routing fields only while New.
		updated, err := client.Check(carol.UpdateTicketWithResponse(ctx, fmt.Sprint(laptopID), api.UpdateTicketJSONRequestBody{Priority: ptr("low"), Description: ptr("Dead battery")}))
		require.NoError(t, err)
		assert.Equal(t, api.PriorityLow, updated.JSON200.Priority)
		assert.Equal(t, "Dead battery", updated.JSON200.Description)
		assert.Equal(t, "Laptop not turning on", updated.JSON200.Subject)
		noRight, err := bob.UpdateTicketWithResponse(ctx, fmt.Sprint(laptopID), api.UpdateTicketJSONRequestBody{Subject: ptr("mine now")})
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, noRight.StatusCode())

		// Deleting: admins only.
		for _, c := range []*client.Client{alice, carol} {
			r, err := c.DeleteTicketWithResponse(ctx, fmt.Sprint(bobs.JSON201.Id))
			require.NoError(t, err)
			assert.Equal(t, http.StatusForbidden, r.StatusCode())
		}
		del, err := client.Check(root.DeleteTicketWithResponse(ctx, fmt.Sprint(bobs.JSON201.Id)))
		require.NoError(t, err)
		assert.Equal(t, http.StatusNoContent, del.StatusCode())
		gone, err := root.GetTicketWithResponse(ctx, fmt.Sprint(bobs.JSON201.Id))
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, gone.StatusCode())

		// Every change is in the audit trail, by who made it.
		events, err := client.Check(root.ListAuditEventsByTargetWithResponse(ctx, &api.ListAuditEventsByTargetParams{TargetType: "Ticket", TargetId: strconv.FormatInt(laptopID, 10)}))
		require.NoError(t, err)
		require.Equal(t, 2, events.JSON200.Count)
		assert.Equal(t, "update_ticket", events.JSON200.Results[0].Action)
		assert.Equal(t, "carol", events.JSON200.Results[0].Username)
		assert.Equal(t, "create_ticket", events.JSON200.Results[1].Action)
		assert.Equal(t, aliceUser.ID, *events.JSON200.Results[1].UserId)
		deleted, err := client.Check(root.ListAuditEventsWithResponse(ctx, &api.ListAuditEventsParams{Action: ptr("delete_ticket")}))
		require.NoError(t, err)
		require.Equal(t, 1, deleted.JSON200.Count)
		assert.Nil(t, deleted.JSON200.Results[0].UserId, "the bootstrap admin has no user id")
		assert.Equal(t, auth.ReservedUsername, deleted.JSON200.Results[0].Username)

		// With an initialized workflow for it, the document's ticket sent
		// from another system is taken by a task, owned by the only Ticket
		// Coordinator.
		tc, err := srv.Engine.Auth.RoleByName(ctx, auth.TicketCoordinator)
		require.NoError(t, err)
		carolUser, err := srv.Engine.Auth.UserByUsername(ctx, "carol")
		require.NoError(t, err)
		wf, err := srv.Engine.Workflow.CreateWorkflow(ctx, workflow.WorkflowInput{Name: "IT Support Request", Category: "Technology", SubCategory: "Support", Department: "IT", HighSLA: "24:00:00"},
			&workflow.GraphInput{Nodes: []workflow.NodeInput{
				{TempID: "a", StepInput: workflow.StepInput{Name: "Triage", RoleID: &tc.ID, IsStart: true}},
				{TempID: "b", StepInput: workflow.StepInput{Name: "Fix", RoleID: &tc.ID, IsEnd: true}},
			}, Edges: []workflow.EdgeInput{{FromTempID: "a", ToTempID: "b"}}})
		require.NoError(t, err)
		_, err = srv.Engine.Workflow.Initialize(ctx, wf.ID)
		require.NoError(t, err)
		status, body = rawJSON(t, srv, http.MethodPost, "/send/", documentTicket, bobToken)
		require.Equal(t, http.StatusCreated, status, "%v", body)
		assert.Equal(t, "Open", body["status"])
		assert.NotNil(t, body["task_id"])
		assert.EqualValues(t, wf.ID, body["workflow_id"])
		assert.Equal(t, carolUser.ID, body["owner_id"])
		assert.NotContains(t, body, "message")
		status, _ = rawJSON(t, srv, http.MethodGet, fmt.Sprintf("/tickets/%v/", body["id"]), "", carolToken)
		assert.Equal(t, http.StatusOK, status, "its owner reads it")

		// The API root links the tickets now that they answer.
		var rootLinks map[string]string
		getJSON(t, srv.Client, srv.URL+"/", &rootLinks)
		assert.Equal(t, srv.URL+"/tickets/", rootLinks["tickets"])
	})
}

// Bad ticket input is refused in the DRF dialect, naming the field.
func TestTicketsRefuseBadInputInTheirDialect(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, _ := identityServer(t, url)
		token := signedInUser(t, srv, "alice")
		status, body := rawJSON(t, srv, http.MethodPost, "/tickets/", documentTicket, token)
		require.Equal(t, http.StatusCreated, status)
		id := fmt.Sprint(int64(body["id"].(float64)))
		header := []string{"Authorization", "Bearer " + token}
		long := strings.Repeat("s", tickets.MaxSubjectLength+1)
		assertDRFRefusals(t, srv, header, []drfRefusal{
			{http.MethodPost, "/tickets/", `{}`, http.StatusBadRequest, "subject"},
			{http.MethodPost, "/tickets/", `{"subject": "` + long + `"}`, http.StatusBadRequest, "subject"},
			{http.MethodPost, "/send/", `{"subject": "x", "priority": "Critical"}`, http.StatusBadRequest, "priority"},
			{http.MethodPost, "/send/", `{"subject": "x", "employee": {"id": "101", "name": "J", "email": "j@x.io"}}`, http.StatusBadRequest, "employee.id"},
			{http.MethodPost, "/send/", `{"subject": "x", "employee": {"id": 1.5, "name": "J", "email": "j@x.io"}}`, http.StatusBadRequest, "employee.id"},
			{http.MethodPost, "/tickets/", `{"subject": "x", "employee": {"id": 1, "name": "J", "email": "nope"}}`, http.StatusBadRequest, "employee.email"},
			{http.MethodPut, "/tickets/" + id + "/", `{"priority": "soon"}`, http.StatusBadRequest, "priority"},
			{http.MethodPut, "/tickets/" + id + "/", `{"subject": ""}`, http.StatusBadRequest, "subject"},
			{http.MethodGet, "/tickets/?status=Closed", ``, http.StatusBadRequest, "status"},
			{http.MethodGet, "/tickets/?page_size=101", ``, http.StatusBadRequest, "page_size"},
			{http.MethodGet, "/tickets/abc/", ``, http.StatusNotFound, ""},
			{http.MethodGet, "/tickets/999999/", ``, http.StatusNotFound, ""},
			{http.MethodPut, "/tickets/999999/", `{"subject": "x"}`, http.StatusNotFound, ""},
		})
	})
}

// seeds/004's audit API: filters, the document's example query, by-target
// and its required parameters, date ranges, role membership events, admins
// only.
func TestAuditEventsOverHTTP(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, _ := identityServer(t, url)
		ctx := context.Background()
		root := newAPIClient(t, srv, client.WithToken(testAdminKey))
		aliceToken := signedInUser(t, srv, "alice")
		alice := newAPIClient(t, srv, client.WithToken(aliceToken))
		aliceUser, err := srv.Engine.Auth.UserByUsername(ctx, "alice")
		require.NoError(t, err)

		// Changes to audit: a workflow updated, a role membership granted.
		created, err := client.Check(root.CreateWorkflowWithResponse(ctx, api.CreateWorkflowJSONRequestBody{Workflow: api.WorkflowInput{Name: "IT Support"}}))
		require.NoError(t, err)
		wfID := created.JSON201.WorkflowId
		_, err = client.Check(root.UpdateWorkflowDetailsWithResponse(ctx, wfID, api.UpdateWorkflowDetailsJSONRequestBody{Name: "IT Support 2"}))
		require.NoError(t, err)
		roles, err := client.Check(root.ListRolesWithResponse(ctx, nil))
		require.NoError(t, err)
		tc := roles.JSON200.Results[0].RoleId
		_, err = client.Check(root.AddRoleMemberWithResponse(ctx, tc, api.AddRoleMemberJSONRequestBody{UserId: aliceUser.ID}))
		require.NoError(t, err)

		// The document's example answers 200 (user 5 made no change).
		status, body := rawJSON(t, srv, http.MethodGet, "/audit/events/?action=update_workflow&user_id=5&target_type=Workflow", "", testAdminKey)
		require.Equal(t, http.StatusOK, status, "%v", body)
		assert.EqualValues(t, 0, body["count"])
		updates, err := client.Check(root.ListAuditEventsWithResponse(ctx, &api.ListAuditEventsParams{Action: ptr("update_workflow"), TargetType: ptr("Workflow"), TargetId: ptr(strconv.FormatInt(wfID, 10))}))
		require.NoError(t, err)
		require.Equal(t, 1, updates.JSON200.Count)
		ev := updates.JSON200.Results[0]

		got, err := client.Check(root.GetAuditEventWithResponse(ctx, ev.Id))
		require.NoError(t, err)
		assert.Equal(t, ev, *got.JSON200)
		missing, err := root.GetAuditEventWithResponse(ctx, ev.Id+1000)
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, missing.StatusCode())

		members, err := client.Check(root.ListAuditEventsByTargetWithResponse(ctx, &api.ListAuditEventsByTargetParams{TargetType: "Role", TargetId: strconv.FormatInt(tc, 10)}))
		require.NoError(t, err)
		require.Equal(t, 1, members.JSON200.Count)
		assert.Equal(t, "add_role_member", members.JSON200.Results[0].Action)
		_, err = client.Check(root.RemoveRoleMemberWithResponse(ctx, tc, aliceUser.ID))
		require.NoError(t, err)
		members, err = client.Check(root.ListAuditEventsByTargetWithResponse(ctx, &api.ListAuditEventsByTargetParams{TargetType: "Role", TargetId: strconv.FormatInt(tc, 10), Action: ptr("remove_role_member")}))
		require.NoError(t, err)
		assert.Equal(t, 1, members.JSON200.Count)

		// Date ranges around the event's own time: a date as end_date
		// includes its whole day.
		day := ev.Timestamp.UTC().Format(time.DateOnly)
		before := ev.Timestamp.UTC().AddDate(0, 0, -1).Format(time.DateOnly)
		after := ev.Timestamp.UTC().AddDate(0, 0, 1).Format(time.DateOnly)
		inRange := func(start, end string) int {
			q := "/audit/events/?action=update_workflow"
			if start != "" {
				q += "&start_date=" + start
			}
			if end != "" {
				q += "&end_date=" + end
			}
			status, body := rawJSON(t, srv, http.MethodGet, strings.ReplaceAll(q, "+", "%2B"), "", testAdminKey)
			require.Equal(t, http.StatusOK, status, "%s: %v", q, body)
			return int(body["count"].(float64))
		}
		assert.Equal(t, 1, inRange(day, day))
		assert.Equal(t, 1, inRange(before, after))
		assert.Equal(t, 0, inRange("", before))
		assert.Equal(t, 0, inRange(after, ""))
		at := ev.Timestamp.UTC()
		assert.Equal(t, 1, inRange(at.Format(time.RFC3339Nano), at.Format(time.RFC3339Nano)), "RFC 3339 bounds are inclusive")
		assert.Equal(t, 0, inRange(at.Add(time.Microsecond).Format(time.RFC3339Nano), ""))
		assert.Equal(t, 0, inRange("", at.Add(-time.Microsecond).Format(time.RFC3339Nano)))

		header := []string{"Authorization", "Bearer " + testAdminKey}
		assertDRFRefusals(t, srv, header, []drfRefusal{
			{http.MethodGet, "/audit/events/?start_date=yesterday", ``, http.StatusBadRequest, "start_date"},
			{http.MethodGet, "/audit/events/?end_date=2026-13-01", ``, http.StatusBadRequest, "end_date"},
			{http.MethodGet, "/audit/events/?start_date=" + after + "&end_date=" + before, ``, http.StatusBadRequest, "end_date"},
			{http.MethodGet, "/audit/events/?action=" + strings.Repeat("a", 101), ``, http.StatusBadRequest, "action"},
			{http.MethodGet, "/audit/events/?page_size=0", ``, http.StatusBadRequest, "page_size"},
			{http.MethodGet, "/audit/events/abc/", ``, http.StatusNotFound, ""},
			{http.MethodGet, "/audit/events/by-target/?target_id=1", ``, http.StatusBadRequest, "target_type"},
			{http.MethodGet, "/audit/events/by-target/?target_type=Role", ``, http.StatusBadRequest, "target_id"},
		})
		status, body = call(t, srv.Raw, http.MethodGet, srv.URL+"/audit/events/by-target/", "", header...)
		require.Equal(t, http.StatusBadRequest, status)
		details, _ := body["details"].(map[string]any)
		assert.Contains(t, details, "target_type")
		assert.Contains(t, details, "target_id")
		status, _ = call(t, srv.Raw, http.MethodGet, srv.URL+"/audit/events/?action="+strings.Repeat("a", 100), "", header...)
		assert.Equal(t, http.StatusOK, status, "100 characters is the limit")

		// Admins only: a signed-in user is refused each endpoint.
		for _, path := range []string{"/audit/events/", "/audit/events/" + strconv.FormatInt(ev.Id, 10) + "/", "/audit/events/by-target/?target_type=Role&target_id=1"} {
			resp, err := srv.Client.Do(authed(t, http.MethodGet, srv.URL+path, aliceToken))
			require.NoError(t, err)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusForbidden, resp.StatusCode, path)
		}
		r, err := alice.ListAuditEventsWithResponse(ctx, nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusForbidden, r.StatusCode())

		// Pages link to each other.
		page, err := client.Check(root.ListAuditEventsWithResponse(ctx, &api.ListAuditEventsParams{PageSize: ptr(1)}))
		require.NoError(t, err)
		require.NotNil(t, page.JSON200.Next)
		var next struct {
			Previous *string          `json:"previous"`
			Results  []map[string]any `json:"results"`
		}
		resp, err := srv.Client.Do(authed(t, http.MethodGet, *page.JSON200.Next, testAdminKey))
		require.NoError(t, err)
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&next))
		resp.Body.Close()
		assert.Len(t, next.Results, 1)
		assert.NotNil(t, next.Previous)
	})
}

func authed(t *testing.T, method, url, token string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}
