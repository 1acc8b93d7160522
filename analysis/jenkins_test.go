package analysis

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/analysis/integrations"
	"github.com/bugflow/bugflow/analysis/integrations/fake"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

const (
	ciUser  = "ci-bot"
	ciToken = "11aaSECRETjenkinsapitoken"
)

// queueSpy stands in for the job queue: it keeps what was queued.
type queueSpy struct {
	mu   sync.Mutex
	args []buildArgs
}

func (q *queueSpy) InsertTx(_ context.Context, _ bun.Tx, args river.JobArgs, _ *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.args = append(q.args, args.(buildArgs))
	return &rivertype.JobInsertResult{Job: &rivertype.JobRow{}}, nil
}

func (q *queueSpy) last() buildArgs {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.args[len(q.args)-1]
}

// testClock is a clock tests move.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type buildsFixture struct {
	svc    *Service
	builds *Builds
	queue  *queueSpy
	clock  *testClock
}

var quick = integrations.Options{RetryMax: -1, Timeout: 2 * time.Second}

func newBuilds(t *testing.T, db *store.DB, cfg JenkinsConfig) buildsFixture {
	clock := &testClock{t: time.Date(2026, 12, 15, 10, 0, 0, 0, time.UTC)}
	svc := New(NewBunStore(db.DB), Config{Now: clock.Now})
	if cfg.HTTP == (integrations.Options{}) {
		cfg.HTTP = quick
	}
	q := &queueSpy{}
	b, err := NewBuilds(svc, cfg, q)
	require.NoError(t, err)
	return buildsFixture{svc: svc, builds: b, queue: q, clock: clock}
}

func parse(t *testing.T, body string) JenkinsRequest {
	t.Helper()
	var fields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(body), &fields))
	req, err := ParseJenkinsRequest(fields)
	require.NoError(t, err)
	return req
}

// run starts an analysis of body and works its job once.
func (f buildsFixture) run(t *testing.T, body string) (string, time.Duration) {
	t.Helper()
	ctx := context.Background()
	id, err := f.builds.Start(ctx, parse(t, body))
	require.NoError(t, err)
	wait, err := f.builds.Run(ctx, id, f.queue.last().Credentials, false)
	require.NoError(t, err)
	return id, wait
}

func (f buildsFixture) result(t *testing.T, id string) (StoredResult, AnalysisResult) {
	t.Helper()
	r, err := f.svc.Result(context.Background(), id)
	require.NoError(t, err)
	var res AnalysisResult
	if r.Status == JobCompleted {
		require.NoError(t, json.Unmarshal(r.Result, &res))
	}
	return r, res
}

func TestBuildAnalysisFollowsFailedChildrenThreeLevelsDeep(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		jk := fake.NewJenkins(t, ciUser, ciToken)
		f := newBuilds(t, db, JenkinsConfig{URL: jk.URL, User: ciUser, Password: ciToken})
		id, wait := f.run(t, `{"job_name": "folder/job-name", "build_number": 123, "ai_provider": "claude", "ai_model": "sonnet"}`)
		assert.Zero(t, wait)

		r, res := f.result(t, id)
		require.Equal(t, JobCompleted, r.Status, r.Error)
		assert.Equal(t, "folder/job-name", res.JobName)
		assert.Equal(t, 123, res.BuildNumber)
		assert.Equal(t, "https://jenkins.example.com/job/folder/job/job-name/123/", *res.JenkinsURL)
		require.Len(t, res.Failures, 2, "FAILED and REGRESSION cases of the test report")
		assert.Equal(t, "tests.api.test_login.test_admin_login", res.Failures[0].TestName)
		assert.Equal(t, "AssertionError: expected 200 got 500", res.Failures[0].Error)

		require.Len(t, res.ChildJobAnalyses, 1, "the failed child, not the passed one")
		child := res.ChildJobAnalyses[0]
		assert.Equal(t, "pipeline/component-tests", child.JobName)
		assert.Equal(t, 42, child.BuildNumber)
		assert.Equal(t, "https://jenkins.example.com/job/pipeline/job/component-tests/42/", *child.JenkinsURL, "as Jenkins names it")
		require.Len(t, child.Failures, 1)
		assert.Equal(t, "tests.component.test_ui.test_checkout", child.Failures[0].TestName)

		// Depth 2 and 3 are followed (their consoles stand for their
		// missing reports); depth 4 is only noted, never asked for.
		require.Len(t, child.FailedChildren, 1)
		e2e := child.FailedChildren[0]
		assert.Equal(t, "pipeline/e2e", e2e.JobName)
		require.Len(t, e2e.Failures, 1)
		assert.Equal(t, "pipeline/e2e (console)", e2e.Failures[0].TestName)
		assert.Equal(t, "ERROR: deployment failed: connection refused to registry.example.com:5000", e2e.Failures[0].Error)
		require.Len(t, e2e.FailedChildren, 1)
		inner := e2e.FailedChildren[0]
		assert.Equal(t, "pipeline/e2e-inner", inner.JobName)
		assert.Len(t, inner.Failures, 1, "depth 3 is analysed")
		require.Len(t, inner.FailedChildren, 1)
		deep := inner.FailedChildren[0]
		assert.Equal(t, "pipeline/e2e-deep", deep.JobName)
		assert.Empty(t, deep.Failures)
		require.NotNil(t, deep.Note)
		assert.Contains(t, *deep.Note, "3 levels")
		assert.Zero(t, jk.Count("GET /job/pipeline/job/e2e-deep/7/api/json"), "depth 4 is never fetched")
		assert.Zero(t, jk.Count("GET /job/pipeline/job/lint/9/api/json"), "passed children are not fetched")

		// History: top-level failures under the job, children's under
		// their child job; passes recorded too.
		rows, _, err := f.svc.Failures(context.Background(), HistoryFilter{JobName: "folder/job-name"})
		require.NoError(t, err)
		byTest := map[string]HistoryRow{}
		for _, row := range rows {
			byTest[row.TestName] = row
		}
		assert.Equal(t, "", byTest["tests.api.test_login.test_admin_login"].ChildJobName)
		assert.Equal(t, "pipeline/component-tests", byTest["tests.component.test_ui.test_checkout"].ChildJobName)
		assert.Equal(t, 42, byTest["tests.component.test_ui.test_checkout"].ChildBuildNumber)

		// A failure of a child can be overridden by its scope.
		require.NoError(t, f.svc.Override(context.Background(), id, Scope{TestName: "tests.component.test_ui.test_checkout",
			ChildJobName: "pipeline/component-tests", ChildBuildNumber: 42}, ProductBug, "alice"))

		// Running the job again changes nothing: it is finished.
		before := jk.Count("GET /job/folder/job/job-name/123/api/json")
		wait, err = f.builds.Run(context.Background(), id, "", false)
		require.NoError(t, err)
		assert.Zero(t, wait)
		assert.Equal(t, before, jk.Count("GET /job/folder/job/job-name/123/api/json"))
		for _, req := range jk.Requests() {
			assert.Equal(t, fake.Basic(ciUser, ciToken), req.Authorization, "the server's credentials")
		}
	})
}

func TestBuildAnalysisWithoutTestReport(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		jk := fake.NewJenkins(t, ciUser, ciToken)
		f := newBuilds(t, db, JenkinsConfig{URL: jk.URL, User: ciUser, Password: ciToken})

		// Console only: the error lines stand for the failure.
		id, _ := f.run(t, `{"job_name": "folder/job-name", "build_number": 7}`)
		r, res := f.result(t, id)
		require.Equal(t, JobCompleted, r.Status, r.Error)
		require.Len(t, res.Failures, 1)
		assert.Equal(t, "folder/job-name (console)", res.Failures[0].TestName)
		assert.Equal(t, Infrastructure, res.Failures[0].Analysis.Classification, "connection refused")

		// Archived JUnit XML.
		id, _ = f.run(t, `{"job_name": "folder/job-name", "build_number": 8}`)
		r, res = f.result(t, id)
		require.Equal(t, JobCompleted, r.Status, r.Error)
		require.Len(t, res.Failures, 1)
		assert.Equal(t, "tests.api.test_search.test_query", res.Failures[0].TestName)
		assert.Equal(t, 1, jk.Count("GET /job/folder/job/job-name/8/artifact/reports/junit.xml"))
		assert.Zero(t, jk.Count("GET /job/folder/job/job-name/8/artifact/logs/app.log"), "only XML files are read")

		// get_job_artifacts false: the console (none here) stands for it.
		id, _ = f.run(t, `{"job_name": "folder/job-name", "build_number": 8, "get_job_artifacts": false}`)
		r, res = f.result(t, id)
		require.Equal(t, JobCompleted, r.Status, r.Error)
		require.Len(t, res.Failures, 1)
		assert.Equal(t, "folder/job-name (console)", res.Failures[0].TestName)
		assert.Equal(t, "build finished UNSTABLE without a test report", res.Failures[0].Error)
		assert.Equal(t, 1, jk.Count("GET /job/folder/job/job-name/8/artifact/reports/junit.xml"))
	})
}

// A console log many times the client's body cap is read from its end,
// where the error lines are.
func TestBuildAnalysisReadsTheEndOfABigConsole(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		jk := fake.NewJenkins(t, ciUser, ciToken)
		opts := quick
		opts.MaxBodyBytes = 4096
		f := newBuilds(t, db, JenkinsConfig{URL: jk.URL, User: ciUser, Password: ciToken, HTTP: opts})
		log := "ERROR: an early warning that is not the cause\n" +
			strings.Repeat("[INFO] compiling module ...\n", 20000) +
			"ERROR: dial tcp 10.1.2.3:5432: connect: connection refused\nFinished: FAILURE\n"
		require.Greater(t, len(log), 100*int(opts.MaxBodyBytes))
		jk.SetConsole("folder/job-name", 7, []byte(log), true)

		id, _ := f.run(t, `{"job_name": "folder/job-name", "build_number": 7}`)
		r, res := f.result(t, id)
		require.Equal(t, JobCompleted, r.Status, r.Error)
		require.Len(t, res.Failures, 1)
		assert.Equal(t, "ERROR: dial tcp 10.1.2.3:5432: connect: connection refused", res.Failures[0].Error)
		assert.Equal(t, Infrastructure, res.Failures[0].Analysis.Classification)
		assert.Equal(t, []string{"start=0", fmt.Sprintf("start=%d", len(log)-4096-1)},
			jk.Queries("GET /job/folder/job/job-name/7/logText/progressiveText"))
	})
}

func TestBuildAnalysisArtifactSizeCap(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		jk := fake.NewJenkins(t, ciUser, ciToken)
		size := int64(len(fake.Fixture("jenkins_artifact_junit.xml")))
		for _, tc := range []struct {
			limit    int64
			analysed bool
		}{{size - 1, false}, {size, true}} {
			f := newBuilds(t, db, JenkinsConfig{URL: jk.URL, User: ciUser, Password: ciToken, ArtifactsMaxBytes: tc.limit})
			id, _ := f.run(t, `{"job_name": "folder/job-name", "build_number": 8}`)
			r, res := f.result(t, id)
			require.Equal(t, JobCompleted, r.Status, r.Error)
			require.Len(t, res.Failures, 1)
			if tc.analysed {
				assert.Equal(t, "tests.api.test_search.test_query", res.Failures[0].TestName, "a report of exactly the cap is read")
			} else {
				assert.Equal(t, "folder/job-name (console)", res.Failures[0].TestName, "a report one byte over the cap is skipped")
				assert.Contains(t, res.Summary, "reports/junit.xml")
			}
		}
	})
}

func TestBuildAnalysisWaitsForTheBuild(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		jk := fake.NewJenkins(t, ciUser, ciToken)
		running := fake.Answer{Status: 200, Body: fake.Fixture("jenkins_build_running.json")}
		const path = "GET /job/folder/job/job-name/123/api/json"
		f := newBuilds(t, db, JenkinsConfig{URL: jk.URL, User: ciUser, Password: ciToken})

		jk.Script(path, running, running, running)
		id, wait := f.run(t, `{"job_name": "folder/job-name", "build_number": 123, "poll_interval_minutes": 4}`)
		r, _ := f.result(t, id)
		assert.Equal(t, JobWaiting, r.Status)
		assert.Equal(t, PhaseWaitingForJenkins, r.ProgressPhase)
		assert.Equal(t, 30*time.Second, wait, "soon at first: an eighth of the poll interval")

		// Backoff: half the time waited, up to the poll interval.
		f.clock.Add(4 * time.Minute)
		wait, err := f.builds.Run(ctx, id, "", false)
		require.NoError(t, err)
		assert.Equal(t, 2*time.Minute, wait)
		f.clock.Add(20 * time.Minute)
		wait, err = f.builds.Run(ctx, id, "", false)
		require.NoError(t, err)
		assert.Equal(t, 4*time.Minute, wait, "never longer than poll_interval_minutes")

		// Finished now: analysed.
		wait, err = f.builds.Run(ctx, id, "", false)
		require.NoError(t, err)
		assert.Zero(t, wait)
		r, res := f.result(t, id)
		require.Equal(t, JobCompleted, r.Status, r.Error)
		assert.Len(t, res.Failures, 2)
		var phases []string
		for _, e := range r.ProgressLog {
			phases = append(phases, e.Phase)
		}
		assert.Equal(t, []string{PhaseQueued, PhaseWaitingForJenkins, PhaseAnalyzing, PhaseSaving, PhaseCompleted}, phases)

		// wait_for_completion false: a running build is analysed as it is.
		jk.Script(path, running)
		id, wait = f.run(t, `{"job_name": "folder/job-name", "build_number": 123, "wait_for_completion": false}`)
		assert.Zero(t, wait)
		r, _ = f.result(t, id)
		assert.Equal(t, JobCompleted, r.Status)
	})
}

func TestBuildAnalysisMaxWait(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		jk := fake.NewJenkins(t, ciUser, ciToken)
		running := fake.Answer{Status: 200, Body: fake.Fixture("jenkins_build_running.json")}
		jk.Script("GET /job/folder/job/job-name/123/api/json", running, running, running)
		f := newBuilds(t, db, JenkinsConfig{URL: jk.URL, User: ciUser, Password: ciToken})
		id, _ := f.run(t, `{"job_name": "folder/job-name", "build_number": 123, "max_wait_minutes": 1}`)

		f.clock.Add(59 * time.Second)
		wait, err := f.builds.Run(ctx, id, "", false)
		require.NoError(t, err)
		assert.Equal(t, time.Second, wait, "never past the deadline")
		r, _ := f.result(t, id)
		assert.Equal(t, JobWaiting, r.Status, "59 s of 1 min: still waiting")

		f.clock.Add(time.Second)
		wait, err = f.builds.Run(ctx, id, "", false)
		require.NoError(t, err)
		assert.Zero(t, wait)
		r, _ = f.result(t, id)
		assert.Equal(t, JobFailed, r.Status, "1 min of 1 min: given up")
		assert.Contains(t, r.Error, "still running after 1m0s")
	})
}

func TestBuildAnalysisJenkinsErrors(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		jk := fake.NewJenkins(t, ciUser, ciToken)
		const path = "GET /job/folder/job/job-name/123/api/json"

		// 401: the job fails at once, naming no secret.
		const wrong = "WRONGsecretPASSWORD"
		f := newBuilds(t, db, JenkinsConfig{URL: jk.URL, User: ciUser, Password: wrong})
		id, _ := f.run(t, `{"job_name": "folder/job-name", "build_number": 123}`)
		r, _ := f.result(t, id)
		assert.Equal(t, JobFailed, r.Status)
		assert.Equal(t, "Jenkins refused the credentials (HTTP 401)", r.Error)

		// 404.
		f = newBuilds(t, db, JenkinsConfig{URL: jk.URL, User: ciUser, Password: ciToken})
		id, _ = f.run(t, `{"job_name": "folder/job-name", "build_number": 999}`)
		r, _ = f.result(t, id)
		assert.Equal(t, JobFailed, r.Status)
		assert.Equal(t, "Jenkins has no build folder/job-name #999", r.Error)

		// 5xx: retried by the queue, failed on the last attempt.
		jk.Script(path, fake.Answer{Status: 503}, fake.Answer{Status: 503})
		id, err := f.builds.Start(ctx, parse(t, `{"job_name": "folder/job-name", "build_number": 123}`))
		require.NoError(t, err)
		_, err = f.builds.Run(ctx, id, "", false)
		require.Error(t, err, "not the last attempt: the queue retries")
		r, _ = f.result(t, id)
		assert.Equal(t, JobPending, r.Status)
		_, err = f.builds.Run(ctx, id, "", true)
		require.NoError(t, err)
		r, _ = f.result(t, id)
		assert.Equal(t, JobFailed, r.Status)
		assert.Contains(t, r.Error, "Jenkins is unavailable")
		assert.Contains(t, r.Error, "HTTP 503")

		// Hung: the client's timeout ends the attempt.
		f = newBuilds(t, db, JenkinsConfig{URL: jk.URL, User: ciUser, Password: ciToken,
			HTTP: integrations.Options{RetryMax: -1, Timeout: 100 * time.Millisecond}})
		jk.Script(path, fake.Answer{Hang: true}, fake.Answer{Hang: true})
		id, err = f.builds.Start(ctx, parse(t, `{"job_name": "folder/job-name", "build_number": 123}`))
		require.NoError(t, err)
		_, err = f.builds.Run(ctx, id, "", false)
		require.Error(t, err)
		_, err = f.builds.Run(ctx, id, "", true)
		require.NoError(t, err)
		r, _ = f.result(t, id)
		assert.Equal(t, JobFailed, r.Status)
		assert.Contains(t, r.Error, "timed out")
		for _, text := range []string{r.Error, string(r.Result)} {
			assert.False(t, fake.HasSecret(text, ciToken, wrong))
		}
	})
}

func TestBuildAnalysisRequestCredentials(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const reqUser, reqToken = "alice", "22bbREQUESTtoken"
		jk := fake.NewJenkins(t, reqUser, reqToken)
		other := fake.NewJenkins(t, reqUser, reqToken)

		// The request's credentials: used, sealed in the queued job, never
		// stored in request_params.
		f := newBuilds(t, db, JenkinsConfig{URL: jk.URL, User: ciUser, Password: ciToken})
		id, _ := f.run(t, `{"job_name": "folder/job-name", "build_number": 123, "jenkins_user": "alice", "jenkins_password": "22bbREQUESTtoken"}`)
		r, _ := f.result(t, id)
		require.Equal(t, JobCompleted, r.Status, r.Error)
		sealed := f.queue.last().Credentials
		assert.NotEmpty(t, sealed)
		params, _ := json.Marshal(r.RequestParams)
		for _, text := range []string{sealed, string(params), string(r.Result)} {
			assert.False(t, fake.HasSecret(text, reqToken, ciToken, "alice"), text)
		}

		// The server's credentials never go to a Jenkins the request names.
		id, _ = f.run(t, `{"job_name": "folder/job-name", "build_number": 123, "jenkins_url": "`+other.URL+`"}`)
		r, _ = f.result(t, id)
		assert.Equal(t, JobFailed, r.Status, "no credentials: 401")
		for _, req := range other.Requests() {
			assert.Empty(t, req.Authorization)
		}

		// Sealed credentials are bound to their job.
		id2, err := f.builds.Start(ctx, parse(t, `{"job_name": "folder/job-name", "build_number": 123}`))
		require.NoError(t, err)
		_, err = f.builds.Run(ctx, id2, sealed, false)
		require.NoError(t, err)
		r, _ = f.result(t, id2)
		assert.Equal(t, JobFailed, r.Status)
		assert.Contains(t, r.Error, "could not be recovered")

		// No Jenkins at all: 400 before anything is queued.
		none := newBuilds(t, db, JenkinsConfig{})
		_, err = none.builds.Start(ctx, parse(t, `{"job_name": "folder/job-name", "build_number": 123}`))
		assert.ErrorIs(t, err, errs.ErrInvalid)
		assert.Empty(t, errs.As(err).Fields)
		assert.Empty(t, none.queue.args)
	})
}

func TestReanalyzeReusesTheFetchedFailures(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		jk := fake.NewJenkins(t, ciUser, ciToken)
		f := newBuilds(t, db, JenkinsConfig{URL: jk.URL, User: ciUser, Password: ciToken})
		src, _ := f.run(t, `{"job_name": "folder/job-name", "build_number": 123, "ai_provider": "claude", "ai_model": "sonnet",
			"tests_repo_url": "https://github.com/acme/tests.git:main", "jira_api_token": "JIRAsecret"}`)
		calls := len(jk.Requests())

		id, err := f.builds.Reanalyze(ctx, src, map[string]json.RawMessage{
			"ai_provider": json.RawMessage(`"gemini"`), "ai_model": json.RawMessage(`"gemini-2.5-pro"`), "peer_ai_configs": json.RawMessage(`[]`)})
		require.NoError(t, err)
		assert.NotEqual(t, src, id)
		_, err = f.builds.Run(ctx, id, f.queue.last().Credentials, false)
		require.NoError(t, err)
		assert.Equal(t, calls, len(jk.Requests()), "the stored failures are analysed: Jenkins is not asked")

		r, res := f.result(t, id)
		require.Equal(t, JobCompleted, r.Status, r.Error)
		assert.Len(t, res.Failures, 2)
		assert.Len(t, res.ChildJobAnalyses, 1)
		assert.Equal(t, "gemini", r.RequestParams["ai_provider"])
		assert.Equal(t, "gemini-2.5-pro", r.RequestParams["ai_model"])
		assert.Equal(t, []any{}, r.RequestParams["peer_ai_configs"])
		assert.Equal(t, "https://github.com/acme/tests.git", r.RequestParams["tests_repo_url"])
		assert.Equal(t, "main", r.RequestParams["tests_repo_ref"])
		assert.Equal(t, src, r.RequestParams["reanalyzed_from"])
		assert.NotContains(t, r.RequestParams, "jira_api_token")

		// Bad overrides are 422; unknown sources 404; a direct analysis
		// has no Jenkins request (400).
		_, err = f.builds.Reanalyze(ctx, src, map[string]json.RawMessage{"ai_provider": json.RawMessage(`"bogus"`)})
		require.ErrorIs(t, err, errs.ErrInvalid)
		assert.NotEmpty(t, errs.As(err).Fields)
		_, err = f.builds.Reanalyze(ctx, "no-such-job", nil)
		assert.ErrorIs(t, err, errs.ErrNotFound)
		_, err = f.svc.Analyze(ctx, DirectInput{RecordInput: RecordInput{JobID: "direct-1", RequestParams: map[string]any{"ai_model": "x"}},
			Failures: []FailureInput{{TestName: "t", ErrorMessage: "boom"}}})
		require.NoError(t, err)
		_, err = f.builds.Reanalyze(ctx, "direct-1", nil)
		require.ErrorIs(t, err, errs.ErrInvalid)
		assert.Empty(t, errs.As(err).Fields)

		// Deleting a job deletes its stored failures.
		require.NoError(t, f.svc.DeleteResult(ctx, src))
		_, found, err := f.svc.store.(buildStore).BuildInputs(ctx, src)
		require.NoError(t, err)
		assert.False(t, found)
	})
}

func TestParseJenkinsRequestLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body  string
		field string // "" when valid
	}{
		{`{"job_name": "folder/job-name", "build_number": 1}`, ""},
		{`{"job_name": "folder/job-name", "build_number": 0}`, "build_number"},
		{`{"build_number": 1}`, "job_name"},
		{`{"job_name": " / ", "build_number": 1}`, "job_name"},
		{`{"job_name": "j", "build_number": 1, "poll_interval_minutes": 1}`, ""},
		{`{"job_name": "j", "build_number": 1, "poll_interval_minutes": 0}`, "poll_interval_minutes"},
		{`{"job_name": "j", "build_number": 1, "max_wait_minutes": 0}`, ""},
		{`{"job_name": "j", "build_number": 1, "max_wait_minutes": -1}`, "max_wait_minutes"},
		{`{"job_name": "j", "build_number": 1, "jenkins_artifacts_max_size_mb": 1}`, ""},
		{`{"job_name": "j", "build_number": 1, "jenkins_artifacts_max_size_mb": 0}`, "jenkins_artifacts_max_size_mb"},
		{`{"job_name": "j", "build_number": 1, "wait_for_completion": "yes"}`, "wait_for_completion"},
		{`{"job_name": "j", "build_number": 1, "jenkins_url": "ftp://x"}`, "jenkins_url"},
		{`{"job_name": "j", "build_number": 1, "ai_provider": "bogus"}`, "ai_provider"},
	} {
		var fields map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(tc.body), &fields))
		_, err := ParseJenkinsRequest(fields)
		if tc.field == "" {
			assert.NoError(t, err, tc.body)
			continue
		}
		require.ErrorIs(t, err, errs.ErrInvalid, tc.body)
		assert.Contains(t, errs.As(err).Fields, tc.field, tc.body)
	}
	req := parse(t, `{"job_name": "/folder/job-name/", "build_number": 5, "jenkins_password": "p", "jenkins_user": "u"}`)
	assert.Equal(t, "folder/job-name", req.JobName)
	assert.Equal(t, "p", req.Password)
	assert.NotContains(t, req.Params, "jenkins_password")
	assert.NotContains(t, req.Params, "jenkins_user")
}

func TestBuildAnalysisUsesTheRequestsAIProvider(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		jk := fake.NewJenkins(t, ciUser, ciToken)
		f := newBuilds(t, db, JenkinsConfig{URL: jk.URL, User: ciUser, Password: ciToken})
		// The same store, with claude configured as the only provider.
		cli := fakeCLI(t, answerScript(t.TempDir(), "PRODUCT BUG"))
		f.svc = New(NewBunStore(db.DB), Config{Now: f.clock.Now, AI: AISettings{ClaudeCommand: []string{cli, "{model}"}}})
		b, err := NewBuilds(f.svc, JenkinsConfig{URL: jk.URL, User: ciUser, Password: ciToken, HTTP: quick}, f.queue)
		require.NoError(t, err)
		f.builds = b

		src, _ := f.run(t, `{"job_name": "folder/job-name", "build_number": 123, "ai_provider": "claude", "ai_model": "sonnet"}`)
		r, res := f.result(t, src)
		require.Equal(t, JobCompleted, r.Status, r.Error)
		assert.Equal(t, "claude", res.AIProvider)
		assert.Equal(t, "sonnet", res.AIModel)

		// A provider this server lacks is refused when queued, for a new
		// analysis and for a re-analysis alike.
		_, err = f.builds.Start(ctx, parse(t, `{"job_name": "folder/job-name", "build_number": 123, "ai_provider": "gemini", "ai_model": "g"}`))
		require.ErrorIs(t, err, errs.ErrInvalid)
		assert.Contains(t, err.Error(), "gemini is not configured on this server")
		_, err = f.builds.Reanalyze(ctx, src, map[string]json.RawMessage{"ai_provider": json.RawMessage(`"gemini"`)})
		require.ErrorIs(t, err, errs.ErrInvalid)
		assert.Empty(t, errs.As(err).Fields, "a configuration error: 400, not 422")
	})
}
