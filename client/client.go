// Package client is the Go client of the bugflow reference server.
//
// The request and response types and the low-level calls are generated from
// openapi.yaml into package api; this package adds what every caller needs on
// top: authentication, retries that are safe to make, and typed errors.
//
//	c, err := client.New("http://localhost:8080", client.WithToken(token), client.WithRetry(3))
//	health, err := client.Check(c.GetHealthWithResponse(ctx))
//	fmt.Println(health.JSON200.Status)
package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/bugflow/bugflow/client/api"
)

// DefaultTimeout bounds each attempt of a request when the caller does not
// supply an *http.Client of its own, so that a server that accepts the
// connection and then hangs cannot stall the caller forever. The whole call,
// retries and the waits between them included, is bounded by the context.
const DefaultTimeout = 60 * time.Second

// Bounds of the wait between two attempts. The floor keeps a struggling
// server from being hammered; the ceiling keeps a caller from hanging on a
// backoff (or a Retry-After) longer than it would wait for one answer.
const (
	retryWaitMin = 100 * time.Millisecond
	retryWaitMax = 5 * time.Second
)

// Client calls the bugflow reference server. Its methods are those of the
// generated api.ClientWithResponses, e.g. GetHealthWithResponse; wrap their
// results in Check to turn error answers into *APIError.
type Client struct {
	*api.ClientWithResponses
	doer  api.HttpRequestDoer
	token string
}

type config struct {
	token      string
	httpClient *http.Client
	retries    int
}

// Option configures New.
type Option func(*config)

// WithToken sends "Authorization: Bearer token" with every request: a session
// token, an API key or a JWT.
func WithToken(token string) Option { return func(c *config) { c.token = token } }

// WithHTTPClient uses hc for every attempt (transport, TLS, proxies,
// per-attempt timeout). Default: an http.Client with DefaultTimeout.
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.httpClient = hc } }

// WithRetry makes up to retries further attempts after the first (so at most
// retries+1 in all) when an attempt fails with a connection error, a 429 or
// a 5xx other than 501. It waits between attempts what a Retry-After header
// asks, else an exponential backoff from 100 ms to 5 s; an answer whose
// Retry-After asks for more than 5 s is returned as it is, so the caller
// decides whether to wait that long.
//
// Only requests that are safe to repeat are retried: GET, HEAD, OPTIONS, PUT
// and DELETE, and POST or PATCH only when they carry an Idempotency-Key
// header, because the server may have acted on an attempt whose answer was
// lost. After the last attempt the caller gets that attempt's own answer or
// error. Zero, the default, sends every request once.
func WithRetry(retries int) Option { return func(c *config) { c.retries = max(0, retries) } }

// New returns a client for the server at baseURL (e.g. http://localhost:8080).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("client: base URL must be an absolute http(s) URL, e.g. http://localhost:8080")
	}
	cfg := config{}
	for _, o := range opts {
		o(&cfg)
	}
	hc := cfg.httpClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	var doer api.HttpRequestDoer = hc
	if cfg.retries > 0 {
		doer = newRetryDoer(hc, cfg.retries)
	}
	genOpts := []api.ClientOption{api.WithHTTPClient(doer)}
	if cfg.token != "" {
		genOpts = append(genOpts, api.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+cfg.token)
			return nil
		}))
	}
	gen, err := api.NewClientWithResponses(baseURL, genOpts...)
	if err != nil {
		return nil, err
	}
	return &Client{ClientWithResponses: gen, doer: doer, token: cfg.token}, nil
}

// Do sends a hand-built request with the client's token and retry policy,
// for calls the generated methods do not cover (streaming uploads, say).
// Like http.Client.Do it leaves the status code to the caller; CheckResponse
// turns an error answer into an *APIError.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	if c.token != "" && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return c.doer.Do(req)
}

// retryDoer sends requests through go-retryablehttp. Its CheckRetry sees only
// a context, a response and an error, and the response is nil exactly when
// the method matters most (the connection broke), so Do records per request,
// in the context, whether repeating it is safe.
type retryDoer struct {
	rc *retryablehttp.Client
}

type repeatableKey struct{}

func newRetryDoer(hc *http.Client, retries int) *retryDoer {
	rc := retryablehttp.NewClient()
	rc.HTTPClient = hc
	rc.Logger = nil
	rc.RetryMax = retries
	rc.RetryWaitMin = retryWaitMin
	rc.RetryWaitMax = retryWaitMax
	rc.CheckRetry = checkRetry
	rc.Backoff = backoff
	rc.ErrorHandler = lastAnswer
	return &retryDoer{rc: rc}
}

// Do implements api.HttpRequestDoer. retryablehttp.FromRequest buffers the
// body so that every attempt sends it whole.
func (d *retryDoer) Do(req *http.Request) (*http.Response, error) {
	ctx := context.WithValue(req.Context(), repeatableKey{}, repeatable(req))
	rreq, err := retryablehttp.FromRequest(req.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	return d.rc.Do(rreq)
}

// repeatable reports whether sending req twice has the same effect as once.
func repeatable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	case http.MethodPost, http.MethodPatch:
		return req.Header.Get("Idempotency-Key") != ""
	}
	return false
}

// checkRetry is retryablehttp's default policy restricted to repeatable
// requests and to waits within retryWaitMax.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if repeatable, _ := ctx.Value(repeatableKey{}).(bool); !repeatable {
		return false, nil
	}
	retry, checkErr := retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	if d, ok := retryAfter(resp); retry && ok && d > retryWaitMax {
		return false, nil
	}
	return retry, checkErr
}

// backoff honours Retry-After on any answer, not only on the 429 and 503
// that retryablehttp.DefaultBackoff looks at; checkRetry has already refused
// waits beyond the ceiling.
func backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if d, ok := retryAfter(resp); ok {
		return d
	}
	return retryablehttp.DefaultBackoff(minWait, maxWait, attempt, resp)
}

// retryAfter reads a Retry-After header in either of its forms, seconds or
// an HTTP date.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		// Clamp before multiplying so that absurd values cannot overflow
		// into a short (or negative) wait.
		return time.Duration(min(s, 1<<30)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// lastAnswer hands back the final attempt's answer as it was, rather than
// retryablehttp's "giving up" error, so that callers see the server's own
// answer (and its error body). An error wins over a response that came with
// it (the context ended), whose body is closed because nobody will read it.
func lastAnswer(resp *http.Response, err error, _ int) (*http.Response, error) {
	if err != nil && resp != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, err
}
