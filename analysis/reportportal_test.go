package analysis

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/analysis/integrations"
	"github.com/bugflow/bugflow/analysis/integrations/fake"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

const rpToken = "33ccSECRETreportportalkey"

func TestPushReportPortal(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		jk := fake.NewJenkins(t, ciUser, ciToken)
		f := newBuilds(t, db, JenkinsConfig{URL: jk.URL, User: ciUser, Password: ciToken})
		id, _ := f.run(t, `{"job_name": "folder/job-name", "build_number": 123}`)
		_, res := f.result(t, id)
		classOf := map[string]Classification{}
		for _, fa := range res.Failures {
			classOf[fa.TestName] = fa.Analysis.Classification
		}

		rp := fake.NewReportPortal(t, rpToken)
		cfg := TrackerConfig{PublicBaseURL: "https://bugflow.example.com", HTTP: quick,
			ReportPortal: ReportPortalConfig{URL: rp.URL, Project: "tests", Token: rpToken}}
		tr := NewTrackers(f.svc, cfg)
		assert.True(t, tr.Capabilities().ReportPortal)
		assert.Equal(t, "tests", tr.Capabilities().ReportPortalProject)

		out, err := tr.PushReportPortal(ctx, id, "", 0)
		require.NoError(t, err)
		assert.Equal(t, 2, out.Pushed)
		assert.Equal(t, []string{"test_unmapped"}, out.Unmatched)
		assert.Empty(t, out.Errors)
		require.NotNil(t, out.LaunchID)
		assert.Equal(t, int64(1042), *out.LaunchID)

		q, err := url.ParseQuery(rp.Queries("GET /api/v1/tests/launch")[0])
		require.NoError(t, err)
		assert.Equal(t, "https://jenkins.example.com/job/folder/job/job-name/123/", q.Get("filter.cnt.description"), "the launch is found by build URL")
		q, err = url.ParseQuery(rp.Queries("GET /api/v1/tests/item")[0])
		require.NoError(t, err)
		assert.Equal(t, "1042", q.Get("filter.eq.launchId"))
		assert.Equal(t, "FAILED", q.Get("filter.eq.status"))

		bodies := rp.Bodies("PUT /api/v1/tests/item")
		require.Len(t, bodies, 1, "one bulk update")
		var sent struct {
			Issues []struct {
				TestItemID int64 `json:"testItemId"`
				Issue      struct {
					IssueType string `json:"issueType"`
					Comment   string `json:"comment"`
				} `json:"issue"`
			} `json:"issues"`
		}
		require.NoError(t, json.Unmarshal([]byte(bodies[0]), &sent))
		require.Len(t, sent.Issues, 2)
		assert.Equal(t, int64(5001), sent.Issues[0].TestItemID, "dotted suffix: test_admin_login")
		assert.Equal(t, DefectTypes[classOf["tests.api.test_login.test_admin_login"]], sent.Issues[0].Issue.IssueType)
		assert.Equal(t, int64(5002), sent.Issues[1].TestItemID, "exact name")
		assert.Equal(t, "si001", sent.Issues[1].Issue.IssueType, "INFRASTRUCTURE (connection refused)")
		assert.Contains(t, sent.Issues[1].Issue.Comment, "https://bugflow.example.com/results/"+id)

		// A child job's failures go to its own launch.
		_, err = tr.PushReportPortal(ctx, id, "pipeline/component-tests", 42)
		require.NoError(t, err)
		q, _ = url.ParseQuery(rp.Queries("GET /api/v1/tests/launch")[1])
		assert.Equal(t, "https://jenkins.example.com/job/pipeline/job/component-tests/42/", q.Get("filter.cnt.description"))
		_, err = tr.PushReportPortal(ctx, id, "pipeline/nope", 1)
		assert.ErrorIs(t, err, errs.ErrNotFound)

		// No launch: reported, nothing updated.
		rp.Script("GET /api/v1/tests/launch", fake.Answer{Status: 200, Body: fake.Fixture("reportportal_launches_empty.json")})
		out, err = tr.PushReportPortal(ctx, id, "", 0)
		require.NoError(t, err)
		assert.Nil(t, out.LaunchID)
		assert.Zero(t, out.Pushed)
		require.Len(t, out.Errors, 1)
		assert.Contains(t, out.Errors[0], "no Report Portal launch")

		// Failing bulk update: reported in errors with the status.
		rp.Script("PUT /api/v1/tests/item", fake.Answer{Status: 500, Body: []byte(`{"errorCode": 5000, "message": "Unclassified error"}`)})
		out, err = tr.PushReportPortal(ctx, id, "", 0)
		require.NoError(t, err)
		assert.Zero(t, out.Pushed)
		require.Len(t, out.Errors, 1)
		assert.Contains(t, out.Errors[0], "HTTP 500")

		// A rejected key: 200 with the error, never the key.
		bad := TrackerConfig{PublicBaseURL: "https://bugflow.example.com", HTTP: quick,
			ReportPortal: ReportPortalConfig{URL: rp.URL, Project: "tests", Token: "WRONGkey123"}}
		out, err = NewTrackers(f.svc, bad).PushReportPortal(ctx, id, "", 0)
		require.NoError(t, err)
		require.Len(t, out.Errors, 1)
		assert.Contains(t, out.Errors[0], "HTTP 401")
		assert.False(t, fake.HasSecret(out.Errors[0], "WRONGkey123", rpToken))

		// Off, bad scope, no public address: 400s.
		for _, c := range []struct {
			cfg         TrackerConfig
			child       string
			childNumber int
		}{
			{TrackerConfig{PublicBaseURL: "https://b.example.com", ReportPortal: ReportPortalConfig{URL: rp.URL, Project: "tests"}}, "", 0},
			{cfg, "pipeline/component-tests", 0},
			{cfg, "", 42},
			{TrackerConfig{ReportPortal: cfg.ReportPortal}, "", 0},
		} {
			_, err := NewTrackers(f.svc, c.cfg).PushReportPortal(ctx, id, c.child, c.childNumber)
			require.ErrorIs(t, err, errs.ErrInvalid)
			assert.Empty(t, errs.As(err).Fields)
		}
		_, err = tr.PushReportPortal(ctx, "no-such-job", "", 0)
		assert.ErrorIs(t, err, errs.ErrNotFound)
	})
}

func TestMatchItemNeedsOneCandidate(t *testing.T) {
	t.Parallel()
	failures := []FailureAnalysis{{TestName: "a.suite.test_x"}, {TestName: "b.suite.test_x"}, {TestName: "c.test_y"}}
	_, ok := matchItem(failures, integrations.TestItem{Name: "test_x"})
	assert.False(t, ok, "two failures end in .test_x: no guess")
	f, ok := matchItem(failures, integrations.TestItem{Name: "test_y"})
	assert.True(t, ok)
	assert.Equal(t, "c.test_y", f.TestName)
	f, ok = matchItem(failures, integrations.TestItem{Name: "root.c.test_y"})
	assert.True(t, ok, "the item's name may be the longer one")
	assert.Equal(t, "c.test_y", f.TestName)
	_, ok = matchItem(failures, integrations.TestItem{Name: "test_y2"})
	assert.False(t, ok, "a suffix is a whole dotted part")
	f, ok = matchItem(failures, integrations.TestItem{Name: "a.suite.test_x"})
	assert.True(t, ok, "exact wins over suffix")
	assert.Equal(t, "a.suite.test_x", f.TestName)
}
