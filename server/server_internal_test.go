package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/analysis"
	"github.com/bugflow/bugflow/errs"
)

// syncBuffer is a log sink that tests can read while the server writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newTestServer(t *testing.T, opts ...Option) (*Server, *syncBuffer) {
	t.Helper()
	return newTestServerWith(t, nil, opts...)
}

// newTestServerWith is newTestServer with an engine configuration adjusted
// by configure.
func newTestServerWith(t *testing.T, configure func(*bugflow.Config), opts ...Option) (*Server, *syncBuffer) {
	t.Helper()
	cfg := bugflow.Config{DatabaseURL: "sqlite::memory:", Logger: slog.New(slog.DiscardHandler)}
	if configure != nil {
		configure(&cfg)
	}
	engine, err := bugflow.Open(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = engine.Close() })
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	return newServer(engine, append([]Option{WithLogger(logger)}, opts...)...), logs
}

func do(t *testing.T, h http.Handler, method, target string, body io.Reader, header ...string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var decoded map[string]any
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &decoded), rec.Body.String())
	}
	return rec, decoded
}

func TestErrorDialects(t *testing.T) {
	s, _ := newTestServer(t)
	invalid := errs.Invalidf("bad input").WithField("email", "not an email address")
	tests := []struct {
		name   string
		family Family
		err    error
		status int
		want   string
	}{
		{"plain not found", Plain, errs.NotFoundf("model 7 not found"), 404,
			`{"error":{"code":"not_found","message":"model 7 not found"}}`},
		{"plain invalid", Plain, invalid, 400,
			`{"error":{"code":"invalid","message":"bad input"}}`},
		{"fastapi detail", FastAPI, errs.Forbiddenf("Admin access required"), 403,
			`{"detail":"Admin access required"}`},
		{"fastapi invalid without fields", FastAPI, errs.Invalidf("Malformed XML"), 400,
			`{"detail":"Malformed XML"}`},
		{"fastapi validation", FastAPI, invalid, 422,
			`{"detail":[{"loc":["body","email"],"msg":"not an email address","type":"value_error"}]}`},
		{"envelope", Envelope, errs.Conflictf("already resolved"), 409,
			`{"success":false,"status":409,"error":{"code":"conflict","message":"already resolved"}}`},
		{"envelope invalid", Envelope, invalid, 400,
			`{"success":false,"status":400,"error":{"code":"invalid","message":"bad input","details":{"email":["not an email address"]}}}`},
		{"drf", DRF, invalid, 400,
			`{"error":"bad input","details":{"email":["not an email address"]}}`},
		{"drf gone", DRF, errs.Gonef("expired"), 410, `{"error":"expired"}`},
		{"internal hides cause", Plain, errors.New("pq: password=hunter2 leaked"), 500,
			`{"error":{"code":"internal","message":"internal server error"}}`},
		{"unavailable", DRF, errs.Unavailablef("database down"), 503, `{"error":"database down"}`},
		{"too large", FastAPI, &http.MaxBytesError{Limit: 10}, 413, `{"detail":"request body exceeds the limit of 10 bytes"}`},
		{"unauthorized", Envelope, errs.Unauthorizedf("sign in first"), 401,
			`{"success":false,"status":401,"error":{"code":"unauthorized","message":"sign in first"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.renderError(rec, httptest.NewRequest("GET", "/x", nil), tt.family, tt.err)
			assert.Equal(t, tt.status, rec.Code)
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			assert.JSONEq(t, tt.want, rec.Body.String())
		})
	}
}

func TestRateLimitedErrorSetsRetryAfter(t *testing.T) {
	s, _ := newTestServer(t)
	rec := httptest.NewRecorder()
	s.renderError(rec, httptest.NewRequest("GET", "/x", nil), Plain, errs.RateLimitedf(1500*time.Millisecond, "slow down"))
	assert.Equal(t, 429, rec.Code)
	assert.Equal(t, "2", rec.Header().Get("Retry-After"), "rounded up to whole seconds")
}

func TestRequestID(t *testing.T) {
	s, logs := newTestServer(t)

	rec, _ := do(t, s, "GET", "/health", nil)
	generated := rec.Header().Get("X-Request-ID")
	assert.Len(t, generated, 32)

	rec, _ = do(t, s, "GET", "/health", nil, "X-Request-ID", "abc-123.x:y_z")
	assert.Equal(t, "abc-123.x:y_z", rec.Header().Get("X-Request-ID"), "a sane id is echoed")

	rec, _ = do(t, s, "GET", "/health", nil, "X-Request-ID", "evil\"id with spaces")
	assert.NotEqual(t, "evil\"id with spaces", rec.Header().Get("X-Request-ID"))
	assert.Len(t, rec.Header().Get("X-Request-ID"), 32, "an odd id is replaced")

	rec, _ = do(t, s, "GET", "/health", nil, "X-Request-ID", strings.Repeat("a", 200))
	assert.Len(t, rec.Header().Get("X-Request-ID"), 32, "an over-long id is replaced")

	assert.Contains(t, logs.String(), `"request_id":"abc-123.x:y_z"`)
	assert.Contains(t, logs.String(), `"request_id":"`+generated+`"`)
}

func TestAccessLogLeavesOutQueryString(t *testing.T) {
	s, logs := newTestServer(t)
	do(t, s, "GET", "/health?token=s3cret", nil)
	var line map[string]any
	for l := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		require.NoError(t, json.Unmarshal([]byte(l), &line))
		if line["msg"] == "http request" {
			break
		}
	}
	assert.Equal(t, "http request", line["msg"])
	assert.Equal(t, "/health", line["path"])
	assert.Equal(t, "/health", line["route"])
	assert.EqualValues(t, 200, line["status"])
	assert.NotContains(t, logs.String(), "s3cret")
}

func TestPanicRecoverySpeaksTheRouteDialect(t *testing.T) {
	s, logs := newTestServer(t)
	s.group("", DRF, get("/test/panic/", anyone, func(http.ResponseWriter, *http.Request) error { panic("secret internals") }))
	s.group("", FastAPI, get("/api/test-panic", anyone, func(http.ResponseWriter, *http.Request) error { panic("secret internals") }))

	rec, body := do(t, s, "GET", "/test/panic/", nil)
	assert.Equal(t, 500, rec.Code)
	assert.Equal(t, map[string]any{"error": "internal server error"}, body)
	assert.NotContains(t, rec.Body.String(), "secret")

	rec, body = do(t, s, "GET", "/api/test-panic", nil)
	assert.Equal(t, 500, rec.Code)
	assert.Equal(t, map[string]any{"detail": "internal server error"}, body)

	assert.Contains(t, logs.String(), "secret internals", "the panic value is logged")
	assert.Contains(t, logs.String(), "server_internal_test.go", "with its stack")
}

func TestBodyLimit(t *testing.T) {
	s, _ := newTestServer(t, WithMaxBodyBytes(64))
	var got map[string]any
	echo := func(w http.ResponseWriter, r *http.Request) error {
		if err := decodeJSON(r, &got); err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, got)
	}
	s.group("/api/bug-reports", Envelope,
		post("/test", anyone, echo),
		post("/big", anyone, echo, withMaxBody(1024)),
	)

	small := `{"title":"ok"}`
	rec, _ := do(t, s, "POST", "/api/bug-reports/test", strings.NewReader(small))
	assert.Equal(t, 200, rec.Code)

	big := `{"title":"` + strings.Repeat("x", 100) + `"}`
	rec, body := do(t, s, "POST", "/api/bug-reports/test", strings.NewReader(big))
	assert.Equal(t, 413, rec.Code, "declared Content-Length over the limit")
	assert.Equal(t, false, body["success"])

	// A chunked body has no Content-Length: the limit trips while reading.
	req := httptest.NewRequest("POST", "/api/bug-reports/test", io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	rr := httptest.NewRecorder()
	s.ServeHTTP(rr, req)
	assert.Equal(t, 413, rr.Code)

	rec, _ = do(t, s, "POST", "/api/bug-reports/big", strings.NewReader(big))
	assert.Equal(t, 200, rec.Code, "a route may raise its limit")
}

func TestDecodeJSON(t *testing.T) {
	type payload struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	tests := []struct {
		body    string
		wantErr string
		field   string
	}{
		{body: `{"name":"a","count":2}`},
		{body: ``, wantErr: "request body is required"},
		{body: `{"name":`, wantErr: "ends too early"},
		{body: `{"name" "a"}`, wantErr: "malformed JSON at byte"},
		{body: `{"count":"two"}`, wantErr: "must be a number", field: "count"},
		{body: `{"count":1.5}`, wantErr: "must be a whole number within range", field: "count"},
		{body: `{"count":9223372036854775808}`, wantErr: "must be a whole number within range", field: "count"},
		{body: `{"name":"a"} {"name":"b"}`, wantErr: "data after the JSON value"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			var p payload
			err := decodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(tt.body)), &p)
			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.Equal(t, payload{Name: "a", Count: 2}, p)
				return
			}
			require.ErrorIs(t, err, errs.ErrInvalid)
			assert.Contains(t, err.Error(), tt.wantErr)
			if tt.field != "" {
				assert.Contains(t, errs.As(err).Fields, tt.field)
			}
		})
	}
}

// A NUL in any decoded string or key is refused, naming the field when the
// target has one; an escaped backslash before u0000 is text, not a NUL.
func TestDecodeJSONRefusesNUL(t *testing.T) {
	type payload struct {
		Name  string         `json:"name"`
		Extra map[string]any `json:"extra"`
		Raw   json.RawMessage
	}
	tests := []struct {
		body  string
		field string // "" with ok false: refused without a field
		ok    bool
		name  string
	}{
		{body: `{"name":"a\u0000b"}`, field: "name"},
		{body: `{"name":"\u0000"}`, field: "name"},
		{body: `{"name":"a\\u0000b"}`, ok: true, name: `a\u0000b`},
		{body: `{"name":"a\\\\u0000b"}`, ok: true, name: `a\\u0000b`},
		{body: `{"name":"a\\\u0000b"}`, field: "name"},
		{body: `{"name":"\u0001\u00a0\u1000"}`, ok: true, name: "\x01\u00a0\u1000"},
		{body: `{"extra":{"k\u0000":1}}`, field: "extra"},
		{body: `{"extra":{"list":["x",{"deep":"\u0000"}]}}`, field: "extra.list[1].deep"},
		{body: `{"Raw":{"a":"\u0000"}}`, field: "Raw.a"},
		{body: `{"\u0000":1}`},
		{body: `{"ignored":"\u0000"}`},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			for _, oneByte := range []bool{false, true} {
				var r io.Reader = strings.NewReader(tt.body)
				if oneByte {
					r = iotest.OneByteReader(r) // the escape arrives split across reads
				}
				var p payload
				err := decodeJSON(httptest.NewRequest("POST", "/", r), &p)
				if tt.ok {
					require.NoError(t, err)
					assert.Equal(t, tt.name, p.Name)
					continue
				}
				require.ErrorIs(t, err, errs.ErrInvalid)
				assert.Contains(t, err.Error(), "NUL")
				if tt.field == "" {
					assert.Empty(t, errs.As(err).Fields)
				} else {
					assert.Equal(t, []string{tt.field}, errs.As(err).FieldNames())
				}
			}
		})
	}

	// A raw 0x00 byte is not JSON at all.
	var p payload
	err := decodeJSON(httptest.NewRequest("POST", "/", strings.NewReader("{\"name\":\"a\x00\"}")), &p)
	require.ErrorIs(t, err, errs.ErrInvalid)
	assert.Contains(t, err.Error(), "malformed JSON")
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	s, _ := newTestServer(t)
	rec, body := do(t, s, "GET", "/api/bug-reports/nope", nil)
	assert.Equal(t, 404, rec.Code)
	assert.Equal(t, false, body["success"], "envelope dialect for the bug reports prefix")

	rec, body = do(t, s, "GET", "/workflows/1/nope/", nil)
	assert.Equal(t, 404, rec.Code)
	assert.Contains(t, body["error"], "no route")

	rec, _ = do(t, s, "GET", "/health/", nil)
	assert.Equal(t, 404, rec.Code, "no trailing-slash redirect")

	rec, body = do(t, s, "DELETE", "/health", nil)
	assert.Equal(t, 405, rec.Code)
	assert.Contains(t, body["error"].(map[string]any)["message"], "not allowed")
	assert.Equal(t, "method_not_allowed", body["error"].(map[string]any)["code"])
	assert.Equal(t, "GET, HEAD, OPTIONS", rec.Header().Get("Allow"))
}

func TestRateLimitRoute(t *testing.T) {
	s, _ := newTestServer(t)
	limiter := NewRateLimiter(time.Minute, 2)
	s.group("", Plain, post("/test-limited", anyone, func(w http.ResponseWriter, _ *http.Request) error {
		return writeJSON(w, 200, map[string]string{"ok": "yes"})
	}, withRateLimit(limiter, clientIP)))

	for range 2 {
		rec, _ := do(t, s, "POST", "/test-limited", nil)
		require.Equal(t, 200, rec.Code)
	}
	rec, body := do(t, s, "POST", "/test-limited", nil)
	assert.Equal(t, 429, rec.Code)
	assert.Equal(t, "rate_limited", body["error"].(map[string]any)["code"])
	retry := rec.Header().Get("Retry-After")
	assert.NotEmpty(t, retry)
	assert.LessOrEqual(t, len(retry), 2, "about 30 s, not more than a minute: %s", retry)

	req := httptest.NewRequest("POST", "/test-limited", nil)
	req.RemoteAddr = "192.0.2.9:5555"
	rr := httptest.NewRecorder()
	s.ServeHTTP(rr, req)
	assert.Equal(t, 200, rr.Code, "another client has its own bucket")
}

func TestRateLimiterRefillsAndForgets(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	l := NewRateLimiter(time.Second, 2)
	l.now = func() time.Time { return now }
	l.maxKeys = 3

	ok, _ := l.Allow("a")
	assert.True(t, ok)
	ok, _ = l.Allow("a")
	assert.True(t, ok)
	ok, wait := l.Allow("a")
	assert.False(t, ok)
	assert.InDelta(t, time.Second.Seconds(), wait.Seconds(), 0.01)

	now = now.Add(1100 * time.Millisecond)
	ok, _ = l.Allow("a")
	assert.True(t, ok, "one token refilled")

	l.Allow("b")
	l.Allow("c")
	now = now.Add(10 * time.Second) // every bucket full again
	l.Allow("d")                    // map is at maxKeys: sweep
	assert.Len(t, l.buckets, 1, "refilled buckets are forgotten")
}

func TestMetrics(t *testing.T) {
	s, _ := newTestServer(t)
	do(t, s, "GET", "/health", nil)
	do(t, s, "GET", "/health", nil)
	do(t, s, "GET", "/no/such/thing", nil)
	do(t, s, "BREW", "/health", nil)
	rec, _ := do(t, s, "GET", "/metrics", nil)
	require.Equal(t, 200, rec.Code)
	text := rec.Body.String()
	assert.Contains(t, text, `bugflow_http_requests_total{method="GET",route="/health",status="200"} 2`)
	assert.Contains(t, text, `bugflow_http_requests_total{method="GET",route="unmatched",status="404"} 1`)
	assert.Contains(t, text, `method="OTHER"`)
	assert.Contains(t, text, "bugflow_http_request_duration_seconds_bucket")
	assert.Contains(t, text, "go_goroutines")
}

func TestFamilyForPath(t *testing.T) {
	assert.Equal(t, Envelope, familyForPath("/api/bug-reports/list"))
	assert.Equal(t, FastAPI, familyForPath("/api/auth/login"))
	assert.Equal(t, FastAPI, familyForPath("/results/abc"))
	assert.Equal(t, DRF, familyForPath("/tickets/"))
	assert.Equal(t, Plain, familyForPath("/signin"))
}

// FuzzDecodeJSON: whatever a client sends, decoding never panics, every
// failure is a classified client error, never an internal one, and nothing
// decoded holds a NUL.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{`{"name":"a","count":1}`, ``, `{`, `[]`, `{"count":"x"}`, `{"a":1} 2`, "\xff\xfe", `{"name":"\u0000"}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var v struct {
			Name  string         `json:"name"`
			Count int            `json:"count"`
			Extra map[string]any `json:"extra"`
		}
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.Body = http.MaxBytesReader(httptest.NewRecorder(), req.Body, 256)
		err := decodeJSON(req, &v)
		if err == nil {
			if _, nul := nulPath(v.Extra, ""); nul || strings.IndexByte(v.Name, 0) >= 0 {
				t.Fatalf("body %q: decoded a NUL: %+v", body, v)
			}
			return
		}
		if kind := classify(err).Kind; kind != errs.Invalid && kind != errs.TooLarge {
			t.Fatalf("body %q: error %v classified as %s", body, err, kind)
		}
	})
}

func TestHeadIsServedForGetRoutes(t *testing.T) {
	s, _ := newTestServer(t)
	rec, _ := do(t, s, "HEAD", "/health", nil)
	assert.Equal(t, 200, rec.Code)
	assert.Equal(t, "GET, HEAD, OPTIONS", allowOf(t, s, "/health"))
}

func allowOf(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	rec, _ := do(t, h, "DELETE", path, nil)
	require.Equal(t, 405, rec.Code)
	return rec.Header().Get("Allow")
}

// A handler's reply is wrapped as its route's dialect wraps successes, and
// a job that has not finished (a typed error, however wrapped) is answered
// 202 with the job's status, as a success of the route's dialect.
func TestRepliesAndUnfinishedJobsSpeakEachDialect(t *testing.T) {
	s, _ := newTestServer(t)
	running := &analysis.JobNotFinishedError{JobID: "j1", Status: analysis.JobRunning}
	const stillRunning = `{"detail":"analysis job j1 is still running","status":"running"}`
	tests := []struct {
		family  Family
		ok      string
		running string
	}{
		{Plain, `{"k":"v"}`, stillRunning},
		{FastAPI, `{"k":"v"}`, stillRunning},
		{Envelope, `{"data":{"k":"v"},"success":true,"status":200}`, `{"data":` + stillRunning + `,"success":true,"status":202}`},
		{DRF, `{"k":"v"}`, stillRunning},
	}
	for _, tt := range tests {
		prefix := fmt.Sprintf("/t/%d", tt.family)
		s.group(prefix, tt.family,
			get("/ok", anyone, func(w http.ResponseWriter, r *http.Request) error {
				return reply(w, r, http.StatusOK, map[string]string{"k": "v"})
			}),
			get("/running", anyone, func(http.ResponseWriter, *http.Request) error {
				return fmt.Errorf("add comment: %w", running)
			}),
		)
		rec, _ := do(t, s, http.MethodGet, prefix+"/ok", nil)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.JSONEq(t, tt.ok, rec.Body.String(), "family %d", tt.family)
		rec, _ = do(t, s, http.MethodGet, prefix+"/running", nil)
		assert.Equal(t, http.StatusAccepted, rec.Code)
		assert.JSONEq(t, tt.running, rec.Body.String(), "family %d", tt.family)
	}
}

// The envelope of a success is the bytes the map it replaced encoded to,
// with a newline, and a reused buffer carries nothing from the answer
// before it.
func TestEnvelopeSuccessBytes(t *testing.T) {
	data := map[string]any{"id": "r1", "html": "<b>&</b>", "n": 2}
	want, err := json.Marshal(map[string]any{"data": data, "success": true, "status": 201})
	require.NoError(t, err)
	for range 2 {
		w := httptest.NewRecorder()
		require.NoError(t, writeJSON(w, 201, envelopeDialect.success(201, data)))
		assert.Equal(t, string(want)+"\n", w.Body.String())
		assert.Equal(t, 201, w.Code)
		assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
	}
	// A buffer that grew large is not pooled; the next answer is whole.
	big := strings.Repeat("x", 2*maxPooledJSONBuffer)
	require.NoError(t, writeJSON(httptest.NewRecorder(), 200, big))
	w := httptest.NewRecorder()
	require.NoError(t, writeJSON(w, 200, "small"))
	assert.Equal(t, "\"small\"\n", w.Body.String())
}
