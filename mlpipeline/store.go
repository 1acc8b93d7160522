package mlpipeline

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Store persists training jobs (with their models) and prediction jobs.
// BunStore implements it on SQLite and PostgreSQL. Unknown ids are
// errs.NotFound.
type Store interface {
	// InsertTrainingJob stores a new job (status Processing).
	InsertTrainingJob(ctx context.Context, j *TrainingJob) error
	// InsertTrainingJobWith stores a new job and calls also in the same
	// transaction (to queue the job's work); if also fails, nothing is
	// stored and its error is returned.
	InsertTrainingJobWith(ctx context.Context, j *TrainingJob, also func(ctx context.Context, tx bun.Tx) error) error
	// GetTrainingJob returns a job without its model.
	GetTrainingJob(ctx context.Context, id string) (TrainingJob, error)
	// FinishTrainingJob records the outcome of a job that is still
	// Processing: status, description, error, roles, metrics, parse stats
	// and (on success) the serialised model; the progress is cleared. It
	// reports false, changing nothing, when the job had already finished, so
	// a retried run cannot overwrite an outcome.
	FinishTrainingJob(ctx context.Context, j *TrainingJob, model []byte) (bool, error)
	// UpdateTrainingProgress records the progress of a job that is still
	// Processing, at time at; a finished job is left as it is.
	UpdateTrainingProgress(ctx context.Context, id string, p Progress, at time.Time) error
	// RetryTrainingJob sets the status description of a job that is still
	// Processing and clears its progress, at time at, as a new attempt
	// begins; a finished job is left as it is.
	RetryTrainingJob(ctx context.Context, id, description string, at time.Time) error
	// ProcessingFiles returns the files of every training job that is
	// still Processing: the uploads that must be kept.
	ProcessingFiles(ctx context.Context) ([]string, error)
	// LoadModel returns the serialised model of a successful job.
	LoadModel(ctx context.Context, trainingJobID string) ([]byte, error)
	// InsertPredictionJob stores a prediction job.
	InsertPredictionJob(ctx context.Context, j *PredictionJob) error
	// GetPredictionJob returns a prediction job.
	GetPredictionJob(ctx context.Context, id string) (PredictionJob, error)
}
