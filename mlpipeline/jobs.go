package mlpipeline

import (
	"time"
)

// JobStatus is the state of a training or prediction job, spelled as the
// BugFlows API spells it.
type JobStatus string

// The job states. Processing is the only non-terminal one.
const (
	StatusProcessing JobStatus = "Processing"
	StatusSuccess    JobStatus = "Success"
	StatusFailed     JobStatus = "Failed"
)

// Status descriptions returned with each state.
const (
	descTrainingProcessing = "The training job is currently in progress."
	descTrainingRetrying   = "The training job was interrupted (%s) and is being retried (attempt %d of %d)."
	descTrainingSuccess    = "Training completed successfully."
	descTrainingFailed     = "Training failed:"
	descPredictionSuccess  = "Prediction completed successfully."
)

// JobError is the error object of a failed job: Code is an errs kind name
// ("invalid", "internal", ...), Message is safe to show to the caller.
type JobError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Caller identifies who asks: a job is visible to its owner and to admins
// only; everyone else gets NotFound.
type Caller struct {
	UserID string
	Admin  bool
}

func (c Caller) canSee(owner string) bool { return c.Admin || c.UserID == owner }

// TrainingRequest starts a training job from CSV files that the caller has
// already saved (the HTTP layer streams the upload to disk with its size
// limit).
type TrainingRequest struct {
	IsAnon bool
	// Files are paths of the saved CSV files, read when the job runs. The
	// service deletes them once the job has finished only if they lie under
	// Config.UploadDir.
	Files []string
	// TextColumns and TargetColumns optionally override detection.
	TextColumns   []string
	TargetColumns []string
	// DecisionRule optionally overrides the service's
	// TrainOptions.DecisionRule: DecisionMostProbable or DecisionMacroF1.
	DecisionRule string
}

// TrainingJob is a training job and, once finished, its outcome. The model
// itself is stored alongside and loaded on demand.
type TrainingJob struct {
	ID                string    `json:"training_job_id"`
	OwnerID           string    `json:"owner_id"`
	IsAnon            bool      `json:"is_anon"`
	Status            JobStatus `json:"status"`
	StatusDescription string    `json:"status_description"`
	Error             *JobError `json:"error,omitempty"`
	Files             []string  `json:"-"`
	TextColumns       []string  `json:"text_columns,omitempty"`
	TargetColumns     []string  `json:"target_columns,omitempty"`
	// DecisionRule is the request's decision rule; empty means the
	// service's default.
	DecisionRule string        `json:"decision_rule,omitempty"`
	Roles        []ColumnRole  `json:"roles,omitempty"`
	Metrics      []FieldReport `json:"metrics,omitempty"`
	ParseStats   *ParseStats   `json:"parse_stats,omitempty"`
	ModelBytes   int           `json:"model_bytes,omitempty"`
	// Progress is the last progress reported while the job runs; nil
	// before it starts and once it has finished.
	Progress  *Progress `json:"progress,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PredictionJob is one prediction request and its result. Predictions are
// computed when the job is created, so a stored job is always terminal; the
// job exists because the API polls for it.
type PredictionJob struct {
	ID                string      `json:"prediction_job_id"`
	OwnerID           string      `json:"owner_id"`
	TrainingJobID     string      `json:"training_job_id"`
	IsAnon            bool        `json:"is_anon"`
	Request           string      `json:"request_string"`
	Status            JobStatus   `json:"status"`
	StatusDescription string      `json:"status_description"`
	Error             *JobError   `json:"error,omitempty"`
	Result            *Prediction `json:"result,omitempty"`
	CreatedAt         time.Time   `json:"created_at"`
	UpdatedAt         time.Time   `json:"updated_at"`
}

// FieldResult is one field of the API's result_body.
type FieldResult struct {
	Prediction   string        `json:"prediction"`
	Confidence   float64       `json:"confidence"`
	Alternatives []Alternative `json:"alternatives"`
}

// ResultBody renders a prediction as the API's result_body: field name to
// prediction, confidence and the top-3 alternatives.
func (p Prediction) ResultBody() map[string]FieldResult {
	out := make(map[string]FieldResult, len(p.Fields))
	for _, f := range p.Fields {
		out[f.Field] = FieldResult{Prediction: f.Prediction, Confidence: f.Confidence, Alternatives: f.Alternatives}
	}
	return out
}
