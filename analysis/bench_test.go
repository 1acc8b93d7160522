package analysis

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/bugflow/bugflow/internal/dbtest"
)

var (
	bigReportOnce sync.Once
	bigReport     []byte
)

var (
	xmlDecl      = regexp.MustCompile(`(?s)^\s*<\?xml.*?\?>`)
	leadComments = regexp.MustCompile(`(?s)^(\s*<!--.*?-->)+`)
	outerSuites  = regexp.MustCompile(`(?s)^\s*<testsuites[^>]*>(.*)</testsuites>\s*$`)
)

// sampleSuites returns the real samples (UTF-8, parseable) as testsuite
// elements that can be concatenated under one <testsuites> root.
func sampleSuites(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "junit", "*.xml"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := ParseJUnit(context.Background(), bytes.NewReader(b), Limits{}); err != nil {
			continue
		}
		s := leadComments.ReplaceAllString(xmlDecl.ReplaceAllString(string(b), ""), "")
		s = strings.TrimSpace(leadComments.ReplaceAllString(strings.TrimSpace(s), ""))
		if m := outerSuites.FindStringSubmatch(s); m != nil {
			s = m[1]
		}
		out = append(out, s)
	}
	return out
}

// bigJUnit builds a report of at least size bytes by repeating the real
// samples, with the class names made unique per copy.
func bigJUnit(tb testing.TB, size int) []byte {
	tb.Helper()
	suites := sampleSuites(tb)
	var buf bytes.Buffer
	buf.Grow(size + 1<<20)
	buf.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n")
	for i := 0; buf.Len() < size; i++ {
		for _, s := range suites {
			buf.WriteString(strings.ReplaceAll(s, `classname="`, fmt.Sprintf(`classname="c%d.`, i)))
			buf.WriteByte('\n')
		}
	}
	buf.WriteString("</testsuites>\n")
	return buf.Bytes()
}

func big50MB(b *testing.B) []byte {
	bigReportOnce.Do(func() { bigReport = bigJUnit(b, 50<<20) })
	return bigReport
}

// BenchmarkAnalyzeReport50MB: parse, group, analyse offline and enrich a
// 50 MB report built from the real samples (no storage).
func BenchmarkAnalyzeReport50MB(b *testing.B) {
	doc := big50MB(b)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ra, err := AnalyzeReport(context.Background(), bytes.NewReader(doc), Options{ReportURL: "http://r"})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(ra.Result.Failures)), "failures")
		b.ReportMetric(float64(len(ra.Groups)), "groups")
	}
}

// BenchmarkAnalyzeReport50MBNoEnrich is the same without the enriched copy.
func BenchmarkAnalyzeReport50MBNoEnrich(b *testing.B) {
	doc := big50MB(b)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := AnalyzeReport(context.Background(), bytes.NewReader(doc), Options{SkipEnrichedXML: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanJUnit50MB is the streaming parse alone.
func BenchmarkScanJUnit50MB(b *testing.B) {
	doc := big50MB(b)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := ScanJUnit(context.Background(), bytes.NewReader(doc), Limits{}, func(TestCase) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

var groupTemplates = []string{
	"ConnectionError: connection refused by db-%d at %s (req %s)",
	"AssertionError: expected status 200, got 500 from /api/orders/%d at %s req %s",
	"ModuleNotFoundError: No module named 'plugin_%d' (%s, %s)",
	"expected [1.2.%d] but found [1.2.0] at %s id %s",
	"ReadTimeout: service-%d timed out at %s request %s",
	"TypeError: cannot read property 'field%d' of undefined at %s %s",
	"it broke in step %d at %s run %s",
	"OSError: [Errno 28] No space left on device: '/data/vol%d' at %s %s",
}

// manyFailures returns n failures in groups signature groups; members of a
// group differ only in timestamps and UUIDs.
func manyFailures(n, groups int) []FailureInput {
	out := make([]FailureInput, n)
	for i := range out {
		g := i % groups
		tmpl := groupTemplates[g%len(groupTemplates)]
		ts := fmt.Sprintf("2026-11-%02dT10:%02d:%02dZ", 1+i%28, i%60, (i/60)%60)
		uuid := fmt.Sprintf("%08x-1111-2222-3333-%012x", i, i*7)
		out[i] = FailureInput{
			TestName:     fmt.Sprintf("tests.mod%d.test_%d", g, i),
			ErrorMessage: fmt.Sprintf(tmpl, g, ts, uuid),
			StackTrace: fmt.Sprintf("Traceback (most recent call last):\n  File \"tests/mod%d/test_x.py\", line %d, in test\n    run()\n  File \"/usr/lib/python3.12/site-packages/lib/core.py\", line %d, in run\n",
				g, 10+g, 100+i%50),
		}
	}
	return out
}

// BenchmarkAnalyze10kFailures200Groups: signatures, grouping and offline
// analysis of 10,000 failures in 200 groups.
func BenchmarkAnalyze10kFailures200Groups(b *testing.B) {
	inputs := manyFailures(10_000, 200)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ra, err := AnalyzeFailures(context.Background(), inputs, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(ra.Groups) != 200 {
			b.Fatalf("got %d groups", len(ra.Groups))
		}
	}
}

// BenchmarkAnalyze10kFailures200GroupsLearning is the same with 1,000
// human-labelled failures in the similarity index.
func BenchmarkAnalyze10kFailures200GroupsLearning(b *testing.B) {
	inputs := manyFailures(10_000, 200)
	index := NewSimilarityIndex(SimilarityConfig{})
	for i, in := range manyFailures(1000, 1000) {
		ex := LabeledFailure{TestName: in.TestName, Message: in.ErrorMessage + fmt.Sprintf(" variant %d", i), StackTrace: in.StackTrace, Classification: Classifications[i%3]}
		if err := index.Add(ex); err != nil {
			b.Fatal(err)
		}
	}
	opts := Options{Analyzer: NewOfflineAnalyzer(index)}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := AnalyzeFailures(context.Background(), inputs, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignature(b *testing.B) {
	in := manyFailures(1, 1)[0]
	b.ReportAllocs()
	for b.Loop() {
		_ = Signature(in.ErrorMessage, in.StackTrace)
	}
}

// BenchmarkAnalyzeAndStore50MB is the whole path of a 50 MB report: parse,
// group, analyse offline, enrich, and store the result and one history row
// per test outcome (passes included), on each backend.
func BenchmarkAnalyzeAndStore50MB(b *testing.B) {
	doc := big50MB(b)
	for _, backend := range dbtest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			db := dbtest.Open(b, backend.NewURL(b), Migrations())
			svc := New(NewBunStore(db.DB), Config{})
			ctx := context.Background()
			b.SetBytes(int64(len(doc)))
			i := 0
			for b.Loop() {
				ra, err := AnalyzeReport(ctx, bytes.NewReader(doc), Options{Analyzer: svc.Analyzer(), ReportURL: "http://r"})
				if err != nil {
					b.Fatal(err)
				}
				if err := svc.RecordAnalysis(ctx, RecordInput{JobID: fmt.Sprintf("bench-%d", i), JobName: "bench"}, ra); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(len(ra.Outcomes)), "outcomes")
				i++
			}
		})
	}
}
