package mlpipeline

import (
	"context"
	"fmt"

	"github.com/bugflow/bugflow/errs"
)

// FailTraining ends a job that is still Processing as Failed with reason,
// for a caller that cannot run it (the job could not be queued, say). A job
// that has already finished is left alone.
func (s *Service) FailTraining(ctx context.Context, jobID, reason string) error {
	j, err := s.store.GetTrainingJob(ctx, jobID)
	if err != nil {
		return fmt.Errorf("mlpipeline: fail training: %w", err)
	}
	if j.Status != StatusProcessing {
		return nil
	}
	j.Status, j.StatusDescription = StatusFailed, descTrainingFailed+" "+reason
	j.Error = &JobError{Code: errs.Unavailable.String(), Message: reason}
	j.UpdatedAt = s.cfg.Now()
	if _, err := s.store.FinishTrainingJob(ctx, &j, nil); err != nil {
		return fmt.Errorf("mlpipeline: fail training %s: %w", jobID, err)
	}
	return nil
}

// MarkRetrying records that a job still Processing runs again after an
// interruption: its status description says why (reason, such as "worker
// process stopped") and which attempt this is, and the progress of the
// interrupted attempt is cleared. The job queue's worker calls it before
// RunTraining on every attempt after the first. A finished job is left alone.
func (s *Service) MarkRetrying(ctx context.Context, jobID, reason string, attempt, maxAttempts int) error {
	desc := fmt.Sprintf(descTrainingRetrying, reason, attempt, maxAttempts)
	if err := s.store.RetryTrainingJob(ctx, jobID, desc, s.cfg.Now()); err != nil {
		return fmt.Errorf("mlpipeline: mark training %s retrying: %w", jobID, err)
	}
	return nil
}
