package bugflow_test

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/mlpipeline"
)

// upload saves a CSV in a fresh upload directory, its times set to at.
func upload(t *testing.T, e *bugflow.Engine, at time.Time, names ...string) (dir string, files []string) {
	t.Helper()
	dir, err := e.ML.NewUploadDir()
	require.NoError(t, err)
	for _, n := range names {
		f := filepath.Join(dir, n)
		require.NoError(t, os.WriteFile(f, []byte("summary,component\nboom,core\n"), 0o600))
		files = append(files, f)
	}
	require.NoError(t, filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, at, at)
	}))
	return dir, files
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

// Upkeep deletes a training upload leftover once it is older than
// UploadRetention and its training has finished (here: failed, which
// leaves its files) or was never recorded; an upload whose training is
// still Processing stays whatever its age.
func TestUpkeepDeletesUploadLeftoversPastTheirAge(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
		clock := &movable{t: t0}
		e, err := bugflow.Open(ctx, bugflow.Config{DatabaseURL: url, Logger: slog.New(slog.DiscardHandler), Now: clock.now,
			UploadDir: t.TempDir(), Jobs: bugflow.JobsConfig{Disabled: true}, Upkeep: bugflow.UpkeepConfig{UploadRetention: 48 * time.Hour}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = e.Close() })
		owner := mlpipeline.Caller{UserID: "u1", Admin: true}

		running, files := upload(t, e, t0, "bugs.csv")
		_, err = e.ML.StartTraining(ctx, owner, mlpipeline.TrainingRequest{Files: files})
		require.NoError(t, err)
		failed, files := upload(t, e, t0, "bugs.csv")
		job, err := e.ML.StartTraining(ctx, owner, mlpipeline.TrainingRequest{Files: files})
		require.NoError(t, err)
		require.NoError(t, e.ML.FailTraining(ctx, job.ID, "given up"))
		orphan, _ := upload(t, e, t0, "a.csv", "b.csv") // its job was never recorded

		upkeep := func(at time.Time) bugflow.UpkeepReport {
			clock.set(at)
			r, err := e.Upkeep(ctx)
			require.NoError(t, err)
			return r
		}
		assert.Equal(t, bugflow.UpkeepReport{}, upkeep(t0.Add(48*time.Hour)), "exactly 48 h old: kept")
		for _, d := range []string{running, failed, orphan} {
			assert.True(t, exists(d), d)
		}
		assert.Equal(t, bugflow.UpkeepReport{Uploads: 2}, upkeep(t0.Add(48*time.Hour+time.Second)))
		assert.True(t, exists(running), "its training still runs")
		assert.False(t, exists(failed))
		assert.False(t, exists(orphan))
		assert.Equal(t, bugflow.UpkeepReport{}, upkeep(t0.Add(100*time.Hour)))
		assert.True(t, exists(running))
	})
}
