package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/audit"
	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/client"
	"github.com/bugflow/bugflow/client/api"
	"github.com/bugflow/bugflow/internal/apitest"
	"github.com/bugflow/bugflow/internal/dbtest"
)

// taskWorld is a server with the document's workflow initialized, its
// roles held by signed-in users.
type taskWorld struct {
	srv      *apitest.Server
	root     *client.Client
	users    map[string]*client.Client
	tokens   map[string]string
	ids      map[string]string
	workflow int64
	assign   int64 // the transition Triage -> Resolution
}

func newTaskWorld(t *testing.T, url string) *taskWorld {
	t.Helper()
	srv, _ := identityServer(t, url)
	return newTaskWorldOn(t, srv)
}

// newTaskWorldOn is newTaskWorld on a server of the caller's.
func newTaskWorldOn(t *testing.T, srv *apitest.Server) *taskWorld {
	t.Helper()
	ctx := context.Background()
	w := &taskWorld{srv: srv, root: newAPIClient(t, srv, client.WithToken(testAdminKey)),
		users: map[string]*client.Client{}, tokens: map[string]string{}, ids: map[string]string{}}
	// Registered through the library: six sign-ups over HTTP would meet
	// the sign-up rate limit.
	for _, name := range []string{"alice", "sam", "mia", "carol", "dave", "eve"} {
		u, err := srv.Engine.Auth.Register(ctx, auth.Registration{Username: name, Password: name + "-password"})
		require.NoError(t, err)
		in, err := srv.Engine.Auth.Login(ctx, name, name+"-password")
		require.NoError(t, err)
		w.ids[name], w.tokens[name] = u.ID, in.Token
		w.users[name] = newAPIClient(t, srv, client.WithToken(in.Token))
	}
	roleID := func(name string) int64 {
		r, err := client.Check(w.root.CreateRoleWithResponse(ctx, api.CreateRoleJSONRequestBody{Name: name}))
		require.NoError(t, err)
		return r.JSON201.RoleId
	}
	agent, resolver, manager := roleID("Agent"), roleID("Resolver"), roleID("Manager")
	tc, err := srv.Engine.Auth.RoleByName(ctx, auth.TicketCoordinator)
	require.NoError(t, err)
	for role, user := range map[int64]string{agent: "alice", resolver: "sam", manager: "mia", tc.ID: "carol"} {
		_, err := client.Check(w.root.AddRoleMemberWithResponse(ctx, role, api.AddRoleMemberJSONRequestBody{UserId: w.ids[user]}))
		require.NoError(t, err)
	}
	body := strings.Replace(documentWorkflowBody, `"role_id": 2`, fmt.Sprintf(`"role_id": %d, "escalate_to": %d`, agent, manager), 1)
	body = strings.Replace(body, `"role_id": 3`, fmt.Sprintf(`"role_id": %d`, resolver), 1)
	status, created := call(t, srv.Client, http.MethodPost, srv.URL+"/workflows/", body, "Authorization", "Bearer "+testAdminKey)
	require.Equal(t, http.StatusCreated, status, "%v", created)
	w.workflow = int64(created["workflow_id"].(float64))
	w.assign = int64(created["graph"].(map[string]any)["edges"].([]any)[0].(map[string]any)["transition_id"].(float64))
	_, err = client.Check(w.root.InitializeWorkflowWithResponse(ctx, w.workflow))
	require.NoError(t, err)
	return w
}

// raw sends body as name (a token, or "root") through the contract
// harness and returns the status and the JSON answer.
func (w *taskWorld) raw(t *testing.T, name, method, path, body string) (int, map[string]any) {
	t.Helper()
	token := testAdminKey
	if name != "root" {
		token = w.tokens[name]
	}
	return call(t, w.srv.Client, method, w.srv.URL+path, body, "Authorization", "Bearer "+token)
}

// A task's whole story through the contract harness: an admin starts it,
// the agent starts work and escalates it (the document's body), the
// manager moves it on (the document's body), an admin transfers it, the
// new holder resolves it; visualization, action logs and audit along the
// way, and the signed-in users without the right refused at each step.
func TestTasksWithGeneratedClient(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		w := newTaskWorld(t, url)
		u := w.users

		// Creating a task is for admins.
		denied, err := u["alice"].CreateTaskWithResponse(ctx, api.CreateTaskJSONRequestBody{WorkflowId: w.workflow, Subject: "x"})
		require.NoError(t, err)
		assert.Equal(t, http.StatusForbidden, denied.StatusCode())
		high := api.PriorityHigh
		created, err := client.Check(w.root.CreateTaskWithResponse(ctx, api.CreateTaskJSONRequestBody{WorkflowId: w.workflow, Subject: "Laptop will not boot", Priority: &high}))
		require.NoError(t, err)
		task := *created.JSON201
		assert.Equal(t, http.StatusCreated, created.StatusCode())
		assert.Equal(t, "Triage", task.CurrentStep.Name)
		assert.Equal(t, api.TaskStatus("new"), task.Status)
		require.NotNil(t, task.TicketOwnerId)
		assert.Equal(t, w.ids["carol"], *task.TicketOwnerId, "the only Ticket Coordinator owns it")
		require.NotNil(t, task.TargetResolution)
		assert.Equal(t, task.CreatedAt.Add(24*3600e9), *task.TargetResolution)

		// Who may see it: admins, the owner, the assignee; not eve.
		for _, name := range []string{"carol", "alice"} {
			got, err := client.Check(u[name].GetTaskWithResponse(ctx, task.TaskId))
			require.NoError(t, err, name)
			require.Len(t, got.JSON200.Assignments, 1)
		}
		item := must(client.Check(w.root.GetTaskWithResponse(ctx, task.TaskId))).JSON200.Assignments[0]
		assert.Equal(t, w.ids["alice"], item.UserId)
		assert.Equal(t, "Agent", item.RoleName)
		for _, path := range []string{"", "visualization/", "action-logs/"} {
			status, body := w.raw(t, "eve", http.MethodGet, fmt.Sprintf("/tasks/%d/%s", task.TaskId, path), "")
			assert.Equal(t, http.StatusForbidden, status, "%s %v", path, body)
		}
		status, body := w.raw(t, "eve", http.MethodPut, fmt.Sprintf("/tasks/%d/", task.TaskId), `{"subject": "mine now"}`)
		assert.Equal(t, http.StatusForbidden, status, "%v", body)
		eveList := must(client.Check(u["eve"].ListTasksWithResponse(ctx, nil)))
		assert.Zero(t, eveList.JSON200.Count, "GET /tasks/ lists only what one may see")
		assert.Equal(t, 1, must(client.Check(w.root.ListTasksWithResponse(ctx, nil))).JSON200.Count)

		// Views.
		mine := must(client.Check(u["alice"].MyTasksWithResponse(ctx, &api.MyTasksParams{Role: ptr("agent")})))
		require.Equal(t, 1, mine.JSON200.Count)
		assert.Equal(t, task.TaskId, mine.JSON200.Results[0].Task.TaskId)
		status, body = w.raw(t, "alice", http.MethodGet, fmt.Sprintf("/tasks/my-tasks/?role=Agent&assignment_status=in+progress&task__workflow_id=%d", w.workflow), "")
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, 0.0, body["count"], "not in progress yet")
		assert.Equal(t, http.StatusForbidden, must(u["eve"].AllTasksWithResponse(ctx, nil)).StatusCode())
		search := "LAPTOP"
		active := api.AllTasksParamsTab("active")
		all := must(client.Check(w.root.AllTasksWithResponse(ctx, &api.AllTasksParams{Tab: &active, Search: &search})))
		assert.Equal(t, 1, all.JSON200.Count)
		assert.Equal(t, http.StatusForbidden, must(u["eve"].OwnedTicketsWithResponse(ctx, nil)).StatusCode(), "not a Ticket Coordinator")
		owned := must(client.Check(u["carol"].OwnedTicketsWithResponse(ctx, nil)))
		assert.Equal(t, 1, owned.JSON200.Count)

		// Starting work persists.
		started := must(client.Check(u["alice"].UpdateUserStatusWithResponse(ctx, task.TaskId, api.UpdateUserStatusJSONRequestBody{Status: "in progress"})))
		assert.Equal(t, api.AssignmentStatus("in progress"), started.JSON200.AssignmentStatus)
		assert.Equal(t, http.StatusForbidden, must(u["eve"].UpdateUserStatusWithResponse(ctx, task.TaskId, api.UpdateUserStatusJSONRequestBody{Status: "in progress"})).StatusCode())

		// Escalation, the document's body: eve may not; alice may, once.
		escalate := fmt.Sprintf(`{
  "task_item_id": %d,
  "reason": "Customer requires manager involvement"
}`, item.TaskItemId)
		status, body = w.raw(t, "eve", http.MethodPost, "/tasks/escalate/", escalate)
		assert.Equal(t, http.StatusForbidden, status, "%v", body)
		status, body = w.raw(t, "alice", http.MethodPost, "/tasks/escalate/", escalate)
		require.Equal(t, http.StatusOK, status, "%v", body)
		assert.Equal(t, "Escalation", body["origin"])
		assert.Equal(t, w.ids["mia"], body["user_id"])
		status, _ = w.raw(t, "root", http.MethodPost, "/tasks/escalate/", escalate)
		assert.Equal(t, http.StatusConflict, status)

		// The transition, the document's body: alice's item is escalated,
		// eve has none, mia moves it on.
		transition := fmt.Sprintf(`{
  "transition_id": %d,
  "notes": "Completed initial assessment"
}`, w.assign)
		path := fmt.Sprintf("/transitions/%d/transition/", task.TaskId)
		for _, name := range []string{"alice", "eve", "carol", "root"} {
			status, body = w.raw(t, name, http.MethodPost, path, transition)
			assert.Equal(t, http.StatusForbidden, status, "%s: %v", name, body)
		}
		status, body = w.raw(t, "mia", http.MethodPost, path, transition)
		require.Equal(t, http.StatusOK, status, "%v", body)
		assert.Equal(t, map[string]any{
			"success": true,
			"task":    map[string]any{"task_id": float64(task.TaskId), "current_step": map[string]any{"step_id": body["task"].(map[string]any)["current_step"].(map[string]any)["step_id"], "name": "Resolution"}, "status": "in progress"},
			"message": "Task transitioned to Resolution",
		}, body)
		status, _ = w.raw(t, "mia", http.MethodPost, path, transition)
		assert.Equal(t, http.StatusConflict, status, "the task moved on")

		// Transfer: admins only; the document's numeric user id is refused
		// by name; a string id moves sam's item to dave.
		detail := must(client.Check(w.root.GetTaskWithResponse(ctx, task.TaskId))).JSON200
		samItem := detail.Assignments[len(detail.Assignments)-1]
		assert.Equal(t, w.ids["sam"], samItem.UserId)
		status, body = call(t, w.srv.Raw, http.MethodPost, w.srv.URL+"/tasks/transfer/", fmt.Sprintf(`{
  "task_item_id": %d,
  "new_user_id": 15,
  "notes": "Transferred to specialist"
}`, samItem.TaskItemId), "Authorization", "Bearer "+testAdminKey)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Contains(t, fmt.Sprint(body["details"].(map[string]any)["new_user_id"]), "strings")
		transfer := api.TransferTaskJSONRequestBody{TaskItemId: samItem.TaskItemId, NewUserId: w.ids["dave"], Notes: ptr("Transferred to specialist")}
		assert.Equal(t, http.StatusForbidden, must(u["sam"].TransferTaskWithResponse(ctx, transfer)).StatusCode())
		moved := must(client.Check(w.root.TransferTaskWithResponse(ctx, transfer)))
		assert.Equal(t, api.TaskItemOrigin("Transferred"), moved.JSON200.Origin)
		assert.Equal(t, samItem.TargetResolution, moved.JSON200.TargetResolution)
		assert.Equal(t, http.StatusConflict, must(w.root.TransferTaskWithResponse(ctx, transfer)).StatusCode(), "not from reassigned")

		// Dave finalises: Resolution has no way out.
		done := must(client.Check(u["dave"].TransitionTaskWithResponse(ctx, task.TaskId, api.TransitionTaskJSONRequestBody{Notes: "Replaced the disk"})))
		assert.Equal(t, api.TaskStatus("resolved"), done.JSON200.Task.Status)
		assert.Equal(t, "Task resolved", done.JSON200.Message)

		v := must(client.Check(u["dave"].TaskVisualizationWithResponse(ctx, task.TaskId))).JSON200
		require.Len(t, v.Steps, 2)
		var who []string
		for _, step := range v.Steps {
			assert.Equal(t, "done", string(step.Status), step.Name)
			for _, a := range step.Assignments {
				who = append(who, a.Username+" "+string(a.AssignmentStatus))
			}
		}
		assert.Equal(t, []string{"alice escalated", "mia resolved", "sam reassigned", "dave resolved"}, who)
		logs := must(client.Check(u["carol"].TaskActionLogsWithResponse(ctx, task.TaskId, &api.TaskActionLogsParams{PageSize: ptr(api.DRFPageSize(100))}))).JSON200
		var actions []string
		for _, l := range logs.Results {
			actions = append(actions, string(l.Action))
		}
		assert.Equal(t, []string{"created", "assigned", "status_changed", "escalated", "transition", "assigned", "transferred", "resolved"}, actions)
		inactive := api.AllTasksParamsTab("inactive")
		assert.Equal(t, 1, must(client.Check(w.root.AllTasksWithResponse(ctx, &api.AllTasksParams{Tab: &inactive}))).JSON200.Count)

		events, _, err := w.srv.Engine.Audit.List(ctx, audit.Filter{TargetType: "Task"}, 1, 100)
		require.NoError(t, err)
		var audited []string
		for i := len(events) - 1; i >= 0; i-- {
			audited = append(audited, events[i].Action+" by "+events[i].Username)
		}
		assert.Equal(t, []string{"create_task by admin", "update_user_status by alice", "escalate by alice", "transition by mia", "transfer by admin", "transition by dave"}, audited)

		// Deleting is for admins.
		assert.Equal(t, http.StatusForbidden, must(u["alice"].DeleteTaskWithResponse(ctx, task.TaskId)).StatusCode())
		assert.Equal(t, http.StatusNoContent, must(w.root.DeleteTaskWithResponse(ctx, task.TaskId)).StatusCode())
		assert.Equal(t, http.StatusNotFound, must(w.root.GetTaskWithResponse(ctx, task.TaskId)).StatusCode())
	})
}

// Bad input to the task routes, in the DRF dialect.
func TestTasksRefuseBadInputInTheirDialect(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		w := newTaskWorld(t, url)
		admin := []string{"Authorization", "Bearer " + testAdminKey}
		status, task := w.raw(t, "root", http.MethodPost, "/tasks/", fmt.Sprintf(`{"workflow_id": %d, "subject": "Laptop"}`, w.workflow))
		require.Equal(t, http.StatusCreated, status, "%v", task)
		id := int64(task["task_id"].(float64))
		assertDRFRefusals(t, w.srv, admin, []drfRefusal{
			{http.MethodPost, "/tasks/", `{"subject": "x"}`, http.StatusBadRequest, "workflow_id"},
			{http.MethodPost, "/tasks/", fmt.Sprintf(`{"workflow_id": %d}`, w.workflow), http.StatusBadRequest, "subject"},
			{http.MethodPost, "/tasks/", fmt.Sprintf(`{"workflow_id": %d, "subject": "x", "priority": "Critical"}`, w.workflow), http.StatusBadRequest, "priority"},
			{http.MethodPost, "/tasks/", `{"workflow_id": 999999, "subject": "x"}`, http.StatusBadRequest, "workflow_id"},
			{http.MethodPut, fmt.Sprintf("/tasks/%d/", id), `{"subject": ""}`, http.StatusBadRequest, "subject"},
			{http.MethodGet, "/tasks/999999/", "", http.StatusNotFound, ""},
			{http.MethodGet, "/tasks/abc/", "", http.StatusNotFound, ""},
			{http.MethodGet, "/tasks/all-tasks/?tab=closed", "", http.StatusBadRequest, "tab"},
			{http.MethodGet, "/tasks/all-tasks/?page_size=101", "", http.StatusBadRequest, "page_size"},
			{http.MethodGet, "/tasks/my-tasks/?assignment_status=done", "", http.StatusBadRequest, "assignment_status"},
			{http.MethodGet, "/tasks/my-tasks/?task__workflow_id=x", "", http.StatusBadRequest, "task__workflow_id"},
			{http.MethodPost, "/tasks/transfer/", `{"new_user_id": "u"}`, http.StatusBadRequest, "task_item_id"},
			{http.MethodPost, "/tasks/transfer/", `{"task_item_id": 1}`, http.StatusBadRequest, "new_user_id"},
			{http.MethodPost, "/tasks/transfer/", `{"task_item_id": 1, "new_user_id": "no-such-user"}`, http.StatusBadRequest, "new_user_id"},
			{http.MethodPost, "/tasks/transfer/", `{"task_item_id": 999999, "new_user_id": "` + w.ids["dave"] + `"}`, http.StatusBadRequest, "task_item_id"},
			{http.MethodPost, "/tasks/escalate/", `{"task_item_id": 1}`, http.StatusBadRequest, "reason"},
			{http.MethodPost, "/tasks/escalate/", `{"reason": "x"}`, http.StatusBadRequest, "task_item_id"},
			{http.MethodPost, "/tasks/7/", `{}`, http.StatusNotFound, ""},
			{http.MethodPost, fmt.Sprintf("/tasks/%d/update-user-status/", id), `{"status": "resolved"}`, http.StatusBadRequest, "status"},
			{http.MethodPost, fmt.Sprintf("/transitions/%d/transition/", id), `{"transition_id": 1}`, http.StatusBadRequest, "notes"},
			{http.MethodPost, "/transitions/999999/transition/", `{"notes": "x"}`, http.StatusNotFound, ""},
		})
		// The agent: a transition of no workflow of the task, and a null
		// one on a step with a way out.
		alice := []string{"Authorization", "Bearer " + w.tokens["alice"]}
		assertDRFRefusals(t, w.srv, alice, []drfRefusal{
			{http.MethodPost, fmt.Sprintf("/transitions/%d/transition/", id), `{"transition_id": 999999, "notes": "x"}`, http.StatusBadRequest, "transition_id"},
			{http.MethodPost, fmt.Sprintf("/transitions/%d/transition/", id), `{"notes": "x"}`, http.StatusBadRequest, "transition_id"},
		})
	})
}

// A transition to a step whose role no one holds is 503 and changes
// nothing.
func TestTransitionToAnEmptyRoleIsUnavailable(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		w := newTaskWorld(t, url)
		created := must(client.Check(w.root.CreateTaskWithResponse(ctx, api.CreateTaskJSONRequestBody{WorkflowId: w.workflow, Subject: "Laptop"})))
		roles := must(client.Check(w.root.ListRolesWithResponse(ctx, nil))).JSON200.Results
		for _, r := range roles {
			if r.Name == "Resolver" {
				_, err := client.Check(w.root.RemoveRoleMemberWithResponse(ctx, r.RoleId, w.ids["sam"]))
				require.NoError(t, err)
			}
		}
		path := fmt.Sprintf("/transitions/%d/transition/", created.JSON201.TaskId)
		status, body := w.raw(t, "alice", http.MethodPost, path, fmt.Sprintf(`{"transition_id": %d, "notes": "done"}`, w.assign))
		assert.Equal(t, http.StatusServiceUnavailable, status, "%v", body)
		got := must(client.Check(w.root.GetTaskWithResponse(ctx, created.JSON201.TaskId))).JSON200
		assert.Equal(t, "Triage", got.CurrentStep.Name)
		assert.Equal(t, api.AssignmentStatus("new"), got.Assignments[0].AssignmentStatus)
	})
}
