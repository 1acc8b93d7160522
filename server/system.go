package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bugflow/bugflow"
)

// healthTimeout bounds the database check of GET /health, so that a hung
// database makes the check fail instead of hang.
const healthTimeout = 2 * time.Second

// healthCacheFor is how long one check's verdict answers GET /health: a
// flood of probes costs the database one query a second, and probes that
// arrive while a check waits on a hung database wait with it instead of
// taking more connections.
const healthCacheFor = time.Second

// healthCache is the last verdict of GET /health.
type healthCache struct {
	mu  sync.Mutex
	at  time.Time // zero before the first check
	err error
}

// apiRoot answers seeds/004's API root, which doubles as seeds/000's
// availability check. It links the workflow API's collections that are
// served, found in the route table (see rootLink), so that every link
// answers and the list grows as routes land. Links use the host the client
// called.
func (s *Server) apiRoot(w http.ResponseWriter, r *http.Request) error {
	base := baseURL(r)
	answer := s.root.Load()
	if answer == nil || answer.base != base || answer.routes != len(s.routes) {
		body := map[string]string{
			"message": "Welcome to Workflow Management API",
			"version": "1.0",
		}
		for _, rt := range s.routes {
			if name, ok := rootLink(rt); ok && body[name] == "" {
				body[name] = base + rt.Path
			}
		}
		encoded, err := json.Marshal(infoFrom(r.Context()).family.dialect().success(http.StatusOK, body))
		if err != nil {
			return fmt.Errorf("encode the API root: %w", err)
		}
		answer = &rootAnswer{base: base, routes: len(s.routes), body: append(encoded, '\n')}
		s.root.Store(answer)
	}
	writeBody(w, http.StatusOK, answer.body)
	return nil
}

// rootAnswer is the API root's encoded answer for one base URL and route
// table. Building it (a map of links, sorted and encoded) was the largest
// part of what GET / cost beyond a bare router (pprof, bench/intake); the
// server keeps the last one, which every client that calls it by the same
// host shares. One entry, so that a client sending many Host headers
// costs time, not memory.
type rootAnswer struct {
	base   string
	routes int // len(s.routes) when built: routes are only appended
	body   []byte
}

// rootLink names the API root's link to rt, if it has one: seeds/004 links
// each collection of the workflow API, a GET route of the DRF family at
// /NAME/.
func rootLink(rt Route) (string, bool) {
	if rt.Method != http.MethodGet || rt.Family != DRF {
		return "", false
	}
	name, ok := strings.CutPrefix(rt.Path, "/")
	if !ok {
		return "", false
	}
	name, ok = strings.CutSuffix(name, "/")
	if !ok || name == "" || strings.ContainsAny(name, "/:*") {
		return "", false
	}
	return name, true
}

// baseURL is the scheme and host the client used. X-Forwarded-Proto is
// honoured because only the links' scheme depends on it.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

type healthBody struct {
	Status    string    `json:"status"`
	Version   string    `json:"version"`
	Timestamp time.Time `json:"timestamp"`
}

// health answers 200 while the engine can serve (the database answers and
// holds the schema this version needs), 503 otherwise.
func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	body := healthBody{Status: "healthy", Version: bugflow.Version, Timestamp: s.now().UTC().Truncate(time.Second)}
	status := http.StatusOK
	if err := s.checkHealth(r.Context()); err != nil {
		s.logger.WarnContext(r.Context(), "health check failed", "error", err.Error(), "request_id", RequestID(r.Context()))
		body.Status, status = "unhealthy", http.StatusServiceUnavailable
	}
	return reply(w, r, status, body)
}

// checkHealth returns the engine's verdict, checking at most once per
// healthCacheFor.
func (s *Server) checkHealth(ctx context.Context) error {
	c := &s.healthCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && s.now().Sub(c.at) < healthCacheFor {
		return c.err
	}
	// The verdict serves other probes too, so one that hangs up must not
	// cut the check short.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), healthTimeout)
	defer cancel()
	c.err = s.engine.Check(ctx)
	c.at = s.now()
	return c.err
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(bugflow.OpenAPI())
	return nil
}

// openAPIJSON is openapi.yaml as JSON, converted once.
var openAPIJSON = sync.OnceValues(func() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(bugflow.OpenAPI(), &doc); err != nil {
		return nil, fmt.Errorf("parse openapi.yaml: %w", err)
	}
	return json.Marshal(jsonable(doc))
})

// jsonable turns what YAML decodes into what JSON encodes: mappings with
// keys other than strings get string keys.
func jsonable(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = jsonable(e)
		}
		return t
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[fmt.Sprint(k)] = jsonable(e)
		}
		return out
	case []any:
		for i, e := range t {
			t[i] = jsonable(e)
		}
		return t
	default:
		return v
	}
}

// serveOpenAPIJSON answers GET /openapi.json, the document FastAPI servers
// publish there (seeds/003 links it): the same as /openapi.yaml.
func serveOpenAPIJSON(w http.ResponseWriter, _ *http.Request) error {
	body, err := openAPIJSON()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
	return nil
}
