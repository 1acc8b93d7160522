package bugflow_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/notify"
	"github.com/bugflow/bugflow/workflow"
)

// hook is a webhook receiver that keeps the kinds of the signed
// notifications it gets, by recipient.
type hook struct {
	mu    sync.Mutex
	kinds []string
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get(notify.SignatureHeader) != notify.Sign([]byte("engine-secret"), body) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var n struct{ Kind, Recipient string }
	_ = json.Unmarshal(body, &n)
	h.mu.Lock()
	h.kinds = append(h.kinds, n.Kind+" "+n.Recipient)
	h.mu.Unlock()
}

func (h *hook) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.kinds...)
}

// The engine runs the SLA check and the delivery of notifications as
// periodic jobs of its queue: a task whose clock passes its target is
// marked breached, and the webhook hears of it, with no call but the
// clock's.
func TestEngineDetectsBreachesAndDeliversOnItsOwnSchedule(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		receiver := &hook{}
		srv := httptest.NewServer(receiver)
		defer srv.Close()
		var mu sync.Mutex
		now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		e, err := bugflow.Open(ctx, bugflow.Config{
			DatabaseURL: url, Logger: slog.New(slog.DiscardHandler), Now: clock,
			Jobs:          bugflow.JobsConfig{PollInterval: 100 * time.Millisecond},
			SLACheckEvery: 100 * time.Millisecond,
			Notify:        bugflow.NotifyConfig{DisableMail: true, WebhookURL: srv.URL, WebhookSecret: "engine-secret", DeliverEvery: 100 * time.Millisecond},
		})
		require.NoError(t, err)
		t.Cleanup(func() { _ = e.Close() })

		admin := &auth.Identity{User: auth.User{Role: auth.RoleAdmin}}
		agent, err := e.Auth.CreateRole(ctx, admin, auth.RoleInput{Name: "Agent"})
		require.NoError(t, err)
		tc, err := e.Auth.RoleByName(ctx, auth.TicketCoordinator)
		require.NoError(t, err)
		alice, err := e.Auth.Register(ctx, auth.Registration{Username: "alice", Password: "correct horse battery"})
		require.NoError(t, err)
		carol, err := e.Auth.Register(ctx, auth.Registration{Username: "carol", Password: "correct horse battery"})
		require.NoError(t, err)
		_, err = e.Auth.AddUserRole(ctx, admin, agent.ID, alice.ID)
		require.NoError(t, err)
		_, err = e.Auth.AddUserRole(ctx, admin, tc.ID, carol.ID)
		require.NoError(t, err)
		c, err := e.Workflow.CreateWorkflow(ctx, workflow.WorkflowInput{Name: "IT Support", Category: "Technology", Department: "IT",
			LowSLA: "08:00:00", MediumSLA: "04:00:00", HighSLA: "02:00:00", UrgentSLA: "01:00:00"}, &workflow.GraphInput{
			Nodes: []workflow.NodeInput{
				{TempID: "a", StepInput: workflow.StepInput{Name: "Triage", RoleID: &agent.ID, IsStart: true}},
				{TempID: "b", StepInput: workflow.StepInput{Name: "Fix", RoleID: &agent.ID, IsEnd: true}},
			},
			Edges: []workflow.EdgeInput{{FromTempID: "a", ToTempID: "b"}},
		})
		require.NoError(t, err)
		_, err = e.Workflow.Initialize(ctx, c.ID)
		require.NoError(t, err)
		task, err := e.Workflow.StartTask(ctx, workflow.TaskStart{Subject: "Laptop", Department: "IT", Category: "Technology", Priority: workflow.PriorityUrgent})
		require.NoError(t, err)
		require.Eventually(t, func() bool { return len(receiver.got()) == 1 }, time.Minute, 20*time.Millisecond)
		assert.Equal(t, []string{"assigned " + alice.ID}, receiver.got())

		mu.Lock()
		now = now.Add(2 * time.Hour)
		mu.Unlock()
		require.Eventually(t, func() bool {
			d, err := e.Workflow.GetTask(ctx, workflow.Actor{Admin: true}, task.ID)
			return err == nil && d.SLAState == workflow.SLABreached && d.Assignments[0].Status == workflow.AssignmentBreached
		}, time.Minute, 20*time.Millisecond, "the periodic check marks the breach")
		require.Eventually(t, func() bool { return len(receiver.got()) == 3 }, time.Minute, 20*time.Millisecond)
		assert.ElementsMatch(t, []string{"assigned " + alice.ID, "sla_breached " + alice.ID, "sla_breached " + carol.ID}, receiver.got())
	})
}
