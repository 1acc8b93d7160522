package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/internal/apitest"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/notify"
)

// flakyHook answers 500 until healed, and counts what it accepted.
type flakyHook struct {
	mu       sync.Mutex
	healed   bool
	accepted int
}

func (h *flakyHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.healed || r.Header.Get(notify.SignatureHeader) != notify.Sign([]byte("hook-secret"), body) {
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	h.accepted++
}

// A notification whose delivery failed is listed for admins at
// /tasks/failed-notifications/ and queued again by its retry route, which
// shares its place in the router with /tasks/{id}/update-user-status/.
func TestFailedNotificationsAreListedAndRetriedByAdmins(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		hook := &flakyHook{}
		receiver := httptest.NewServer(hook)
		defer receiver.Close()
		srv := apitest.Start(t, apitest.Config{Engine: bugflow.Config{
			DatabaseURL: url, MailURL: "file://" + t.TempDir(), AdminKey: testAdminKey,
			Notify: bugflow.NotifyConfig{DisableMail: true, WebhookURL: receiver.URL, WebhookSecret: "hook-secret", WebhookRetries: -1, MaxAttempts: 1},
		}})
		w := newTaskWorldOn(t, srv)
		status, task := w.raw(t, "root", http.MethodPost, "/tasks/", fmt.Sprintf(`{"workflow_id": %d, "subject": "Laptop"}`, w.workflow))
		require.Equal(t, http.StatusCreated, status, "%v", task)

		var failed map[string]any
		require.Eventually(t, func() bool {
			_, err := srv.Engine.Notify.Deliver(ctx)
			require.NoError(t, err)
			status, failed = w.raw(t, "root", http.MethodGet, "/tasks/failed-notifications/", "")
			return status == http.StatusOK && failed["count"].(float64) == 1
		}, time.Minute, 20*time.Millisecond)
		n := failed["results"].([]any)[0].(map[string]any)
		assert.Equal(t, "assigned", n["kind"])
		assert.Equal(t, w.ids["alice"], n["recipient"])
		assert.Equal(t, "failed", n["status"])
		assert.Contains(t, n["last_error"], "500")
		id := int64(n["id"].(float64))
		retry := fmt.Sprintf("/tasks/failed-notifications/%d/retry/", id)

		// Admins only: a signed-in user without the right is refused.
		status, body := w.raw(t, "alice", http.MethodGet, "/tasks/failed-notifications/", "")
		assert.Equal(t, http.StatusForbidden, status, "%v", body)
		status, body = w.raw(t, "alice", http.MethodPost, retry, "")
		assert.Equal(t, http.StatusForbidden, status, "%v", body)
		status, _ = call(t, srv.Client, http.MethodPost, srv.URL+retry, "")
		assert.Equal(t, http.StatusUnauthorized, status)
		// (0 and letters are refused by the document's schema already.)
		for _, bad := range []string{fmt.Sprint(id + 1000)} {
			status, body = w.raw(t, "root", http.MethodPost, "/tasks/failed-notifications/"+bad+"/retry/", "")
			assert.Equal(t, http.StatusNotFound, status, "%s: %v", bad, body)
		}
		// The route beside it still reaches its own handler.
		status, body = w.raw(t, "alice", http.MethodPost, fmt.Sprintf("/tasks/%d/update-user-status/", int64(task["task_id"].(float64))), `{"status": "in progress"}`)
		assert.Equal(t, http.StatusOK, status, "%v", body)

		hook.mu.Lock()
		hook.healed = true
		hook.mu.Unlock()
		status, body = w.raw(t, "root", http.MethodPost, retry, "")
		require.Equal(t, http.StatusOK, status, "%v", body)
		assert.Equal(t, "pending", body["notification"].(map[string]any)["status"])
		status, body = w.raw(t, "root", http.MethodPost, retry, "")
		assert.Equal(t, http.StatusConflict, status, "only a failed one: %v", body)

		require.Eventually(t, func() bool {
			_, err := srv.Engine.Notify.Deliver(ctx)
			require.NoError(t, err)
			got, err := srv.Engine.Notify.Get(ctx, id)
			require.NoError(t, err)
			return got.Status == notify.StatusSent
		}, time.Minute, 20*time.Millisecond)
		_, err := srv.Engine.Notify.Deliver(ctx)
		require.NoError(t, err)
		hook.mu.Lock()
		assert.Equal(t, 1, hook.accepted, "sent once")
		hook.mu.Unlock()
		status, failed = w.raw(t, "root", http.MethodGet, "/tasks/failed-notifications/", "")
		require.Equal(t, http.StatusOK, status)
		assert.EqualValues(t, 0, failed["count"])
	})
}
