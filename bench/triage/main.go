// Command triage measures mlpipeline against the scikit-learn baselines of
// ../shared/data/bugs/BASELINES.md: it trains on every baseline row's file,
// field and text columns with the same 80/20 split, prints both side by side
// with the quality gate's verdict, times the whole Summary+Description job on
// apache_jira_bugs.csv and measures peak memory on a 100 MB CSV built by
// repeating that file.
//
// With -splits FILE it instead repeats the gated rows on many random splits
// whose baselines baselines_by_split.py measured, and prints how often each
// model passes the gate: one split is too noisy to judge a model by.
//
// With -datasets FILE it trains one model per data set and split of the
// output of baselines_by_dataset.py (the three files and every project of
// apache_jira_bugs.csv with at least 1,000 rows, five random splits each)
// and prints, per data set and field, the mean accuracy, macro-F1, top-3
// and ECE of ours and of both baselines on the same splits, with issue 14's
// target on data sets of 2,000 rows or more.
//
// Usage: go run ./bench/triage [-data DIR] [-skip-table] [-skip-job] [-skip-mem] [-c C]
//
//	go run ./bench/triage -splits bench/triage/splits.tsv
//	go run ./bench/triage -datasets bench/triage/datasets.tsv [-c C] [-decision RULE] [-char-rows N]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bugflow/bugflow/mlpipeline"
)

func main() {
	data := flag.String("data", "../shared/data/bugs", "directory with the CSV files and BASELINES.md")
	skipTable := flag.Bool("skip-table", false, "skip the per-row comparison")
	skipJob := flag.Bool("skip-job", false, "skip the apache Summary+Description whole job")
	skipMem := flag.Bool("skip-mem", false, "skip the 100 MB peak memory run")
	only := flag.String("only", "", "run only table rows whose \"file field\" contains this")
	memJob := flag.String("mem-job", "", "internal: train on this CSV and print peak memory")
	splitsFile := flag.String("splits", "", "repeat the gate on the splits of this file (see baselines_by_split.py)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	svmC := flag.Float64("c", 0, "SVM cost parameter of the table, -splits and -datasets runs (0: mlpipeline's default)")
	datasetsFile := flag.String("datasets", "", "compare with the baselines of this file per data set (see baselines_by_dataset.py)")
	decision := flag.String("decision", "", "decision rule of the -datasets run (mlpipeline.TrainOptions.DecisionRule; empty: the default)")
	prune := flag.Float64("prune", 0, "TrainOptions.PruneWeight of the -datasets run (0: the default)")
	charRows := flag.Int("char-rows", 0, "FeatureOptions.CharNGramMaxRows of the -datasets run and the apache job (0: the default)")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		go func() {
			<-sig
			pprof.StopCPUProfile()
			os.Exit(2)
		}()
	}
	if *memJob != "" {
		if err := runMemJob(*memJob); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if *datasetsFile != "" {
		if err := datasets(*data, *datasetsFile, datasetsOptions{c: *svmC, decision: *decision, charNGramMax: *charRows, prune: *prune}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if *splitsFile != "" {
		if err := splits(*data, *splitsFile, *svmC); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if err := run(*data, *only, *svmC, *charRows, *skipTable, *skipJob, *skipMem); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// baseline is one row of BASELINES.md.
type baseline struct {
	file, field, text     string
	rows, classes         int
	majority              float64
	svcAcc, svcF1, svcFit float64
	lrAcc, lrF1           float64
	lrECE                 float64
	hasLR                 bool
}

func parseBaselines(path string) ([]baseline, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read baselines: %w", err)
	}
	var out []baseline
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 9 || !strings.HasSuffix(strings.TrimSpace(cells[1]), ".csv") {
			continue
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		r := baseline{file: cells[1], field: cells[2], text: cells[3]}
		r.rows, _ = strconv.Atoi(cells[4])
		r.classes, _ = strconv.Atoi(cells[5])
		r.majority, _ = strconv.ParseFloat(cells[6], 64)
		svc := strings.Split(cells[7], "/")
		r.svcAcc = num(svc, 0)
		r.svcF1 = num(svc, 1)
		r.svcFit = num(svc, 2)
		if lr := strings.Split(cells[8], "/"); len(lr) == 5 {
			r.hasLR = true
			r.lrAcc, r.lrF1, r.lrECE = num(lr, 0), num(lr, 1), num(lr, 3)
		}
		out = append(out, r)
	}
	return out, nil
}

func num(parts []string, i int) float64 {
	if i >= len(parts) {
		return 0
	}
	v, _ := strconv.ParseFloat(strings.TrimSpace(parts[i]), 64)
	return v
}

func run(data, only string, svmC float64, charRows int, skipTable, skipJob, skipMem bool) error {
	rows, err := parseBaselines(filepath.Join(data, "BASELINES.md"))
	if err != nil {
		return err
	}
	fmt.Printf("GOMAXPROCS %d, %s\n\n", runtime.GOMAXPROCS(0), runtime.Version())
	if !skipTable {
		if err := table(data, only, svmC, rows); err != nil {
			return err
		}
	}
	if !skipJob {
		if err := apacheJob(data, rows, charRows); err != nil {
			return err
		}
	}
	if !skipMem {
		if err := memory(data); err != nil {
			return err
		}
	}
	return nil
}

func table(data, only string, svmC float64, rows []baseline) error {
	fmt.Println("| file | field | text | rows | classes | majority | baseline best acc / macro-F1 | ours acc / macro-F1 / top-3 / ECE | ours train s | gate |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	failed := 0
	for _, b := range rows {
		if only != "" && !strings.Contains(b.file+" "+b.field, only) {
			continue
		}
		f, err := os.Open(filepath.Join(data, b.file))
		if err != nil {
			return fmt.Errorf("open %s: %w", b.file, err)
		}
		start := time.Now()
		_, rep, err := mlpipeline.Train(context.Background(), []io.Reader{bufio.NewReader(f)}, mlpipeline.TrainOptions{
			TextColumns:   strings.Split(b.text, "+"),
			TargetColumns: []string{b.field},
			C:             svmC,
		}, nil)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s %s %s: %w", b.file, b.field, b.text, err)
		}
		took := time.Since(start)
		m := rep.Fields[0].Metrics
		bestAcc := max(b.svcAcc, b.lrAcc)
		bestF1 := max(b.svcF1, b.lrF1)
		verdict := "reported"
		if b.rows >= 2000 {
			why := gateFailures(m.Accuracy, m.MacroF1, m.ECE, bestAcc, bestF1)
			if len(why) == 0 {
				verdict = "PASS"
			} else {
				verdict = "FAIL (" + strings.Join(why, ",") + ")"
				failed++
			}
		}
		fmt.Printf("| %s | %s | %s | %d | %d | %.3f (ours %.3f) | %.3f / %.3f | %.3f / %.3f / %.3f / %.3f | %.1f | %s |\n",
			b.file, b.field, b.text, m.TrainRows+m.TestRows, m.Classes, b.majority, m.MajorityAccuracy,
			bestAcc, bestF1, m.Accuracy, m.MacroF1, m.Top3, m.ECE, took.Seconds(), verdict)
	}
	fmt.Printf("\ngated rows failed: %d\n\n", failed)
	return nil
}

// gateFailures returns what fails the quality gate of a row with at least
// 2,000 rows: accuracy at least the better baseline's minus 1 point, macro-F1
// at least the better baseline's minus 2 points, ECE at most 0.05.
func gateFailures(acc, f1, ece, bestAcc, bestF1 float64) []string {
	var why []string
	if acc < bestAcc-0.01 {
		why = append(why, "acc")
	}
	if f1 < bestF1-0.02 {
		why = append(why, "F1")
	}
	if ece > 0.05 {
		why = append(why, "ECE")
	}
	return why
}

func apacheJob(data string, rows []baseline, charRows int) error {
	path := filepath.Join(data, "apache_jira_bugs.csv")
	budget := 0.0
	for _, b := range rows {
		if b.file == "apache_jira_bugs.csv" && b.text == "Summary+Description" {
			budget += b.svcFit
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open apache file: %w", err)
	}
	defer f.Close()
	start := time.Now()
	m, rep, err := mlpipeline.Train(context.Background(), []io.Reader{f}, mlpipeline.TrainOptions{
		TextColumns: []string{"Summary", "Description"},
		Features:    mlpipeline.FeatureOptions{CharNGramMaxRows: charRows},
	}, nil)
	if err != nil {
		return fmt.Errorf("apache job: %w", err)
	}
	blob, err := m.MarshalBinary()
	if err != nil {
		return fmt.Errorf("marshal: %w", err)
	}
	took := time.Since(start)
	fmt.Printf("apache_jira_bugs.csv Summary+Description whole job (parse, features, %d fields, metrics, serialise): %.1f s (budget: sum of LinearSVC S+D fit times %.1f s)\n",
		len(rep.Fields), took.Seconds(), budget)
	fmt.Printf("rows %d, features %d, stored weights %d, model %.1f MB serialised\n",
		rep.Stats.UsedRows, m.FeatureCount(), m.WeightCount(), float64(len(blob))/1e6)
	for _, r := range rep.Roles {
		fmt.Printf("  role %-12s %-8s personal=%-5v %s\n", r.Column, r.Role, r.Personal, r.Reason)
	}
	for _, fr := range rep.Fields {
		mt := fr.Metrics
		fmt.Printf("  %-10s acc %.3f macro-F1 %.3f top-3 %.3f ECE %.3f classes %d (modelled %d) train %d test %d\n",
			fr.Field, mt.Accuracy, mt.MacroF1, mt.Top3, mt.ECE, mt.Classes, mt.ModelClasses, mt.TrainRows, mt.TestRows)
	}
	if err := predictLatency(path, m); err != nil {
		return err
	}
	fmt.Printf("peak RSS of this process so far (VmHWM): %s\n\n", vmHWM())
	return nil
}

// predictLatency times Predict (every field) on 2,000 real summaries and
// prints the median and the 99th percentile.
func predictLatency(path string, m *mlpipeline.Model) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return fmt.Errorf("read summaries: %w", err)
	}
	var times []time.Duration
	for _, r := range recs[1:] {
		if len(times) == 2000 {
			break
		}
		if strings.TrimSpace(r[2]) == "" {
			continue
		}
		start := time.Now()
		if _, err := m.Predict(r[2]); err != nil {
			return fmt.Errorf("predict: %w", err)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	fmt.Printf("predict every field for one summary: median %v, p99 %v over %d summaries\n",
		times[len(times)/2], times[len(times)*99/100], len(times))
	return nil
}

// memory builds a ~100 MB CSV by repeating the apache file and trains on it
// in a fresh process, so that the peak is that job's alone.
func memory(data string) error {
	src, err := os.ReadFile(filepath.Join(data, "apache_jira_bugs.csv"))
	if err != nil {
		return fmt.Errorf("read apache file: %w", err)
	}
	header, body, _ := bytes.Cut(src, []byte("\n"))
	tmp, err := os.CreateTemp("", "triage-100mb-*.csv")
	if err != nil {
		return fmt.Errorf("temp file: %w", err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	w.Write(header)
	w.WriteByte('\n')
	size := len(header) + 1
	for size < 100<<20 {
		w.Write(body)
		size += len(body)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write temp file: %w", err)
	}
	tmp.Close()
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("executable: %w", err)
	}
	cmd := exec.Command(self, "-mem-job", tmp.Name())
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	fmt.Printf("100 MB job on %s (%.1f MB):\n", tmp.Name(), float64(size)/(1<<20))
	return cmd.Run()
}

func runMemJob(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	start := time.Now()
	m, rep, err := mlpipeline.Train(context.Background(), []io.Reader{f}, mlpipeline.TrainOptions{
		TextColumns: []string{"Summary", "Description"},
	}, nil)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	blob, err := m.MarshalBinary()
	if err != nil {
		return fmt.Errorf("marshal: %w", err)
	}
	fmt.Printf("  rows %d, fields %d, %.1f s, model %.1f MB, peak RSS (VmHWM) %s\n",
		rep.Stats.UsedRows, len(rep.Fields), time.Since(start).Seconds(), float64(len(blob))/1e6, vmHWM())
	return nil
}

// vmHWM reads the peak resident set size from /proc/self/status.
func vmHWM() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
		}
	}
	return "unknown"
}
