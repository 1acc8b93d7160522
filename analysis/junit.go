package analysis

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/bugflow/bugflow/errs"
)

// Limits caps what the JUnit parser accepts. Zero fields take the defaults
// below; they exist because reports are untrusted input (OWASP API4:
// unrestricted resource consumption).
type Limits struct {
	// MaxBytes is the largest report accepted (default 128 MiB). A larger
	// one fails with errs.TooLarge.
	MaxBytes int64
	// MaxElements is the largest number of elements (default 10,000,000);
	// more fails with errs.TooLarge.
	MaxElements int
	// MaxDepth is the deepest element nesting (default 64); deeper fails
	// with errs.Invalid. Real reports nest a handful of levels.
	MaxDepth int
	// MaxTextBytes is how much of one failure or error body is kept (default
	// 64 KiB); the rest is dropped so that memory stays proportional to one
	// testcase, never to the file.
	MaxTextBytes int
}

// Default limits.
const (
	DefaultMaxBytes     = 128 << 20
	DefaultMaxElements  = 10_000_000
	DefaultMaxDepth     = 64
	DefaultMaxTextBytes = 64 << 10
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxElements <= 0 {
		l.MaxElements = DefaultMaxElements
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxTextBytes <= 0 {
		l.MaxTextBytes = DefaultMaxTextBytes
	}
	return l
}

// TestCase is one <testcase> entry of a report (or an <error>/<failure>
// placed directly in a <testsuite>, see SuiteLevel).
type TestCase struct {
	// Suite is the name of the innermost enclosing <testsuite>.
	Suite     string
	ClassName string
	Name      string
	// TestName is ClassName + "." + Name, or Name when there is no class
	// name: the reference system's rule, used for matching and history.
	TestName string
	Outcome  Outcome
	// Message is the stripped message attribute of the deciding <failure>
	// or <error>, else the first non-blank line of its text. For skipped
	// tests it is the skip message.
	Message string
	// Type is the type attribute of the deciding element.
	Type string
	// StackTrace is the text of the deciding element, capped at
	// Limits.MaxTextBytes.
	StackTrace string
	// File and Line come from the deciding element's or the testcase's
	// file/line attributes (pytest, Catch2), when present.
	File string
	Line string
	// Failures counts <failure> elements; several per testcase happen.
	Failures int
	// Reruns counts Surefire flakyFailure, flakyError, rerunFailure and
	// rerunError children.
	Reruns int
	// Flaky is set when the test passed after failing runs in the same
	// report (Surefire flakyFailure/flakyError or rerun elements without a
	// final failure).
	Flaky bool
	// SuiteLevel marks an <error>/<failure> placed directly inside a
	// <testsuite> (a suite setup crash); TestName is then the suite name.
	SuiteLevel bool

	anchor *caseAnchor
}

// Counts summarises a report. Tests = Passed + Failed + Errors + Skipped;
// Ignored testcases (no name) are not in Tests.
type Counts struct {
	Tests   int `json:"tests"`
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Errors  int `json:"errors"`
	Skipped int `json:"skipped"`
	// Flaky counts passed tests with flaky evidence (reruns).
	Flaky int `json:"flaky"`
	// Ignored counts testcases skipped for having no name.
	Ignored int `json:"ignored"`
}

func (c *Counts) add(tc TestCase) {
	c.Tests++
	switch tc.Outcome {
	case Passed:
		c.Passed++
	case Failed:
		c.Failed++
	case Errored:
		c.Errors++
	case Skipped:
		c.Skipped++
	}
	if tc.Flaky {
		c.Flaky++
	}
}

// skipStatuses are testcase status attribute values that mean "not run"
// even without a <skipped> child (the C++ tst framework writes
// status="disabled").
var skipStatuses = map[string]bool{"disabled": true, "skipped": true, "notrun": true, "not_run": true, "ignored": true}

// span locates one element in the parsed stream by byte offsets, so that the
// enricher can insert into it later without re-parsing.
type span struct {
	found       bool
	open        int64 // start of the start tag
	openEnd     int64 // end of the start tag
	close       int64 // start of the end tag (== openEnd when self-closing)
	selfClosing bool
}

// caseAnchor holds where enrichment goes for one failed testcase.
type caseAnchor struct {
	testcase   span
	properties span // first direct <properties> child
	systemOut  span // first direct <system-out> child
}

// element is one open element on the parser's stack.
type element struct {
	name    string
	openEnd int64
	open    int64
}

// ScanJUnit reads a JUnit XML report as a stream and calls fn for every
// named testcase, in document order. Memory stays proportional to one
// testcase: nothing but the current testcase is held. It returns the counts.
//
// Rules: <failure> wins over <error>, which wins over <skipped>; the first
// failure (or error) gives the message and text; testcases without a name
// are ignored; Surefire flakyFailure/rerunFailure children on a testcase
// without a final failure mean it passed on rerun (Flaky). Any DTD is
// refused with errs.Invalid before anything in it is used; malformed or
// truncated XML is errs.Invalid naming the line; limits give errs.TooLarge.
func ScanJUnit(ctx context.Context, r io.Reader, lim Limits, fn func(TestCase) error) (Counts, error) {
	s := newScanner(r, lim.withDefaults())
	if err := s.run(ctx, fn); err != nil {
		return Counts{}, err
	}
	return s.counts, nil
}

// Report is a parsed JUnit report: its counts, every test's outcome, and the
// failed and errored tests in full.
type Report struct {
	Counts Counts
	// Outcomes has one entry per named testcase, in document order, without
	// message or text (they are in Failures), so that passes can be
	// recorded for history and flaky detection.
	Outcomes []TestOutcome
	// Failures are the failed and errored testcases in document order.
	Failures []TestCase

	firstSuite      span
	firstSuiteProps span
	decl            declInfo
}

// TestOutcome is the compact record of one testcase.
type TestOutcome struct {
	TestName string  `json:"test_name"`
	Outcome  Outcome `json:"outcome"`
	Flaky    bool    `json:"flaky,omitempty"`
}

// ParseJUnit parses a whole report (see ScanJUnit for the rules). It holds
// every failure in memory; use ScanJUnit to process huge reports testcase by
// testcase.
func ParseJUnit(ctx context.Context, r io.Reader, lim Limits) (*Report, error) {
	s := newScanner(r, lim.withDefaults())
	rep := &Report{}
	err := s.run(ctx, func(tc TestCase) error {
		rep.Outcomes = append(rep.Outcomes, TestOutcome{TestName: tc.TestName, Outcome: tc.Outcome, Flaky: tc.Flaky})
		if tc.Outcome.IsFailure() {
			rep.Failures = append(rep.Failures, tc)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep.Counts = s.counts
	rep.firstSuite = s.firstSuite
	rep.firstSuiteProps = s.firstSuiteProps
	rep.decl = s.decl
	return rep, nil
}

// errTooLarge is returned by limitReader once the byte cap is passed.
var errTooLarge = errors.New("report exceeds the size limit")

// limitReader fails (rather than stopping quietly like io.LimitReader) once
// more than n bytes were read, so that a cut-off report is never mistaken
// for a complete one.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, errTooLarge
	}
	return n, err
}

// declInfo records the XML declaration's encoding so that the enricher can
// rewrite it when it transcodes the document to UTF-8.
type declInfo struct {
	encoding string
}

type scanner struct {
	lim Limits
	dec *xml.Decoder

	stack    []element
	elements int
	counts   Counts
	decl     declInfo

	// suites holds the names of the open <testsuite> elements.
	suites []string

	firstSuite      span
	firstSuiteProps span
	sawSuite        bool

	// cur is the testcase being read; nil outside one.
	cur      *caseState
	suiteErr *captureState
}

// captureState collects one failure/error element.
type captureState struct {
	kind    string // "failure" or "error"
	message string
	typ     string
	file    string
	line    string
	text    strings.Builder
	depth   int // stack depth of the element
	capture bool
}

type caseState struct {
	tc       TestCase
	depth    int
	status   string
	failure  *captureState
	errorEl  *captureState
	skipped  bool
	skipMsg  string
	capture  *captureState // element whose text is being collected
	anchor   caseAnchor
	propsSet bool
	sysSet   bool
}

func newScanner(r io.Reader, lim Limits) *scanner {
	br := bufio.NewReaderSize(&limitReader{r: r, n: lim.MaxBytes}, 64<<10)
	// A UTF-8 byte order mark is legal before the declaration but
	// encoding/xml rejects it.
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = br.Discard(3)
	}
	s := &scanner{lim: lim}
	d := xml.NewDecoder(br)
	d.Strict = true
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		s.decl.encoding = label
		return charsetReader(label, in)
	}
	s.dec = d
	return s
}

// charsetReader supports the encodings seen in real reports besides UTF-8:
// ISO-8859-1 and its Windows superset, windows-1252.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return in, nil
	}
	table := singleByteTable(label)
	if table == nil {
		return nil, errs.Invalidf("unsupported XML encoding %q (use UTF-8)", label)
	}
	return &singleByteReader{r: bufio.NewReader(in), table: table}, nil
}

var latin1Table, cp1252Table [256]rune

func init() {
	for i := range latin1Table {
		latin1Table[i] = rune(i)
	}
	cp1252Table = latin1Table
	// The bytes where windows-1252 differs from ISO-8859-1; the five it
	// leaves undefined keep their ISO-8859-1 meaning, as browsers do.
	for b, r := range map[int]rune{
		0x80: 0x20AC, 0x82: 0x201A, 0x83: 0x0192, 0x84: 0x201E, 0x85: 0x2026, 0x86: 0x2020, 0x87: 0x2021,
		0x88: 0x02C6, 0x89: 0x2030, 0x8A: 0x0160, 0x8B: 0x2039, 0x8C: 0x0152, 0x8E: 0x017D, 0x91: 0x2018,
		0x92: 0x2019, 0x93: 0x201C, 0x94: 0x201D, 0x95: 0x2022, 0x96: 0x2013, 0x97: 0x2014, 0x98: 0x02DC,
		0x99: 0x2122, 0x9A: 0x0161, 0x9B: 0x203A, 0x9C: 0x0153, 0x9E: 0x017E, 0x9F: 0x0178,
	} {
		cp1252Table[b] = r
	}
}

// singleByteTable returns the byte-to-rune table of a single-byte encoding
// label, or nil when it is not supported.
func singleByteTable(label string) *[256]rune {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1":
		return &latin1Table
	case "windows-1252", "cp1252", "x-cp1252":
		return &cp1252Table
	}
	return nil
}

// singleByteReader decodes a single-byte encoding to UTF-8.
type singleByteReader struct {
	r       *bufio.Reader
	table   *[256]rune
	pending []byte
}

func (l *singleByteReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(l.pending) > 0 {
			c := copy(p[n:], l.pending)
			l.pending = l.pending[c:]
			n += c
			continue
		}
		b, err := l.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if b < utf8.RuneSelf {
			p[n] = b
			n++
			continue
		}
		l.pending = utf8.AppendRune(l.pending[:0], l.table[b])
	}
	return n, nil
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// syntaxErr turns a decoder error into a classified one naming where the
// document broke.
func (s *scanner) syntaxErr(err error) error {
	if errors.Is(err, errTooLarge) {
		return errs.TooLargef("JUnit report is larger than %d bytes", s.lim.MaxBytes)
	}
	if errs.As(err) != nil {
		return err
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return errs.Wrap(errs.Invalid, err, "malformed JUnit XML at line %d (byte offset %d): %s", se.Line, s.dec.InputOffset(), se.Msg)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		line, _ := s.dec.InputPos()
		return errs.Wrap(errs.Invalid, err, "malformed JUnit XML: truncated at line %d (byte offset %d)", line, s.dec.InputOffset())
	}
	return errs.Wrap(errs.Invalid, err, "cannot read JUnit XML: %v", err)
}

func (s *scanner) run(ctx context.Context, fn func(TestCase) error) error {
	tokens := 0
	sawRoot := false
	for {
		tokens++
		if tokens&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		before := s.dec.InputOffset()
		tok, err := s.dec.Token()
		if err == io.EOF {
			if !sawRoot {
				return errs.Invalidf("malformed JUnit XML: no root element")
			}
			if len(s.stack) > 0 {
				line, _ := s.dec.InputPos()
				return errs.Invalidf("malformed JUnit XML: truncated at line %d (byte offset %d), <%s> not closed", line, s.dec.InputOffset(), s.stack[len(s.stack)-1].name)
			}
			return nil
		}
		if err != nil {
			return s.syntaxErr(err)
		}
		after := s.dec.InputOffset()
		switch t := tok.(type) {
		case xml.Directive:
			// Any <!DOCTYPE ...>, internal subset or not, is refused before
			// its entities could be used: JUnit reports never need one.
			return errs.Invalidf("JUnit XML with a DTD (<!DOCTYPE ...>) is not accepted (line %d)", s.line())
		case xml.StartElement:
			if !sawRoot {
				if t.Name.Local != "testsuites" && t.Name.Local != "testsuite" {
					return errs.Invalidf("not a JUnit report: root element is <%s>, want <testsuites> or <testsuite>", t.Name.Local)
				}
				sawRoot = true
			}
			s.elements++
			if s.elements > s.lim.MaxElements {
				return errs.TooLargef("JUnit report has more than %d elements", s.lim.MaxElements)
			}
			if len(s.stack) >= s.lim.MaxDepth {
				return errs.Invalidf("JUnit XML nests deeper than %d elements (line %d)", s.lim.MaxDepth, s.line())
			}
			s.stack = append(s.stack, element{name: t.Name.Local, open: before, openEnd: after})
			s.start(t, before, after)
		case xml.EndElement:
			top := s.stack[len(s.stack)-1]
			s.stack = s.stack[:len(s.stack)-1]
			sp := span{found: true, open: top.open, openEnd: top.openEnd, close: before, selfClosing: before == top.openEnd && after == before}
			if err := s.end(top.name, sp, fn); err != nil {
				return err
			}
		case xml.CharData:
			s.text(t)
		}
	}
}

func (s *scanner) line() int {
	line, _ := s.dec.InputPos()
	return line
}

func (s *scanner) start(t xml.StartElement, open, openEnd int64) {
	name := t.Name.Local
	depth := len(s.stack) // depth of this element (1 = root)
	parent := ""
	if depth >= 2 {
		parent = s.stack[depth-2].name
	}
	if c := s.cur; c != nil {
		if depth != c.depth+1 {
			return
		}
		switch name {
		case "failure", "error":
			cs := newCapture(name, t, depth)
			c.tc.Failures += btoi(name == "failure")
			switch {
			case name == "failure" && c.failure == nil:
				c.failure = cs
				c.capture = cs
			case name == "error" && c.errorEl == nil:
				c.errorEl = cs
				c.capture = cs
			}
		case "skipped":
			if !c.skipped {
				c.skipped = true
				c.skipMsg = strings.TrimSpace(attr(t, "message"))
			}
		case "flakyFailure", "flakyError", "rerunFailure", "rerunError":
			c.tc.Reruns++
		case "properties":
			if !c.propsSet {
				c.propsSet = true
				c.anchor.properties = span{found: true, open: open, openEnd: openEnd}
			}
		case "system-out":
			if !c.sysSet {
				c.sysSet = true
				c.anchor.systemOut = span{found: true, open: open, openEnd: openEnd}
			}
		}
		return
	}
	if s.suiteErr != nil {
		return
	}
	switch name {
	case "testsuite":
		s.suites = append(s.suites, attr(t, "name"))
		if !s.sawSuite {
			s.sawSuite = true
			s.firstSuite = span{found: true, open: open, openEnd: openEnd}
		}
	case "testcase":
		if parent != "testsuite" && parent != "testsuites" {
			return
		}
		c := &caseState{depth: depth, status: strings.ToLower(strings.TrimSpace(attr(t, "status")))}
		c.tc.ClassName = strings.TrimSpace(attr(t, "classname"))
		c.tc.Name = strings.TrimSpace(attr(t, "name"))
		c.tc.File = attr(t, "file")
		c.tc.Line = attr(t, "line")
		c.tc.Suite = s.suiteName()
		c.tc.TestName = joinName(c.tc.ClassName, c.tc.Name)
		c.anchor.testcase = span{found: true, open: open, openEnd: openEnd}
		s.cur = c
	case "failure", "error":
		if parent == "testsuite" {
			s.suiteErr = newCapture(name, t, depth)
		}
	case "properties":
		if parent == "testsuite" && depth == s.firstSuiteDepth() && !s.firstSuiteProps.found {
			s.firstSuiteProps = span{found: true, open: open, openEnd: openEnd}
		}
	}
}

// firstSuiteDepth returns the stack depth of the first testsuite while it is
// open (0 otherwise): its direct <properties> child gets report_url.
func (s *scanner) firstSuiteDepth() int {
	for i, e := range s.stack {
		if e.name == "testsuite" && e.open == s.firstSuite.open {
			return i + 2
		}
	}
	return 0
}

func newCapture(kind string, t xml.StartElement, depth int) *captureState {
	return &captureState{
		kind:    kind,
		message: strings.TrimSpace(attr(t, "message")),
		typ:     attr(t, "type"),
		file:    attr(t, "file"),
		line:    attr(t, "line"),
		depth:   depth,
		capture: true,
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func joinName(class, name string) string {
	if class == "" {
		return name
	}
	return class + "." + name
}

func (s *scanner) suiteName() string {
	if len(s.suites) == 0 {
		return ""
	}
	return s.suites[len(s.suites)-1]
}

func (s *scanner) text(t xml.CharData) {
	var cs *captureState
	switch {
	case s.cur != nil && s.cur.capture != nil:
		cs = s.cur.capture
	case s.suiteErr != nil:
		cs = s.suiteErr
	default:
		return
	}
	room := s.lim.MaxTextBytes - cs.text.Len()
	if room <= 0 {
		return
	}
	if len(t) > room {
		t = t[:room]
		// Do not cut a UTF-8 sequence in half: the decoder only hands out
		// valid UTF-8, so an invalid tail is a cut rune.
		for len(t) > 0 {
			if r, size := utf8.DecodeLastRune(t); r != utf8.RuneError || size > 1 {
				break
			}
			t = t[:len(t)-1]
		}
	}
	cs.text.Write(t)
}

func (s *scanner) end(name string, sp span, fn func(TestCase) error) error {
	depth := len(s.stack) + 1 // depth the element had
	if c := s.cur; c != nil {
		switch {
		case depth == c.depth:
			c.anchor.testcase.close = sp.close
			c.anchor.testcase.selfClosing = sp.selfClosing
			s.cur = nil
			return s.emit(c, fn)
		case depth == c.depth+1:
			switch name {
			case "failure", "error":
				c.capture = nil
			case "properties":
				if c.anchor.properties.found && c.anchor.properties.open == sp.open {
					c.anchor.properties = sp
				}
			case "system-out":
				if c.anchor.systemOut.found && c.anchor.systemOut.open == sp.open {
					c.anchor.systemOut = sp
				}
			}
		}
		return nil
	}
	if cs := s.suiteErr; cs != nil {
		if depth != cs.depth {
			return nil
		}
		s.suiteErr = nil
		name := s.suiteName()
		if name == "" {
			s.counts.Ignored++
			return nil
		}
		tc := TestCase{Suite: name, TestName: name, Name: name, SuiteLevel: true}
		fillFromCapture(&tc, cs)
		if cs.kind == "failure" {
			tc.Outcome, tc.Failures = Failed, 1
		} else {
			tc.Outcome = Errored
		}
		s.counts.add(tc)
		return fn(tc)
	}
	switch name {
	case "testsuite":
		if len(s.suites) > 0 {
			s.suites = s.suites[:len(s.suites)-1]
		}
		if sp.open == s.firstSuite.open && s.firstSuite.found && s.firstSuite.close == 0 {
			s.firstSuite = sp
		}
	case "properties":
		if s.firstSuiteProps.found && s.firstSuiteProps.open == sp.open {
			s.firstSuiteProps = sp
		}
	}
	return nil
}

func fillFromCapture(tc *TestCase, cs *captureState) {
	tc.Type = cs.typ
	tc.StackTrace = cs.text.String()
	tc.Message = cs.message
	if tc.Message == "" {
		tc.Message = firstLine(tc.StackTrace)
	}
	if cs.file != "" {
		tc.File = cs.file
		tc.Line = cs.line
	}
}

// firstLine returns the first non-blank line, trimmed.
func firstLine(s string) string {
	for line := range strings.Lines(s) {
		if t := strings.TrimSpace(line); t != "" {
			return t
		}
	}
	return ""
}

func (s *scanner) emit(c *caseState, fn func(TestCase) error) error {
	tc := c.tc
	if tc.Name == "" {
		s.counts.Ignored++
		return nil
	}
	switch {
	case c.failure != nil:
		tc.Outcome = Failed
		fillFromCapture(&tc, c.failure)
	case c.errorEl != nil:
		tc.Outcome = Errored
		fillFromCapture(&tc, c.errorEl)
	case c.skipped || skipStatuses[c.status]:
		tc.Outcome = Skipped
		tc.Message = c.skipMsg
	default:
		tc.Outcome = Passed
		tc.Flaky = tc.Reruns > 0
	}
	if tc.Outcome.IsFailure() {
		a := c.anchor
		tc.anchor = &a
	}
	s.counts.add(tc)
	if err := fn(tc); err != nil {
		return fmt.Errorf("handle testcase %q: %w", tc.TestName, err)
	}
	return nil
}
