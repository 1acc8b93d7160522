package analytics

import (
	"log/slog"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// Config configures a Service. Zero values mean the documented defaults.
type Config struct {
	// Now is the clock: the default end of a range, and the moment open
	// tasks and tickets are judged at (ages, SLA). Default time.Now.
	Now func() time.Time
	// Logger receives what the service logs. Default slog.Default().
	Logger *slog.Logger
}

// Service answers analytics queries over the workflow and tickets tables
// of one database.
type Service struct {
	db     bun.IDB
	pg     bool
	now    func() time.Time
	logger *slog.Logger
}

// New returns a Service reading db, which holds the schemas of packages
// workflow and tickets and this package's Migrations.
func New(db *bun.DB, cfg Config) *Service {
	s := &Service{db: db, pg: db.Dialect().Name() == dialect.PG, now: cfg.Now, logger: cfg.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	return s
}

// clock returns the service's time, in UTC and truncated to microseconds
// as stored times are, so that comparisons with them are exact.
func (s *Service) clock() time.Time {
	return s.now().UTC().Truncate(time.Microsecond)
}
