package integrations

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Jenkins is a client of one Jenkins controller, authenticated (when user
// is set) by Basic user:API token.
type Jenkins struct {
	c *conn
}

// NewJenkins returns a client of the Jenkins at baseURL.
func NewJenkins(baseURL, user, password string, opts Options) (*Jenkins, error) {
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	auth := func(h http.Header) {
		if user != "" || password != "" {
			h.Set("Authorization", "Basic "+basic)
		}
	}
	secrets := []string{password}
	if password != "" {
		secrets = append(secrets, basic)
	}
	c, err := newConn("jenkins", baseURL, opts, auth, secrets...)
	if err != nil {
		return nil, err
	}
	return &Jenkins{c: c}, nil
}

// JobPath turns a job name with folders ("folder/job-name") into its URL
// path ("/job/folder/job/job-name"), each segment escaped.
func JobPath(jobName string) string {
	var b strings.Builder
	for _, seg := range strings.Split(strings.Trim(jobName, "/"), "/") {
		b.WriteString("/job/")
		b.WriteString(url.PathEscape(seg))
	}
	return b.String()
}

// Build is the state of one build.
type Build struct {
	Building bool   `json:"building"`
	Result   string `json:"result"` // SUCCESS, UNSTABLE, FAILURE, ABORTED; "" while building
	URL      string `json:"url"`
	Number   int    `json:"number"`
	// SubBuilds are the downstream builds of a pipeline (the Pipeline and
	// Multijob plugins' subBuilds), for following failed children.
	SubBuilds []SubBuild `json:"subBuilds"`
	// Artifacts are the files the build archived.
	Artifacts []Artifact `json:"artifacts"`
}

// Artifact is one archived file of a build.
type Artifact struct {
	FileName     string `json:"fileName"`
	RelativePath string `json:"relativePath"`
}

// SubBuild is a downstream build of a pipeline.
type SubBuild struct {
	JobName     string `json:"jobName"`
	BuildNumber int    `json:"buildNumber"`
	Result      string `json:"result"`
	URL         string `json:"url"`
}

// Build reads a build's state.
func (j *Jenkins) Build(ctx context.Context, jobName string, number int) (Build, error) {
	var b Build
	err := j.c.do(ctx, call{method: http.MethodGet, path: JobPath(jobName) + "/" + strconv.Itoa(number) + "/api/json",
		query: url.Values{"tree": {"building,result,url,number,subBuilds[jobName,buildNumber,result,url],artifacts[fileName,relativePath]"}}, out: &b})
	return b, err
}

// TestCase is one case of a build's JUnit test report.
type TestCase struct {
	ClassName       string `json:"className"`
	Name            string `json:"name"`
	Status          string `json:"status"` // PASSED, FIXED, SKIPPED, FAILED, REGRESSION
	ErrorDetails    string `json:"errorDetails"`
	ErrorStackTrace string `json:"errorStackTrace"`
	Duration        float64
}

// Failed reports whether the case failed (FAILED or REGRESSION).
func (tc TestCase) Failed() bool { return tc.Status == "FAILED" || tc.Status == "REGRESSION" }

// FullName is className.name, or name alone.
func (tc TestCase) FullName() string {
	if tc.ClassName == "" {
		return tc.Name
	}
	return tc.ClassName + "." + tc.Name
}

// BaseURL is the controller's address, without a trailing slash.
func (j *Jenkins) BaseURL() string { return j.c.base.String() }

// BuildURL is the address of a build's page.
func (j *Jenkins) BuildURL(jobName string, number int) string {
	return j.BaseURL() + JobPath(jobName) + "/" + strconv.Itoa(number) + "/"
}

// Cases returns every case of a build's JUnit report (testReport/api/json),
// passed ones included, in report order; found is false when the build has
// no report.
func (j *Jenkins) Cases(ctx context.Context, jobName string, number int) (cases []TestCase, found bool, err error) {
	var rep struct {
		Suites []struct {
			Cases []TestCase `json:"cases"`
		} `json:"suites"`
	}
	err = j.c.do(ctx, call{method: http.MethodGet, path: JobPath(jobName) + "/" + strconv.Itoa(number) + "/testReport/api/json", out: &rep})
	if StatusOf(err) == http.StatusNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	for _, s := range rep.Suites {
		cases = append(cases, s.Cases...)
	}
	return cases, true, nil
}

// ArtifactBytes downloads one archived file of a build, refusing (with
// ErrTooLarge inside the error) a file over maxBytes.
func (j *Jenkins) ArtifactBytes(ctx context.Context, jobName string, number int, relativePath string, maxBytes int64) ([]byte, error) {
	var raw rawText
	p := JobPath(jobName) + "/" + strconv.Itoa(number) + "/artifact"
	for _, seg := range strings.Split(relativePath, "/") {
		p += "/" + url.PathEscape(seg)
	}
	err := j.c.do(ctx, call{method: http.MethodGet, path: p, out: &raw, text: true, limit: maxBytes})
	return raw, err
}

// TestReport returns the failed cases of a build's JUnit report
// (testReport/api/json); found is false when the build has no report.
func (j *Jenkins) TestReport(ctx context.Context, jobName string, number int) (failed []TestCase, found bool, err error) {
	var rep struct {
		Suites []struct {
			Cases []TestCase `json:"cases"`
		} `json:"suites"`
	}
	err = j.c.do(ctx, call{method: http.MethodGet, path: JobPath(jobName) + "/" + strconv.Itoa(number) + "/testReport/api/json", out: &rep})
	if StatusOf(err) == http.StatusNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	for _, s := range rep.Suites {
		for _, c := range s.Cases {
			if c.Failed() {
				failed = append(failed, c)
			}
		}
	}
	return failed, true, nil
}

// ConsoleText returns a build's console log, cut to the client's body cap
// (a longer log is an error, as every other answer).
func (j *Jenkins) ConsoleText(ctx context.Context, jobName string, number int) (string, error) {
	var raw rawText
	err := j.c.do(ctx, call{method: http.MethodGet, path: JobPath(jobName) + "/" + strconv.Itoa(number) + "/consoleText", out: &raw, text: true})
	return string(raw), err
}

// rawText receives a plain-text answer.
type rawText []byte

// errorLine matches console lines that report an error.
var errorLine = regexp.MustCompile(`(?i)(\berror\b|\bexception\b|\bfailed\b|\bfatal\b|traceback)`)

// ErrorLines returns the console lines that report errors, at most max of
// them, in order; for builds without a test report.
func ErrorLines(console string, max int) []string {
	var out []string
	for _, line := range strings.Split(console, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || !errorLine.MatchString(line) {
			continue
		}
		out = append(out, truncate(line, 1000))
		if len(out) == max {
			break
		}
	}
	return out
}
