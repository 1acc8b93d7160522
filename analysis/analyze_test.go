package analysis

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
)

func TestAnalyzeReportGroupsAndEnriches(t *testing.T) {
	t.Parallel()
	// Two tests fail the same way (differing only in a UUID and a time),
	// one fails differently, one passes.
	doc := `<?xml version="1.0"?>
<testsuite name="api">
  <testcase classname="tests.api" name="test_a"><failure message="ConnectionError: connection refused by db at 2026-01-01T10:00:00Z (req 9f5d0a0c-32c0-4f3f-b5c4-3a5c3d35d4d0)"/></testcase>
  <testcase classname="tests.api" name="test_b"><failure message="ConnectionError: connection refused by db at 2026-01-02T11:30:00Z (req 11111111-2222-3333-4444-555555555555)"/></testcase>
  <testcase classname="tests.api" name="test_c"><failure message="AssertionError: expected status 200, got 500"/></testcase>
  <testcase classname="tests.api" name="test_d"/>
</testsuite>`
	var calls int
	counting := NewOfflineAnalyzer(nil)
	a := AnalyzerFunc(func(ctx context.Context, g Group) (Detail, error) {
		calls++
		return counting.Analyze(ctx, g)
	})
	ra, err := AnalyzeReport(context.Background(), strings.NewReader(doc), Options{Analyzer: a, ReportURL: "https://bugflow.example/results/j1", Concurrency: 1})
	require.NoError(t, err)
	assert.Equal(t, 2, calls, "analysed once per signature group")
	require.Len(t, ra.Groups, 2)
	res := ra.Result
	assert.Equal(t, StatusCompleted, res.Status)
	assert.Equal(t, "1 PRODUCT BUG, 2 INFRASTRUCTURE", res.Summary)
	require.Len(t, res.Failures, 3)
	assert.Equal(t, "tests.api.test_a", res.Failures[0].TestName)
	assert.Equal(t, res.Failures[0].ErrorSignature, res.Failures[1].ErrorSignature)
	assert.NotEqual(t, res.Failures[0].ErrorSignature, res.Failures[2].ErrorSignature)
	assert.Equal(t, Infrastructure, res.Failures[1].Analysis.Classification)
	assert.Equal(t, []string{"tests.api.test_a", "tests.api.test_b"}, res.Failures[1].Analysis.AffectedTests)
	assert.Equal(t, ProductBug, res.Failures[2].Analysis.Classification)
	assert.Equal(t, Counts{Tests: 4, Passed: 1, Failed: 3}, ra.Counts)
	assert.Len(t, ra.Outcomes, 4)

	require.NotNil(t, res.EnrichedXML)
	root := parseDOM(t, []byte(*res.EnrichedXML))
	assert.Equal(t, "https://bugflow.example/results/j1", root.props()["report_url"])
	assert.Equal(t, "INFRASTRUCTURE", root.children("testcase")[1].props()["ai_classification"])
	assert.Empty(t, root.children("testcase")[3].props(), "the passing test is untouched")

	// The result has the seeds/001 FailureAnalysisResult shape.
	b, err := json.Marshal(res)
	require.NoError(t, err)
	var shape map[string]any
	require.NoError(t, json.Unmarshal(b, &shape))
	for _, k := range []string{"job_id", "status", "summary", "ai_provider", "ai_model", "failures", "enriched_xml"} {
		assert.Contains(t, shape, k)
	}
	f0 := shape["failures"].([]any)[0].(map[string]any)
	for _, k := range []string{"test_name", "error", "analysis", "error_signature"} {
		assert.Contains(t, f0, k)
	}
	assert.Empty(t, res.AIProvider, "a plain AnalyzerFunc does not describe itself")
}

func TestAnalyzeReportWithoutFailuresReturnsInput(t *testing.T) {
	t.Parallel()
	original := readSample(t, "09")
	ra, err := AnalyzeReport(context.Background(), bytes.NewReader(original), Options{ReportURL: "http://r"})
	require.NoError(t, err)
	assert.Equal(t, StatusCompleted, ra.Result.Status)
	assert.Empty(t, ra.Result.Failures)
	assert.NotNil(t, ra.Result.Failures, "an empty list, not null")
	assert.Equal(t, "No failures found", ra.Result.Summary)
	require.NotNil(t, ra.Result.EnrichedXML)
	assert.Equal(t, string(original), *ra.Result.EnrichedXML)
	assert.Equal(t, 109, ra.Counts.Passed)
	assert.Equal(t, "bugflow", ra.Result.AIProvider)
	assert.Equal(t, "offline-rules-v1", ra.Result.AIModel)
}

func TestAnalyzeReportRefusesBadInput(t *testing.T) {
	t.Parallel()
	_, err := AnalyzeReport(context.Background(), bytes.NewReader(readSample(t, "08")), Options{})
	assert.Equal(t, errs.Invalid, errs.KindOf(err))
	_, err = AnalyzeReport(context.Background(), bytes.NewReader(readSample(t, "20")), Options{})
	assert.Equal(t, errs.Invalid, errs.KindOf(err))
	assert.Contains(t, err.Error(), "DTD")
	_, err = AnalyzeReport(context.Background(), bytes.NewReader(readSample(t, "01")), Options{Limits: Limits{MaxBytes: 1000}})
	assert.Equal(t, errs.TooLarge, errs.KindOf(err))
	_, err = AnalyzeReport(context.Background(), bytes.NewReader(readSample(t, "01")), Options{Limits: Limits{MaxBytes: 1000}, SkipEnrichedXML: true})
	assert.Equal(t, errs.TooLarge, errs.KindOf(err))
}

func TestAnalyzeReportFlakyEvidence(t *testing.T) {
	t.Parallel()
	// File 29 repeats one test: pass, failure, error.
	ra, err := AnalyzeReport(context.Background(), bytes.NewReader(readSample(t, "29")), Options{SkipEnrichedXML: true})
	require.NoError(t, err)
	require.Len(t, ra.Result.Failures, 2)
	assert.Contains(t, ra.Result.Failures[0].Analysis.Details, "Flaky: the same test also passed in this report")
	assert.Nil(t, ra.Result.EnrichedXML)

	// History-based evidence from DetectFlaky.
	ra, err = AnalyzeFailures(context.Background(), []FailureInput{{TestName: "t.x", ErrorMessage: "boom"}, {TestName: "t.y", ErrorMessage: "boom"}},
		Options{KnownFlaky: []FlakyTest{{JobName: "nightly", TestName: "t.y", Passes: 3, Failures: 1}}})
	require.NoError(t, err)
	assert.NotContains(t, ra.Result.Failures[0].Analysis.Details, "Flaky")
	assert.Contains(t, ra.Result.Failures[1].Analysis.Details, "Flaky: in job nightly it failed 1 time and passed 3 times")
}

func TestAnalyzeFailuresInput(t *testing.T) {
	t.Parallel()
	ra, err := AnalyzeFailures(context.Background(), []FailureInput{{
		TestName:   "tests.api.test_login.test_admin_login",
		StackTrace: "Traceback (most recent call last):\n  File \"tests/api/test_login.py\", line 9, in test_admin_login\n    from auth import admin\nModuleNotFoundError: No module named 'auth'",
	}}, Options{})
	require.NoError(t, err)
	f := ra.Result.Failures[0]
	assert.Equal(t, "Traceback (most recent call last):", f.Error, "message defaults to the first line of the trace")
	assert.Equal(t, CodeIssue, f.Analysis.Classification)
	require.NotNil(t, f.Analysis.CodeFix)
	assert.Equal(t, CodeFix{File: "tests/api/test_login.py", Line: "9", Change: "Correct the import or add the missing dependency to the test environment."}, *f.Analysis.CodeFix)
	assert.Nil(t, ra.Result.EnrichedXML)

	_, err = AnalyzeFailures(context.Background(), []FailureInput{{TestName: " "}}, Options{})
	require.Error(t, err)
	assert.Equal(t, []string{"failures[0].test_name"}, errs.As(err).FieldNames())
}

func TestParseClassification(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Classification{"code issue": CodeIssue, "PRODUCT_BUG": ProductBug, " infrastructure ": Infrastructure, "Product-Bug": ProductBug} {
		got, err := ParseClassification(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got)
	}
	_, err := ParseClassification("FLAKY")
	assert.Equal(t, errs.Invalid, errs.KindOf(err))
}

func TestAnalyzeCapsAffectedTests(t *testing.T) {
	t.Parallel()
	var in []FailureInput
	for i := range 25 {
		in = append(in, FailureInput{TestName: fmt.Sprintf("t.%02d", i), ErrorMessage: fmt.Sprintf("connection refused at 2026-01-01T00:00:%02dZ", i)})
	}
	ra, err := AnalyzeFailures(context.Background(), in, Options{})
	require.NoError(t, err)
	require.Len(t, ra.Groups, 1)
	require.Len(t, ra.Result.Failures, 25)
	d := ra.Result.Failures[24].Analysis
	assert.Len(t, d.AffectedTests, MaxAffectedTests)
	assert.Equal(t, "t.00", d.AffectedTests[0])
	assert.Contains(t, d.Details, "25 tests share this failure signature")
}
