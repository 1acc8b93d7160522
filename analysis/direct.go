package analysis

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/bugflow/bugflow/errs"
)

// DirectInput is an analysis run while its caller waits (seeds/001's POST
// /analyze-failures): a JUnit XML report or a list of failures, and the job
// it is recorded as.
type DirectInput struct {
	RecordInput
	// Report is a JUnit XML report. When it is nil, Failures are analysed.
	Report io.Reader
	// Failures are failures given directly, without a report.
	Failures []FailureInput
	// ReportURL is written into the enriched XML (Options.ReportURL).
	ReportURL string
	// Analyzer analyses this input (AnalyzerFor builds it from the
	// request's AI settings); nil means the service's default.
	Analyzer Analyzer
}

// Analyze runs a direct analysis as a job: it records the job as running,
// analyses with the service's analyzer, and records the result, or, when
// anything fails, the job as failed with the error's message (and returns
// the error). Readers of GET /results see the job throughout. A report that
// cannot be read fails with errs.Invalid or errs.TooLarge; failures without
// a test name with errs.Invalid naming failures[i].test_name.
func (s *Service) Analyze(ctx context.Context, in DirectInput) (*ReportAnalysis, error) {
	if err := s.Start(ctx, in.RecordInput); err != nil {
		return nil, err
	}
	ra, err := s.analyzeDirect(ctx, in)
	if err == nil {
		s.matchJira(ctx, in.JobID, in.RequestParams, ra)
		err = s.RecordAnalysis(ctx, in.RecordInput, ra)
	}
	if err != nil {
		if ferr := s.Fail(ctx, in.JobID, failureReason(err)); ferr != nil {
			err = errors.Join(err, fmt.Errorf("record analysis job %s as failed: %w", in.JobID, ferr))
		}
		return nil, err
	}
	return ra, nil
}

func (s *Service) analyzeDirect(ctx context.Context, in DirectInput) (*ReportAnalysis, error) {
	opts := Options{Analyzer: cmp.Or(in.Analyzer, s.analyzer), ReportURL: in.ReportURL}
	// Progress is for the job's readers; failing to note it must not fail
	// the analysis, which records its outcome anyway.
	if in.Report != nil {
		_ = s.Progress(ctx, in.JobID, PhaseParsing)
		return AnalyzeReport(ctx, in.Report, opts)
	}
	_ = s.Progress(ctx, in.JobID, PhaseAnalyzing)
	return AnalyzeFailures(ctx, in.Failures, opts)
}

// failureReason is what a failed job tells its readers: the message of a
// classified error, and nothing of bugflow's internals otherwise.
func failureReason(err error) string {
	if e := errs.As(err); e != nil && e.Kind != errs.Internal {
		return e.Message
	}
	return "internal server error"
}

// AIConfigs lists the distinct analyzer provider and model pairs of the
// completed jobs among the newest limit (as for Results), in order of their
// newest use.
func (s *Service) AIConfigs(ctx context.Context, limit int) ([]AIConfig, error) {
	results, err := s.Results(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := []AIConfig{}
	seen := map[AIConfig]bool{}
	for _, res := range results {
		var c AIConfig
		if res.Status != JobCompleted || json.Unmarshal(res.Result, &c) != nil || c.AIProvider == "" {
			continue
		}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out, nil
}
