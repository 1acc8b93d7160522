package analysis

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// EnrichOptions configures EnrichXML.
type EnrichOptions struct {
	// ReportURL, when set, becomes a report_url property of the first
	// <testsuite>.
	ReportURL string
	// Limits apply to the re-parse of the original report.
	Limits Limits
}

// EnrichXML returns the original report with the analyses written into it,
// as the reference system does: every failed or errored testcase whose test
// name has an analysis gets ai_* properties (empty values left out) and a
// readable summary appended to its <system-out> after "--- AI Analysis ---";
// the first <testsuite> gets a report_url property. Everything else is
// copied byte for byte (comments, CDATA, formatting), so every original
// element is kept. A report without failures, or no analyses, comes back
// unchanged. Reports declared in ISO-8859-1 or windows-1252 come back as
// UTF-8.
func EnrichXML(ctx context.Context, original []byte, analyses []FailureAnalysis, opts EnrichOptions) ([]byte, error) {
	buf := bytes.TrimPrefix(original, []byte{0xEF, 0xBB, 0xBF})
	rep, err := ParseJUnit(ctx, bytes.NewReader(buf), opts.Limits)
	if err != nil {
		return nil, fmt.Errorf("enrich: %w", err)
	}
	return enrich(original, buf, rep, analyses, opts.ReportURL, false)
}

// refreshEnrichedXML brings the analyses written into a report enriched by
// bugflow up to date with analyses (after an override): the ai_* properties
// and the "--- AI Analysis ---" summary of every analysed failed testcase are
// rewritten where enrichment put them (added when missing); everything else
// stays byte for byte, report_url included.
func refreshEnrichedXML(ctx context.Context, enriched string, analyses []FailureAnalysis) (string, error) {
	original := []byte(enriched)
	buf := bytes.TrimPrefix(original, []byte{0xEF, 0xBB, 0xBF})
	// The document is bugflow's own output, accepted once already, and
	// enrichment made it bigger and deeper than the input it came from.
	lim := Limits{MaxBytes: int64(len(buf)) + 1, MaxElements: math.MaxInt, MaxDepth: math.MaxInt}
	rep, err := ParseJUnit(ctx, bytes.NewReader(buf), lim)
	if err != nil {
		return "", fmt.Errorf("refresh enriched XML: %w", err)
	}
	out, err := enrich(original, buf, rep, analyses, "", true)
	if err != nil {
		return "", fmt.Errorf("refresh enriched XML: %w", err)
	}
	return string(out), nil
}

// edit replaces del bytes at offset at with text.
type edit struct {
	at   int64
	del  int64
	text string
}

var declEncoding = regexp.MustCompile(`encoding\s*=\s*["'][^"']*["']`)

// summaryHeader starts the summary that enrichment appends to
// <system-out>; summaryMark is the header and the start of summaryText.
const (
	summaryHeader = "\n--- AI Analysis ---\n"
	summaryMark   = summaryHeader + "Classification: "
)

// propertiesMark starts the ai_* properties that enrichment appends to
// <properties>: ai_classification is always there and always first. Values
// are escaped, so the mark cannot occur inside one.
const propertiesMark = `<property name="ai_classification" `

// ownProperties matches those properties from the mark to the end of the
// element.
var ownProperties = regexp.MustCompile(`^<property name="ai_classification" value="[^"]*"/>(?:<property name="ai_[a-z0-9_]+" value="[^"]*"/>)*$`)

// enrich applies the analyses using the byte offsets the parser recorded in
// rep, so no second parse is needed. buf is what was parsed (original
// without a byte order mark). With replace, rep is of a report enriched
// before, and what enrichment wrote into each testcase is replaced rather
// than written a second time.
func enrich(original, buf []byte, rep *Report, analyses []FailureAnalysis, reportURL string, replace bool) ([]byte, error) {
	if len(rep.Failures) == 0 || len(analyses) == 0 {
		return original, nil
	}
	byName := make(map[string]*FailureAnalysis, len(analyses))
	for i := range analyses {
		if _, ok := byName[analyses[i].TestName]; !ok {
			byName[analyses[i].TestName] = &analyses[i]
		}
	}
	var edits []edit
	if table := singleByteTable(rep.decl.encoding); table != nil {
		// The recorded offsets are those of the UTF-8 stream the decoder
		// read after the (ASCII) declaration, so transcode first.
		buf = toUTF8(buf, table)
		if end := bytes.Index(buf, []byte("?>")); end > 0 {
			if loc := declEncoding.FindIndex(buf[:end]); loc != nil {
				edits = append(edits, edit{at: int64(loc[0]), del: int64(loc[1] - loc[0]), text: `encoding="UTF-8"`})
			}
		}
	}
	// Members of a group render the same text: render it once.
	type rendered struct{ props, summary string }
	cache := map[[2]string]rendered{}
	for _, f := range rep.Failures {
		fa := byName[f.TestName]
		if fa == nil || f.anchor == nil {
			continue
		}
		a := f.anchor
		key := [2]string{fa.ErrorSignature, fa.Analysis.Details}
		r, ok := cache[key]
		if !ok || fa.ErrorSignature == "" {
			r = rendered{props: propertiesXML(fa), summary: escapeText(summaryHeader + summaryText(fa))}
			cache[key] = r
		}
		var ownProps, ownSum func([]byte) bool
		if replace {
			ownProps, ownSum = ownProperties.Match, ownSummary(fa)
		}
		if r.props != "" {
			edits = append(edits, writeBlock(buf, a.testcase, a.properties, "properties", r.props, propertiesMark, ownProps))
		}
		edits = append(edits, writeBlock(buf, a.testcase, a.systemOut, "system-out", r.summary, summaryMark, ownSum))
	}
	if reportURL != "" && rep.firstSuite.found {
		prop := property("report_url", reportURL)
		switch {
		case rep.firstSuiteProps.found:
			edits = append(edits, insertInto(buf, rep.firstSuiteProps, prop))
		case rep.firstSuite.selfClosing:
			edits = append(edits, insertInto(buf, rep.firstSuite, "<properties>"+prop+"</properties>"))
		default:
			edits = append(edits, edit{at: rep.firstSuite.openEnd, text: "<properties>" + prop + "</properties>"})
		}
	}
	slices.SortStableFunc(edits, func(a, b edit) int { return int(a.at - b.at) })
	var out bytes.Buffer
	out.Grow(len(buf) + len(edits)*256)
	var pos int64
	for _, e := range edits {
		if e.at < pos || e.at+e.del > int64(len(buf)) {
			return nil, fmt.Errorf("enrich: edit at byte %d overlaps an earlier one", e.at)
		}
		out.Write(buf[pos:e.at])
		out.WriteString(e.text)
		pos = e.at + e.del
	}
	out.Write(buf[pos:])
	return out.Bytes(), nil
}

// writeBlock returns the edit that makes text the last content of sp, the
// testcase tc's child element called name (added at the end of tc when
// missing). With own set, what enrichment wrote there before is replaced:
// the content from the last occurrence of mark that own accepts to the end
// (enrichment appends, so its part is the last).
func writeBlock(buf []byte, tc, sp span, name, text, mark string, own func([]byte) bool) edit {
	if own != nil && sp.found && !sp.selfClosing {
		content := buf[sp.openEnd:sp.close]
		for i := bytes.LastIndex(content, []byte(mark)); i >= 0; i = bytes.LastIndex(content[:i], []byte(mark)) {
			if own(content[i:]) {
				at := sp.openEnd + int64(i)
				return edit{at: at, del: sp.close - at, text: text}
			}
		}
	}
	if sp.found {
		return insertInto(buf, sp, text)
	}
	return edit{at: tc.close, text: "<" + name + ">" + text + "</" + name + ">"}
}

// ownSummary accepts the summary enrichment wrote for a failure analysed
// like fa, whatever its classification was then: the classification line,
// then fa's details (an override changes neither details nor the group),
// and no markup to the end. The details check tells the summary from text
// in it, such as a failure message quoting another enriched report.
func ownSummary(fa *FailureAnalysis) func([]byte) bool {
	var details []byte
	if fa.Analysis.Details != "" {
		details = []byte(escapeText("Details: " + fa.Analysis.Details + "\n"))
	}
	return func(b []byte) bool {
		class, rest, ok := bytes.Cut(b[len(summaryMark):], []byte("\n"))
		return ok && Classification(class).Validate() == nil && bytes.HasPrefix(rest, details) && bytes.IndexByte(b, '<') < 0
	}
}

// insertInto adds inner as the last content of the element at sp. A
// self-closing element (<properties/>) is opened and closed around it, with
// the element's own (possibly prefixed) name.
func insertInto(buf []byte, sp span, inner string) edit {
	if !sp.selfClosing {
		return edit{at: sp.close, text: inner}
	}
	tag := buf[sp.open:sp.openEnd]
	name := strings.TrimLeft(string(tag), "<")
	if i := strings.IndexAny(name, " \t\r\n/>"); i >= 0 {
		name = name[:i]
	}
	return edit{at: sp.openEnd - 2, del: 2, text: ">" + inner + "</" + name + ">"}
}

func toUTF8(b []byte, table *[256]rune) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	for _, c := range b {
		out = utf8.AppendRune(out, table[c])
	}
	return out
}

func property(name, value string) string {
	var b strings.Builder
	b.WriteString(`<property name="`)
	_ = xml.EscapeText(&b, []byte(name))
	b.WriteString(`" value="`)
	// EscapeText also escapes quotes and newlines, which is what an
	// attribute value needs.
	_ = xml.EscapeText(&b, []byte(value))
	b.WriteString(`"/>`)
	return b.String()
}

// propertiesXML renders the ai_* properties of one analysis, leaving empty
// values out (the reference format).
func propertiesXML(fa *FailureAnalysis) string {
	var b strings.Builder
	add := func(name, value string) {
		if strings.TrimSpace(value) != "" {
			b.WriteString(property(name, value))
		}
	}
	d := fa.Analysis
	add("ai_classification", string(d.Classification))
	add("ai_details", d.Details)
	add("ai_affected_tests", affectedList(d.AffectedTests))
	add("ai_error_signature", fa.ErrorSignature)
	if cf := d.CodeFix; cf != nil {
		add("ai_code_fix_file", cf.File)
		add("ai_code_fix_line", cf.Line)
		add("ai_code_fix_change", cf.Change)
	}
	if br := d.ProductBugReport; br != nil {
		add("ai_bug_title", br.Title)
		add("ai_bug_severity", br.Severity)
		add("ai_bug_component", br.Component)
		add("ai_bug_description", br.Description)
		for i, m := range br.JiraMatches {
			p := "ai_jira_match_" + strconv.Itoa(i+1) + "_"
			add(p+"key", m.Key)
			add(p+"summary", m.Summary)
			add(p+"status", m.Status)
			add(p+"url", m.URL)
			add(p+"priority", m.Priority)
			if m.Score != 0 {
				add(p+"score", strconv.FormatFloat(m.Score, 'f', -1, 64))
			}
		}
	}
	return b.String()
}

// enrichedAffected caps the affected tests written into each testcase: a
// big group would otherwise repeat its member list in every member.
const enrichedAffected = 5

func affectedList(tests []string) string {
	if len(tests) <= enrichedAffected {
		return strings.Join(tests, ", ")
	}
	return strings.Join(tests[:enrichedAffected], ", ") + fmt.Sprintf(" and %d more", len(tests)-enrichedAffected)
}

// summaryText is the human-readable block appended to <system-out>.
func summaryText(fa *FailureAnalysis) string {
	d := fa.Analysis
	var b strings.Builder
	fmt.Fprintf(&b, "Classification: %s\n", d.Classification)
	if d.Details != "" {
		fmt.Fprintf(&b, "Details: %s\n", d.Details)
	}
	if len(d.AffectedTests) > 1 {
		fmt.Fprintf(&b, "Affected tests: %s\n", affectedList(d.AffectedTests))
	}
	if cf := d.CodeFix; cf != nil {
		fmt.Fprintf(&b, "Code fix: %s:%s: %s\n", cf.File, cf.Line, cf.Change)
	}
	if br := d.ProductBugReport; br != nil {
		fmt.Fprintf(&b, "Bug report: %s (severity %s, component %s)\n", br.Title, br.Severity, br.Component)
	}
	return b.String()
}

// escapeText escapes character data and replaces characters XML 1.0 cannot
// carry, so that inserted text never breaks well-formedness.
func escapeText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '\r':
			b.WriteString("&#xD;")
		case !isXMLChar(r):
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		(r >= 0x20 && r <= 0xD7FF) ||
		(r >= 0xE000 && r <= 0xFFFD) ||
		(r >= 0x10000 && r <= 0x10FFFF)
}
