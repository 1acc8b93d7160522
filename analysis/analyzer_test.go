package analysis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
)

func analyseOne(t *testing.T, a Analyzer, f Failure) Detail {
	t.Helper()
	groups := GroupFailures([]Failure{f})
	require.Len(t, groups, 1)
	d, err := a.Analyze(context.Background(), groups[0])
	require.NoError(t, err)
	return d
}

func TestOfflineRules(t *testing.T) {
	t.Parallel()
	a := NewOfflineAnalyzer(nil)
	tests := []struct {
		name    string
		failure Failure
		want    Classification
		rule    string
	}{
		{"connection refused", Failure{Message: "requests.exceptions.ConnectionError: HTTPConnectionPool(host='db', port=5432): Max retries exceeded ([Errno 111] Connection refused)"}, Infrastructure, "connection-refused"},
		{"dns", Failure{Message: "dial tcp: lookup api.internal on 10.0.0.2:53: no such host"}, Infrastructure, "dns"},
		{"timeout", Failure{Message: "context deadline exceeded while waiting for pod to become ready"}, Infrastructure, "timeout"},
		{"oom", Failure{Message: "java.lang.OutOfMemoryError: Java heap space"}, Infrastructure, "out-of-memory"},
		{"disk full", Failure{Message: "OSError: [Errno 28] No space left on device: '/var/lib/docker'"}, Infrastructure, "disk-full"},
		{"host permission", Failure{Message: "PermissionError: [Errno 13] Permission denied: '/etc/hosts'"}, Infrastructure, "host-permission"},
		{"pod", Failure{Message: "Back-off pulling image: ImagePullBackOff for registry.local/app:1.2"}, Infrastructure, "container-pod"},
		{"gateway", Failure{Message: "AssertionError: expected 200 but got 503 Service Unavailable"}, Infrastructure, "gateway-unavailable"},
		{"fixture", Failure{Message: "fixture 'db_session' not found"}, CodeIssue, "fixture-setup"},
		{"import", Failure{Message: "ModuleNotFoundError: No module named 'non_existent_package'"}, CodeIssue, "import-error"},
		{"http 500", Failure{Message: "AssertionError: expected status 200, got 500"}, ProductBug, "http-5xx"},
		{"internal server error", Failure{Message: "HTTPError: 500 Server Error: Internal Server Error for url: http://app/api/orders"}, ProductBug, "http-5xx"},
		{"wrong value", Failure{Message: "expected [1.2.1] but found [1.2.0]", StackTrace: "java.lang.AssertionError: expected [1.2.1] but found [1.2.0]\n\tat org.testng.Assert.fail(Assert.java:99)\n\tat org.apache.pulsar.AddMissingPatchVersionTest.testVersionStrings(AddMissingPatchVersionTest.java:29)"}, ProductBug, "wrong-value"},
		{"attribute error in test", Failure{Message: "AttributeError: 'Client' object has no attribute 'lgoin'", StackTrace: "Traceback (most recent call last):\n  File \"tests/test_login.py\", line 12, in test_login\n    client.lgoin()\nAttributeError: 'Client' object has no attribute 'lgoin'"}, CodeIssue, "name-attribute-type-error"},
		{"type error in product", Failure{Message: "TypeError: unsupported operand", StackTrace: "Traceback (most recent call last):\n  File \"app/billing.py\", line 88, in total\nTypeError: unsupported operand"}, ProductBug, "product-exception"},
		{"assertion helper", Failure{Message: "AssertionError: expected 3 == 4", StackTrace: "Traceback (most recent call last):\n  File \"tests/helpers.py\", line 5, in assert_total\n    assert a == b\nAssertionError"}, CodeIssue, "assertion-helper"},
		{"nothing known", Failure{Message: "it broke"}, CodeIssue, "No rule matched"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.failure.TestName = "tests.t." + tt.name
			d := analyseOne(t, a, tt.failure)
			assert.Equal(t, tt.want, d.Classification, d.Details)
			assert.Contains(t, d.Details, tt.rule)
			assert.Equal(t, []string{tt.failure.TestName}, d.AffectedTests)
			switch tt.want {
			case Infrastructure:
				assert.Nil(t, d.CodeFix)
				assert.Nil(t, d.ProductBugReport)
			case ProductBug:
				require.NotNil(t, d.ProductBugReport)
				assert.NotEmpty(t, d.ProductBugReport.Title)
				assert.Nil(t, d.CodeFix)
			case CodeIssue:
				assert.Nil(t, d.ProductBugReport)
			}
		})
	}
}

func TestOfflineOnRealSamples(t *testing.T) {
	t.Parallel()
	a := NewOfflineAnalyzer(nil)
	tests := []struct {
		file     string
		index    int
		want     Classification
		fixFile  string
		fixLine  string
		bugComp  string
		evidence string
	}{
		// Bazel: import of a missing module.
		{file: "05", index: 0, want: CodeIssue, evidence: "exited with error code 1"},
		// nose2: TypeError raised by the test itself.
		{file: "13", index: 4, want: CodeIssue, fixFile: "nose2/tests/functional/support/scenario/tests_in_package/pkg1/test/test_things.py", fixLine: "13"},
		// jest: error thrown in lib/main.js (product), and in the test.
		{file: "24", index: 1, want: ProductBug, bugComp: `C:\Users\Michal\Workspace\dorny\test-check\reports\jest\lib`},
		{file: "24", index: 2, want: CodeIssue, fixFile: `C:\Users\Michal\Workspace\dorny\test-check\reports\jest\__tests__\main.test.js`, fixLine: "21"},
		// TestNG: wrong value.
		{file: "26", index: 0, want: ProductBug, bugComp: "org.apache.pulsar"},
	}
	for _, tt := range tests {
		rep, err := ParseJUnit(context.Background(), bytes.NewReader(readSample(t, tt.file)), Limits{})
		require.NoError(t, err)
		d := analyseOne(t, a, FailureFromTestCase(rep.Failures[tt.index]))
		assert.Equal(t, tt.want, d.Classification, "%s[%d]: %s", tt.file, tt.index, d.Details)
		if tt.fixFile != "" {
			require.NotNil(t, d.CodeFix, d.Details)
			assert.Equal(t, tt.fixFile, d.CodeFix.File)
			assert.Equal(t, tt.fixLine, d.CodeFix.Line)
		}
		if tt.bugComp != "" {
			require.NotNil(t, d.ProductBugReport)
			assert.Equal(t, tt.bugComp, d.ProductBugReport.Component)
		}
		if tt.evidence != "" {
			assert.Equal(t, tt.evidence, d.ArtifactsEvidence)
		}
	}
}

// TestOfflineLearnsFromOverride: the rules mislabel a hanging product
// endpoint as infrastructure; a human corrects it once; a new, similar
// failure of another test is then predicted right, with the earlier failure
// named as evidence, while an unrelated timeout keeps the rule's label.
func TestOfflineLearnsFromOverride(t *testing.T) {
	t.Parallel()
	index := NewSimilarityIndex(SimilarityConfig{})
	a := NewOfflineAnalyzer(index)
	first := Failure{
		TestName:   "tests.api.test_orders.test_checkout_large_cart",
		Message:    "requests.exceptions.ReadTimeout: HTTPConnectionPool(host='orders-7d9f8c6b5d-x2k4q', port=8080): Read timed out. (read timeout=30) POST /api/v2/orders/checkout",
		StackTrace: "Traceback (most recent call last):\n  File \"tests/api/test_orders.py\", line 77, in test_checkout_large_cart\n    resp = client.post('/api/v2/orders/checkout', json=cart)\n  File \"/usr/lib/python3/site-packages/requests/sessions.py\", line 637, in post\nrequests.exceptions.ReadTimeout",
	}
	before := analyseOne(t, a, first)
	require.Equal(t, Infrastructure, before.Classification, "the rules say timeout")

	require.NoError(t, index.Add(LabeledFailure{
		TestName: first.TestName, Message: first.Message, StackTrace: first.StackTrace,
		Classification: ProductBug, LabeledBy: "alice", JobID: "job-1",
		Note: "checkout hangs for carts over 100 items (ORD-231)",
	}))

	similar := Failure{
		TestName:   "tests.api.test_orders.test_checkout_with_coupon",
		Message:    "requests.exceptions.ReadTimeout: HTTPConnectionPool(host='orders-5c8b7d9f4-q8w2e', port=8080): Read timed out. (read timeout=30) POST /api/v2/orders/checkout",
		StackTrace: "Traceback (most recent call last):\n  File \"tests/api/test_orders.py\", line 91, in test_checkout_with_coupon\n    resp = client.post('/api/v2/orders/checkout', json=cart)\n  File \"/usr/lib/python3/site-packages/requests/sessions.py\", line 637, in post\nrequests.exceptions.ReadTimeout",
	}
	after := analyseOne(t, a, similar)
	assert.Equal(t, ProductBug, after.Classification, after.Details)
	assert.Contains(t, after.Details, "tests.api.test_orders.test_checkout_large_cart")
	assert.Contains(t, after.Details, "alice")
	assert.Contains(t, after.Details, "ORD-231")
	require.NotNil(t, after.ProductBugReport)

	unrelated := Failure{TestName: "tests.db.test_migrate", Message: "psycopg2.OperationalError: could not connect: timeout expired connecting to db-primary"}
	assert.Equal(t, Infrastructure, analyseOne(t, a, unrelated).Classification)

	// A second human decision on the same signature replaces the first.
	require.NoError(t, index.Add(LabeledFailure{TestName: first.TestName, Message: first.Message, StackTrace: first.StackTrace, Classification: CodeIssue}))
	assert.Equal(t, 1, index.Len())
	assert.Equal(t, CodeIssue, analyseOne(t, a, similar).Classification)
}

func TestSimilarityNeedsAgreement(t *testing.T) {
	t.Parallel()
	index := NewSimilarityIndex(SimilarityConfig{})
	msg := "checkout returned wrong total for cart "
	require.NoError(t, index.Add(LabeledFailure{TestName: "a", Message: msg + "alpha", Classification: ProductBug}))
	require.NoError(t, index.Add(LabeledFailure{TestName: "b", Message: msg + "beta", Classification: CodeIssue}))
	p, ok := index.Predict(msg+"gamma", "")
	assert.False(t, ok, "two equally close neighbours disagree: %+v", p)
	assert.Len(t, p.Neighbours, 2)
	assert.InDelta(t, 0.5, p.Agreement, 0.01)

	_, ok = index.Predict("completely different words here", "")
	assert.False(t, ok)

	require.ErrorIs(t, index.Add(LabeledFailure{Message: "x", Classification: "BOGUS"}), errs.ErrInvalid)
}

type sliceSource []LabeledFailure

func (s sliceSource) Examples(context.Context) ([]LabeledFailure, error) { return s, nil }

func TestSimilarityLoad(t *testing.T) {
	t.Parallel()
	index := NewSimilarityIndex(SimilarityConfig{})
	require.NoError(t, index.Load(context.Background(), sliceSource{
		{TestName: "a", Message: "quota service rejected tenant", Classification: ProductBug},
		{TestName: "b", Message: "flaky selenium grid session lost", Classification: Infrastructure},
	}))
	assert.Equal(t, 2, index.Len())
	p, ok := index.Predict("selenium grid session lost", "")
	require.True(t, ok)
	assert.Equal(t, Infrastructure, p.Classification)
}

func TestAnalyzeGroupsPluggableAnalyzers(t *testing.T) {
	t.Parallel()
	groups := GroupFailures([]Failure{{TestName: "a", Message: "x"}, {TestName: "b", Message: "y"}, {TestName: "c", Message: "x"}})
	require.Len(t, groups, 2)
	assert.Equal(t, []string{"a", "c"}, groups[0].TestNames())

	var calls atomic.Int32
	counting := AnalyzerFunc(func(ctx context.Context, g Group) (Detail, error) {
		calls.Add(1)
		return Detail{Classification: Infrastructure, Details: "d", CodeFix: &CodeFix{File: "f"}}, nil
	})
	out, err := AnalyzeGroups(context.Background(), counting, groups, 0)
	require.NoError(t, err)
	assert.Equal(t, int32(2), calls.Load(), "once per group")
	assert.Nil(t, out[0].Detail.CodeFix, "INFRASTRUCTURE carries no code fix")
	assert.Equal(t, []string{"a", "c"}, out[0].Detail.AffectedTests)

	bad := AnalyzerFunc(func(ctx context.Context, g Group) (Detail, error) { return Detail{Classification: "MAYBE"}, nil })
	_, err = AnalyzeGroups(context.Background(), bad, groups, 2)
	assert.Equal(t, errs.Unavailable, errs.KindOf(err))

	boom := errors.New("provider down")
	failing := AnalyzerFunc(func(ctx context.Context, g Group) (Detail, error) { return Detail{}, boom })
	_, err = AnalyzeGroups(context.Background(), failing, groups, 1)
	assert.ErrorIs(t, err, boom)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = AnalyzeGroups(ctx, NewOfflineAnalyzer(nil), groups, 1)
	assert.ErrorIs(t, err, context.Canceled)
}

type debater struct{}

func (debater) Analyze(ctx context.Context, g Group) (Detail, error) {
	return Detail{Classification: CodeIssue}, nil
}

func (debater) AnalyzeWithDebate(ctx context.Context, g Group) (Detail, *PeerDebate, error) {
	return Detail{Classification: ProductBug}, &PeerDebate{ConsensusReached: true, RoundsUsed: 1, MaxRounds: 3}, nil
}

func TestDebateAnalyzerTrailIsKept(t *testing.T) {
	t.Parallel()
	ra, err := AnalyzeFailures(context.Background(), []FailureInput{{TestName: "a", ErrorMessage: "x"}}, Options{Analyzer: debater{}})
	require.NoError(t, err)
	f := ra.Result.Failures[0]
	assert.Equal(t, ProductBug, f.Analysis.Classification)
	require.NotNil(t, f.PeerDebate)
	assert.True(t, f.PeerDebate.ConsensusReached)
}

func TestSimilarityIndexConcurrentUse(t *testing.T) {
	t.Parallel()
	index := NewSimilarityIndex(SimilarityConfig{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			_ = index.Add(LabeledFailure{TestName: "t", Message: fmt.Sprintf("quota exceeded for tenant t%d in region r%d", i, i%7), Classification: Classifications[i%3]})
		}
	}()
	for range 200 {
		index.Predict("quota exceeded for tenant t5 in region r5", "")
	}
	<-done
	p, ok := index.Predict("quota exceeded for tenant t5 in region r5", "")
	require.True(t, ok)
	assert.Equal(t, "t", p.Neighbours[0].Example.TestName)
	assert.Equal(t, 200, index.Len())
}
