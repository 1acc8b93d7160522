package integrations

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Defaults of Options.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxBodyBytes = 8 << 20
	DefaultRetryMax     = 3
	DefaultRetryWaitMin = 500 * time.Millisecond
	DefaultRetryWaitMax = 30 * time.Second
)

// Options tunes the transport of one client. Zero values mean the defaults.
type Options struct {
	// Timeout bounds one attempt, answer body included. Default 30 s.
	Timeout time.Duration
	// MaxBodyBytes caps every response body read. Default 8 MiB.
	MaxBodyBytes int64
	// RetryMax is how many times a retryable answer is retried. Default 3;
	// negative means none.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the exponential backoff. A
	// Retry-After longer than RetryWaitMax ends the call instead.
	RetryWaitMin, RetryWaitMax time.Duration
	// InsecureSkipVerify turns TLS certificate checks off (the documented
	// jira_ssl_verify=false); for self-signed internal servers only.
	InsecureSkipVerify bool
	// Transport replaces the HTTP transport (tests, proxies).
	Transport http.RoundTripper
}

// ErrTooLarge reports an answer body beyond Options.MaxBodyBytes.
var ErrTooLarge = errors.New("response body exceeds the size limit")

// Error is a failed call to another system. Its message never contains a
// secret of the client.
type Error struct {
	// System is "github", "jira" or "jenkins".
	System string
	// Op is the method and path called, e.g. "GET /user".
	Op string
	// Status is the HTTP status answered, or 0 when there was no answer.
	Status int
	// Message is what the system said (scrubbed), or why there was no answer.
	Message string
	// Err is the transport's cause (timeout, cancellation, ErrTooLarge).
	Err error
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("%s: %s: HTTP %d: %s", e.System, e.Op, e.Status, e.Message)
	}
	return fmt.Sprintf("%s: %s: %s", e.System, e.Op, e.Message)
}

// Unwrap returns the transport's cause.
func (e *Error) Unwrap() error { return e.Err }

// StatusOf is the HTTP status of a failed call, or 0 when err is no
// answered *Error.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// conn is one system's transport: a base URL, an authenticator and the
// secrets that must never leave it.
type conn struct {
	system  string
	base    *url.URL
	rc      *retryablehttp.Client
	maxBody int64
	auth    func(h http.Header)
	secrets []string
}

// attemptKey carries, per request, whether the request may be retried on
// answers other than 429 (it is idempotent).
type attemptKey struct{}

func newConn(system, baseURL string, opts Options, auth func(http.Header), secrets ...string) (*conn, error) {
	base, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("%s: base URL must be an absolute http(s) URL", system)
	}
	// Credentials belong in the configuration's secret fields, where they
	// are sent as headers; a URL's user info would end up in messages.
	if base.User != nil || base.RawQuery != "" {
		return nil, fmt.Errorf("%s: base URL must not carry credentials or a query", system)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.RetryMax == 0 {
		opts.RetryMax = DefaultRetryMax
	}
	if opts.RetryMax < 0 {
		opts.RetryMax = 0
	}
	if opts.RetryWaitMin <= 0 {
		opts.RetryWaitMin = DefaultRetryWaitMin
	}
	if opts.RetryWaitMax <= 0 {
		opts.RetryWaitMax = DefaultRetryWaitMax
	}
	tr := opts.Transport
	if tr == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		if opts.InsecureSkipVerify {
			t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // documented opt-out (jira_ssl_verify=false)
		}
		tr = t
	}
	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{Transport: tr, Timeout: opts.Timeout}
	rc.Logger = nil // retryablehttp would log URLs; nothing is logged here.
	rc.RetryMax = opts.RetryMax
	rc.RetryWaitMin, rc.RetryWaitMax = opts.RetryWaitMin, opts.RetryWaitMax
	rc.CheckRetry = retryPolicy(opts.RetryWaitMax)
	rc.Backoff = Backoff
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	var kept []string
	for _, s := range secrets {
		if s != "" {
			kept = append(kept, s)
		}
	}
	return &conn{system: system, base: base, rc: rc, maxBody: opts.MaxBodyBytes, auth: auth, secrets: kept}, nil
}

// retryPolicy retries 429 always, and 5xx and broken connections only for
// idempotent requests; never past a Retry-After beyond ceiling.
func retryPolicy(ceiling time.Duration) retryablehttp.CheckRetry {
	return func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if d, ok := RetryAfter(resp); ok && d > ceiling {
			return false, nil
		}
		if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
			return true, nil
		}
		if idempotent, _ := ctx.Value(attemptKey{}).(bool); !idempotent {
			return false, nil
		}
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
}

// Backoff is the wait before the next attempt: the answer's Retry-After
// when it has one (on any status), else exponential between min and max.
func Backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if d, ok := RetryAfter(resp); ok {
		return d
	}
	return retryablehttp.DefaultBackoff(minWait, maxWait, attempt, resp)
}

// RetryAfter reads an answer's Retry-After, in seconds or as an HTTP date.
func RetryAfter(resp *http.Response) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t)), true
	}
	return 0, false
}

// call is one request of a client.
type call struct {
	method string
	path   string // below the base URL, starting with "/"
	query  url.Values
	body   any   // encoded as JSON when not nil
	create bool  // creates something: retried only on 429
	out    any   // decoded from a 2xx JSON answer when not nil
	text   bool  // the answer is plain text, stored into out (a *rawText)
	limit  int64 // caps this answer's body instead of the client's cap when > 0
}

// do sends c and decodes the answer into c.out. Any answer outside 2xx is
// an *Error carrying the system's (scrubbed) message.
func (cn *conn) do(ctx context.Context, c call) error {
	resp, err := cn.open(ctx, c)
	if err != nil {
		return err
	}
	body, err := cn.readAll(ctx, c, resp)
	if err != nil {
		return err
	}
	if c.text {
		*c.out.(*rawText) = body
		return nil
	}
	if c.out == nil || len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, c.out); err != nil {
		return &Error{System: cn.system, Op: c.op(), Status: 0, Message: "answer is not the expected JSON"}
	}
	return nil
}

// op names a call in errors: its method and path, never its URL.
func (c call) op() string { return c.method + " " + c.path }

// limitOf is the body cap of c's answer.
func (cn *conn) limitOf(c call) int64 {
	if c.limit > 0 {
		return c.limit
	}
	return cn.maxBody
}

// open sends c and returns its 2xx answer, whose body the caller reads
// (within the cap) and closes. Any other answer is read, closed and
// returned as an *Error carrying the system's (scrubbed) message.
func (cn *conn) open(ctx context.Context, c call) (*http.Response, error) {
	op := c.op()
	u := *cn.base
	// Paths arrive escaped segment by segment (a Jenkins folder "my jobs"
	// is job/my%20jobs); RawPath keeps them from being escaped twice.
	raw := cn.base.EscapedPath() + c.path
	u.Path, u.RawPath = raw, ""
	if p, err := url.PathUnescape(raw); err == nil {
		u.Path, u.RawPath = p, raw
	}
	u.RawQuery = c.query.Encode()
	var payload io.Reader
	if c.body != nil {
		b, err := json.Marshal(c.body)
		if err != nil {
			return nil, &Error{System: cn.system, Op: op, Message: "encode request", Err: err}
		}
		payload = bytes.NewReader(b)
	}
	ctx = context.WithValue(ctx, attemptKey{}, !c.create)
	req, err := retryablehttp.NewRequestWithContext(ctx, c.method, u.String(), payload)
	if err != nil {
		return nil, &Error{System: cn.system, Op: op, Message: "build request", Err: err}
	}
	req.Header.Set("Accept", "application/json")
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "bugflow")
	if cn.auth != nil {
		cn.auth(req.Header)
	}
	resp, err := cn.rc.Do(req)
	if err != nil {
		return nil, cn.transportError(ctx, op, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return resp, nil
	}
	body, err := cn.readAll(ctx, c, resp)
	if err != nil {
		return nil, err
	}
	return nil, &Error{System: cn.system, Op: op, Status: resp.StatusCode, Message: cn.scrub(upstreamMessage(resp.StatusCode, body))}
}

// readAll reads and closes an answer's body, refusing (ErrTooLarge) one
// over the call's cap.
func (cn *conn) readAll(ctx context.Context, c call, resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	limit := cn.limitOf(c)
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, cn.transportError(ctx, c.op(), err)
	}
	if int64(len(body)) > limit {
		return nil, &Error{System: cn.system, Op: c.op(), Status: 0, Message: fmt.Sprintf("answer larger than %d bytes", limit), Err: ErrTooLarge}
	}
	return body, nil
}

// transportError describes a call that got no usable answer. The URL of
// net/http's *url.Error is dropped: only the operation is named.
func (cn *conn) transportError(ctx context.Context, op string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if ctx.Err() != nil {
		return &Error{System: cn.system, Op: op, Message: "cancelled: " + ctx.Err().Error(), Err: ctx.Err()}
	}
	msg := "unreachable"
	if ue != nil && ue.Timeout() {
		msg = "timed out"
	}
	// The cause is kept as text only, scrubbed: transport errors may quote
	// what was sent.
	return &Error{System: cn.system, Op: op, Message: msg, Err: errors.New(cn.scrub(err.Error()))}
}

// scrub removes the client's secrets, and their Basic-auth encodings'
// parts, from text that came from elsewhere.
func (cn *conn) scrub(s string) string {
	for _, secret := range cn.secrets {
		s = strings.ReplaceAll(s, secret, "[redacted]")
	}
	return s
}

// upstreamMessage extracts a short human message from an error answer in
// any of the shapes GitHub and Jira use: {"message"}, {"errorMessages",
// "errors"}; else the status text.
func upstreamMessage(status int, body []byte) string {
	var shape struct {
		Message       string            `json:"message"`
		ErrorMessages []string          `json:"errorMessages"`
		Errors        map[string]string `json:"errors"`
	}
	if json.Unmarshal(body, &shape) == nil {
		var parts []string
		if shape.Message != "" {
			parts = append(parts, shape.Message)
		}
		parts = append(parts, shape.ErrorMessages...)
		for k, v := range shape.Errors {
			parts = append(parts, k+": "+v)
		}
		if len(parts) > 0 {
			return truncate(strings.Join(parts, "; "), 300)
		}
	}
	return http.StatusText(status)
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
