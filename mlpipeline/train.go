package mlpipeline

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bugflow/bugflow/errs"
)

// TrainOptions configure Train. The zero value means the documented defaults.
type TrainOptions struct {
	// TextColumns overrides the detected text columns (names matched
	// ignoring case, spaces and punctuation).
	TextColumns []string
	// TargetColumns overrides the detected target columns.
	TargetColumns []string
	// Anonymize replaces personal values (assignees, reporters, e-mail
	// addresses) by keyed pseudonyms and scrubs e-mail addresses from the
	// text before training. Originals are never stored in the model.
	Anonymize bool
	// AnonKey keys the pseudonyms. Nil means a fresh random key that is not
	// kept: pseudonyms are then stable within the model but cannot be
	// reproduced or reversed by anyone, including us.
	AnonKey []byte
	// MaxRows stops ingestion after this many usable rows (0: no limit).
	MaxRows int
	// MaxRecordBytes bounds one CSV record (default DefaultMaxRecordBytes).
	MaxRecordBytes int
	// MaxInputBytes bounds the bytes read from all readers together (0: no
	// limit); beyond it Train fails with errs.TooLarge. The HTTP layer
	// limits uploads itself; this guards other callers.
	MaxInputBytes int64
	// MinClassRows is the rare-class threshold: a value with fewer training
	// rows is not predicted (its rows still serve as negatives of the other
	// classes). Default 2: one example cannot be told from noise, and
	// dropping a class costs macro-F1 only where it would be missed anyway.
	MinClassRows int
	// TestFraction of the rows is held out for the stored metrics (default
	// 0.2): the first ceil(TestFraction*rows) of NumPy's
	// RandomState(Seed).permutation, as scikit-learn's train_test_split.
	// Held-out rows train nothing, not even the vocabulary; a field is
	// measured on those of them that have a value for it.
	TestFraction float64
	// Seed of the hold-out split (default 42, as the baselines).
	Seed uint32
	// C is the SVM cost parameter (default 1, as scikit-learn's LinearSVC).
	C float64
	// DecisionRule chooses how a field's prediction is made:
	// DecisionMostProbable (the default) predicts the most probable value,
	// DecisionMacroF1 shifts the decision towards rarer values (see the
	// constant).
	DecisionRule string
	// Workers bounds parallel training (default GOMAXPROCS).
	Workers int
	// PruneWeight drops smaller absolute weights of fields with more than
	// 30 classes from the stored model (default 0.03; other fields use at
	// most 0.002), which shrinks the apache model about fivefold (65 -> 14
	// MB) at no measurable loss.
	PruneWeight float64
	// Features configure the text features.
	Features FeatureOptions
}

func (o TrainOptions) withDefaults() TrainOptions {
	if o.MinClassRows <= 0 {
		o.MinClassRows = 2
	}
	if o.TestFraction <= 0 || o.TestFraction >= 1 {
		o.TestFraction = 0.2
	}
	if o.Seed == 0 {
		o.Seed = 42
	}
	if o.C <= 0 {
		o.C = 1
	}
	if o.DecisionRule == "" {
		o.DecisionRule = DecisionMostProbable
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.PruneWeight <= 0 {
		o.PruneWeight = 0.03
	}
	o.Features = o.Features.withDefaults()
	return o
}

// Decision rules (TrainOptions.DecisionRule).
const (
	// DecisionMostProbable predicts each field's most probable value, and
	// its confidence is that value's calibrated probability. This maximises
	// the expected accuracy.
	DecisionMostProbable = "most_probable"
	// DecisionMacroF1 adds per-value shifts to the logits, chosen on the
	// calibration rows to raise macro-F1 plus half the accuracy while
	// losing at most about a point of accuracy there: rare values are
	// predicted more often, at some cost in accuracy, which on data unlike
	// the calibration rows can be larger than that point. Probabilities
	// are calibrated for the shifted decisions; the prediction is still
	// the most probable value of the shifted distribution.
	DecisionMacroF1 = "macro_f1"
)

// Stages reported by Progress.
const (
	StageParse     = "parse"
	StageTrain     = "train"
	StageCalibrate = "calibrate"
)

// Progress is reported while training runs.
type Progress struct {
	Stage string `json:"stage"`
	// Rows ingested so far (parse stage).
	Rows int `json:"rows"`
	// Done and Total count classifier units (train stage) or fields
	// (calibrate stage).
	Done  int `json:"done"`
	Total int `json:"total"`
}

// FieldReport is the outcome for one target column.
type FieldReport struct {
	Field   string       `json:"field"`
	Metrics FieldMetrics `json:"metrics"`
}

// Report describes a training run.
type Report struct {
	Roles    []ColumnRole  `json:"roles"`
	Stats    ParseStats    `json:"parse_stats"`
	Fields   []FieldReport `json:"fields"`
	Features int           `json:"features"`
	Duration time.Duration `json:"duration_ns"`
}

// cvRowsLimit: below it, calibration uses 5-fold cross-validated margins over
// all training rows (small data needs every row), and the stored model is
// then trained on all of them. Above it, the margins of one fold are enough:
// a model is trained without a slice of valFraction of the rows (at most
// maxValRows), its margins on the slice are the calibration evidence, and
// the stored model continues from it on all training rows (refit). The
// slice's few thousand rows fit the calibration's few parameters, and the
// other folds would cost a full training each.
const (
	cvRowsLimit = 8000
	cvFolds     = 5
	valFraction = 0.15
	maxValRows  = 6000
)

// refitLargeData is false only in the ablation test (ablation_test.go),
// which measures what the refit on all training rows is worth: the stored
// model is then the calibration fold's model, trained without the slice.
var refitLargeData = true

// Train reads CSV exports, detects column roles, trains one calibrated
// classifier per target column and measures it on held-out rows. The
// readers are consumed once, streaming. progress may be nil; it is never
// called concurrently.
func Train(ctx context.Context, readers []io.Reader, opts TrainOptions, progress func(Progress)) (*Model, *Report, error) {
	start := time.Now()
	o := opts.withDefaults()
	if o.DecisionRule != DecisionMostProbable && o.DecisionRule != DecisionMacroF1 {
		return nil, nil, errs.InvalidField("decision_rule", "must be "+quote(DecisionMostProbable)+" or "+quote(DecisionMacroF1))
	}
	if o.Anonymize && len(o.AnonKey) == 0 {
		o.AnonKey = make([]byte, 32)
		if _, err := rand.Read(o.AnonKey); err != nil {
			return nil, nil, fmt.Errorf("anonymisation key: %w", err)
		}
	}
	if o.MaxInputBytes > 0 {
		remaining := o.MaxInputBytes
		limited := make([]io.Reader, len(readers))
		for i, r := range readers {
			limited[i] = &limitReader{r: r, remaining: &remaining, limit: o.MaxInputBytes}
		}
		readers = limited
	}
	d, err := ingest(ctx, readers, ingestOptions{
		textColumns: o.TextColumns, maxRows: o.MaxRows, maxRecordBytes: o.MaxRecordBytes,
		anon: o.Anonymize, anonKey: o.AnonKey, features: o.Features, progress: progress,
		testFraction: o.TestFraction, seed: o.Seed,
	})
	if err != nil {
		return nil, nil, err
	}
	report := &Report{Stats: d.stats, Features: len(d.vocab)}
	plans, roles, err := planFields(d, o, d.test)
	if err != nil {
		return nil, nil, err
	}
	report.Roles = roles
	if len(plans) == 0 {
		return nil, nil, errs.Invalidf("no target column: none is categorical with at least two values of %d rows or more; set target_columns", o.MinClassRows)
	}
	x := &csr{ptr: d.ptr, ind: d.ind, val: d.val}
	if err := runTasks(ctx, x, len(d.vocab), plans, o, progress); err != nil {
		return nil, nil, err
	}
	m := &Model{
		Version:    modelVersion,
		Anonymized: o.Anonymize,
		Features:   o.Features,
		Roles:      roles,
		Stats:      d.stats,
		hashes:     d.vocab,
		idf:        d.idf,
	}
	if !d.charNGrams {
		m.Features.CharNGramMax = -1
	}
	for _, ci := range d.textCols {
		m.TextColumns = append(m.TextColumns, d.columns[ci].name)
	}
	for i, p := range plans {
		if progress != nil {
			progress(Progress{Stage: StageCalibrate, Done: i, Total: len(plans)})
		}
		m.Fields = append(m.Fields, p.calibrateField())
	}
	m.buildWeights(plans)
	m.index()
	for i, p := range plans {
		fm := m.Fields[i]
		m.measureField(fm, p, x)
		report.Fields = append(report.Fields, FieldReport{Field: fm.Name, Metrics: fm.Metrics})
	}
	report.Duration = time.Since(start)
	return m, report, nil
}

// fieldPlan is one target column's training: its split, classes and the
// models (cross-validation folds, then the final one) to train.
type fieldPlan struct {
	name     string
	values   []string
	labels   []int32 // value id per dataset row, -1 empty
	train    []int
	test     []int
	classes  []int32 // class -> value id
	classIdx []int32 // value id -> class or -1
	prior    []float64
	majority int32
	jobs     []*modelJob // folds first, final last
	o        TrainOptions
}

// modelJob is one one-vs-rest model: trained on trainRows, scoring evalRows.
type modelJob struct {
	plan      *fieldPlan
	trainRows []int
	trainCls  []int32
	evalRows  []int
	nVal      int
	scores    []float32 // evalRows x classes
	final     bool
	// refitFrom, when positive, is the number of leading trainRows the
	// scoring model is trained on before the stored model continues on
	// all of them.
	refitFrom int
	seed      int
	bias      []float32
	weights   [][]weightEntry // per class, final model only
}

type weightEntry struct {
	f int32
	w float32
}

// planFields chooses the targets and prepares each one's split and jobs.
func planFields(d *dataset, o TrainOptions, test []bool) ([]*fieldPlan, []ColumnRole, error) {
	override := map[int]bool{}
	if len(o.TargetColumns) > 0 {
		idx, err := resolveColumns(d.columns, o.TargetColumns, "target_columns")
		if err != nil {
			return nil, nil, err
		}
		for _, ci := range idx {
			if d.columns[ci].text {
				return nil, nil, errs.InvalidField("target_columns", "column "+quote(d.columns[ci].name)+" is a text column")
			}
			override[ci] = true
		}
	}
	var plans []*fieldPlan
	var roles []ColumnRole
	for ci, c := range d.columns {
		role := ColumnRole{Column: c.name, Personal: c.personal}
		if c.text {
			role.Role = RoleText
			roles = append(roles, role)
			continue
		}
		ok, reason := targetVerdict(c)
		if len(o.TargetColumns) > 0 {
			switch {
			case !override[ci]:
				ok, reason = false, "not in target_columns"
			case c.dropped || len(c.values) < 2:
				return nil, nil, errs.InvalidField("target_columns", "column "+quote(c.name)+" cannot be a target: "+reason)
			default:
				ok = true
			}
		}
		if ok {
			p := newFieldPlan(c, o, test)
			if p == nil {
				ok, reason = false, fmt.Sprintf("fewer than two values with %d or more training rows", o.MinClassRows)
			} else {
				plans = append(plans, p)
			}
		}
		if ok {
			role.Role = RoleTarget
		} else {
			role.Role, role.Reason = RoleIgnore, reason
		}
		roles = append(roles, role)
	}
	return plans, roles, nil
}

func newFieldPlan(c *column, o TrainOptions, test []bool) *fieldPlan {
	p := &fieldPlan{name: c.name, values: c.values, labels: c.ids, o: o}
	for r, v := range c.ids {
		switch {
		case v < 0:
		case test[r]:
			p.test = append(p.test, r)
		default:
			p.train = append(p.train, r)
		}
	}
	if len(p.train)+len(p.test) < 10 {
		return nil
	}
	counts := make([]int, len(c.values))
	for _, r := range p.train {
		counts[c.ids[r]]++
	}
	p.classIdx = make([]int32, len(c.values))
	for v, n := range counts {
		p.classIdx[v] = -1
		if n >= o.MinClassRows {
			p.classIdx[v] = int32(len(p.classes))
			p.classes = append(p.classes, int32(v))
			p.prior = append(p.prior, float64(n)/float64(len(p.train)))
		}
		if n > counts[p.majority] {
			p.majority = int32(v)
		}
	}
	if len(p.classes) < 2 {
		return nil
	}
	// Calibration evidence: margins of models that did not see the rows.
	rng := mrand.New(mrand.NewPCG(uint64(o.Seed), 7))
	shuffled := slices.Clone(p.train)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if len(p.train) < cvRowsLimit {
		// Small data: 5-fold margins for calibration, then the stored
		// model on all training rows (cheap at this size).
		for f := 0; f < cvFolds; f++ {
			var tr, ev []int
			for i, r := range shuffled {
				if i%cvFolds == f {
					ev = append(ev, r)
				} else {
					tr = append(tr, r)
				}
			}
			p.addJob(tr, ev, len(ev), false)
		}
		p.addJob(p.train, nil, 0, true)
		return p
	}
	// Large data: one fold's margins calibrate, and the stored model is
	// that fold's model continued on all training rows (see cvRowsLimit).
	nVal := min(int(valFraction*float64(len(shuffled))), maxValRows)
	if !refitLargeData {
		p.addJob(shuffled[nVal:], shuffled[:nVal], nVal, true)
		return p
	}
	rows := append(slices.Clone(shuffled[nVal:]), shuffled[:nVal]...)
	p.addJob(rows, shuffled[:nVal], nVal, true)
	p.jobs[0].refitFrom = len(rows) - nVal
	return p
}

// addJob adds a model trained on train whose margins on the first nVal eval
// rows are calibration evidence. Test rows are scored later through the
// finished model. A final job with refitFrom > 0 trains on
// train[:refitFrom], scores eval, then continues on all of train.
func (p *fieldPlan) addJob(train, eval []int, nVal int, final bool) {
	j := &modelJob{plan: p, trainRows: train, evalRows: eval, nVal: nVal, final: final, seed: len(p.jobs)}
	j.trainCls = make([]int32, len(train))
	for i, r := range train {
		j.trainCls[i] = p.classIdx[p.labels[r]]
	}
	k := len(p.classes)
	j.scores = make([]float32, len(eval)*k)
	j.bias = make([]float32, k)
	if final {
		j.weights = make([][]weightEntry, k)
	}
	p.jobs = append(p.jobs, j)
}

type task struct {
	job   *modelJob
	class int
}

// runTasks trains every (model, class) unit on a pool of workers: one-vs-rest
// classes are independent, so both cores stay busy even when one field
// dominates the work.
func runTasks(ctx context.Context, x *csr, nFeatures int, plans []*fieldPlan, o TrainOptions, progress func(Progress)) error {
	var tasks []task
	maxRows := 0
	for _, p := range plans {
		for _, j := range p.jobs {
			maxRows = max(maxRows, len(j.trainRows))
			for c := range p.classes {
				tasks = append(tasks, task{job: j, class: c})
			}
		}
	}
	var next, done atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	params := svmParams{c: o.C, eps: 0.1, maxIter: 200}
	for w := 0; w < o.Workers; w++ {
		wg.Add(1)
		go func(seed int) {
			defer wg.Done()
			wk := &worker{
				w:        make([]float64, nFeatures),
				alpha:    make([]float64, maxRows),
				touched:  make([]bool, maxRows),
				active:   make([]int, maxRows),
				positive: make([]bool, maxRows),
				rng:      mrand.NewPCG(uint64(seed), 1),
			}
			wk.rngR = mrand.New(wk.rng)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(tasks) {
					return
				}
				if i%64 == 0 && ctx.Err() != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = ctx.Err()
					}
					mu.Unlock()
					return
				}
				wk.run(x, tasks[i], params, pruneFor(len(tasks[i].job.plan.classes), o.PruneWeight))
				n := done.Add(1)
				if progress != nil && (n%50 == 0 || int(n) == len(tasks)) {
					mu.Lock()
					progress(Progress{Stage: StageTrain, Done: int(n), Total: len(tasks)})
					mu.Unlock()
				}
			}
		}(w + 1)
	}
	wg.Wait()
	return firstErr
}

// pruneFor returns the pruning threshold of a field's weights. Fields with
// many classes hold nearly all of a model's weights and lose nothing
// measurable to PruneWeight; few-class fields keep finer weights (at most
// 0.002), which small data sets need and which cost little space.
func pruneFor(classes int, pruneWeight float64) float64 {
	if classes > maxPerClassTune {
		return pruneWeight
	}
	return math.Min(pruneWeight, 0.002)
}

type worker struct {
	w        []float64
	alpha    []float64
	touched  []bool
	active   []int
	positive []bool
	rng      *mrand.PCG
	rngR     *mrand.Rand
}

func (wk *worker) run(x *csr, t task, params svmParams, prune float64) {
	j := t.job
	n := len(j.trainRows)
	pos := wk.positive[:n]
	for i, c := range j.trainCls {
		pos[i] = int(c) == t.class
	}
	// A generator per unit keeps training deterministic whatever worker
	// runs it.
	wk.rng.Seed(uint64(t.class)+1, uint64(j.seed))
	w := wk.w
	k := len(j.plan.classes)
	score := func(bias float64) {
		for e, r := range j.evalRows {
			ind, val := x.row(r)
			s := bias
			for q, f := range ind {
				s += w[f] * float64(val[q])
			}
			j.scores[e*k+t.class] = float32(s)
		}
	}
	var bias float64
	if j.refitFrom > 0 {
		// The calibration rows are scored by a model that never saw them;
		// the stored model then continues from its solution with those
		// rows added (their dual variables start at zero), which reaches
		// the solution on all training rows in a few passes instead of a
		// training from scratch.
		m := j.refitFrom
		bias = binarySVM(x, j.trainRows[:m], pos[:m], params, w, wk.alpha, wk.touched, wk.active, wk.rngR, 0, 0)
		score(bias)
		bias = binarySVM(x, j.trainRows, pos, params, w, wk.alpha, wk.touched, wk.active, wk.rngR, m, bias)
	} else {
		bias = binarySVM(x, j.trainRows, pos, params, w, wk.alpha, wk.touched, wk.active, wk.rngR, 0, 0)
	}
	// Every non-zero weight comes from a row that changed w; only those
	// rows' features need pruning, reading and clearing, which keeps a
	// class's cost independent of the vocabulary size.
	for i := 0; i < n; i++ {
		if !wk.touched[i] {
			continue
		}
		ind, _ := x.row(j.trainRows[i])
		for _, f := range ind {
			if math.Abs(w[f]) < prune {
				w[f] = 0
			}
		}
	}
	if j.refitFrom == 0 {
		score(bias)
	}
	j.bias[t.class] = float32(bias)
	var entries []weightEntry
	for i := 0; i < n; i++ {
		if !wk.touched[i] {
			continue
		}
		ind, _ := x.row(j.trainRows[i])
		for _, f := range ind {
			if w[f] != 0 {
				if j.final {
					entries = append(entries, weightEntry{f: f, w: float32(w[f])})
				}
				w[f] = 0
			}
		}
	}
	if j.final {
		j.weights[t.class] = entries
	}
}

// limitReader fails once the readers sharing remaining have delivered more
// than limit bytes together.
type limitReader struct {
	r         io.Reader
	remaining *int64
	limit     int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if *l.remaining < 0 {
		return 0, errs.New(errs.TooLarge, "input exceeds %d bytes", l.limit)
	}
	// Read one byte past the limit, so that input of exactly the limit
	// passes and anything longer fails.
	if int64(len(p)) > *l.remaining+1 {
		p = p[:*l.remaining+1]
	}
	n, err := l.r.Read(p)
	*l.remaining -= int64(n)
	if *l.remaining < 0 {
		return n, errs.New(errs.TooLarge, "input exceeds %d bytes", l.limit)
	}
	return n, err
}
