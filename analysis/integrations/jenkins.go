package integrations

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
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
	cases, found, err := j.Cases(ctx, jobName, number)
	for _, c := range cases {
		if c.Failed() {
			failed = append(failed, c)
		}
	}
	return failed, found, err
}

// ConsoleTail returns the end of a build's console log: the whole log
// when it is no longer than the client's body cap (Options.MaxBodyBytes),
// else its last cap bytes, from the first line that starts inside them
// (cut is then true). The end is what matters: a failed build's error lines
// come last, after hours of output that may be gigabytes.
//
// It speaks Jenkins' progressive text API, which serves a log from a byte
// offset: GET <build>/logText/progressiveText?start=N answers the text
// from offset N with the log's length in X-Text-Size (an offset beyond the
// length starts over at 0). The first request asks from offset 0 and reads
// only the answer's headers when X-Text-Size is over the cap; the body is
// left unread and the connection closed. The second asks from length-cap
// (less the byte before, to see whether a line starts there) and reads at
// most cap+1 bytes, so neither memory nor what is read grows with the log.
// Offsets count the raw log, whose console notes Jenkins strips from the
// text, so a tail may hold fewer than cap bytes. A log that grows between
// the two requests (a build still running) is cut where it was when it was
// first measured. An answer without X-Text-Size (a proxy dropped it) is
// read whole, as any answer: beyond the cap it is an error with
// ErrTooLarge.
func (j *Jenkins) ConsoleTail(ctx context.Context, jobName string, number int) (text string, cut bool, err error) {
	p := JobPath(jobName) + "/" + strconv.Itoa(number) + "/logText/progressiveText"
	first := call{method: http.MethodGet, path: p, query: url.Values{"start": {"0"}}}
	resp, err := j.c.open(ctx, first)
	if err != nil {
		return "", false, err
	}
	size, err := strconv.ParseInt(resp.Header.Get("X-Text-Size"), 10, 64)
	if err != nil || size <= j.c.maxBody {
		body, err := j.c.readAll(ctx, first, resp)
		return string(body), false, err
	}
	// Closing the body unread drops the connection: what Jenkins already
	// sent of the head of the log is discarded by the kernel, not read.
	resp.Body.Close()
	// The tail is asked for with the byte before it, which tells whether
	// its first line starts inside it (that byte is a newline) or is cut.
	tail := call{method: http.MethodGet, path: p, query: url.Values{"start": {strconv.FormatInt(size-j.c.maxBody-1, 10)}}}
	resp, err = j.c.open(ctx, tail)
	if err != nil {
		return "", false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, j.c.maxBody+1))
	if err != nil {
		return "", false, j.c.transportError(ctx, tail.op(), err)
	}
	// A cut line (maybe cut inside a character) is dropped whole.
	if i := bytes.IndexByte(body, '\n'); i >= 0 {
		body = body[i+1:]
	} else if int64(len(body)) > j.c.maxBody {
		body = body[1:] // one long line: the byte before the tail goes
	}
	return string(body), true, nil
}

// rawText receives a plain-text answer.
type rawText []byte

// errorLine matches console lines that report an error.
var errorLine = regexp.MustCompile(`(?i)(\berror\b|\bexception\b|\bfailed\b|\bfatal\b|traceback)`)

// ErrorLines returns the console lines that report errors, in order, for
// builds without a test report: the last max of them, because a failed
// build ends with its cause and earlier errors are often tolerated noise.
func ErrorLines(console string, max int) []string {
	if max <= 0 {
		return nil
	}
	var out []string
	for _, line := range strings.Split(console, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || !errorLine.MatchString(line) {
			continue
		}
		if len(out) == max {
			out = append(out[:0], out[1:]...)
		}
		out = append(out, truncate(line, 1000))
	}
	return out
}
