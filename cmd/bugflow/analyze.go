package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/bugflow/bugflow/analysis"
	"github.com/bugflow/bugflow/errs"
)

// Column widths of the table. Test names and details can be very long (Java
// class names, multi-line pytest messages); the table is for a terminal, the
// full text is in --format json and the enriched XML.
const (
	signatureWidth = 12
	testNameWidth  = 60
	summaryWidth   = 90
)

// analyzeOptions are the parsed arguments of "bugflow analyze".
type analyzeOptions struct {
	files    []string
	enriched string
	format   string
}

// reportOutput is one analysed report in the JSON output.
type reportOutput struct {
	File    string          `json:"file"`
	Summary string          `json:"summary"`
	Counts  analysis.Counts `json:"counts"`
	Groups  []groupOutput   `json:"groups"`
}

// groupOutput is one signature group in the JSON output.
type groupOutput struct {
	ErrorSignature string                  `json:"error_signature"`
	Classification analysis.Classification `json:"classification"`
	TestCount      int                     `json:"test_count"`
	Tests          []string                `json:"tests"`
	Error          string                  `json:"error"`
	Analysis       analysis.Detail         `json:"analysis"`
}

// totals sums the counts of every analysed report.
type totals struct {
	analysis.Counts
	Groups int `json:"groups"`
}

// analyzeOutput is the whole JSON output of "bugflow analyze --format json".
type analyzeOutput struct {
	Reports []reportOutput `json:"reports"`
	Totals  totals         `json:"totals"`
}

// runAnalyze implements "bugflow analyze": it analyses each JUnit report
// offline with analysis.AnalyzeReport (no database) and prints one table row
// per signature group, or JSON. "-" reads stdin. A malformed, truncated,
// DTD-bearing or oversized report, or an input that cannot be opened, is the
// user's to fix and exits 2 like any usage error; failing to write the output
// exits 1.
func runAnalyze(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts, c, err := parseAnalyzeFlags(args)
	if err != nil {
		return c.usageExit(err, stdout, stderr)
	}

	out := analyzeOutput{Reports: []reportOutput{}}
	for _, name := range opts.files {
		ra, err := analyzeFile(ctx, name, stdin, opts.enriched == "")
		if err != nil {
			return fail(stderr, analyzeCode(err), err)
		}
		if opts.enriched != "" {
			if err := writeEnriched(opts.enriched, ra); err != nil {
				return fail(stderr, exitFailure, err)
			}
		}
		rep := reportOutput{File: name, Summary: ra.Result.Summary, Counts: ra.Counts, Groups: []groupOutput{}}
		for _, g := range ra.Groups {
			rep.Groups = append(rep.Groups, groupOutput{
				ErrorSignature: g.Signature,
				Classification: g.Detail.Classification,
				TestCount:      len(g.TestNames()),
				Tests:          g.TestNames(),
				Error:          g.Representative().Message,
				Analysis:       g.Detail,
			})
		}
		out.Reports = append(out.Reports, rep)
		out.Totals.add(rep)
	}

	if opts.format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return fail(stderr, exitFailure, fmt.Errorf("analyze: write output: %w", err))
		}
		return exitOK
	}
	if err := printTables(stdout, out); err != nil {
		return fail(stderr, exitFailure, fmt.Errorf("analyze: write output: %w", err))
	}
	return exitOK
}

// parseAnalyzeFlags reads the arguments of analyze. Flags may come before,
// between or after the report files, as the usage line shows them after.
// The command is returned for its help and its errors.
func parseAnalyzeFlags(args []string) (analyzeOptions, *command, error) {
	var o analyzeOptions
	c := newCommand("analyze", "bugflow analyze [flags] REPORT.xml [MORE.xml ...]",
		"Classifies the failures of JUnit XML reports offline (no database needed) and\nprints one row per failure signature. \"-\" reads a report from stdin.")
	c.stringVar(&o.enriched, "enriched", "FILE", "", "", "write the report with the analysis added (one report only)")
	c.stringVar(&o.format, "format", "FORMAT", "", "table", "output format: table or json")
	for {
		if err := c.parse(args); err != nil {
			return o, c, err
		}
		rest := c.fs.Args()
		if len(rest) == 0 {
			break
		}
		// After "--" everything is a file name, even if it starts with "-".
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			o.files = append(o.files, rest...)
			break
		}
		o.files = append(o.files, rest[0])
		args = rest[1:]
	}

	switch {
	case len(o.files) == 0:
		return o, c, c.usageError("no report given")
	case o.format != "table" && o.format != "json":
		return o, c, fmt.Errorf("analyze: --format: %q is not table or json", o.format)
	case o.enriched != "" && len(o.files) > 1:
		return o, c, errors.New("analyze: --enriched needs exactly one report")
	}
	stdinUses := 0
	for _, f := range o.files {
		if f == "" {
			return o, c, errors.New("analyze: empty report file name")
		}
		if f == "-" {
			stdinUses++
		}
	}
	if stdinUses > 1 {
		// The second read of stdin would see an empty report.
		return o, c, errors.New(`analyze: "-" (standard input) may be given only once`)
	}
	return o, c, nil
}

// analyzeFile analyses one report; name "-" is stdin. skipEnriched avoids
// keeping a copy of the report when no enriched XML is asked for.
func analyzeFile(ctx context.Context, name string, stdin io.Reader, skipEnriched bool) (*analysis.ReportAnalysis, error) {
	r := stdin
	display := "standard input"
	if name != "-" {
		display = name
		f, err := os.Open(name)
		if err != nil {
			// The path is already in the *PathError message.
			return nil, errs.Wrap(errs.Invalid, err, "analyze")
		}
		defer f.Close()
		r = f
	}
	ra, err := analysis.AnalyzeReport(ctx, r, analysis.Options{SkipEnrichedXML: skipEnriched})
	if err != nil {
		return nil, fmt.Errorf("analyze %s: %w", display, err)
	}
	return ra, nil
}

// analyzeCode maps an analysis error to the exit code: bad input is the
// user's to fix (2), anything else is a failure (1).
func analyzeCode(err error) int {
	switch errs.KindOf(err) {
	case errs.Invalid, errs.TooLarge:
		return exitUsage
	}
	return exitFailure
}

// writeEnriched writes the enriched report. A report without failures comes
// back unchanged from the library, so the file is always written.
func writeEnriched(path string, ra *analysis.ReportAnalysis) error {
	if ra.Result.EnrichedXML == nil {
		return errors.New("analyze: the analysis returned no enriched XML")
	}
	if err := os.WriteFile(path, []byte(*ra.Result.EnrichedXML), 0o644); err != nil {
		return fmt.Errorf("analyze: --enriched: %w", err)
	}
	return nil
}

// add counts one report into the totals.
func (t *totals) add(r reportOutput) {
	t.Tests += r.Counts.Tests
	t.Passed += r.Counts.Passed
	t.Failed += r.Counts.Failed
	t.Errors += r.Counts.Errors
	t.Skipped += r.Counts.Skipped
	t.Flaky += r.Counts.Flaky
	t.Ignored += r.Counts.Ignored
	t.Groups += len(r.Groups)
}

// printTables writes one table per report; with several reports each gets a
// heading and a grand total follows.
func printTables(w io.Writer, out analyzeOutput) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	many := len(out.Reports) > 1
	for i, rep := range out.Reports {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		if many {
			fmt.Fprintf(tw, "== %s ==\n", cell(rep.File, 0))
		}
		if len(rep.Groups) == 0 {
			fmt.Fprintln(tw, "no failures")
		} else {
			fmt.Fprintln(tw, "CLASSIFICATION\tTESTS\tSIGNATURE\tFIRST TEST\tSUMMARY")
			for _, g := range rep.Groups {
				first := ""
				if len(g.Tests) > 0 {
					first = g.Tests[0]
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n",
					g.Classification, g.TestCount, sigPrefix(g.ErrorSignature),
					cell(first, testNameWidth), cell(firstLine(g.Analysis.Details), summaryWidth))
			}
		}
		// Flush before the totals line so that it does not widen the
		// table's columns.
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, totalsLine("", totalsOf(rep)))
	}
	if many {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, totalsLine("all reports: ", out.Totals))
	}
	return tw.Flush()
}

func totalsOf(r reportOutput) totals {
	var t totals
	t.add(r)
	return t
}

// totalsLine formats counts; flaky and ignored appear only when non-zero
// because most reports have neither.
func totalsLine(prefix string, t totals) string {
	line := fmt.Sprintf("%stests %d, passed %d, failed %d, errors %d, skipped %d, groups %d",
		prefix, t.Tests, t.Passed, t.Failed, t.Errors, t.Skipped, t.Groups)
	if t.Flaky > 0 {
		line += fmt.Sprintf(", flaky %d (passed on rerun)", t.Flaky)
	}
	if t.Ignored > 0 {
		line += fmt.Sprintf(", ignored %d (testcases without a name)", t.Ignored)
	}
	return line
}

// sigPrefix shortens a hex signature for the table, as git shortens commit
// ids: enough to tell groups apart and to search for in the JSON output.
func sigPrefix(sig string) string {
	if len(sig) > signatureWidth {
		return sig[:signatureWidth]
	}
	return sig
}

// firstLine returns the first non-blank line of s.
func firstLine(s string) string {
	for line := range strings.Lines(s) {
		if t := strings.TrimSpace(line); t != "" {
			return t
		}
	}
	return ""
}

// cell makes untrusted report text safe for one table cell: whitespace runs
// (tabs and newlines would break the columns) become one space, other control
// characters (terminal escape sequences) are replaced, and the text is cut to
// max runes (0 means no limit).
func cell(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.Map(func(r rune) rune {
		if r == ' ' || unicode.IsPrint(r) {
			return r
		}
		return utf8.RuneError
	}, s)
	if max > 0 && utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max-1]) + "…"
	}
	return s
}
