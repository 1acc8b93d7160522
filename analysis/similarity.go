package analysis

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// LabeledFailure is a failure whose classification a human decided (an
// override or a review). The offline analyzer learns from these.
type LabeledFailure struct {
	Signature      string         `json:"error_signature"`
	TestName       string         `json:"test_name"`
	Message        string         `json:"error_message"`
	StackTrace     string         `json:"stack_trace,omitempty"`
	Classification Classification `json:"classification"`
	// Note is the human's reason or comment, copied into the evidence of
	// predictions (as Report Portal copies the matched item's comment).
	Note      string `json:"note,omitempty"`
	LabeledBy string `json:"labeled_by,omitempty"`
	// JobID names the analysis the label was given in, for the evidence.
	JobID string `json:"job_id,omitempty"`
}

// ExampleSource supplies the human-classified failures to learn from; the
// storage layer implements it.
type ExampleSource interface {
	Examples(ctx context.Context) ([]LabeledFailure, error)
}

// Similarity defaults. They follow Report Portal's auto-analysis: it takes
// the top hits above a minimum similarity and applies a defect type only when
// its share is at least 0.5; bugflow asks a little more (0.6) because a
// wrong automatic label costs a human more than no label.
const (
	DefaultNeighbours    = 5
	DefaultMinSimilarity = 0.5
	DefaultMinAgreement  = 0.6
)

// SimilarityConfig tunes the nearest-neighbour vote. Zero values take the
// defaults above.
type SimilarityConfig struct {
	// Neighbours is k: how many of the most similar labelled failures vote.
	Neighbours int
	// MinSimilarity is the cosine similarity (0..1) a labelled failure
	// needs to vote at all.
	MinSimilarity float64
	// MinAgreement is the similarity-weighted share (0..1) the winning
	// classification needs among the voters to be applied.
	MinAgreement float64
}

// SimilarityIndex is an in-memory TF-IDF index of labelled failures over
// their normalised messages and top frames. It is safe for concurrent use;
// Add makes every human decision count at once.
type SimilarityIndex struct {
	cfg SimilarityConfig

	mu       sync.RWMutex
	docs     []indexedDoc
	bySig    map[string]int
	postings map[string][]posting
	// idf and norms are recomputed lazily after Add.
	dirty bool
	idf   map[string]float64
	norms []float64
}

type indexedDoc struct {
	ex LabeledFailure
	tf map[string]float64
}

type posting struct {
	doc int
	tf  float64
}

// NewSimilarityIndex returns an empty index.
func NewSimilarityIndex(cfg SimilarityConfig) *SimilarityIndex {
	if cfg.Neighbours <= 0 {
		cfg.Neighbours = DefaultNeighbours
	}
	if cfg.MinSimilarity <= 0 {
		cfg.MinSimilarity = DefaultMinSimilarity
	}
	if cfg.MinAgreement <= 0 {
		cfg.MinAgreement = DefaultMinAgreement
	}
	return &SimilarityIndex{cfg: cfg, bySig: map[string]int{}, postings: map[string][]posting{}}
}

// Config returns the effective configuration.
func (ix *SimilarityIndex) Config() SimilarityConfig { return ix.cfg }

// Len returns the number of labelled failures indexed.
func (ix *SimilarityIndex) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.docs)
}

// Load adds every example of src.
func (ix *SimilarityIndex) Load(ctx context.Context, src ExampleSource) error {
	examples, err := src.Examples(ctx)
	if err != nil {
		return fmt.Errorf("load labelled failures: %w", err)
	}
	for _, ex := range examples {
		if err := ix.Add(ex); err != nil {
			return err
		}
	}
	return nil
}

// Add indexes one labelled failure. A later label for the same signature
// replaces the earlier one: the latest human decision wins.
func (ix *SimilarityIndex) Add(ex LabeledFailure) error {
	if err := ex.Classification.Validate(); err != nil {
		return err
	}
	if ex.Signature == "" {
		ex.Signature = Signature(ex.Message, ex.StackTrace)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if i, ok := ix.bySig[ex.Signature]; ok {
		// Same text, so the term vector is unchanged: only the label moves.
		ix.docs[i].ex = ex
		return nil
	}
	tf := termFrequencies(ex.Message, ex.StackTrace)
	i := len(ix.docs)
	ix.docs = append(ix.docs, indexedDoc{ex: ex, tf: tf})
	ix.bySig[ex.Signature] = i
	for term, f := range tf {
		ix.postings[term] = append(ix.postings[term], posting{doc: i, tf: f})
	}
	ix.dirty = true
	return nil
}

// Neighbour is one labelled failure similar to a query.
type Neighbour struct {
	Example    LabeledFailure
	Similarity float64
}

// Prediction is the outcome of the vote.
type Prediction struct {
	Classification Classification
	// Agreement is the similarity-weighted share of the winning label.
	Agreement float64
	// Neighbours are the voters, most similar first.
	Neighbours []Neighbour
}

// Predict returns the classification the nearest labelled failures agree on,
// and false when none is similar enough or they do not agree enough.
func (ix *SimilarityIndex) Predict(message, stack string) (Prediction, bool) {
	ix.refresh()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if len(ix.docs) == 0 {
		return Prediction{}, false
	}
	q := termFrequencies(message, stack)
	var qnorm float64
	scores := make([]float64, len(ix.norms))
	for term, f := range q {
		idf, ok := ix.idf[term]
		if !ok {
			// Unknown terms still count toward the query's length, so a
			// query sharing one word with an example does not look close.
			idf = ix.idf[""]
		}
		w := f * idf
		qnorm += w * w
		for _, p := range ix.postings[term] {
			if p.doc < len(scores) {
				scores[p.doc] += w * p.tf * idf
			}
		}
	}
	if qnorm == 0 {
		return Prediction{}, false
	}
	qnorm = math.Sqrt(qnorm)
	var hits []Neighbour
	// Documents added after the last refresh are beyond len(scores): they
	// vote from the next query on.
	for doc, dot := range scores {
		if dot == 0 {
			continue
		}
		sim := dot / (qnorm * ix.norms[doc])
		if sim >= ix.cfg.MinSimilarity {
			hits = append(hits, Neighbour{Example: ix.docs[doc].ex, Similarity: math.Min(sim, 1)})
		}
	}
	if len(hits) == 0 {
		return Prediction{}, false
	}
	slices.SortFunc(hits, func(a, b Neighbour) int {
		if a.Similarity != b.Similarity {
			if a.Similarity > b.Similarity {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Example.Signature, b.Example.Signature)
	})
	if len(hits) > ix.cfg.Neighbours {
		hits = hits[:ix.cfg.Neighbours]
	}
	votes := map[Classification]float64{}
	var total float64
	for _, h := range hits {
		votes[h.Example.Classification] += h.Similarity
		total += h.Similarity
	}
	var best Classification
	for _, c := range Classifications {
		if votes[c] > votes[best] {
			best = c
		}
	}
	p := Prediction{Classification: best, Agreement: votes[best] / total, Neighbours: hits}
	return p, p.Agreement >= ix.cfg.MinAgreement
}

// refresh recomputes idf and document norms after additions.
func (ix *SimilarityIndex) refresh() {
	ix.mu.RLock()
	dirty := ix.dirty
	ix.mu.RUnlock()
	if !dirty {
		return
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if !ix.dirty {
		return
	}
	n := float64(len(ix.docs))
	ix.idf = make(map[string]float64, len(ix.postings)+1)
	for term, ps := range ix.postings {
		ix.idf[term] = math.Log((1+n)/(1+float64(len(ps)))) + 1
	}
	// The weight of a term never seen in any example.
	ix.idf[""] = math.Log(1+n) + 1
	ix.norms = make([]float64, len(ix.docs))
	for i, d := range ix.docs {
		var s float64
		for term, f := range d.tf {
			w := f * ix.idf[term]
			s += w * w
		}
		ix.norms[i] = math.Sqrt(s)
		if ix.norms[i] == 0 {
			ix.norms[i] = 1
		}
	}
	ix.dirty = false
}

// termFrequencies turns a failure into sublinear term weights over the
// normalised message and top frames: word unigrams and bigrams of the
// message, unigrams of the frames.
func termFrequencies(message, stack string) map[string]float64 {
	counts := map[string]int{}
	msg := tokens(Normalise(message))
	for i, t := range msg {
		counts[t]++
		if i > 0 {
			counts[msg[i-1]+" "+t]++
		}
	}
	for _, f := range Frames(stack, SignatureFrames) {
		for _, t := range tokens(f) {
			counts["f:"+t]++
		}
	}
	tf := make(map[string]float64, len(counts))
	for t, c := range counts {
		tf[t] = 1 + math.Log(float64(c))
	}
	return tf
}

func tokens(s string) []string {
	fields := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_'
	})
	out := fields[:0]
	for _, f := range fields {
		if len(f) >= 2 {
			out = append(out, f)
		}
	}
	return out
}
