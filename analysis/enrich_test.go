package analysis

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeAnalyses gives every failure of rep an analysis full of characters
// that need escaping.
func fakeAnalyses(rep *Report) []FailureAnalysis {
	var out []FailureAnalysis
	for _, f := range rep.Failures {
		out = append(out, FailureAnalysis{
			TestName: f.TestName,
			Error:    f.Message,
			Analysis: Detail{
				Classification: ProductBug,
				Details:        "says <b>\"hi\" & 'bye'\x01\r\nline2 ]]> end",
				AffectedTests:  []string{f.TestName},
				ProductBugReport: &ProductBugReport{Title: "t & <t>", Severity: "high", Component: "c",
					JiraMatches: []JiraMatch{{Key: "K-1", Score: 0.5}}},
			},
			ErrorSignature: "abc",
		})
	}
	return out
}

// node is a minimal DOM for inspecting enriched output.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []node     `xml:",any"`
	Text    string     `xml:",chardata"`
}

func (n node) children(name string) []node {
	var out []node
	for _, c := range n.Nodes {
		if c.XMLName.Local == name {
			out = append(out, c)
		}
	}
	return out
}

func (n node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n node) props() map[string]string {
	m := map[string]string{}
	for _, ps := range n.children("properties") {
		for _, p := range ps.children("property") {
			m[p.attr("name")] = p.attr("value")
		}
	}
	return m
}

// walk visits every element, depth first.
func (n node) walk(fn func(n node)) {
	fn(n)
	for _, c := range n.Nodes {
		c.walk(fn)
	}
}

func parseDOM(t *testing.T, b []byte) node {
	t.Helper()
	var root node
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.CharsetReader = charsetReader
	require.NoError(t, dec.Decode(&root), "enriched XML must be well-formed")
	return root
}

// elementSeq lists every start element with its attributes, in order.
func elementSeq(t *testing.T, b []byte) []string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.CharsetReader = charsetReader
	var seq []string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return seq
		}
		require.NoError(t, err)
		if se, ok := tok.(xml.StartElement); ok {
			s := se.Name.Local
			for _, a := range se.Attr {
				s += " " + a.Name.Local + "=" + a.Value
			}
			seq = append(seq, s)
		}
	}
}

// isSubsequence reports whether every element of sub appears in seq in
// order: the enricher only adds.
func isSubsequence(sub, seq []string) bool {
	i := 0
	for _, s := range seq {
		if i < len(sub) && sub[i] == s {
			i++
		}
	}
	return i == len(sub)
}

func TestEnrichEverySample(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "junit", "*.xml"))
	require.NoError(t, err)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			original, err := os.ReadFile(file)
			require.NoError(t, err)
			rep, err := ParseJUnit(context.Background(), bytes.NewReader(original), Limits{})
			if err != nil {
				t.Skip("refused by the parser, covered by TestParseJUnitSamples")
			}
			out, err := EnrichXML(context.Background(), original, fakeAnalyses(rep), EnrichOptions{ReportURL: "https://ci.example/r?a=1&b=2"})
			require.NoError(t, err)
			if len(rep.Failures) == 0 {
				assert.Equal(t, original, out, "a report without failures comes back unchanged")
				return
			}
			root := parseDOM(t, out)
			assert.True(t, isSubsequence(elementSeq(t, original), elementSeq(t, out)), "every original element is kept, in order")

			caseFailures := 0
			for _, f := range rep.Failures {
				if !f.SuiteLevel {
					caseFailures++
				}
			}
			assert.Equal(t, caseFailures, bytes.Count(out, []byte("--- AI Analysis ---")))

			enriched := 0
			root.walk(func(n node) {
				if n.XMLName.Local != "testcase" {
					return
				}
				assert.LessOrEqual(t, len(n.children("properties")), 1, "one properties block per testcase")
				p := n.props()
				if p["ai_classification"] == "" {
					return
				}
				enriched++
				assert.Equal(t, "PRODUCT BUG", p["ai_classification"])
				assert.Equal(t, "says <b>\"hi\" & 'bye'\uFFFD\r\nline2 ]]> end", p["ai_details"])
				assert.Equal(t, "t & <t>", p["ai_bug_title"])
				assert.Equal(t, "K-1", p["ai_jira_match_1_key"])
				assert.Equal(t, "0.5", p["ai_jira_match_1_score"])
				assert.NotContains(t, p, "ai_jira_match_1_summary", "empty values are left out")
				sysOut := n.children("system-out")
				require.Len(t, sysOut, 1)
				assert.Contains(t, sysOut[0].Text, "--- AI Analysis ---\nClassification: PRODUCT BUG\n")
			})
			assert.Equal(t, caseFailures, enriched)

			var firstSuite *node
			root.walk(func(n node) {
				if firstSuite == nil && n.XMLName.Local == "testsuite" {
					firstSuite = &n
				}
			})
			require.NotNil(t, firstSuite)
			assert.Len(t, firstSuite.children("properties"), 1)
			assert.Equal(t, "https://ci.example/r?a=1&b=2", firstSuite.props()["report_url"])
		})
	}
}

func TestEnrichKeepsExistingBlocks(t *testing.T) {
	t.Parallel()
	// File 17 has testcase-level <properties> after <failure>; file 11 has
	// a suite <properties> block and a CDATA <system-out>.
	out17 := enrichSample(t, "17")
	assert.Contains(t, string(out17), "<property name=\"description\">description of test testCaseA</property>\n      "+
		`<property name="ai_classification" value="PRODUCT BUG"/>`)

	out11 := enrichSample(t, "11")
	assert.Contains(t, string(out11), `<property name="java.class.version" value="55.0"/>
  <property name="report_url" value="http://r"/></properties>`)
	assert.Contains(t, string(out11), "<system-out><![CDATA[Hello, World\n]]>\n--- AI Analysis ---\n")
}

func enrichSample(t *testing.T, prefix string) []byte {
	t.Helper()
	original := readSample(t, prefix)
	rep, err := ParseJUnit(context.Background(), bytes.NewReader(original), Limits{})
	require.NoError(t, err)
	out, err := EnrichXML(context.Background(), original, fakeAnalyses(rep), EnrichOptions{ReportURL: "http://r"})
	require.NoError(t, err)
	return out
}

func TestEnrichSelfClosingAndPrefixedBlocks(t *testing.T) {
	t.Parallel()
	doc := `<testsuites xmlns:x="urn:x"><testsuite name="s"><x:properties/>` +
		`<testcase name="a"><failure message="m"/><properties/><system-out/></testcase>` +
		`<testcase name="b"/></testsuite></testsuites>`
	rep, err := ParseJUnit(context.Background(), strings.NewReader(doc), Limits{})
	require.NoError(t, err)
	out, err := EnrichXML(context.Background(), []byte(doc), fakeAnalyses(rep), EnrichOptions{ReportURL: "http://r"})
	require.NoError(t, err)
	s := string(out)
	assert.Contains(t, s, `<x:properties><property name="report_url" value="http://r"/></x:properties>`)
	assert.Contains(t, s, `<properties><property name="ai_classification" value="PRODUCT BUG"/>`)
	assert.Contains(t, s, "<system-out>\n--- AI Analysis ---\n")
	assert.Contains(t, s, `<testcase name="b"/>`, "a passing testcase is untouched")
	parseDOM(t, out)
}

func TestEnrichLatin1BecomesUTF8(t *testing.T) {
	t.Parallel()
	doc := []byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<testsuite name=\"s\xe9\"><testcase name=\"caf\xe9\"><failure message=\"x\"/></testcase></testsuite>")
	rep, err := ParseJUnit(context.Background(), bytes.NewReader(doc), Limits{})
	require.NoError(t, err)
	out, err := EnrichXML(context.Background(), doc, fakeAnalyses(rep), EnrichOptions{ReportURL: "http://r"})
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(out, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)), string(out))
	root := parseDOM(t, out)
	assert.Equal(t, "sé", root.attr("name"))
	assert.Equal(t, "PRODUCT BUG", root.children("testcase")[0].props()["ai_classification"])
}

func TestEnrichWithoutAnalysesIsUnchanged(t *testing.T) {
	t.Parallel()
	original := readSample(t, "01")
	out, err := EnrichXML(context.Background(), original, nil, EnrichOptions{ReportURL: "http://r"})
	require.NoError(t, err)
	assert.Equal(t, original, out)
}

// overridden returns analyses as overrides leave them: classifications
// changed (rotating through the three, in three signature groups) with the
// code fix and bug report that go with them; an override never changes
// details.
func overridden(in []FailureAnalysis) []FailureAnalysis {
	out := make([]FailureAnalysis, len(in))
	for i, fa := range in {
		fa.ErrorSignature = fmt.Sprintf("sig%d", i%3)
		switch i % 3 {
		case 0:
			fa.Analysis.Classification = Infrastructure
		case 1:
			fa.Analysis.Classification = CodeIssue
			fa.Analysis.CodeFix = &CodeFix{File: "cart.py", Line: "12", Change: "use a < b & c"}
		}
		fa.Analysis.Normalise()
		out[i] = fa
	}
	return out
}

// Refreshing an enriched report gives exactly what enriching the original
// with the new analyses gives, on every sample.
func TestRefreshEnrichedXMLEverySample(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "junit", "*.xml"))
	require.NoError(t, err)
	ctx := context.Background()
	opts := EnrichOptions{ReportURL: "https://ci.example/r?a=1&b=2"}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			original, err := os.ReadFile(file)
			require.NoError(t, err)
			rep, err := ParseJUnit(ctx, bytes.NewReader(original), Limits{})
			if err != nil {
				t.Skip("refused by the parser, covered by TestParseJUnitSamples")
			}
			before := fakeAnalyses(rep)
			after := overridden(before)
			enriched, err := EnrichXML(ctx, original, before, opts)
			require.NoError(t, err)
			want, err := EnrichXML(ctx, original, after, opts)
			require.NoError(t, err)

			refreshed, err := refreshEnrichedXML(ctx, string(enriched), after)
			require.NoError(t, err)
			assert.Equal(t, string(want), refreshed)
			again, err := refreshEnrichedXML(ctx, refreshed, after)
			require.NoError(t, err)
			assert.Equal(t, refreshed, again, "refreshing with the same analyses changes nothing")
			back, err := refreshEnrichedXML(ctx, refreshed, before)
			require.NoError(t, err)
			assert.Equal(t, string(enriched), back)
		})
	}
}

func TestRefreshEnrichedXMLFindsItsOwnBlocks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// The report was enriched once before bugflow saw it (a block without
	// details, ai_* properties of another tool) and the failure message,
	// quoted in the details, holds a summary of its own.
	doc := `<testsuite name="s"><testcase name="a"><failure message="m"/>` +
		`<properties><property name="ai_classification" value="CODE ISSUE"/><property name="owner" value="x"/></properties>` +
		"<system-out>log\n--- AI Analysis ---\nClassification: CODE ISSUE\n</system-out></testcase></testsuite>"
	quoted := "expected no diff, got \"\n--- AI Analysis ---\nClassification: CODE ISSUE\nDetails: x\n\""
	analysis := func(c Classification) []FailureAnalysis {
		return []FailureAnalysis{{TestName: "a", ErrorSignature: "s1", Analysis: Detail{Classification: c, Details: quoted}}}
	}
	enriched, err := EnrichXML(ctx, []byte(doc), analysis(ProductBug), EnrichOptions{})
	require.NoError(t, err)
	want, err := EnrichXML(ctx, []byte(doc), analysis(Infrastructure), EnrichOptions{})
	require.NoError(t, err)
	refreshed, err := refreshEnrichedXML(ctx, string(enriched), analysis(Infrastructure))
	require.NoError(t, err)
	assert.Equal(t, string(want), refreshed)
	assert.Contains(t, refreshed, `<property name="ai_classification" value="CODE ISSUE"/><property name="owner" value="x"/><property name="ai_classification" value="INFRASTRUCTURE"/>`,
		"the other tool's properties stay")
	assert.Contains(t, refreshed, "log\n--- AI Analysis ---\nClassification: CODE ISSUE\n\n--- AI Analysis ---\nClassification: INFRASTRUCTURE\n",
		"the other tool's summary stays")
}
