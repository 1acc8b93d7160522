package mlpipeline

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// trainingJobRow is the table model of a TrainingJob. Lists and objects are
// JSON text: one column type that both engines treat alike.
type trainingJobRow struct {
	trainingJobRowV1 `bun:",extend"`
	Progress         *string `bun:"progress,type:text"`
}

// trainingJobRowV1 is the table as the first migration created it. That
// migration keeps creating exactly this, so that each later column is added
// by its own migration on every database, old or new.
type trainingJobRowV1 struct {
	bun.BaseModel `bun:"table:mlpipeline_training_jobs,alias:t"`

	ID                string  `bun:"id,pk"`
	OwnerID           string  `bun:"owner_id,notnull"`
	IsAnon            bool    `bun:"is_anon,notnull"`
	Status            string  `bun:"status,notnull"`
	StatusDescription string  `bun:"status_description,notnull"`
	ErrorCode         *string `bun:"error_code"`
	ErrorMessage      *string `bun:"error_message,type:text"`
	Files             string  `bun:"files,type:text,notnull"`
	TextColumns       string  `bun:"text_columns,type:text,notnull"`
	TargetColumns     string  `bun:"target_columns,type:text,notnull"`
	Roles             *string `bun:"roles,type:text"`
	Metrics           *string `bun:"metrics,type:text"`
	ParseStats        *string `bun:"parse_stats,type:text"`
	Model             []byte  `bun:"model"`
	ModelBytes        int     `bun:"model_bytes,notnull"`

	CreatedAt time.Time `bun:"created_at,notnull"`
	UpdatedAt time.Time `bun:"updated_at,notnull"`
}

// predictionJobRow is the table model of a PredictionJob.
type predictionJobRow struct {
	bun.BaseModel `bun:"table:mlpipeline_prediction_jobs,alias:p"`

	ID                string  `bun:"id,pk"`
	OwnerID           string  `bun:"owner_id,notnull"`
	TrainingJobID     string  `bun:"training_job_id,notnull"`
	IsAnon            bool    `bun:"is_anon,notnull"`
	Request           string  `bun:"request,type:text,notnull"`
	Status            string  `bun:"status,notnull"`
	StatusDescription string  `bun:"status_description,notnull"`
	ErrorCode         *string `bun:"error_code"`
	ErrorMessage      *string `bun:"error_message,type:text"`
	Result            *string `bun:"result,type:text"`

	CreatedAt time.Time `bun:"created_at,notnull"`
	UpdatedAt time.Time `bun:"updated_at,notnull"`
}

// Migrations returns the schema of training and prediction jobs.
func Migrations() []store.Migration {
	return []store.Migration{{
		ID:      "20261123110000",
		Comment: "mlpipeline: training and prediction jobs",
		Up: func(ctx context.Context, tx bun.Tx) error {
			for _, model := range []any{(*trainingJobRowV1)(nil), (*predictionJobRow)(nil)} {
				if _, err := tx.NewCreateTable().Model(model).Exec(ctx); err != nil {
					return fmt.Errorf("create table: %w", err)
				}
			}
			if _, err := tx.NewCreateIndex().Model((*trainingJobRowV1)(nil)).
				Index("mlpipeline_training_jobs_owner_idx").Column("owner_id", "created_at").Exec(ctx); err != nil {
				return fmt.Errorf("create training owner index: %w", err)
			}
			if _, err := tx.NewCreateIndex().Model((*predictionJobRow)(nil)).
				Index("mlpipeline_prediction_jobs_owner_idx").Column("owner_id", "created_at").Exec(ctx); err != nil {
				return fmt.Errorf("create prediction owner index: %w", err)
			}
			return nil
		},
	}, {
		ID:      "20261204190000",
		Comment: "mlpipeline: progress of running training jobs",
		Up: func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.NewAddColumn().Model((*trainingJobRowV1)(nil)).ColumnExpr("progress TEXT").Exec(ctx); err != nil {
				return fmt.Errorf("add progress column: %w", err)
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

func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode json: %w", err)
	}
	return string(b), nil
}

func optJSON(v any, present bool) (*string, error) {
	if !present {
		return nil, nil
	}
	s, err := toJSON(v)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

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
	row := &trainingJobRow{trainingJobRowV1: trainingJobRowV1{
		ID: j.ID, OwnerID: j.OwnerID, IsAnon: j.IsAnon, Status: string(j.Status),
		StatusDescription: j.StatusDescription, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
	}}
	var err error
	if row.Files, err = toJSON(nonNil(j.Files)); err != nil {
		return err
	}
	if row.TextColumns, err = toJSON(nonNil(j.TextColumns)); err != nil {
		return err
	}
	if row.TargetColumns, err = toJSON(nonNil(j.TargetColumns)); err != nil {
		return err
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
	err := s.db.NewSelect().Model(&row).ExcludeColumn("model").Where("t.id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return TrainingJob{}, errs.NotFoundf("training job %s not found", id)
	}
	if err != nil {
		return TrainingJob{}, fmt.Errorf("get training job: %w", store.Translate(err))
	}
	return row.toJob()
}

func (row *trainingJobRow) toJob() (TrainingJob, error) {
	j := TrainingJob{
		ID: row.ID, OwnerID: row.OwnerID, IsAnon: row.IsAnon, Status: JobStatus(row.Status),
		StatusDescription: row.StatusDescription, ModelBytes: row.ModelBytes,
		CreatedAt: row.CreatedAt.UTC(), UpdatedAt: row.UpdatedAt.UTC(),
	}
	if row.ErrorCode != nil {
		j.Error = &JobError{Code: *row.ErrorCode}
		if row.ErrorMessage != nil {
			j.Error.Message = *row.ErrorMessage
		}
	}
	decode := func(s *string, into any) error {
		if s == nil {
			return nil
		}
		if err := json.Unmarshal([]byte(*s), into); err != nil {
			return fmt.Errorf("decode training job %s: %w", row.ID, err)
		}
		return nil
	}
	for _, d := range []struct {
		s    *string
		into any
	}{
		{&row.Files, &j.Files}, {&row.TextColumns, &j.TextColumns}, {&row.TargetColumns, &j.TargetColumns},
		{row.Roles, &j.Roles}, {row.Metrics, &j.Metrics},
		// Pointer targets stay nil for NULL and are allocated otherwise.
		{row.ParseStats, &j.ParseStats}, {row.Progress, &j.Progress},
	} {
		if err := decode(d.s, d.into); err != nil {
			return TrainingJob{}, err
		}
	}
	return j, nil
}

// FinishTrainingJob implements Store.
func (s *BunStore) FinishTrainingJob(ctx context.Context, j *TrainingJob, model []byte) (bool, error) {
	roles, err := optJSON(j.Roles, j.Roles != nil)
	if err != nil {
		return false, err
	}
	metrics, err := optJSON(j.Metrics, j.Metrics != nil)
	if err != nil {
		return false, err
	}
	stats, err := optJSON(j.ParseStats, j.ParseStats != nil)
	if err != nil {
		return false, err
	}
	var code, msg *string
	if j.Error != nil {
		code, msg = optString(j.Error.Code), optString(j.Error.Message)
	}
	res, err := s.db.NewUpdate().Model((*trainingJobRow)(nil)).
		Set("status = ?", string(j.Status)).
		Set("status_description = ?", j.StatusDescription).
		Set("error_code = ?", code).
		Set("error_message = ?", msg).
		Set("roles = ?", roles).
		Set("metrics = ?", metrics).
		Set("parse_stats = ?", stats).
		Set("model = ?", model).
		Set("model_bytes = ?", len(model)).
		Set("progress = NULL").
		Set("updated_at = ?", j.UpdatedAt).
		Where("id = ?", j.ID).
		Where("status = ?", string(StatusProcessing)).
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("finish training job: %w", store.Translate(err))
	}
	n, err := res.RowsAffected()
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
	progress, err := toJSON(p)
	if err != nil {
		return err
	}
	_, err = s.db.NewUpdate().Model((*trainingJobRow)(nil)).
		Set("progress = ?", progress).
		Set("updated_at = ?", at).
		Where("id = ?", id).
		Where("status = ?", string(StatusProcessing)).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("update training progress: %w", store.Translate(err))
	}
	return nil
}

// RetryTrainingJob implements Store.
func (s *BunStore) RetryTrainingJob(ctx context.Context, id, description string, at time.Time) error {
	_, err := s.db.NewUpdate().Model((*trainingJobRow)(nil)).
		Set("status_description = ?", description).
		Set("progress = NULL").
		Set("updated_at = ?", at).
		Where("id = ?", id).
		Where("status = ?", string(StatusProcessing)).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("retry training job: %w", store.Translate(err))
	}
	return nil
}

// LoadModel implements Store.
func (s *BunStore) LoadModel(ctx context.Context, trainingJobID string) ([]byte, error) {
	var row trainingJobRow
	err := s.db.NewSelect().Model(&row).Column("model", "status").Where("t.id = ?", trainingJobID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("training job %s not found", trainingJobID)
	}
	if err != nil {
		return nil, fmt.Errorf("load model: %w", store.Translate(err))
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
		CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
	}
	if j.Error != nil {
		row.ErrorCode, row.ErrorMessage = optString(j.Error.Code), optString(j.Error.Message)
	}
	var err error
	if row.Result, err = optJSON(j.Result, j.Result != nil); err != nil {
		return err
	}
	if _, err := s.db.NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("insert prediction job: %w", store.Translate(err))
	}
	return nil
}

// GetPredictionJob implements Store.
func (s *BunStore) GetPredictionJob(ctx context.Context, id string) (PredictionJob, error) {
	var row predictionJobRow
	err := s.db.NewSelect().Model(&row).Where("p.id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return PredictionJob{}, errs.NotFoundf("prediction job %s not found", id)
	}
	if err != nil {
		return PredictionJob{}, fmt.Errorf("get prediction job: %w", store.Translate(err))
	}
	j := PredictionJob{
		ID: row.ID, OwnerID: row.OwnerID, TrainingJobID: row.TrainingJobID, IsAnon: row.IsAnon,
		Request: row.Request, Status: JobStatus(row.Status), StatusDescription: row.StatusDescription,
		CreatedAt: row.CreatedAt.UTC(), UpdatedAt: row.UpdatedAt.UTC(),
	}
	if row.ErrorCode != nil {
		j.Error = &JobError{Code: *row.ErrorCode}
		if row.ErrorMessage != nil {
			j.Error.Message = *row.ErrorMessage
		}
	}
	if row.Result != nil {
		j.Result = &Prediction{}
		if err := json.Unmarshal([]byte(*row.Result), j.Result); err != nil {
			return PredictionJob{}, fmt.Errorf("decode prediction job %s: %w", id, err)
		}
	}
	return j, nil
}
