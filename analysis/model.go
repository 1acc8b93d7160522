package analysis

import (
	"fmt"
	"strings"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// Classification is the verdict on one failure (seeds/001 AnalysisDetail).
type Classification string

// The three classifications. The reference system only offered CODE ISSUE and
// PRODUCT BUG, so environment failures were mislabelled; bugflow adds
// INFRASTRUCTURE.
const (
	CodeIssue      Classification = "CODE ISSUE"
	ProductBug     Classification = "PRODUCT BUG"
	Infrastructure Classification = "INFRASTRUCTURE"
)

// Classifications lists the valid classifications in a stable order.
var Classifications = []Classification{CodeIssue, ProductBug, Infrastructure}

// Validate reports whether c is one of the three classifications.
func (c Classification) Validate() error {
	switch c {
	case CodeIssue, ProductBug, Infrastructure:
		return nil
	}
	return errs.InvalidField("classification", fmt.Sprintf("must be one of %q, %q, %q", CodeIssue, ProductBug, Infrastructure))
}

// ParseClassification accepts the documented spellings case-insensitively and
// with "_" or "-" for the space (CODE_ISSUE, product-bug), since callers and
// tools disagree on the separator.
func ParseClassification(s string) (Classification, error) {
	norm := strings.ToUpper(strings.TrimSpace(s))
	norm = strings.NewReplacer("_", " ", "-", " ").Replace(norm)
	c := Classification(norm)
	if err := c.Validate(); err != nil {
		return "", err
	}
	return c, nil
}

// Outcome is how one test ended in one report.
type Outcome string

// Test outcomes. A testcase with a <failure> is Failed even when it also has
// <error> or <skipped> (the reference rule: failure wins).
const (
	Passed  Outcome = "passed"
	Failed  Outcome = "failed"
	Errored Outcome = "error"
	Skipped Outcome = "skipped"
)

// IsFailure reports whether the outcome needs analysis (failed or errored).
func (o Outcome) IsFailure() bool { return o == Failed || o == Errored }

// CodeFix is the suggested change for a CODE ISSUE.
type CodeFix struct {
	File   string `json:"file"`
	Line   string `json:"line"`
	Change string `json:"change"`
}

// JiraMatch is a possibly duplicate tracker issue found for a product bug.
// The offline analyzer never fills it; tracker integrations do.
type JiraMatch struct {
	Key      string  `json:"key"`
	Summary  string  `json:"summary"`
	Status   string  `json:"status"`
	Priority string  `json:"priority"`
	URL      string  `json:"url"`
	Score    float64 `json:"score"`
}

// ProductBugReport is the draft bug for a PRODUCT BUG.
type ProductBugReport struct {
	Title              string      `json:"title"`
	Severity           string      `json:"severity"`
	Component          string      `json:"component"`
	Description        string      `json:"description"`
	Evidence           string      `json:"evidence"`
	JiraSearchKeywords []string    `json:"jira_search_keywords"`
	JiraMatches        []JiraMatch `json:"jira_matches"`
}

// Detail is the analysis of one failure group (seeds/001 AnalysisDetail).
// CodeFix is set only for CODE ISSUE and ProductBugReport only for PRODUCT
// BUG.
type Detail struct {
	Classification    Classification    `json:"classification"`
	AffectedTests     []string          `json:"affected_tests"`
	Details           string            `json:"details"`
	ArtifactsEvidence string            `json:"artifacts_evidence,omitempty"`
	CodeFix           *CodeFix          `json:"code_fix,omitempty"`
	ProductBugReport  *ProductBugReport `json:"product_bug_report,omitempty"`
	// Source says what decided the classification (SourceHuman,
	// SourceLearned, SourceRule, SourceAI or SourceHeuristic); Details
	// carries its evidence. Empty for analyzers that do not say.
	Source string `json:"classification_source,omitempty"`
}

// Normalise enforces the pairing rules between the classification and the
// optional parts: INFRASTRUCTURE carries neither a code fix nor a bug report,
// and each of the other two carries only its own.
func (d *Detail) Normalise() {
	switch d.Classification {
	case Infrastructure:
		d.CodeFix, d.ProductBugReport = nil, nil
	case CodeIssue:
		d.ProductBugReport = nil
	case ProductBug:
		d.CodeFix = nil
	}
	if d.AffectedTests == nil {
		d.AffectedTests = []string{}
	}
}

// PeerDebateRound is one contribution to a peer debate (seeds/001).
type PeerDebateRound struct {
	Round                  int            `json:"round"`
	AIProvider             string         `json:"ai_provider"`
	AIModel                string         `json:"ai_model"`
	Role                   string         `json:"role"`
	Classification         Classification `json:"classification"`
	Details                string         `json:"details"`
	AgreesWithOrchestrator *bool          `json:"agrees_with_orchestrator"`
}

// AIConfig names one analyzer taking part in a debate.
type AIConfig struct {
	AIProvider string `json:"ai_provider"`
	AIModel    string `json:"ai_model"`
}

// PeerDebate is the trail of a peer review (seeds/001). The offline analyzer
// never produces one; it is here so that debate analyzers can fill it without
// changing the result types.
type PeerDebate struct {
	ConsensusReached bool              `json:"consensus_reached"`
	RoundsUsed       int               `json:"rounds_used"`
	MaxRounds        int               `json:"max_rounds"`
	AIConfigs        []AIConfig        `json:"ai_configs"`
	Rounds           []PeerDebateRound `json:"rounds"`
}

// FailureAnalysis is one analysed failure (seeds/001 FailureAnalysis).
type FailureAnalysis struct {
	TestName       string      `json:"test_name"`
	Error          string      `json:"error"`
	Analysis       Detail      `json:"analysis"`
	ErrorSignature string      `json:"error_signature"`
	PeerDebate     *PeerDebate `json:"peer_debate,omitempty"`
}

// Result statuses of a direct analysis.
const (
	StatusCompleted = "completed"
	StatusFailed    = "failed"
)

// FailureAnalysisResult is the completed direct-failure analysis (seeds/001).
// JobID is left empty by the library functions: the job belongs to whoever
// stores the result.
type FailureAnalysisResult struct {
	JobID       string            `json:"job_id"`
	Status      string            `json:"status"`
	Summary     string            `json:"summary"`
	AIProvider  string            `json:"ai_provider"`
	AIModel     string            `json:"ai_model"`
	Failures    []FailureAnalysis `json:"failures"`
	EnrichedXML *string           `json:"enriched_xml"`
}

// FailureInput is one failure given directly instead of as JUnit XML (the
// `failures` form of POST /analyze-failures).
type FailureInput struct {
	TestName     string `json:"test_name"`
	ErrorMessage string `json:"error_message"`
	StackTrace   string `json:"stack_trace"`
}

// Validate checks that the failure names its test and that its text can be
// stored.
func (f FailureInput) Validate() error {
	if strings.TrimSpace(f.TestName) == "" {
		return errs.InvalidField("test_name", "must not be empty")
	}
	return store.CheckTexts(map[string]string{"test_name": f.TestName, "error_message": f.ErrorMessage, "stack_trace": f.StackTrace})
}
