package server_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/personal"
)

// seeds/003's processes as raw HTTP through the contract harness: users see
// the built-ins and their own and run their own; admins see and run all.
func TestProcessesOverHTTP(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, _ := identityServer(t, url)
		ctx := context.Background()
		tokens := map[string]string{"root": testAdminKey}
		ids := map[string]string{}
		for _, name := range []string{"alice", "bob"} {
			u, err := srv.Engine.Auth.Register(ctx, auth.Registration{Username: name, Password: name + "-password"})
			require.NoError(t, err)
			in, err := srv.Engine.Auth.Login(ctx, name, name+"-password")
			require.NoError(t, err)
			ids[name], tokens[name] = u.ID, in.Token
		}
		as := func(who, method, path string) (int, map[string]any) {
			t.Helper()
			return call(t, srv.Client, method, srv.URL+path, "", "Authorization", tokens[who])
		}
		own, err := srv.Engine.Personal.CreateProcess(ctx, ids["alice"], personal.NewProcess{
			Name: "tidy my list", Trigger: personal.Manual, Action: personal.RescheduleOverdue,
		})
		require.NoError(t, err)

		status, list := as("bob", http.MethodGet, "/api/v1/processes")
		require.Equal(t, http.StatusOK, status)
		require.Len(t, list["processes"], 2, "bob sees the built-ins")
		first := list["processes"].([]any)[0].(map[string]any)
		assert.Equal(t, personal.RescheduleOverdueID, first["process_id"])
		assert.Equal(t, "time_based", first["trigger_type"])
		assert.Equal(t, "30 7 * * *", first["schedule"])
		assert.Equal(t, true, first["is_active"])
		assert.Nil(t, first["last_execution"])
		status, list = as("alice", http.MethodGet, "/api/v1/processes")
		require.Equal(t, http.StatusOK, status)
		assert.Len(t, list["processes"], 3, "alice sees hers too")
		status, list = as("root", http.MethodGet, "/api/v1/processes")
		require.Equal(t, http.StatusOK, status)
		assert.Len(t, list["processes"], 3)

		status, body := as("bob", http.MethodPost, "/api/v1/processes/"+personal.RescheduleOverdueID+"/execute")
		assert.Equal(t, http.StatusForbidden, status, "%v", body)
		status, body = as("bob", http.MethodPost, "/api/v1/processes/"+own.ID+"/execute")
		assert.Equal(t, http.StatusNotFound, status, "%v", body)
		status, body = as("bob", http.MethodGet, "/api/v1/processes/"+own.ID+"/executions")
		assert.Equal(t, http.StatusNotFound, status, "%v", body)
		status, body = as("alice", http.MethodPost, "/api/v1/processes/no-such-process/execute")
		assert.Equal(t, http.StatusNotFound, status, "%v", body)
		assert.IsType(t, "", body["detail"])

		status, run := as("alice", http.MethodPost, "/api/v1/processes/"+own.ID+"/execute")
		require.Equal(t, http.StatusOK, status, "%v", run)
		assert.Equal(t, "success", run["status"])
		assert.Equal(t, own.ID, run["process_id"])
		assert.Equal(t, "moved 0 overdue task(s) to today", run["message"])
		assert.NotEmpty(t, run["completed_at"])

		status, run = as("root", http.MethodPost, "/api/v1/processes/"+personal.RescheduleOverdueID+"/execute")
		require.Equal(t, http.StatusOK, status, "%v", run)
		assert.Equal(t, "success", run["status"])
		status, run = as("root", http.MethodPost, "/api/v1/processes/"+personal.RescheduleOverdueID+"/execute")
		require.Equal(t, http.StatusOK, status, "%v", run)

		status, page := as("bob", http.MethodGet, "/api/v1/processes/"+personal.RescheduleOverdueID+"/executions?limit=1&offset=1")
		require.Equal(t, http.StatusOK, status, "%v", page)
		assert.EqualValues(t, 2, page["total"])
		require.Len(t, page["executions"], 1)
		status, list = as("bob", http.MethodGet, "/api/v1/processes")
		require.Equal(t, http.StatusOK, status)
		assert.NotNil(t, list["processes"].([]any)[0].(map[string]any)["last_execution"])

		for _, q := range []string{"limit=0", "limit=101", "offset=-1", "limit=x"} {
			status, body = call(t, srv.Raw, http.MethodGet, srv.URL+"/api/v1/processes/"+personal.RescheduleOverdueID+"/executions?"+q, "", "Authorization", tokens["bob"])
			assert.Equal(t, http.StatusUnprocessableEntity, status, "%s: %v", q, body)
		}
		status, _ = as("bob", http.MethodGet, "/api/v1/processes/"+personal.RescheduleOverdueID+"/executions?limit=100&offset=0")
		assert.Equal(t, http.StatusOK, status)
	})
}
