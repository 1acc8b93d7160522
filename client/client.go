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
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/bugflow/bugflow/client/api"
)

// DefaultTimeout bounds a whole request (all retries included) when the
// caller does not supply an *http.Client of its own.
const DefaultTimeout = 60 * time.Second

// Client calls the bugflow reference server. Its methods are those of the
// generated api.ClientWithResponses, e.g. GetHealthWithResponse.
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
// id, an API key or a JWT.
func WithToken(token string) Option { return func(c *config) { c.token = token } }

// WithHTTPClient uses hc for every request (transport, TLS, proxies,
// timeout). Default: an http.Client with DefaultTimeout.
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.httpClient = hc } }

// WithRetry retries a failed request up to retries more times, with
// exponential backoff between 100 ms and 5 s (or what a Retry-After header
// asks), on connection errors, 429 and 5xx answers other than 501. Only
// requests that are safe to repeat are retried: GET, HEAD, OPTIONS, PUT and
// DELETE, and POST or PATCH only when they carry an Idempotency-Key header.
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
// Unlike the generated methods it leaves the status code to the caller.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	if c.token != "" && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return c.doer.Do(req)
}

// retryDoer sends requests through go-retryablehttp, deciding per request
// whether repeating it is safe.
type retryDoer struct {
	rc *retryablehttp.Client
}

type repeatableKey struct{}

func newRetryDoer(hc *http.Client, retries int) *retryDoer {
	rc := retryablehttp.NewClient()
	rc.HTTPClient = hc
	rc.Logger = nil
	rc.RetryMax = retries
	rc.RetryWaitMin = 100 * time.Millisecond
	rc.RetryWaitMax = 5 * time.Second
	rc.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if repeatable, _ := ctx.Value(repeatableKey{}).(bool); !repeatable {
			return false, nil
		}
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	// Hand back the last response or error as it was, rather than
	// retryablehttp's "giving up" error, so that callers see the server's
	// own answer (and its error body) after the final attempt.
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return &retryDoer{rc: rc}
}

// Do implements api.HttpRequestDoer.
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
