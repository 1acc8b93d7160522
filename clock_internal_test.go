package bugflow

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/activity"
	"github.com/bugflow/bugflow/analysis"
	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/bugs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/mlpipeline"
)

// Config.Now is the clock of every domain: each stamps what it records with
// the engine's time, in UTC and truncated to microseconds.
func TestEngineClockReachesEveryDomain(t *testing.T) {
	fake := time.Date(2030, 1, 2, 3, 4, 5, 6007, time.FixedZone("UTC+2", 2*3600))
	want := fake.UTC().Truncate(time.Microsecond)
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		e, err := Open(ctx, Config{DatabaseURL: url, Now: func() time.Time { return fake },
			Logger: slog.New(slog.DiscardHandler), Jobs: JobsConfig{Disabled: true}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = e.Close() })

		u, err := e.Auth.Register(ctx, auth.Registration{Username: "clock", Password: "correct horse", Name: "C", Lastname: "L"})
		require.NoError(t, err)
		assert.Equal(t, want, u.CreatedAt, "auth")

		entry, err := e.Activity.Record(ctx, activity.Entry{UserID: u.ID, Action: "page-view"})
		require.NoError(t, err)
		assert.Equal(t, want, entry.At, "activity")

		r, err := e.Bugs.Create(ctx, bugs.CreateInput{Title: "clock", Source: bugs.SourceUserCommand})
		require.NoError(t, err)
		assert.Equal(t, want, r.CreatedAt, "bugs")

		require.NoError(t, e.Analysis.Start(ctx, analysis.RecordInput{JobID: "clock", JobName: "clock-job", BuildNumber: 1}))
		res, err := e.Analysis.Result(ctx, "clock")
		require.NoError(t, err)
		assert.True(t, want.Equal(res.CreatedAt), "analysis: %v", res.CreatedAt)

		j, err := e.ML.CreateTraining(ctx, mlpipeline.Caller{UserID: u.ID}, mlpipeline.TrainingRequest{Files: []string{"upload.csv"}})
		require.NoError(t, err)
		assert.Equal(t, want, j.CreatedAt, "mlpipeline")
	})
}
