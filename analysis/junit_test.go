package analysis

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
)

func readSample(t testing.TB, prefix string) []byte {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join("testdata", "junit", prefix+"-*.xml"))
	require.NoError(t, err)
	require.Len(t, matches, 1, "sample %s", prefix)
	b, err := os.ReadFile(matches[0])
	require.NoError(t, err)
	return b
}

// TestParseJUnitSamples checks every real report in testdata/junit. The
// expected numbers were counted by hand from each file (one testcase entry =
// one outcome; failure > error > skipped > passed; unnamed testcases are
// ignored; status="disabled" counts as skipped; an <error> directly in a
// <testsuite> is one errored test named after the suite).
func TestParseJUnitSamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file    string
		want    Counts
		invalid string // substring of the errs.Invalid message
		check   func(t *testing.T, rep *Report)
	}{
		{file: "01", want: Counts{Tests: 5, Passed: 3, Failed: 1, Skipped: 1}, check: func(t *testing.T, rep *Report) {
			f := rep.Failures[0]
			assert.Equal(t, "test.test_spark.SparkTests.test_rsh_events", f.TestName)
			assert.True(t, strings.HasPrefix(f.Message, "self = <test_spark.SparkTests testMethod=test_rsh_events>"), f.Message)
			assert.Contains(t, f.StackTrace, "E AssertionError: 143 != 0")
		}},
		{file: "02", want: Counts{Tests: 5, Passed: 5}},
		{file: "03", want: Counts{Tests: 7, Passed: 1, Failed: 2, Errors: 2, Skipped: 2}, check: func(t *testing.T, rep *Report) {
			assert.Equal(t, "test 4", rep.Failures[0].TestName)
			assert.Equal(t, "Some unsupported unicode characters: 헴䜝헱홐㣇㿷䔭𒍺𡓿𠄉㦓", rep.Failures[0].Message)
			assert.Equal(t, "test 1 헴䜝헱홐㣇㿷䔭𒍺𡓿𠄉㦓", rep.Outcomes[0].TestName)
		}},
		{file: "04", want: Counts{Tests: 4, Failed: 1, Errors: 1, Skipped: 2}, check: func(t *testing.T, rep *Report) {
			assert.Equal(t, "Test with 'apostrophe' in the test name", rep.Failures[0].TestName)
			assert.Equal(t, "A message with 'apostrophes'", rep.Failures[0].Message)
			assert.Equal(t, "Test with & in the test name", rep.Failures[1].TestName)
			assert.Equal(t, Errored, rep.Failures[1].Outcome)
		}},
		{file: "05", want: Counts{Tests: 1, Errors: 1}, check: func(t *testing.T, rep *Report) {
			assert.Equal(t, "bazel/failing_absl_test", rep.Failures[0].TestName)
			assert.Equal(t, "exited with error code 1", rep.Failures[0].Message)
			assert.Empty(t, rep.Failures[0].StackTrace)
		}},
		{file: "06", want: Counts{Tests: 4, Passed: 1, Failed: 2, Skipped: 1}, check: func(t *testing.T, rep *Report) {
			assert.Equal(t, "test class.test that errors", rep.Failures[0].TestName)
			assert.Equal(t, Failed, rep.Failures[0].Outcome, "failure wins over error and skipped")
			assert.Equal(t, "test failure", rep.Failures[0].Message)
		}},
		{file: "07", want: Counts{Ignored: 4}},
		{file: "08", invalid: "line"},
		{file: "09", want: Counts{Tests: 109, Passed: 109}},
		{file: "10", want: Counts{Tests: 31, Passed: 6, Failed: 19, Errors: 1, Skipped: 5}, check: func(t *testing.T, rep *Report) {
			assert.Equal(t, "factorial_of_value_from_fixture", rep.Failures[0].TestName)
			assert.Equal(t, "/home/ivan/prj/tst/tests/failed/main.cpp:72: error: check_eq(3628800, 3628801)", rep.Failures[0].Message)
		}},
		{file: "11", want: Counts{Tests: 1, Failed: 1}, check: func(t *testing.T, rep *Report) {
			f := rep.Failures[0]
			assert.Equal(t, "com.example.FooTest.testStdoutStderr", f.TestName)
			assert.Equal(t, "java.lang.AssertionError", f.Message, "no message attribute: first non-blank line of the text")
			assert.Equal(t, "java.lang.AssertionError", f.Type)
		}},
		{file: "12", want: Counts{Tests: 7, Passed: 4, Failed: 3}, check: func(t *testing.T, rep *Report) {
			assert.Equal(t, `SampleTest.testB with data set "bool"`, rep.Failures[0].TestName)
			assert.Equal(t, `SampleTest::testB with data set "bool" (false)`, rep.Failures[0].Message)
		}},
		{file: "13", want: Counts{Tests: 25, Passed: 18, Failed: 5, Errors: 1, Skipped: 1}, check: func(t *testing.T, rep *Report) {
			assert.Contains(t, testNames(rep), "test_fixt", "empty classname: the name alone")
			assert.Equal(t, "pkg1.test.test_things.SomeTests.test_typeerr", rep.Failures[4].TestName)
			assert.Equal(t, Errored, rep.Failures[4].Outcome)
		}},
		{file: "14", want: Counts{Ignored: 1}},
		{file: "15", want: Counts{Tests: 1, Passed: 1, Flaky: 1}, check: func(t *testing.T, rep *Report) {
			assert.Equal(t, TestOutcome{TestName: "io.olamy.FlakyTest.testApp", Outcome: Passed, Flaky: true}, rep.Outcomes[0])
		}},
		{file: "16", want: Counts{Tests: 1, Failed: 1}, check: func(t *testing.T, rep *Report) {
			assert.Equal(t, 3, rep.Failures[0].Reruns)
			assert.False(t, rep.Failures[0].Flaky)
			assert.Equal(t, "built to fail", rep.Failures[0].Message)
		}},
		{file: "17", want: Counts{Tests: 2, Passed: 1, Failed: 1}},
		{file: "18", want: Counts{Tests: 3, Passed: 2, Errors: 1}, check: func(t *testing.T, rep *Report) {
			f := rep.Failures[0]
			assert.True(t, f.SuiteLevel)
			assert.Equal(t, "test.3rdlevel", f.TestName)
			assert.Equal(t, "bla bla", f.Message)
			assert.Contains(t, f.StackTrace, "at test.Test(Test:35)")
		}},
		{file: "19", want: Counts{Tests: 1, Skipped: 1}},
		{file: "20", invalid: "DTD"},
		{file: "21", want: Counts{Tests: 11, Passed: 6, Failed: 4, Skipped: 1}, check: func(t *testing.T, rep *Report) {
			assert.Equal(t, "package/subtests.TestSubtests", rep.Failures[0].TestName)
			assert.Equal(t, "Failed", rep.Failures[0].Message)
		}},
		{file: "22", want: Counts{Tests: 1, Failed: 1}, check: func(t *testing.T, rep *Report) {
			assert.Contains(t, rep.Failures[0].StackTrace, "WARNING: DATA RACE")
		}},
		{file: "23", want: Counts{Tests: 60, Passed: 42, Failed: 13, Skipped: 5}, check: func(t *testing.T, rep *Report) {
			assert.Equal(t, "TestMain", rep.Failures[0].TestName)
			assert.Contains(t, rep.Failures[0].StackTrace, "FAIL\tgotest.tools/gotestsum/testjson/internal/badmain\t0.001s\n")
		}},
		{file: "24", want: Counts{Tests: 6, Passed: 1, Failed: 4, Skipped: 1}, check: func(t *testing.T, rep *Report) {
			assert.Equal(t, "Test 1 › Test 1.1.Failing test", rep.Failures[0].TestName)
			assert.Equal(t, "Error: expect(received).toBeTruthy()", rep.Failures[0].Message)
			assert.Equal(t, "Timeout test", rep.Failures[3].TestName)
		}},
		{file: "25", want: Counts{Tests: 10, Passed: 6, Failed: 2, Skipped: 2}},
		{file: "26", want: Counts{Tests: 2, Failed: 1, Skipped: 1}, check: func(t *testing.T, rep *Report) {
			assert.Equal(t, "org.apache.pulsar.AddMissingPatchVersionTest.testVersionStrings", rep.Outcomes[0].TestName)
			assert.Equal(t, rep.Outcomes[0].TestName, rep.Outcomes[1].TestName)
		}},
		{file: "27", want: Counts{Tests: 3, Passed: 2, Failed: 1}},
		{file: "28", want: Counts{Tests: 1, Failed: 1}, check: func(t *testing.T, rep *Report) {
			assert.Equal(t, "test/unit/detail/utility/is_constant_evaluated.cpp", rep.Failures[0].File)
			assert.Equal(t, "19", rep.Failures[0].Line)
		}},
		{file: "29", want: Counts{Tests: 3, Passed: 1, Failed: 1, Errors: 1}, check: func(t *testing.T, rep *Report) {
			require.Len(t, rep.Failures, 2)
			assert.Equal(t, "later failure", rep.Failures[0].Message)
			assert.Equal(t, "later error", rep.Failures[1].Message)
		}},
		{file: "30", want: Counts{Tests: 4, Passed: 1, Failed: 2, Skipped: 1}, check: func(t *testing.T, rep *Report) {
			assert.Equal(t, 3, rep.Failures[0].Failures)
			assert.Equal(t, "First assertion failed", rep.Failures[0].Message)
			assert.NotContains(t, rep.Failures[0].StackTrace, "Second")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			rep, err := ParseJUnit(context.Background(), bytes.NewReader(readSample(t, tt.file)), Limits{})
			if tt.invalid != "" {
				require.Error(t, err)
				assert.Equal(t, errs.Invalid, errs.KindOf(err), err.Error())
				assert.Contains(t, errs.As(err).Message, tt.invalid)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, rep.Counts)
			assert.Len(t, rep.Outcomes, tt.want.Tests)
			assert.Len(t, rep.Failures, tt.want.Failed+tt.want.Errors)
			if tt.check != nil {
				tt.check(t, rep)
			}
		})
	}
}

func testNames(rep *Report) []string {
	var names []string
	for _, o := range rep.Outcomes {
		names = append(names, o.TestName)
	}
	return names
}

func TestParseJUnitRefusals(t *testing.T) {
	t.Parallel()
	many := "<testsuite>" + strings.Repeat(`<testcase name="a"/>`, 50) + "</testsuite>"
	deep := strings.Repeat("<testsuite>", 70) + strings.Repeat("</testsuite>", 70)
	tests := []struct {
		name string
		xml  string
		lim  Limits
		kind errs.Kind
		msg  string
	}{
		{"empty", "", Limits{}, errs.Invalid, "no root element"},
		{"not junit", `<html><body/></html>`, Limits{}, errs.Invalid, "root element is <html>"},
		{"internal DTD", `<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaa">]><testsuite><testcase name="&a;"/></testsuite>`, Limits{}, errs.Invalid, "DTD"},
		{"external DTD", `<!DOCTYPE testsuite SYSTEM "http://127.0.0.1:1/x.dtd"><testsuite/>`, Limits{}, errs.Invalid, "DTD"},
		{"unclosed", `<testsuite><testcase name="a">`, Limits{}, errs.Invalid, "line 1"},
		{"mismatched", `<testsuite><testcase name="a"></testsuite>`, Limits{}, errs.Invalid, "line 1"},
		{"unknown encoding", `<?xml version="1.0" encoding="UTF-16"?><testsuite/>`, Limits{}, errs.Invalid, "encoding"},
		{"too many bytes", many, Limits{MaxBytes: 100}, errs.TooLarge, "larger than 100 bytes"},
		{"too many elements", many, Limits{MaxElements: 20}, errs.TooLarge, "more than 20 elements"},
		{"too deep", deep, Limits{}, errs.Invalid, "deeper than 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseJUnit(context.Background(), strings.NewReader(tt.xml), tt.lim)
			require.Error(t, err)
			assert.Equal(t, tt.kind, errs.KindOf(err), err.Error())
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestParseJUnitLatin1AndBOM(t *testing.T) {
	t.Parallel()
	latin1 := []byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><testsuite><testcase classname=\"c\" name=\"caf\xe9\"><failure message=\"na\xefve\"/></testcase></testsuite>")
	rep, err := ParseJUnit(context.Background(), bytes.NewReader(latin1), Limits{})
	require.NoError(t, err)
	require.Len(t, rep.Failures, 1)
	assert.Equal(t, "c.café", rep.Failures[0].TestName)
	assert.Equal(t, "naïve", rep.Failures[0].Message)

	cp1252 := []byte("<?xml version=\"1.0\" encoding=\"windows-1252\"?><testsuite><testcase name=\"q\"><failure message=\"\x93quoted\x94 \x80 5\"/></testcase></testsuite>")
	rep, err = ParseJUnit(context.Background(), bytes.NewReader(cp1252), Limits{})
	require.NoError(t, err)
	assert.Equal(t, "\u201cquoted\u201d € 5", rep.Failures[0].Message)

	bom := append([]byte{0xEF, 0xBB, 0xBF}, `<testsuite><testcase name="x"/></testsuite>`...)
	rep, err = ParseJUnit(context.Background(), bytes.NewReader(bom), Limits{})
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Counts.Passed)
}

func TestParseJUnitCapsFailureText(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("é", 100)
	doc := `<testsuite><testcase name="x"><failure>` + body + `</failure></testcase></testsuite>`
	rep, err := ParseJUnit(context.Background(), strings.NewReader(doc), Limits{MaxTextBytes: 51})
	require.NoError(t, err)
	assert.Equal(t, strings.Repeat("é", 25), rep.Failures[0].StackTrace, "cut at the cap without splitting a rune")
}

func TestScanJUnitStopsOnCallbackError(t *testing.T) {
	t.Parallel()
	doc := `<testsuite><testcase name="a"/><testcase name="b"/></testsuite>`
	calls := 0
	_, err := ScanJUnit(context.Background(), strings.NewReader(doc), Limits{}, func(TestCase) error {
		calls++
		return errs.Conflictf("stop")
	})
	require.Error(t, err)
	assert.Equal(t, errs.Conflict, errs.KindOf(err))
	assert.Equal(t, 1, calls)
}

func FuzzParseJUnit(f *testing.F) {
	entries, err := filepath.Glob(filepath.Join("testdata", "junit", "*.xml"))
	require.NoError(f, err)
	for _, e := range entries {
		b, err := os.ReadFile(e)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := ParseJUnit(context.Background(), bytes.NewReader(data), Limits{MaxBytes: 1 << 20})
		if err != nil {
			k := errs.KindOf(err)
			if k != errs.Invalid && k != errs.TooLarge {
				t.Fatalf("unexpected error kind %v: %v", k, err)
			}
			return
		}
		c := rep.Counts
		if c.Tests != c.Passed+c.Failed+c.Errors+c.Skipped || len(rep.Outcomes) != c.Tests {
			t.Fatalf("inconsistent counts %+v with %d outcomes", c, len(rep.Outcomes))
		}
		// Enrichment of anything the parser accepts must stay well-formed.
		out, err := EnrichXML(context.Background(), data, fakeAnalyses(rep), EnrichOptions{ReportURL: "http://x/r?a=1&b=2"})
		if err != nil {
			t.Fatalf("enrich accepted report: %v", err)
		}
		if _, err := ParseJUnit(context.Background(), bytes.NewReader(out), Limits{}); err != nil {
			t.Fatalf("enriched report does not parse: %v\n%s", err, out)
		}
	})
}

// genReport streams a report of n failing testcases without ever holding
// it in memory.
type genReport struct {
	n, i int
	buf  []byte
	done bool
}

func (g *genReport) Read(p []byte) (int, error) {
	for len(g.buf) == 0 {
		switch {
		case g.done:
			return 0, io.EOF
		case g.i == 0:
			g.buf = []byte("<testsuites><testsuite name=\"gen\">")
		case g.i > g.n:
			g.buf = []byte("</testsuite></testsuites>")
			g.done = true
		default:
			g.buf = fmt.Appendf(nil, `<testcase classname="c" name="t%d"><failure message="boom %d">%s</failure><system-out>%s</system-out></testcase>`,
				g.i, g.i, strings.Repeat("stack line\n", 50), strings.Repeat("log\n", 100))
		}
		g.i++
	}
	n := copy(p, g.buf)
	g.buf = g.buf[n:]
	return n, nil
}

// TestScanJUnitMemoryIsPerTestcase streams a ~25 MB report and checks that
// the heap never holds a sizeable part of it.
func TestScanJUnitMemoryIsPerTestcase(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 25 MB")
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak uint64
	calls := 0
	counts, err := ScanJUnit(context.Background(), &genReport{n: 25_000}, Limits{}, func(tc TestCase) error {
		calls++
		if calls%2500 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 25_000, counts.Failed)
	assert.Less(t, peak-min(peak, base), uint64(16<<20), "heap grew by %d bytes while streaming", peak-min(peak, base))
}
