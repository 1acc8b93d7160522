package notify

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/bugflow/bugflow/errs"
)

// The webhook's headers.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body
	// keyed with the webhook's secret.
	SignatureHeader = "X-Bugflow-Signature"
	// DeliveryHeader carries the notification's id, the same on every
	// attempt, so that a receiver can ignore a delivery it already has.
	DeliveryHeader = "X-Bugflow-Delivery"
)

// Defaults of WebhookConfig.
const (
	DefaultWebhookTimeout  = 10 * time.Second
	DefaultWebhookRetries  = 3
	DefaultWebhookMinWait  = 500 * time.Millisecond
	DefaultWebhookMaxWait  = 10 * time.Second
	webhookMaxResponseRead = 4 << 10
)

// WebhookConfig configures the HTTP webhook channel. Zero values mean the
// documented defaults.
type WebhookConfig struct {
	// URL receives a POST of each notification as JSON.
	URL string
	// Secret keys the HMAC-SHA256 signature of each body (SignatureHeader).
	Secret string
	// Timeout bounds one request. Default 10 s.
	Timeout time.Duration
	// Retries is how often one delivery attempt retries a request that
	// failed (a network error, 429 or a 5xx), with exponential backoff
	// between MinWait (default 500 ms) and MaxWait (default 10 s). Default
	// 3; negative for none.
	Retries          int
	MinWait, MaxWait time.Duration
	// HTTPClient sends the requests. Default a new client.
	HTTPClient *http.Client
	// Logger receives the retries. Default slog.Default().
	Logger *slog.Logger
}

// Webhook is the HTTP webhook channel.
type Webhook struct {
	url    string
	secret []byte
	client *retryablehttp.Client
}

// NewWebhook returns the webhook channel cfg describes.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	if cfg.URL == "" || cfg.Secret == "" {
		return nil, errs.Invalidf("notify: a webhook needs a URL and a secret")
	}
	c := retryablehttp.NewClient()
	c.HTTPClient = cmp.Or(cfg.HTTPClient, &http.Client{})
	c.HTTPClient.Timeout = cmp.Or(cfg.Timeout, DefaultWebhookTimeout)
	c.RetryMax = cfg.Retries
	if cfg.Retries == 0 {
		c.RetryMax = DefaultWebhookRetries
	} else if cfg.Retries < 0 {
		c.RetryMax = 0
	}
	c.RetryWaitMin = cmp.Or(cfg.MinWait, DefaultWebhookMinWait)
	c.RetryWaitMax = cmp.Or(cfg.MaxWait, DefaultWebhookMaxWait)
	c.Logger = slogLeveled{cmp.Or(cfg.Logger, slog.Default())}
	// The last response's status is the attempt's error, not a generic
	// "giving up" one.
	c.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return &Webhook{url: cfg.URL, secret: []byte(cfg.Secret), client: c}, nil
}

// Name implements Channel.
func (w *Webhook) Name() string { return "webhook" }

// Sign returns the signature header value of body under secret, for
// receivers to compare (with hmac.Equal) against SignatureHeader.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Send implements Channel: it POSTs n as JSON, signed; any 2xx accepts it.
func (w *Webhook) Send(ctx context.Context, n Notification) error {
	body, err := json.Marshal(webhookBody{ID: n.ID, Kind: n.Kind, Recipient: n.Recipient, TaskID: n.TaskID,
		TaskItemID: n.TaskItemID, Subject: n.Subject, Body: n.Body, CreatedAt: n.CreatedAt})
	if err != nil {
		return err
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, w.url, body)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(w.secret, body))
	req.Header.Set(DeliveryHeader, strconv.FormatInt(n.ID, 10))
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, webhookMaxResponseRead))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook: %s answered %s: %s", w.url, resp.Status, bytes.TrimSpace(snippet))
	}
	return nil
}

// webhookBody is the JSON a webhook receives.
type webhookBody struct {
	ID         int64     `json:"id"`
	Kind       string    `json:"kind"`
	Recipient  string    `json:"recipient"`
	TaskID     int64     `json:"task_id"`
	TaskItemID int64     `json:"task_item_id"`
	Subject    string    `json:"subject"`
	Body       string    `json:"body"`
	CreatedAt  time.Time `json:"created_at"`
}

// slogLeveled adapts slog to retryablehttp's leveled logger, at debug:
// retries are routine, and a failed attempt is logged by Deliver.
type slogLeveled struct{ l *slog.Logger }

func (s slogLeveled) Error(msg string, kv ...any) { s.l.Debug(msg, kv...) }
func (s slogLeveled) Info(msg string, kv ...any)  { s.l.Debug(msg, kv...) }
func (s slogLeveled) Debug(msg string, kv ...any) { s.l.Debug(msg, kv...) }
func (s slogLeveled) Warn(msg string, kv ...any)  { s.l.Debug(msg, kv...) }
