// Package apitest is the contract harness of the end-to-end tests: it starts
// the real reference server on loopback and checks every request sent through
// its client, and every response received, against openapi.yaml. A route
// missing from the document, an undocumented status code or a body that does
// not match its schema fails the test, so the document cannot drift from the
// server.
package apitest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/server"
)

// The docs pages, their assets and the analytics dashboard's SVG chart are
// text the document describes as strings; kin-openapi knows only text/plain
// among text types.
func init() {
	for _, ct := range []string{"text/html", "text/javascript", "text/css", "image/svg+xml"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
	}
}

// Server is a running reference server with a validating client.
type Server struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:41234.
	URL string
	// Engine is the engine behind the server, for arranging test data.
	Engine *bugflow.Engine
	// Client validates every exchange against openapi.yaml. Use it for
	// everything a documented client would do.
	Client *http.Client
	// Raw does not validate. Use it only to send what the document
	// deliberately does not describe (unknown paths, garbage methods).
	Raw *http.Client
}

// Config adjusts Start. The zero value is an in-memory SQLite engine.
type Config struct {
	// Engine is the engine configuration; DatabaseURL "" means
	// sqlite::memory: here (not ./bugflow.db).
	Engine bugflow.Config
	// ServerOptions are passed to server.New.
	ServerOptions []server.Option
}

// Start opens an engine, serves it on loopback and closes both when t ends.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.Engine.DatabaseURL == "" {
		cfg.Engine.DatabaseURL = "sqlite::memory:"
	}
	if cfg.Engine.Logger == nil {
		cfg.Engine.Logger = slog.New(slog.DiscardHandler)
	}
	engine, err := bugflow.Open(context.Background(), cfg.Engine)
	if err != nil {
		t.Fatalf("apitest: open engine: %v", err)
	}
	opts := append([]server.Option{server.WithLogger(cfg.Engine.Logger)}, cfg.ServerOptions...)
	ts := httptest.NewServer(server.New(engine, opts...))
	t.Cleanup(func() {
		ts.Close()
		if err := engine.Close(); err != nil {
			t.Errorf("apitest: close engine: %v", err)
		}
	})

	return &Server{
		URL:    ts.URL,
		Engine: engine,
		Client: ValidatingClient(t, ts.URL, ts.Client().Transport),
		Raw:    ts.Client(),
	}
}

// ValidatingClient returns a client that sends requests through next and
// reports, as errors of t, every request or response that openapi.yaml does
// not describe.
func ValidatingClient(t testing.TB, baseURL string, next http.RoundTripper) *http.Client {
	t.Helper()
	return &http.Client{Transport: &validator{t: t, router: Router(t, baseURL), next: next}}
}

// Router loads openapi.yaml, validates it as an OpenAPI 3 document and
// returns a router that matches requests sent to baseURL.
func Router(t testing.TB, baseURL string) routers.Router {
	t.Helper()
	doc, err := LoadDocument()
	if err != nil {
		t.Fatalf("apitest: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: baseURL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("apitest: build router: %v", err)
	}
	return router
}

// LoadDocument parses and validates the embedded openapi.yaml.
func LoadDocument() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(bugflow.OpenAPI())
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, err
	}
	return doc, nil
}

// validator is an http.RoundTripper that checks each exchange against the
// document and reports mismatches as test errors (the exchange itself still
// happens, so the test sees what the server really said).
type validator struct {
	t      testing.TB
	router routers.Router
	next   http.RoundTripper
}

func (v *validator) RoundTrip(req *http.Request) (*http.Response, error) {
	reqBody, err := drain(&req.Body)
	if err != nil {
		return nil, err
	}
	route, params, findErr := v.router.FindRoute(req)
	var input *openapi3filter.RequestValidationInput
	if findErr != nil {
		v.t.Errorf("apitest: %s %s is not described by openapi.yaml: %v", req.Method, req.URL.Path, findErr)
	} else {
		input = &openapi3filter.RequestValidationInput{
			Request:    cloneWithBody(req, reqBody),
			PathParams: params,
			Route:      route,
			Options: &openapi3filter.Options{
				// Authentication is the server's job; the document only
				// declares which schemes exist.
				AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
				MultiError:         true,
			},
		}
		if err := openapi3filter.ValidateRequest(req.Context(), input); err != nil {
			v.t.Errorf("apitest: request %s %s does not match openapi.yaml: %v", req.Method, req.URL.Path, err)
		}
	}

	resp, err := v.next.RoundTrip(req)
	if err != nil || input == nil {
		return resp, err
	}
	respBody, err := drain(&resp.Body)
	if err != nil {
		return nil, err
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(respBody)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		v.t.Errorf("apitest: response %d to %s %s does not match openapi.yaml: %v\nbody: %s", resp.StatusCode, req.Method, req.URL.Path, err, truncate(respBody))
	}
	return resp, nil
}

// drain reads a body fully and replaces it with a re-readable copy.
func drain(body *io.ReadCloser) ([]byte, error) {
	if *body == nil || *body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(*body)
	_ = (*body).Close()
	if err != nil {
		return nil, err
	}
	*body = io.NopCloser(bytes.NewReader(b))
	return b, nil
}

func cloneWithBody(req *http.Request, body []byte) *http.Request {
	c := req.Clone(req.Context())
	c.Body = io.NopCloser(bytes.NewReader(body))
	return c
}

func truncate(b []byte) string {
	const limit = 2000
	if len(b) > limit {
		return string(b[:limit]) + "..."
	}
	return string(b)
}
