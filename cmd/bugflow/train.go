package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/mlpipeline"
)

// cliCaller owns the jobs of the command line. It is an admin, so that
// "bugflow predict" can use any model in the database, whoever trained it.
var cliCaller = mlpipeline.Caller{UserID: "cli", Admin: true}

// openForCLI opens the engine without working background jobs: the
// commands do their work themselves.
func openForCLI(ctx context.Context, databaseURL string, stderr io.Writer) (*bugflow.Engine, error) {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return bugflow.Open(ctx, bugflow.Config{DatabaseURL: databaseURL, Logger: logger, Jobs: bugflow.JobsConfig{Disabled: true}})
}

// runTrain trains a model from CSV exports into the database, showing
// progress on stderr, and prints the metrics table and the model id.
func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var dbURL, textCols, targetCols string
	var anon bool
	c := newCommand("train", "bugflow train [flags] FILE.csv [FILE.csv ...]",
		"Trains a triage model on Jira or Bugzilla CSV exports into the database, showing\nprogress on stderr, and prints the hold-out metrics and the model id.")
	c.stringVar(&dbURL, "database-url", "URL", "BUGFLOW_DATABASE_URL", defaultDatabaseURL, databaseURLUsage)
	// Without an environment variable the switch cannot fail.
	_ = c.boolVar(&anon, "anon", "", "train the anonymised variant (seeds/000's is_anon)")
	c.stringVar(&textCols, "text-columns", "A,B", "", "", "the text columns, comma-separated; detected when not given")
	c.stringVar(&targetCols, "target-columns", "X,Y", "", "", "the columns to predict, comma-separated; detected when not given")
	if err := c.parse(args); err != nil {
		return c.usageExit(err, stdout, stderr)
	}
	if c.fs.NArg() == 0 {
		return fail(stderr, exitUsage, c.usageError("give at least one CSV file"))
	}
	var files []string
	for _, f := range c.fs.Args() {
		abs, err := filepath.Abs(f)
		if err == nil {
			_, err = os.Stat(abs)
		}
		if err != nil {
			return fail(stderr, exitUsage, fmt.Errorf("train: %w", err))
		}
		files = append(files, abs)
	}
	engine, err := openForCLI(ctx, dbURL, stderr)
	if err != nil {
		return fail(stderr, startupCode(err), err)
	}
	defer engine.Close()

	job, err := engine.ML.CreateTraining(ctx, cliCaller, mlpipeline.TrainingRequest{
		IsAnon: anon, Files: files, TextColumns: splitList(textCols), TargetColumns: splitList(targetCols),
	})
	if err != nil {
		return fail(stderr, exitFailure, err)
	}
	show := newProgressPrinter(stderr)
	if err := engine.ML.RunTrainingWithProgress(ctx, job.ID, show.update); err != nil {
		show.done()
		return fail(stderr, exitFailure, err)
	}
	show.done()
	job, err = engine.ML.TrainingStatus(ctx, cliCaller, job.ID)
	if err != nil {
		return fail(stderr, exitFailure, err)
	}
	if job.Status != mlpipeline.StatusSuccess {
		msg := job.StatusDescription
		if job.Error != nil {
			msg = job.Error.Message
		}
		return fail(stderr, exitUsage, fmt.Errorf("train: %s", msg))
	}
	printTraining(stdout, job)
	return exitOK
}

func splitList(v string) []string {
	var out []string
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// progressPrinter shows training progress: one self-overwriting line on a
// terminal, one line per stage otherwise (logs, CI).
type progressPrinter struct {
	w        io.Writer
	terminal bool
	stage    string
	wrote    bool
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	p := &progressPrinter{w: w}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

func (p *progressPrinter) update(pr mlpipeline.Progress) {
	line := pr.Stage
	switch {
	case pr.Stage == mlpipeline.StageParse:
		line = fmt.Sprintf("parsing: %d rows", pr.Rows)
	case pr.Total > 0:
		line = fmt.Sprintf("%s: %d/%d", pr.Stage, pr.Done, pr.Total)
	}
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.wrote = true
		return
	}
	if pr.Stage != p.stage {
		fmt.Fprintln(p.w, line)
		p.stage = pr.Stage
	}
}

func (p *progressPrinter) done() {
	if p.terminal && p.wrote {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// printTraining writes the column roles, the parse counts and one metrics
// row per field.
func printTraining(w io.Writer, job mlpipeline.TrainingJob) {
	var text, targets []string
	for _, r := range job.Roles {
		switch r.Role {
		case mlpipeline.RoleText:
			text = append(text, r.Column)
		case mlpipeline.RoleTarget:
			targets = append(targets, r.Column)
		}
	}
	fmt.Fprintf(w, "text columns:   %s\ntarget columns: %s\n", strings.Join(text, ", "), strings.Join(targets, ", "))
	if st := job.ParseStats; st != nil {
		fmt.Fprintf(w, "rows: %d read, %d used, %d unparseable, %d without text\n\n", st.Rows, st.UsedRows, st.BadRows, st.EmptyTextRows)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FIELD\tCLASSES\tTRAIN\tTEST\tACCURACY\tMACRO-F1\tTOP-3\tECE\tMAJORITY")
	for _, f := range job.Metrics {
		m := f.Metrics
		fmt.Fprintf(tw, "%s\t%d (%d predicted)\t%d\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\n",
			f.Field, m.Classes, m.ModelClasses, m.TrainRows, m.TestRows, m.Accuracy, m.MacroF1, m.Top3, m.ECE, m.MajorityAccuracy)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nmodel: %s\n", job.ID)
}

// runPredict predicts every field of a stored model for one summary.
func runPredict(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var dbURL, model string
	c := newCommand("predict", `bugflow predict [flags] --model ID "summary"`,
		"Predicts every field of a stored triage model for one bug summary, with a\nconfidence and the top alternatives.")
	c.stringVar(&dbURL, "database-url", "URL", "BUGFLOW_DATABASE_URL", defaultDatabaseURL, databaseURLUsage)
	c.stringVar(&model, "model", "ID", "", "", "the model id that bugflow train printed (required)")
	if err := c.parse(args); err != nil {
		return c.usageExit(err, stdout, stderr)
	}
	if model == "" || c.fs.NArg() != 1 {
		return fail(stderr, exitUsage, c.usageError(`usage: bugflow predict --model ID "summary"`))
	}
	engine, err := openForCLI(ctx, dbURL, stderr)
	if err != nil {
		return fail(stderr, startupCode(err), err)
	}
	defer engine.Close()
	pj, err := engine.ML.Predict(ctx, cliCaller, model, c.fs.Arg(0))
	if err != nil {
		code := exitFailure
		if k := errs.KindOf(err); k == errs.Invalid || k == errs.NotFound || k == errs.Conflict {
			code = exitUsage
		}
		return fail(stderr, code, err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FIELD\tPREDICTION\tCONFIDENCE\tALTERNATIVES")
	for _, f := range pj.Result.Fields {
		var alts []string
		for _, a := range f.Alternatives {
			alts = append(alts, fmt.Sprintf("%s %.2f", a.Value, a.Confidence))
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%s\n", f.Field, f.Prediction, f.Confidence, strings.Join(alts, ", "))
	}
	_ = tw.Flush()
	return exitOK
}
