package mlpipeline

import (
	"cmp"
	"container/list"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// Config configures a Service. Zero values mean the documented defaults.
type Config struct {
	// CacheSize is how many loaded models stay in memory (default 8); the
	// least recently used is dropped first and reloaded from the store on
	// demand.
	CacheSize int
	// Train holds the training options every job starts from (the job's
	// is_anon and column overrides are applied on top).
	Train TrainOptions
	// ProgressEvery is how often a running job's progress is written to the
	// store (default 1 s); a new stage is written at once.
	ProgressEvery time.Duration
	// UploadDir holds the uploaded copies that jobs train on (NewUploadDir):
	// a job's files under it (and their directory, once empty) are deleted as
	// soon as the job has an outcome, so that uploads do not pile up. Files
	// elsewhere, such as the command line's own CSVs, are never touched.
	// Default DefaultUploadDir(). Replicas sharing one PostgreSQL need it on
	// shared storage, because any replica may run a training job.
	UploadDir string
	// Logger receives the service's logs. Default slog.Default().
	Logger *slog.Logger
	// Now is the service's clock, read for every time it records. Default
	// time.Now; readings are used in UTC, truncated to microseconds.
	Now func() time.Time
	// MaxUploadBytes bounds one training upload. Default
	// DefaultMaxUploadBytes.
	MaxUploadBytes int64
	// Queue queues training jobs (StartTraining); without it the service
	// trains only when RunTraining is called.
	Queue Enqueuer
}

// Service runs training and prediction jobs on a Store.
type Service struct {
	store Store
	cfg   Config
	cache *modelCache
}

// New returns a Service on st.
func New(st Store, cfg Config) *Service {
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 8
	}
	cfg.Now = store.Clock(cfg.Now)
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = time.Second
	}
	cfg.UploadDir = cmp.Or(cfg.UploadDir, DefaultUploadDir())
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = DefaultMaxUploadBytes
	}
	return &Service{store: st, cfg: cfg, cache: newModelCache(cfg.CacheSize)}
}

func newJobID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// CreateTraining records a training job in status Processing, without
// queueing it: the caller then runs it (RunTraining), as the command line
// does. StartTraining records and queues one.
func (s *Service) CreateTraining(ctx context.Context, c Caller, req TrainingRequest) (TrainingJob, error) {
	j, err := s.newTraining(c, req)
	if err != nil {
		return TrainingJob{}, err
	}
	if err := s.store.InsertTrainingJob(ctx, &j); err != nil {
		return TrainingJob{}, fmt.Errorf("mlpipeline: create training: %w", err)
	}
	return j, nil
}

// newTraining checks a request and returns its job, in status Processing.
func (s *Service) newTraining(c Caller, req TrainingRequest) (TrainingJob, error) {
	if c.UserID == "" {
		return TrainingJob{}, errs.New(errs.Unauthorized, "a user is required")
	}
	if len(req.Files) == 0 {
		return TrainingJob{}, errs.InvalidField("file", "at least one CSV file is required")
	}
	if err := store.CheckTexts(map[string]string{"text_columns": strings.Join(req.TextColumns, ","), "target_columns": strings.Join(req.TargetColumns, ",")}); err != nil {
		return TrainingJob{}, err
	}
	if r := req.DecisionRule; r != "" && r != DecisionMostProbable && r != DecisionMacroF1 {
		return TrainingJob{}, errs.InvalidField("decision_rule", "must be "+quote(DecisionMostProbable)+" or "+quote(DecisionMacroF1))
	}
	now := s.cfg.Now()
	return TrainingJob{
		ID: newJobID("train_"), OwnerID: c.UserID, IsAnon: req.IsAnon,
		Status: StatusProcessing, StatusDescription: descTrainingProcessing,
		Files: req.Files, TextColumns: req.TextColumns, TargetColumns: req.TargetColumns, DecisionRule: req.DecisionRule,
		CreatedAt: now, UpdatedAt: now,
	}, nil
}

// RunTraining trains the model of a job and records the outcome. It is
// idempotent: a job that has already finished is left alone, and two runs
// racing on one job record one outcome. Bad input (unparseable files, no
// usable rows or targets) fails the job with its message and returns nil,
// since a retry cannot help; any other training error fails it as
// "internal" (message "training failed") and returns nil too. A cancelled
// context or a store failure returns the error with the job still
// Processing, so that the job queue retries it.
func (s *Service) RunTraining(ctx context.Context, jobID string) error {
	return s.RunTrainingWithProgress(ctx, jobID, nil)
}

// RunTrainingWithProgress is RunTraining reporting progress (nil for none),
// for callers that show it, such as the command line.
func (s *Service) RunTrainingWithProgress(ctx context.Context, jobID string, progress func(Progress)) error {
	j, err := s.store.GetTrainingJob(ctx, jobID)
	if err != nil {
		return fmt.Errorf("mlpipeline: run training: %w", err)
	}
	if j.Status != StatusProcessing {
		return nil
	}
	model, report, err := s.train(ctx, j, s.recordProgress(ctx, jobID, progress))
	var blob []byte
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("mlpipeline: run training %s: %w", jobID, ctx.Err())
		}
		kind := errs.KindOf(err)
		msg := "training failed"
		var e *errs.Error
		if errors.As(err, &e) && kind != errs.Internal {
			msg = e.Message
		}
		j.Status, j.StatusDescription = StatusFailed, descTrainingFailed+" "+msg
		j.Error = &JobError{Code: kind.String(), Message: msg}
	} else {
		if blob, err = model.MarshalBinary(); err != nil {
			return fmt.Errorf("mlpipeline: serialise model %s: %w", jobID, err)
		}
		j.Status, j.StatusDescription = StatusSuccess, descTrainingSuccess
		j.Roles, j.Metrics, j.ParseStats = report.Roles, report.Fields, &report.Stats
	}
	j.UpdatedAt = s.cfg.Now()
	if _, err := s.store.FinishTrainingJob(ctx, &j, blob); err != nil {
		return fmt.Errorf("mlpipeline: record the outcome of training %s: %w", jobID, err)
	}
	s.removeUploads(j.Files)
	return nil
}

// removeUploads deletes the files of a finished job that lie under
// Config.UploadDir, then their directories if that leaves them empty.
// Failures are ignored: the outcome is recorded and a leftover file harms
// nothing, while a retry could not remove it any better.
func (s *Service) removeUploads(files []string) {
	if s.cfg.UploadDir == "" {
		return
	}
	root, err := filepath.Abs(s.cfg.UploadDir)
	if err != nil {
		return
	}
	for _, f := range files {
		path, err := filepath.Abs(f)
		if err != nil {
			continue
		}
		rel, err := filepath.Rel(root, path)
		if err != nil || !filepath.IsLocal(rel) {
			continue
		}
		_ = os.Remove(path)
		if dir := filepath.Dir(path); dir != root {
			_ = os.Remove(dir) // fails, as it should, while other files remain
		}
	}
}

// recordProgress returns a progress callback that stores the job's progress
// (a new stage at once, otherwise at most once per ProgressEvery) and passes
// every report on to next (nil for none). Train never calls it
// concurrently.
func (s *Service) recordProgress(ctx context.Context, jobID string, next func(Progress)) func(Progress) {
	var last time.Time
	var stage string
	return func(p Progress) {
		if next != nil {
			next(p)
		}
		now := s.cfg.Now()
		if p.Stage == stage && now.Sub(last) < s.cfg.ProgressEvery {
			return
		}
		stage, last = p.Stage, now
		// Progress is advisory: a failed write must not fail the training,
		// and the next report writes it again.
		if err := s.store.UpdateTrainingProgress(ctx, jobID, p, now); err != nil {
			s.cfg.Logger.Warn("training progress not recorded", "training_job_id", jobID, "err", err)
		}
	}
}

func (s *Service) train(ctx context.Context, j TrainingJob, progress func(Progress)) (*Model, *Report, error) {
	var readers []io.Reader
	for i, path := range j.Files {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, errs.Wrap(errs.Invalid, err, "uploaded file %d is no longer available", i+1)
		}
		defer f.Close()
		readers = append(readers, f)
	}
	opts := s.cfg.Train
	opts.Anonymize = j.IsAnon
	opts.AnonKey = nil // a fresh key per job, never stored
	if len(j.TextColumns) > 0 {
		opts.TextColumns = j.TextColumns
	}
	if len(j.TargetColumns) > 0 {
		opts.TargetColumns = j.TargetColumns
	}
	if j.DecisionRule != "" {
		opts.DecisionRule = j.DecisionRule
	}
	return Train(ctx, readers, opts, progress)
}

// TrainingStatus returns a job the caller may see.
func (s *Service) TrainingStatus(ctx context.Context, c Caller, id string) (TrainingJob, error) {
	j, err := s.store.GetTrainingJob(ctx, id)
	if err != nil {
		return TrainingJob{}, fmt.Errorf("mlpipeline: training status: %w", err)
	}
	if !c.canSee(j.OwnerID) {
		return TrainingJob{}, errs.NotFoundf("training job %s not found", id)
	}
	return j, nil
}

// Predict predicts every field of the model of a successful training job for
// one request string and records the prediction job. An empty request is
// Invalid; an unknown (or someone else's) training job is NotFound; one that
// is still Processing or Failed is a Conflict.
func (s *Service) Predict(ctx context.Context, c Caller, trainingJobID, request string) (PredictionJob, error) {
	if strings.TrimSpace(request) == "" {
		return PredictionJob{}, errs.InvalidField("request_string", "must not be empty")
	}
	if err := store.CheckText("request_string", request); err != nil {
		return PredictionJob{}, err
	}
	tj, err := s.TrainingStatus(ctx, c, trainingJobID)
	if err != nil {
		return PredictionJob{}, err
	}
	switch tj.Status {
	case StatusProcessing:
		return PredictionJob{}, errs.Conflictf("training job %s is still processing", trainingJobID)
	case StatusFailed:
		return PredictionJob{}, errs.Conflictf("training job %s failed; it has no model", trainingJobID)
	}
	model, err := s.model(ctx, trainingJobID)
	if err != nil {
		return PredictionJob{}, err
	}
	now := s.cfg.Now()
	pj := PredictionJob{
		ID: newJobID("pred_"), OwnerID: c.UserID, TrainingJobID: trainingJobID, IsAnon: tj.IsAnon,
		Request: request, CreatedAt: now, UpdatedAt: now,
	}
	if tj.IsAnon {
		// An anonymised model never sees e-mail addresses, and neither
		// does the record of a request made to it.
		pj.Request = scrubEmails(request)
	}
	pred, err := model.Predict(request)
	if err != nil {
		return PredictionJob{}, err
	}
	pj.Status, pj.StatusDescription, pj.Result = StatusSuccess, descPredictionSuccess, &pred
	if err := s.store.InsertPredictionJob(ctx, &pj); err != nil {
		return PredictionJob{}, fmt.Errorf("mlpipeline: record prediction: %w", err)
	}
	return pj, nil
}

// PredictionStatus returns a prediction job the caller may see.
func (s *Service) PredictionStatus(ctx context.Context, c Caller, id string) (PredictionJob, error) {
	j, err := s.store.GetPredictionJob(ctx, id)
	if err != nil {
		return PredictionJob{}, fmt.Errorf("mlpipeline: prediction status: %w", err)
	}
	if !c.canSee(j.OwnerID) {
		return PredictionJob{}, errs.NotFoundf("prediction job %s not found", id)
	}
	return j, nil
}

// model returns a training job's model from the cache or the store.
func (s *Service) model(ctx context.Context, trainingJobID string) (*Model, error) {
	if m := s.cache.get(trainingJobID); m != nil {
		return m, nil
	}
	blob, err := s.store.LoadModel(ctx, trainingJobID)
	if err != nil {
		return nil, fmt.Errorf("mlpipeline: load model: %w", err)
	}
	m := &Model{}
	if err := m.UnmarshalBinary(blob); err != nil {
		return nil, fmt.Errorf("mlpipeline: decode model %s: %w", trainingJobID, err)
	}
	s.cache.put(trainingJobID, m)
	return m, nil
}

// modelCache is a small LRU of loaded models. Models are immutable, so two
// goroutines loading the same one at once merely do the work twice.
type modelCache struct {
	mu    sync.Mutex
	cap   int
	order *list.List // front: most recently used; values are *cacheEntry
	byID  map[string]*list.Element
}

type cacheEntry struct {
	id    string
	model *Model
}

func newModelCache(capacity int) *modelCache {
	return &modelCache{cap: capacity, order: list.New(), byID: map[string]*list.Element{}}
}

func (c *modelCache) get(id string) *Model {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byID[id]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*cacheEntry).model
	}
	return nil
}

func (c *modelCache) put(id string, m *Model) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byID[id]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.byID[id] = c.order.PushFront(&cacheEntry{id: id, model: m})
	for c.order.Len() > c.cap {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byID, last.Value.(*cacheEntry).id)
	}
}

func (c *modelCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
