package main

import (
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/internal/dbtest"
)

// trainingStatus is the part of /demo_status_training this test reads.
type trainingStatus struct {
	Result struct {
		Status            string `json:"status"`
		StatusDescription string `json:"status_description"`
	} `json:"result"`
	Progress *struct {
		Stage string `json:"stage"`
	} `json:"progress"`
}

// startTraining uploads the CSV at path copies times as one training job
// (enough rows to keep it training for a few seconds) and returns its id.
func startTraining(t *testing.T, base, token, path string, copies int) string {
	t.Helper()
	body, w := io.Pipe()
	mw := multipart.NewWriter(w)
	go func() {
		for range copies {
			part, err := mw.CreateFormFile("file", "bugs.csv")
			if err == nil {
				var f *os.File
				if f, err = os.Open(path); err == nil {
					_, err = io.Copy(part, f)
					f.Close()
				}
			}
			if err != nil {
				_ = w.CloseWithError(err)
				return
			}
		}
		_ = w.CloseWithError(mw.Close())
	}()
	req, err := http.NewRequest(http.MethodPost, base+"/demo_train", body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("is_anon", "false")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		TrainingJobID string `json:"training_job_id"`
	}
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.NotEmpty(t, out.TrainingJobID)
	return out.TrainingJobID
}

// pollTraining asks for the job's status until done says so, or fails the
// test after limit.
func pollTraining(t *testing.T, base, token, id string, limit time.Duration, done func(trainingStatus) bool) trainingStatus {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		req, err := http.NewRequest(http.MethodPost, base+"/demo_status_training", strings.NewReader(`{"training_job_id":"`+id+`"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var st trainingStatus
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
		resp.Body.Close()
		if done(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("training %s: still %+v after %s", id, st, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A server killed with SIGKILL in the middle of training (no graceful stop,
// so its job stays marked running) has its job retried by the next server on
// the same database, well before River's one-hour rescue: the status says
// that the job was interrupted and is being retried, and then Success.
func TestTrainingOfKilledServerIsRetried(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary, and trains twice on each database")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	// Uploads go to $TMPDIR/bugflow-uploads, shared by both servers.
	t.Setenv("TMPDIR", dir)
	uploads := filepath.Join(dir, "bugflow-uploads")
	const adminKey = "crash-test-admin-key-0123456789"
	dbtest.ForEach(t, func(t *testing.T, url string) {
		args := []string{"serve", "--addr", "127.0.0.1:0", "--database-url", url, "--admin-key", adminKey, "--job-orphan-after", "2s"}
		first := startBinary(t, bin, args...)
		id := startTraining(t, "http://"+first.addr, adminKey, "../../mlpipeline/testdata/gitbugs_hadoop.csv", 4)
		pollTraining(t, "http://"+first.addr, adminKey, id, time.Minute, func(st trainingStatus) bool {
			require.Equal(t, "Processing", st.Result.Status, "the job must still be training when the server is killed")
			return st.Progress != nil
		})
		require.NoError(t, first.cmd.Process.Signal(syscall.SIGKILL))
		<-first.done

		second := startBinary(t, bin, args...)
		var retrying string
		final := pollTraining(t, "http://"+second.addr, adminKey, id, 2*time.Minute, func(st trainingStatus) bool {
			if strings.Contains(st.Result.StatusDescription, "interrupted") {
				retrying = st.Result.StatusDescription
			}
			return st.Result.Status != "Processing"
		})
		assert.Equal(t, "Success", final.Result.Status, final.Result.StatusDescription)
		assert.Equal(t, "The training job was interrupted (worker process stopped) and is being retried (attempt 2 of 10).", retrying)
		// The files go just after the outcome is recorded.
		assert.Eventually(t, func() bool {
			entries, err := os.ReadDir(uploads)
			return err == nil && len(entries) == 0
		}, 30*time.Second, 10*time.Millisecond, "the retried job removes the upload of the killed server")

		logs, err := second.stop(t)
		require.NoError(t, err, logs)
		assert.Contains(t, logs, "the worker process of a running job stopped")
	})
}
