package mlpipeline

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// innerCalibrator is a candidate calibrator of TestInnerSplitCalibrators:
// fitted on a field's calibration evidence, it returns the function that
// turns raw margins (bias included) into probabilities.
type innerCalibrator struct {
	name string
	fit  func(cd *calibData) func(scores []float32, probs []float64)
}

// fieldModelCalibrator fits fitCalibration with the package switches set by
// setup (restored afterwards) and predicts through FieldModel.probabilities.
func fieldModelCalibrator(name string, setup func() func()) innerCalibrator {
	return innerCalibrator{name: name, fit: func(cd *calibData) func([]float32, []float64) {
		restore := setup()
		cal := fitCalibration(cd, DecisionMostProbable)
		restore()
		fm := &FieldModel{Scale: cal.Scale, Scales: cal.Scales, Adjust: cal.Adjust, Temp: cal.Temp,
			PlattA: cal.PlattA, PlattB: cal.PlattB, IsoX: cal.IsoX, IsoY: cal.IsoY}
		return func(s []float32, probs []float64) { fm.probabilities(s, probs, true) }
	}}
}

// TestInnerSplitCalibrators compares calibrators on training rows only, by
// replaying the bench's gate inside the training part of each split: for
// every data set and seed of bench/triage's -datasets run, the rows that
// split holds out are dropped from the CSV records before ingestion, the remaining
// (training) rows are split 80/20 again with another seed, a model is
// trained on the inner 80% exactly as Train does, and each candidate
// calibrator, fitted on that model's cross-validated margins, is measured on
// the inner 20%: ECE (10 bins of the top probability, as the gate), mean
// top probability minus accuracy, accuracy and macro-F1, and the ECE that a
// perfectly calibrated model with the first candidate's confidences would
// show on the same rows (eceFloor). The gate's held-out rows are
// never ingested (no feature, model, calibration or measure sees them), so
// a choice made on this table is made on training rows.
//
// It takes minutes, so it runs only when BUGFLOW_ABLATION_DATA names the
// data directory; BUGFLOW_INNER_SETS narrows the data sets (comma-separated
// names of bench/triage's datasets.tsv), BUGFLOW_INNER_SEEDS the seeds,
// BUGFLOW_INNER_FIELDS the fields, and BUGFLOW_INNER_C sets the SVM's C:
//
//	BUGFLOW_ABLATION_DATA=../shared/data/bugs go test ./mlpipeline -run TestInnerSplitCalibrators -v -timeout 2h
func TestInnerSplitCalibrators(t *testing.T) {
	dir := os.Getenv("BUGFLOW_ABLATION_DATA")
	if dir == "" {
		t.Skip("BUGFLOW_ABLATION_DATA is not set")
	}
	fields := []string{"Priority", "Component", "Assignee"}
	sets := map[string][]string{
		"gitbugs_hadoop.csv":             {"Priority", "Resolution", "Status"},
		"apache_jira_bugs.csv":           fields,
		"apache_jira_bugs.csv:CAMEL":     fields,
		"apache_jira_bugs.csv:IGNITE":    fields,
		"apache_jira_bugs.csv:KAFKA":     fields,
		"apache_jira_bugs.csv:MAPREDUCE": fields,
		"apache_jira_bugs.csv:MESOS":     fields,
	}
	names := []string{"gitbugs_hadoop.csv", "apache_jira_bugs.csv:CAMEL", "apache_jira_bugs.csv:IGNITE",
		"apache_jira_bugs.csv:KAFKA", "apache_jira_bugs.csv:MAPREDUCE", "apache_jira_bugs.csv:MESOS", "apache_jira_bugs.csv"}
	if s := os.Getenv("BUGFLOW_INNER_SETS"); s != "" {
		names = strings.Split(s, ",")
	}
	var svmC float64
	if s := os.Getenv("BUGFLOW_INNER_C"); s != "" {
		var err error
		svmC, err = strconv.ParseFloat(s, 64)
		require.NoError(t, err)
	}
	onlyFields := os.Getenv("BUGFLOW_INNER_FIELDS")
	seeds := []uint32{1, 2, 3, 4, 5}
	if s := os.Getenv("BUGFLOW_INNER_SEEDS"); s != "" {
		seeds = nil
		for _, f := range strings.Split(s, ",") {
			v, err := strconv.ParseUint(f, 10, 32)
			require.NoError(t, err)
			seeds = append(seeds, uint32(v))
		}
	}
	cands := innerCandidates()
	header := "| data set | field | splits | inner test rows | acc / macro-F1 | ECE of perfectly calibrated labels (first candidate's confidences) |"
	for _, c := range cands {
		header += " " + c.name + " ECE / conf-acc |"
	}
	fmt.Println(header)
	fmt.Println("|---|---|---|---|---|---|" + strings.Repeat("---|", len(cands)))
	for _, name := range names {
		flds, ok := sets[name]
		require.True(t, ok, "unknown data set %q", name)
		if onlyFields != "" {
			flds = strings.Split(onlyFields, ",")
		}
		src := loadCSVSubset(t, dir, name)
		recs, err := csv.NewReader(bytes.NewReader(src)).ReadAll()
		require.NoError(t, err)
		type sums struct {
			n, rows, acc, f1, floor float64
			ece, gap                []float64
		}
		tally := map[string]*sums{}
		for _, seed := range seeds {
			// The gate's held-out rows of this seed are dropped here,
			// before ingestion.
			buf := gateTrainingRows(t, recs, seed)
			plans, x, d := trainPlans(t, buf, TrainOptions{TextColumns: []string{"Summary"}, TargetColumns: flds, Seed: 1000 + seed, C: svmC})
			require.Zero(t, d.stats.BadRows, "row positions must match the gate's split")
			for _, p := range plans {
				cd, final := p.calibrationEvidence()
				margins := innerMargins(p, final, x)
				s := tally[p.name]
				if s == nil {
					s = &sums{ece: make([]float64, len(cands)), gap: make([]float64, len(cands))}
					tally[p.name] = s
				}
				s.n++
				s.rows += float64(len(p.test))
				k := cd.k
				for ci, c := range cands {
					predict := c.fit(cd)
					probs := make([]float64, k)
					var conf []float64
					var right []bool
					var sumConf float64
					var truth, pred []int32
					nRight := 0
					for e, r := range p.test {
						predict(margins[e*k:(e+1)*k], probs)
						top := topK(probs, 1)[0]
						ok := p.classes[top] == p.labels[r]
						truth = append(truth, p.labels[r])
						pred = append(pred, p.classes[top])
						conf = append(conf, probs[top])
						right = append(right, ok)
						sumConf += probs[top]
						if ok {
							nRight++
						}
					}
					m := float64(len(p.test))
					s.ece[ci] += ece(conf, right)
					s.gap[ci] += sumConf/m - float64(nRight)/m
					if ci == 0 {
						s.acc += float64(nRight) / m
						s.f1 += macroF1(truth, pred, len(p.values))
						s.floor += eceFloor(conf)
					}
				}
			}
		}
		for _, f := range flds {
			s := tally[f]
			if s == nil {
				continue
			}
			line := fmt.Sprintf("| %s | %s | %.0f | %.0f | %.4f / %.4f | %.4f |", name, f, s.n, s.rows/s.n, s.acc/s.n, s.f1/s.n, s.floor/s.n)
			for ci := range cands {
				line += fmt.Sprintf(" %.4f / %+.4f |", s.ece[ci]/s.n, s.gap[ci]/s.n)
			}
			fmt.Println(line)
		}
	}
}

// gateTrainingRows returns, as CSV, the header and the records of a data set
// that Train with this seed (and the default test fraction) trains on: the
// gate's held-out rows are left out.
func gateTrainingRows(t *testing.T, recs [][]string, seed uint32) []byte {
	held := holdOutRows(len(recs)-1, TrainOptions{}.withDefaults().TestFraction, seed)
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	require.NoError(t, w.Write(recs[0]))
	for i, r := range recs[1:] {
		if !held[i] {
			require.NoError(t, w.Write(r))
		}
	}
	w.Flush()
	require.NoError(t, w.Error())
	return buf.Bytes()
}

// TestGateTrainingRowsLeaveOutTheTestRows: the rows TestInnerSplitCalibrators
// works on are exactly those Train does not hold out with the same seed, so
// that no choice made on its table has seen a test row of the gate.
func TestGateTrainingRowsLeaveOutTheTestRows(t *testing.T) {
	recs := [][]string{{"Summary", "Priority"}}
	for i := 0; i < 51; i++ {
		recs = append(recs, []string{fmt.Sprintf("row%d crash", i), []string{"Major", "Minor"}[i%2]})
	}
	var src bytes.Buffer
	w := csv.NewWriter(&src)
	require.NoError(t, w.WriteAll(recs))
	const seed = 3
	o := TrainOptions{TextColumns: []string{"Summary"}, Seed: seed}.withDefaults()
	d, err := ingest(context.Background(), []io.Reader{&src}, ingestOptions{
		textColumns: o.TextColumns, features: o.Features, testFraction: o.TestFraction, seed: o.Seed,
	})
	require.NoError(t, err)
	var want []string
	for i, held := range d.test {
		if !held {
			want = append(want, recs[i+1][0])
		}
	}
	got, err := csv.NewReader(bytes.NewReader(gateTrainingRows(t, recs, seed))).ReadAll()
	require.NoError(t, err)
	require.Equal(t, recs[0], got[0], "header")
	var summaries []string
	for _, r := range got[1:] {
		summaries = append(summaries, r[0])
	}
	// 51 rows: ceil(0.2*51) = 11 held out.
	require.Len(t, want, 40)
	require.Equal(t, want, summaries)
}

// innerMargins scores a plan's test rows with its final model (bias
// included), class-major per row.
func innerMargins(p *fieldPlan, final *modelJob, x *csr) []float32 {
	k := len(p.classes)
	type entry struct {
		c int32
		w float32
	}
	byFeature := map[int32][]entry{}
	for c, ws := range final.weights {
		for _, e := range ws {
			byFeature[e.f] = append(byFeature[e.f], entry{int32(c), e.w})
		}
	}
	out := make([]float32, len(p.test)*k)
	for e, r := range p.test {
		s := out[e*k : (e+1)*k]
		copy(s, final.bias)
		ind, val := x.row(r)
		for q, f := range ind {
			for _, en := range byFeature[f] {
				s[en.c] += val[q] * en.w
			}
		}
	}
	return out
}

// eceFloor is the mean ECE of labels drawn right with exactly the stated
// confidences (a perfectly calibrated model) over 50 draws: what the finite
// test set alone contributes to the measured ECE.
func eceFloor(conf []float64) float64 {
	rng := mrand.New(mrand.NewPCG(11, 11))
	right := make([]bool, len(conf))
	var sum float64
	const draws = 50
	for d := 0; d < draws; d++ {
		for i, c := range conf {
			right[i] = rng.Float64() < c
		}
		sum += ece(conf, right)
	}
	return sum / draws
}

// innerCandidates are the calibrators TestInnerSplitCalibrators compares:
// the isotonic block sizes of session 3's choice (results-issue14.md),
// session 2's first.
func innerCandidates() []innerCalibrator {
	blocks := func(rows int) innerCalibrator {
		return fieldModelCalibrator(fmt.Sprintf("isotonic blocks >= %d", rows), func() func() {
			old := isoMinBlock
			isoMinBlock = rows
			return func() { isoMinBlock = old }
		})
	}
	return []innerCalibrator{blocks(40), blocks(100), blocks(200)}
}
