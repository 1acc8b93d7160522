package bugflow

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/bugflow/bugflow/internal/jobs"
	"github.com/bugflow/bugflow/internal/store"
)

// Defaults of UpkeepConfig.
const (
	DefaultUpkeepEvery       = time.Hour
	DefaultActivityRetention = 30 * 24 * time.Hour
	DefaultUploadRetention   = 24 * time.Hour
)

// UpkeepConfig schedules the engine's housekeeping job. Zero values mean
// the documented defaults.
type UpkeepConfig struct {
	// Every is how often the job runs. Default 1 h.
	Every time.Duration
	// ActivityRetention is how long the activity log (the user journeys
	// attached to bug reports) keeps an entry. Default 30 days.
	ActivityRetention time.Duration
	// UploadRetention is how old a leftover in the training upload
	// directory (Config.UploadDir) must be before it is deleted, when its
	// training has finished or was never recorded; uploads of a training
	// still running are kept. Default 24 h.
	UploadRetention time.Duration
}

// UpkeepReport counts what one Upkeep deleted.
type UpkeepReport struct {
	// Sessions and SignInCodes are the expired ones purged (auth).
	Sessions, SignInCodes int
	// ActivityEntries are those older than the retention.
	ActivityEntries int64
	// Uploads are the leftover upload directories (or files) deleted.
	Uploads int
}

// Upkeep runs the housekeeping that the periodic upkeep job runs: it
// purges expired sessions and sign-in codes, prunes the activity log past
// its retention and deletes training upload leftovers past theirs, at the
// engine's clock. Each step is idempotent, so
// two processes running it at once do no harm.
func (e *Engine) Upkeep(ctx context.Context) (UpkeepReport, error) {
	var r UpkeepReport
	p, err := e.Auth.PurgeExpired(ctx)
	r.Sessions, r.SignInCodes = p.Sessions, p.Codes
	if err != nil {
		return r, err
	}
	if r.ActivityEntries, err = e.Activity.Prune(ctx, e.now().Add(-e.upkeep.ActivityRetention)); err != nil {
		return r, err
	}
	if e.ML != nil {
		if r.Uploads, err = e.ML.PurgeUploads(ctx, e.now().Add(-e.upkeep.UploadRetention)); err != nil {
			return r, err
		}
	}
	return r, nil
}

// upkeepArgs is the periodic upkeep job.
type upkeepArgs struct{}

// Kind implements river.JobArgs.
func (upkeepArgs) Kind() string { return "bugflow_upkeep" }

type upkeepWorker struct {
	river.WorkerDefaults[upkeepArgs]
	e *Engine
}

func (w *upkeepWorker) Work(ctx context.Context, _ *river.Job[upkeepArgs]) error {
	r, err := w.e.Upkeep(ctx)
	if err == nil && r != (UpkeepReport{}) {
		w.e.log.Info("upkeep", "sessions", r.Sessions, "sign_in_codes", r.SignInCodes, "activity_entries", r.ActivityEntries, "uploads", r.Uploads)
	}
	return err
}

// registerUpkeep adds the upkeep job to the queue with cfg's schedule.
func (e *Engine) registerUpkeep(cfg Config) {
	e.upkeep = cfg.Upkeep
	if e.upkeep.Every <= 0 {
		e.upkeep.Every = DefaultUpkeepEvery
	}
	if e.upkeep.ActivityRetention <= 0 {
		e.upkeep.ActivityRetention = DefaultActivityRetention
	}
	if e.upkeep.UploadRetention <= 0 {
		e.upkeep.UploadRetention = DefaultUploadRetention
	}
	e.now = store.Clock(cfg.Now)
	e.queue.Register(func(workers *river.Workers, periodic *[]*river.PeriodicJob) {
		river.AddWorker(workers, &upkeepWorker{e: e})
		*periodic = append(*periodic, jobs.Every(e.upkeep.Every, upkeepArgs{}))
	}, nil)
}
