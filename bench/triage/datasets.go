package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bugflow/bugflow/mlpipeline"
)

// datasetLine is one line of baselines_by_dataset.py's output: both
// baselines on one field of one data set and one split.
type datasetLine struct {
	dataset, field, text string
	seed                 uint32
	train, test, classes int
	svc                  [4]float64 // acc, macro-F1, top-3, fit s
	lr                   [5]float64 // acc, macro-F1, top-3, ECE, fit s
	hasLR                bool
}

func readDatasetLines(path string) ([]datasetLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open datasets file: %w", err)
	}
	defer f.Close()
	var out []datasetLine
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		cells := strings.Split(sc.Text(), "\t")
		if line == 1 || len(cells) == 1 && cells[0] == "" {
			continue
		}
		if len(cells) != 16 {
			return nil, fmt.Errorf("%s:%d: want 16 tab-separated cells, have %d", path, line, len(cells))
		}
		b := datasetLine{dataset: cells[0], field: cells[1], text: cells[2]}
		seed, err := strconv.ParseUint(cells[3], 10, 32)
		if err != nil || seed == 0 {
			return nil, fmt.Errorf("%s:%d: seed %q is not a positive integer", path, line, cells[3])
		}
		b.seed = uint32(seed)
		for i, dst := range []*int{&b.train, &b.test, &b.classes} {
			if *dst, err = strconv.Atoi(cells[4+i]); err != nil {
				return nil, fmt.Errorf("%s:%d: cell %d: %w", path, line, 5+i, err)
			}
		}
		for i := range b.svc {
			if b.svc[i], err = strconv.ParseFloat(cells[7+i], 64); err != nil {
				return nil, fmt.Errorf("%s:%d: cell %d: %w", path, line, 8+i, err)
			}
		}
		if cells[11] != "" {
			b.hasLR = true
			for i := range b.lr {
				if b.lr[i], err = strconv.ParseFloat(cells[11+i], 64); err != nil {
					return nil, fmt.Errorf("%s:%d: cell %d: %w", path, line, 12+i, err)
				}
			}
		}
		out = append(out, b)
	}
	return out, sc.Err()
}

// loadDataset returns the CSV of a data set: a file of the data directory,
// or "file:PROJECT", the rows of one project of a file with a Project column
// (in file order, as the script's pandas filter keeps them).
func loadDataset(data, name string) ([]byte, int, error) {
	file, project, perProject := strings.Cut(name, ":")
	src, err := os.ReadFile(filepath.Join(data, file))
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", file, err)
	}
	recs, err := csv.NewReader(bytes.NewReader(src)).ReadAll()
	if err != nil {
		return nil, 0, fmt.Errorf("parse %s: %w", file, err)
	}
	if !perProject {
		return src, len(recs) - 1, nil
	}
	col := slices.Index(recs[0], "Project")
	if col < 0 {
		return nil, 0, fmt.Errorf("%s has no Project column", file)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(recs[0])
	n := 0
	for _, r := range recs[1:] {
		if r[col] == project {
			_ = w.Write(r)
			n++
		}
	}
	w.Flush()
	return buf.Bytes(), n, w.Error()
}

// datasetTally accumulates one data set and field over its splits.
type datasetTally struct {
	dataset, field string
	rows, classes  int
	splits         int
	ours           [4]float64 // sums of acc, macro-F1, top-3, ECE
	svc            [3]float64 // sums of acc, macro-F1, top-3
	lr             [4]float64 // sums of acc, macro-F1, top-3, ECE
	lrSplits       int
	oursTrain      float64 // sum of our whole training run's seconds (all fields)
	svcFit, lrFit  float64 // sums of the baselines' fit seconds
	// calibration is our calibration bins of all splits' test rows
	// pooled; accDiffs our accuracy minus LinearSVC's, split by split.
	calibration []mlpipeline.CalibrationBin
	accDiffs    []float64
}

// datasetsOptions are the -datasets run's model options (for ablations).
type datasetsOptions struct {
	c            float64
	decision     string
	charNGramMax int // FeatureOptions.CharNGramMaxRows; 0 the default
	prune        float64
}

// datasets trains one model per data set and split of the script's output,
// on every field the script measured there, and prints per data set and
// field the mean accuracy, macro-F1, top-3 and ECE of ours and of both
// baselines with the target, then a summary line.
func datasets(data, path string, opt datasetsOptions) error {
	lines, err := readDatasetLines(path)
	if err != nil {
		return err
	}
	type runKey struct {
		dataset string
		seed    uint32
	}
	byRun := map[runKey][]datasetLine{}
	var runs []runKey
	for _, l := range lines {
		k := runKey{l.dataset, l.seed}
		if byRun[k] == nil {
			runs = append(runs, k)
		}
		byRun[k] = append(byRun[k], l)
	}
	tallies := map[string]*datasetTally{}
	var order []*datasetTally
	cache := map[string][]byte{}
	rowsOf := map[string]int{}
	var oursTotal, svcTotal float64
	for _, k := range runs {
		src, ok := cache[k.dataset]
		if !ok {
			var n int
			if src, n, err = loadDataset(data, k.dataset); err != nil {
				return err
			}
			clear(cache) // the runs of a data set are consecutive
			cache[k.dataset] = src
			rowsOf[k.dataset] = n
		}
		ls := byRun[k]
		var fields []string
		for _, l := range ls {
			fields = append(fields, l.field)
		}
		start := time.Now()
		_, rep, err := mlpipeline.Train(context.Background(), []io.Reader{bytes.NewReader(src)}, mlpipeline.TrainOptions{
			TextColumns:   strings.Split(ls[0].text, "+"),
			TargetColumns: fields,
			Seed:          k.seed,
			C:             opt.c,
			DecisionRule:  opt.decision,
			PruneWeight:   opt.prune,
			Features:      mlpipeline.FeatureOptions{CharNGramMaxRows: opt.charNGramMax},
		}, nil)
		if err != nil {
			return fmt.Errorf("%s seed %d: %w", k.dataset, k.seed, err)
		}
		took := time.Since(start).Seconds()
		oursTotal += took
		for _, l := range ls {
			var m *mlpipeline.FieldMetrics
			for i := range rep.Fields {
				if rep.Fields[i].Field == l.field {
					m = &rep.Fields[i].Metrics
				}
			}
			if m == nil {
				return fmt.Errorf("%s seed %d: field %s was not trained", k.dataset, k.seed, l.field)
			}
			if m.TrainRows != l.train || m.TestRows != l.test {
				return fmt.Errorf("%s seed %d %s: our split has %d/%d train/test rows, the script's %d/%d",
					k.dataset, k.seed, l.field, m.TrainRows, m.TestRows, l.train, l.test)
			}
			key := l.dataset + " | " + l.field
			t := tallies[key]
			if t == nil {
				t = &datasetTally{dataset: l.dataset, field: l.field, rows: rowsOf[l.dataset], classes: l.classes}
				tallies[key] = t
				order = append(order, t)
			}
			t.splits++
			for i, v := range []float64{m.Accuracy, m.MacroF1, m.Top3, m.ECE} {
				t.ours[i] += v
			}
			for i := range t.svc {
				t.svc[i] += l.svc[i]
			}
			t.calibration = mlpipeline.PoolCalibration(t.calibration, m.Calibration)
			t.accDiffs = append(t.accDiffs, m.Accuracy-l.svc[0])
			t.svcFit += l.svc[3]
			svcTotal += l.svc[3]
			if l.hasLR {
				t.lrSplits++
				for i := range t.lr {
					t.lr[i] += l.lr[i]
				}
				t.lrFit += l.lr[4]
			}
			t.oursTrain += took / float64(len(ls))
		}
	}
	fmt.Printf("text %s, C %v, decision rule %q, char n-gram row limit %d, prune %v (0: defaults)\n\n", lines[0].text, opt.c, opt.decision, opt.charNGramMax, opt.prune)
	fmt.Println("| data set | field | rows | classes | splits | ours acc / macro-F1 / top-3 / ECE | LinearSVC acc / macro-F1 / top-3 | LogReg acc / macro-F1 / top-3 / ECE | ours - SVC acc | ours - best F1 | target | ours - SVC acc by split: mean ± s.e. | ours ECE of the splits' test rows pooled |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	gated, passed := 0, 0
	fails := map[string]int{}
	var dAcc, dF1 []float64
	for _, t := range order {
		n := float64(t.splits)
		o := [4]float64{t.ours[0] / n, t.ours[1] / n, t.ours[2] / n, t.ours[3] / n}
		svc := [3]float64{t.svc[0] / n, t.svc[1] / n, t.svc[2] / n}
		lrCell := "— (over 100 classes)"
		bestF1 := svc[1]
		if t.lrSplits > 0 {
			if t.lrSplits != t.splits {
				lrCell = "partial"
			} else {
				ln := float64(t.lrSplits)
				lrCell = fmt.Sprintf("%.3f / %.3f / %.3f / %.3f", t.lr[0]/ln, t.lr[1]/ln, t.lr[2]/ln, t.lr[3]/ln)
				bestF1 = max(bestF1, t.lr[1]/ln)
			}
		}
		verdict := "reported (< 2,000 rows)"
		if t.rows >= 2000 {
			gated++
			var why []string
			if o[0] < svc[0] {
				why = append(why, "acc")
			}
			if o[1] < bestF1-0.02 {
				why = append(why, "F1")
			}
			if o[3] > 0.05 {
				why = append(why, "ECE")
			}
			if len(why) == 0 {
				verdict = "PASS"
				passed++
			} else {
				verdict = "MISS (" + strings.Join(why, ",") + ")"
				for _, w := range why {
					fails[w]++
				}
			}
			dAcc = append(dAcc, o[0]-svc[0])
			dF1 = append(dF1, o[1]-bestF1)
		}
		pooledRows := 0
		for _, b := range t.calibration {
			pooledRows += b.Rows
		}
		fmt.Printf("| %s | %s | %d | %d | %d | %.3f / %.3f / %.3f / %.3f | %.3f / %.3f / %.3f | %s | %+.3f | %+.3f | %s | %+.4f ± %.4f | %.3f (%d rows) |\n",
			t.dataset, t.field, t.rows, t.classes, t.splits, o[0], o[1], o[2], o[3], svc[0], svc[1], svc[2], lrCell,
			o[0]-svc[0], o[1]-bestF1, verdict, mean(t.accDiffs), standardError(t.accDiffs),
			mlpipeline.ECEOf(t.calibration), pooledRows)
	}
	fmt.Printf("\nsummary: %d of %d gated rows (data sets of 2,000 rows or more) meet the target; misses on acc %d, F1 %d, ECE %d; "+
		"ours - LinearSVC accuracy mean %+.4f (min %+.4f), ours - best macro-F1 mean %+.4f (min %+.4f); "+
		"our training %.1f s in all (every field of each run), LinearSVC fits %.1f s in all\n",
		passed, gated, fails["acc"], fails["F1"], fails["ECE"], mean(dAcc), minOf(dAcc), mean(dF1), minOf(dF1), oursTotal, svcTotal)
	return nil
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// standardError is the standard error of v's mean (sample deviation over
// the square root of its length); NaN below two values.
func standardError(v []float64) float64 {
	if len(v) < 2 {
		return math.NaN()
	}
	m := mean(v)
	var ss float64
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	return math.Sqrt(ss/float64(len(v)-1)) / math.Sqrt(float64(len(v)))
}

func minOf(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	return slices.Min(v)
}
