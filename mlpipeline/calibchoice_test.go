package mlpipeline

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCalibratorChoice compares calibrators on the calibration evidence of
// the training rows only (the cross-validated margins Train collects; the
// held-out test rows are never read), by a nested 5-fold split of that
// evidence: each calibrator is fitted on four fifths and judged on the
// fifth. It prints, per data set and field, accuracy, macro-F1, the share of
// rows predicted as the majority class, log loss and ECE of
//
//   - raw: the argmax of the raw one-vs-rest margins (LinearSVC's decision),
//   - vector: scale, then per-class scales and offsets by log loss (fields of
//     at most maxPerClassTune classes), then the top-probability corrections,
//   - scalar: the common scale only, then the same top-probability
//     corrections; its prediction is the raw argmax by construction.
//
// It is issue 14's evidence for the choice of the default calibrator and
// takes minutes, so it runs only when BUGFLOW_ABLATION_DATA names the data
// directory:
//
//	BUGFLOW_ABLATION_DATA=../shared/data/bugs go test ./mlpipeline -run TestCalibratorChoice -v -timeout 1h
func TestCalibratorChoice(t *testing.T) {
	dir := os.Getenv("BUGFLOW_ABLATION_DATA")
	if dir == "" {
		t.Skip("BUGFLOW_ABLATION_DATA is not set")
	}
	// The data sets of bench/triage's -datasets run with 2,000 rows or
	// more (issue 14's gated rows), text Summary.
	sets := []struct {
		name   string
		fields []string
	}{
		{"gitbugs_hadoop.csv", []string{"Priority", "Resolution", "Status"}},
		{"apache_jira_bugs.csv", []string{"Priority", "Component", "Assignee"}},
		{"apache_jira_bugs.csv:CAMEL", []string{"Priority", "Component", "Assignee"}},
		{"apache_jira_bugs.csv:IGNITE", []string{"Priority", "Component", "Assignee"}},
		{"apache_jira_bugs.csv:KAFKA", []string{"Priority", "Component", "Assignee"}},
		{"apache_jira_bugs.csv:MAPREDUCE", []string{"Priority", "Component", "Assignee"}},
		{"apache_jira_bugs.csv:MESOS", []string{"Priority", "Component", "Assignee"}},
	}
	defer func(old bool) { vectorScaling = old }(vectorScaling)
	fmt.Println("| data set | field | classes | evidence rows | raw acc / F1 / majority share | vector acc / F1 / majority share / log loss / ECE | scalar acc / F1 / majority share / log loss / ECE |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, set := range sets {
		src := loadCSVSubset(t, dir, set.name)
		plans, _, _ := trainPlans(t, src, TrainOptions{TextColumns: []string{"Summary"}, TargetColumns: set.fields})
		for _, p := range plans {
			cd, _ := p.calibrationEvidence()
			raw, vec, sca := nestedCalibration(cd)
			fmt.Printf("| %s | %s | %d | %d | %.3f / %.3f / %.3f | %.3f / %.3f / %.3f / %.3f / %.3f | %.3f / %.3f / %.3f / %.3f / %.3f |\n",
				set.name, p.name, cd.k, cd.rows(), raw.acc, raw.f1, raw.majority,
				vec.acc, vec.f1, vec.majority, vec.logLoss, vec.ece,
				sca.acc, sca.f1, sca.majority, sca.logLoss, sca.ece)
		}
	}
}

// trainPlans runs Train's ingestion and training of src with o (defaults
// filled in) and returns the trained plans, before any calibration.
func trainPlans(t *testing.T, src []byte, o TrainOptions) ([]*fieldPlan, *csr, *dataset) {
	o = o.withDefaults()
	d, err := ingest(context.Background(), []io.Reader{bytes.NewReader(src)}, ingestOptions{
		textColumns: o.TextColumns, features: o.Features, testFraction: o.TestFraction, seed: o.Seed,
	})
	require.NoError(t, err)
	plans, _, err := planFields(d, o, d.test)
	require.NoError(t, err)
	x := &csr{ptr: d.ptr, ind: d.ind, val: d.val}
	require.NoError(t, runTasks(context.Background(), x, len(d.vocab), plans, o, nil))
	return plans, x, d
}

// calibScore is one calibrator's out-of-fold figures.
type calibScore struct{ acc, f1, majority, logLoss, ece float64 }

// nestedCalibration fits the vector and scalar calibrators on four fifths of
// cd and scores them (and the raw argmax) on the remaining fifth, five times.
func nestedCalibration(cd *calibData) (raw, vec, sca calibScore) {
	n := cd.rows()
	order := mrand.New(mrand.NewPCG(5, 5)).Perm(n)
	majority := int32(0)
	counts := make([]int, cd.labels)
	for _, y := range cd.truth {
		counts[y]++
		if counts[y] > counts[majority] {
			majority = y
		}
	}
	type acc struct {
		truth, pred []int32
		conf        []float64
		right       []bool
		logLoss     float64
	}
	var accs [3]acc
	classOf := cd.classOf()
	const folds = 5
	for f := 0; f < folds; f++ {
		var fit, eval []int
		for i, r := range order {
			if i%folds == f {
				eval = append(eval, r)
			} else {
				fit = append(fit, r)
			}
		}
		sub := func(rows []int) *calibData {
			s := &calibData{k: cd.k, classes: cd.classes, labels: cd.labels, prior: cd.prior}
			for _, r := range rows {
				s.scores = append(s.scores, cd.scores[r*cd.k:(r+1)*cd.k]...)
				s.truth = append(s.truth, cd.truth[r])
			}
			return s
		}
		fitData := sub(fit)
		var models [2]*FieldModel
		old := vectorScaling
		for i, vs := range []bool{true, false} {
			vectorScaling = vs
			cal := fitCalibration(fitData, DecisionMostProbable)
			models[i] = &FieldModel{Scale: cal.Scale, Scales: cal.Scales, Adjust: cal.Adjust, Temp: cal.Temp,
				PlattA: cal.PlattA, PlattB: cal.PlattB, IsoX: cal.IsoX, IsoY: cal.IsoY}
		}
		vectorScaling = old
		probs := make([]float64, cd.k)
		for _, r := range eval {
			s := cd.scores[r*cd.k : (r+1)*cd.k]
			y := cd.truth[r]
			best := 0
			for c := range s {
				if s[c] > s[best] {
					best = c
				}
			}
			a := &accs[0]
			a.truth = append(a.truth, y)
			a.pred = append(a.pred, cd.classes[best])
			for i, fm := range models {
				fm.probabilities(s, probs, true)
				top := topK(probs, 1)[0]
				a := &accs[i+1]
				a.truth = append(a.truth, y)
				a.pred = append(a.pred, cd.classes[top])
				a.conf = append(a.conf, probs[top])
				a.right = append(a.right, cd.classes[top] == y)
				// Rows of a class too rare to be modelled have no
				// probability; they count as a confident miss.
				p := 1e-6
				if c := classOf[y]; c >= 0 {
					p = math.Max(probs[c], 1e-6)
				}
				a.logLoss -= math.Log(p)
			}
		}
	}
	score := func(a acc) calibScore {
		var s calibScore
		for i, p := range a.pred {
			if p == a.truth[i] {
				s.acc++
			}
			if p == majority {
				s.majority++
			}
		}
		m := float64(len(a.pred))
		s.acc /= m
		s.majority /= m
		s.f1 = macroF1(a.truth, a.pred, cd.labels)
		s.logLoss = a.logLoss / m
		if a.conf != nil {
			s.ece = ece(a.conf, a.right)
		}
		return s
	}
	return score(accs[0]), score(accs[1]), score(accs[2])
}

// loadCSVSubset reads a data set of bench/triage: a file of dir, or
// "file:PROJECT", that file's rows of one project.
func loadCSVSubset(t *testing.T, dir, name string) []byte {
	file, project, perProject := strings.Cut(name, ":")
	src, err := os.ReadFile(filepath.Join(dir, file))
	require.NoError(t, err)
	if !perProject {
		return src
	}
	recs, err := csv.NewReader(bytes.NewReader(src)).ReadAll()
	require.NoError(t, err)
	col := slices.Index(recs[0], "Project")
	require.GreaterOrEqual(t, col, 0)
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	require.NoError(t, w.Write(recs[0]))
	for _, r := range recs[1:] {
		if r[col] == project {
			require.NoError(t, w.Write(r))
		}
	}
	w.Flush()
	require.NoError(t, w.Error())
	return buf.Bytes()
}

// skewedMargins draws rows of k classes with the given priors and one-vs-rest
// margins whose spread is overconfidence times the true log-odds: a
// miscalibrated SVM's margins on a skewed field.
func skewedMargins(seed uint64, n int, priors []float64, overconfidence float64) *calibData {
	rng := mrand.New(mrand.NewPCG(seed, 9))
	k := len(priors)
	cd := &calibData{k: k, labels: k, prior: priors}
	for c := 0; c < k; c++ {
		cd.classes = append(cd.classes, int32(c))
	}
	for r := 0; r < n; r++ {
		u, y := rng.Float64(), 0
		for ; y < k-1 && u > priors[y]; y++ {
			u -= priors[y]
		}
		cd.truth = append(cd.truth, int32(y))
		for c := 0; c < k; c++ {
			s := rng.NormFloat64()*0.4 - 1
			if c == y {
				s += 0.8
			}
			cd.scores = append(cd.scores, float32(overconfidence*s))
		}
	}
	return cd
}

// TestCalibrationPredictsTheMarginArgmax: the default calibration is
// argmax-preserving, so the prediction (the most probable value of the
// calibrated distribution) is the argmax of the raw one-vs-rest margins, as
// LinearSVC's, on a skewed field where likelihood-fitted per-class offsets
// would move decisions to the majority class; the probabilities sum to one.
func TestCalibrationPredictsTheMarginArgmax(t *testing.T) {
	cd := skewedMargins(1, 3000, []float64{0.7, 0.15, 0.1, 0.05}, 3)
	cal := fitCalibration(cd, DecisionMostProbable)
	fm := &FieldModel{Scale: cal.Scale, Scales: cal.Scales, Adjust: cal.Adjust, Temp: cal.Temp,
		PlattA: cal.PlattA, PlattB: cal.PlattB, IsoX: cal.IsoX, IsoY: cal.IsoY}
	probs := make([]float64, cd.k)
	for r := 0; r < cd.rows(); r++ {
		s := cd.scores[r*cd.k : (r+1)*cd.k]
		fm.probabilities(s, probs, true)
		raw := 0
		for c := range s {
			if s[c] > s[raw] {
				raw = c
			}
		}
		require.Equal(t, raw, topK(probs, 1)[0], "row %d: prediction is the margins' argmax", r)
		var sum float64
		for _, p := range probs {
			require.GreaterOrEqual(t, p, 0.0)
			sum += p
		}
		require.InDelta(t, 1, sum, 1e-9, "row %d", r)
	}
}

// TestCalibrationImprovesLogLoss: fitted on overconfident margins, the
// calibration lowers the log loss of fresh rows of the same distribution
// well below the plain softmax of the margins', and its top probability
// matches the accuracy (ECE) far better.
func TestCalibrationImprovesLogLoss(t *testing.T) {
	priors := []float64{0.6, 0.25, 0.15}
	fit := skewedMargins(2, 3000, priors, 25)
	fresh := skewedMargins(3, 3000, priors, 25)
	cal := fitCalibration(fit, DecisionMostProbable)
	calibrated := &FieldModel{Scale: cal.Scale, Scales: cal.Scales, Adjust: cal.Adjust, Temp: cal.Temp,
		PlattA: cal.PlattA, PlattB: cal.PlattB, IsoX: cal.IsoX, IsoY: cal.IsoY}
	plain := &FieldModel{Scale: 1, Adjust: make([]float64, fresh.k), Temp: 1, PlattA: 1}
	measure := func(fm *FieldModel) (logLoss, calErr float64) {
		probs := make([]float64, fresh.k)
		var conf []float64
		var right []bool
		for r := 0; r < fresh.rows(); r++ {
			fm.probabilities(fresh.scores[r*fresh.k:(r+1)*fresh.k], probs, true)
			y := fresh.truth[r]
			logLoss -= math.Log(math.Max(probs[y], 1e-12))
			top := topK(probs, 1)[0]
			conf = append(conf, probs[top])
			right = append(right, int32(top) == y)
		}
		return logLoss / float64(fresh.rows()), ece(conf, right)
	}
	plainLoss, plainECE := measure(plain)
	calLoss, calECE := measure(calibrated)
	t.Logf("log loss %.3f -> %.3f, ECE %.3f -> %.3f", plainLoss, calLoss, plainECE, calECE)
	// Measured: 0.899 -> 0.344; with the Platt and isotonic corrections
	// alone (scale and temperature left at 1) 0.435, which this bound
	// rejects.
	assert.Less(t, calLoss, 0.42*plainLoss)
	assert.Less(t, calECE, 0.05)
	assert.Greater(t, plainECE, 0.1)
}

// TestIsotonicBlocksHoldAHundredRows: each point of the isotonic curve is
// the mean of at least 100 held-out rows (session 3's choice on the inner
// splits, results-issue14.md). Evidence whose top probabilities put 100
// wrong predictions below a run of right ones gives a two-point curve when
// the run has 100 rows, and no curve when it has 99: the short run cannot
// stand alone and joins the block below it.
func TestIsotonicBlocksHoldAHundredRows(t *testing.T) {
	evidence := func(wrong, right int) *calibData {
		cd := &calibData{k: 2, classes: []int32{0, 1}, labels: 2, prior: []float64{0.5, 0.5}}
		for r := 0; r < wrong+right; r++ {
			// Class 0 wins every row, more clearly the later the row.
			cd.scores = append(cd.scores, 0.1+0.01*float32(r), -1)
			truth := int32(0)
			if r < wrong {
				truth = 1
			}
			cd.truth = append(cd.truth, truth)
		}
		return cd
	}
	for _, tc := range []struct {
		right  int
		points int
	}{{100, 2}, {99, 0}} {
		cd := evidence(100, tc.right)
		cal := calibration{Scale: 1, Temp: 1, Adjust: make([]float64, 2), PlattA: 1}
		xs, ys := fitIsotonic(cd, cal)
		require.Len(t, xs, tc.points, "100 wrong then %d right rows", tc.right)
		require.Len(t, ys, tc.points)
		if tc.points == 2 {
			assert.InDelta(t, 0.001, ys[0], 1e-9, "the wrong rows' block")
			assert.InDelta(t, 0.999, ys[1], 1e-9, "the right rows' block")
		}
	}
}
