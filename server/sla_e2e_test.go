package server_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/internal/apitest"
	"github.com/bugflow/bugflow/internal/dbtest"
)

// slaClock is the engine's clock in the SLA test, moved by the test.
type slaClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *slaClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *slaClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// A ticket's SLA breaches while the server runs its real periodic SLA
// check every 100 ms, all through the contract harness: the workflow gets
// a business-hours calendar, the ticket's task is put on hold and resumed
// (its target moves by the paused working time), and once the clock
// passes the target the check marks task and task item breached, with a
// history line, on its own.
func TestTicketSLABreachesWhileTheServerRunsItsPeriodicCheck(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		monday := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
		clock := &slaClock{t: monday}
		srv := apitest.Start(t, apitest.Config{Engine: bugflow.Config{
			DatabaseURL: url, MailURL: "file://" + t.TempDir(), AdminKey: testAdminKey, Now: clock.now,
			Jobs:          bugflow.JobsConfig{PollInterval: 100 * time.Millisecond},
			SLACheckEvery: 100 * time.Millisecond,
			Notify:        bugflow.NotifyConfig{DisableMail: true},
		}})
		w := newTaskWorldOn(t, srv)

		status, body := w.raw(t, "root", http.MethodPut, fmt.Sprintf("/workflows/%d/update-details/", w.workflow), `{
			"name": "IT Support Request", "category": "Technology", "sub_category": "Support", "department": "IT",
			"low_sla": "72:00:00", "medium_sla": "48:00:00", "high_sla": "04:00:00", "urgent_sla": "01:00:00",
			"calendar": {"time_zone": "UTC", "days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00", "holidays": []}}`)
		require.Equal(t, http.StatusOK, status, "%v", body)
		assert.Equal(t, 2.0, body["sla_version"])
		assert.Equal(t, "UTC", body["calendar"].(map[string]any)["time_zone"])
		// A calendar that cannot work is refused in the dialect.
		status, body = w.raw(t, "root", http.MethodPut, fmt.Sprintf("/workflows/%d/update-details/", w.workflow), `{
			"name": "IT Support Request", "calendar": {"time_zone": "Nowhere/Else", "days": [1], "start": "17:00", "end": "09:00"}}`)
		require.Equal(t, http.StatusBadRequest, status, "%v", body)
		assert.Contains(t, body["details"], "calendar.time_zone")
		assert.Contains(t, body["details"], "calendar.end")
		// Only admins change workflows: a signed-in user is refused.
		status, _ = w.raw(t, "alice", http.MethodPut, fmt.Sprintf("/workflows/%d/update-details/", w.workflow), `{"name": "x"}`)
		assert.Equal(t, http.StatusForbidden, status)

		status, body = w.raw(t, "eve", http.MethodPost, "/tickets/", documentTicket) // High: 4 working hours
		require.Equal(t, http.StatusCreated, status, "%v", body)
		require.NotNil(t, body["task_id"], "%v", body)
		task := fmt.Sprintf("/tasks/%d/", int64(body["task_id"].(float64)))
		status, body = w.raw(t, "root", http.MethodGet, task, "")
		require.Equal(t, http.StatusOK, status, "%v", body)
		assert.Equal(t, "2026-12-07T13:00:00Z", body["target_resolution"])
		assert.Equal(t, 2.0, body["sla_version"])

		// The customer must answer: alice puts the task on hold for an
		// hour. Someone without an item on it may not.
		clock.set(monday.Add(time.Hour))
		status, _ = w.raw(t, "sam", http.MethodPost, task+"update-user-status/", `{"status": "on_hold"}`)
		assert.Equal(t, http.StatusForbidden, status)
		status, body = w.raw(t, "alice", http.MethodPost, task+"update-user-status/", `{"status": "on_hold"}`)
		require.Equal(t, http.StatusOK, status, "%v", body)
		_, body = w.raw(t, "root", http.MethodGet, task, "")
		assert.Equal(t, "on_hold", body["status"])
		assert.Equal(t, "2026-12-07T10:00:00Z", body["paused_at"])
		clock.set(monday.Add(2 * time.Hour))
		status, body = w.raw(t, "alice", http.MethodPost, task+"update-user-status/", `{"status": "in progress"}`)
		require.Equal(t, http.StatusOK, status, "%v", body)
		_, body = w.raw(t, "root", http.MethodGet, task, "")
		assert.Equal(t, "in progress", body["status"])
		assert.Equal(t, 3600.0, body["paused_seconds"])
		assert.Equal(t, "2026-12-07T14:00:00Z", body["target_resolution"])
		assert.Nil(t, body["breached_at"])

		// Past the target: the periodic check, not the test, marks it.
		clock.set(monday.Add(5*time.Hour + time.Second))
		// (One check marks the task, then the item, each in its own
		// transaction.)
		require.Eventually(t, func() bool {
			_, body = w.raw(t, "root", http.MethodGet, task, "")
			item := body["assignments"].([]any)[0].(map[string]any)
			return body["sla_state"] == "breached" && item["assignment_status"] == "breached"
		}, time.Minute, 50*time.Millisecond)
		assert.Equal(t, "2026-12-07T14:00:01Z", body["breached_at"])
		_, logs := w.raw(t, "alice", http.MethodGet, task+"action-logs/?page_size=100", "")
		var actions []string
		for _, l := range logs["results"].([]any) {
			actions = append(actions, l.(map[string]any)["action"].(string))
		}
		assert.Subset(t, actions, []string{"on_hold", "resumed", "sla_breached"})
	})
}
