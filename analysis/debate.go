package analysis

import (
	"context"
	"sync"
)

// PeerReview is a peer's judgement of the orchestrator's analysis.
type PeerReview struct {
	Agrees         bool
	Classification Classification
	Reasoning      string
}

// Reviewer is an optional capability of a peer Analyzer: it judges another
// analysis. Peers without it analyse on their own, and agree when they
// reach the same classification.
type Reviewer interface {
	Review(ctx context.Context, g Group, main Detail) (PeerReview, error)
}

// Reviser is an optional capability of the orchestrating Analyzer: it
// reconsiders its analysis in the light of the peers' reviews. An
// orchestrator without it keeps its first analysis, so the debate ends
// after one round.
type Reviser interface {
	Revise(ctx context.Context, g Group, current Detail, reviews []PeerDebateRound) (Detail, error)
}

// Peer-debate roles of PeerDebateRound.Role.
const (
	RoleOrchestrator = "orchestrator"
	RolePeer         = "peer"
)

// DefaultPeerRounds is seeds/001's default peer_analysis_max_rounds.
const DefaultPeerRounds = 3

// Debate is the peer debate of REFERENCE-NOTES.md over any analyzers: the
// main analyzer (the orchestrator) analyses first; each round the peers
// review its analysis in parallel; consensus is every peer that answered
// validly giving the orchestrator's classification; without it the
// orchestrator revises, up to MaxRounds rounds. The whole trail is
// returned as the PeerDebate. A peer that fails is left out of that round
// (the trail says so); the orchestrator failing fails the analysis.
type Debate struct {
	Main  Analyzer
	Peers []Analyzer
	// MaxRounds bounds the rounds (1-10; other values mean
	// DefaultPeerRounds).
	MaxRounds int
}

// Provider implements Describer with the orchestrator's name.
func (d *Debate) Provider() string { p, _ := names(d.Main); return p }

// Model implements Describer.
func (d *Debate) Model() string { _, m := names(d.Main); return m }

// Analyze implements Analyzer.
func (d *Debate) Analyze(ctx context.Context, g Group) (Detail, error) {
	det, _, err := d.AnalyzeWithDebate(ctx, g)
	return det, err
}

// AnalyzeWithDebate implements DebateAnalyzer.
func (d *Debate) AnalyzeWithDebate(ctx context.Context, g Group) (Detail, *PeerDebate, error) {
	maxRounds := d.MaxRounds
	if maxRounds < MinPeerRounds || maxRounds > MaxPeerRounds {
		maxRounds = DefaultPeerRounds
	}
	current, err := d.Main.Analyze(ctx, g)
	if err != nil {
		return Detail{}, nil, err
	}
	mainProvider, mainModel := names(d.Main)
	trail := &PeerDebate{MaxRounds: maxRounds, AIConfigs: []AIConfig{}, Rounds: []PeerDebateRound{}}
	for _, p := range d.Peers {
		prov, model := names(p)
		trail.AIConfigs = append(trail.AIConfigs, AIConfig{AIProvider: prov, AIModel: model})
	}
	reviser, canRevise := d.Main.(Reviser)
	for round := 1; round <= maxRounds; round++ {
		trail.RoundsUsed = round
		trail.Rounds = append(trail.Rounds, PeerDebateRound{Round: round, AIProvider: mainProvider, AIModel: mainModel,
			Role: RoleOrchestrator, Classification: current.Classification, Details: current.Details})
		reviews := d.reviewRound(ctx, g, current, round)
		trail.Rounds = append(trail.Rounds, reviews...)
		valid, agreeing := 0, 0
		var disagreeing []PeerDebateRound
		for _, r := range reviews {
			if r.AgreesWithOrchestrator == nil {
				continue
			}
			valid++
			if *r.AgreesWithOrchestrator && r.Classification == current.Classification {
				agreeing++
			} else {
				disagreeing = append(disagreeing, r)
			}
		}
		if valid > 0 && agreeing == valid {
			trail.ConsensusReached = true
			break
		}
		if valid == 0 || !canRevise || round == maxRounds {
			break
		}
		if err := ctx.Err(); err != nil {
			return Detail{}, nil, err
		}
		revised, err := reviser.Revise(ctx, g, current, disagreeing)
		if err != nil {
			// The orchestrator could not revise: its last analysis stands.
			break
		}
		current = revised
	}
	return current, trail, nil
}

// reviewRound asks every peer at once and returns their contributions in
// peer order. A failed peer's entry has no agreement and says it failed.
func (d *Debate) reviewRound(ctx context.Context, g Group, main Detail, round int) []PeerDebateRound {
	out := make([]PeerDebateRound, len(d.Peers))
	var wg sync.WaitGroup
	for i, p := range d.Peers {
		wg.Go(func() {
			prov, model := names(p)
			entry := PeerDebateRound{Round: round, AIProvider: prov, AIModel: model, Role: RolePeer}
			// A panicking peer fails as any other would, instead of ending
			// the process from this goroutine.
			defer func() {
				if recover() != nil {
					entry.Details = "peer failed: it panicked"
					out[i] = entry
				}
			}()
			var (
				rv  PeerReview
				err error
			)
			if r, ok := p.(Reviewer); ok {
				rv, err = r.Review(ctx, g, main)
			} else {
				var own Detail
				if own, err = p.Analyze(ctx, g); err == nil {
					err = own.Classification.Validate()
				}
				rv = PeerReview{Agrees: own.Classification == main.Classification, Classification: own.Classification, Reasoning: own.Details}
			}
			if err != nil {
				entry.Details = "peer failed: " + fallbackReason(err)
				out[i] = entry
				return
			}
			agrees := rv.Agrees
			entry.Classification, entry.Details, entry.AgreesWithOrchestrator = rv.Classification, rv.Reasoning, &agrees
			out[i] = entry
		})
	}
	wg.Wait()
	return out
}

// names returns an analyzer's provider and model, or "custom" when it does
// not say.
func names(a Analyzer) (string, string) {
	if d, ok := a.(Describer); ok {
		return d.Provider(), d.Model()
	}
	return "custom", ""
}
