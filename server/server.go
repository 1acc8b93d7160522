// Package server is bugflow's reference HTTP server: the five documented API
// families on one httprouter, with request ids, access logs, panic recovery,
// body limits, rate limits and Prometheus metrics.
//
// Every route is declared in routes.go with its API family (whose dialect it
// speaks) and its access. Handlers are thin: they decode the request, call
// one service method and reply; an error they return is rendered once, by
// the route's wrapper, in the family's dialect (dialect_*.go). HTTP never
// leaks into the domain packages.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/audit"
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
	// root is the API root's last answer (see apiRoot).
	root atomic.Pointer[rootAnswer]
	// dispatchers serve the parameter routes, each keyed by method and
	// path (see handle).
	dispatchers map[string]*dispatcher
	// authenticators identify tokens, the embedder's first.
	authenticators []Authenticator
	limits         limiters
	healthCache    healthCache
	// now is the clock of the health cache; tests move it.
	now func() time.Time
}

// Route is a registered method and path (in httprouter syntax, :name for a
// parameter), with the API family whose dialect it speaks and who may call
// it.
type Route struct {
	Method string
	Path   string
	Family Family
	Access Access
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
	s.metrics = newMetrics(s.registry, engine.Bugs.IntakeStats)
	s.router = httprouter.New()
	// Documented paths are registered exactly (seeds/004's end in '/');
	// redirecting near misses would turn a client's typo into a 301 that
	// drops POST bodies.
	s.router.RedirectTrailingSlash = false
	s.router.RedirectFixedPath = false
	// Requests that match no route answer in the dialect their path
	// suggests (familyForPath).
	s.router.NotFound = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, infoFrom(r.Context()).family, errs.NotFoundf("no route for %s %s", r.Method, r.URL.Path))
	})
	s.router.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, infoFrom(r.Context()).family, errs.Wrap(errs.Invalid, errMethodNotAllowed, "method %s not allowed on %s", r.Method, r.URL.Path))
	})
	s.registerRoutes()
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
func (s *Server) Routes() []Route {
	out := make([]Route, len(s.routes))
	for i, rt := range s.routes {
		rt.Access.Roles = slices.Clone(rt.Access.Roles)
		out[i] = rt
	}
	return out
}

// handlerFunc serves one route. It writes a successful answer itself (with
// reply) and returns any error, which the route's wrapper renders in the
// route's dialect: handlers never render errors.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route is one entry of a route table (see registerRoutes): its path below
// the group's prefix, who may call it, its handler and the options that
// adjust its middleware.
type route struct {
	method  string
	path    string
	access  Access
	handler handlerFunc
	opts    []routeOption
	// under is the parameter route (below the group's prefix) that serves
	// this route's path, when a static segment of it stands where that
	// route has a parameter (see dispatchedBy).
	under string
}

// dispatchedBy serves r through the parameter route paramPath of its
// group: httprouter panics on a static segment and a parameter at one
// position (/tasks/my-tasks/ beside /tasks/:id/), so the parameter route
// is registered once and hands the reserved value (my-tasks) to r. r keeps
// its own access, middleware and place in Routes.
func (r route) dispatchedBy(paramPath string) route {
	r.under = paramPath
	return r
}

// get, post, put and del make the route table entries of their methods.
func get(path string, a Access, h handlerFunc, opts ...routeOption) route {
	return route{method: http.MethodGet, path: path, access: a, handler: h, opts: opts}
}

func post(path string, a Access, h handlerFunc, opts ...routeOption) route {
	return route{method: http.MethodPost, path: path, access: a, handler: h, opts: opts}
}

func put(path string, a Access, h handlerFunc, opts ...routeOption) route {
	return route{method: http.MethodPut, path: path, access: a, handler: h, opts: opts}
}

func del(path string, a Access, h handlerFunc, opts ...routeOption) route {
	return route{method: http.MethodDelete, path: path, access: a, handler: h, opts: opts}
}

// group registers routes below prefix, all speaking family f's dialect.
func (s *Server) group(prefix string, f Family, routes ...route) {
	for _, rt := range routes {
		under := ""
		if rt.under != "" {
			under = prefix + rt.under
		}
		s.handle(Route{Method: rt.method, Path: prefix + rt.path, Family: f, Access: rt.access}, under, rt.handler, rt.opts...)
	}
}

// routeOption adjusts one route's middleware.
type routeOption func(*routeConfig)

type routeConfig struct {
	maxBody int64
	limiter *RateLimiter
	keyFunc func(*http.Request) string
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

// handle registers h for rt, wrapped in the per-route middleware. Path
// parameters are available through httprouter.ParamsFromContext. A route
// under a parameter route (dispatchedBy) is served by that route's
// dispatcher for its reserved value; a parameter route is served by its
// dispatcher for every other value.
func (s *Server) handle(rt Route, under string, h handlerFunc, opts ...routeOption) {
	cfg := routeConfig{maxBody: s.maxBody, keyFunc: clientIP}
	for _, o := range opts {
		o(&cfg)
	}
	s.routes = append(s.routes, rt)
	wrapped := s.wrap(rt, cfg, h)
	switch {
	case under != "":
		param, value, renamed := reservedValue(under, rt.Path)
		d := s.dispatcherFor(rt.Method, under, param)
		if _, taken := d.reserved[value]; taken {
			panic(fmt.Sprintf("server: %s %s is registered twice", rt.Method, rt.Path))
		}
		d.reserved[value] = wrapped
		if renamed != nil {
			d.reserved[value] = renameParams(param, renamed, wrapped)
		}
	case strings.Contains(rt.Path, "/:"):
		d := s.dispatcherFor(rt.Method, rt.Path, "")
		if d.fallback != nil {
			panic(fmt.Sprintf("server: %s %s is registered twice", rt.Method, rt.Path))
		}
		d.fallback = wrapped
	default:
		s.mount(rt.Method, rt.Path, wrapped)
	}
}

// mount hands h to the router for method and path.
func (s *Server) mount(method, path string, h http.Handler) {
	s.router.Handler(method, path, h)
	if method == http.MethodGet {
		// curl -I and load balancers' probes use HEAD; net/http drops the
		// body of a HEAD response, so the GET handler serves it as is.
		s.router.Handler(http.MethodHead, path, h)
	}
}

// dispatcher serves one parameter route: the routes registered for
// reserved values of its parameter, else the route itself (fallback), else
// 404.
type dispatcher struct {
	param    string
	reserved map[string]http.Handler
	fallback http.Handler
	notFound http.Handler
}

func (d *dispatcher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := d.reserved[httprouter.ParamsFromContext(r.Context()).ByName(d.param)]; ok && d.param != "" {
		h.ServeHTTP(w, r)
		return
	}
	if d.fallback != nil {
		d.fallback.ServeHTTP(w, r)
		return
	}
	d.notFound.ServeHTTP(w, r)
}

// dispatcherFor returns the dispatcher of method and the parameter route
// path, registering it with the router the first time. param names the
// parameter that reserved values stand for ("" when not known yet).
func (s *Server) dispatcherFor(method, path, param string) *dispatcher {
	key := method + " " + path
	d, ok := s.dispatchers[key]
	if !ok {
		if s.dispatchers == nil {
			s.dispatchers = map[string]*dispatcher{}
		}
		d = &dispatcher{reserved: map[string]http.Handler{}, notFound: s.router.NotFound}
		s.dispatchers[key] = d
		s.mount(method, path, d)
	}
	if param != "" {
		d.param = param
	}
	return d
}

// reservedValue finds the parameter of paramPath whose place a static
// segment of path takes, and that segment; the other segments must be
// equal, except that a parameter of path may have another name than
// paramPath's at its place: renamed maps paramPath's names to path's.
func reservedValue(paramPath, path string) (param, value string, renamed map[string]string) {
	ps, ss := strings.Split(paramPath, "/"), strings.Split(path, "/")
	if len(ps) != len(ss) {
		panic(fmt.Sprintf("server: %s cannot be dispatched by %s", path, paramPath))
	}
	for i := range ps {
		switch {
		case strings.HasPrefix(ps[i], ":") && !strings.HasPrefix(ss[i], ":"):
			if param != "" {
				panic(fmt.Sprintf("server: %s stands for two parameters of %s", path, paramPath))
			}
			param, value = ps[i][1:], ss[i]
		case strings.HasPrefix(ps[i], ":") && strings.HasPrefix(ss[i], ":") && ps[i] != ss[i]:
			if renamed == nil {
				renamed = map[string]string{}
			}
			renamed[ps[i][1:]] = ss[i][1:]
		case ps[i] != ss[i]:
			panic(fmt.Sprintf("server: %s cannot be dispatched by %s", path, paramPath))
		}
	}
	if param == "" {
		panic(fmt.Sprintf("server: %s has no parameter to dispatch %s", paramPath, path))
	}
	return param, value, renamed
}

// renameParams serves h with the router's parameters named as h's own
// path names them: the parameter that a static segment of h's path takes
// the place of is dropped, and the others renamed (reservedValue). So
// POST /tasks/failed-notifications/:id/retry/, dispatched by
// /tasks/:id/:action/retry/ (the router cannot hold both), reads its id as
// "id".
func renameParams(reserved string, renamed map[string]string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ps httprouter.Params
		for _, p := range httprouter.ParamsFromContext(r.Context()) {
			if p.Key == reserved {
				continue
			}
			if to, ok := renamed[p.Key]; ok {
				p.Key = to
			}
			ps = append(ps, p)
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), httprouter.ParamsKey, ps)))
	})
}

// wrap is the per-route middleware around h, and the one place that renders
// a route's errors: those of admit, then those h returns, each in the
// route's dialect.
func (s *Server) wrap(rt Route, cfg routeConfig, h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		info := infoFrom(r.Context())
		info.route, info.family, info.plainInvalid = rt.Path, rt.Family, cfg.plainInvalid
		if err := s.admit(w, r, rt.Access, cfg); err != nil {
			s.renderError(w, r, rt.Family, err)
			return
		}
		refreshSessionCookie(w, r)
		if id := identityFrom(r.Context()); id != nil {
			// Services record who made each change (package audit).
			r = r.WithContext(audit.WithActor(r.Context(), audit.Actor{UserID: id.User.ID, Username: id.User.Username}))
		}
		if err := h(w, r); err != nil {
			s.renderError(w, r, rt.Family, err)
		}
		s.recordActivity(r)
	}
}

// admit checks a request before its handler: rate limit, body limit,
// access, then path and query parameters, which come after the access check
// so that a caller without access learns nothing about input.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, a Access, cfg routeConfig) error {
	if cfg.limiter != nil {
		if ok, wait := cfg.limiter.Allow(cfg.keyFunc(r)); !ok {
			return errs.RateLimitedf(wait, "too many requests; retry in %d s", retryAfterSeconds(&errs.Error{RetryAfter: wait}))
		}
	}
	if r.ContentLength > cfg.maxBody {
		return errs.TooLargef("request body of %d bytes exceeds the limit of %d bytes", r.ContentLength, cfg.maxBody)
	}
	r.Body = http.MaxBytesReader(w, r.Body, cfg.maxBody)
	id, authErr := s.identify(r)
	if err := a.check(id, authErr); err != nil {
		return err
	}
	return checkParams(r)
}
