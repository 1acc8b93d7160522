package analysis

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

// seedStart is the creation time of the first seeded job; each next one is
// a minute later.
var seedStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// seedJobs stores n jobs the way the dashboard meets them, in bulk: job i
// is created i minutes after seedStart; every tenth is still running and
// every tenth after that failed; the completed ones have five failures,
// and every fourth of those a child job with two more (and no summary);
// every fifth job has i%3+1 comments and every third i%4 reviewed and one
// unreviewed failure.
func seedJobs(tb testing.TB, db bun.IDB, n int) {
	tb.Helper()
	ctx := context.Background()
	var (
		results  []resultRow
		comments []commentRow
		reviews  []reviewRow
	)
	insert := func(n int, model any) {
		if n == 0 {
			return
		}
		if _, err := db.NewInsert().Model(model).Exec(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	flush := func() {
		insert(len(results), &results)
		insert(len(comments), &comments)
		insert(len(reviews), &reviews)
		results, comments, reviews = results[:0], comments[:0], reviews[:0]
	}
	for i := range n {
		row, err := toResultRow(seedJob(i))
		if err != nil {
			tb.Fatal(err)
		}
		results = append(results, *row)
		id, at := row.JobID, row.CreatedAt
		if i%5 == 0 {
			for c := range i%3 + 1 {
				comments = append(comments, commentRow{JobID: id, TestName: fmt.Sprintf("t%d", c), Comment: "seen before", Username: "alice", CreatedAt: at})
			}
		}
		if i%3 == 0 {
			for r := range i%4 + 1 {
				key := fmt.Sprintf("t%d", r)
				reviews = append(reviews, reviewRow{JobID: id, KeyDigest: reviewKeyDigest(key), ReviewKey: key, Reviewed: r > 0, Username: "bob", UpdatedAt: at})
			}
		}
		if len(results) == 500 {
			flush()
		}
	}
	flush()
}

// seedJob is job i of seedJobs.
func seedJob(i int) StoredResult {
	at := seedStart.Add(time.Duration(i) * time.Minute)
	done := at.Add(30 * time.Second)
	r := StoredResult{
		JobID: fmt.Sprintf("job-%05d", i), JobName: fmt.Sprintf("folder/job-%d", i%7), BuildNumber: i % 5,
		JenkinsURL: "https://ci.example/job/" + fmt.Sprint(i), CreatedAt: at, StartedAt: &at,
	}
	switch {
	case i%10 == 1:
		r.Status, r.CompletedAt = JobRunning, nil
		r.Result = json.RawMessage(fmt.Sprintf(`{"job_id":%q,"status":"running"}`, r.JobID))
		return r
	case i%10 == 2:
		r.Status, r.CompletedAt, r.Error = JobFailed, &done, "analyzer unavailable"
		r.Result = json.RawMessage(fmt.Sprintf(`{"job_id":%q,"status":"failed","error":"analyzer unavailable"}`, r.JobID))
		return r
	}
	r.Status, r.CompletedAt = JobCompleted, &done
	failures := func(k int, prefix string) []FailureAnalysis {
		out := make([]FailureAnalysis, k)
		for f := range out {
			name := fmt.Sprintf("%s.test_%d", prefix, f)
			out[f] = FailureAnalysis{
				TestName: name, Error: "AssertionError: expected 200 got 500",
				Analysis: Detail{Classification: Classifications[f%3], AffectedTests: []string{name},
					Details: "Rule http-500 matched: the product answered 500."},
				ErrorSignature: fmt.Sprintf("%064d", f),
			}
		}
		return out
	}
	res := FailureAnalysisResult{JobID: r.JobID, Status: StatusCompleted, Summary: "2 CODE ISSUE, 2 PRODUCT BUG, 1 INFRASTRUCTURE",
		AIProvider: "bugflow", AIModel: "offline-rules-v1", Failures: failures(5, "tests.api")}
	body, err := encodeResult(res)
	if err != nil {
		panic(err)
	}
	if i%4 == 0 {
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		delete(m, "summary")
		m["child_job_analyses"] = []any{map[string]any{"job_name": "child", "build_number": 3, "failures": failures(2, "tests.child")}}
		body, _ = json.Marshal(m)
	}
	r.Result = body
	return r
}

// countQueries counts the queries run on db from now on.
type countQueries struct{ n atomic.Int64 }

func (c *countQueries) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}

func (c *countQueries) AfterQuery(context.Context, *bun.QueryEvent) { c.n.Add(1) }

func TestDashboard(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := New(NewBunStore(db.DB), Config{})
		seedJobs(t, db.DB, 41)
		queries := &countQueries{}
		db.DB.AddQueryHook(queries)

		rows, err := svc.Dashboard(ctx, 40)
		require.NoError(t, err)
		assert.Equal(t, int64(1), queries.n.Load(), "one query for any number of jobs")
		require.Len(t, rows, 40, "the limit, newest first")
		assert.Equal(t, "job-00040", rows[0].JobID)
		assert.Equal(t, "job-00001", rows[39].JobID)

		byID := map[string]DashboardRow{}
		for _, r := range rows {
			byID[r.JobID] = r
		}
		at := func(i int) time.Time { return seedStart.Add(time.Duration(i) * time.Minute) }
		// Job 35: completed without a child job (5 failures), 35%3+1 = 3
		// comments, no reviews.
		got, err := json.Marshal(byID["job-00035"])
		require.NoError(t, err)
		assert.JSONEq(t, `{"job_id":"job-00035","jenkins_url":"https://ci.example/job/35","status":"completed",
			"created_at":"`+at(35).Format(time.RFC3339Nano)+`","completed_at":"`+at(35).Add(30*time.Second).Format(time.RFC3339Nano)+`",
			"analysis_started_at":"`+at(35).Format(time.RFC3339Nano)+`","reviewed_count":0,"comment_count":3,
			"job_name":"folder/job-0","failure_count":5,"summary":"2 CODE ISSUE, 2 PRODUCT BUG, 1 INFRASTRUCTURE"}`, string(got))
		// Job 36: completed with a child job (7 failures, no summary), one
		// review, not reviewed, and no comments.
		assert.Equal(t, DashboardRow{
			JobID: "job-00036", JenkinsURL: "https://ci.example/job/36", Status: JobCompleted,
			CreatedAt: at(36), CompletedAt: ptrTo(at(36).Add(30 * time.Second)), AnalysisStartedAt: ptrTo(at(36)),
			JobName: "folder/job-1", BuildNumber: 1, FailureCount: ptrTo(7),
		}, normalised(byID["job-00036"]))
		// Job 15: 1 comment, 3 of 4 reviews reviewed; build number 0 is
		// left out.
		r15 := byID["job-00015"]
		assert.Equal(t, 1, r15.CommentCount)
		assert.Equal(t, 3, r15.ReviewedCount)
		assert.Equal(t, 5, *r15.FailureCount)
		got, err = json.Marshal(r15)
		require.NoError(t, err)
		assert.NotContains(t, string(got), "build_number")
		// Running and failed jobs have no counters, even with reviews (job
		// 21).
		assert.Equal(t, DashboardRow{
			JobID: "job-00021", JenkinsURL: "https://ci.example/job/21", Status: JobRunning,
			CreatedAt: at(21), AnalysisStartedAt: ptrTo(at(21)), JobName: "folder/job-0", BuildNumber: 1,
		}, normalised(byID["job-00021"]))
		assert.Equal(t, DashboardRow{
			JobID: "job-00022", JenkinsURL: "https://ci.example/job/22", Status: JobFailed,
			CreatedAt: at(22), CompletedAt: ptrTo(at(22).Add(30 * time.Second)), AnalysisStartedAt: ptrTo(at(22)),
			JobName: "folder/job-1", BuildNumber: 2, Error: "analyzer unavailable",
		}, normalised(byID["job-00022"]))

		all, err := svc.Dashboard(ctx, 1000)
		require.NoError(t, err)
		assert.Len(t, all, 41)
		_, err = svc.Dashboard(ctx, 1001)
		assert.Error(t, err)
		empty, err := New(NewBunStore(db.DB), Config{}).Dashboard(ctx, 0)
		require.NoError(t, err)
		assert.Len(t, empty, 41, "default limit 50")
	})
}

func ptrTo[T any](v T) *T { return &v }

// normalised puts a row's times in UTC, as they were stored.
func normalised(r DashboardRow) DashboardRow {
	r.CreatedAt = r.CreatedAt.UTC()
	for _, p := range []**time.Time{&r.CompletedAt, &r.AnalysisStartedAt} {
		if *p != nil {
			*p = ptrTo((**p).UTC())
		}
	}
	return r
}

// BenchmarkDashboard measures GET /api/dashboard's work (its 500 newest
// jobs) with 10,000 jobs stored, on each backend. The per-job queries it
// replaced took 324 ms (SQLite) and 562 ms (PostgreSQL) per call on the
// machine where this took 16 ms and 30 ms.
func BenchmarkDashboard(b *testing.B) {
	for _, backend := range dbtest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			db := dbtest.Open(b, backend.NewURL(b), Migrations())
			seedJobs(b, db.DB, 10_000)
			svc := New(NewBunStore(db.DB), Config{})
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				rows, err := svc.Dashboard(ctx, 500)
				if err != nil || len(rows) != 500 {
					b.Fatal(err, len(rows))
				}
			}
		})
	}
}
