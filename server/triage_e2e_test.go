package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/client"
	"github.com/bugflow/bugflow/client/api"
	"github.com/bugflow/bugflow/internal/apitest"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/mlpipeline"
	"github.com/bugflow/bugflow/server"
)

// trainingCSV is a real export (Mozilla Bugzilla, SeaMonkey; see
// mlpipeline/testdata/README.md for its source and licence).
const trainingCSV = "../mlpipeline/testdata/gitbugs_seamonkey.csv"

// multipartCSV builds the body curl --form "file=@path" sends.
func multipartCSV(t *testing.T, fields map[string]string, files ...string) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, path := range files {
		part, err := mw.CreateFormFile("file", path)
		require.NoError(t, err)
		f, err := os.Open(path)
		require.NoError(t, err)
		_, err = io.Copy(part, f)
		f.Close()
		require.NoError(t, err)
	}
	for k, v := range fields {
		require.NoError(t, mw.WriteField(k, v))
	}
	require.NoError(t, mw.Close())
	return mw.FormDataContentType(), &buf
}

// waitForTraining polls the status until it leaves Processing.
func waitForTraining(t *testing.T, c *client.Client, id string) *api.TrainingStatus {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := client.Check(c.DemoStatusTrainingWithResponse(context.Background(), api.DemoStatusTrainingJSONRequestBody{TrainingJobId: id}))
		require.NoError(t, err)
		if st.JSON200.Result.Status != "Processing" {
			return st.JSON200
		}
		require.True(t, time.Now().Before(deadline), "training did not finish in 2 minutes")
		time.Sleep(100 * time.Millisecond)
	}
}

// seeds/000 steps 5 to 8 through the generated client, on every backend.
func TestTriageWithGeneratedClient(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, _ := identityServer(t, url)
		ctx := context.Background()
		token := signedInUser(t, srv, "triager")
		c := newAPIClient(t, srv, client.WithToken(token))

		ct, body := multipartCSV(t, nil, trainingCSV)
		tr, err := client.Check(c.DemoTrainWithBodyWithResponse(ctx, &api.DemoTrainParams{IsAnon: "false"}, ct, body))
		require.NoError(t, err)
		id := tr.JSON200.TrainingJobId
		st := waitForTraining(t, c, id)
		require.Equal(t, api.JobResultStatus("Success"), st.Result.Status, "%+v", st.Error)
		require.NotNil(t, st.Metrics)
		assert.NotEmpty(t, *st.Metrics, "hold-out metrics per field")
		require.NotNil(t, st.Roles)

		pr, err := client.Check(c.DemoPredictWithResponse(ctx, api.DemoPredictJSONRequestBody{TrainingJobId: id, RequestString: "Crash when opening the address book after update"}))
		require.NoError(t, err)
		ps, err := client.Check(c.DemoStatusPredictionWithResponse(ctx, api.DemoStatusPredictionJSONRequestBody{PredictionJobId: pr.JSON200.PredictionJobId}))
		require.NoError(t, err)
		assert.Equal(t, api.JobResultStatus("Success"), ps.JSON200.Result.Status, "the first poll already answers")
		assert.False(t, ps.JSON200.IsAnon)
		require.NotNil(t, ps.JSON200.ResultBody)
		require.NotEmpty(t, *ps.JSON200.ResultBody)
		for field, r := range *ps.JSON200.ResultBody {
			assert.NotEmpty(t, r.Prediction, field)
			assert.InDelta(t, 0.5, r.Confidence, 0.5, field)
			assert.NotEmpty(t, r.Alternatives, field)
			assert.LessOrEqual(t, len(r.Alternatives), 3, field)
		}

		// Another user sees none of it.
		other := newAPIClient(t, srv, client.WithToken(signedInUser(t, srv, "someone")))
		hidden, err := other.DemoStatusTrainingWithResponse(ctx, api.DemoStatusTrainingJSONRequestBody{TrainingJobId: id})
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, hidden.StatusCode())
		hiddenPred, err := other.DemoPredictWithResponse(ctx, api.DemoPredictJSONRequestBody{TrainingJobId: id, RequestString: "x"})
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, hiddenPred.StatusCode())

		// A predicted model survives in the database: a new engine on the
		// same database predicts too.
		if url != "" {
			again, err := client.Check(c.DemoPredictWithResponse(ctx, api.DemoPredictJSONRequestBody{TrainingJobId: id, RequestString: "Mail window freezes"}))
			require.NoError(t, err)
			assert.NotEmpty(t, again.JSON200.PredictionJobId)
		}
	})
}

// The curl examples of steps 5 to 8 and their error cases, as raw HTTP.
func TestTriageCurlExamplesAndErrors(t *testing.T) {
	srv, _ := identityServer(t, "")
	token := signedInUser(t, srv, "triager")
	post := func(c *http.Client, path, contentType string, body io.Reader, header ...string) (int, map[string]any) {
		req, err := http.NewRequest(http.MethodPost, srv.URL+path, body)
		require.NoError(t, err)
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer "+token)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := c.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}

	// --header 'is_anon: true' --form "file=@..." with a column override.
	ct, body := multipartCSV(t, map[string]string{"text_columns": "Summary", "target_columns": "Status,Resolution", "decision_rule": "macro_f1"}, trainingCSV)
	status, out := post(srv.Client, "/demo_train", ct, body, "is_anon", "true")
	require.Equal(t, http.StatusOK, status, out)
	id := out["training_job_id"].(string)
	c := newAPIClient(t, srv, client.WithToken(token))
	st := waitForTraining(t, c, id)
	require.Equal(t, api.JobResultStatus("Success"), st.Result.Status, "%+v", st.Error)
	fields := map[string]bool{}
	for _, m := range *st.Metrics {
		fields[m["field"].(string)] = true
	}
	assert.Equal(t, map[string]bool{"Status": true, "Resolution": true}, fields, "the override picks the targets")

	status, out = post(srv.Client, "/demo_predict", "application/json", bytes.NewBufferString(`{
      "training_job_id": "`+id+`",
      "request_string": "Login button not working on Safari browser after password reset."
    }`))
	require.Equal(t, http.StatusOK, status, out)
	status, out = post(srv.Client, "/demo_status_prediction", "application/json", bytes.NewBufferString(`{"prediction_job_id": "`+out["prediction_job_id"].(string)+`"}`))
	require.Equal(t, http.StatusOK, status, out)
	assert.Equal(t, true, out["is_anon"], "is_anon is echoed")

	badRuleCT, badRule := multipartCSV(t, map[string]string{"decision_rule": "balanced"}, trainingCSV)
	for _, tt := range []struct {
		name   string
		header []string
		ct     string
		body   io.Reader
		status int
	}{
		{"no is_anon header", nil, ct, bytes.NewBufferString("x"), 400},
		{"is_anon not a boolean", []string{"is_anon", "maybe"}, ct, bytes.NewBufferString("x"), 400},
		{"no file", []string{"is_anon", "false"}, "multipart/form-data; boundary=x", bytes.NewBufferString("--x--\r\n"), 400},
		{"not multipart", []string{"is_anon", "false"}, "application/json", bytes.NewBufferString("{}"), 400},
		{"unknown decision rule", []string{"is_anon", "false"}, badRuleCT, badRule, 400},
	} {
		status, out = post(srv.Raw, "/demo_train", tt.ct, tt.body, tt.header...)
		assert.Equal(t, tt.status, status, "%s: %v", tt.name, out)
	}
	status, out = post(srv.Raw, "/demo_predict", "application/json", bytes.NewBufferString(`{"training_job_id": "`+id+`", "request_string": "  "}`))
	assert.Equal(t, http.StatusBadRequest, status, out)
	status, out = post(srv.Raw, "/demo_predict", "application/json", bytes.NewBufferString(`{"training_job_id": "train_nope", "request_string": "x"}`))
	assert.Equal(t, http.StatusNotFound, status, out)

	// A file with no usable rows fails the job with a clear error.
	empty := t.TempDir() + "/empty.csv"
	require.NoError(t, os.WriteFile(empty, []byte("Summary,Priority\n"), 0o600))
	ct, body = multipartCSV(t, nil, empty)
	status, out = post(srv.Client, "/demo_train", ct, body, "is_anon", "false")
	require.Equal(t, http.StatusOK, status, out)
	failed := waitForTraining(t, c, out["training_job_id"].(string))
	assert.Equal(t, api.JobResultStatus("Failed"), failed.Result.Status)
	require.NotNil(t, failed.Error)
	assert.NotEmpty(t, failed.Error.Message)
	status, out = post(srv.Raw, "/demo_predict", "application/json", bytes.NewBufferString(`{"training_job_id": "`+failed.TrainingJobId+`", "request_string": "x"}`))
	assert.Equal(t, http.StatusConflict, status, "a failed training has no model: %v", out)
}

// trainRequest is the raw POST /demo_train that curl --form sends.
func trainRequest(t *testing.T, baseURL, token, contentType string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, baseURL+"/demo_train", body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("is_anon", "false")
	return req
}

// Uploads beyond the configured limit are refused with 413 while streaming.
func TestTriageUploadLimit(t *testing.T) {
	srv := apitest.Start(t, apitest.Config{Engine: bugflow.Config{MaxUploadBytes: 64 << 10}})
	token := signedInUser(t, srv, "triager")
	ct, body := multipartCSV(t, nil, trainingCSV) // 0.9 MB
	resp, err := srv.Raw.Do(trainRequest(t, srv.URL, token, ct, body))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
}

// A training job queued by a process that stopped before working it is
// trained by the next process on the same database: nothing is lost, and
// nothing stays Processing.
func TestTrainingSurvivesARestart(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		uploads := t.TempDir()
		first := apitest.Start(t, apitest.Config{Engine: bugflow.Config{DatabaseURL: url, UploadDir: uploads, Jobs: bugflow.JobsConfig{Disabled: true}}})
		token := signedInUser(t, first, "triager")
		ct, body := multipartCSV(t, nil, trainingCSV)
		c1 := newAPIClient(t, first, client.WithToken(token))
		tr, err := client.Check(c1.DemoTrainWithBodyWithResponse(ctx, &api.DemoTrainParams{IsAnon: "false"}, ct, body))
		require.NoError(t, err)
		require.NoError(t, first.Engine.Close())
		queued, err := os.ReadDir(uploads)
		require.NoError(t, err)
		require.Len(t, queued, 1, "the upload waits for its job")

		second := apitest.Start(t, apitest.Config{Engine: bugflow.Config{DatabaseURL: url, UploadDir: uploads}})
		c2 := newAPIClient(t, second, client.WithToken(token))
		st := waitForTraining(t, c2, tr.JSON200.TrainingJobId)
		assert.Equal(t, api.JobResultStatus("Success"), st.Result.Status, "%+v", st.Error)
		// The outcome is recorded before the upload is removed (a crash in
		// between must leave the files for the retry), so wait for it.
		assert.Eventually(t, func() bool {
			left, err := os.ReadDir(uploads)
			return err == nil && len(left) == 0
		}, 30*time.Second, 20*time.Millisecond, "a finished job's upload is deleted")
	})
}

// An upload slower than the server's read and write timeouts (60 s and 120 s
// in bugflow serve; 300 ms here) still completes and gets its answer: the
// training endpoint extends both deadlines for its own request.
func TestSlowUploadOutlivesServerTimeouts(t *testing.T) {
	srv := apitest.Start(t, apitest.Config{Engine: bugflow.Config{UploadDir: t.TempDir(), Jobs: bugflow.JobsConfig{Disabled: true}}})
	token := signedInUser(t, srv, "slowlink")
	slow := httptest.NewUnstartedServer(server.New(srv.Engine))
	slow.Config.ReadTimeout = 300 * time.Millisecond
	slow.Config.WriteTimeout = 300 * time.Millisecond
	slow.Start()
	t.Cleanup(slow.Close)

	ct, body := multipartCSV(t, nil, trainingCSV)
	pr, pw := io.Pipe()
	go func() {
		// About one second in ten pieces: over three times each timeout.
		chunk := body.Len()/10 + 1
		for body.Len() > 0 {
			if _, err := pw.Write(body.Next(chunk)); err != nil {
				pw.CloseWithError(err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		pw.Close()
	}()
	resp, err := http.DefaultClient.Do(trainRequest(t, slow.URL, token, ct, pr))
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	var out struct {
		TrainingJobID string `json:"training_job_id"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	assert.NotEmpty(t, out.TrainingJobID)
}

// While a training job runs, its status carries the progress its worker
// last wrote (here by hand, as a worker on another replica would).
func TestTrainingStatusShowsProgress(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		srv := apitest.Start(t, apitest.Config{Engine: bugflow.Config{DatabaseURL: url, UploadDir: t.TempDir(), Jobs: bugflow.JobsConfig{Disabled: true}}})
		c := newAPIClient(t, srv, client.WithToken(signedInUser(t, srv, "watcher")))
		ct, body := multipartCSV(t, nil, trainingCSV)
		tr, err := client.Check(c.DemoTrainWithBodyWithResponse(ctx, &api.DemoTrainParams{IsAnon: "false"}, ct, body))
		require.NoError(t, err)
		id := tr.JSON200.TrainingJobId
		status := func() *api.TrainingStatus {
			st, err := client.Check(c.DemoStatusTrainingWithResponse(ctx, api.DemoStatusTrainingJSONRequestBody{TrainingJobId: id}))
			require.NoError(t, err)
			return st.JSON200
		}
		assert.Nil(t, status().Progress, "the job has not started")

		db := dbtest.Open(t, url, nil)
		report := mlpipeline.Progress{Stage: mlpipeline.StageTrain, Done: 40, Total: 90}
		require.NoError(t, mlpipeline.NewBunStore(db.DB).UpdateTrainingProgress(ctx, id, report, time.Now()))
		st := status()
		assert.Equal(t, api.JobResultStatus("Processing"), st.Result.Status)
		require.NotNil(t, st.Progress)
		assert.Equal(t, api.TrainingStageTrain, st.Progress.Stage)
		assert.Equal(t, 40, st.Progress.Done)
		assert.Equal(t, 90, st.Progress.Total)
	})
}
