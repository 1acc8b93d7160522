// Package server is bugflow's reference HTTP server: the five documented API
// families on one httprouter, with request ids, access logs, panic recovery,
// body limits, rate limits and Prometheus metrics.
//
// Handlers are thin: they decode the request, call the engine and render the
// result or error in their family's dialect. HTTP never leaks into the domain
// packages.
package server

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/bugs"
	"github.com/bugflow/bugflow/errs"
)

// DefaultMaxBodyBytes is the request body limit of routes that set none.
const DefaultMaxBodyBytes = 1 << 20

// Option configures New.
type Option func(*Server)

// WithLogger sets the logger for access logs and errors. Default slog.Default().
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.logger = l } }

// WithMaxBodyBytes sets the default request body limit. Default 1 MiB.
func WithMaxBodyBytes(n int64) Option { return func(s *Server) { s.maxBody = n } }

// WithMetricsRegistry registers the server's metrics on reg (and serves reg at
// /metrics) instead of on a private registry with Go and process collectors.
func WithMetricsRegistry(reg *prometheus.Registry) Option {
	return func(s *Server) { s.registry = reg }
}

// Server is the reference server's handler.
type Server struct {
	engine   *bugflow.Engine
	logger   *slog.Logger
	maxBody  int64
	registry *prometheus.Registry
	metrics  *metrics
	router   *httprouter.Router
	handler  http.Handler
	routes   []Route
	// authenticators identify tokens, the embedder's first.
	authenticators []Authenticator
	limits         limiters
	healthCache    healthCache
	// now is the clock of the health cache; tests move it.
	now func() time.Time
}

// Route is a registered method and path (in httprouter syntax, :name for a
// parameter), with the API family whose dialect it speaks.
type Route struct {
	Method string
	Path   string
	Family Family
}

// New returns the reference server's handler for engine.
func New(engine *bugflow.Engine, opts ...Option) http.Handler {
	return newServer(engine, opts...)
}

func newServer(engine *bugflow.Engine, opts ...Option) *Server {
	s := &Server{engine: engine, logger: slog.Default(), maxBody: DefaultMaxBodyBytes, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	s.authenticators = append(s.authenticators, engine.Auth)
	s.limits = newLimiters()
	s.metrics = newMetrics(s.registry)
	s.router = httprouter.New()
	// Documented paths are registered exactly (seeds/004's end in '/');
	// redirecting near misses would turn a client's typo into a 301 that
	// drops POST bodies.
	s.router.RedirectTrailingSlash = false
	s.router.RedirectFixedPath = false
	s.router.NotFound = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, infoFrom(r.Context()).family, errs.NotFoundf("no route for %s %s", r.Method, r.URL.Path))
	})
	s.router.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, infoFrom(r.Context()).family, errs.Wrap(errs.Invalid, errMethodNotAllowed, "method %s not allowed on %s", r.Method, r.URL.Path))
	})
	s.registerSystem()
	s.registerSignIn()
	s.registerAnalysisAuth()
	s.registerBugReports()
	s.registerAnalysis()
	s.registerTriage()
	s.registerJobsAdmin()
	// The capture wrapper sits inside observe's panic recovery: it files a
	// report and re-raises, and observe answers the 500. It keys reports on
	// the route pattern and the error's kind, which the route and the error
	// writer leave in the request info.
	s.handler = s.observe(bugs.CaptureHandler(s.router, engine.Bugs,
		bugs.WithRoute(func(r *http.Request) string { return infoFrom(r.Context()).route }),
		bugs.WithRequestError(func(r *http.Request) error { return infoFrom(r.Context()).failure })))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Routes lists every registered route, in registration order. The HEAD
// route that each GET route implies is not listed.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// routeOption adjusts one route's middleware.
type routeOption func(*routeConfig)

type routeConfig struct {
	maxBody int64
	limiter *RateLimiter
	keyFunc func(*http.Request) string
	access  access
	// plainInvalid answers input errors with 400 and a message even in the
	// FastAPI dialect, for seeds/001 endpoints that parse bodies by hand.
	plainInvalid bool
}

// withPlainInvalid makes a FastAPI route answer 400, not 422, for bad input.
func withPlainInvalid() routeOption { return func(c *routeConfig) { c.plainInvalid = true } }

// withMaxBody overrides the body limit for a route that takes uploads.
func withMaxBody(n int64) routeOption { return func(c *routeConfig) { c.maxBody = n } }

// withRateLimit limits a route per key (default: the client IP).
func withRateLimit(l *RateLimiter, key func(*http.Request) string) routeOption {
	return func(c *routeConfig) {
		c.limiter = l
		c.keyFunc = key
	}
}

// handle registers h for method and path in family f, wrapped in the
// per-route middleware: route labelling, body limit, rate limit, access
// check and the check of path and query parameters. Path parameters are
// available through httprouter.ParamsFromContext.
func (s *Server) handle(method, path string, f Family, h http.HandlerFunc, opts ...routeOption) {
	cfg := routeConfig{maxBody: s.maxBody, keyFunc: clientIP}
	for _, o := range opts {
		o(&cfg)
	}
	s.routes = append(s.routes, Route{Method: method, Path: path, Family: f})
	h = s.wrap(path, f, cfg, h)
	s.router.Handler(method, path, h)
	if method == http.MethodGet {
		// curl -I and load balancers' probes use HEAD; net/http drops the
		// body of a HEAD response, so the GET handler serves it as is.
		s.router.Handler(http.MethodHead, path, h)
	}
}

// wrap adds the per-route middleware to h: rate limit, body limit, access
// check, then the check of path and query parameters, which comes after the
// access check so that a caller without access learns nothing about input.
func (s *Server) wrap(path string, f Family, cfg routeConfig, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		info := infoFrom(r.Context())
		info.route, info.family, info.plainInvalid = path, f, cfg.plainInvalid
		if cfg.limiter != nil {
			if ok, wait := cfg.limiter.Allow(cfg.keyFunc(r)); !ok {
				s.writeError(w, r, f, errs.RateLimitedf(wait, "too many requests; retry in %d s", retryAfterSeconds(&errs.Error{RetryAfter: wait})))
				return
			}
		}
		if r.ContentLength > cfg.maxBody {
			s.writeError(w, r, f, errs.TooLargef("request body of %d bytes exceeds the limit of %d bytes", r.ContentLength, cfg.maxBody))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, cfg.maxBody)
		id, authErr := s.identify(r)
		if err := cfg.access.check(id, authErr); err != nil {
			s.writeError(w, r, f, err)
			return
		}
		if err := checkParams(r); err != nil {
			s.writeError(w, r, f, err)
			return
		}
		refreshSessionCookie(w, r)
		h(w, r)
		s.recordActivity(r)
	}
}
