package jobs

import (
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/robfig/cron/v3"

	"github.com/bugflow/bugflow/errs"
)

// cronParser accepts the standard five fields, an optional leading seconds
// field, and descriptors such as @hourly and @every 90s.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Cron parses a cron expression into a schedule for river.NewPeriodicJob.
// Times are evaluated in UTC unless the expression starts with CRON_TZ=Zone.
func Cron(expr string) (river.PeriodicSchedule, error) {
	s, err := cronParser.Parse(expr)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "invalid cron expression %q: %v", expr, err).WithField("schedule", err.Error())
	}
	return s, nil
}

// Every returns the periodic job that inserts args every interval, once
// at start too, and not while an earlier job of its kind waits or runs: a
// run that takes longer than the interval (a slow database, a long check)
// delays the next one instead of queueing more. Queued runs of the same
// periodic work would only wait for each other, and on SQLite for its one
// connection; River's unique insert skips them (states available, pending,
// running and scheduled, the set it requires; a job waiting to be retried
// does not hold the next run back).
func Every(interval time.Duration, args river.JobArgs) *river.PeriodicJob {
	opts := &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}}}
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return args, opts },
		&river.PeriodicJobOpts{ID: args.Kind(), RunOnStart: true})
}
