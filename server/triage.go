package server

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/mlpipeline"
)

// maxFormFieldBytes bounds a non-file multipart field (text_columns, ...).
const maxFormFieldBytes = 64 << 10

// maxUploadFiles bounds how many CSV parts one training upload may carry.
const maxUploadFiles = 20

// caller is the mlpipeline view of the signed-in user.
func caller(r *http.Request) mlpipeline.Caller {
	id := identityFrom(r.Context())
	userID := id.User.ID
	if userID == "" {
		// The bootstrap admin has no stored user; its jobs are the admin's.
		userID = "admin"
	}
	return mlpipeline.Caller{UserID: userID, Admin: id.IsAdmin()}
}

// parseIsAnon reads the is_anon header: true or false in any case.
func parseIsAnon(r *http.Request) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(r.Header.Get("is_anon"))) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "":
		return false, errs.InvalidField("is_anon", "header is required: true or false")
	default:
		return false, errs.InvalidField("is_anon", "header must be true or false")
	}
}

// demoTrain streams the multipart upload to files on disk (never holding a
// CSV in memory), records a training job and queues it.
func (s *Server) demoTrain(w http.ResponseWriter, r *http.Request) error {
	isAnon, err := parseIsAnon(r)
	if err != nil {
		return err
	}
	allowSlowUpload(w, s.engine.ML.MaxUploadBytes())
	req, cleanup, err := s.receiveUpload(r)
	if err != nil {
		cleanup()
		return err
	}
	req.IsAnon = isAnon
	job, err := s.engine.ML.StartTraining(r.Context(), caller(r), req)
	if err != nil {
		cleanup()
		return err
	}
	return reply(w, r, http.StatusOK, map[string]string{"training_job_id": job.ID})
}

// uploadMinRate is the slowest pace, in bytes per second, at which an upload
// of the largest allowed size still completes: 1 MB/s gives a 200 MB upload
// about four minutes.
const uploadMinRate = 1 << 20

// allowSlowUpload extends the connection's read and write deadlines for one
// training upload. bugflow serve's 60 s ReadTimeout suits JSON calls but
// would cut off a large CSV on an ordinary link, and the WriteTimeout runs
// from the end of the request headers, so the answer after a long upload
// would be lost too. Writers without deadline support (httptest recorders)
// keep whatever the server set.
func allowSlowUpload(w http.ResponseWriter, limit int64) {
	deadline := time.Now().Add(time.Minute + time.Duration(limit/uploadMinRate)*time.Second)
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(deadline)
	_ = rc.SetWriteDeadline(deadline.Add(time.Minute))
}

// receiveUpload saves every "file" part under the engine's upload directory
// and reads the optional text_columns and target_columns fields (comma
// separated), which must be store.ValidText, and decision_rule (checked by
// the service). The files' content is data for
// the model, stored only inside JSON, so a NUL in it is no error here; the
// client's file names are not used at all. cleanup removes the saved files; call it when the upload is
// not handed to a job.
func (s *Server) receiveUpload(r *http.Request) (mlpipeline.TrainingRequest, func(), error) {
	var req mlpipeline.TrainingRequest
	var dir string
	cleanup := func() {
		if dir != "" {
			_ = os.RemoveAll(dir)
		}
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" {
		return req, cleanup, errs.InvalidField("file", "the body must be multipart/form-data with a CSV in the field \"file\"")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return req, cleanup, errs.Invalidf("malformed multipart body: %s", err.Error())
	}
	budget := s.engine.ML.MaxUploadBytes()
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return req, cleanup, uploadError(err)
		}
		switch part.FormName() {
		case "file":
			if len(req.Files) == maxUploadFiles {
				return req, cleanup, errs.InvalidField("file", "at most 20 files per upload")
			}
			if dir == "" {
				if dir, err = s.engine.ML.NewUploadDir(); err != nil {
					return req, cleanup, err
				}
			}
			// The client's file name is not used: it could contain "..".
			path := filepath.Join(dir, fmt.Sprintf("upload-%02d.csv", len(req.Files)))
			n, err := saveLimited(path, part, budget)
			if err != nil {
				return req, cleanup, err
			}
			budget -= n
			req.Files = append(req.Files, path)
		case "decision_rule":
			v, err := io.ReadAll(io.LimitReader(part, maxFormFieldBytes))
			if err != nil {
				return req, cleanup, uploadError(err)
			}
			if err := store.CheckText("decision_rule", string(v)); err != nil {
				return req, cleanup, err
			}
			req.DecisionRule = strings.TrimSpace(string(v))
		case "text_columns", "target_columns":
			v, err := io.ReadAll(io.LimitReader(part, maxFormFieldBytes))
			if err != nil {
				return req, cleanup, uploadError(err)
			}
			if err := store.CheckText(part.FormName(), string(v)); err != nil {
				return req, cleanup, err
			}
			cols := splitColumns(string(v))
			if part.FormName() == "text_columns" {
				req.TextColumns = cols
			} else {
				req.TargetColumns = cols
			}
		default:
			// Unknown fields are drained and ignored, as form posts carry
			// extras (submit buttons, ...).
			if _, err := io.Copy(io.Discard, io.LimitReader(part, maxFormFieldBytes)); err != nil {
				return req, cleanup, uploadError(err)
			}
		}
	}
	if len(req.Files) == 0 {
		return req, cleanup, errs.InvalidField("file", "a CSV file is required in the multipart field \"file\"")
	}
	return req, cleanup, nil
}

// saveLimited copies part into a new file at path, refusing (413) to write
// more than budget bytes.
func saveLimited(path string, part *multipart.Part, budget int64) (int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, io.LimitReader(part, budget+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, uploadError(err)
	}
	if n > budget {
		return n, errs.TooLargef("the upload exceeds the limit of %d bytes", budget)
	}
	return n, nil
}

// uploadError classifies a failure while reading the body: the body limit is
// 413, a broken multipart stream is the client's fault (400).
func uploadError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errs.TooLargef("the upload exceeds the limit of %d bytes", tooLarge.Limit)
	}
	return errs.Invalidf("the upload could not be read: %s", err.Error())
}

// splitColumns reads a comma-separated column list.
func splitColumns(v string) []string {
	var out []string
	for c := range strings.SplitSeq(v, ",") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// trainingStatusBody is seeds/000's training status, plus what bugflow
// reports beyond it: the detected column roles, parse statistics, the
// hold-out metrics of every field and, while it runs, its progress.
type trainingStatusBody struct {
	TrainingJobID string                   `json:"training_job_id"`
	Result        jobResult                `json:"result"`
	Error         *mlpipeline.JobError     `json:"error,omitempty"`
	Roles         []mlpipeline.ColumnRole  `json:"roles,omitempty"`
	ParseStats    *mlpipeline.ParseStats   `json:"parse_stats,omitempty"`
	Metrics       []mlpipeline.FieldReport `json:"metrics,omitempty"`
	Progress      *mlpipeline.Progress     `json:"progress,omitempty"`
}

type jobResult struct {
	Status            mlpipeline.JobStatus `json:"status"`
	StatusDescription string               `json:"status_description"`
}

func (s *Server) demoStatusTraining(w http.ResponseWriter, r *http.Request) error {
	id, err := decodeIDField(r, "training_job_id")
	if err != nil {
		return err
	}
	j, err := s.engine.ML.TrainingStatus(r.Context(), caller(r), id)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, trainingStatusBody{
		TrainingJobID: j.ID, Result: jobResult{Status: j.Status, StatusDescription: j.StatusDescription},
		Error: j.Error, Roles: j.Roles, ParseStats: j.ParseStats, Metrics: j.Metrics, Progress: j.Progress,
	})
}

func (s *Server) demoPredict(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		TrainingJobID string `json:"training_job_id"`
		RequestString string `json:"request_string"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if body.TrainingJobID == "" {
		return errs.InvalidField("training_job_id", "is required")
	}
	// Prediction from a loaded model takes well under a millisecond, so it
	// runs now and the first status poll already answers Success.
	pj, err := s.engine.ML.Predict(r.Context(), caller(r), body.TrainingJobID, body.RequestString)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, map[string]string{"prediction_job_id": pj.ID})
}

type predictionStatusBody struct {
	PredictionJobID string                            `json:"prediction_job_id"`
	IsAnon          bool                              `json:"is_anon"`
	Result          jobResult                         `json:"result"`
	Error           *mlpipeline.JobError              `json:"error,omitempty"`
	ResultBody      map[string]mlpipeline.FieldResult `json:"result_body,omitempty"`
}

func (s *Server) demoStatusPrediction(w http.ResponseWriter, r *http.Request) error {
	id, err := decodeIDField(r, "prediction_job_id")
	if err != nil {
		return err
	}
	pj, err := s.engine.ML.PredictionStatus(r.Context(), caller(r), id)
	if err != nil {
		return err
	}
	out := predictionStatusBody{
		PredictionJobID: pj.ID, IsAnon: pj.IsAnon,
		Result: jobResult{Status: pj.Status, StatusDescription: pj.StatusDescription}, Error: pj.Error,
	}
	if pj.Result != nil {
		out.ResultBody = pj.Result.ResultBody()
	}
	return reply(w, r, http.StatusOK, out)
}
