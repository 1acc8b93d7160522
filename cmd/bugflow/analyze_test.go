package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/analysis"
)

// junitDir holds the real reports the analysis library is tested on.
const junitDir = "../../analysis/testdata/junit"

func junitFile(name string) string { return filepath.Join(junitDir, name) }

// tableRow is one parsed row of the classification table.
type tableRow struct {
	classification string
	tests          int
	signature      string
	firstTest      string
	summary        string
}

// cellSep splits table rows: tabwriter pads with at least two spaces and
// cell() collapses every whitespace run inside a cell to one space.
var cellSep = regexp.MustCompile(` {2,}`)

// parseTable returns the rows of a single-report table and its totals line.
func parseTable(t *testing.T, out string) ([]tableRow, string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	require.NotEmpty(t, lines)
	totalsLine := lines[len(lines)-1]
	if lines[0] == "no failures" {
		return nil, totalsLine
	}
	require.Equal(t, []string{"CLASSIFICATION", "TESTS", "SIGNATURE", "FIRST TEST", "SUMMARY"}, cellSep.Split(lines[0], -1))
	var rows []tableRow
	for _, line := range lines[1:] {
		if line == "" {
			break
		}
		cells := cellSep.Split(line, -1)
		require.Len(t, cells, 5, "row %q", line)
		n, err := strconv.Atoi(cells[1])
		require.NoError(t, err, "row %q", line)
		rows = append(rows, tableRow{cells[0], n, cells[2], cells[3], cells[4]})
	}
	return rows, totalsLine
}

func TestAnalyzeTable(t *testing.T) {
	tests := []struct {
		file string
		// Counted by hand from the XML.
		totals string
		// Tests per signature group, in order of first appearance, also
		// from reading the file.
		groupSizes []int
		firstTests []string
	}{
		{
			file:       "01-pytest-failure-skipped-hostname.xml",
			totals:     "tests 5, passed 3, failed 1, errors 0, skipped 1, groups 1",
			groupSizes: []int{1},
			firstTests: []string{"test.test_spark.SparkTests.test_rsh_events"},
		},
		{
			file:       "11-maven-surefire-properties-failure.xml",
			totals:     "tests 1, passed 0, failed 1, errors 0, skipped 0, groups 1",
			groupSizes: []int{1},
			firstTests: []string{"com.example.FooTest.testStdoutStderr"},
		},
		{
			// Three <failure>s in one testcase count once; the
			// header's failures="4" is wrong.
			file:       "30-multiple-failure-elements-per-testcase.xml",
			totals:     "tests 4, passed 1, failed 2, errors 0, skipped 1, groups 2",
			groupSizes: []int{1, 1},
			firstTests: []string{
				"com.example.MultipleFailuresTest.testWithMultipleFailures",
				"com.example.MultipleFailuresTest.testWithSingleFailure",
			},
		},
		{
			// test 5 and test 7 share message "message" and the same
			// body; test 4 and test 6 share a message but not a body.
			file:       "03-astral-unicode-failure-error-skipped.xml",
			totals:     "tests 7, passed 1, failed 2, errors 2, skipped 2, groups 3",
			groupSizes: []int{1, 2, 1},
			firstTests: []string{"test 4", "test 5", "test 6"},
		},
		{
			file:   "09-mocha-root-testsuite-no-xml-decl.xml",
			totals: "tests 109, passed 109, failed 0, errors 0, skipped 0, groups 0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			code, out, errOut := runCmd(t, "analyze", junitFile(tt.file))
			require.Equal(t, exitOK, code, errOut)
			assert.Empty(t, errOut)
			rows, totals := parseTable(t, out)
			assert.Equal(t, tt.totals, totals)
			require.Len(t, rows, len(tt.groupSizes))

			// The classifications are the library's decision: the
			// table must show what AnalyzeReport says for each group.
			want := libraryGroups(t, tt.file)
			require.Len(t, want, len(rows))
			for i, row := range rows {
				g := want[i]
				assert.Equal(t, string(g.Detail.Classification), row.classification, "group %d", i)
				assert.Equal(t, tt.groupSizes[i], row.tests, "group %d", i)
				assert.Equal(t, g.Signature[:12], row.signature, "group %d", i)
				assert.Equal(t, tt.firstTests[i], row.firstTest, "group %d", i)
				assert.NotEmpty(t, row.summary)
				assert.True(t, strings.HasPrefix(firstLine(g.Detail.Details), strings.TrimSuffix(row.summary, "…")),
					"summary %q is not the start of the details %q", row.summary, g.Detail.Details)
			}
		})
	}
}

// libraryGroups analyses a file directly with the library.
func libraryGroups(t *testing.T, file string) []analysis.AnalyzedGroup {
	t.Helper()
	f, err := os.Open(junitFile(file))
	require.NoError(t, err)
	defer f.Close()
	ra, err := analysis.AnalyzeReport(context.Background(), f, analysis.Options{SkipEnrichedXML: true})
	require.NoError(t, err)
	return ra.Groups
}

func TestAnalyzeSeveralReportsSumsTotals(t *testing.T) {
	code, out, errOut := runCmd(t, "analyze", junitFile("01-pytest-failure-skipped-hostname.xml"), junitFile("30-multiple-failure-elements-per-testcase.xml"))
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "== "+junitFile("01-pytest-failure-skipped-hostname.xml")+" ==\n")
	assert.Contains(t, out, "== "+junitFile("30-multiple-failure-elements-per-testcase.xml")+" ==\n")
	assert.True(t, strings.HasSuffix(out, "all reports: tests 9, passed 4, failed 3, errors 0, skipped 2, groups 3\n"), out)
}

func TestAnalyzeEnriched(t *testing.T) {
	for _, file := range []string{
		"01-pytest-failure-skipped-hostname.xml",
		"30-multiple-failure-elements-per-testcase.xml",
		"03-astral-unicode-failure-error-skipped.xml",
	} {
		t.Run(file, func(t *testing.T) {
			outFile := filepath.Join(t.TempDir(), "enriched.xml")
			// The flag after the file, as the usage line shows it.
			code, out, errOut := runCmd(t, "analyze", junitFile(file), "--enriched", outFile)
			require.Equal(t, exitOK, code, errOut)
			assert.Contains(t, out, "CLASSIFICATION")

			original, err := os.ReadFile(junitFile(file))
			require.NoError(t, err)
			enriched, err := os.ReadFile(outFile)
			require.NoError(t, err)
			assert.Contains(t, string(enriched), "--- AI Analysis ---")

			origCases, origCounts := xmlShape(t, original)
			enrCases, enrCounts := xmlShape(t, enriched)
			assert.NotEmpty(t, origCases)
			assert.Equal(t, origCases, enrCases, "every original testcase, in order")
			for name, n := range origCounts {
				assert.GreaterOrEqual(t, enrCounts[name], n, "<%s> elements", name)
			}
		})
	}
}

// xmlShape checks that data is well-formed XML and returns its testcases
// (classname and name, in order) and how many elements of each name it has.
func xmlShape(t *testing.T, data []byte) ([]string, map[string]int) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	var cases []string
	counts := map[string]int{}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "well-formed XML")
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		counts[se.Name.Local]++
		if se.Name.Local == "testcase" {
			var cls, name string
			for _, a := range se.Attr {
				switch a.Name.Local {
				case "classname":
					cls = a.Value
				case "name":
					name = a.Value
				}
			}
			cases = append(cases, cls+"|"+name)
		}
	}
	return cases, counts
}

func TestAnalyzeBadReportsExit2(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"08-truncated-malformed-pytest.xml", []string{"08-truncated-malformed-pytest.xml", "malformed JUnit XML", "line 11"}},
		{"20-HOSTILE-xxe-external-entity-iso-8859-1.xml", []string{"20-HOSTILE-xxe-external-entity-iso-8859-1.xml", "DTD"}},
		{"does-not-exist.xml", []string{"does-not-exist.xml", "no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			outFile := filepath.Join(t.TempDir(), "enriched.xml")
			code, out, errOut := runCmd(t, "analyze", "--enriched", outFile, junitFile(tt.file))
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, out)
			oneLine(t, errOut)
			for _, w := range tt.want {
				assert.Contains(t, errOut, w)
			}
			assert.NoFileExists(t, outFile, "nothing is written for a refused report")
		})
	}
}

func TestAnalyzeUsageErrors(t *testing.T) {
	one := junitFile("01-pytest-failure-skipped-hostname.xml")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"analyze"}, "no report given"},
		{[]string{"analyze", one, "--enriched", "x.xml", one}, "--enriched needs exactly one report"},
		{[]string{"analyze", one, "--format", "yaml"}, `--format: "yaml" is not table or json`},
		{[]string{"analyze", one, "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"analyze", one, "--format"}, "flag needs an argument"},
		{[]string{"analyze", "-", "-"}, `"-" (standard input) may be given only once`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runCmd(t, tt.args...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, out)
			oneLine(t, errOut)
			assert.Contains(t, errOut, tt.want)
		})
	}

	code, out, _ := runCmd(t, "analyze", "--help")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "bugflow analyze")
	code, out, _ = runCmd(t, "help", "analyze")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "--enriched FILE")
}

func TestAnalyzeJSON(t *testing.T) {
	file := "30-multiple-failure-elements-per-testcase.xml"
	code, out, errOut := runCmd(t, "analyze", "--format", "json", junitFile(file))
	require.Equal(t, exitOK, code, errOut)
	require.True(t, json.Valid([]byte(out)), out)

	var got analyzeOutput
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Len(t, got.Reports, 1)
	rep := got.Reports[0]
	assert.Equal(t, analysis.Counts{Tests: 4, Passed: 1, Failed: 2, Skipped: 1}, rep.Counts)
	assert.Equal(t, 2, got.Totals.Groups)
	assert.Equal(t, 4, got.Totals.Tests)

	want := libraryGroups(t, file)
	require.Len(t, rep.Groups, len(want))
	for i, g := range rep.Groups {
		assert.Equal(t, want[i].Signature, g.ErrorSignature)
		assert.Equal(t, want[i].Detail.Classification, g.Classification)
		assert.Equal(t, want[i].Detail.Classification, g.Analysis.Classification)
		assert.Equal(t, 1, g.TestCount)
	}
	assert.Equal(t, "First assertion failed", rep.Groups[0].Error, "the first <failure> of a testcase gives the message")
	assert.Equal(t, "Single failure message", rep.Groups[1].Error)
}

func TestAnalyzeStdin(t *testing.T) {
	file := junitFile("03-astral-unicode-failure-error-skipped.xml")
	_, fromFile, _ := runCmd(t, "analyze", file)

	data, err := os.ReadFile(file)
	require.NoError(t, err)
	var stdout, stderr bytes.Buffer
	code := runAnalyze(context.Background(), []string{"-"}, bytes.NewReader(data), &stdout, &stderr)
	require.Equal(t, exitOK, code, stderr.String())
	assert.Equal(t, fromFile, stdout.String(), "stdin gives the same table as the file")

	// Errors on stdin name it.
	stdout.Reset()
	stderr.Reset()
	code = runAnalyze(context.Background(), []string{"--format", "json", "-"}, strings.NewReader("<testsuite><testcase name="), &stdout, &stderr)
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, stdout.String())
	oneLine(t, stderr.String())
	assert.Contains(t, stderr.String(), "analyze standard input: malformed JUnit XML")
}

func TestParseAnalyzeFlags(t *testing.T) {
	tests := []struct {
		args  []string
		files []string
		enr   string
		fmt   string
	}{
		{[]string{"a.xml"}, []string{"a.xml"}, "", "table"},
		{[]string{"--format", "json", "a.xml", "b.xml"}, []string{"a.xml", "b.xml"}, "", "json"},
		{[]string{"a.xml", "--enriched=o.xml", "--format=json"}, []string{"a.xml"}, "o.xml", "json"},
		{[]string{"a.xml", "--format", "json", "b.xml"}, []string{"a.xml", "b.xml"}, "", "json"},
		{[]string{"-", "--format", "json"}, []string{"-"}, "", "json"},
		// After "--" a name starting with "-" is a file.
		{[]string{"a.xml", "--", "--format", "-x.xml"}, []string{"a.xml", "--format", "-x.xml"}, "", "table"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			o, _, err := parseAnalyzeFlags(tt.args)
			require.NoError(t, err)
			assert.Equal(t, tt.files, o.files)
			assert.Equal(t, tt.enr, o.enriched)
			assert.Equal(t, tt.fmt, o.format)
		})
	}
}

func TestCellKeepsTableIntact(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"a\tb\n  c", 0, "a b c"},
		{"red \x1b[31mtext\x07", 0, "red \uFFFD[31mtext\uFFFD"},
		{"헴䜝헱홐𒍺𡓿", 4, "헴䜝헱…"},
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, cell(tt.in, tt.max), "cell(%q, %d)", tt.in, tt.max)
	}
}
