package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bugflow/bugflow/mlpipeline"
)

// splitBaseline is one line of baselines_by_split.py's output: both
// baselines on one row of BASELINES.md and one random split.
type splitBaseline struct {
	file, field, text string
	seed              uint32
	svcAcc, svcF1     float64
	lrAcc, lrF1       float64
}

func readSplits(path string) ([]splitBaseline, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open splits: %w", err)
	}
	defer f.Close()
	var out []splitBaseline
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		cells := strings.Split(sc.Text(), "\t")
		if line == 1 || len(cells) == 0 || cells[0] == "" {
			continue
		}
		if len(cells) != 8 {
			return nil, fmt.Errorf("%s:%d: want 8 tab-separated cells, have %d", path, line, len(cells))
		}
		seed, err := strconv.ParseUint(cells[3], 10, 32)
		if err != nil || seed == 0 {
			return nil, fmt.Errorf("%s:%d: seed %q is not a positive integer", path, line, cells[3])
		}
		b := splitBaseline{file: cells[0], field: cells[1], text: cells[2], seed: uint32(seed)}
		for i, dst := range []*float64{&b.svcAcc, &b.svcF1, &b.lrAcc, &b.lrF1} {
			if *dst, err = strconv.ParseFloat(cells[4+i], 64); err != nil {
				return nil, fmt.Errorf("%s:%d: cell %d: %w", path, line, 5+i, err)
			}
		}
		out = append(out, b)
	}
	return out, sc.Err()
}

// splitTally accumulates one table row's results over its splits.
type splitTally struct {
	key           string
	splits        int
	ours, svc, lr int        // splits on which each model passes the gate
	dAcc, dF1     float64    // sums of ours minus the better baseline
	acc, f1       [3]float64 // sums of ours, LinearSVC's and LogReg's
	seed42        string
	fails         map[string]int // our gate failures by reason ("acc", "F1", "ECE")
}

// splits trains our model on every split of the file and prints, per row,
// how often ours and each baseline pass the gate. The baselines are judged on
// accuracy and macro-F1 only (LinearSVC has no probabilities to calibrate).
func splits(data, path string, svmC float64) error {
	lines, err := readSplits(path)
	if err != nil {
		return err
	}
	// allPass[seed][model] stays true while that model passes every row of
	// that split.
	allPass := map[uint32]*[3]bool{}
	files := map[string][]byte{}
	var order []*splitTally
	byKey := map[string]*splitTally{}
	for _, b := range lines {
		src, ok := files[b.file]
		if !ok {
			if src, err = os.ReadFile(filepath.Join(data, b.file)); err != nil {
				return fmt.Errorf("read %s: %w", b.file, err)
			}
			files[b.file] = src
		}
		_, rep, err := mlpipeline.Train(context.Background(), []io.Reader{bytes.NewReader(src)}, mlpipeline.TrainOptions{
			TextColumns:   strings.Split(b.text, "+"),
			TargetColumns: []string{b.field},
			Seed:          b.seed,
			C:             svmC,
		}, nil)
		if err != nil {
			return fmt.Errorf("%s %s %s seed %d: %w", b.file, b.field, b.text, b.seed, err)
		}
		m := rep.Fields[0].Metrics
		key := b.file + " | " + b.field + " | " + b.text
		t := byKey[key]
		if t == nil {
			t = &splitTally{key: key, fails: map[string]int{}}
			byKey[key] = t
			order = append(order, t)
		}
		bestAcc, bestF1 := max(b.svcAcc, b.lrAcc), max(b.svcF1, b.lrF1)
		why := gateFailures(m.Accuracy, m.MacroF1, m.ECE, bestAcc, bestF1)
		verdict := "PASS"
		if len(why) > 0 {
			verdict = "FAIL (" + strings.Join(why, ",") + ")"
		}
		if b.seed == 42 {
			t.seed42 = fmt.Sprintf("%.3f / %.3f %s", m.Accuracy, m.MacroF1, verdict)
			continue // the published split is reported, not counted
		}
		t.splits++
		for i, v := range [3][2]float64{{m.Accuracy, m.MacroF1}, {b.svcAcc, b.svcF1}, {b.lrAcc, b.lrF1}} {
			t.acc[i] += v[0]
			t.f1[i] += v[1]
		}
		t.dAcc += m.Accuracy - bestAcc
		t.dF1 += m.MacroF1 - bestF1
		for _, w := range why {
			t.fails[w]++
		}
		passed := [3]bool{
			len(why) == 0,
			len(gateFailures(b.svcAcc, b.svcF1, 0, bestAcc, bestF1)) == 0,
			len(gateFailures(b.lrAcc, b.lrF1, 0, bestAcc, bestF1)) == 0,
		}
		for i, count := range []*int{&t.ours, &t.svc, &t.lr} {
			if passed[i] {
				*count++
			}
		}
		all := allPass[b.seed]
		if all == nil {
			all = &[3]bool{true, true, true}
			allPass[b.seed] = all
		}
		for i := range all {
			all[i] = all[i] && passed[i]
		}
	}
	fmt.Println("| file | field | text | splits | gate passed: ours / LinearSVC / LogReg | ours failed on acc / F1 / ECE | mean ours - best baseline: acc / macro-F1 | mean acc / macro-F1: ours, LinearSVC, LogReg | seed 42 (ours) |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, t := range order {
		n := float64(t.splits)
		fmt.Printf("| %s | %d | %d / %d / %d | %d / %d / %d | %+.3f / %+.3f | %.3f / %.3f, %.3f / %.3f, %.3f / %.3f | %s |\n",
			t.key, t.splits, t.ours, t.svc, t.lr, t.fails["acc"], t.fails["F1"], t.fails["ECE"], t.dAcc/n, t.dF1/n,
			t.acc[0]/n, t.f1[0]/n, t.acc[1]/n, t.f1[1]/n, t.acc[2]/n, t.f1[2]/n, t.seed42)
	}
	var every [3]int
	for _, all := range allPass {
		for i, ok := range all {
			if ok {
				every[i]++
			}
		}
	}
	fmt.Printf("\nsplits on which every row passes: ours %d, LinearSVC %d, LogReg %d of %d\n",
		every[0], every[1], every[2], len(allPass))
	return nil
}
