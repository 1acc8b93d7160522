package mlpipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
)

// syntheticCSV builds n rows whose summary names their priority with noise:
// each row has a few shared words, and with probability signal a word of
// its own class. The first rare rows are "High", the rest "Low".
func syntheticCSV(n int, rare float64, signal float64, extra func(i int) string) []byte {
	rng := mrand.New(mrand.NewPCG(3, 4))
	var b bytes.Buffer
	b.WriteString("Summary,Priority\n")
	common := []string{"crash", "error", "page", "button", "save", "login", "report", "slow", "window", "menu"}
	for i := 0; i < n; i++ {
		class := "Low"
		if rng.Float64() < rare {
			class = "High"
		}
		var words []string
		for range 4 {
			words = append(words, common[rng.IntN(len(common))])
		}
		if rng.Float64() < signal {
			words = append(words, strings.ToLower(class)+"sign")
		}
		if extra != nil {
			words = append(words, extra(i))
		}
		fmt.Fprintf(&b, "%s,%s\n", strings.Join(words, " "), class)
	}
	return b.Bytes()
}

func TestDecisionRuleIsValidated(t *testing.T) {
	_, _, err := Train(context.Background(), []io.Reader{bytes.NewReader(syntheticCSV(50, 0.3, 0.8, nil))},
		TrainOptions{DecisionRule: "balanced"}, nil)
	assert.ErrorIs(t, err, errs.ErrInvalid)
	for _, rule := range []string{"", DecisionMostProbable, DecisionMacroF1} {
		_, _, err := Train(context.Background(), []io.Reader{bytes.NewReader(syntheticCSV(50, 0.3, 0.8, nil))},
			TrainOptions{DecisionRule: rule}, nil)
		assert.NoError(t, err, rule)
	}
}

// TestDefaultPredictsTheMostProbableValue: without DecisionMacroF1 there
// are no logit offsets (at any number of classes), so the prediction is the
// argmax of the calibrated distribution and of the margins alike; the
// macro-F1 rule shifts them.
func TestDefaultPredictsTheMostProbableValue(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	// 40 classes (beyond per-class tuning), skewed, with weak margins.
	const k, n = 40, 3000
	cd := &calibData{k: k, labels: k}
	for c := 0; c < k; c++ {
		cd.classes = append(cd.classes, int32(c))
	}
	counts := make([]float64, k)
	for r := 0; r < n; r++ {
		y := int32(min(int(rng.ExpFloat64()*4), k-1))
		counts[y]++
		cd.truth = append(cd.truth, y)
		for c := 0; c < k; c++ {
			s := rng.NormFloat64()*0.5 - 1
			if int32(c) == y {
				s += 0.7
			}
			cd.scores = append(cd.scores, float32(s))
		}
	}
	for c := range counts {
		cd.prior = append(cd.prior, (counts[c]+1)/float64(n+k))
	}
	plain := fitCalibration(cd, DecisionMostProbable)
	for c, a := range plain.Adjust {
		assert.Zero(t, a, "class %d: no shift without DecisionMacroF1", c)
	}
	shifted := fitCalibration(cd, DecisionMacroF1)
	assert.NotEqual(t, plain.Adjust, shifted.Adjust, "the macro-F1 rule shifts this skewed field's decisions")

	// Few classes: no offsets either (issue 14: log-loss offsets moved the
	// decisions of skewed fields to the majority value).
	few := &calibData{k: 3, labels: 3, classes: []int32{0, 1, 2}, prior: []float64{0.7, 0.2, 0.1}}
	for r := 0; r < 900; r++ {
		y := int32(0)
		if u := rng.Float64(); u > 0.9 {
			y = 2
		} else if u > 0.7 {
			y = 1
		}
		few.truth = append(few.truth, y)
		for c := 0; c < 3; c++ {
			s := rng.NormFloat64()*0.6 - 1
			if int32(c) == y {
				s += 0.5
			}
			few.scores = append(few.scores, float32(s))
		}
	}
	cal := fitCalibration(few, DecisionMostProbable)
	assert.Nil(t, cal.Scales, "one scale for every class")
	assert.Equal(t, make([]float64, 3), cal.Adjust, "no offsets: the calibration preserves the margins' argmax")
}

// TestHeldOutRowsTrainNothing: the held-out rows are the same for every
// field, and a word seen only in them is not in the vocabulary; the idf is
// the training rows'.
func TestHeldOutRowsTrainNothing(t *testing.T) {
	const n = 400
	held := holdOutRows(n, 0.2, 42)
	var heldRows []int
	for r, h := range held {
		if h {
			heldRows = append(heldRows, r)
		}
	}
	require.Len(t, heldRows, 80)
	// "leakword" occurs in three held-out rows and nowhere else;
	// "everywhere" in every row.
	leak := map[int]bool{heldRows[0]: true, heldRows[1]: true, heldRows[2]: true}
	src := syntheticCSV(n, 0.3, 0.8, func(i int) string {
		if leak[i] {
			return "everywhere leakword"
		}
		return "everywhere"
	})
	// A second target with empty values, to check that each field's test
	// rows are the held-out rows that have a value for it.
	lines := strings.Split(strings.TrimSuffix(string(src), "\n"), "\n")
	lines[0] += ",Team"
	for i := 1; i < len(lines); i++ {
		team := []string{"", "core", "ui"}[i%3]
		lines[i] += "," + team
	}
	m, rep, err := Train(context.Background(), []io.Reader{strings.NewReader(strings.Join(lines, "\n") + "\n")},
		TrainOptions{TargetColumns: []string{"Priority", "Team"}}, nil)
	require.NoError(t, err)
	_, ok := m.lookup[fnvBytes(nsWord, []byte("leakword"))]
	assert.False(t, ok, "a word of held-out rows only is not in the vocabulary")
	everywhere, ok := m.lookup[fnvBytes(nsWord, []byte("everywhere"))]
	require.True(t, ok)
	assert.InDelta(t, 1, m.idf[everywhere], 1e-6, "idf over the 320 training rows: log(321/321)+1")
	byField := map[string]FieldMetrics{}
	for _, f := range rep.Fields {
		byField[f.Field] = f.Metrics
	}
	assert.Equal(t, 80, byField["Priority"].TestRows)
	assert.Equal(t, 320, byField["Priority"].TrainRows)
	heldWithTeam := 0
	for _, r := range heldRows {
		if (r+1)%3 != 0 {
			heldWithTeam++
		}
	}
	assert.Equal(t, heldWithTeam, byField["Team"].TestRows)
	assert.Equal(t, n-n/3-heldWithTeam, byField["Team"].TrainRows)
}

// TestLargeDataStoredModelLearnsFromEveryTrainingRow: above cvRowsLimit the
// stored model trains on all training rows (the calibration slice is folded
// back in), while the calibration margins come from rows its first phase
// never saw.
func TestLargeDataStoredModelLearnsFromEveryTrainingRow(t *testing.T) {
	c := &column{name: "Priority", values: []string{"Low", "High"}}
	const n = 12000
	for r := 0; r < n; r++ {
		c.ids = append(c.ids, int32(r%2))
	}
	test := holdOutRows(n, 0.2, 42)
	p := newFieldPlan(c, TrainOptions{}.withDefaults(), test)
	require.NotNil(t, p)
	require.Len(t, p.jobs, 1)
	j := p.jobs[0]
	assert.True(t, j.final)
	assert.ElementsMatch(t, p.train, j.trainRows, "the stored model trains on every training row")
	assert.Equal(t, len(j.trainRows)-len(j.evalRows), j.refitFrom)
	assert.Equal(t, j.trainRows[j.refitFrom:], j.evalRows, "the calibration rows come last, after the first phase's rows")
	for _, r := range j.trainRows {
		assert.False(t, test[r])
	}

	// Just below the limit: five folds, then a stored model on every row.
	small := holdOutRows(9000, 0.2, 42)
	c.ids = c.ids[:9000]
	p = newFieldPlan(c, TrainOptions{}.withDefaults(), small)
	require.Less(t, len(p.train), cvRowsLimit)
	require.Len(t, p.jobs, cvFolds+1)
	assert.ElementsMatch(t, p.train, p.jobs[cvFolds].trainRows)
}

// TestWarmStartReachesTheFullSolution: continuing the dual coordinate
// descent with rows added gives the weights that training on all rows from
// scratch gives, up to the solver's tolerance.
func TestWarmStartReachesTheFullSolution(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(5, 6))
	const rows, feats = 600, 50
	x := &csr{ptr: []int{0}}
	positive := make([]bool, rows)
	for r := 0; r < rows; r++ {
		positive[r] = rng.IntN(3) == 0
		var val []float32
		for f := 0; f < feats; f++ {
			if rng.IntN(6) == 0 || positive[r] && f < 3 && rng.IntN(2) == 0 {
				x.ind = append(x.ind, int32(f))
				val = append(val, float32(rng.Float64()+0.1))
			}
		}
		normalizeL2(val)
		x.val = append(x.val, val...)
		x.ptr = append(x.ptr, len(x.ind))
	}
	all := make([]int, rows)
	for i := range all {
		all[i] = i
	}
	p := svmParams{c: 1, eps: 1e-4, maxIter: 2000}
	solve := func(warm int) ([]float64, float64) {
		w := make([]float64, feats)
		alpha, touched, active := make([]float64, rows), make([]bool, rows), make([]int, rows)
		r := mrand.New(mrand.NewPCG(7, 8))
		var bias float64
		if warm > 0 {
			bias = binarySVM(x, all[:warm], positive[:warm], p, w, alpha, touched, active, r, 0, 0)
		}
		bias = binarySVM(x, all, positive, p, w, alpha, touched, active, r, warm, bias)
		return w, bias
	}
	w0, b0 := solve(0)
	w1, b1 := solve(rows * 85 / 100)
	assert.InDelta(t, b0, b1, 1e-2)
	var diff, norm float64
	for f := range w0 {
		diff += (w0[f] - w1[f]) * (w0[f] - w1[f])
		norm += w0[f] * w0[f]
	}
	assert.Less(t, math.Sqrt(diff/norm), 0.01, "relative distance of the weight vectors")
	assert.False(t, slices.Equal(w0, make([]float64, feats)))
}
