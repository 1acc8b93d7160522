package notify

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/bugflow/bugflow/internal/jobs"
)

// DefaultDeliverEvery is how often the delivery job runs by default.
const DefaultDeliverEvery = 10 * time.Second

// deliverArgs is the periodic delivery job.
type deliverArgs struct{}

// Kind implements river.JobArgs.
func (deliverArgs) Kind() string { return "notify_deliver" }

type deliverWorker struct {
	river.WorkerDefaults[deliverArgs]
	s *Service
}

func (w *deliverWorker) Work(ctx context.Context, _ *river.Job[deliverArgs]) error {
	_, err := w.s.Deliver(ctx)
	return err
}

// Jobs returns the registration of the delivery job, run every every
// (DefaultDeliverEvery when 0), for the engine's job queue.
func (s *Service) Jobs(every time.Duration) func(workers *river.Workers, periodic *[]*river.PeriodicJob) {
	if every <= 0 {
		every = DefaultDeliverEvery
	}
	return func(workers *river.Workers, periodic *[]*river.PeriodicJob) {
		river.AddWorker(workers, &deliverWorker{s: s})
		*periodic = append(*periodic, jobs.Every(every, deliverArgs{}))
	}
}
