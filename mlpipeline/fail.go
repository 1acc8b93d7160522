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
