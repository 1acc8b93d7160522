package mlpipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// trainingJobRow is the table model of a TrainingJob. Lists and objects are
// JSON text: one column type that both engines treat alike.
type trainingJobRow struct {
	bun.BaseModel `bun:"table:mlpipeline_training_jobs,alias:t"`

	ID                string                     `bun:"id,pk"`
	OwnerID           string                     `bun:"owner_id,notnull"`
	IsAnon            bool                       `bun:"is_anon,notnull"`
	Status            string                     `bun:"status,notnull"`
	StatusDescription string                     `bun:"status_description,notnull"`
	ErrorCode         *string                    `bun:"error_code"`
	ErrorMessage      *string                    `bun:"error_message,type:text"`
	Files             store.JSON[[]string]       `bun:"files,type:text,notnull"`
	TextColumns       store.JSON[[]string]       `bun:"text_columns,type:text,notnull"`
	TargetColumns     store.JSON[[]string]       `bun:"target_columns,type:text,notnull"`
	DecisionRule      string                     `bun:"decision_rule,type:text,notnull"`
	Roles             *store.JSON[[]ColumnRole]  `bun:"roles,type:text"`
	Metrics           *store.JSON[[]FieldReport] `bun:"metrics,type:text"`
	ParseStats        *store.JSON[*ParseStats]   `bun:"parse_stats,type:text"`
	Model             []byte                     `bun:"model"`
	ModelBytes        int                        `bun:"model_bytes,notnull"`
	Progress          *store.JSON[*Progress]     `bun:"progress,type:text"`

	CreatedAt time.Time `bun:"created_at,notnull"`
	UpdatedAt time.Time `bun:"updated_at,notnull"`
}

// predictionJobRow is the table model of a PredictionJob.
type predictionJobRow struct {
	bun.BaseModel `bun:"table:mlpipeline_prediction_jobs,alias:p"`

	ID                string                   `bun:"id,pk"`
	OwnerID           string                   `bun:"owner_id,notnull"`
	TrainingJobID     string                   `bun:"training_job_id,notnull"`
	IsAnon            bool                     `bun:"is_anon,notnull"`
	Request           string                   `bun:"request,type:text,notnull"`
	Status            string                   `bun:"status,notnull"`
	StatusDescription string                   `bun:"status_description,notnull"`
	ErrorCode         *string                  `bun:"error_code"`
	ErrorMessage      *string                  `bun:"error_message,type:text"`
	Result            *store.JSON[*Prediction] `bun:"result,type:text"`

	CreatedAt time.Time `bun:"created_at,notnull"`
	UpdatedAt time.Time `bun:"updated_at,notnull"`
}

// Migrations returns the schema of training and prediction jobs. Each
// migration creates or alters tables from its own frozen models, never from
// the row types above, so that each later column is added by its own
// migration on every database, old or new.
func Migrations() []store.Migration {
	return []store.Migration{{
		ID:      "20261123110000",
		Comment: "mlpipeline: training and prediction jobs",
		Up: func(ctx context.Context, tx bun.Tx) error {
			type trainingJobRowV1 struct {
				bun.BaseModel `bun:"table:mlpipeline_training_jobs,alias:t"`

				ID                string    `bun:"id,pk"`
				OwnerID           string    `bun:"owner_id,notnull"`
				IsAnon            bool      `bun:"is_anon,notnull"`
				Status            string    `bun:"status,notnull"`
				StatusDescription string    `bun:"status_description,notnull"`
				ErrorCode         *string   `bun:"error_code"`
				ErrorMessage      *string   `bun:"error_message,type:text"`
				Files             string    `bun:"files,type:text,notnull"`
				TextColumns       string    `bun:"text_columns,type:text,notnull"`
				TargetColumns     string    `bun:"target_columns,type:text,notnull"`
				Roles             *string   `bun:"roles,type:text"`
				Metrics           *string   `bun:"metrics,type:text"`
				ParseStats        *string   `bun:"parse_stats,type:text"`
				Model             []byte    `bun:"model"`
				ModelBytes        int       `bun:"model_bytes,notnull"`
				CreatedAt         time.Time `bun:"created_at,notnull"`
				UpdatedAt         time.Time `bun:"updated_at,notnull"`
			}
			type predictionJobRowV1 struct {
				bun.BaseModel `bun:"table:mlpipeline_prediction_jobs,alias:p"`

				ID                string    `bun:"id,pk"`
				OwnerID           string    `bun:"owner_id,notnull"`
				TrainingJobID     string    `bun:"training_job_id,notnull"`
				IsAnon            bool      `bun:"is_anon,notnull"`
				Request           string    `bun:"request,type:text,notnull"`
				Status            string    `bun:"status,notnull"`
				StatusDescription string    `bun:"status_description,notnull"`
				ErrorCode         *string   `bun:"error_code"`
				ErrorMessage      *string   `bun:"error_message,type:text"`
				Result            *string   `bun:"result,type:text"`
				CreatedAt         time.Time `bun:"created_at,notnull"`
				UpdatedAt         time.Time `bun:"updated_at,notnull"`
			}
			for _, model := range []any{(*trainingJobRowV1)(nil), (*predictionJobRowV1)(nil)} {
				if _, err := tx.NewCreateTable().Model(model).Exec(ctx); err != nil {
					return fmt.Errorf("create table: %w", err)
				}
			}
			return store.CreateIndexes(ctx, tx,
				store.Index{Table: "mlpipeline_training_jobs", Name: "mlpipeline_training_jobs_owner_idx", Columns: []string{"owner_id", "created_at"}},
				store.Index{Table: "mlpipeline_prediction_jobs", Name: "mlpipeline_prediction_jobs_owner_idx", Columns: []string{"owner_id", "created_at"}},
			)
		},
	}, {
		ID:      "20261204190000",
		Comment: "mlpipeline: progress of running training jobs",
		Up: func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, `ALTER TABLE mlpipeline_training_jobs ADD COLUMN progress TEXT`); err != nil {
				return fmt.Errorf("add progress column: %w", err)
			}
			return nil
		},
	}, {
		ID:      "20261214090000",
		Comment: "mlpipeline: decision rule of a training job (issue 14)",
		Up: func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, `ALTER TABLE mlpipeline_training_jobs ADD COLUMN decision_rule TEXT NOT NULL DEFAULT ''`); err != nil {
				return fmt.Errorf("add decision_rule column: %w", err)
			}
			return nil
		},
	}}
}

// BunStore is the bun implementation of Store.
type BunStore struct {
	db bun.IDB
}

// NewBunStore returns a Store on db (a *bun.DB or a transaction).
func NewBunStore(db bun.IDB) *BunStore { return &BunStore{db: db} }

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// InsertTrainingJob implements Store.
func (s *BunStore) InsertTrainingJob(ctx context.Context, j *TrainingJob) error {
	return insertTrainingJob(ctx, s.db, j)
}

// InsertTrainingJobWith implements Store.
func (s *BunStore) InsertTrainingJobWith(ctx context.Context, j *TrainingJob, also func(ctx context.Context, tx bun.Tx) error) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := insertTrainingJob(ctx, tx, j); err != nil {
			return err
		}
		return also(ctx, tx)
	})
}

func insertTrainingJob(ctx context.Context, db bun.IDB, j *TrainingJob) error {
	row := &trainingJobRow{
		ID: j.ID, OwnerID: j.OwnerID, IsAnon: j.IsAnon, Status: string(j.Status),
		StatusDescription: j.StatusDescription, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
		Files:         store.JSON[[]string]{V: nonNil(j.Files)},
		TextColumns:   store.JSON[[]string]{V: nonNil(j.TextColumns)},
		TargetColumns: store.JSON[[]string]{V: nonNil(j.TargetColumns)},
		DecisionRule:  j.DecisionRule,
	}
	if _, err := db.NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("insert training job: %w", store.Translate(err))
	}
	return nil
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// GetTrainingJob implements Store.
func (s *BunStore) GetTrainingJob(ctx context.Context, id string) (TrainingJob, error) {
	var row trainingJobRow
	q := s.db.NewSelect().Model(&row).ExcludeColumn("model").Where("t.id = ?", id)
	if err := store.ScanOne(ctx, q, "training job %s not found", id); err != nil {
		return TrainingJob{}, fmt.Errorf("get training job: %w", err)
	}
	return row.toJob(), nil
}

func (row *trainingJobRow) toJob() TrainingJob {
	return TrainingJob{
		ID: row.ID, OwnerID: row.OwnerID, IsAnon: row.IsAnon, Status: JobStatus(row.Status),
		StatusDescription: row.StatusDescription, ModelBytes: row.ModelBytes,
		Error: jobError(row.ErrorCode, row.ErrorMessage),
		Files: row.Files.V, TextColumns: row.TextColumns.V, TargetColumns: row.TargetColumns.V, DecisionRule: row.DecisionRule,
		Roles: row.Roles.Get(), Metrics: row.Metrics.Get(), ParseStats: row.ParseStats.Get(), Progress: row.Progress.Get(),
		CreatedAt: row.CreatedAt.UTC(), UpdatedAt: row.UpdatedAt.UTC(),
	}
}

// jobError is the error of a job as stored: nil without a code.
func jobError(code, msg *string) *JobError {
	if code == nil {
		return nil
	}
	e := &JobError{Code: *code}
	if msg != nil {
		e.Message = *msg
	}
	return e
}

// FinishTrainingJob implements Store.
func (s *BunStore) FinishTrainingJob(ctx context.Context, j *TrainingJob, model []byte) (bool, error) {
	var code, msg *string
	if j.Error != nil {
		code, msg = optString(j.Error.Code), optString(j.Error.Message)
	}
	n, err := store.Exec(ctx, s.db.NewUpdate().Model((*trainingJobRow)(nil)).
		Set("status = ?", string(j.Status)).
		Set("status_description = ?", j.StatusDescription).
		Set("error_code = ?", code).
		Set("error_message = ?", msg).
		Set("roles = ?", store.NullJSON(j.Roles, j.Roles != nil)).
		Set("metrics = ?", store.NullJSON(j.Metrics, j.Metrics != nil)).
		Set("parse_stats = ?", store.NullJSON(j.ParseStats, j.ParseStats != nil)).
		Set("model = ?", model).
		Set("model_bytes = ?", len(model)).
		Set("progress = NULL").
		Set("updated_at = ?", j.UpdatedAt).
		Where("id = ?", j.ID).
		Where("status = ?", string(StatusProcessing)))
	if err != nil {
		return false, fmt.Errorf("finish training job: %w", err)
	}
	if n == 0 {
		if _, err := s.GetTrainingJob(ctx, j.ID); err != nil {
			return false, err
		}
		return false, nil
	}
	return true, nil
}

// UpdateTrainingProgress implements Store.
func (s *BunStore) UpdateTrainingProgress(ctx context.Context, id string, p Progress, at time.Time) error {
	_, err := store.Exec(ctx, s.db.NewUpdate().Model((*trainingJobRow)(nil)).
		Set("progress = ?", store.JSON[Progress]{V: p}).
		Set("updated_at = ?", at).
		Where("id = ?", id).
		Where("status = ?", string(StatusProcessing)))
	if err != nil {
		return fmt.Errorf("update training progress: %w", err)
	}
	return nil
}

// RetryTrainingJob implements Store.
func (s *BunStore) RetryTrainingJob(ctx context.Context, id, description string, at time.Time) error {
	_, err := store.Exec(ctx, s.db.NewUpdate().Model((*trainingJobRow)(nil)).
		Set("status_description = ?", description).
		Set("progress = NULL").
		Set("updated_at = ?", at).
		Where("id = ?", id).
		Where("status = ?", string(StatusProcessing)))
	if err != nil {
		return fmt.Errorf("retry training job: %w", err)
	}
	return nil
}

// LoadModel implements Store.
func (s *BunStore) LoadModel(ctx context.Context, trainingJobID string) ([]byte, error) {
	var row trainingJobRow
	q := s.db.NewSelect().Model(&row).Column("model", "status").Where("t.id = ?", trainingJobID)
	if err := store.ScanOne(ctx, q, "training job %s not found", trainingJobID); err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	if JobStatus(row.Status) != StatusSuccess || len(row.Model) == 0 {
		return nil, errs.Conflictf("training job %s has no model (status %s)", trainingJobID, row.Status)
	}
	return row.Model, nil
}

// InsertPredictionJob implements Store.
func (s *BunStore) InsertPredictionJob(ctx context.Context, j *PredictionJob) error {
	row := &predictionJobRow{
		ID: j.ID, OwnerID: j.OwnerID, TrainingJobID: j.TrainingJobID, IsAnon: j.IsAnon,
		Request: j.Request, Status: string(j.Status), StatusDescription: j.StatusDescription,
		Result: store.NullJSON(j.Result, j.Result != nil), CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
	}
	if j.Error != nil {
		row.ErrorCode, row.ErrorMessage = optString(j.Error.Code), optString(j.Error.Message)
	}
	if _, err := s.db.NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("insert prediction job: %w", store.Translate(err))
	}
	return nil
}

// GetPredictionJob implements Store.
func (s *BunStore) GetPredictionJob(ctx context.Context, id string) (PredictionJob, error) {
	var row predictionJobRow
	if err := store.ScanOne(ctx, s.db.NewSelect().Model(&row).Where("p.id = ?", id), "prediction job %s not found", id); err != nil {
		return PredictionJob{}, fmt.Errorf("get prediction job: %w", err)
	}
	return PredictionJob{
		ID: row.ID, OwnerID: row.OwnerID, TrainingJobID: row.TrainingJobID, IsAnon: row.IsAnon,
		Request: row.Request, Status: JobStatus(row.Status), StatusDescription: row.StatusDescription,
		Error: jobError(row.ErrorCode, row.ErrorMessage), Result: row.Result.Get(),
		CreatedAt: row.CreatedAt.UTC(), UpdatedAt: row.UpdatedAt.UTC(),
	}, nil
}

// ProcessingFiles implements Store.
func (s *BunStore) ProcessingFiles(ctx context.Context) ([]string, error) {
	var rows []trainingJobRow
	if err := s.db.NewSelect().Model(&rows).Column("files").Where("status = ?", StatusProcessing).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list files of running trainings: %w", store.Translate(err))
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.Files.V...)
	}
	return out, nil
}
