package analysis

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// The sources that can decide a failure's classification, in order of
// precedence: a person's label of the exact signature outranks everything,
// because users of automatic analyzers lose trust the moment an override is
// ignored on the next run.
const (
	// SourceHuman: the latest human label (override or review) of the
	// failure's signature.
	SourceHuman = "human"
	// SourceLearned: the vote of similar human-labelled failures.
	SourceLearned = "learned"
	// SourceRule: a named pattern rule of the offline analyzer.
	SourceRule = "rule"
	// SourceAI: an AI analyzer (with its peer debate, when there is one).
	SourceAI = "ai"
	// SourceHeuristic: the offline analyzer's structural guess, used when
	// nothing above decided (or the AI analyzer failed).
	SourceHeuristic = "heuristic"
)

// Label returns the latest human label of the exact signature sig.
func (ix *SimilarityIndex) Label(sig string) (LabeledFailure, bool) {
	if sig == "" {
		return LabeledFailure{}, false
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	i, ok := ix.bySig[sig]
	if !ok {
		return LabeledFailure{}, false
	}
	return ix.docs[i].ex, true
}

// humanEvidence is the details text of a failure a person has classified.
func humanEvidence(l LabeledFailure) string {
	var b strings.Builder
	b.WriteString("A person classified this failure signature: ")
	if l.TestName != "" {
		b.WriteString(l.TestName + " ")
	}
	fmt.Fprintf(&b, "labelled %s", l.Classification)
	if l.LabeledBy != "" {
		fmt.Fprintf(&b, " by %s", l.LabeledBy)
	}
	if l.JobID != "" {
		fmt.Fprintf(&b, " in job %s", l.JobID)
	}
	if l.Note != "" {
		fmt.Fprintf(&b, ": %q", clip(l.Note, 200))
	}
	b.WriteString(". The latest human label of a signature outranks every analyzer.")
	return b.String()
}

// PrecedenceAnalyzer combines the offline analyzer with an AI analyzer in
// the order of the sources: a human label of the signature, then the
// learned examples and the rules (all offline), then the AI analyzer, and
// the offline heuristics last. When the AI analyzer fails or answers
// nothing usable, the offline result stands and its details say why; the
// analysis never fails because of it.
type PrecedenceAnalyzer struct {
	// Offline is consulted first; it must not be nil.
	Offline *OfflineAnalyzer
	// AI decides what Offline only guesses; nil means offline only.
	AI Analyzer
}

// Provider implements Describer: the AI analyzer's provider when there is
// one.
func (p *PrecedenceAnalyzer) Provider() string {
	if d, ok := p.AI.(Describer); ok {
		return d.Provider()
	}
	return p.Offline.Provider()
}

// Model implements Describer.
func (p *PrecedenceAnalyzer) Model() string {
	if d, ok := p.AI.(Describer); ok {
		return d.Model()
	}
	return p.Offline.Model()
}

// Analyze implements Analyzer.
func (p *PrecedenceAnalyzer) Analyze(ctx context.Context, g Group) (Detail, error) {
	d, _, err := p.AnalyzeWithDebate(ctx, g)
	return d, err
}

// AnalyzeWithDebate implements DebateAnalyzer: the debate trail is the AI
// analyzer's, present only when the AI decided.
func (p *PrecedenceAnalyzer) AnalyzeWithDebate(ctx context.Context, g Group) (Detail, *PeerDebate, error) {
	off, err := p.Offline.Analyze(ctx, g)
	if err != nil {
		return Detail{}, nil, err
	}
	if p.AI == nil || off.Source != SourceHeuristic {
		return off, nil, nil
	}
	var (
		d      Detail
		debate *PeerDebate
	)
	if da, ok := p.AI.(DebateAnalyzer); ok {
		d, debate, err = da.AnalyzeWithDebate(ctx, g)
	} else {
		d, err = p.AI.Analyze(ctx, g)
	}
	if err == nil {
		err = d.Classification.Validate()
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			// The caller gave up: that is no analyzer fault to paper over.
			return Detail{}, nil, ctxErr
		}
		off.Details = strings.TrimSpace(fmt.Sprintf("%s The %s analyzer failed (%s); the offline analysis above is used instead.",
			off.Details, describe(p.AI), fallbackReason(err)))
		return off, nil, nil
	}
	d.Source = SourceAI
	d.AffectedTests = g.TestNames()
	d.Normalise()
	return d, debate, nil
}

// describe names an analyzer as provider/model.
func describe(a Analyzer) string {
	if d, ok := a.(Describer); ok {
		return d.Provider() + "/" + d.Model()
	}
	return "AI"
}

// fallbackReason is a short, secret-free reason an AI analyzer failed.
func fallbackReason(err error) string {
	var ae *AIError
	if errors.As(err, &ae) {
		return ae.Reason
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	return clip(err.Error(), 200)
}
