package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/personal"
)

// An event-based process over raw HTTP: it lists with its event, and
// completing a task through PUT /api/v1/tasks/{task_id} runs it on the
// engine's queue, which its execution history then shows.
func TestEventProcessesRunOnTaskChangesOverHTTP(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, _ := identityServer(t, url)
		ctx := context.Background()
		u, err := srv.Engine.Auth.Register(ctx, auth.Registration{Username: "alice", Password: "alice-password"})
		require.NoError(t, err)
		in, err := srv.Engine.Auth.Login(ctx, "alice", "alice-password")
		require.NoError(t, err)
		as := func(method, path, body string) (int, map[string]any) {
			t.Helper()
			return call(t, srv.Client, method, srv.URL+path, body, "Authorization", in.Token)
		}
		p, err := srv.Engine.Personal.CreateProcess(ctx, u.ID, personal.NewProcess{
			Name: "tidy up when done", Trigger: personal.EventBased, Event: personal.TaskCompleted, Action: personal.RescheduleOverdue,
		})
		require.NoError(t, err)

		status, list := as(http.MethodGet, "/api/v1/processes", "")
		require.Equal(t, http.StatusOK, status)
		mine := list["processes"].([]any)[2].(map[string]any)
		assert.Equal(t, p.ID, mine["process_id"])
		assert.Equal(t, "event_based", mine["trigger_type"])
		assert.Equal(t, "task_completed", mine["event"])
		assert.Equal(t, "", list["processes"].([]any)[0].(map[string]any)["event"], "a built-in waits for no event")

		status, task := as(http.MethodPost, "/api/v1/tasks", `{"name": "ship it"}`)
		require.Equal(t, http.StatusCreated, status, "%v", task)
		status, _ = as(http.MethodPut, "/api/v1/tasks/"+task["task_id"].(string), `{"status": "completed"}`)
		require.Equal(t, http.StatusOK, status)

		var page map[string]any
		require.Eventually(t, func() bool {
			status, page = as(http.MethodGet, "/api/v1/processes/"+p.ID+"/executions", "")
			if status != http.StatusOK {
				return false
			}
			// The list and its total are two queries; the run may land
			// between them (either way round), so wait for both.
			runs, _ := page["executions"].([]any)
			return len(runs) == 1 && runs[0].(map[string]any)["status"] == "success" && page["total"] == float64(1)
		}, 90*time.Second, 50*time.Millisecond, "the completion runs the process")
		run := page["executions"].([]any)[0].(map[string]any)
		assert.Equal(t, "on task_completed of "+task["task_id"].(string)+": moved 0 overdue task(s) to today", run["message"])
	})
}
