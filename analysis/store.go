package analysis

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Job statuses of a stored result (seeds/001 ResultEnvelope.status).
const (
	JobPending   = "pending"
	JobWaiting   = "waiting"
	JobRunning   = "running"
	JobCompleted = "completed"
	JobFailed    = "failed"
)

// ProgressEntry is one step of a running job's progress_log.
type ProgressEntry struct {
	Phase string `json:"phase"`
	// Timestamp is Unix seconds, as in seeds/001.
	Timestamp float64 `json:"timestamp"`
}

// StoredResult is one analysis job and its result.
type StoredResult struct {
	JobID       string
	JobName     string
	BuildNumber int
	JenkinsURL  string
	Status      string
	// RequestParams are the effective request settings, secrets stripped
	// (StripSecrets) before they are stored.
	RequestParams map[string]any
	// Result is the result body (FailureAnalysisResult or, later,
	// AnalysisResult) as JSON.
	Result        json.RawMessage
	Error         string
	ProgressPhase string
	ProgressLog   []ProgressEntry
	CreatedAt     time.Time
	StartedAt     *time.Time
	CompletedAt   *time.Time
}

// ResultSummary is a stored job as the dashboard shows it: the job without
// its request parameters and progress, the result body of a completed job
// (nil otherwise) and its review counters.
type ResultSummary struct {
	JobID         string
	JobName       string
	BuildNumber   int
	JenkinsURL    string
	Status        string
	Error         string
	Result        json.RawMessage
	CreatedAt     time.Time
	StartedAt     *time.Time
	CompletedAt   *time.Time
	CommentCount  int
	ReviewedCount int
}

// HistoryRow is one recorded test outcome (passes included, unlike the
// reference system, so that pass counts, streaks and flakiness are real).
type HistoryRow struct {
	ID               int64          `json:"id"`
	JobID            string         `json:"job_id"`
	JobName          string         `json:"job_name"`
	BuildNumber      int            `json:"build_number"`
	ChildJobName     string         `json:"child_job_name"`
	ChildBuildNumber int            `json:"child_build_number"`
	TestName         string         `json:"test_name"`
	Outcome          Outcome        `json:"outcome"`
	ErrorMessage     string         `json:"error_message"`
	ErrorSignature   string         `json:"error_signature"`
	Classification   Classification `json:"classification"`
	AnalyzedAt       time.Time      `json:"analyzed_at"`
}

// HistoryFilter selects failure rows for GET /history/failures.
type HistoryFilter struct {
	// Search matches test name, error message or job name, case-insensitively.
	Search         string
	JobName        string
	Classification Classification
	Limit          int
	Offset         int
}

// RunSummary is one analysed run (job_id) of a job.
type RunSummary struct {
	JobID      string
	AnalyzedAt time.Time
	Failures   int
}

// FailureCount counts failure rows of one test and classification.
type FailureCount struct {
	TestName       string         `json:"test_name"`
	Count          int            `json:"count"`
	Classification Classification `json:"classification"`
}

// TestClassification is a label given to a test: a primary classification
// (CODE ISSUE, PRODUCT BUG, INFRASTRUCTURE: overrides, which teach the
// offline analyzer) or a history label (FLAKY, REGRESSION, INFRASTRUCTURE,
// KNOWN_BUG, INTERMITTENT).
type TestClassification struct {
	ID               int64     `json:"id"`
	TestName         string    `json:"test_name"`
	JobName          string    `json:"job_name"`
	ParentJobName    string    `json:"parent_job_name"`
	Classification   string    `json:"classification"`
	Reason           string    `json:"reason"`
	References       string    `json:"references_info"`
	CreatedBy        string    `json:"created_by"`
	JobID            string    `json:"job_id"`
	ChildBuildNumber int       `json:"child_build_number"`
	CreatedAt        time.Time `json:"created_at"`
	// Primary marks CODE ISSUE / PRODUCT BUG / INFRASTRUCTURE overrides.
	Primary bool `json:"-"`
	// Visible is false for AI-authored labels until their analysis shows
	// them.
	Visible bool `json:"-"`
	// ErrorSignature, ErrorMessage and StackTrace keep the failure the
	// label was given to, for learning.
	ErrorSignature string `json:"-"`
	ErrorMessage   string `json:"-"`
	StackTrace     string `json:"-"`
}

// ClassificationFilter selects classifications; empty fields match all.
type ClassificationFilter struct {
	TestName       string
	Classification string
	JobName        string
	ParentJobName  string
	JobID          string
	// PrimaryOnly keeps CODE ISSUE / PRODUCT BUG / INFRASTRUCTURE labels.
	PrimaryOnly bool
	// VisibleOnly hides AI-authored labels not yet made visible.
	VisibleOnly bool
}

// Comment is a note on a failure of a stored result.
type Comment struct {
	ID               int64     `json:"id"`
	JobID            string    `json:"job_id"`
	TestName         string    `json:"test_name"`
	ChildJobName     string    `json:"child_job_name"`
	ChildBuildNumber int       `json:"child_build_number"`
	Comment          string    `json:"comment"`
	ErrorSignature   string    `json:"error_signature"`
	Username         string    `json:"username"`
	CreatedAt        time.Time `json:"created_at"`
}

// Review is the reviewed state of one failure of a stored result.
type Review struct {
	JobID string `json:"-"`
	// Key is the test name, or child_job_name#child_build_number::test_name
	// for child failures (seeds/001).
	Key       string    `json:"-"`
	Reviewed  bool      `json:"reviewed"`
	Username  string    `json:"username"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ResultStore persists analysis jobs.
type ResultStore interface {
	// SaveResult inserts the result or replaces the stored one of its job.
	SaveResult(ctx context.Context, r StoredResult) error
	// GetResult returns one job (errs.NotFound when unknown).
	GetResult(ctx context.Context, jobID string) (StoredResult, error)
	// ListResults returns the newest jobs first.
	ListResults(ctx context.Context, limit int) ([]StoredResult, error)
	// SummarizeResults returns the newest jobs first, as ListResults, each
	// with its comment count and its count of failures marked reviewed.
	SummarizeResults(ctx context.Context, limit int) ([]ResultSummary, error)
	// AppendProgress sets the job's phase and appends it to its log.
	AppendProgress(ctx context.Context, jobID string, e ProgressEntry) error
	// DeleteResult removes the job and everything recorded for it
	// (history, classifications, comments, reviews).
	DeleteResult(ctx context.Context, jobID string) error
}

// HistoryStore persists test outcomes and the queries over them.
type HistoryStore interface {
	// RecordOutcomes appends outcome rows (IDs are assigned).
	RecordOutcomes(ctx context.Context, rows []HistoryRow) error
	// SetClassification sets the classification of the failure rows of a
	// job with the given signature (an override) and returns how many
	// changed.
	SetClassification(ctx context.Context, jobID, signature string, c Classification) (int, error)
	// ListFailures returns failed/errored rows, newest first, and their
	// total.
	ListFailures(ctx context.Context, f HistoryFilter) ([]HistoryRow, int, error)
	// TestHistory returns every outcome of a test (of one job when jobName
	// is set), newest first, leaving out excludeJobID.
	TestHistory(ctx context.Context, testName, jobName, excludeJobID string) ([]HistoryRow, error)
	// SignatureFailures returns the failure rows with a signature, newest
	// first.
	SignatureFailures(ctx context.Context, signature, excludeJobID string) ([]HistoryRow, error)
	// JobRuns summarises each analysed run of a job.
	JobRuns(ctx context.Context, jobName, excludeJobID string) ([]RunSummary, error)
	// TopFailures counts failure rows of a job by test and classification,
	// most frequent first.
	TopFailures(ctx context.Context, jobName, excludeJobID string, limit int) ([]FailureCount, error)
}

// ReviewStore persists labels, comments and review states.
type ReviewStore interface {
	AddClassification(ctx context.Context, c *TestClassification) error
	ListClassifications(ctx context.Context, f ClassificationFilter) ([]TestClassification, error)
	AddComment(ctx context.Context, c *Comment) error
	// ListComments returns a job's comments oldest first.
	ListComments(ctx context.Context, jobID string) ([]Comment, error)
	// CommentsFor returns comments on a test or on a signature (whichever
	// is set), newest first.
	CommentsFor(ctx context.Context, testName, signature string) ([]Comment, error)
	GetComment(ctx context.Context, jobID string, id int64) (Comment, error)
	DeleteComment(ctx context.Context, jobID string, id int64) error
	SetReview(ctx context.Context, r Review) error
	ListReviews(ctx context.Context, jobID string) ([]Review, error)
}

// Store is everything the analysis service persists. BunStore implements
// it on SQLite and PostgreSQL.
type Store interface {
	ResultStore
	HistoryStore
	ReviewStore
	// Atomically runs fn with a Store whose work is one transaction: all
	// of fn's writes are kept when it returns nil and none otherwise. A
	// result read with GetResult in it cannot change under fn before the
	// transaction ends, so read-modify-write changes of one job apply one
	// after the other.
	Atomically(ctx context.Context, fn func(ctx context.Context, st Store) error) error
}

// secretWords mark request parameters that must never be stored.
var secretWords = []string{"token", "secret", "password", "passwd", "api_key", "apikey", "credential", "authorization", "private_key"}

// StripSecrets returns a copy of params without the keys that hold secrets
// (compared case-insensitively, nested objects included), so that tokens
// given with a request are used but never stored or shown.
func StripSecrets(params map[string]any) map[string]any {
	if params == nil {
		return nil
	}
	out := make(map[string]any, len(params))
	for k, v := range params {
		if isSecretKey(k) {
			continue
		}
		out[k] = stripValue(v)
	}
	return out
}

func stripValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return StripSecrets(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = stripValue(e)
		}
		return out
	}
	return v
}

func isSecretKey(k string) bool {
	lower := strings.ToLower(k)
	// seeds/001 strips these too: they name whose credentials were used
	// (jenkins_user, jira_email) or are one (jira_pat).
	switch lower {
	case "jenkins_user", "jira_email", "jira_pat":
		return true
	}
	for _, w := range secretWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}
