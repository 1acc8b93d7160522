package mlpipeline

import (
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

func TestStoreRoundTrip(t *testing.T) {
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := NewBunStore(db.DB)
		now := store.Now()
		j := TrainingJob{
			ID: "train_1", OwnerID: "u1", IsAnon: true, Status: StatusProcessing,
			StatusDescription: descTrainingProcessing, Files: []string{"/tmp/a.csv", "/tmp/b.csv"},
			TargetColumns: []string{"Priority"}, CreatedAt: now, UpdatedAt: now,
		}
		require.NoError(t, st.InsertTrainingJob(ctx, &j))
		require.ErrorIs(t, st.InsertTrainingJob(ctx, &j), errs.ErrConflict)

		got, err := st.GetTrainingJob(ctx, "train_1")
		require.NoError(t, err)
		assert.Equal(t, j.Files, got.Files)
		assert.Equal(t, []string{}, got.TextColumns)
		assert.Equal(t, []string{"Priority"}, got.TargetColumns)
		assert.True(t, got.IsAnon)
		assert.Equal(t, now, got.CreatedAt)
		assert.Nil(t, got.Error)

		assert.Nil(t, got.Progress, "no progress before the job runs")
		running := Progress{Stage: StageTrain, Done: 50, Total: 120}
		require.NoError(t, st.UpdateTrainingProgress(ctx, "train_1", running, now.Add(time.Millisecond)))
		got, err = st.GetTrainingJob(ctx, "train_1")
		require.NoError(t, err)
		assert.Equal(t, &running, got.Progress)
		assert.Equal(t, now.Add(time.Millisecond), got.UpdatedAt)

		_, err = st.LoadModel(ctx, "train_1")
		require.ErrorIs(t, err, errs.ErrConflict)
		_, err = st.GetTrainingJob(ctx, "nope")
		require.ErrorIs(t, err, errs.ErrNotFound)
		_, err = st.LoadModel(ctx, "nope")
		require.ErrorIs(t, err, errs.ErrNotFound)

		done := got
		done.Status, done.StatusDescription = StatusSuccess, descTrainingSuccess
		done.Roles = []ColumnRole{{Column: "Summary", Role: RoleText}}
		done.Metrics = []FieldReport{{Field: "Priority", Metrics: FieldMetrics{Accuracy: 0.7, Classes: 5}}}
		done.ParseStats = &ParseStats{Rows: 10, UsedRows: 9, BadRows: 1}
		done.UpdatedAt = now.Add(time.Second)
		blob := []byte{0, 1, 2, 255}
		ok, err := st.FinishTrainingJob(ctx, &done, blob)
		require.NoError(t, err)
		require.True(t, ok)
		// A second outcome is refused: the first one stands.
		failed := done
		failed.Status, failed.Error = StatusFailed, &JobError{Code: "internal", Message: "late"}
		ok, err = st.FinishTrainingJob(ctx, &failed, nil)
		require.NoError(t, err)
		require.False(t, ok)
		missing := failed
		missing.ID = "nope"
		_, err = st.FinishTrainingJob(ctx, &missing, nil)
		require.ErrorIs(t, err, errs.ErrNotFound)

		got, err = st.GetTrainingJob(ctx, "train_1")
		require.NoError(t, err)
		assert.Equal(t, StatusSuccess, got.Status)
		assert.Equal(t, done.Roles, got.Roles)
		assert.Equal(t, done.Metrics, got.Metrics)
		assert.Equal(t, done.ParseStats, got.ParseStats)
		assert.Equal(t, len(blob), got.ModelBytes)
		assert.Equal(t, done.UpdatedAt, got.UpdatedAt)
		assert.Nil(t, got.Progress, "finishing clears the progress")
		require.NoError(t, st.UpdateTrainingProgress(ctx, "train_1", running, now.Add(time.Hour)))
		got, err = st.GetTrainingJob(ctx, "train_1")
		require.NoError(t, err)
		assert.Nil(t, got.Progress, "a late report does not touch a finished job")
		assert.Equal(t, done.UpdatedAt, got.UpdatedAt)
		model, err := st.LoadModel(ctx, "train_1")
		require.NoError(t, err)
		assert.Equal(t, blob, model)

		pj := PredictionJob{
			ID: "pred_1", OwnerID: "u1", TrainingJobID: "train_1", IsAnon: true, Request: "crash on start",
			Status: StatusSuccess, StatusDescription: descPredictionSuccess, CreatedAt: now, UpdatedAt: now,
			Result: &Prediction{Fields: []FieldPrediction{{Field: "Priority", Prediction: "Major", Confidence: 0.7,
				Alternatives: []Alternative{{Value: "Major", Confidence: 0.7}, {Value: "Minor", Confidence: 0.2}}}}},
		}
		require.NoError(t, st.InsertPredictionJob(ctx, &pj))
		gotP, err := st.GetPredictionJob(ctx, "pred_1")
		require.NoError(t, err)
		assert.Equal(t, pj, gotP)
		_, err = st.GetPredictionJob(ctx, "nope")
		require.ErrorIs(t, err, errs.ErrNotFound)
	})
}

func TestServiceTrainAndPredict(t *testing.T) {
	hadoop, err := filepath.Abs("testdata/gitbugs_hadoop.csv")
	require.NoError(t, err)
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := New(NewBunStore(db.DB), Config{CacheSize: 1})
		alice, bob, admin := Caller{UserID: "alice"}, Caller{UserID: "bob"}, Caller{UserID: "root", Admin: true}

		_, err := svc.CreateTraining(ctx, alice, TrainingRequest{})
		require.ErrorIs(t, err, errs.ErrInvalid)
		_, err = svc.CreateTraining(ctx, Caller{}, TrainingRequest{Files: []string{hadoop}})
		require.ErrorIs(t, err, errs.ErrUnauthorized)

		j, err := svc.CreateTraining(ctx, alice, TrainingRequest{Files: []string{hadoop}, TargetColumns: []string{"Priority"}})
		require.NoError(t, err)
		assert.Equal(t, StatusProcessing, j.Status)
		assert.Equal(t, descTrainingProcessing, j.StatusDescription)

		_, err = svc.Predict(ctx, alice, j.ID, "crash")
		require.ErrorIs(t, err, errs.ErrConflict, "not trained yet")

		require.NoError(t, svc.RunTraining(ctx, j.ID))
		require.NoError(t, svc.RunTraining(ctx, j.ID), "a retry of a finished job is a no-op")
		require.ErrorIs(t, svc.RunTraining(ctx, "train_nope"), errs.ErrNotFound)

		st, err := svc.TrainingStatus(ctx, alice, j.ID)
		require.NoError(t, err)
		assert.Equal(t, StatusSuccess, st.Status)
		require.Len(t, st.Metrics, 1)
		assert.Equal(t, "Priority", st.Metrics[0].Field)
		assert.Equal(t, 501, st.Metrics[0].Metrics.TestRows)
		assert.Equal(t, 2503, st.ParseStats.UsedRows)
		assert.Positive(t, st.ModelBytes)
		_, err = svc.TrainingStatus(ctx, bob, j.ID)
		require.ErrorIs(t, err, errs.ErrNotFound)
		_, err = svc.TrainingStatus(ctx, admin, j.ID)
		require.NoError(t, err)

		for _, empty := range []string{"", "  "} {
			_, err = svc.Predict(ctx, alice, j.ID, empty)
			require.ErrorIs(t, err, errs.ErrInvalid)
		}
		_, err = svc.Predict(ctx, bob, j.ID, "crash")
		require.ErrorIs(t, err, errs.ErrNotFound)
		_, err = svc.Predict(ctx, alice, "train_nope", "crash")
		require.ErrorIs(t, err, errs.ErrNotFound)

		pj, err := svc.Predict(ctx, alice, j.ID, "NameNode crashes with NPE on startup")
		require.NoError(t, err)
		assert.Equal(t, StatusSuccess, pj.Status)
		body := pj.Result.ResultBody()
		require.Contains(t, body, "Priority")
		assert.Len(t, body["Priority"].Alternatives, 3)

		got, err := svc.PredictionStatus(ctx, alice, pj.ID)
		require.NoError(t, err)
		assert.Equal(t, pj.Result, got.Result)
		_, err = svc.PredictionStatus(ctx, bob, pj.ID)
		require.ErrorIs(t, err, errs.ErrNotFound)

		// A new service (another replica, or after a restart) loads the
		// model lazily from the database.
		other := New(NewBunStore(db.DB), Config{})
		pj2, err := other.Predict(ctx, alice, j.ID, "NameNode crashes with NPE on startup")
		require.NoError(t, err)
		assert.Equal(t, pj.Result, pj2.Result)

		// A job's decision rule is validated, stored and used: the
		// macro-F1 rule trades accuracy for macro-F1 on this skewed field.
		_, err = svc.CreateTraining(ctx, alice, TrainingRequest{Files: []string{hadoop}, DecisionRule: "balanced"})
		require.ErrorIs(t, err, errs.ErrInvalid)
		jf, err := svc.CreateTraining(ctx, alice, TrainingRequest{Files: []string{hadoop}, TargetColumns: []string{"Priority"}, DecisionRule: DecisionMacroF1})
		require.NoError(t, err)
		require.NoError(t, svc.RunTraining(ctx, jf.ID))
		stf, err := svc.TrainingStatus(ctx, alice, jf.ID)
		require.NoError(t, err)
		assert.Equal(t, DecisionMacroF1, stf.DecisionRule)
		assert.Empty(t, st.DecisionRule, "the default is not spelled out")
		require.Len(t, stf.Metrics, 1)
		assert.Greater(t, stf.Metrics[0].Metrics.MacroF1, st.Metrics[0].Metrics.MacroF1+0.02)

		// The cache holds at most CacheSize models.
		j2, err := svc.CreateTraining(ctx, alice, TrainingRequest{Files: []string{hadoop}, TargetColumns: []string{"Status"}})
		require.NoError(t, err)
		require.NoError(t, svc.RunTraining(ctx, j2.ID))
		_, err = svc.Predict(ctx, alice, j2.ID, "crash")
		require.NoError(t, err)
		assert.Equal(t, 1, svc.cache.len())
	})
}

func TestServiceFailedTraining(t *testing.T) {
	dir := t.TempDir()
	noRows := filepath.Join(dir, "empty.csv")
	require.NoError(t, os.WriteFile(noRows, []byte("Summary,Priority\n"), 0o600))
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := New(NewBunStore(db.DB), Config{})
		alice := Caller{UserID: "alice"}
		for _, tt := range []struct {
			name  string
			files []string
		}{
			{"no usable rows", []string{noRows}},
			{"file gone", []string{filepath.Join(dir, "missing.csv")}},
		} {
			j, err := svc.CreateTraining(ctx, alice, TrainingRequest{Files: tt.files})
			require.NoError(t, err)
			require.NoError(t, svc.RunTraining(ctx, j.ID), tt.name)
			st, err := svc.TrainingStatus(ctx, alice, j.ID)
			require.NoError(t, err)
			assert.Equal(t, StatusFailed, st.Status, tt.name)
			require.NotNil(t, st.Error, tt.name)
			assert.Equal(t, "invalid", st.Error.Code, tt.name)
			assert.NotEmpty(t, st.Error.Message, tt.name)
			assert.True(t, strings.HasPrefix(st.StatusDescription, descTrainingFailed), st.StatusDescription)
			_, err = svc.Predict(ctx, alice, j.ID, "crash")
			require.ErrorIs(t, err, errs.ErrConflict, tt.name)
		}

		// A cancelled run leaves the job Processing for a retry.
		j, err := svc.CreateTraining(ctx, alice, TrainingRequest{Files: []string{noRows}})
		require.NoError(t, err)
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		require.Error(t, svc.RunTraining(cancelled, j.ID))
		st, err := svc.TrainingStatus(ctx, alice, j.ID)
		require.NoError(t, err)
		assert.Equal(t, StatusProcessing, st.Status)
	})
}

func TestServiceAnonymizedModelInDatabase(t *testing.T) {
	data, personal := personalCSV(t)
	path := filepath.Join(t.TempDir(), "people.csv")
	require.NoError(t, os.WriteFile(path, []byte(data), 0o600))
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := NewBunStore(db.DB)
		svc := New(st, Config{})
		alice := Caller{UserID: "alice"}
		j, err := svc.CreateTraining(ctx, alice, TrainingRequest{Files: []string{path}, IsAnon: true})
		require.NoError(t, err)
		require.NoError(t, svc.RunTraining(ctx, j.ID))

		blob, err := st.LoadModel(ctx, j.ID)
		require.NoError(t, err)
		raw, err := io.ReadAll(flate.NewReader(bytes.NewReader(blob[len(modelMagic)+4:])))
		require.NoError(t, err)
		stored := strings.ToLower(string(raw))
		require.Contains(t, stored, "priority", "the search reads the decompressed model")
		for _, p := range personal {
			assert.NotContains(t, stored, strings.ToLower(p))
		}

		pj, err := svc.Predict(ctx, alice, j.ID, "scheduler NPE, ask bob.builder@example.org")
		require.NoError(t, err)
		assert.True(t, pj.IsAnon)
		assert.True(t, strings.HasPrefix(pj.Result.ResultBody()["Assignee"].Prediction, "user-"))
		// The request is recorded as the anonymised model reads it: without
		// the e-mail address.
		got, err := svc.PredictionStatus(ctx, alice, pj.ID)
		require.NoError(t, err)
		assert.Equal(t, "scheduler NPE, ask  emailaddress ", got.Request)
		var rows []map[string]any
		require.NoError(t, db.NewSelect().Table("mlpipeline_prediction_jobs").Scan(ctx, &rows))
		require.Len(t, rows, 1)
		assert.NotContains(t, fmt.Sprint(rows[0]), "bob.builder")
	})
}

func TestServiceRemovesUploadsOnceFinished(t *testing.T) {
	src, err := os.ReadFile("testdata/gitbugs_hadoop.csv")
	require.NoError(t, err)
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		uploads := t.TempDir()
		svc := New(NewBunStore(db.DB), Config{UploadDir: uploads})
		alice := Caller{UserID: "alice"}
		write := func(dir, name string, data []byte) string {
			require.NoError(t, os.MkdirAll(dir, 0o700))
			path := filepath.Join(dir, name)
			require.NoError(t, os.WriteFile(path, data, 0o600))
			return path
		}

		// A successful job's uploads go, and so does their directory; a
		// file of the caller's own outside the upload directory stays.
		okDir := filepath.Join(uploads, "upload-1")
		mine := write(t.TempDir(), "mine.csv", src)
		ok, err := svc.CreateTraining(ctx, alice, TrainingRequest{
			Files:         []string{write(okDir, "upload-00.csv", src), mine},
			TargetColumns: []string{"Priority"},
		})
		require.NoError(t, err)
		require.NoError(t, svc.RunTraining(ctx, ok.ID))
		st, err := svc.TrainingStatus(ctx, alice, ok.ID)
		require.NoError(t, err)
		require.Equal(t, StatusSuccess, st.Status)
		assert.NoDirExists(t, okDir)
		assert.FileExists(t, mine)
		assert.DirExists(t, uploads, "the upload root itself stays")

		// A failed job's uploads go too; a sibling upload still waiting for
		// its own job is left alone.
		badDir := filepath.Join(uploads, "upload-2")
		bad := write(badDir, "upload-00.csv", []byte("Summary,Priority\n"))
		waiting := write(badDir, "upload-01.csv", src)
		failed, err := svc.CreateTraining(ctx, alice, TrainingRequest{Files: []string{bad}})
		require.NoError(t, err)
		require.NoError(t, svc.RunTraining(ctx, failed.ID))
		st, err = svc.TrainingStatus(ctx, alice, failed.ID)
		require.NoError(t, err)
		require.Equal(t, StatusFailed, st.Status)
		assert.NoFileExists(t, bad)
		assert.FileExists(t, waiting)
	})
}

// progressSpy is the real store, noting the progress the service writes.
type progressSpy struct {
	*BunStore
	reports []Progress
}

func (p *progressSpy) UpdateTrainingProgress(ctx context.Context, id string, pr Progress, at time.Time) error {
	p.reports = append(p.reports, pr)
	return p.BunStore.UpdateTrainingProgress(ctx, id, pr, at)
}

func TestServiceRecordsProgressWhileTraining(t *testing.T) {
	hadoop, err := filepath.Abs("testdata/gitbugs_hadoop.csv")
	require.NoError(t, err)
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		spy := &progressSpy{BunStore: NewBunStore(db.DB)}
		svc := New(spy, Config{ProgressEvery: time.Hour})
		alice := Caller{UserID: "alice"}
		j, err := svc.CreateTraining(ctx, alice, TrainingRequest{Files: []string{hadoop}, TargetColumns: []string{"Priority", "Status"}})
		require.NoError(t, err)
		var shown int
		require.NoError(t, svc.RunTrainingWithProgress(ctx, j.ID, func(Progress) { shown++ }))

		// Every stage is written once when it starts (the hour between
		// writes of one stage never passes here), while the caller's own
		// callback sees every report.
		var stages []string
		for _, p := range spy.reports {
			stages = append(stages, p.Stage)
		}
		assert.Equal(t, []string{StageParse, StageTrain, StageCalibrate}, stages)
		assert.Greater(t, shown, len(spy.reports))
		st, err := svc.TrainingStatus(ctx, alice, j.ID)
		require.NoError(t, err)
		assert.Equal(t, StatusSuccess, st.Status)
		assert.Nil(t, st.Progress)
	})
}

// A database made before the progress column existed gains it, and its jobs
// keep their data.
func TestProgressMigrationOnAnOldDatabase(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url, Migrations()[:1])
		now := store.Now()
		old := map[string]any{"id": "train_old", "owner_id": "u1", "is_anon": false, "status": string(StatusProcessing),
			"status_description": descTrainingProcessing, "files": "[]", "text_columns": "[]", "target_columns": "[]",
			"model_bytes": 0, "created_at": now, "updated_at": now}
		_, err := db.NewInsert().Model(&old).TableExpr("mlpipeline_training_jobs").Exec(ctx)
		require.NoError(t, err)
		applied, err := store.Migrate(ctx, db, Migrations())
		require.NoError(t, err)
		assert.Len(t, applied, len(Migrations())-1, "the progress and decision_rule columns")

		st := NewBunStore(db.DB)
		require.NoError(t, st.UpdateTrainingProgress(ctx, "train_old", Progress{Stage: StageParse, Rows: 2000}, now))
		got, err := st.GetTrainingJob(ctx, "train_old")
		require.NoError(t, err)
		assert.Equal(t, &Progress{Stage: StageParse, Rows: 2000}, got.Progress)
		assert.Equal(t, "u1", got.OwnerID)
		assert.Empty(t, got.DecisionRule, "an old job has the default decision rule")
	})
}

// A job that runs again after an interruption says so, without the progress
// of the interrupted attempt, until it has an outcome; a finished job keeps
// its outcome.
func TestServiceMarkRetrying(t *testing.T) {
	hadoop, err := filepath.Abs("testdata/gitbugs_hadoop.csv")
	require.NoError(t, err)
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := NewBunStore(db.DB)
		svc := New(st, Config{})
		alice := Caller{UserID: "alice"}
		j, err := svc.CreateTraining(ctx, alice, TrainingRequest{Files: []string{hadoop}, TargetColumns: []string{"Priority"}})
		require.NoError(t, err)
		require.NoError(t, st.UpdateTrainingProgress(ctx, j.ID, Progress{Stage: StageTrain, Done: 7, Total: 20}, store.Now()))

		require.NoError(t, svc.MarkRetrying(ctx, j.ID, "worker process stopped", 2, 10))
		got, err := svc.TrainingStatus(ctx, alice, j.ID)
		require.NoError(t, err)
		assert.Equal(t, StatusProcessing, got.Status)
		assert.Equal(t, "The training job was interrupted (worker process stopped) and is being retried (attempt 2 of 10).", got.StatusDescription)
		assert.Nil(t, got.Progress, "the interrupted attempt's progress is gone")

		require.NoError(t, svc.RunTraining(ctx, j.ID))
		require.NoError(t, svc.MarkRetrying(ctx, j.ID, "worker process stopped", 3, 10))
		got, err = svc.TrainingStatus(ctx, alice, j.ID)
		require.NoError(t, err)
		assert.Equal(t, StatusSuccess, got.Status)
		assert.Equal(t, descTrainingSuccess, got.StatusDescription)
	})
}
