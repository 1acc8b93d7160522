package jobs

import (
	"github.com/riverqueue/river"
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
