package analysis

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

// describedAnalyzer is the offline analyzer under a provider and model
// name, or an analyzer that fails with err.
type describedAnalyzer struct {
	provider, model string
	err             error
}

func (a describedAnalyzer) Analyze(ctx context.Context, g Group) (Detail, error) {
	if a.err != nil {
		return Detail{}, a.err
	}
	return NewOfflineAnalyzer(nil).Analyze(ctx, g)
}

func (a describedAnalyzer) Provider() string { return a.provider }
func (a describedAnalyzer) Model() string    { return a.model }

// tickingClock returns a clock that moves a second at each reading, so
// that jobs are ordered by creation.
func tickingClock() func() time.Time {
	t := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(time.Second)
		return t
	}
}

// A direct analysis is a job from start to end: recorded as running, then
// completed with its result or failed with the error's message (an
// internal one hidden), its phases in the progress log; input the job
// cannot even be recorded with leaves nothing behind.
func TestAnalyzeRecordsItsJob(t *testing.T) {
	t.Parallel()
	const report = `<testsuite><testcase classname="pkg" name="test_a"><failure message="boom">trace</failure></testcase></testsuite>`
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// Built per database: the reports are readers, read once.
		tests := []struct {
			name     string
			in       DirectInput
			analyzer Analyzer
			wantErr  error
			phases   []string
			reason   string
		}{
			{name: "failures", in: DirectInput{Failures: []FailureInput{{TestName: "pkg.test_a", ErrorMessage: "boom"}}},
				phases: []string{PhaseQueued, PhaseAnalyzing, PhaseCompleted}},
			{name: "report", in: DirectInput{Report: strings.NewReader(report), ReportURL: "http://bugflow.example/results/x"},
				phases: []string{PhaseQueued, PhaseParsing, PhaseCompleted}},
			{name: "malformed report", in: DirectInput{Report: strings.NewReader("<testsuite>")}, wantErr: errs.ErrInvalid,
				phases: []string{PhaseQueued, PhaseParsing, PhaseFailed}, reason: "malformed JUnit XML"},
			{name: "failure without a test name", in: DirectInput{Failures: []FailureInput{{ErrorMessage: "boom"}}}, wantErr: errs.ErrInvalid,
				phases: []string{PhaseQueued, PhaseAnalyzing, PhaseFailed}, reason: "failures[0]"},
			{name: "analyzer fault", in: DirectInput{Failures: []FailureInput{{TestName: "pkg.test_a"}}},
				analyzer: describedAnalyzer{err: errors.New("provider said: secret-ish detail")}, wantErr: errs.ErrInternal,
				phases: []string{PhaseQueued, PhaseAnalyzing, PhaseFailed}, reason: "internal server error"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				svc := New(NewBunStore(db.DB), Config{Analyzer: tt.analyzer, Now: tickingClock()})
				in := tt.in
				in.JobID = "job-" + strings.ReplaceAll(tt.name, " ", "-")
				ra, err := svc.Analyze(ctx, in)
				stored, gerr := svc.Result(ctx, in.JobID)
				require.NoError(t, gerr)
				var phases []string
				for _, p := range stored.ProgressLog {
					phases = append(phases, p.Phase)
				}
				assert.Equal(t, tt.phases, phases)
				if tt.wantErr != nil {
					require.Error(t, err)
					assert.Equal(t, errs.KindOf(tt.wantErr), errs.KindOf(err), "%v", err)
					assert.Nil(t, ra)
					assert.Equal(t, JobFailed, stored.Status)
					assert.Contains(t, stored.Error, tt.reason)
					assert.NotContains(t, stored.Error, "secret-ish", "an internal cause is not shown")
					return
				}
				require.NoError(t, err)
				assert.Equal(t, in.JobID, ra.Result.JobID)
				assert.Equal(t, JobCompleted, stored.Status)
				assert.Contains(t, string(stored.Result), "pkg.test_a")
				if in.Report != nil {
					require.NotNil(t, ra.Result.EnrichedXML)
					assert.Contains(t, *ra.Result.EnrichedXML, in.ReportURL)
				}
			})
		}

		svc := New(NewBunStore(db.DB), Config{})
		_, err := svc.Analyze(ctx, DirectInput{Failures: []FailureInput{{TestName: "t"}}})
		assert.ErrorIs(t, err, errs.ErrInvalid, "a job needs an id")
		results, err := svc.Results(ctx, 100)
		require.NoError(t, err)
		assert.Len(t, results, len(tests), "a job without an id is not recorded")
	})
}

// AIConfigs lists each provider and model of completed jobs once, the most
// recently used first, and ignores jobs that did not complete.
func TestAIConfigs(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st, clock := NewBunStore(db.DB), tickingClock()
		run := func(id string, a Analyzer) {
			svc := New(st, Config{Analyzer: a, Now: clock})
			_, _ = svc.Analyze(ctx, DirectInput{RecordInput: RecordInput{JobID: id}, Failures: []FailureInput{{TestName: "pkg.t"}}})
		}
		claude := describedAnalyzer{provider: "claude", model: "sonnet"}
		run("1", claude)
		run("2", describedAnalyzer{provider: "gemini", model: "pro"})
		run("3", claude)
		run("4", describedAnalyzer{provider: "failing", model: "x", err: errors.New("down")})
		svc := New(st, Config{Now: clock})
		require.NoError(t, svc.Start(ctx, RecordInput{JobID: "5"}))
		run("6", nil)

		got, err := svc.AIConfigs(ctx, 100)
		require.NoError(t, err)
		offline := AIConfig{AIProvider: "bugflow", AIModel: "offline-rules-v1"}
		assert.Equal(t, []AIConfig{offline, {AIProvider: "claude", AIModel: "sonnet"}, {AIProvider: "gemini", AIModel: "pro"}}, got)

		got, err = svc.AIConfigs(ctx, 3)
		require.NoError(t, err)
		assert.Equal(t, []AIConfig{offline}, got, "the newest jobs: offline, running, failed")
	})
}
