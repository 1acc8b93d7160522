package analysis

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// AIError is an AI analyzer's failure. Reason is short and safe to show:
// it never quotes a key, a command's stderr or the model's raw answer.
type AIError struct {
	Provider string
	Reason   string
	Err      error
}

func (e *AIError) Error() string { return e.Provider + ": " + e.Reason }

// Unwrap returns the cause.
func (e *AIError) Unwrap() error { return e.Err }

// promptRunner sends one prompt to a model and returns its text answer.
// The CLI and chat-completions analyzers are promptRunners; the AI
// analyzer, the peer review and the revision are prompts over it.
type promptRunner interface {
	run(ctx context.Context, prompt string) (string, error)
	Describer
}

// PromptContext is what a request adds to every prompt.
type PromptContext struct {
	// RawPrompt is appended to the prompt (seeds/001 raw_prompt).
	RawPrompt string
	// AdditionalRepos are named to the model as further context; CLI
	// providers also get them cloned into their working directory.
	AdditionalRepos []AdditionalRepo
}

// AdditionalRepo is one entry of seeds/001 additional_repos.
type AdditionalRepo struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	Ref  string `json:"ref,omitempty"`
}

// MaxPromptFailureBytes caps how much of a failure's message and stack
// trace goes into a prompt: the top of a trace explains it, and models
// charge by the token.
const MaxPromptFailureBytes = 16 << 10

// AIAnalyzer classifies a group by asking a model (a CLI provider or a
// chat-completions server) with a prompt that asks for seeds/001's
// AnalysisDetail as JSON. It also takes part in peer debates as a
// reviewer and as the orchestrator that revises.
type AIAnalyzer struct {
	runner promptRunner
	pc     PromptContext
}

// Provider implements Describer.
func (a *AIAnalyzer) Provider() string { return a.runner.Provider() }

// Model implements Describer.
func (a *AIAnalyzer) Model() string { return a.runner.Model() }

// Analyze implements Analyzer.
func (a *AIAnalyzer) Analyze(ctx context.Context, g Group) (Detail, error) {
	return a.ask(ctx, a.analysisPrompt(g))
}

// notedRunner is a promptRunner that also reports notes for the result's
// details (the CLI runner: repositories it could not fetch).
type notedRunner interface {
	runNoted(ctx context.Context, prompt string) (string, []string, error)
}

func (a *AIAnalyzer) ask(ctx context.Context, prompt string) (Detail, error) {
	var out string
	var notes []string
	var err error
	if nr, ok := a.runner.(notedRunner); ok {
		out, notes, err = nr.runNoted(ctx, prompt)
	} else {
		out, err = a.runner.run(ctx, prompt)
	}
	if err != nil {
		return Detail{}, err
	}
	d, err := parseDetail(out)
	if err != nil {
		return Detail{}, &AIError{Provider: a.Provider(), Reason: "answer is not a usable analysis: " + err.Error(), Err: err}
	}
	if len(notes) > 0 {
		d.Details = strings.TrimSpace(d.Details + "\n\n" + strings.Join(notes, "\n"))
	}
	return d, nil
}

// Review implements Reviewer: the model judges the orchestrator's
// analysis.
func (a *AIAnalyzer) Review(ctx context.Context, g Group, main Detail) (PeerReview, error) {
	var b strings.Builder
	b.WriteString(a.failureText(g))
	b.WriteString("\nAnother analyst classified this failure as follows:\n")
	fmt.Fprintf(&b, "classification: %s\ndetails: %s\n", main.Classification, main.Details)
	b.WriteString("\nDo you agree? Answer with only a JSON object: " +
		`{"agrees": true|false, "classification": "CODE ISSUE"|"PRODUCT BUG"|"INFRASTRUCTURE", "reasoning": "..."}` +
		" where classification is your own verdict.\n")
	out, err := a.runner.run(ctx, b.String())
	if err != nil {
		return PeerReview{}, err
	}
	var r struct {
		Agrees         *bool  `json:"agrees"`
		Classification string `json:"classification"`
		Reasoning      string `json:"reasoning"`
	}
	if err := decodeJSONObject(out, &r); err != nil || r.Agrees == nil {
		return PeerReview{}, &AIError{Provider: a.Provider(), Reason: "review is not the expected JSON"}
	}
	c, err := ParseClassification(r.Classification)
	if err != nil {
		return PeerReview{}, &AIError{Provider: a.Provider(), Reason: "review has no valid classification"}
	}
	return PeerReview{Agrees: *r.Agrees, Classification: c, Reasoning: clip(r.Reasoning, 4000)}, nil
}

// Revise implements Reviser: the orchestrator reconsiders with the peers'
// reviews in front of it.
func (a *AIAnalyzer) Revise(ctx context.Context, g Group, current Detail, reviews []PeerDebateRound) (Detail, error) {
	var b strings.Builder
	b.WriteString(a.analysisPrompt(g))
	fmt.Fprintf(&b, "\nYour previous analysis was %s: %s\nPeer reviewers answered:\n", current.Classification, current.Details)
	for _, r := range reviews {
		fmt.Fprintf(&b, "- %s/%s says %s: %s\n", r.AIProvider, r.AIModel, r.Classification, r.Details)
	}
	b.WriteString("Reconsider and answer with the JSON object described above.\n")
	return a.ask(ctx, b.String())
}

// failureText describes the group to a model.
func (a *AIAnalyzer) failureText(g Group) string {
	f := g.Representative()
	var b strings.Builder
	b.WriteString("A CI test failure needs classifying.\n")
	fmt.Fprintf(&b, "Failed tests (%d share this failure signature): %s\n", len(g.Failures), strings.Join(firstN(g.TestNames(), MaxAffectedTests), ", "))
	fmt.Fprintf(&b, "Error message:\n%s\n", clip(f.Message, MaxPromptFailureBytes/4))
	if f.StackTrace != "" {
		fmt.Fprintf(&b, "Stack trace:\n%s\n", clip(f.StackTrace, MaxPromptFailureBytes))
	}
	if f.FlakyEvidence != "" {
		fmt.Fprintf(&b, "Note: %s.\n", f.FlakyEvidence)
	}
	if len(a.pc.AdditionalRepos) > 0 {
		b.WriteString("Repositories that may hold the code involved:\n")
		for _, r := range a.pc.AdditionalRepos {
			fmt.Fprintf(&b, "- %s: %s", r.Name, r.URL)
			if r.Ref != "" {
				fmt.Fprintf(&b, " (ref %s)", r.Ref)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func (a *AIAnalyzer) analysisPrompt(g Group) string {
	var b strings.Builder
	b.WriteString(a.failureText(g))
	b.WriteString(`
Classify it as exactly one of:
- CODE ISSUE: the test code, its fixtures or helpers are wrong.
- PRODUCT BUG: the product under test behaves wrongly.
- INFRASTRUCTURE: the environment failed (network, DNS, disk, memory, containers, timeouts of services).
Answer with only a JSON object:
{"classification": "...", "details": "why, citing the evidence", "artifacts_evidence": "the decisive line, verbatim",
 "code_fix": {"file": "...", "line": "...", "change": "..."} (CODE ISSUE only),
 "product_bug_report": {"title": "...", "severity": "low|medium|high|critical", "component": "...", "description": "...", "evidence": "...", "jira_search_keywords": ["..."]} (PRODUCT BUG only)}
`)
	if p := strings.TrimSpace(a.pc.RawPrompt); p != "" {
		b.WriteString("\nAdditional instructions:\n")
		b.WriteString(p)
		b.WriteString("\n")
	}
	return b.String()
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// MaxAIAnswerBytes caps what is read from a model's answer.
const MaxAIAnswerBytes = 1 << 20

// jsonFence finds a fenced code block, which models like to wrap JSON in.
var jsonFence = regexp.MustCompile("(?s)```(?:json)?\\s*(\\{.*?\\})\\s*```")

// decodeJSONObject decodes the JSON object a model answered: the whole
// answer, a fenced block, or the outermost braces of the text.
func decodeJSONObject(out string, v any) error {
	out = strings.TrimSpace(out)
	candidates := []string{out}
	if m := jsonFence.FindStringSubmatch(out); m != nil {
		candidates = append(candidates, m[1])
	}
	if i, j := strings.Index(out, "{"), strings.LastIndex(out, "}"); i >= 0 && j > i {
		candidates = append(candidates, out[i:j+1])
	}
	for _, c := range candidates {
		if json.Unmarshal([]byte(c), v) == nil {
			return nil
		}
	}
	return fmt.Errorf("no JSON object found")
}

// parseDetail turns a model's answer into a Detail, checking the
// classification.
func parseDetail(out string) (Detail, error) {
	var raw struct {
		Classification    string            `json:"classification"`
		Details           string            `json:"details"`
		ArtifactsEvidence string            `json:"artifacts_evidence"`
		CodeFix           *CodeFix          `json:"code_fix"`
		ProductBugReport  *ProductBugReport `json:"product_bug_report"`
	}
	if err := decodeJSONObject(out, &raw); err != nil {
		return Detail{}, err
	}
	c, err := ParseClassification(raw.Classification)
	if err != nil {
		return Detail{}, fmt.Errorf("classification %q is none of CODE ISSUE, PRODUCT BUG, INFRASTRUCTURE", clip(raw.Classification, 40))
	}
	d := Detail{Classification: c, Details: clip(raw.Details, 8000), ArtifactsEvidence: clip(raw.ArtifactsEvidence, 2000),
		CodeFix: raw.CodeFix, ProductBugReport: raw.ProductBugReport}
	if d.ProductBugReport != nil {
		if d.ProductBugReport.JiraSearchKeywords == nil {
			d.ProductBugReport.JiraSearchKeywords = []string{}
		}
		// Matches come from Jira, never from the model.
		d.ProductBugReport.JiraMatches = []JiraMatch{}
	}
	d.Normalise()
	return d, nil
}
