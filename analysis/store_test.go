package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

func TestStoreResults(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		applied, err := store.Migrate(ctx, db, Migrations())
		require.NoError(t, err)
		assert.Empty(t, applied, "migrations are idempotent")

		st := NewBunStore(db.DB)
		t0 := store.Now()
		r := StoredResult{
			JobID: "job-1", JobName: "folder/job", BuildNumber: 7, Status: JobRunning,
			RequestParams: map[string]any{"ai_provider": "claude", "jira_token": "s3cret", "GitHub_Token": "x",
				"nested": map[string]any{"apiKey": "k", "keep": 1.0}},
			Result: json.RawMessage(`{"status":"running"}`), CreatedAt: t0,
		}
		require.NoError(t, st.SaveResult(ctx, r))
		require.NoError(t, st.AppendProgress(ctx, "job-1", ProgressEntry{Phase: "parsing", Timestamp: 1}))
		require.NoError(t, st.AppendProgress(ctx, "job-1", ProgressEntry{Phase: "analyzing", Timestamp: 2}))

		got, err := st.GetResult(ctx, "job-1")
		require.NoError(t, err)
		assert.Equal(t, map[string]any{"ai_provider": "claude", "nested": map[string]any{"keep": 1.0}}, got.RequestParams, "secrets are never stored")
		assert.Equal(t, "analyzing", got.ProgressPhase)
		assert.Equal(t, []ProgressEntry{{"parsing", 1}, {"analyzing", 2}}, got.ProgressLog)
		assert.True(t, t0.Equal(got.CreatedAt))
		assert.Nil(t, got.CompletedAt)

		done := t0.Add(time.Second)
		got.Status, got.CompletedAt, got.Result = JobCompleted, &done, json.RawMessage(`{"status":"completed"}`)
		require.NoError(t, st.SaveResult(ctx, got))
		got, err = st.GetResult(ctx, "job-1")
		require.NoError(t, err)
		assert.Equal(t, JobCompleted, got.Status)
		assert.JSONEq(t, `{"status":"completed"}`, string(got.Result))
		require.NotNil(t, got.CompletedAt)
		assert.True(t, done.Equal(*got.CompletedAt))

		require.NoError(t, st.SaveResult(ctx, StoredResult{JobID: "job-2", Status: JobCompleted, CreatedAt: t0.Add(time.Minute)}))
		list, err := st.ListResults(ctx, 10)
		require.NoError(t, err)
		require.Len(t, list, 2)
		assert.Equal(t, "job-2", list[0].JobID, "newest first")

		_, err = st.GetResult(ctx, "nope")
		assert.ErrorIs(t, err, errs.ErrNotFound)
		assert.ErrorIs(t, st.AppendProgress(ctx, "nope", ProgressEntry{}), errs.ErrNotFound)
		assert.ErrorIs(t, st.DeleteResult(ctx, "nope"), errs.ErrNotFound)
	})
}

func TestStoreCommentsReviewsDelete(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := NewBunStore(db.DB)
		now := store.Now()
		require.NoError(t, st.SaveResult(ctx, StoredResult{JobID: "j", Status: JobCompleted, CreatedAt: now}))
		c1 := &Comment{JobID: "j", TestName: "pkg/a.Test/sub", Comment: "first", ErrorSignature: "sig", Username: "alice", CreatedAt: now}
		c2 := &Comment{JobID: "j", TestName: "pkg/a.Test/sub", Comment: "second", Username: "bob", CreatedAt: now.Add(time.Second)}
		require.NoError(t, st.AddComment(ctx, c1))
		require.NoError(t, st.AddComment(ctx, c2))
		assert.NotZero(t, c1.ID)
		assert.NotEqual(t, c1.ID, c2.ID)
		list, err := st.ListComments(ctx, "j")
		require.NoError(t, err)
		require.Len(t, list, 2)
		assert.Equal(t, "first", list[0].Comment)
		bySig, err := st.CommentsFor(ctx, "", "sig")
		require.NoError(t, err)
		require.Len(t, bySig, 1)
		got, err := st.GetComment(ctx, "j", c2.ID)
		require.NoError(t, err)
		assert.Equal(t, "bob", got.Username)
		_, err = st.GetComment(ctx, "other", c2.ID)
		assert.ErrorIs(t, err, errs.ErrNotFound, "a comment belongs to its job")
		require.NoError(t, st.DeleteComment(ctx, "j", c2.ID))
		assert.ErrorIs(t, st.DeleteComment(ctx, "j", c2.ID), errs.ErrNotFound)

		require.NoError(t, st.SetReview(ctx, Review{JobID: "j", Key: "pkg/a.Test/sub", Reviewed: true, Username: "alice", UpdatedAt: now}))
		require.NoError(t, st.SetReview(ctx, Review{JobID: "j", Key: "pkg/a.Test/sub", Reviewed: false, Username: "bob", UpdatedAt: now}))
		require.NoError(t, st.SetReview(ctx, Review{JobID: "j", Key: "child#3::t", Reviewed: true, UpdatedAt: now}))
		reviews, err := st.ListReviews(ctx, "j")
		require.NoError(t, err)
		require.Len(t, reviews, 2)
		assert.Equal(t, Review{JobID: "j", Key: "pkg/a.Test/sub", Reviewed: false, Username: "bob", UpdatedAt: reviews[1].UpdatedAt}, reviews[1])

		require.NoError(t, st.RecordOutcomes(ctx, []HistoryRow{{JobID: "j", JobName: "x", TestName: "t", Outcome: Failed, AnalyzedAt: now}}))
		require.NoError(t, st.AddClassification(ctx, &TestClassification{JobID: "j", TestName: "t", Classification: "FLAKY", CreatedAt: now}))
		require.NoError(t, st.DeleteResult(ctx, "j"))
		for name, count := range map[string]func() int{
			"comments": func() int { l, _ := st.ListComments(ctx, "j"); return len(l) },
			"reviews":  func() int { l, _ := st.ListReviews(ctx, "j"); return len(l) },
			"history":  func() int { l, _ := st.TestHistory(ctx, "t", "", ""); return len(l) },
			"labels":   func() int { l, _ := st.ListClassifications(ctx, ClassificationFilter{JobID: "j"}); return len(l) },
		} {
			assert.Zero(t, count(), "delete removes %s", name)
		}
	})
}

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// recordRun analyses a small report in which each test passes or fails as
// given and stores it as one build of job.
func recordRun(t *testing.T, svc *Service, jobID, job string, build int, outcomes map[string]bool) {
	t.Helper()
	var b strings.Builder
	b.WriteString(`<testsuite name="s">`)
	for _, name := range []string{"pkg/api.TestLogin/admin", "pkg/api.TestLogout", "pkg/db.TestMigrate"} {
		ok, present := outcomes[name]
		if !present {
			continue
		}
		i := strings.LastIndex(name, ".")
		fmt.Fprintf(&b, `<testcase classname=%q name=%q>`, name[:i], name[i+1:])
		if !ok {
			fmt.Fprintf(&b, `<failure message="connection refused by db at build %d (req %s)"/>`, build, fmt.Sprintf("%08d-1111-2222-3333-444455556666", build))
		}
		b.WriteString(`</testcase>`)
	}
	b.WriteString(`</testsuite>`)
	ra, err := AnalyzeReport(context.Background(), strings.NewReader(b.String()), Options{Analyzer: svc.Analyzer()})
	require.NoError(t, err)
	require.NoError(t, svc.RecordAnalysis(context.Background(), RecordInput{JobID: jobID, JobName: job, BuildNumber: build}, ra))
}

func TestServiceHistory(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := NewBunStore(db.DB)
		clk := &clock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
		svc := New(st, Config{Now: clk.now})
		day := 24 * time.Hour
		login, logout := "pkg/api.TestLogin/admin", "pkg/api.TestLogout"

		// Builds 1..6 of folder/nightly, one a day: login F P F F F F
		// (streak 4 at the end), logout always passes; migrate fails in the
		// last three builds only.
		pattern := []bool{false, true, false, false, false, false}
		for i, ok := range pattern {
			clk.t = clk.t.Add(day)
			outcomes := map[string]bool{login: ok, logout: true}
			if i >= 3 {
				outcomes["pkg/db.TestMigrate"] = false
			}
			recordRun(t, svc, fmt.Sprintf("run-%d", i+1), "folder/nightly", i+1, outcomes)
		}
		// Another job where login passes, an hour later.
		clk.t = clk.t.Add(time.Hour)
		recordRun(t, svc, "other-1", "folder/other", 1, map[string]bool{login: true})

		h, err := svc.TestHistory(ctx, login, "folder/nightly", "", 3)
		require.NoError(t, err)
		assert.Equal(t, 6, h.TotalRuns)
		assert.Equal(t, 5, h.Failures)
		require.NotNil(t, h.Passes)
		assert.Equal(t, 1, *h.Passes)
		require.NotNil(t, h.FailureRate)
		assert.InDelta(t, 0.8333, *h.FailureRate, 1e-9)
		assert.Equal(t, 4, h.ConsecutiveFailures, "a real streak, not a count")
		assert.Len(t, h.RecentRuns, 3, "limit applies to recent runs")
		assert.Equal(t, "run-6", h.RecentRuns[0].JobID)
		assert.Equal(t, "INFRASTRUCTURE", h.LastClassification)
		assert.Equal(t, map[string]int{"INFRASTRUCTURE": 5}, h.Classifications)
		require.Len(t, h.Flaky, 1, "failed and passed in one job within 14 days")
		assert.Equal(t, "folder/nightly", h.Flaky[0].JobName)
		assert.Contains(t, h.Note, "flaky")

		all, err := svc.TestHistory(ctx, login, "", "", 0)
		require.NoError(t, err)
		assert.Equal(t, 7, all.TotalRuns, "across jobs")
		assert.Equal(t, 0, all.ConsecutiveFailures, "across jobs the latest run (folder/other) passed")

		stable, err := svc.TestHistory(ctx, logout, "folder/nightly", "", 0)
		require.NoError(t, err)
		assert.Equal(t, 0, stable.ConsecutiveFailures)
		assert.Empty(t, stable.Flaky)
		assert.Equal(t, 6, *stable.Passes)

		excl, err := svc.TestHistory(ctx, login, "folder/nightly", "run-6", 0)
		require.NoError(t, err)
		assert.Equal(t, 5, excl.TotalRuns)

		// Search by the shared signature (builds differ in a number and a UUID).
		sig := h.RecentRuns[0].ErrorSignature
		assert.Equal(t, sig, h.RecentRuns[1].ErrorSignature)
		sr, err := svc.SearchSignature(ctx, sig, "")
		require.NoError(t, err)
		assert.Equal(t, 8, sr.TotalOccurrences)
		assert.Equal(t, []TestOccurrence{{login, 5}, {"pkg/db.TestMigrate", 3}}, sr.Tests)

		stats, err := svc.JobStats(ctx, "folder/nightly", "")
		require.NoError(t, err)
		assert.Equal(t, 6, stats.TotalBuildsAnalyzed)
		assert.Equal(t, 5, stats.BuildsWithFailures)
		assert.InDelta(t, 0.8333, stats.OverallFailureRate, 1e-9)
		require.NotEmpty(t, stats.MostCommonFailures)
		assert.Equal(t, FailureCount{TestName: login, Count: 5, Classification: Infrastructure}, stats.MostCommonFailures[0])
		assert.Equal(t, TrendWorsening, stats.RecentTrend, "all failing builds are in the last 7 days")

		clk.t = clk.t.Add(8 * day)
		stats, err = svc.JobStats(ctx, "folder/nightly", "")
		require.NoError(t, err)
		assert.Equal(t, TrendImproving, stats.RecentTrend, "no failing build in the last 7 days")

		rows, total, err := svc.Failures(ctx, HistoryFilter{Search: "API.testlogin", Limit: 2})
		require.NoError(t, err)
		assert.Equal(t, 5, total)
		assert.Len(t, rows, 2)
		rows, total, err = svc.Failures(ctx, HistoryFilter{Search: "100%_", Limit: 2})
		require.NoError(t, err)
		assert.Zero(t, total, "LIKE wildcards are matched literally")
		assert.Empty(t, rows)
		_, total, err = svc.Failures(ctx, HistoryFilter{JobName: "folder/nightly", Classification: Infrastructure})
		require.NoError(t, err)
		assert.Equal(t, 8, total)
		_, _, err = svc.Failures(ctx, HistoryFilter{Limit: 500})
		assert.Equal(t, errs.Invalid, errs.KindOf(err))
	})
}

func TestServiceOverrideTeachesAnalyzer(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := NewBunStore(db.DB)
		svc := New(st, Config{})
		doc := `<testsuite name="s">
<testcase classname="tests.cart" name="test_big"><failure message="ReadTimeout: checkout of cart 1234567 timed out after 30s"/></testcase>
<testcase classname="tests.cart" name="test_huge"><failure message="ReadTimeout: checkout of cart 7654321 timed out after 31s"/></testcase>
<testcase classname="tests.cart" name="test_ok"/>
</testsuite>`
		ra, err := AnalyzeReport(ctx, strings.NewReader(doc), Options{Analyzer: svc.Analyzer()})
		require.NoError(t, err)
		require.Equal(t, Infrastructure, ra.Result.Failures[0].Analysis.Classification)
		require.NoError(t, svc.RecordAnalysis(ctx, RecordInput{JobID: "j1", JobName: "shop"}, ra))

		require.NoError(t, svc.Override(ctx, "j1", Scope{TestName: "tests.cart.test_big"}, ProductBug, "alice"))
		stored, err := st.GetResult(ctx, "j1")
		require.NoError(t, err)
		var res FailureAnalysisResult
		require.NoError(t, json.Unmarshal(stored.Result, &res))
		assert.Equal(t, ProductBug, res.Failures[1].Analysis.Classification, "the whole signature group changes")
		assert.Equal(t, "2 PRODUCT BUG", res.Summary)
		h, err := svc.TestHistory(ctx, "tests.cart.test_huge", "", "", 0)
		require.NoError(t, err)
		assert.Equal(t, "PRODUCT BUG", h.LastClassification, "history follows the override")

		labels, err := st.ListClassifications(ctx, ClassificationFilter{PrimaryOnly: true, VisibleOnly: true})
		require.NoError(t, err)
		require.Len(t, labels, 1)
		assert.Equal(t, "alice", labels[0].CreatedBy)

		// The running service learned at once; a fresh one learns from the store.
		fresh := New(st, Config{})
		require.NoError(t, fresh.LoadExamples(ctx, st))
		for _, s := range []*Service{svc, fresh} {
			next, err := AnalyzeFailures(ctx, []FailureInput{{TestName: "tests.cart.test_new", ErrorMessage: "ReadTimeout: checkout of cart 5555555 timed out after 29s"}}, Options{Analyzer: s.Analyzer()})
			require.NoError(t, err)
			assert.Equal(t, ProductBug, next.Result.Failures[0].Analysis.Classification)
			assert.Contains(t, next.Result.Failures[0].Analysis.Details, "by alice")
		}

		require.NoError(t, svc.Override(ctx, "j1", Scope{TestName: "tests.cart.test_big"}, Infrastructure, "bob"))
		require.NoError(t, json.Unmarshal(mustResult(t, st, "j1"), &res))
		assert.Nil(t, res.Failures[0].Analysis.ProductBugReport, "INFRASTRUCTURE clears the bug report")

		assert.ErrorIs(t, svc.Override(ctx, "j1", Scope{TestName: "tests.cart.test_ok"}, CodeIssue, "x"), errs.ErrNotFound)
		assert.ErrorIs(t, svc.Override(ctx, "missing", Scope{TestName: "t"}, CodeIssue, "x"), errs.ErrNotFound)
		require.NoError(t, st.SaveResult(ctx, StoredResult{JobID: "j2", Status: JobRunning, CreatedAt: store.Now()}))
		err = svc.Override(ctx, "j2", Scope{TestName: "t"}, CodeIssue, "x")
		var notFinished *JobNotFinishedError
		require.ErrorAs(t, err, &notFinished)
		assert.Equal(t, errs.Conflict, errs.KindOf(err))
	})
}

// storedEnrichment returns a stored result's enriched XML and what
// enriching the original report with its stored analyses gives.
func storedEnrichment(t *testing.T, st Store, jobID, original, reportURL string) (got, want string) {
	t.Helper()
	var res FailureAnalysisResult
	require.NoError(t, json.Unmarshal(mustResult(t, st, jobID), &res))
	require.NotNil(t, res.EnrichedXML)
	b, err := EnrichXML(context.Background(), []byte(original), res.Failures, EnrichOptions{ReportURL: reportURL})
	require.NoError(t, err)
	return *res.EnrichedXML, string(b)
}

// testcaseXML returns the <testcase> element of a test named name in doc.
func testcaseXML(t *testing.T, doc, name string) string {
	t.Helper()
	start := strings.Index(doc, `<testcase classname="tests.cart" name="`+name+`"`)
	require.GreaterOrEqual(t, start, 0, name)
	end := strings.Index(doc[start:], "</testcase>")
	require.GreaterOrEqual(t, end, 0, name)
	return doc[start : start+end]
}

func TestServiceOverrideRefreshesEnrichedXML(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := NewBunStore(db.DB)
		svc := New(st, Config{})
		doc := `<testsuite name="s">
<testcase classname="tests.cart" name="test_big"><failure message="ReadTimeout: checkout of cart 1234567 timed out after 30s"/><system-out>log</system-out></testcase>
<testcase classname="tests.cart" name="test_huge"><properties><property name="owner" value="shop"/></properties><failure message="ReadTimeout: checkout of cart 7654321 timed out after 31s"/></testcase>
<testcase classname="tests.cart" name="test_total"><failure message="AssertionError: total 10 != 12"/></testcase>
<testcase classname="tests.cart" name="test_tax"><failure message="KeyError: 'vat'"/></testcase>
<testcase classname="tests.cart" name="test_ok"></testcase>
</testsuite>`
		const url = "http://r/results/j1"
		ra, err := AnalyzeReport(ctx, strings.NewReader(doc), Options{Analyzer: svc.Analyzer(), ReportURL: url})
		require.NoError(t, err)
		require.Equal(t, Infrastructure, ra.Result.Failures[0].Analysis.Classification)
		require.NoError(t, svc.RecordAnalysis(ctx, RecordInput{JobID: "j1"}, ra))
		before := *ra.Result.EnrichedXML

		require.NoError(t, svc.Override(ctx, "j1", Scope{TestName: "tests.cart.test_big"}, ProductBug, "alice"))
		got, want := storedEnrichment(t, st, "j1", doc, url)
		assert.Equal(t, want, got, "the enriched XML is the original enriched with the stored analyses")
		for _, name := range []string{"test_big", "test_huge"} {
			tc := testcaseXML(t, got, name)
			assert.Contains(t, tc, `<property name="ai_classification" value="PRODUCT BUG"/>`, "the whole group")
			assert.Contains(t, tc, "\n--- AI Analysis ---\nClassification: PRODUCT BUG\n")
			assert.Equal(t, 1, strings.Count(tc, "--- AI Analysis ---"), "replaced, not added")
		}
		assert.Contains(t, testcaseXML(t, got, "test_huge"), `<property name="owner" value="shop"/>`)
		for _, name := range []string{"test_total", "test_tax", "test_ok"} {
			assert.Equal(t, testcaseXML(t, before, name), testcaseXML(t, got, name), "other tests are untouched")
		}
		assert.Contains(t, got, `<property name="report_url" value="`+url+`"/>`)

		// A result overridden before overrides refreshed the XML: its
		// XML still shows the analyser's classification of test_tax.
		stored, err := st.GetResult(ctx, "j1")
		require.NoError(t, err)
		var body map[string]any
		require.NoError(t, json.Unmarshal(stored.Result, &body))
		tax := body["failures"].([]any)[3].(map[string]any)["analysis"].(map[string]any)
		require.NotEqual(t, string(ProductBug), tax["classification"])
		tax["classification"] = string(ProductBug)
		stored.Result, err = json.Marshal(body)
		require.NoError(t, err)
		require.NoError(t, st.SaveResult(ctx, stored))

		require.NoError(t, svc.Override(ctx, "j1", Scope{TestName: "tests.cart.test_total"}, Infrastructure, "bob"))
		got, want = storedEnrichment(t, st, "j1", doc, url)
		assert.Equal(t, want, got)
		assert.Contains(t, testcaseXML(t, got, "test_total"), `<property name="ai_classification" value="INFRASTRUCTURE"/>`)
		assert.Contains(t, testcaseXML(t, got, "test_tax"), `<property name="ai_classification" value="PRODUCT BUG"/>`, "a stale block is brought up to date too")
		assert.Equal(t, 4, strings.Count(got, "--- AI Analysis ---"))

		// An override whose last write fails leaves everything as it was.
		failing := New(failingLabels{st}, Config{})
		require.ErrorContains(t, failing.Override(ctx, "j1", Scope{TestName: "tests.cart.test_total"}, CodeIssue, "carol"), "labels unavailable")
		unchanged, _ := storedEnrichment(t, st, "j1", doc, url)
		assert.Equal(t, got, unchanged)
		h, err := svc.TestHistory(ctx, "tests.cart.test_total", "", "", 0)
		require.NoError(t, err)
		assert.Equal(t, string(Infrastructure), h.LastClassification)
	})
}

// failingLabels is a Store whose AddClassification, the last write of an
// override, fails.
type failingLabels struct{ Store }

func (f failingLabels) AddClassification(context.Context, *TestClassification) error {
	return errors.New("labels unavailable")
}

func (f failingLabels) Atomically(ctx context.Context, fn func(ctx context.Context, st Store) error) error {
	return f.Store.Atomically(ctx, func(ctx context.Context, st Store) error { return fn(ctx, failingLabels{st}) })
}

// Overrides of different tests of one job at the same time all land, in
// the failures and in the enriched XML: each reads and rewrites the whole
// result, so they must apply one after the other.
func TestServiceOverrideConcurrent(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := NewBunStore(db.DB)
		svc := New(st, Config{})
		const n = 8
		var b strings.Builder
		b.WriteString(`<testsuite name="s">`)
		for i := range n {
			fmt.Fprintf(&b, `<testcase classname="tests.cart" name="test_%c"><failure message="AssertionError: widget %c is wrong"/></testcase>`, 'a'+i, 'a'+i)
		}
		b.WriteString(`</testsuite>`)
		doc := b.String()
		ra, err := AnalyzeReport(ctx, strings.NewReader(doc), Options{Analyzer: svc.Analyzer()})
		require.NoError(t, err)
		require.NoError(t, svc.RecordAnalysis(ctx, RecordInput{JobID: "j"}, ra))

		want := map[string]Classification{}
		var wg sync.WaitGroup
		errc := make(chan error, n)
		for i, f := range ra.Result.Failures {
			c := Classifications[(slices.Index(Classifications, f.Analysis.Classification)+1+i%2)%len(Classifications)]
			want[f.TestName] = c
			wg.Go(func() { errc <- svc.Override(ctx, "j", Scope{TestName: f.TestName}, c, "alice") })
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			require.NoError(t, err)
		}
		var res FailureAnalysisResult
		require.NoError(t, json.Unmarshal(mustResult(t, st, "j"), &res))
		for _, f := range res.Failures {
			assert.Equal(t, want[f.TestName], f.Analysis.Classification, f.TestName)
		}
		got, wantXML := storedEnrichment(t, st, "j", doc, "")
		assert.Equal(t, wantXML, got)
	})
}

func mustResult(t *testing.T, st Store, jobID string) []byte {
	t.Helper()
	r, err := st.GetResult(context.Background(), jobID)
	require.NoError(t, err)
	return r.Result
}

func TestServiceJobLifecycle(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
		svc := New(NewBunStore(db.DB), Config{Now: clk.now})
		in := RecordInput{JobID: "j", JobName: "nightly", RequestParams: map[string]any{"ai_provider": "bugflow", "jira_token": "t"}}
		require.NoError(t, svc.Start(ctx, in))
		clk.t = clk.t.Add(time.Second)
		require.NoError(t, svc.Progress(ctx, "j", PhaseAnalyzing))

		running, err := svc.Result(ctx, "j")
		require.NoError(t, err)
		assert.Equal(t, JobRunning, running.Status)
		assert.Equal(t, PhaseAnalyzing, running.ProgressPhase)
		assert.Equal(t, map[string]any{"ai_provider": "bugflow"}, running.RequestParams)

		clk.t = clk.t.Add(time.Second)
		ra, err := AnalyzeFailures(ctx, []FailureInput{{TestName: "t", ErrorMessage: "boom"}}, Options{})
		require.NoError(t, err)
		require.NoError(t, svc.RecordAnalysis(ctx, RecordInput{JobID: "j", JobName: "nightly"}, ra))
		done, err := svc.Result(ctx, "j")
		require.NoError(t, err)
		assert.Equal(t, JobCompleted, done.Status)
		assert.Equal(t, []string{PhaseQueued, PhaseAnalyzing, PhaseCompleted}, phases(done.ProgressLog))
		assert.True(t, done.CreatedAt.Equal(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)), "creation time kept")
		assert.Equal(t, map[string]any{"ai_provider": "bugflow"}, done.RequestParams, "request params kept")
		var res FailureAnalysisResult
		require.NoError(t, json.Unmarshal(done.Result, &res))
		assert.Equal(t, "j", res.JobID)

		require.NoError(t, svc.Start(ctx, RecordInput{JobID: "k"}))
		require.NoError(t, svc.Fail(ctx, "k", "analyzer unavailable"))
		failed, err := svc.Result(ctx, "k")
		require.NoError(t, err)
		assert.Equal(t, JobFailed, failed.Status)
		assert.Equal(t, "analyzer unavailable", failed.Error)
		_, err = svc.AddComment(ctx, "k", Scope{TestName: "t"}, "x", "a")
		assert.ErrorIs(t, err, errs.ErrConflict)

		list, err := svc.Results(ctx, 0)
		require.NoError(t, err)
		assert.Len(t, list, 2)
		_, err = svc.Results(ctx, 5000)
		assert.ErrorIs(t, err, errs.ErrInvalid)
		require.NoError(t, svc.DeleteResult(ctx, "j"))
		_, err = svc.Result(ctx, "j")
		assert.ErrorIs(t, err, errs.ErrNotFound)
	})
}

func phases(log []ProgressEntry) []string {
	var out []string
	for _, e := range log {
		out = append(out, e.Phase)
	}
	return out
}
