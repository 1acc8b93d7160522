package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/errs"
)

type ctxKey int

const requestInfoKey ctxKey = 0

// requestInfo travels in the request context from the outermost middleware to
// the route, which fills in what only it knows (its pattern and family), so
// that logs, metrics and panic recovery can use them afterwards.
type requestInfo struct {
	id           string
	route        string
	family       Family
	plainInvalid bool
	// failure is the error of a 5xx answer, for self-capture.
	failure error

	// Authentication, resolved once by Server.identify.
	identified bool
	credential credential
	identity   *auth.Identity
	authErr    error
}

func infoFrom(ctx context.Context) *requestInfo {
	if info, ok := ctx.Value(requestInfoKey).(*requestInfo); ok {
		return info
	}
	return &requestInfo{route: unmatchedRoute}
}

// unmatchedRoute is the route label of requests no route matched; using one
// label keeps metric cardinality bounded whatever paths clients send.
const unmatchedRoute = "unmatched"

// RequestID returns the id of the request being served, as echoed in the
// X-Request-ID response header.
func RequestID(ctx context.Context) string { return infoFrom(ctx).id }

// maxRequestIDLength bounds an accepted X-Request-ID; longer or odd ones are
// replaced so that logs cannot be flooded or forged through the header.
const maxRequestIDLength = 128

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLength {
		return false
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.:", c)
		if !ok {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// recorder remembers the status and size of a response for logs and metrics.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer (Flush,
// deadlines).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// observe is the outermost middleware: it assigns the request id, recovers
// panics (500 in the route's dialect, stack in the log only), writes the
// access log line and records metrics.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-ID", id)
		info := &requestInfo{id: id, route: unmatchedRoute, family: familyForPath(r.URL.Path)}
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey, info))
		rec := &recorder{ResponseWriter: w}

		s.metrics.inFlight.Inc()
		s.serveRecovering(rec, r, next)
		s.metrics.inFlight.Dec()

		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		elapsed := time.Since(start)
		s.metrics.observe(r.Method, info.route, status, elapsed)
		// The query string is left out: it may carry tokens.
		s.logger.LogAttrs(r.Context(), slog.LevelInfo, "http request",
			slog.String("request_id", id),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("route", info.route),
			slog.Int("status", status),
			slog.Int64("bytes", rec.bytes),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
			slog.String("remote", clientIP(r)),
		)
	})
}

func (s *Server) serveRecovering(rec *recorder, r *http.Request, next http.Handler) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
			panic(v)
		}
		info := infoFrom(r.Context())
		s.logger.ErrorContext(r.Context(), "panic serving request",
			"request_id", info.id, "method", r.Method, "route", info.route,
			"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		if rec.status == 0 {
			s.renderError(rec, r, info.family, &errs.Error{Kind: errs.Internal, Message: "internal server error"})
		}
	}()
	next.ServeHTTP(rec, r)
}

// clientIP is the peer address without its port. Proxies' forwarding headers
// are not trusted: anyone can send them.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// familyForPath guesses the API family of a path that matched no route, so
// that a 404 or 405 still speaks the caller's dialect.
func familyForPath(path string) Family {
	switch {
	case strings.HasPrefix(path, "/api/bug-reports"):
		return Envelope
	case strings.HasPrefix(path, "/api/"), strings.HasPrefix(path, "/results"), strings.HasPrefix(path, "/history"):
		return FastAPI
	case strings.HasSuffix(path, "/"):
		// seeds/004 is the only family whose paths end in a slash.
		return DRF
	default:
		return Plain
	}
}
