package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/client"
	"github.com/bugflow/bugflow/client/api"
	"github.com/bugflow/bugflow/internal/apitest"
	"github.com/bugflow/bugflow/internal/dbtest"
)

// seeds/003's task examples as raw HTTP through the contract harness, with
// the bare "Authorization: <token>" header its curl lines send.
func TestPersonalTasksAsTheDocumentShows(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, _ := identityServer(t, url)
		status, _ := call(t, srv.Client, http.MethodPost, srv.URL+"/register",
			`{"username": "johndoe", "password": "securepass123", "name": "John", "lastname": "Doe"}`)
		require.Equal(t, http.StatusOK, status)
		status, login := call(t, srv.Client, http.MethodPost, srv.URL+"/login", `{"username": "johndoe", "password": "securepass123"}`)
		require.Equal(t, http.StatusOK, status)
		token := login["token"].(string)
		as := func(method, path, body string) (int, map[string]any) {
			t.Helper()
			return call(t, srv.Client, method, srv.URL+path, body, "Authorization", token)
		}

		// The SDK examples' task.
		status, task := as(http.MethodPost, "/api/v1/tasks",
			`{"name": "Review documentation", "description": "Check all API docs for accuracy", "priority": "high"}`)
		require.Equal(t, http.StatusCreated, status, "%v", task)
		id := task["task_id"].(string)
		assert.Equal(t, "Review documentation", task["name"])
		assert.Equal(t, "Check all API docs for accuracy", task["description"])
		assert.Equal(t, "not_started", task["status"])
		assert.Equal(t, "high", task["priority"])
		assert.Nil(t, task["due_date"])
		assert.Equal(t, []any{}, task["tags"])
		assert.NotEmpty(t, task["created_at"])

		// The document's create body, due date and tags included.
		status, second := as(http.MethodPost, "/api/v1/tasks",
			`{"name": "string", "description": "string", "priority": "medium", "due_date": "2025-12-31T23:59:59Z", "tags": ["project", "urgent"]}`)
		require.Equal(t, http.StatusCreated, status, "%v", second)
		assert.Equal(t, "2025-12-31T23:59:59Z", second["due_date"])
		assert.Equal(t, []any{"project", "urgent"}, second["tags"])

		status, list := as(http.MethodGet, "/api/v1/tasks", "")
		require.Equal(t, http.StatusOK, status)
		assert.Len(t, list["tasks"], 2)
		status, list = as(http.MethodGet, "/api/v1/tasks?status=not_started&priority=high", "")
		require.Equal(t, http.StatusOK, status)
		require.Len(t, list["tasks"], 1)
		assert.Equal(t, id, list["tasks"].([]any)[0].(map[string]any)["task_id"])
		for query, want := range map[string]int{
			"tag=PROJECT": 1, "due_before=2026-01-01": 1, "due_after=2025-12-31T23:59:59Z": 0,
			"q=accuracy": 1, "q=nothing-like-it": 0, "status=completed": 0,
		} {
			status, list = as(http.MethodGet, "/api/v1/tasks?"+query, "")
			require.Equal(t, http.StatusOK, status, query)
			assert.Len(t, list["tasks"], want, query)
		}

		// The document's update body: every field.
		status, updated := as(http.MethodPut, "/api/v1/tasks/"+id,
			`{"name": "string", "description": "string", "status": "in_progress", "priority": "high", "due_date": "2025-12-31T23:59:59Z", "tags": ["string"]}`)
		require.Equal(t, http.StatusOK, status, "%v", updated)
		assert.Equal(t, id, updated["task_id"])
		assert.Equal(t, "in_progress", updated["status"])
		assert.Equal(t, "high", updated["priority"])
		assert.Equal(t, []any{"string"}, updated["tags"])
		// Only what is sent changes; null clears the due date.
		status, updated = as(http.MethodPut, "/api/v1/tasks/"+id, `{"due_date": null}`)
		require.Equal(t, http.StatusOK, status, "%v", updated)
		assert.Nil(t, updated["due_date"])
		assert.Equal(t, "in_progress", updated["status"])

		req, err := http.NewRequest(http.MethodDelete, srv.URL+"/api/v1/tasks/"+id, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", token)
		resp, err := srv.Client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNoContent, resp.StatusCode)
		status, gone := as(http.MethodDelete, "/api/v1/tasks/"+id, "")
		assert.Equal(t, http.StatusNotFound, status)
		assert.IsType(t, "", gone["detail"], "FastAPI's {\"detail\"}")
	})
}

// Each user sees and changes only their own tasks: another user's id is
// 404, exactly as an id that does not exist.
func TestPersonalTasksAreOnlyTheirOwners(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, _ := identityServer(t, url)
		ctx := context.Background()
		clients := map[string]*client.Client{}
		for _, name := range []string{"alice", "bob"} {
			_, err := srv.Engine.Auth.Register(ctx, auth.Registration{Username: name, Password: name + "-password"})
			require.NoError(t, err)
			in, err := srv.Engine.Auth.Login(ctx, name, name+"-password")
			require.NoError(t, err)
			clients[name] = newAPIClient(t, srv, client.WithToken(in.Token))
		}
		alice, bob := clients["alice"], clients["bob"]
		created, err := client.Check(alice.CreatePersonalTaskWithResponse(ctx, api.CreatePersonalTaskJSONRequestBody{Name: "alice's", Tags: &[]string{"home"}}))
		require.NoError(t, err)
		id := created.JSON201.TaskId.String()

		list, err := client.Check(bob.ListPersonalTasksWithResponse(ctx, nil))
		require.NoError(t, err)
		assert.Empty(t, list.JSON200.Tasks)
		put, err := bob.UpdatePersonalTaskWithResponse(ctx, id, api.UpdatePersonalTaskJSONRequestBody{Name: ptr("bob's now")})
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, put.StatusCode())
		missing, err := bob.UpdatePersonalTaskWithResponse(ctx, "00000000-0000-0000-0000-000000000000", api.UpdatePersonalTaskJSONRequestBody{Name: ptr("x")})
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, missing.StatusCode())
		assert.Equal(t, put.JSON404.Detail[:4], missing.JSON404.Detail[:4], "the same answer as for no task at all")
		del, err := bob.DeletePersonalTaskWithResponse(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, del.StatusCode())

		mine, err := client.Check(alice.ListPersonalTasksWithResponse(ctx, &api.ListPersonalTasksParams{Tag: ptr("home")}))
		require.NoError(t, err)
		require.Len(t, mine.JSON200.Tasks, 1)
		assert.Equal(t, "alice's", mine.JSON200.Tasks[0].Name, "bob changed nothing")
		done := api.PersonalTaskInputStatusCompleted
		upd, err := client.Check(alice.UpdatePersonalTaskWithResponse(ctx, id, api.UpdatePersonalTaskJSONRequestBody{Status: &done}))
		require.NoError(t, err)
		assert.Equal(t, api.PersonalTaskStatusCompleted, upd.JSON200.Status)
	})
}

// Bad input is FastAPI's 422 naming the field; the raw client sends what
// the document's schemas forbid.
func TestPersonalTasksRefuseBadInput(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, _ := identityServer(t, url)
		token := signedInUser(t, srv, "jane")
		for _, tc := range []struct {
			method, path, body, field string
		}{
			{http.MethodPost, "/api/v1/tasks", `{"description": "no name"}`, "name"},
			{http.MethodPost, "/api/v1/tasks", `{"name": " "}`, "name"},
			{http.MethodPost, "/api/v1/tasks", `{"name": "` + strings.Repeat("n", 201) + `"}`, "name"},
			{http.MethodPost, "/api/v1/tasks", `{"name": "x", "priority": "critical"}`, "priority"},
			{http.MethodPost, "/api/v1/tasks", `{"name": "x", "status": "done"}`, "status"},
			{http.MethodPost, "/api/v1/tasks", `{"name": "x", "due_date": "31/12/2025"}`, "due_date"},
			{http.MethodPost, "/api/v1/tasks", `{"name": "x", "due_date": 5}`, "due_date"},
			{http.MethodPost, "/api/v1/tasks", `{"name": 5}`, "name"},
			{http.MethodPost, "/api/v1/tasks", `{"name": "x", "tags": "home"}`, "tags"},
			{http.MethodPost, "/api/v1/tasks", `{"name": "x", "tags": ["` + strings.Repeat("t", 51) + `"]}`, "tags"},
			{http.MethodGet, "/api/v1/tasks?status=done", "", "status"},
			{http.MethodGet, "/api/v1/tasks?priority=critical", "", "priority"},
			{http.MethodGet, "/api/v1/tasks?due_before=tomorrow", "", "due_before"},
			{http.MethodGet, "/api/v1/tasks?due_after=2025-13-01", "", "due_after"},
			{http.MethodGet, "/api/v1/tasks?q=" + strings.Repeat("q", 201), "", "q"},
		} {
			status, body := call(t, srv.Raw, tc.method, srv.URL+tc.path, tc.body, "Authorization", "Bearer "+token)
			assert.Equal(t, http.StatusUnprocessableEntity, status, "%s %s %s: %v", tc.method, tc.path, tc.body, body)
			items, _ := body["detail"].([]any)
			require.Len(t, items, 1, "%v", body)
			assert.Equal(t, []any{"body", tc.field}, items[0].(map[string]any)["loc"], "%s", tc.body)
		}
		// Just inside the limits.
		status, body := call(t, srv.Client, http.MethodPost, srv.URL+"/api/v1/tasks",
			`{"name": "`+strings.Repeat("n", 200)+`", "due_date": "2025-12-31", "tags": ["`+strings.Repeat("t", 50)+`"]}`, "Authorization", "Bearer "+token)
		assert.Equal(t, http.StatusCreated, status, "%v", body)
		assert.Equal(t, "2025-12-31T00:00:00Z", body["due_date"])
		status, _ = call(t, srv.Client, http.MethodGet, srv.URL+"/api/v1/tasks?q="+strings.Repeat("q", 200), "", "Authorization", "Bearer "+token)
		assert.Equal(t, http.StatusOK, status)
	})
}

// seeds/003's chat example as raw HTTP, then a conversation threaded by
// session_id; the response lists the tasks each message touched.
func TestChatAsTheDocumentShows(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, _ := identityServer(t, url)
		token := signedInUser(t, srv, "johndoe")
		say := func(body string) (int, map[string]any) {
			t.Helper()
			return call(t, srv.Client, http.MethodPost, srv.URL+"/api/v1/chat", body, "Authorization", token)
		}
		status, out := say(`{"message": "Create a task to review project documentation", "session_id": "abc-123"}`)
		require.Equal(t, http.StatusOK, status, "%v", out)
		assert.Equal(t, "abc-123", out["session_id"])
		require.Len(t, out["tasks"], 1)
		task := out["tasks"].([]any)[0].(map[string]any)
		assert.Equal(t, "review project documentation", task["name"])
		assert.Equal(t, "not_started", task["status"])
		assert.Equal(t, "medium", task["priority"])
		assert.Contains(t, out["response"], "Added")

		status, out = say(`{"message": "mark the documentation task done", "session_id": "abc-123"}`)
		require.Equal(t, http.StatusOK, status, "%v", out)
		require.Len(t, out["tasks"], 1)
		assert.Equal(t, "completed", out["tasks"].([]any)[0].(map[string]any)["status"])

		status, list := call(t, srv.Client, http.MethodGet, srv.URL+"/api/v1/tasks?status=completed", "", "Authorization", token)
		require.Equal(t, http.StatusOK, status)
		assert.Len(t, list["tasks"], 1, "the chat changed the same tasks the API lists")

		status, out = say(`{"message": "what's overdue?"}`)
		require.Equal(t, http.StatusOK, status, "%v", out)
		assert.NotEmpty(t, out["session_id"], "a new session when none is given")
		assert.NotEqual(t, "abc-123", out["session_id"])
		assert.Equal(t, []any{}, out["tasks"])

		for _, body := range []string{`{}`, `{"message": ""}`, `{"message": 5}`, `{"message": "` + strings.Repeat("m", 2001) + `"}`, `{"message": "hi", "session_id": 5}`} {
			status, out = call(t, srv.Raw, http.MethodPost, srv.URL+"/api/v1/chat", body, "Authorization", token)
			assert.Equal(t, http.StatusUnprocessableEntity, status, "%s: %v", body, out)
		}
	})
}

// GET /openapi.json (seeds/003 links it) is /openapi.yaml as JSON.
func TestOpenAPIJSONIsTheYAMLDocument(t *testing.T) {
	srv := apitest.Start(t, apitest.Config{})
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		resp, err := srv.Client.Get(srv.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return resp, body
	}
	resp, asJSON := get("/openapi.json")
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	_, asYAML := get("/openapi.yaml")
	var fromJSON, fromYAML any
	require.NoError(t, json.Unmarshal(asJSON, &fromJSON))
	require.NoError(t, yaml.Unmarshal(asYAML, &fromYAML))
	// The YAML side through JSON, so that both hold JSON's types.
	roundTrip, err := json.Marshal(fromYAML)
	require.NoError(t, err)
	var want any
	require.NoError(t, json.Unmarshal(roundTrip, &want))
	assert.Equal(t, want, fromJSON)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(asJSON)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(loader.Context))
	assert.NotNil(t, doc.Paths.Find("/api/v1/tasks"))
}
