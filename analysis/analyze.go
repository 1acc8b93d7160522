package analysis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"

	"github.com/bugflow/bugflow/errs"
)

// DefaultConcurrency is how many groups are analysed at once when Options
// does not say: enough to overlap slow (LLM) analyzers, few enough not to
// flood a provider.
const DefaultConcurrency = 4

// MaxAffectedTests caps affected_tests of one analysis; the signature
// identifies the whole group.
const MaxAffectedTests = 20

// Options configures AnalyzeReport and AnalyzeFailures. The zero value
// analyses offline with the default limits and produces enriched XML.
type Options struct {
	// Analyzer classifies each signature group; nil means the offline
	// analyzer without learning (NewOfflineAnalyzer(nil)).
	Analyzer Analyzer
	// Limits cap the JUnit input.
	Limits Limits
	// ReportURL is written as the report_url property of the enriched XML.
	ReportURL string
	// SkipEnrichedXML streams the report without keeping a copy and leaves
	// EnrichedXML nil.
	SkipEnrichedXML bool
	// Concurrency is how many groups are analysed in parallel (default
	// DefaultConcurrency).
	Concurrency int
	// KnownFlaky lists tests found flaky in the stored history
	// (DetectFlaky); their analysis details say so.
	KnownFlaky []FlakyTest
}

// ReportAnalysis is what the library returns: the seeds/001 result plus
// what storage needs (every outcome, passes included, and the groups).
type ReportAnalysis struct {
	Result FailureAnalysisResult
	// Counts and Outcomes are empty for AnalyzeFailures.
	Counts   Counts
	Outcomes []TestOutcome
	// Groups are the signature groups with their analysis, in order of
	// first appearance.
	Groups []AnalyzedGroup
}

// AnalyzedGroup is a group and the detail its members share.
type AnalyzedGroup struct {
	Group
	Detail     Detail
	PeerDebate *PeerDebate
}

// AnalyzeReport parses a JUnit XML report, groups its failures by signature,
// analyses each group once and returns the FailureAnalysisResult (JobID left
// for the caller) with the enriched XML. Malformed XML, a DTD or a report
// over the limits fail with errs.Invalid or errs.TooLarge.
func AnalyzeReport(ctx context.Context, r io.Reader, opts Options) (*ReportAnalysis, error) {
	lim := opts.Limits.withDefaults()
	var (
		rep      *Report
		original []byte
		parsed   []byte
		err      error
	)
	if opts.SkipEnrichedXML {
		rep, err = ParseJUnit(ctx, r, lim)
	} else {
		original, err = io.ReadAll(&limitReader{r: r, n: lim.MaxBytes})
		if errors.Is(err, errTooLarge) {
			return nil, errs.TooLargef("JUnit report is larger than %d bytes", lim.MaxBytes)
		}
		if err != nil {
			return nil, errs.Wrap(errs.Invalid, err, "cannot read JUnit report")
		}
		parsed = bytes.TrimPrefix(original, []byte{0xEF, 0xBB, 0xBF})
		rep, err = ParseJUnit(ctx, bytes.NewReader(parsed), lim)
	}
	if err != nil {
		return nil, err
	}
	passed := map[string]bool{}
	for _, o := range rep.Outcomes {
		if o.Outcome == Passed {
			passed[o.TestName] = true
		}
	}
	failures := make([]Failure, len(rep.Failures))
	for i, tc := range rep.Failures {
		failures[i] = FailureFromTestCase(tc)
		if passed[tc.TestName] {
			failures[i].FlakyEvidence = "flaky: the same test also passed in this report (a rerun)"
		}
	}
	ra, err := analyze(ctx, failures, opts)
	if err != nil {
		return nil, err
	}
	ra.Counts = rep.Counts
	ra.Outcomes = rep.Outcomes
	if !opts.SkipEnrichedXML {
		out, err := enrich(original, parsed, rep, ra.Result.Failures, opts.ReportURL, false)
		if err != nil {
			return nil, err
		}
		s := string(out)
		ra.Result.EnrichedXML = &s
	}
	return ra, nil
}

// AnalyzeFailures analyses failures given directly (no XML, so no enriched
// XML). Each needs a test name.
func AnalyzeFailures(ctx context.Context, inputs []FailureInput, opts Options) (*ReportAnalysis, error) {
	failures := make([]Failure, len(inputs))
	for i, in := range inputs {
		if err := in.Validate(); err != nil {
			return nil, inFailures(i, err)
		}
		failures[i] = FailureFromInput(in)
	}
	return analyze(ctx, failures, opts)
}

// inFailures places the fields of failure i's validation error in the list:
// test_name becomes failures[i].test_name.
func inFailures(i int, err error) error {
	e := errs.As(err)
	prefix := fmt.Sprintf("failures[%d]", i)
	out := errs.Invalidf("%s: %s", prefix, e.Message)
	for _, field := range e.FieldNames() {
		for _, msg := range e.Fields[field] {
			out = out.WithField(prefix+"."+field, msg)
		}
	}
	return out
}

func analyze(ctx context.Context, failures []Failure, opts Options) (*ReportAnalysis, error) {
	a := opts.Analyzer
	if a == nil {
		a = NewOfflineAnalyzer(nil)
	}
	if len(opts.KnownFlaky) > 0 {
		known := map[string]FlakyTest{}
		for _, ft := range opts.KnownFlaky {
			known[ft.TestName] = ft
		}
		for i := range failures {
			if ft, ok := known[failures[i].TestName]; ok && failures[i].FlakyEvidence == "" {
				failures[i].FlakyEvidence = ft.Evidence()
			}
		}
	}
	computeSignatures(failures)
	groups := GroupFailures(failures)
	analysed, err := AnalyzeGroups(ctx, a, groups, opts.Concurrency)
	if err != nil {
		return nil, err
	}
	bySig := make(map[string]*AnalyzedGroup, len(analysed))
	for i := range analysed {
		bySig[analysed[i].Signature] = &analysed[i]
	}
	res := FailureAnalysisResult{Status: StatusCompleted, Failures: make([]FailureAnalysis, 0, len(failures))}
	if d, ok := a.(Describer); ok {
		res.AIProvider, res.AIModel = d.Provider(), d.Model()
	}
	counts := map[Classification]int{}
	// Failures keep their input order; each copies its group's detail.
	for _, f := range failures {
		ag := bySig[f.Signature]
		d := ag.Detail
		if f.FlakyEvidence != "" {
			d.Details = strings.TrimSpace(d.Details + " " + upperFirst(f.FlakyEvidence) + ".")
		}
		res.Failures = append(res.Failures, FailureAnalysis{
			TestName:       f.TestName,
			Error:          f.Message,
			Analysis:       d,
			ErrorSignature: f.Signature,
			PeerDebate:     ag.PeerDebate,
		})
		counts[d.Classification]++
	}
	res.Summary = summarise(counts)
	return &ReportAnalysis{Result: res, Groups: analysed}, nil
}

// computeSignatures fills missing signatures on all cores, computing each
// distinct (message, stack) pair once: big reports repeat failure texts.
func computeSignatures(failures []Failure) {
	workers := min(runtime.GOMAXPROCS(0), 1+len(failures)/256)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			memo := map[[2]string]string{}
			for i := w; i < len(failures); i += workers {
				f := &failures[i]
				if f.Signature != "" {
					continue
				}
				key := [2]string{f.Message, f.StackTrace}
				sig, ok := memo[key]
				if !ok {
					sig = Signature(f.Message, f.StackTrace)
					memo[key] = sig
				}
				f.Signature = sig
			}
		})
	}
	wg.Wait()
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// summarise renders the counts per classification ("2 PRODUCT BUG, 1
// INFRASTRUCTURE"), the form of the seeds/001 examples.
func summarise(counts map[Classification]int) string {
	var parts []string
	for _, c := range Classifications {
		if n := counts[c]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, c))
		}
	}
	if len(parts) == 0 {
		return "No failures found"
	}
	return strings.Join(parts, ", ")
}

// AnalyzeGroups runs a over every group, concurrency at a time (<= 0 means
// DefaultConcurrency), and returns the groups with their details in the same
// order. The first error cancels the rest. An analyzer that returns an
// invalid classification, or panics, is an error: its output cannot be
// stored. The groups are one analysis: the CLI analyzers' additional
// repositories are cloned once for all their prompts and removed before
// AnalyzeGroups returns.
func AnalyzeGroups(ctx context.Context, a Analyzer, groups []Group, concurrency int) ([]AnalyzedGroup, error) {
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}
	out := make([]AnalyzedGroup, len(groups))
	ctx, endWorkspace := withWorkspace(ctx)
	defer endWorkspace()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
		next     = make(chan int)
	)
	for range min(concurrency, len(groups)) {
		wg.Go(func() {
			for i := range next {
				ag, err := analyzeOne(ctx, a, groups[i])
				if err != nil {
					once.Do(func() { firstErr = err; cancel() })
					continue
				}
				out[i] = ag
			}
		})
	}
feed:
	for i := range groups {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// analyzeOne analyses one group. An analyzer's panic is the group's
// error: in a worker goroutine it would end the process, leaving the
// analysis's job running and its workspace on disk.
func analyzeOne(ctx context.Context, a Analyzer, g Group) (_ AnalyzedGroup, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("analyse signature group %s: analyzer panicked: %v", shortSig(g.Signature), p)
		}
	}()
	var (
		d      Detail
		debate *PeerDebate
	)
	if da, ok := a.(DebateAnalyzer); ok {
		d, debate, err = da.AnalyzeWithDebate(ctx, g)
	} else {
		d, err = a.Analyze(ctx, g)
	}
	if err != nil {
		return AnalyzedGroup{}, fmt.Errorf("analyse signature group %s: %w", shortSig(g.Signature), err)
	}
	if err := d.Classification.Validate(); err != nil {
		return AnalyzedGroup{}, errs.Wrap(errs.Unavailable, err, "analyzer returned an invalid classification %q", d.Classification)
	}
	if len(d.AffectedTests) == 0 {
		d.AffectedTests = g.TestNames()
	}
	if n := len(d.AffectedTests); n > MaxAffectedTests {
		// Every member carries the detail: listing hundreds of names in
		// each would make results quadratic in the group size.
		d.AffectedTests = d.AffectedTests[:MaxAffectedTests:MaxAffectedTests]
		d.Details = strings.TrimSpace(fmt.Sprintf("%s %d tests share this failure signature; the first %d are listed.", d.Details, n, MaxAffectedTests))
	}
	d.Normalise()
	return AnalyzedGroup{Group: g, Detail: d, PeerDebate: debate}, nil
}

func shortSig(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
