package server_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/internal/dbtest"
)

// journeyWorkflow has three steps, so that a ticket crosses two
// transitions before it is finalised: Triage (escalates to the managers),
// Review, Resolution. It matches the document's ticket on department and
// category.
const journeyWorkflow = `{
  "workflow": {"name": "Hardware repair", "category": "Technology", "sub_category": "Hardware", "department": "IT",
    "low_sla": "72:00:00", "medium_sla": "48:00:00", "high_sla": "24:00:00", "urgent_sla": "04:00:00"},
  "graph": {
    "nodes": [
      {"temp_id": "triage", "name": "Triage", "role_id": %d, "escalate_to": %d, "is_start": true, "weight": 0.2},
      {"temp_id": "review", "name": "Review", "role_id": %d, "weight": 0.3},
      {"temp_id": "resolution", "name": "Resolution", "role_id": %d, "is_end": true, "weight": 0.5}
    ],
    "edges": [
      {"from_temp_id": "triage", "to_temp_id": "review", "name": "Assess"},
      {"from_temp_id": "review", "to_temp_id": "resolution", "name": "Approve"}
    ]
  }
}`

// A ticket's whole journey through the contract harness, every request as
// raw HTTP: an employee sends the document's ticket to POST /send/ exactly
// as written, intake gives it a task at Triage (owner: the Ticket
// Coordinator), the agent escalates (the document's escalate body), the
// manager takes it to Review (the document's transition body), an admin
// transfers the review (the document's transfer body, with a bugflow user
// id), the new reviewer takes it to Resolution, the resolver finalises it.
// The ticket's status, the visualization, the action logs and the audit
// trail are checked along the way.
func TestTicketJourneyFromSendToResolution(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		srv, _ := identityServer(t, url)
		tokens, ids := map[string]string{"root": testAdminKey}, map[string]string{}
		for _, name := range []string{"alice", "mia", "rita", "dave", "sam", "carol", "eve"} {
			u, err := srv.Engine.Auth.Register(ctx, auth.Registration{Username: name, Password: name + "-password"})
			require.NoError(t, err)
			in, err := srv.Engine.Auth.Login(ctx, name, name+"-password")
			require.NoError(t, err)
			ids[name], tokens[name] = u.ID, in.Token
		}
		do := func(who, method, path, body string) (int, map[string]any) {
			t.Helper()
			return rawJSON(t, srv, method, path, body, tokens[who])
		}
		ok := func(who, method, path, body string) map[string]any {
			t.Helper()
			status, got := do(who, method, path, body)
			require.Contains(t, []int{http.StatusOK, http.StatusCreated}, status, "%s %s %s: %v", who, method, path, got)
			return got
		}
		num := func(v any) int64 { return int64(v.(float64)) }

		roles := map[string]int64{}
		for _, name := range []string{"Agent", "Manager", "Reviewer", "Resolver"} {
			roles[name] = num(ok("root", http.MethodPost, "/roles/", fmt.Sprintf(`{"name": %q}`, name))["role_id"])
		}
		tc, err := srv.Engine.Auth.RoleByName(ctx, auth.TicketCoordinator)
		require.NoError(t, err)
		roles[auth.TicketCoordinator] = tc.ID
		for role, user := range map[string]string{"Agent": "alice", "Manager": "mia", "Reviewer": "rita", "Resolver": "sam", auth.TicketCoordinator: "carol"} {
			ok("root", http.MethodPost, fmt.Sprintf("/roles/%d/users/", roles[role]), fmt.Sprintf(`{"user_id": %q}`, ids[user]))
		}
		created := ok("root", http.MethodPost, "/workflows/", fmt.Sprintf(journeyWorkflow, roles["Agent"], roles["Manager"], roles["Reviewer"], roles["Resolver"]))
		workflowID := num(created["workflow_id"])
		edges := created["graph"].(map[string]any)["edges"].([]any)
		assess, approve := num(edges[0].(map[string]any)["transition_id"]), num(edges[1].(map[string]any)["transition_id"])
		ok("root", http.MethodPost, fmt.Sprintf("/workflows/%d/initialize/", workflowID), "")

		// Intake: the document's ticket, as written.
		sent := ok("eve", http.MethodPost, "/send/", documentTicket)
		assert.Equal(t, "Open", sent["status"])
		assert.Equal(t, "High", sent["priority"])
		assert.Regexp(t, `^TX\d{14}$`, sent["ticket_id"])
		assert.Equal(t, float64(workflowID), sent["workflow_id"])
		assert.Equal(t, ids["carol"], sent["owner_id"], "the only Ticket Coordinator owns it")
		ticket, taskID := num(sent["id"]), num(sent["task_id"])
		ticketPath, taskPath := fmt.Sprintf("/tickets/%d/", ticket), fmt.Sprintf("/tasks/%d/", taskID)
		transitionPath := fmt.Sprintf("/transitions/%d/transition/", taskID)
		ticketStatus := func() any { return ok("eve", http.MethodGet, ticketPath, "")["status"] }

		task := ok("alice", http.MethodGet, taskPath, "")
		assert.Equal(t, "Triage", task["current_step"].(map[string]any)["name"])
		items := task["assignments"].([]any)
		require.Len(t, items, 1)
		alicesItem := items[0].(map[string]any)
		assert.Equal(t, ids["alice"], alicesItem["user_id"])
		assert.Equal(t, "System", alicesItem["origin"])
		status, _ := do("eve", http.MethodGet, taskPath, "")
		assert.Equal(t, http.StatusForbidden, status, "the submitter holds no assignment on the task")

		// Escalation: the document's body.
		escalated := ok("alice", http.MethodPost, "/tasks/escalate/", fmt.Sprintf(`{
  "task_item_id": %d,
  "reason": "Customer requires manager involvement"
}`, num(alicesItem["task_item_id"])))
		assert.Equal(t, ids["mia"], escalated["user_id"])
		assert.Equal(t, "Escalation", escalated["origin"])
		assert.Equal(t, alicesItem["target_resolution"], escalated["target_resolution"], "an escalation keeps the target")

		// First transition: the document's body, by the manager.
		transition := `{
  "transition_id": %d,
  "notes": "Completed initial assessment"
}`
		status, _ = do("alice", http.MethodPost, transitionPath, fmt.Sprintf(transition, assess))
		assert.Equal(t, http.StatusForbidden, status, "alice's item was escalated")
		moved := ok("mia", http.MethodPost, transitionPath, fmt.Sprintf(transition, assess))
		assert.Equal(t, "Task transitioned to Review", moved["message"])
		assert.Equal(t, "In Progress", ticketStatus(), "the ticket follows its task")

		// Transfer: the document's body with a bugflow (string) user id.
		task = ok("root", http.MethodGet, taskPath, "")
		items = task["assignments"].([]any)
		ritasItem := items[len(items)-1].(map[string]any)
		require.Equal(t, ids["rita"], ritasItem["user_id"])
		transfer := fmt.Sprintf(`{
  "task_item_id": %d,
  "new_user_id": %q,
  "notes": "Transferred to specialist"
}`, num(ritasItem["task_item_id"]), ids["dave"])
		status, _ = do("carol", http.MethodPost, "/tasks/transfer/", transfer)
		assert.Equal(t, http.StatusForbidden, status, "transfers are for admins, not coordinators")
		transferred := ok("root", http.MethodPost, "/tasks/transfer/", transfer)
		assert.Equal(t, "Transferred", transferred["origin"])
		assert.Equal(t, ritasItem["target_resolution"], transferred["target_resolution"])

		// Second transition by the new reviewer, then the resolver
		// finalises: Resolution has no way out.
		status, _ = do("rita", http.MethodPost, transitionPath, fmt.Sprintf(`{"transition_id": %d, "notes": "ok"}`, approve))
		assert.Equal(t, http.StatusForbidden, status, "rita's item was reassigned")
		ok("dave", http.MethodPost, transitionPath, fmt.Sprintf(`{"transition_id": %d, "notes": "Approved the replacement"}`, approve))
		// Sent past the harness: the document does not allow this body.
		status, refused := call(t, srv.Raw, http.MethodPost, srv.URL+transitionPath, `{"transition_id": null}`, "Authorization", "Bearer "+tokens["sam"])
		assert.Equal(t, http.StatusBadRequest, status, "notes are required: %v", refused)
		done := ok("sam", http.MethodPost, transitionPath, `{"transition_id": null, "notes": "Replaced the power supply"}`)
		assert.Equal(t, "resolved", done["task"].(map[string]any)["status"])
		assert.Equal(t, "Resolved", ticketStatus())

		// Visualization: every step done, and who did each.
		v := ok("carol", http.MethodGet, taskPath+"visualization/", "")
		var steps []string
		for _, s := range v["steps"].([]any) {
			step := s.(map[string]any)
			line := fmt.Sprintf("%s %s:", step["name"], step["status"])
			for _, a := range step["assignments"].([]any) {
				line += fmt.Sprintf(" %s(%s)", a.(map[string]any)["username"], a.(map[string]any)["assignment_status"])
			}
			steps = append(steps, line)
		}
		assert.Equal(t, []string{
			"Triage done: alice(escalated) mia(resolved)",
			"Review done: rita(reassigned) dave(resolved)",
			"Resolution done: sam(resolved)",
		}, steps)

		// Action logs, oldest first.
		logs := ok("carol", http.MethodGet, taskPath+"action-logs/?page_size=100", "")
		var actions []string
		for _, l := range logs["results"].([]any) {
			actions = append(actions, l.(map[string]any)["action"].(string))
		}
		assert.Equal(t, []string{"created", "assigned", "escalated", "transition", "assigned", "transferred", "transition", "assigned", "resolved"}, actions)
		status, _ = do("eve", http.MethodGet, taskPath+"action-logs/", "")
		assert.Equal(t, http.StatusForbidden, status)

		// The audit trail over HTTP, admins only.
		trail := func(query string) []string {
			t.Helper()
			page := ok("root", http.MethodGet, "/audit/events/by-target/?"+query+"&page_size=100", "")
			var out []string
			results := page["results"].([]any)
			for i := len(results) - 1; i >= 0; i-- {
				e := results[i].(map[string]any)
				out = append(out, fmt.Sprintf("%s by %s", e["action"], e["username"]))
			}
			return out
		}
		assert.Equal(t, []string{"create_task by eve", "escalate by alice", "transition by mia", "transfer by admin", "transition by dave", "transition by sam"},
			trail(fmt.Sprintf("target_type=Task&target_id=%d", taskID)))
		ticketTrail := trail(fmt.Sprintf("target_type=Ticket&target_id=%d", ticket))
		require.NotEmpty(t, ticketTrail)
		assert.Equal(t, "create_ticket by eve", ticketTrail[0])
		status, _ = do("carol", http.MethodGet, fmt.Sprintf("/audit/events/by-target/?target_type=Task&target_id=%d", taskID), "")
		assert.Equal(t, http.StatusForbidden, status, "the audit trail is for admins")
	})
}
