package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// JobNotFinishedError reports that a job is still pending, waiting or
// running, so its failures cannot be commented, reviewed or overridden yet
// (seeds/001 answers 202). It unwraps to errs.ErrConflict; test for it with
// errors.As before mapping the kind.
type JobNotFinishedError struct {
	JobID  string
	Status string
}

// Error implements error.
func (e *JobNotFinishedError) Error() string {
	return fmt.Sprintf("analysis job %s is still %s", e.JobID, e.Status)
}

// Unwrap makes the error a Conflict for callers that only know kinds.
func (e *JobNotFinishedError) Unwrap() error { return errs.ErrConflict }

// Scope addresses a failure: a top-level one (ChildJobName empty) or one of
// a child job of a pipeline.
type Scope struct {
	TestName         string `json:"test_name"`
	ChildJobName     string `json:"child_job_name"`
	ChildBuildNumber int    `json:"child_build_number"`
}

// Validate checks the scope rules of seeds/001: a test name, and a child
// build number exactly when a child job name is given; and that its text can
// be looked up.
func (s Scope) Validate() error {
	if strings.TrimSpace(s.TestName) == "" {
		return errs.InvalidField("test_name", "must not be empty")
	}
	if err := store.CheckTexts(map[string]string{"test_name": s.TestName, "child_job_name": s.ChildJobName}); err != nil {
		return err
	}
	if s.ChildBuildNumber < 0 {
		return errs.InvalidField("child_build_number", "must not be negative")
	}
	if s.ChildJobName == "" && s.ChildBuildNumber != 0 {
		return errs.InvalidField("child_build_number", "needs child_job_name")
	}
	if s.ChildJobName != "" && s.ChildBuildNumber == 0 {
		return errs.InvalidField("child_build_number", "must be non-zero when child_job_name is set")
	}
	return nil
}

// ReviewKey is the key of the review map: the test name, or
// child_job_name#child_build_number::test_name for child failures.
func (s Scope) ReviewKey() string {
	if s.ChildJobName == "" {
		return s.TestName
	}
	return s.ChildJobName + "#" + strconv.Itoa(s.ChildBuildNumber) + "::" + s.TestName
}

// completedResult loads a job that must be completed from st.
func completedResult(ctx context.Context, st ResultStore, jobID string) (StoredResult, error) {
	stored, err := st.GetResult(ctx, jobID)
	if err != nil {
		return StoredResult{}, err
	}
	switch stored.Status {
	case JobCompleted:
		return stored, nil
	case JobFailed:
		return StoredResult{}, errs.Conflictf("analysis job %s failed", jobID)
	default:
		return StoredResult{}, &JobNotFinishedError{JobID: jobID, Status: stored.Status}
	}
}

// resultTree is the part of a stored result that locates failures, for
// both result shapes (FailureAnalysisResult and AnalysisResult with
// child_job_analyses / failed_children).
type resultTree struct {
	JobName     string            `json:"job_name"`
	BuildNumber int               `json:"build_number"`
	Failures    []FailureAnalysis `json:"failures"`
	Children    []resultTree      `json:"child_job_analyses"`
	Failed      []resultTree      `json:"failed_children"`
}

// failureTree is the part of a stored result that counts its failures, for
// both result shapes; a failure is decoded no further than its braces.
type failureTree struct {
	Failures []struct{}    `json:"failures"`
	Children []failureTree `json:"child_job_analyses"`
	Failed   []failureTree `json:"failed_children"`
}

// count returns the failures of the tree, child jobs included.
func (t failureTree) count() int {
	n := len(t.Failures)
	for _, c := range t.Children {
		n += c.count()
	}
	for _, c := range t.Failed {
		n += c.count()
	}
	return n
}

// findFailure returns the failure at scope in a stored result body.
func findFailure(body []byte, sc Scope) (FailureAnalysis, bool, error) {
	var tree resultTree
	if err := json.Unmarshal(body, &tree); err != nil {
		return FailureAnalysis{}, false, fmt.Errorf("decode stored result: %w", err)
	}
	var search func(failures []FailureAnalysis) (FailureAnalysis, bool)
	search = func(failures []FailureAnalysis) (FailureAnalysis, bool) {
		for _, f := range failures {
			if f.TestName == sc.TestName {
				return f, true
			}
		}
		return FailureAnalysis{}, false
	}
	if sc.ChildJobName == "" {
		f, ok := search(tree.Failures)
		return f, ok, nil
	}
	var walk func(nodes []resultTree) (FailureAnalysis, bool)
	walk = func(nodes []resultTree) (FailureAnalysis, bool) {
		for _, n := range nodes {
			if n.JobName == sc.ChildJobName && n.BuildNumber == sc.ChildBuildNumber {
				if f, ok := search(n.Failures); ok {
					return f, true
				}
			}
			if f, ok := walk(append(append([]resultTree{}, n.Children...), n.Failed...)); ok {
				return f, true
			}
		}
		return FailureAnalysis{}, false
	}
	f, ok := walk(append(append([]resultTree{}, tree.Children...), tree.Failed...))
	return f, ok, nil
}

// AddComment comments on a failure of a completed job and returns the
// comment's ID. The failure's signature is copied from the stored result;
// username may be empty.
func (s *Service) AddComment(ctx context.Context, jobID string, sc Scope, text, username string) (int64, error) {
	if err := sc.Validate(); err != nil {
		return 0, err
	}
	if strings.TrimSpace(text) == "" {
		return 0, errs.InvalidField("comment", "must not be empty")
	}
	if err := store.CheckTexts(map[string]string{"comment": text, "username": username}); err != nil {
		return 0, err
	}
	stored, err := completedResult(ctx, s.store, jobID)
	if err != nil {
		return 0, err
	}
	f, ok, err := findFailure(stored.Result, sc)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, errs.NotFoundf("failure %s not found in job %s", sc.TestName, jobID)
	}
	c := &Comment{
		JobID: jobID, TestName: sc.TestName, ChildJobName: sc.ChildJobName, ChildBuildNumber: sc.ChildBuildNumber,
		Comment: text, ErrorSignature: f.ErrorSignature, Username: username, CreatedAt: s.now(),
	}
	if err := s.store.AddComment(ctx, c); err != nil {
		return 0, err
	}
	return c.ID, nil
}

// DeleteComment deletes a comment: admins any, others only their own (a
// comment of someone else is reported as not found). A caller with neither
// a username nor admin rights is Unauthorized.
func (s *Service) DeleteComment(ctx context.Context, jobID string, id int64, username string, admin bool) error {
	if username == "" && !admin {
		return errs.Unauthorizedf("a username is required to delete a comment")
	}
	c, err := s.store.GetComment(ctx, jobID, id)
	if err != nil {
		return err
	}
	if !admin && c.Username != username {
		return errs.NotFoundf("comment %d not found", id)
	}
	return s.store.DeleteComment(ctx, jobID, id)
}

// Comments returns a job's comments and its review map.
func (s *Service) Comments(ctx context.Context, jobID string) ([]Comment, map[string]Review, error) {
	comments, err := s.store.ListComments(ctx, jobID)
	if err != nil {
		return nil, nil, err
	}
	reviews, err := s.store.ListReviews(ctx, jobID)
	if err != nil {
		return nil, nil, err
	}
	m := make(map[string]Review, len(reviews))
	for _, r := range reviews {
		m[r.Key] = r
	}
	if comments == nil {
		comments = []Comment{}
	}
	return comments, m, nil
}

// SetReviewed sets the reviewed state of a failure of a completed job.
func (s *Service) SetReviewed(ctx context.Context, jobID string, sc Scope, reviewed bool, username string) error {
	if err := sc.Validate(); err != nil {
		return err
	}
	stored, err := completedResult(ctx, s.store, jobID)
	if err != nil {
		return err
	}
	if _, ok, err := findFailure(stored.Result, sc); err != nil {
		return err
	} else if !ok {
		return errs.NotFoundf("failure %s not found in job %s", sc.TestName, jobID)
	}
	return s.store.SetReview(ctx, Review{JobID: jobID, Key: sc.ReviewKey(), Reviewed: reviewed, Username: username, UpdatedAt: s.now()})
}

// ReviewStatus counts a job's failures, reviewed failures and comments.
type ReviewStatus struct {
	TotalFailures int `json:"total_failures"`
	ReviewedCount int `json:"reviewed_count"`
	CommentCount  int `json:"comment_count"`
}

// ReviewStatus returns the review counters of a job (zeros for a job
// without a result body yet).
func (s *Service) ReviewStatus(ctx context.Context, jobID string) (ReviewStatus, error) {
	stored, err := s.store.GetResult(ctx, jobID)
	if err != nil {
		return ReviewStatus{}, err
	}
	var tree failureTree
	if err := json.Unmarshal(stored.Result, &tree); err != nil {
		return ReviewStatus{}, fmt.Errorf("decode stored result: %w", err)
	}
	st := ReviewStatus{TotalFailures: tree.count()}
	comments, reviews, err := s.Comments(ctx, jobID)
	if err != nil {
		return ReviewStatus{}, err
	}
	st.CommentCount = len(comments)
	for _, r := range reviews {
		if r.Reviewed {
			st.ReviewedCount++
		}
	}
	return st, nil
}

// History labels of POST /history/classify.
var historyLabels = map[string]bool{"FLAKY": true, "REGRESSION": true, "INFRASTRUCTURE": true, "KNOWN_BUG": true, "INTERMITTENT": true}

// ClassifyInput is a history label for a test.
type ClassifyInput struct {
	TestName         string `json:"test_name"`
	Classification   string `json:"classification"`
	Reason           string `json:"reason"`
	JobName          string `json:"job_name"`
	References       string `json:"references"`
	JobID            string `json:"job_id"`
	ChildBuildNumber int    `json:"child_build_number"`
}

// Classify stores a history label (FLAKY, REGRESSION, INFRASTRUCTURE,
// KNOWN_BUG with references, INTERMITTENT; any case) and returns its ID.
// With a username it is human-authored and visible at once; without, it is
// created_by "ai" and hidden until its analysis shows it.
func (s *Service) Classify(ctx context.Context, in ClassifyInput, username string) (int64, error) {
	label := strings.ToUpper(strings.TrimSpace(in.Classification))
	switch {
	case strings.TrimSpace(in.TestName) == "":
		return 0, errs.InvalidField("test_name", "must not be blank")
	case !historyLabels[label]:
		return 0, errs.InvalidField("classification", "must be one of FLAKY, REGRESSION, INFRASTRUCTURE, KNOWN_BUG, INTERMITTENT")
	case label == "KNOWN_BUG" && strings.TrimSpace(in.References) == "":
		return 0, errs.InvalidField("references", "required for KNOWN_BUG")
	case strings.TrimSpace(in.JobID) == "":
		return 0, errs.InvalidField("job_id", "must not be empty")
	case in.ChildBuildNumber < 0:
		return 0, errs.InvalidField("child_build_number", "must not be negative")
	}
	err := store.CheckTexts(map[string]string{
		"test_name": in.TestName, "classification": in.Classification, "reason": in.Reason, "references": in.References, "username": username,
	})
	if err == nil {
		err = checkNames(map[string]string{"job_id": in.JobID, "job_name": in.JobName})
	}
	if err != nil {
		return 0, err
	}
	parent := ""
	if stored, err := s.store.GetResult(ctx, in.JobID); err == nil {
		parent = stored.JobName
	} else if !errors.Is(err, errs.ErrNotFound) {
		return 0, err
	}
	createdBy := username
	if createdBy == "" {
		createdBy = "ai"
	}
	c := &TestClassification{
		TestName: strings.TrimSpace(in.TestName), JobName: in.JobName, ParentJobName: parent, Classification: label,
		Reason: in.Reason, References: in.References, CreatedBy: createdBy, JobID: in.JobID,
		ChildBuildNumber: in.ChildBuildNumber, Visible: username != "", CreatedAt: s.now(),
	}
	if err := s.store.AddClassification(ctx, c); err != nil {
		return 0, err
	}
	return c.ID, nil
}

// Classifications returns the visible primary classifications (overrides)
// matching f; history labels are never returned here (seeds/001).
func (s *Service) Classifications(ctx context.Context, f ClassificationFilter) ([]TestClassification, error) {
	f.PrimaryOnly, f.VisibleOnly = true, true
	out, err := s.store.ListClassifications(ctx, f)
	if out == nil && err == nil {
		out = []TestClassification{}
	}
	return out, err
}
