package mlpipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/jobs"
)

// Defaults of training uploads and runs.
const (
	// DefaultMaxUploadBytes bounds one training upload (all its files).
	DefaultMaxUploadBytes = 200 << 20
	// trainingTimeout bounds one training run; the whole of the largest
	// bundled export trains in well under two minutes.
	trainingTimeout = 30 * time.Minute
)

// DefaultUploadDir is where uploads go unless Config.UploadDir says
// otherwise: a directory in the system's temporary space, which survives a
// server restart.
func DefaultUploadDir() string { return filepath.Join(os.TempDir(), "bugflow-uploads") }

// Enqueuer queues a durable job as part of a bun transaction, so that the job
// exists exactly when the rows written in the transaction do. The engine's
// job queue implements it.
type Enqueuer interface {
	InsertTx(ctx context.Context, tx bun.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// trainArgs is the durable job that trains one model.
type trainArgs struct {
	TrainingJobID string `json:"training_job_id"`
}

// Kind implements river.JobArgs.
func (trainArgs) Kind() string { return "mlpipeline.train" }

// trainWorker runs training jobs. RunTraining is idempotent, so a job that
// River retries or rescues after a crash simply trains again (or finds the
// job already finished); its status first says that it was interrupted and
// which attempt this is, in place of the interrupted attempt's progress.
type trainWorker struct {
	river.WorkerDefaults[trainArgs]
	ml *Service
}

func (w *trainWorker) Work(ctx context.Context, job *river.Job[trainArgs]) error {
	if reason := jobs.RetryReason(job.JobRow); reason != "" {
		if err := w.ml.MarkRetrying(ctx, job.Args.TrainingJobID, reason, job.Attempt, job.MaxAttempts); err != nil {
			return err
		}
	}
	return w.ml.RunTraining(ctx, job.Args.TrainingJobID)
}

// Timeout overrides the queue's default job timeout for training.
func (w *trainWorker) Timeout(*river.Job[trainArgs]) time.Duration { return trainingTimeout }

// RegisterJobs adds the service's River workers (training) to workers. It
// has no periodic jobs. A process that works jobs calls it once.
func (s *Service) RegisterJobs(workers *river.Workers, _ *[]*river.PeriodicJob) {
	river.AddWorker(workers, &trainWorker{ml: s})
}

// JobGivenUp fails the training of a job that the job queue gave up on:
// its worker process stopped, or it failed, on its last attempt. Jobs of
// other kinds are not the service's and are left alone. It is idempotent.
func (s *Service) JobGivenUp(ctx context.Context, job *rivertype.JobRow) error {
	if job.Kind != (trainArgs{}).Kind() {
		return nil
	}
	var args trainArgs
	if err := json.Unmarshal(job.EncodedArgs, &args); err != nil {
		return fmt.Errorf("mlpipeline: discarded training job %d has unreadable arguments: %w", job.ID, err)
	}
	reason := fmt.Sprintf("training failed on each of its %d attempts; giving up", job.Attempt)
	if jobs.GaveUpBecause(job) == jobs.WorkerStopped {
		reason = fmt.Sprintf("training was interrupted %d times (its worker process stopped); giving up", job.Attempt)
	}
	return s.FailTraining(ctx, args.TrainingJobID, reason)
}

// StartTraining records a training job for files already saved (under
// NewUploadDir) and queues it durably, in one transaction: if the job cannot
// be queued, no training is recorded and the error is Unavailable.
func (s *Service) StartTraining(ctx context.Context, c Caller, req TrainingRequest) (TrainingJob, error) {
	if s.cfg.Queue == nil {
		return TrainingJob{}, errs.Unavailablef("training is not available: no job queue")
	}
	j, err := s.newTraining(c, req)
	if err != nil {
		return TrainingJob{}, err
	}
	err = s.store.InsertTrainingJobWith(ctx, &j, func(ctx context.Context, tx bun.Tx) error {
		if _, err := s.cfg.Queue.InsertTx(ctx, tx, trainArgs{TrainingJobID: j.ID}, nil); err != nil {
			return errs.Wrap(errs.Unavailable, err, "the training job could not be queued; try again")
		}
		return nil
	})
	if err != nil {
		return TrainingJob{}, fmt.Errorf("mlpipeline: start training: %w", err)
	}
	return j, nil
}

// MaxUploadBytes is the limit of one training upload.
func (s *Service) MaxUploadBytes() int64 { return s.cfg.MaxUploadBytes }

// NewUploadDir creates a fresh private directory for one upload under
// Config.UploadDir.
func (s *Service) NewUploadDir() (string, error) {
	if err := os.MkdirAll(s.cfg.UploadDir, 0o700); err != nil {
		return "", fmt.Errorf("create upload directory: %w", err)
	}
	return os.MkdirTemp(s.cfg.UploadDir, "upload-")
}
