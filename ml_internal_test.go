package bugflow

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/mlpipeline"
)

// When the job queue gives up on a training job whose worker process kept
// stopping, the training fails with the reason instead of staying
// Processing; jobs of other kinds are not touched.
func TestTrainingGivenUpFailsTheTraining(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		quiet := slog.New(slog.DiscardHandler)
		e, err := Open(ctx, Config{DatabaseURL: url, Logger: quiet, Jobs: JobsConfig{Disabled: true}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = e.Close() })
		alice := mlpipeline.Caller{UserID: "alice"}
		j, err := e.ML.CreateTraining(ctx, alice, mlpipeline.TrainingRequest{Files: []string{"upload.csv"}})
		require.NoError(t, err)
		args, err := json.Marshal(trainArgs{TrainingJobID: j.ID})
		require.NoError(t, err)

		e.trainingGivenUp(ctx, &rivertype.JobRow{Kind: "other", EncodedArgs: args, Attempt: 10}, quiet)
		got, err := e.ML.TrainingStatus(ctx, alice, j.ID)
		require.NoError(t, err)
		assert.Equal(t, mlpipeline.StatusProcessing, got.Status)

		e.trainingGivenUp(ctx, &rivertype.JobRow{Kind: trainArgs{}.Kind(), EncodedArgs: args, Attempt: 10}, quiet)
		got, err = e.ML.TrainingStatus(ctx, alice, j.ID)
		require.NoError(t, err)
		assert.Equal(t, mlpipeline.StatusFailed, got.Status)
		require.NotNil(t, got.Error)
		assert.Equal(t, "training was interrupted 10 times (its worker process stopped); giving up", got.Error.Message)
	})
}
