package analysis

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// Config configures a Service. The zero value works: offline analysis
// learning from the stored human classifications, store.Now as the clock.
type Config struct {
	// Analyzer replaces every analyzer, the precedence of human labels
	// included: the embedder's analyzer decides alone and requests cannot
	// choose another.
	Analyzer Analyzer
	// AI configures the AI providers requests may choose (and the default
	// one); the zero value analyses offline.
	AI AISettings
	// Similarity tunes the offline analyzer's learning.
	Similarity SimilarityConfig
	// Logger receives the service's logs. Default slog.Default().
	Logger *slog.Logger
	// Now is the service's clock, read for every time it records. Default
	// time.Now; readings are used in UTC, truncated to microseconds.
	Now func() time.Time
}

// Service stores analyses and answers the history queries.
type Service struct {
	store    Store
	index    *SimilarityIndex
	analyzer Analyzer
	// offline is the offline analyzer learning from index; custom is
	// Config.Analyzer; ai the providers' settings.
	offline *OfflineAnalyzer
	custom  Analyzer
	ai      AISettings
	now     func() time.Time
	log     *slog.Logger
	// jiraMatcher fills jira_matches of product bugs (SetJiraMatcher).
	jiraMatcher JiraMatcher
}

// New returns a Service on st. Call LoadExamples once to teach the offline
// analyzer what humans decided before this process started.
func New(st Store, cfg Config) *Service {
	s := &Service{store: st, index: NewSimilarityIndex(cfg.Similarity), custom: cfg.Analyzer, ai: cfg.AI,
		now: store.Clock(cfg.Now), log: cmp.Or(cfg.Logger, slog.Default())}
	s.offline = NewOfflineAnalyzer(s.index)
	a, err := s.AnalyzerFor(AIRequest{})
	if err != nil {
		// The engine checks AISettings before it gets here; an embedder who
		// skipped that still gets a working service.
		s.log.Error("AI settings unusable; analysing offline", "err", err)
		a = &PrecedenceAnalyzer{Offline: s.offline}
	}
	s.analyzer = a
	return s
}

// Analyzer returns the analyzer the service uses.
func (s *Service) Analyzer() Analyzer { return s.analyzer }

// LoadExamples fills the similarity index from src (BunStore implements
// ExampleSource).
func (s *Service) LoadExamples(ctx context.Context, src ExampleSource) error {
	return s.index.Load(ctx, src)
}

// RecordInput names the job an analysis belongs to.
type RecordInput struct {
	JobID         string
	JobName       string
	BuildNumber   int
	JenkinsURL    string
	RequestParams map[string]any
}

// MaxNameLength caps, in characters, the identifiers that analysis stores
// and indexes: job ids, job names and error signatures. Test names are
// stored in full, however long.
const MaxNameLength = 500

func (in RecordInput) validate() error {
	if strings.TrimSpace(in.JobID) == "" {
		return errs.InvalidField("job_id", "must not be empty")
	}
	return checkNames(map[string]string{"job_id": in.JobID, "job_name": in.JobName})
}

// checkNames checks identifiers (field name to value): storable text of at
// most MaxNameLength characters.
func checkNames(fields map[string]string) error {
	if err := store.CheckTexts(fields); err != nil {
		return err
	}
	for _, field := range slices.Sorted(maps.Keys(fields)) {
		if utf8.RuneCountInString(fields[field]) > MaxNameLength {
			return errs.InvalidField(field, fmt.Sprintf("must be at most %d characters", MaxNameLength))
		}
	}
	return nil
}

// RecordAnalysis stores a completed analysis: the result (JobID set in it)
// and one history row per test outcome, passes included. A job started
// with Start keeps its creation time and progress log.
func (s *Service) RecordAnalysis(ctx context.Context, in RecordInput, ra *ReportAnalysis) error {
	if err := in.validate(); err != nil {
		return err
	}
	for _, f := range ra.Result.Failures {
		if err := checkNames(map[string]string{"error_signature": f.ErrorSignature}); err != nil {
			return err
		}
	}
	now := s.now()
	ra.Result.JobID = in.JobID
	body, err := encodeResult(ra.Result)
	if err != nil {
		return err
	}
	r := StoredResult{
		JobID: in.JobID, JobName: in.JobName, BuildNumber: in.BuildNumber, JenkinsURL: in.JenkinsURL,
		RequestParams: in.RequestParams, CreatedAt: now, StartedAt: &now,
	}
	if prev, err := s.store.GetResult(ctx, in.JobID); err == nil {
		r.CreatedAt, r.StartedAt, r.ProgressLog = prev.CreatedAt, prev.StartedAt, prev.ProgressLog
		if r.RequestParams == nil {
			r.RequestParams = prev.RequestParams
		}
	} else if !errors.Is(err, errs.ErrNotFound) {
		return err
	}
	r.Status, r.Result, r.CompletedAt = JobCompleted, body, &now
	r.ProgressPhase = PhaseCompleted
	r.ProgressLog = append(r.ProgressLog, ProgressEntry{Phase: PhaseCompleted, Timestamp: unixSeconds(now)})
	if err := s.store.SaveResult(ctx, r); err != nil {
		return err
	}
	return s.store.RecordOutcomes(ctx, historyRows(in, ra, now))
}

// Progress phases a direct analysis goes through.
const (
	PhaseQueued    = "queued"
	PhaseParsing   = "parsing"
	PhaseAnalyzing = "analyzing"
	PhaseSaving    = "saving"
	PhaseCompleted = "completed"
	PhaseFailed    = "failed"
)

// Start records a job that is about to run (status running, phase queued)
// so that GET /results/{job_id} answers while it works.
func (s *Service) Start(ctx context.Context, in RecordInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	now := s.now()
	body, err := json.Marshal(map[string]string{"job_id": in.JobID, "status": JobRunning})
	if err != nil {
		return fmt.Errorf("encode partial result: %w", err)
	}
	return s.store.SaveResult(ctx, StoredResult{
		JobID: in.JobID, JobName: in.JobName, BuildNumber: in.BuildNumber, JenkinsURL: in.JenkinsURL,
		Status: JobRunning, RequestParams: in.RequestParams, Result: body,
		ProgressPhase: PhaseQueued, ProgressLog: []ProgressEntry{{Phase: PhaseQueued, Timestamp: unixSeconds(now)}},
		CreatedAt: now, StartedAt: &now,
	})
}

// Progress moves a running job to a phase.
func (s *Service) Progress(ctx context.Context, jobID, phase string) error {
	return s.store.AppendProgress(ctx, jobID, ProgressEntry{Phase: phase, Timestamp: unixSeconds(s.now())})
}

// Fail marks a job failed with a reason shown to the caller.
func (s *Service) Fail(ctx context.Context, jobID, reason string) error {
	r, err := s.store.GetResult(ctx, jobID)
	if err != nil {
		return err
	}
	now := s.now()
	body, err := json.Marshal(map[string]string{"job_id": jobID, "status": JobFailed, "error": reason})
	if err != nil {
		return fmt.Errorf("encode failed result: %w", err)
	}
	r.Status, r.Error, r.Result, r.CompletedAt = JobFailed, reason, body, &now
	r.ProgressPhase = PhaseFailed
	r.ProgressLog = append(r.ProgressLog, ProgressEntry{Phase: PhaseFailed, Timestamp: unixSeconds(now)})
	return s.store.SaveResult(ctx, r)
}

// Result returns one stored job (errs.NotFound when unknown).
func (s *Service) Result(ctx context.Context, jobID string) (StoredResult, error) {
	return s.store.GetResult(ctx, jobID)
}

// Results returns the newest jobs (limit default 50, at most 1000).
func (s *Service) Results(ctx context.Context, limit int) ([]StoredResult, error) {
	limit, err := resultsLimit(limit)
	if err != nil {
		return nil, err
	}
	return s.store.ListResults(ctx, limit)
}

// resultsLimit applies the default and the bounds of a limit on jobs.
func resultsLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return 50, nil
	case limit < 0 || limit > 1000:
		return 0, errs.InvalidField("limit", "must be between 1 and 1000")
	}
	return limit, nil
}

// DashboardRow is one job of GET /api/dashboard. The review counters,
// FailureCount and Summary are filled in for completed jobs only.
type DashboardRow struct {
	JobID             string     `json:"job_id"`
	JenkinsURL        string     `json:"jenkins_url"`
	Status            string     `json:"status"`
	CreatedAt         time.Time  `json:"created_at"`
	CompletedAt       *time.Time `json:"completed_at"`
	AnalysisStartedAt *time.Time `json:"analysis_started_at"`
	ReviewedCount     int        `json:"reviewed_count"`
	CommentCount      int        `json:"comment_count"`
	JobName           string     `json:"job_name,omitempty"`
	BuildNumber       int        `json:"build_number,omitempty"`
	FailureCount      *int       `json:"failure_count,omitempty"`
	Summary           string     `json:"summary,omitempty"`
	Error             string     `json:"error,omitempty"`
}

// Dashboard summarises the newest jobs (limit as for Results), newest
// first, from one query however many jobs there are.
func (s *Service) Dashboard(ctx context.Context, limit int) ([]DashboardRow, error) {
	limit, err := resultsLimit(limit)
	if err != nil {
		return nil, err
	}
	jobs, err := s.store.SummarizeResults(ctx, limit)
	if err != nil {
		return nil, err
	}
	rows := make([]DashboardRow, 0, len(jobs))
	for _, j := range jobs {
		row := DashboardRow{
			JobID: j.JobID, JenkinsURL: j.JenkinsURL, Status: j.Status, CreatedAt: j.CreatedAt,
			CompletedAt: j.CompletedAt, AnalysisStartedAt: j.StartedAt, JobName: j.JobName,
			BuildNumber: j.BuildNumber, Error: j.Error,
		}
		if j.Status == JobCompleted {
			var body struct {
				Summary json.RawMessage `json:"summary"`
				failureTree
			}
			if err := json.Unmarshal(j.Result, &body); err != nil {
				return nil, fmt.Errorf("decode stored result of %s: %w", j.JobID, err)
			}
			// A summary that is not a string is left out, not an error.
			_ = json.Unmarshal(body.Summary, &row.Summary)
			failures := body.count()
			row.ReviewedCount, row.CommentCount, row.FailureCount = j.ReviewedCount, j.CommentCount, &failures
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// DeleteResult removes a job and everything recorded for it. Callers check
// that the user is an admin.
func (s *Service) DeleteResult(ctx context.Context, jobID string) error {
	return s.store.DeleteResult(ctx, jobID)
}

// encodeResult encodes without HTML escaping: the enriched XML is full of
// '<' and '>', which json.Marshal would turn into six bytes each.
func encodeResult(res FailureAnalysisResult) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixMicro()) / 1e6 }

// historyRows pairs outcomes with analysed failures: both are in document
// order, so the n-th failing outcome is the n-th analysed failure. Direct
// failures (no outcomes) become failure rows only.
func historyRows(in RecordInput, ra *ReportAnalysis, at time.Time) []HistoryRow {
	base := HistoryRow{JobID: in.JobID, JobName: in.JobName, BuildNumber: in.BuildNumber, AnalyzedAt: at}
	failureRow := func(f FailureAnalysis, o Outcome) HistoryRow {
		r := base
		r.TestName, r.Outcome, r.ErrorMessage = f.TestName, o, f.Error
		r.ErrorSignature, r.Classification = f.ErrorSignature, f.Analysis.Classification
		return r
	}
	var rows []HistoryRow
	if len(ra.Outcomes) == 0 {
		for _, f := range ra.Result.Failures {
			rows = append(rows, failureRow(f, Failed))
		}
		return rows
	}
	next := 0
	for _, o := range ra.Outcomes {
		switch {
		case o.Outcome.IsFailure() && next < len(ra.Result.Failures):
			rows = append(rows, failureRow(ra.Result.Failures[next], o.Outcome))
			next++
		case o.Outcome == Passed:
			r := base
			r.TestName, r.Outcome = o.TestName, Passed
			rows = append(rows, r)
		}
	}
	return rows
}

// Override sets a human classification on the failure group of a test in
// a completed job: every failure with its signature in the same job (the
// top-level job or the addressed child job) changes, the history rows
// follow, the stored result is patched in place (unknown fields kept;
// INFRASTRUCTURE drops code_fix and product_bug_report) with its
// enriched_xml brought in line, a primary classification row is kept, all
// in one transaction, and the offline analyzer learns from it at once.
func (s *Service) Override(ctx context.Context, jobID string, sc Scope, c Classification, username string) error {
	if err := sc.Validate(); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	var learned LabeledFailure
	err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		stored, err := completedResult(ctx, st, jobID)
		if err != nil {
			return err
		}
		target, ok, err := findFailure(stored.Result, sc)
		if err != nil {
			return err
		}
		if !ok {
			return errs.NotFoundf("failure %s not found in job %s", sc.TestName, jobID)
		}
		var body map[string]any
		if err := json.Unmarshal(stored.Result, &body); err != nil {
			return fmt.Errorf("decode result %s: %w", jobID, err)
		}
		patchGroup(body, sc, target.ErrorSignature, c)
		if sc.ChildJobName == "" {
			if err := refreshBodyXML(ctx, body); err != nil {
				return fmt.Errorf("result %s: %w", jobID, err)
			}
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(body); err != nil {
			return fmt.Errorf("encode result %s: %w", jobID, err)
		}
		stored.Result = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if err := st.SaveResult(ctx, stored); err != nil {
			return err
		}
		if sc.ChildJobName == "" {
			// History rows of child failures are recorded with their child
			// scope by the Jenkins ingestion; top-level ones are updated here.
			if _, err := st.SetClassification(ctx, jobID, target.ErrorSignature, c); err != nil {
				return err
			}
		}
		label := &TestClassification{
			TestName: sc.TestName, JobName: sc.ChildJobName, ParentJobName: stored.JobName, Classification: string(c),
			CreatedBy: username, JobID: jobID, ChildBuildNumber: sc.ChildBuildNumber, Primary: true, Visible: true,
			ErrorSignature: target.ErrorSignature, ErrorMessage: target.Error, Reason: "classification override", CreatedAt: s.now(),
		}
		learned = LabeledFailure{
			Signature: target.ErrorSignature, TestName: sc.TestName, Message: target.Error, Classification: c,
			LabeledBy: username, JobID: jobID, Note: label.Reason,
		}
		return st.AddClassification(ctx, label)
	})
	if err != nil {
		return err
	}
	return s.index.Add(learned)
}

// refreshBodyXML rewrites the enriched_xml of a decoded, patched result (if
// it has one) to carry the analyses of its top-level failures.
func refreshBodyXML(ctx context.Context, body map[string]any) error {
	enriched, _ := body["enriched_xml"].(string)
	if enriched == "" {
		return nil
	}
	raw, err := json.Marshal(body["failures"])
	if err != nil {
		return fmt.Errorf("encode failures: %w", err)
	}
	var failures []FailureAnalysis
	if err := json.Unmarshal(raw, &failures); err != nil {
		return fmt.Errorf("decode failures: %w", err)
	}
	refreshed, err := refreshEnrichedXML(ctx, enriched, failures)
	if err != nil {
		return err
	}
	body["enriched_xml"] = refreshed
	return nil
}

// patchGroup changes, in the node of a decoded result that sc addresses,
// every failure with signature sig to classification c. The node's summary
// is recomputed only when it is bugflow's own count summary.
func patchGroup(node map[string]any, sc Scope, sig string, c Classification) {
	if sc.ChildJobName == "" {
		patchFailures(node, sig, c)
		return
	}
	for _, key := range []string{"child_job_analyses", "failed_children"} {
		children, _ := node[key].([]any)
		for _, ch := range children {
			child, ok := ch.(map[string]any)
			if !ok {
				continue
			}
			name, _ := child["job_name"].(string)
			build, _ := child["build_number"].(float64)
			if name == sc.ChildJobName && int(build) == sc.ChildBuildNumber {
				patchFailures(child, sig, c)
			}
			patchGroup(child, sc, sig, c)
		}
	}
}

func patchFailures(node map[string]any, sig string, c Classification) {
	failures, _ := node["failures"].([]any)
	before, after := map[Classification]int{}, map[Classification]int{}
	for _, fv := range failures {
		f, ok := fv.(map[string]any)
		if !ok {
			continue
		}
		a, ok := f["analysis"].(map[string]any)
		if !ok {
			continue
		}
		old, _ := a["classification"].(string)
		before[Classification(old)]++
		if s, _ := f["error_signature"].(string); s == sig {
			a["classification"] = string(c)
			a["classification_source"] = SourceHuman
			switch c {
			case Infrastructure:
				delete(a, "code_fix")
				delete(a, "product_bug_report")
			case CodeIssue:
				delete(a, "product_bug_report")
			case ProductBug:
				delete(a, "code_fix")
			}
			old = string(c)
		}
		after[Classification(old)]++
	}
	if summary, _ := node["summary"].(string); summary == summarise(before) {
		node["summary"] = summarise(after)
	}
}

// TestHistoryReport answers GET /history/test/{test_name}.
type TestHistoryReport struct {
	TestName string `json:"test_name"`
	// TotalRuns counts analysed runs (jobs) with an outcome of the test.
	TotalRuns int `json:"total_runs"`
	// Failures counts runs where it failed; Passes runs where it passed
	// and did not fail. bugflow records passes, so both are real numbers.
	Failures            int            `json:"failures"`
	Passes              *int           `json:"passes"`
	FailureRate         *float64       `json:"failure_rate"`
	FirstSeen           *time.Time     `json:"first_seen"`
	LastSeen            *time.Time     `json:"last_seen"`
	LastClassification  string         `json:"last_classification"`
	Classifications     map[string]int `json:"classifications"`
	RecentRuns          []HistoryRow   `json:"recent_runs"`
	Comments            []CommentRef   `json:"comments"`
	ConsecutiveFailures int            `json:"consecutive_failures"`
	Note                string         `json:"note"`
	Flaky               []FlakyTest    `json:"flaky"`
}

// CommentRef is a comment as shown in history answers.
type CommentRef struct {
	Comment   string    `json:"comment"`
	Username  string    `json:"username"`
	CreatedAt time.Time `json:"created_at"`
}

// run is one job's outcomes of a test.
type run struct {
	jobID  string
	job    string
	at     time.Time
	failed bool
	passed bool
}

// TestHistory summarises a test's recorded outcomes (of one job when
// jobName is set): runs, failures, passes, rate, the real current streak of
// failing runs, the flaky verdict of the last 14 days, recent failures and
// comments.
func (s *Service) TestHistory(ctx context.Context, testName, jobName, excludeJobID string, limit int) (TestHistoryReport, error) {
	if strings.TrimSpace(testName) == "" {
		return TestHistoryReport{}, errs.InvalidField("test_name", "must not be empty")
	}
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	rows, err := s.store.TestHistory(ctx, testName, jobName, excludeJobID)
	if err != nil {
		return TestHistoryReport{}, err
	}
	rep := TestHistoryReport{TestName: testName, Classifications: map[string]int{}, RecentRuns: []HistoryRow{}, Comments: []CommentRef{}, Flaky: []FlakyTest{}}
	var runs []*run
	byJob := map[string]*run{}
	var records []OutcomeRecord
	for _, r := range rows { // newest first
		ru := byJob[r.JobID]
		if ru == nil {
			ru = &run{jobID: r.JobID, job: r.JobName, at: r.AnalyzedAt}
			byJob[r.JobID] = ru
			runs = append(runs, ru)
		}
		records = append(records, OutcomeRecord{JobName: r.JobName, Build: r.BuildNumber, TestName: r.TestName, Outcome: r.Outcome, At: r.AnalyzedAt})
		if rep.FirstSeen == nil || r.AnalyzedAt.Before(*rep.FirstSeen) {
			t := r.AnalyzedAt
			rep.FirstSeen = &t
		}
		if rep.LastSeen == nil || r.AnalyzedAt.After(*rep.LastSeen) {
			t := r.AnalyzedAt
			rep.LastSeen = &t
		}
		switch {
		case r.Outcome.IsFailure():
			ru.failed = true
			if r.Classification != "" {
				rep.Classifications[string(r.Classification)]++
				if rep.LastClassification == "" {
					rep.LastClassification = string(r.Classification)
				}
			}
			if len(rep.RecentRuns) < limit {
				rep.RecentRuns = append(rep.RecentRuns, r)
			}
		case r.Outcome == Passed:
			ru.passed = true
		}
	}
	passes := 0
	for _, ru := range runs {
		if ru.failed {
			rep.Failures++
		} else if ru.passed {
			passes++
		}
	}
	rep.TotalRuns = rep.Failures + passes
	rep.Passes = &passes
	if rep.TotalRuns > 0 {
		rate := math.Round(float64(rep.Failures)/float64(rep.TotalRuns)*10000) / 10000
		rep.FailureRate = &rate
	}
	// The streak: failing runs since the most recent run that did not fail.
	for _, ru := range runs {
		if !ru.failed {
			break
		}
		rep.ConsecutiveFailures++
	}
	rep.Flaky = append(rep.Flaky, DetectFlaky(records, s.now(), FlakyWindow)...)
	if len(rep.Flaky) > 0 {
		rep.Note = rep.Flaky[0].Evidence()
	}
	comments, err := s.store.CommentsFor(ctx, testName, "")
	if err != nil {
		return TestHistoryReport{}, err
	}
	for _, c := range comments {
		rep.Comments = append(rep.Comments, CommentRef{Comment: c.Comment, Username: c.Username, CreatedAt: c.CreatedAt})
	}
	return rep, nil
}

// SignatureReport answers GET /history/search.
type SignatureReport struct {
	Signature          string           `json:"signature"`
	TotalOccurrences   int              `json:"total_occurrences"`
	UniqueTests        int              `json:"unique_tests"`
	Tests              []TestOccurrence `json:"tests"`
	LastClassification string           `json:"last_classification"`
	Comments           []CommentRef     `json:"comments"`
}

// TestOccurrence counts one test's failures with a signature; Tests are
// ordered by occurrences, most first.
type TestOccurrence struct {
	TestName    string `json:"test_name"`
	Occurrences int    `json:"occurrences"`
}

// SearchSignature finds the tests that failed with a signature.
func (s *Service) SearchSignature(ctx context.Context, signature, excludeJobID string) (SignatureReport, error) {
	if strings.TrimSpace(signature) == "" {
		return SignatureReport{}, errs.InvalidField("signature", "must not be empty")
	}
	rows, err := s.store.SignatureFailures(ctx, signature, excludeJobID)
	if err != nil {
		return SignatureReport{}, err
	}
	rep := SignatureReport{Signature: signature, TotalOccurrences: len(rows), Tests: []TestOccurrence{}, Comments: []CommentRef{}}
	index := map[string]int{}
	for _, r := range rows {
		if rep.LastClassification == "" {
			rep.LastClassification = string(r.Classification)
		}
		i, ok := index[r.TestName]
		if !ok {
			i = len(rep.Tests)
			index[r.TestName] = i
			rep.Tests = append(rep.Tests, TestOccurrence{TestName: r.TestName})
		}
		rep.Tests[i].Occurrences++
	}
	rep.UniqueTests = len(rep.Tests)
	slices.SortStableFunc(rep.Tests, func(a, b TestOccurrence) int {
		if a.Occurrences != b.Occurrences {
			return b.Occurrences - a.Occurrences
		}
		return strings.Compare(a.TestName, b.TestName)
	})
	comments, err := s.store.CommentsFor(ctx, "", signature)
	if err != nil {
		return SignatureReport{}, err
	}
	for _, c := range comments {
		rep.Comments = append(rep.Comments, CommentRef{Comment: c.Comment, Username: c.Username, CreatedAt: c.CreatedAt})
	}
	return rep, nil
}

// Trends of JobStats.
const (
	TrendImproving = "improving"
	TrendWorsening = "worsening"
	TrendStable    = "stable"
)

// JobStatsReport answers GET /history/stats/{job_name}.
type JobStatsReport struct {
	JobName             string         `json:"job_name"`
	TotalBuildsAnalyzed int            `json:"total_builds_analyzed"`
	BuildsWithFailures  int            `json:"builds_with_failures"`
	OverallFailureRate  float64        `json:"overall_failure_rate"`
	MostCommonFailures  []FailureCount `json:"most_common_failures"`
	RecentTrend         string         `json:"recent_trend"`
}

// JobStats aggregates a job's analysed builds: the failure rate, the ten
// most common (test, classification) failures, and the trend comparing
// failing builds of the last 7 days with days 7-14 (fewer: improving, more:
// worsening, equal: stable).
func (s *Service) JobStats(ctx context.Context, jobName, excludeJobID string) (JobStatsReport, error) {
	if strings.TrimSpace(jobName) == "" {
		return JobStatsReport{}, errs.InvalidField("job_name", "must not be empty")
	}
	runs, err := s.store.JobRuns(ctx, jobName, excludeJobID)
	if err != nil {
		return JobStatsReport{}, err
	}
	top, err := s.store.TopFailures(ctx, jobName, excludeJobID, 10)
	if err != nil {
		return JobStatsReport{}, err
	}
	rep := JobStatsReport{JobName: jobName, TotalBuildsAnalyzed: len(runs), MostCommonFailures: top}
	if rep.MostCommonFailures == nil {
		rep.MostCommonFailures = []FailureCount{}
	}
	now := s.now()
	week := 7 * 24 * time.Hour
	recent, previous := 0, 0
	for _, r := range runs {
		if r.Failures == 0 {
			continue
		}
		rep.BuildsWithFailures++
		switch age := now.Sub(r.AnalyzedAt); {
		case age >= 0 && age < week:
			recent++
		case age >= week && age < 2*week:
			previous++
		}
	}
	if rep.TotalBuildsAnalyzed > 0 {
		rep.OverallFailureRate = math.Round(float64(rep.BuildsWithFailures)/float64(rep.TotalBuildsAnalyzed)*10000) / 10000
	}
	switch {
	case recent < previous:
		rep.RecentTrend = TrendImproving
	case recent > previous:
		rep.RecentTrend = TrendWorsening
	default:
		rep.RecentTrend = TrendStable
	}
	return rep, nil
}

// MaxSearchLength caps, in characters, the text that Failures searches for.
// Its LIKE pattern then stays far below SQLite's limit of 50,000 bytes
// (LIKE or GLOB pattern too complex) whatever the characters are.
const MaxSearchLength = 1000

// Failures lists failure history rows (limit default 50, at most 200). The
// search text matches literally, wildcards included.
func (s *Service) Failures(ctx context.Context, f HistoryFilter) ([]HistoryRow, int, error) {
	if n := utf8.RuneCountInString(f.Search); n > MaxSearchLength {
		return nil, 0, errs.InvalidField("search", fmt.Sprintf("must be at most %d characters (got %d)", MaxSearchLength, n))
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	if f.Limit > 200 {
		return nil, 0, errs.InvalidField("limit", "must be at most 200")
	}
	if f.Offset < 0 {
		return nil, 0, errs.InvalidField("offset", "must not be negative")
	}
	return s.store.ListFailures(ctx, f)
}
