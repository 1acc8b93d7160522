package notify_test

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/notify"
)

const secret = "webhook-secret"

// receiver is a webhook endpoint that fails the first failFirst requests
// (503) and records every request and the deliveries it accepted.
type receiver struct {
	mu        sync.Mutex
	failFirst int
	requests  int
	badSig    int
	accepted  []map[string]any
	ids       []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests++
	if !hmac.Equal([]byte(r.Header.Get(notify.SignatureHeader)), []byte(notify.Sign([]byte(secret), body))) {
		rc.badSig++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if rc.requests <= rc.failFirst {
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	var v map[string]any
	_ = json.Unmarshal(body, &v)
	rc.accepted = append(rc.accepted, v)
	rc.ids = append(rc.ids, r.Header.Get(notify.DeliveryHeader))
	w.WriteHeader(http.StatusNoContent)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newWebhook(t *testing.T, url string, retries int) *notify.Webhook {
	t.Helper()
	w, err := notify.NewWebhook(notify.WebhookConfig{URL: url, Secret: secret, Retries: retries, MinWait: time.Millisecond, MaxWait: 5 * time.Millisecond})
	require.NoError(t, err)
	return w
}

func message(key string) notify.Message {
	return notify.Message{Key: key, Kind: "sla_breached", Recipient: "u1", TaskID: 7, TaskItemID: 9, Subject: "Task 7 breached", Body: "late"}
}

func TestWebhookDeliversSignedOnceAfterFailedTries(t *testing.T) {
	dbtest.ForEachDB(t, notify.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rc := &receiver{failFirst: 2}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		c := &clock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
		svc := notify.New(notify.NewBunStore(db.DB), notify.Config{Channels: []notify.Channel{newWebhook(t, srv.URL, 3)}, Now: c.now})

		require.NoError(t, svc.Notify(ctx, message("task_item:9:breached")))
		require.NoError(t, svc.Notify(ctx, message("task_item:9:breached")), "the same cause again")
		got, err := svc.Deliver(ctx)
		require.NoError(t, err)
		assert.Equal(t, notify.Delivered{Sent: 1}, got, "two 503s, then accepted, within one attempt")
		assert.Equal(t, 3, rc.requests)
		assert.Zero(t, rc.badSig)
		require.Len(t, rc.accepted, 1)
		assert.Equal(t, "sla_breached", rc.accepted[0]["kind"])
		assert.Equal(t, "u1", rc.accepted[0]["recipient"])
		assert.EqualValues(t, 7, rc.accepted[0]["task_id"])

		// Sent is final: later runs, however late, send nothing again.
		c.add(time.Hour)
		got, err = svc.Deliver(ctx)
		require.NoError(t, err)
		assert.Equal(t, notify.Delivered{}, got)
		assert.Equal(t, 3, rc.requests)
		n, err := svc.Get(ctx, mustAtoi(t, rc.ids[0]))
		require.NoError(t, err)
		assert.Equal(t, notify.StatusSent, n.Status)
		assert.Equal(t, 1, n.Attempts)
		assert.Equal(t, c.t.Add(-time.Hour), *n.SentAt)
	})
}

func mustAtoi(t *testing.T, s string) int64 {
	v, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err)
	return v
}

func TestFailedAfterLastAttemptThenRetried(t *testing.T) {
	dbtest.ForEachDB(t, notify.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rc := &receiver{failFirst: 1 << 30}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		c := &clock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
		svc := notify.New(notify.NewBunStore(db.DB), notify.Config{Channels: []notify.Channel{newWebhook(t, srv.URL, 1)},
			MaxAttempts: 3, Backoff: time.Minute, Now: c.now})
		require.NoError(t, svc.Notify(ctx, message("k1")))

		deliver := func() notify.Delivered {
			d, err := svc.Deliver(ctx)
			require.NoError(t, err)
			return d
		}
		assert.Equal(t, notify.Delivered{Retrying: 1}, deliver(), "attempt 1 (two requests) fails")
		assert.Equal(t, notify.Delivered{}, deliver(), "not due before its backoff")
		c.add(time.Minute - time.Microsecond)
		assert.Equal(t, notify.Delivered{}, deliver(), "a microsecond before the backoff ends")
		c.add(time.Microsecond)
		assert.Equal(t, notify.Delivered{Retrying: 1}, deliver(), "attempt 2")
		c.add(2*time.Minute - time.Microsecond)
		assert.Equal(t, notify.Delivered{}, deliver(), "the backoff doubled")
		c.add(time.Microsecond)
		assert.Equal(t, notify.Delivered{Failed: 1}, deliver(), "attempt 3 is the last")
		c.add(time.Hour)
		assert.Equal(t, notify.Delivered{}, deliver(), "failed is not retried by itself")
		assert.Equal(t, 6, rc.requests)

		failed, total, err := svc.FailedNotifications(ctx, 10, 0)
		require.NoError(t, err)
		require.Equal(t, 1, total)
		assert.Equal(t, 3, failed[0].Attempts)
		assert.Contains(t, failed[0].LastError, "503")

		_, err = svc.Retry(ctx, failed[0].ID+100)
		require.ErrorIs(t, err, errs.ErrNotFound)
		rc.mu.Lock()
		rc.failFirst = 0
		rc.mu.Unlock()
		n, err := svc.Retry(ctx, failed[0].ID)
		require.NoError(t, err)
		assert.Equal(t, notify.StatusPending, n.Status)
		assert.Equal(t, 0, n.Attempts)
		_, err = svc.Retry(ctx, failed[0].ID)
		require.ErrorIs(t, err, errs.ErrConflict, "only a failed one is retried")
		assert.Equal(t, notify.Delivered{Sent: 1}, deliver())
		assert.Equal(t, notify.Delivered{}, deliver())
		assert.Len(t, rc.accepted, 1)
		_, total, err = svc.FailedNotifications(ctx, 10, 0)
		require.NoError(t, err)
		assert.Zero(t, total)
	})
}

func TestTwoDeliverersSendEachOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		rc := &receiver{}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		var svcs []*notify.Service
		for range 2 {
			db := dbtest.Open(t, url, notify.Migrations())
			svcs = append(svcs, notify.New(notify.NewBunStore(db.DB), notify.Config{Channels: []notify.Channel{newWebhook(t, srv.URL, 0)}}))
		}
		const n = 20
		for i := range n {
			require.NoError(t, svcs[0].Notify(ctx, message("k"+strconv.Itoa(i))))
		}
		var wg sync.WaitGroup
		for _, s := range []*notify.Service{svcs[0], svcs[1], svcs[0], svcs[1]} {
			wg.Go(func() {
				_, err := s.Deliver(ctx)
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		assert.Len(t, rc.accepted, n)
		seen := map[string]bool{}
		for _, id := range rc.ids {
			assert.False(t, seen[id], "delivery %s sent twice", id)
			seen[id] = true
		}
	})
}

// mailbox is an auth.Mailer that keeps what it is given.
type mailbox struct{ sent []auth.Message }

func (m *mailbox) Send(_ context.Context, msg auth.Message) error {
	m.sent = append(m.sent, msg)
	return nil
}

func TestMailGoesToTheRecipientsAddress(t *testing.T) {
	dbtest.ForEachDB(t, notify.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		box := &mailbox{}
		emails := map[string]string{"u1": "u1@example.com", "u2": ""}
		mail := notify.NewMail(box, func(_ context.Context, id string) (string, error) {
			e, ok := emails[id]
			if !ok {
				return "", errs.NotFoundf("user %q not found", id)
			}
			return e, nil
		})
		svc := notify.New(notify.NewBunStore(db.DB), notify.Config{Channels: []notify.Channel{mail}, MaxAttempts: 1})
		require.NoError(t, svc.Notify(ctx, message("a")))
		m := message("b")
		m.Recipient = "u2"
		require.NoError(t, svc.Notify(ctx, m))
		d, err := svc.Deliver(ctx)
		require.NoError(t, err)
		assert.Equal(t, notify.Delivered{Sent: 1, Failed: 1}, d, "u2 has no address")
		require.Len(t, box.sent, 1)
		assert.Equal(t, auth.Message{To: "u1@example.com", Subject: "Task 7 breached", Text: "late"}, box.sent[0])
	})
}

func TestNotifyNeedsKeyAndRecipient(t *testing.T) {
	svc := notify.New(nil, notify.Config{})
	require.ErrorIs(t, svc.Notify(context.Background(), notify.Message{Recipient: "u1"}), errs.ErrInvalid)
	require.ErrorIs(t, svc.Notify(context.Background(), notify.Message{Key: "k"}), errs.ErrInvalid)
	_, err := notify.NewWebhook(notify.WebhookConfig{URL: "http://x"})
	require.ErrorIs(t, err, errs.ErrInvalid, "a webhook without a secret")
}
