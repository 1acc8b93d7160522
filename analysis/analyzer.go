package analysis

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// Analyzer classifies one group of failures that share a signature. The
// built-in OfflineAnalyzer is the default; LLM, command-line and peer-debate
// analyzers implement the same interface.
type Analyzer interface {
	Analyze(ctx context.Context, g Group) (Detail, error)
}

// AnalyzerFunc adapts a function to Analyzer.
type AnalyzerFunc func(ctx context.Context, g Group) (Detail, error)

// Analyze calls f.
func (f AnalyzerFunc) Analyze(ctx context.Context, g Group) (Detail, error) { return f(ctx, g) }

// Describer is an optional capability of an Analyzer: the provider and
// model names reported as ai_provider and ai_model.
type Describer interface {
	Provider() string
	Model() string
}

// DebateAnalyzer is an optional capability of an Analyzer that runs a peer
// debate: it returns the debate trail with the detail, and the result
// carries it as peer_debate.
type DebateAnalyzer interface {
	AnalyzeWithDebate(ctx context.Context, g Group) (Detail, *PeerDebate, error)
}

// Rule is one pattern of the offline analyzer: a failure whose message or
// stack trace matches Pattern gets Classification.
type Rule struct {
	// Name appears in the evidence ("rule connection-refused").
	Name           string
	Classification Classification
	Pattern        *regexp.Regexp
	// Why explains what the match means, for the details text.
	Why string
	// Fix is the suggested change for CODE ISSUE rules.
	Fix string
	// Severity is the bug severity for PRODUCT BUG rules.
	Severity string
}

// DefaultRules returns the built-in rules in evaluation order: environment
// first (an unreachable host explains an assertion failure, never the other
// way round), then test-code mistakes, then product symptoms.
func DefaultRules() []Rule {
	return []Rule{
		{Name: "connection-refused", Classification: Infrastructure, Why: "a connection was refused or reset: a service or host the test needs was not reachable",
			Pattern: regexp.MustCompile(`(?i)connection refused|\bECONNREFUSED\b|connection reset|\bECONNRESET\b|broken pipe|no route to host|network is unreachable|ConnectException|failed to establish a new connection|max retries exceeded`)},
		{Name: "dns", Classification: Infrastructure, Why: "a host name could not be resolved",
			Pattern: regexp.MustCompile(`(?i)no such host|name or service not known|temporary failure in name resolution|getaddrinfo|\bENOTFOUND\b|\bEAI_AGAIN\b|could not resolve host|UnknownHostException|NXDOMAIN|nodename nor servname`)},
		{Name: "tls", Classification: Infrastructure, Why: "a TLS certificate was rejected by the environment",
			Pattern: regexp.MustCompile(`(?i)x509: certificate|CERTIFICATE_VERIFY_FAILED|certificate has expired|SSLHandshakeException|unable to get local issuer certificate`)},
		{Name: "out-of-memory", Classification: Infrastructure, Why: "the process or container ran out of memory",
			Pattern: regexp.MustCompile(`(?i)out of memory|OutOfMemoryError|OOMKilled|oom-kill|cannot allocate memory|\bMemoryError\b|\bENOMEM\b|exit code 137|signal: killed|Killed\s+process`)},
		{Name: "disk-full", Classification: Infrastructure, Why: "the disk or a quota is full",
			Pattern: regexp.MustCompile(`(?i)no space left on device|disk full|\bENOSPC\b|disk quota exceeded|not enough space on the disk`)},
		{Name: "host-permission", Classification: Infrastructure, Why: "the host refused a file or device operation (permissions of the machine, not of the product)",
			Pattern: regexp.MustCompile(`(?i)permission denied|\bEACCES\b|operation not permitted|\bEPERM\b|AccessDeniedException|read-only file system`)},
		{Name: "container-pod", Classification: Infrastructure, Why: "a container or pod failed to start or was evicted",
			Pattern: regexp.MustCompile(`(?i)ImagePullBackOff|ErrImagePull|CrashLoopBackOff|\bEvicted\b|FailedScheduling|Insufficient (?:cpu|memory)|Cannot connect to the Docker daemon|docker: Error response|manifest unknown|container .{0,40}(?:exited|is not running|was killed)|pod .{0,60}(?:not ready|pending|failed|terminated)|node .{0,40}not ready`)},
		{Name: "gateway-unavailable", Classification: Infrastructure, Why: "a gateway answered 502/503/504: the service behind it was down or overloaded",
			Pattern: regexp.MustCompile(`(?i)\b(?:502|503|504)\b.{0,30}(?:bad gateway|service unavailable|gateway time-?out)|(?:bad gateway|service unavailable|gateway time-?out)|(?:status|status code|http|code|got|returned|response)[^0-9\n]{0,12}\b(?:502|503|504)\b`)},
		{Name: "timeout", Classification: Infrastructure, Why: "an operation timed out waiting for the environment",
			Pattern: regexp.MustCompile(`(?i)timed out|time-?out|deadline exceeded|\bETIMEDOUT\b|SocketTimeoutException|TimeoutError|TimeoutException|took too long`)},
		{Name: "fixture-setup", Classification: CodeIssue, Why: "the test's fixture or setup failed before the test body ran", Fix: "Fix the fixture/setup code named in the trace.",
			Pattern: regexp.MustCompile(`(?i:fixture '[^']*' not found|error at setup of|error in setup|"before (?:all|each)" hook|conftest\.py|fixture .{0,40}(?:failed|error))|setUpClass|@Before(?:Class|All|Each)?\b|\bbefore(?:All|Each)\b|\bTestMain\b`)},
		{Name: "import-error", Classification: CodeIssue, Why: "the test code imports something that does not exist", Fix: "Correct the import or add the missing dependency to the test environment.",
			Pattern: regexp.MustCompile(`(?i)\bImportError\b|ModuleNotFoundError|No module named|Cannot find module|ClassNotFoundException|NoClassDefFoundError|cannot find package|could not import|undefined: \w+|unresolved import`)},
		{Name: "syntax-error", Classification: CodeIssue, Why: "the test code does not parse", Fix: "Fix the syntax error.",
			Pattern: regexp.MustCompile(`\b(?:SyntaxError|IndentationError|TabError)\b`)},
		{Name: "http-5xx", Classification: ProductBug, Severity: "high", Why: "the product answered with an HTTP 5xx server error",
			Pattern: regexp.MustCompile(`(?i)internal server error|(?:status|status code|http|code|got|returned|response|expected \d{3}[^0-9\n]{0,12})[^0-9\n]{0,12}\b5(?:00|01|05|07|08|1\d)\b`)},
	}
}

// Patterns used by the structural rules (which need the stack's frames, not
// only a match).
var (
	// nameTypeError is an exception that usually means broken code: in test
	// code a CODE ISSUE, in product code a PRODUCT BUG.
	nameTypeError = regexp.MustCompile(`\b(?:NameError|AttributeError|TypeError|ReferenceError|KeyError|IndexError|NullPointerException|nil pointer dereference|ClassCastException|is not a function|is not defined|has no attribute|NoneType|undefined is not|unexpected keyword argument|required positional argument|UnboundLocalError)\b`)
	// assertionRe recognises assertion failures.
	assertionRe = regexp.MustCompile(`(?i:assert|expect|ComparisonFailure|Failed asserting|should|\bcheck(?:_\w+)?\()|\bREQUIRE\b|\bCHECK\b|toBe|toEqual`)
	// comparisonRe recognises an assertion that compared a value with an
	// expected one (the product returned something else).
	comparisonRe = regexp.MustCompile(`(?i)expected.{0,200}(?:but|got|was|found|received|actual|to (?:be|equal))|!=|\bnot equal|does not match|doesn't match|differ|Failed asserting that|ComparisonFailure|expected:|actual:|left:|right:|check_(?:eq|ne|lt|le|gt|ge)\(|REQUIRE\(|with expansion|toBe|toEqual|\b\d+ == \d+\b`)
	// exceptionRe recognises an uncaught exception (as opposed to an
	// assertion).
	exceptionRe = regexp.MustCompile(`(?:^|\s|\.)(?:\w*(?:Exception|Error)\b|panic:|panicked at|uncaught|Error:)`)
	// helperFile recognises shared test helper modules.
	helperFile = regexp.MustCompile(`(?i)(?:^|[/\\])(?:helpers?|utils?|testutils?|test_?helpers?|support|fixtures?|conftest)[^/\\]*$|(?:helpers?|utils?)\.[a-z]+$`)
	// testFile recognises test code by path.
	testFile = regexp.MustCompile(`(?i)(?:^|[/\\])(?:tests?|spec|specs|__tests__|testing|testdata|test-?suite)[/\\]|_test\.go$|Tests?\.(?:java|kt|scala|cs|php)$|\.(?:test|spec)\.[cm]?[jt]sx?$|(?:^|[/\\])test_[^/\\]*\.py$|_test\.py$|conftest\.py$|_spec\.rb$|_test\.rs$|(?:^|[/\\])tests?\.rs$`)
)

// OfflineAnalyzer is the built-in analyzer. It needs no network: first the
// nearest human-classified failures vote (when an Index is set and they
// agree enough), then the rules, in order; a failure nothing explains is a
// CODE ISSUE to review. Details always name the evidence.
type OfflineAnalyzer struct {
	// Index holds the human-classified failures to learn from; nil
	// disables learning.
	Index *SimilarityIndex
	// Rules replaces DefaultRules when non-nil.
	Rules []Rule
}

// NewOfflineAnalyzer returns an offline analyzer with the default rules
// learning from index (which may be nil).
func NewOfflineAnalyzer(index *SimilarityIndex) *OfflineAnalyzer {
	return &OfflineAnalyzer{Index: index, Rules: DefaultRules()}
}

// Provider implements Describer.
func (a *OfflineAnalyzer) Provider() string { return "bugflow" }

// Model implements Describer.
func (a *OfflineAnalyzer) Model() string { return fmt.Sprintf("offline-rules-v%d", NormaliserVersion) }

// Analyze implements Analyzer.
func (a *OfflineAnalyzer) Analyze(ctx context.Context, g Group) (Detail, error) {
	if err := ctx.Err(); err != nil {
		return Detail{}, err
	}
	f := g.Representative()
	if f.Signature == "" {
		f.Signature = g.Signature
	}
	d := a.classify(f)
	d.AffectedTests = g.TestNames()
	d.Normalise()
	return d, nil
}

// classify decides in the order of precedence: the latest human label of
// the exact signature, then the vote of similar labelled failures, then the
// rules, then the structural heuristics. The detail's Source says which.
func (a *OfflineAnalyzer) classify(f Failure) Detail {
	loc, testLoc := locate(f)
	if testLoc.file == "" {
		testLoc = loc
	}
	if a.Index != nil {
		if label, ok := a.Index.Label(f.Signature); ok {
			d := buildDetail(f, loc, testLoc, label.Classification, "", humanEvidence(label), "")
			d.Source = SourceHuman
			return d
		}
		if p, ok := a.Index.Predict(f.Message, f.StackTrace); ok {
			d := buildDetail(f, loc, testLoc, p.Classification, "", similarityEvidence(p, a.Index.Config().MinAgreement), "")
			d.Source = SourceLearned
			return d
		}
	}
	text := f.Message + "\n" + f.StackTrace
	rules := a.Rules
	if rules == nil {
		rules = DefaultRules()
	}
	for _, r := range rules {
		if m := r.Pattern.FindString(text); m != "" {
			why := fmt.Sprintf("Rule %s matched %q: %s.", r.Name, clip(strings.TrimSpace(m), 120), r.Why)
			d := buildDetail(f, loc, testLoc, r.Classification, r.Severity, why, r.Fix)
			d.Source = SourceRule
			return d
		}
	}
	d := structural(f, loc, testLoc)
	d.Source = SourceHeuristic
	return d
}

// structural classifies by where in the code the failure happened.
func structural(f Failure, loc, testLoc location) Detail {
	text := f.Message + "\n" + f.StackTrace
	// Only the message and the first lines of the body say what kind of
	// failure this is; paths in frames ("test-check/...") would mislead.
	head := f.Message + "\n" + headLines(f.StackTrace, 3)
	isAssert := assertionRe.MatchString(head)
	inHelper := loc.file != "" && helperFile.MatchString(loc.file)
	where := ""
	if loc.file != "" {
		where = fmt.Sprintf(" at %s", loc.String())
	}
	switch {
	case nameTypeError.MatchString(text):
		m := nameTypeError.FindString(text)
		if loc.file != "" && !loc.test {
			return buildDetail(f, loc, testLoc, ProductBug, "high",
				fmt.Sprintf("Rule product-exception: %s raised in product code%s, not in the test.", m, where), "")
		}
		return buildDetail(f, loc, testLoc, CodeIssue, "",
			fmt.Sprintf("Rule name-attribute-type-error: %s in test code%s: the test uses a name, attribute or type that does not exist or is wrong.", m, where),
			"Fix the name, attribute or type the test uses.")
	case isAssert && inHelper:
		return buildDetail(f, loc, testLoc, CodeIssue, "",
			fmt.Sprintf("Rule assertion-helper: the assertion fails inside the shared test helper%s, which more often means the helper is wrong than the product.", where),
			"Check the assertion helper's expectations.")
	case isAssert && comparisonRe.MatchString(head):
		return buildDetail(f, loc, testLoc, ProductBug, "medium",
			fmt.Sprintf("Rule wrong-value: the test compared a value from the product with the expected one and they differ (%s).", clip(firstLine(f.Message), 160)), "")
	case !isAssert && exceptionRe.MatchString(head) && loc.file != "" && !loc.test:
		return buildDetail(f, loc, testLoc, ProductBug, "high",
			fmt.Sprintf("Rule product-exception: an uncaught error was raised in product code%s.", where), "")
	case !isAssert && exceptionRe.MatchString(head) && loc.test:
		return buildDetail(f, loc, testLoc, CodeIssue, "",
			fmt.Sprintf("Rule test-exception: an uncaught error was raised by the test code itself%s.", where),
			"Handle or remove the error the test raises.")
	}
	return buildDetail(f, loc, testLoc, CodeIssue, "",
		"No rule matched: defaulting to CODE ISSUE for a human to review (override the classification to teach the analyzer).",
		"Review the failing test.")
}

// headLines returns the first n non-blank lines of a body that are not
// stack frames.
func headLines(body string, n int) string {
	var out []string
	for line := range strings.Lines(body) {
		t := strings.TrimSpace(line)
		if t == "" || frameLine.MatchString(t) {
			continue
		}
		out = append(out, t)
		if len(out) == n {
			break
		}
	}
	return strings.Join(out, "\n")
}

func similarityEvidence(p Prediction, threshold float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Learned from human classifications: %.0f%% of the similarity-weighted vote of the %d nearest labelled failure(s) says %s (threshold %.0f%%).",
		p.Agreement*100, len(p.Neighbours), p.Classification, threshold*100)
	for _, n := range p.Neighbours {
		ex := n.Example
		fmt.Fprintf(&b, " Similar (%.2f) to %s labelled %s", n.Similarity, ex.TestName, ex.Classification)
		if ex.LabeledBy != "" {
			fmt.Fprintf(&b, " by %s", ex.LabeledBy)
		}
		if ex.JobID != "" {
			fmt.Fprintf(&b, " in job %s", ex.JobID)
		}
		if ex.Note != "" {
			fmt.Fprintf(&b, ": %q", clip(ex.Note, 200))
		}
		b.WriteString(".")
	}
	return b.String()
}

// buildDetail assembles a Detail with the part its classification carries.
func buildDetail(f Failure, loc, testLoc location, c Classification, severity, why, fix string) Detail {
	d := Detail{Classification: c, Details: why, ArtifactsEvidence: clip(firstLine(f.Message), 500)}
	switch c {
	case CodeIssue:
		if testLoc.file != "" {
			if fix == "" {
				fix = "Review the failing test."
			}
			d.CodeFix = &CodeFix{File: testLoc.file, Line: testLoc.line, Change: fix}
		}
	case ProductBug:
		if severity == "" {
			severity = "medium"
		}
		d.ProductBugReport = bugReport(f, loc, severity, why)
	}
	return d
}

func bugReport(f Failure, loc location, severity, why string) *ProductBugReport {
	msg := firstLine(f.Message)
	component := ""
	switch {
	case loc.file != "" && !loc.test:
		component = loc.file
		if i := strings.LastIndexAny(component, `/\`); i > 0 {
			component = component[:i]
		}
	case strings.Contains(f.ClassName, "."):
		component = f.ClassName[:strings.LastIndex(f.ClassName, ".")]
	default:
		component = f.ClassName
	}
	if component == "" {
		component = "unknown"
	}
	return &ProductBugReport{
		Title:              clip(fmt.Sprintf("%s fails: %s", f.TestName, msg), 200),
		Severity:           severity,
		Component:          component,
		Description:        fmt.Sprintf("Test %s fails with %q. %s", f.TestName, clip(msg, 300), why),
		Evidence:           clip(strings.TrimSpace(f.StackTrace), 1000),
		JiraSearchKeywords: keywords(msg, 5),
		JiraMatches:        []JiraMatch{},
	}
}

var stopWords = map[string]bool{
	"the": true, "and": true, "but": true, "was": true, "got": true, "with": true, "from": true, "that": true,
	"this": true, "for": true, "not": true, "expected": true, "error": true, "assertionerror": true, "failed": true,
	"found": true, "received": true, "equal": true, "true": true, "false": true, "none": true, "null": true,
}

// keywords picks distinctive words of a message for a tracker search.
func keywords(msg string, n int) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, t := range tokens(Normalise(msg)) {
		if len(t) < 4 || stopWords[t] || seen[t] || strings.ContainsAny(t, "0123456789") {
			continue
		}
		switch t {
		case "uuid", "addr", "hex", "dur", "tmp", "email", "pod":
			continue
		}
		seen[t] = true
		out = append(out, t)
		if len(out) == n {
			break
		}
	}
	return out
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// location is where a failure happened in the code.
type location struct {
	file string
	line string
	test bool // the file is test code
}

func (l location) String() string {
	if l.line == "" {
		return l.file
	}
	return l.file + ":" + l.line
}

// locationRes find "file:line" in the common stack formats, most specific
// first.
var locationRes = []*regexp.Regexp{
	regexp.MustCompile(`File "([^"]+)", line (\d+)`),                                                                    // Python traceback
	regexp.MustCompile(`\(([\w$.-]+\.(?:java|kt|scala|groovy)):(\d+)\)`),                                                // JVM
	regexp.MustCompile(`([A-Za-z]:[\\/][^\s():]+|[^\s():"']+)\.([cm]?[jt]sx?|go|py|rs|cpp|cc|c|h|hpp|php|rb|cs):(\d+)`), // path:line
}

// locate finds where the failure surfaced: the top stack frame that is not
// framework code, falling back to the report's file/line. testLoc is the top
// frame in test code (where a code fix goes), when there is one.
func locate(f Failure) (top, testLoc location) {
	for line := range strings.Lines(f.StackTrace) {
		if isFrameworkFrame(line) {
			continue
		}
		l, ok := parseLocation(line)
		if !ok {
			continue
		}
		if top.file == "" {
			top = l
		}
		if l.test {
			testLoc = l
			break
		}
	}
	if top.file == "" && f.File != "" {
		top = location{file: f.File, line: f.Line, test: testFile.MatchString(f.File)}
		if top.test {
			testLoc = top
		}
	}
	return top, testLoc
}

func parseLocation(line string) (location, bool) {
	for i, re := range locationRes {
		m := re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var l location
		switch i {
		case 0, 1:
			l = location{file: m[1], line: m[2]}
		default:
			l = location{file: m[1] + "." + m[2], line: m[3]}
		}
		l.test = testFile.MatchString(l.file)
		return l, true
	}
	return location{}, false
}
