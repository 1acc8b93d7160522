package bugs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
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

// Bounds on the request headers CaptureHandler keeps.
const (
	maxCapturedHeaders      = 50
	maxCapturedHeaderLength = 512
)

// captureTimeout bounds the storing of a report from CaptureHandler, which
// runs after the request's own context may have ended.
const captureTimeout = 5 * time.Second

// CaptureHandler wraps next so that its panics and its 5xx responses are
// filed as auto:server reports, with the request method, path, request id
// (the X-Request-ID response header set by an outer middleware, else the
// request's header) and the request headers, secrets redacted, in context.
//
// A panic is re-raised after it is filed: the wrapper only observes, and
// answering it (a 500 in the API's own error format, the log line) is the
// job of the recovery middleware outside it. Place CaptureHandler inside
// that middleware, or net/http's own recovery will drop the connection. A
// panic with http.ErrAbortHandler is how handlers abort on purpose and is
// not filed.
func CaptureHandler(next http.Handler, svc *Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v != http.ErrAbortHandler {
					svc.captureRequest(r, rec, fmt.Sprintf("panic: %v", v), string(debug.Stack()), "panic")
				}
				panic(v)
			}
		}()
		next.ServeHTTP(rec, r)
		if rec.status >= 500 {
			msg := fmt.Sprintf("%d %s on %s %s", rec.status, http.StatusText(rec.status), r.Method, r.URL.Path)
			svc.captureRequest(r, rec, msg, "", fmt.Sprintf("%d", rec.status))
		}
	})
}

// captureRequest files one report for a failed request and logs (never
// returns) a failure to do so: the response is already decided.
func (s *Service) captureRequest(r *http.Request, rec *statusRecorder, msg, stack, code string) {
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
	fields := map[string]any{
		"method":    r.Method,
		"path":      r.URL.Path,
		"requestId": requestID,
		"headers":   headers,
	}
	if rec.status != 0 {
		fields["status"] = rec.status
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), captureTimeout)
	defer cancel()
	// stack is "" for a 5xx answer: this goroutine's stack would only
	// show the wrapper, not where the handler went wrong.
	opts := []CaptureOption{WithFields(fields), WithCode(code), WithStack(stack)}
	if _, err := s.Capture(ctx, errors.New(msg), opts...); err != nil {
		s.log.ErrorContext(ctx, "bugs: cannot file a captured request failure", "err", err, "method", r.Method, "path", r.URL.Path)
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
