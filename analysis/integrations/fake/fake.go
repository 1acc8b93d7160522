// Package fake runs local stand-ins for GitHub, Jira, Jenkins and Report
// Portal that answer with
// the JSON of their public API documentation (the fixtures in testdata),
// record every request, and can be told to answer errors, Retry-After or
// to hang, for tests of the clients and of the server's tracker endpoints.
package fake

import (
	"compress/gzip"
	"embed"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

//go:embed testdata/*
var fixtures embed.FS

// Fixture returns a fixture file of testdata by name, e.g.
// "github_user.json".
func Fixture(name string) []byte {
	b, err := fixtures.ReadFile("testdata/" + name)
	if err != nil {
		panic(err)
	}
	return b
}

// Request is one request the fake received.
type Request struct {
	Method, Path, RawQuery, Authorization string
	Body                                  []byte
}

// Answer is one scripted answer. Hang blocks until the client goes away.
type Answer struct {
	Status int
	Header map[string]string
	Body   []byte
	Hang   bool
}

// Server is a fake system on a local port.
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	requests []Request
	scripts  map[string][]Answer
	defaults map[string]Answer
	authOK   func(string) bool
	also     map[string]bool
	denied   []byte
	// consoles are the console logs of a fake Jenkins, by build path
	// ("/job/folder/job/job-name/7").
	consoles map[string]console
}

// console is one build's console log.
type console struct {
	text     []byte
	complete bool
}

// Accept makes the fake accept another Authorization header value too.
func (s *Server) Accept(authorization string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.also[authorization] = true
}

// Basic is the Authorization value of Jira Cloud credentials.
func Basic(email, token string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(email+":"+token))
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count is how many requests were "METHOD /path".
func (s *Server) Count(key string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method+" "+r.Path == key {
			n++
		}
	}
	return n
}

// Script queues answers for "METHOD /path", used once each in order before
// the route's normal answer returns.
func (s *Server) Script(key string, answers ...Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[key] = append(s.scripts[key], answers...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Method + " " + r.URL.Path
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Authorization: r.Header.Get("Authorization"), Body: body})
	var a Answer
	scripted := false
	if q := s.scripts[key]; len(q) > 0 {
		a, s.scripts[key], scripted = q[0], q[1:], true
	}
	def, known := s.defaults[key]
	allowed := s.authOK(r.Header.Get("Authorization")) || s.also[r.Header.Get("Authorization")]
	build, log, isLog := s.consolePath(r.URL.Path)
	con, hasLog := s.consoles[build]
	s.mu.Unlock()
	switch {
	case scripted:
	case !allowed:
		a = Answer{Status: http.StatusUnauthorized, Body: s.denied}
	case isLog && hasLog && r.Method == http.MethodGet:
		serveConsole(w, r, log, con)
		return
	case known:
		a = def
	default:
		a = Answer{Status: http.StatusNotFound, Body: []byte(`{"message":"Not Found"}`)}
	}
	if a.Hang {
		<-r.Context().Done()
		return
	}
	for k, v := range a.Header {
		w.Header().Set(k, v)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(a.Status)
	_, _ = w.Write(a.Body)
}

// consolePath splits the path of a build's console endpoint into the
// build's path and the endpoint ("consoleText" or
// "logText/progressiveText").
func (s *Server) consolePath(p string) (build, endpoint string, ok bool) {
	for _, e := range []string{"consoleText", "logText/progressiveText"} {
		if b, found := strings.CutSuffix(p, "/"+e); found {
			return b, e, true
		}
	}
	return "", "", false
}

// serveConsole answers as Jenkins does. consoleText is the whole log.
// logText/progressiveText (Stapler's LargeText.doProgressText) is the log
// from the byte offset ?start= (0 when absent; a start beyond the log's
// length starts over at 0, "text rolled over"), with X-Text-Size the offset
// where the text sent ends (the log's length) and X-More-Data: true while
// the build still writes; text over 4096 bytes is gzip-compressed for a
// client that accepts it. A start that is no number fails as Jenkins'
// Long.parseLong does, with a 500.
func serveConsole(w http.ResponseWriter, r *http.Request, endpoint string, con console) {
	w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
	if endpoint == "consoleText" {
		_, _ = w.Write(con.text)
		return
	}
	var start int64
	if v := r.URL.Query().Get("start"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			http.Error(w, "java.lang.NumberFormatException: For input string: \""+v+"\"", http.StatusInternalServerError)
			return
		}
		start = n
	}
	size := int64(len(con.text))
	if start > size {
		start = 0
	}
	w.Header().Set("X-Text-Size", strconv.FormatInt(size, 10))
	if !con.complete {
		w.Header().Set("X-More-Data", "true")
	}
	text := con.text[start:]
	if len(text) > 4096 && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		_, _ = zw.Write(text)
		_ = zw.Close()
		return
	}
	_, _ = w.Write(text)
}

// SetConsole gives build number of jobName (folders separated by "/") the
// console log text, served by consoleText and logText/progressiveText;
// complete false makes it a build still writing its log.
func (s *Server) SetConsole(jobName string, number int, text []byte, complete bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.consoles[buildPath(jobName, number)] = console{text: text, complete: complete}
}

// buildPath is the URL path of a build: /job/<folder>/job/<name>/<number>.
func buildPath(jobName string, number int) string {
	var b strings.Builder
	for _, seg := range strings.Split(strings.Trim(jobName, "/"), "/") {
		b.WriteString("/job/")
		b.WriteString(seg)
	}
	return b.String() + "/" + strconv.Itoa(number)
}

func start(t testing.TB, s *Server) *Server {
	s.scripts = map[string][]Answer{}
	s.also = map[string]bool{}
	if s.consoles == nil {
		s.consoles = map[string]console{}
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// NewGitHub starts a fake GitHub API accepting "Bearer token". Repository
// acme/tests exists, with open issue 42 and merged pull request 57.
func NewGitHub(t testing.TB, token string) *Server {
	return start(t, &Server{
		authOK: func(h string) bool { return h == "Bearer "+token },
		denied: Fixture("github_401.json"),
		defaults: map[string]Answer{
			"GET /user":                       {Status: 200, Body: Fixture("github_user.json")},
			"GET /search/issues":              {Status: 200, Body: Fixture("github_search_issues.json")},
			"POST /repos/acme/tests/issues":   {Status: 201, Body: Fixture("github_issue_created.json")},
			"GET /repos/acme/tests/issues/42": {Status: 200, Body: Fixture("github_issue_42.json")},
			"GET /repos/acme/tests/issues/57": {Status: 200, Body: Fixture("github_pull_57.json")},
		},
	})
}

// NewJira starts a fake Jira: Cloud (v3, Basic email:token) when email is
// set, else Server/Data Center (v2, Bearer PAT). Project PROJ exists, with
// PROJ-12 in progress.
func NewJira(t testing.TB, email, token string) *Server {
	v, want := "/rest/api/2", "Bearer "+token
	defaults := map[string]Answer{
		"GET /rest/api/2/project":                    {Status: 200, Body: Fixture("jira_projects_v2.json")},
		"POST /rest/api/2/search":                    {Status: 200, Body: Fixture("jira_search.json")},
		"GET /rest/api/2/project/PROJ/securitylevel": {Status: 200, Body: Fixture("jira_securitylevel.json")},
	}
	if email != "" {
		v, want = "/rest/api/3", Basic(email, token)
		defaults = map[string]Answer{
			"GET /rest/api/3/project/search":             {Status: 200, Body: Fixture("jira_project_search.json")},
			"POST /rest/api/3/search/jql":                {Status: 200, Body: Fixture("jira_search.json")},
			"GET /rest/api/3/project/PROJ/securitylevel": {Status: 200, Body: Fixture("jira_securitylevel.json")},
		}
	}
	defaults["GET "+v+"/myself"] = Answer{Status: 200, Body: Fixture("jira_myself.json")}
	defaults["POST "+v+"/issue"] = Answer{Status: 201, Body: Fixture("jira_issue_created.json")}
	defaults["GET "+v+"/issue/PROJ-12"] = Answer{Status: 200, Body: Fixture("jira_issue_status.json")}
	return start(t, &Server{
		authOK:   func(h string) bool { return h == want },
		denied:   Fixture("jira_401.json"),
		defaults: defaults,
	})
}

// NewJenkins starts a fake Jenkins accepting Basic user:token, answering
// the JSON of Jenkins' remote access API (api/json, testReport/api/json,
// artifact/...) and its console endpoints (consoleText and the progressive
// logText/progressiveText, see serveConsole):
//   - folder/job-name #123 is finished (UNSTABLE) with a test report and
//     a failed pipeline child pipeline/component-tests #42, which has a test
//     report of its own and a chain of failed children pipeline/e2e #5 ->
//     pipeline/e2e-inner #6 -> pipeline/e2e-deep #7 (never served: deeper
//     than anyone should follow) beside a passed pipeline/lint #9;
//   - folder/job-name #7 failed without a test report (console only);
//   - folder/job-name #8 has no test report but archived reports/junit.xml.
//
// Script "GET /job/folder/job/job-name/123/api/json" with
// Fixture("jenkins_build_running.json") to make the build run a while, and
// SetConsole to give a build another log.
func NewJenkins(t testing.TB, user, token string) *Server {
	const job = "/job/folder/job/job-name"
	const child = "/job/pipeline/job/component-tests/42"
	log := console{text: Fixture("jenkins_console.txt"), complete: true}
	return start(t, &Server{
		authOK: func(h string) bool { return h == Basic(user, token) },
		denied: []byte(`<html><body>Unauthorized</body></html>`),
		defaults: map[string]Answer{
			"GET " + job + "/123/api/json":                 {Status: 200, Body: Fixture("jenkins_build.json")},
			"GET " + job + "/123/testReport/api/json":      {Status: 200, Body: Fixture("jenkins_testreport.json")},
			"GET " + job + "/7/api/json":                   {Status: 200, Body: Fixture("jenkins_build_console_only.json")},
			"GET " + job + "/8/api/json":                   {Status: 200, Body: Fixture("jenkins_build_artifacts.json")},
			"GET " + job + "/8/artifact/reports/junit.xml": {Status: 200, Body: Fixture("jenkins_artifact_junit.xml")},
			"GET " + child + "/api/json":                   {Status: 200, Body: Fixture("jenkins_child_42.json")},
			"GET " + child + "/testReport/api/json":        {Status: 200, Body: Fixture("jenkins_child_42_testreport.json")},
			"GET /job/pipeline/job/e2e/5/api/json":         {Status: 200, Body: Fixture("jenkins_chain_e2e.json")},
			"GET /job/pipeline/job/e2e-inner/6/api/json":   {Status: 200, Body: Fixture("jenkins_chain_e2e-inner.json")},
		},
		consoles: map[string]console{
			job + "/123":                    log,
			job + "/7":                      log,
			"/job/pipeline/job/e2e/5":       log,
			"/job/pipeline/job/e2e-inner/6": log,
		},
	})
}

// NewReportPortal starts a fake Report Portal (API v1) accepting "Bearer
// token". Project "tests" has launch 1042 of build 123 of folder/job-name
// (its description holds the build's URL) with three failed steps:
// test_admin_login, tests.api.test_orders.test_create and test_unmapped.
func NewReportPortal(t testing.TB, token string) *Server {
	return start(t, &Server{
		authOK: func(h string) bool { return h == "Bearer "+token },
		denied: Fixture("reportportal_401.json"),
		defaults: map[string]Answer{
			"GET /api/v1/tests/launch": {Status: 200, Body: Fixture("reportportal_launches.json")},
			"GET /api/v1/tests/item":   {Status: 200, Body: Fixture("reportportal_items.json")},
			"PUT /api/v1/tests/item":   {Status: 200, Body: Fixture("reportportal_items_updated.json")},
		},
	})
}

// Bodies returns the bodies of the requests to "METHOD /path" as strings.
func (s *Server) Bodies(key string) []string {
	var out []string
	for _, r := range s.Requests() {
		if r.Method+" "+r.Path == key {
			out = append(out, string(r.Body))
		}
	}
	return out
}

// Queries returns the raw queries of the requests to "METHOD /path".
func (s *Server) Queries(key string) []string {
	var out []string
	for _, r := range s.Requests() {
		if r.Method+" "+r.Path == key {
			out = append(out, r.RawQuery)
		}
	}
	return out
}

// HasSecret reports whether any of secrets appears in text; tests use it
// on errors, logs and answers.
func HasSecret(text string, secrets ...string) bool {
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			return true
		}
	}
	return false
}
