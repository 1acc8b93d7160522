package bugflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/jobs"
	"github.com/bugflow/bugflow/mlpipeline"
)

// Defaults of the triage model uploads.
const (
	// DefaultMaxUploadBytes bounds one training upload (all its files).
	DefaultMaxUploadBytes = 200 << 20
	// trainingTimeout bounds one training run; the whole of the largest
	// bundled export trains in well under two minutes.
	trainingTimeout = 30 * time.Minute
)

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
	ml *mlpipeline.Service
}

func (w *trainWorker) Work(ctx context.Context, job *river.Job[trainArgs]) error {
	if reason := jobs.RetryReason(job.JobRow); reason != "" {
		if err := w.ml.MarkRetrying(ctx, job.Args.TrainingJobID, reason, job.Attempt, job.MaxAttempts); err != nil {
			return err
		}
	}
	return w.ml.RunTraining(ctx, job.Args.TrainingJobID)
}

// trainingGivenUp fails the training of a job that the job queue discarded
// because its worker process stopped on its last attempt.
func (e *Engine) trainingGivenUp(ctx context.Context, job *rivertype.JobRow, logger *slog.Logger) {
	if job.Kind != (trainArgs{}).Kind() {
		return
	}
	var args trainArgs
	if err := json.Unmarshal(job.EncodedArgs, &args); err != nil {
		logger.Error("a discarded training job has unreadable arguments", "job_id", job.ID, "error", err)
		return
	}
	reason := fmt.Sprintf("training was interrupted %d times (its worker process stopped); giving up", job.Attempt)
	if err := e.ML.FailTraining(ctx, args.TrainingJobID, reason); err != nil {
		logger.Error("recording a discarded training job failed", "training_job_id", args.TrainingJobID, "error", err)
	}
}

// Timeout overrides the queue's default job timeout for training.
func (w *trainWorker) Timeout(*river.Job[trainArgs]) time.Duration { return trainingTimeout }

// MaxUploadBytes is the limit of one training upload.
func (e *Engine) MaxUploadBytes() int64 { return e.maxUpload }

// NewUploadDir creates a fresh private directory for one upload under the
// configured upload directory.
func (e *Engine) NewUploadDir() (string, error) {
	if err := os.MkdirAll(e.uploadDir, 0o700); err != nil {
		return "", fmt.Errorf("create upload directory: %w", err)
	}
	return os.MkdirTemp(e.uploadDir, "upload-")
}

// StartTraining records a training job for files already saved (under
// NewUploadDir) and queues it durably. If the job cannot be queued it is
// marked failed at once rather than left Processing.
func (e *Engine) StartTraining(ctx context.Context, c mlpipeline.Caller, req mlpipeline.TrainingRequest) (mlpipeline.TrainingJob, error) {
	job, err := e.ML.CreateTraining(ctx, c, req)
	if err != nil {
		return mlpipeline.TrainingJob{}, err
	}
	if _, err := e.queue.Insert(ctx, trainArgs{TrainingJobID: job.ID}, nil); err != nil {
		failErr := e.ML.FailTraining(context.WithoutCancel(ctx), job.ID, "the training job could not be queued")
		return mlpipeline.TrainingJob{}, errors.Join(errs.Wrap(errs.Unavailable, err, "the training job could not be queued; try again"), failErr)
	}
	return job, nil
}

// defaultUploadDir is where uploads go unless configured: a directory in
// the system's temporary space, which survives a server restart.
func defaultUploadDir() string { return filepath.Join(os.TempDir(), "bugflow-uploads") }
