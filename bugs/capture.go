package bugs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/bugflow/bugflow/activity"
	"github.com/bugflow/bugflow/errs"
)

// CaptureOption adjusts the report that Capture files.
type CaptureOption func(*AutoInput)

// WithFields merges fields into the report's context (secrets are redacted
// as for any report).
func WithFields(fields map[string]any) CaptureOption {
	return func(in *AutoInput) {
		merged := map[string]any{}
		if len(in.Context) > 0 {
			_ = json.Unmarshal(in.Context, &merged)
		}
		for k, v := range fields {
			merged[k] = v
		}
		if raw, err := json.Marshal(merged); err == nil {
			in.Context = raw
		}
	}
}

// WithStack sets the stack trace instead of the stack of Capture's caller.
func WithStack(stack string) CaptureOption {
	return func(in *AutoInput) { in.ErrorStack = stack }
}

// WithCode sets the error code.
func WithCode(code string) CaptureOption {
	return func(in *AutoInput) { in.ErrorCode = code }
}

// WithSeverity sets the severity instead of deriving it.
func WithSeverity(sev Severity) CaptureOption {
	return func(in *AutoInput) { in.Severity = sev }
}

// WithSource sets another automatic source than auto:server.
func WithSource(src Source) CaptureOption {
	return func(in *AutoInput) { in.Source = src }
}

// WithReporter names the user on whose behalf the failing work ran.
func WithReporter(userID string) CaptureOption {
	return func(in *AutoInput) { in.ReporterID = userID }
}

// WithWorkspace names the workspace (and optionally space) involved.
func WithWorkspace(workspaceID, spaceID string) CaptureOption {
	return func(in *AutoInput) { in.WorkspaceID, in.SpaceID = workspaceID, spaceID }
}

// Capture files err as an auto:server report through Auto, so repeated
// errors deduplicate. The stack is the caller's unless WithStack gives one,
// and the error code is the errs kind when err carries one. A message or
// stack over the field limits is cut, and a context over MaxJSONBytes is
// replaced by a note, rather than refused: capturing must not fail because
// an error was verbose. A nil err files nothing and returns a
// zero Report.
func (s *Service) Capture(ctx context.Context, err error, opts ...CaptureOption) (Report, error) {
	if err == nil {
		return Report{}, nil
	}
	in := AutoInput{Source: SourceAutoServer, ErrorMessage: err.Error(), ErrorStack: string(debug.Stack())}
	if e := errs.As(err); e != nil {
		in.ErrorCode = e.Kind.String()
	}
	for _, opt := range opts {
		opt(&in)
	}
	if in.ErrorMessage == "" {
		in.ErrorMessage = fmt.Sprintf("%T with an empty message", err)
	}
	if len(in.Context) > MaxJSONBytes {
		in.Context = json.RawMessage(fmt.Sprintf(`{"truncated":true,"bytes":%d}`, len(in.Context)))
	}
	in.ErrorMessage = activity.Truncate(in.ErrorMessage, MaxErrorMessageLength)
	in.ErrorStack = activity.Truncate(in.ErrorStack, MaxErrorStackLength)
	in.ErrorCode = activity.Truncate(in.ErrorCode, MaxErrorCodeLength)
	r, _, aerr := s.Auto(ctx, in)
	if aerr != nil {
		return Report{}, fmt.Errorf("bugs: capture: %w", aerr)
	}
	return r, nil
}

// Bounds on what CaptureHandler keeps of a request and its failure.
const (
	maxCapturedHeaders      = 50
	maxCapturedHeaderLength = 512
	maxCapturedErrorLength  = 2048
)

// captureTimeout bounds the storing of a report from CaptureHandler, which
// runs after the request's own context may have ended.
const captureTimeout = 5 * time.Second

// HandlerOption configures CaptureHandler.
type HandlerOption func(*handlerConfig)

type handlerConfig struct {
	route    func(*http.Request) string
	errorFor func(*http.Request) error
}

// WithRoute tells CaptureHandler the route pattern that served a request
// (for example "/results/:job_id"), asked once the handler has answered.
// Reports are keyed on it, so that one failing route files one report
// however many paths reach it. Without it CaptureHandler uses the pattern
// that net/http's ServeMux records in Request.Pattern, and failing that the
// path.
func WithRoute(route func(r *http.Request) string) HandlerOption {
	return func(c *handlerConfig) { c.route = route }
}

// WithRequestError tells CaptureHandler the error behind a 5xx answer,
// asked once the handler has answered; nil when unknown. Reports are keyed
// on its errs kind as well as the route, and its text is kept in the
// report's context.
func WithRequestError(errorFor func(r *http.Request) error) HandlerOption {
	return func(c *handlerConfig) { c.errorFor = errorFor }
}

// CaptureHandler wraps next so that its panics and its 5xx responses are
// filed as auto:server reports. The report's message, and so its
// fingerprint, is the route and the kind of failure (the error's errs kind,
// "panic", or the status when no error is known), not the literal path: the
// same fault reached through many paths folds into one report with a count.
// Its context holds the request method, path and id (the X-Request-ID
// response header set by an outer middleware, else the request's header),
// the request headers with secrets redacted, and the error text or panic
// value.
//
// A 503 Service Unavailable answer is not filed. It is how a handler says
// on purpose that a dependency is down or that a feature is switched off by
// configuration (token storage without a secret key, say): a state for an
// operator to see in health checks, metrics and logs, not a defect to
// triage, and while the database is down the report could not be stored
// anyway.
//
// A panic is re-raised after it is filed: the wrapper only observes, and
// answering it (a 500 in the API's own error format, the log line) is the
// job of the recovery middleware outside it. Place CaptureHandler inside
// that middleware, or net/http's own recovery will drop the connection. A
// panic with http.ErrAbortHandler is how handlers abort on purpose and is
// not filed.
func CaptureHandler(next http.Handler, svc *Service, opts ...HandlerOption) http.Handler {
	var cfg handlerConfig
	for _, o := range opts {
		o(&cfg)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v != http.ErrAbortHandler {
					fields := map[string]any{"panic": activity.Truncate(fmt.Sprint(v), maxCapturedErrorLength)}
					svc.captureRequest(r, rec, "panic", cfg.routeOf(r), "panic", string(debug.Stack()), fields)
				}
				panic(v)
			}
		}()
		next.ServeHTTP(rec, r)
		if rec.status < 500 || rec.status == http.StatusServiceUnavailable {
			return
		}
		what := fmt.Sprintf("%d %s", rec.status, http.StatusText(rec.status))
		code := strconv.Itoa(rec.status)
		fields := map[string]any{}
		if cfg.errorFor != nil {
			if err := cfg.errorFor(r); err != nil {
				code = errs.KindOf(err).String()
				what += " (" + code + ")"
				fields["error"] = activity.Truncate(err.Error(), maxCapturedErrorLength)
			}
		}
		svc.captureRequest(r, rec, what, cfg.routeOf(r), code, "", fields)
	})
}

// routeOf is the route pattern that served r, without the method that a
// ServeMux pattern may start with.
func (c handlerConfig) routeOf(r *http.Request) string {
	if c.route != nil {
		if route := c.route(r); route != "" {
			return route
		}
	}
	if r.Pattern == "" {
		return r.URL.Path
	}
	if i := strings.IndexAny(r.Pattern, " \t"); i >= 0 {
		return strings.TrimLeft(r.Pattern[i:], " \t")
	}
	return r.Pattern
}

// captureRequest files one report for a failed request, "WHAT on METHOD
// ROUTE", and logs (never returns) a failure to do so: the response is
// already decided. fields add to the request's context.
func (s *Service) captureRequest(r *http.Request, rec *statusRecorder, what, route, code, stack string, fields map[string]any) {
	headers := make(map[string]any, len(r.Header))
	for name, values := range r.Header {
		if len(headers) == maxCapturedHeaders {
			break
		}
		// Cut so that a request with huge headers still fits the
		// context bound; secrets are redacted later whatever their size.
		vs := make([]string, 0, len(values))
		for _, v := range values[:min(len(values), 4)] {
			vs = append(vs, activity.Truncate(v, maxCapturedHeaderLength))
		}
		if len(vs) == 1 {
			headers[name] = vs[0]
		} else {
			headers[name] = vs
		}
	}
	requestID := rec.Header().Get("X-Request-ID")
	if requestID == "" {
		requestID = activity.Truncate(r.Header.Get("X-Request-ID"), 128)
	}
	fields["method"] = r.Method
	fields["path"] = r.URL.Path
	fields["route"] = route
	fields["requestId"] = requestID
	fields["headers"] = headers
	if rec.status != 0 {
		fields["status"] = rec.status
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), captureTimeout)
	defer cancel()
	// stack is "" for a 5xx answer: this goroutine's stack would only
	// show the wrapper, not where the handler went wrong.
	opts := []CaptureOption{WithFields(fields), WithCode(code), WithStack(stack)}
	msg := what + " on " + r.Method + " " + route
	if _, err := s.Capture(ctx, errors.New(msg), opts...); err != nil {
		s.log.ErrorContext(ctx, "bugs: cannot file a captured request failure", "err", err, "method", r.Method, "route", route)
	}
}

// statusRecorder remembers the status code a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush passes flushes through for streaming handlers.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
