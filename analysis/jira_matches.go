package analysis

import (
	"cmp"
	"context"
	"math"
	"strings"
	"unicode"
)

// DefaultJiraMaxResults is how many possible duplicates a product bug gets
// when the request gives no jira_max_results.
const DefaultJiraMaxResults = 5

// PhaseEnrichingJira is the progress phase of the duplicate search for
// product bugs (seeds/001).
const PhaseEnrichingJira = "enriching_jira"

// JiraMatcher fills product_bug_report.jira_matches of analysed failures;
// params are the request's (enable_jira, jira_project_key,
// jira_max_results). It reports whether it changed anything.
type JiraMatcher func(ctx context.Context, params map[string]any, failures []FailureAnalysis) bool

// SetJiraMatcher makes analyses search Jira for duplicates of their
// product bugs (Trackers.MatchJira). Call it before the service is used.
func (s *Service) SetJiraMatcher(m JiraMatcher) { s.jiraMatcher = m }

// matchJira runs the matcher over a direct analysis, keeping its enriched
// XML in line. A failed search leaves the analysis as it was.
func (s *Service) matchJira(ctx context.Context, jobID string, params map[string]any, ra *ReportAnalysis) {
	if s.jiraMatcher == nil || !hasProductBug(ra.Result.Failures) {
		return
	}
	_ = s.Progress(ctx, jobID, PhaseEnrichingJira)
	if !s.jiraMatcher(ctx, params, ra.Result.Failures) || ra.Result.EnrichedXML == nil {
		return
	}
	if x, err := refreshEnrichedXML(ctx, *ra.Result.EnrichedXML, ra.Result.Failures); err == nil {
		ra.Result.EnrichedXML = &x
	}
}

func hasProductBug(failures []FailureAnalysis) bool {
	for _, f := range failures {
		if f.Analysis.Classification == ProductBug && f.Analysis.ProductBugReport != nil {
			return true
		}
	}
	return false
}

// MatchJira searches the Jira project for bugs like each product bug, once
// per signature, with the duplicate-search JQL of REFERENCE-NOTES, when
// Jira is enabled (the request's enable_jira, else the server's Jira being
// enabled with credentials and a project). It uses the server's
// credentials: a request's Jira secrets are never stored, so a queued job
// could not have them. Search failures are logged.
func (t *Trackers) MatchJira(ctx context.Context, params map[string]any, failures []FailureAnalysis) bool {
	enabled := t.cfg.Jira.Enabled
	if v, ok := params["enable_jira"].(bool); ok {
		enabled = v
	}
	project, _ := params["jira_project_key"].(string)
	project = cmp.Or(project, t.cfg.Jira.ProjectKey)
	if !enabled || t.cfg.Jira.URL == "" || t.cfg.Jira.Token == "" || project == "" {
		return false
	}
	limit := DefaultJiraMaxResults
	if n, ok := params["jira_max_results"].(float64); ok && n >= 1 {
		limit = int(min(n, 50))
	}
	j, _, err := t.jira(Credentials{})
	if err != nil {
		return false
	}
	bySig := map[string][]JiraMatch{}
	changed := false
	for i := range failures {
		f := &failures[i]
		br := f.Analysis.ProductBugReport
		if f.Analysis.Classification != ProductBug || br == nil {
			continue
		}
		matches, done := bySig[f.ErrorSignature]
		if !done {
			keywords := searchKeywords(*f)
			found, err := j.SearchBugs(ctx, project, keywords, limit)
			if err != nil {
				t.log.WarnContext(ctx, "jira duplicate search failed", "error", err.Error())
				continue
			}
			matches = []JiraMatch{}
			for _, is := range found {
				matches = append(matches, JiraMatch{Key: is.Key, Summary: is.Summary, Status: is.Status, Priority: is.Priority,
					URL: is.URL, Score: matchScore(keywords, is.Summary)})
			}
			bySig[f.ErrorSignature] = matches
		}
		// Each failure gets its own copy: the details of a group are shared
		// values, and a later override patches failures one by one.
		cp := *br
		cp.JiraMatches = append([]JiraMatch(nil), matches...)
		f.Analysis.ProductBugReport = &cp
		changed = true
	}
	return changed
}

// matchScore is the share of the keywords' words that the summary has,
// rounded to two places: 1 when every word is there.
func matchScore(keywords []string, summary string) float64 {
	words := func(s string) []string {
		return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	}
	have := map[string]bool{}
	for _, w := range words(summary) {
		have[w] = true
	}
	want := map[string]bool{}
	for _, k := range keywords {
		for _, w := range words(k) {
			want[w] = true
		}
	}
	if len(want) == 0 {
		return 0
	}
	hit := 0
	for w := range want {
		if have[w] {
			hit++
		}
	}
	return math.Round(float64(hit)/float64(len(want))*100) / 100
}
