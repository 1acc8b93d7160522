package server

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/bugflow/bugflow/errs"
)

// defaultJobsLimit is how many jobs GET /api/admin/jobs returns without a
// limit.
const defaultJobsLimit = 100

// jobRow is one job as GET /api/admin/jobs shows it.
type jobRow struct {
	ID          int64             `json:"id"`
	Kind        string            `json:"kind"`
	State       string            `json:"state"`
	Queue       string            `json:"queue"`
	Attempt     int               `json:"attempt"`
	MaxAttempts int               `json:"max_attempts"`
	Errors      []jobAttemptError `json:"errors"`
	CreatedAt   time.Time         `json:"created_at"`
	ScheduledAt time.Time         `json:"scheduled_at"`
	AttemptedAt *time.Time        `json:"attempted_at"`
	FinalizedAt *time.Time        `json:"finalized_at"`
}

// jobAttemptError is the error of one failed attempt.
type jobAttemptError struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	Error   string    `json:"error"`
}

// listJobs lists jobs newest first, filtered by state and kind (each a
// comma-separated list), at most limit of them.
func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var states []rivertype.JobState
	for _, name := range splitList(q.Get("state")) {
		state := rivertype.JobState(name)
		if !slices.Contains(rivertype.JobStates(), state) {
			return errs.InvalidField("state", fmt.Sprintf("unknown state %q", name))
		}
		states = append(states, state)
	}
	limit, err := intQuery(q, "limit", defaultJobsLimit, 1, maxJobsLimit)
	if err != nil {
		return err
	}
	list, err := s.engine.Jobs(r.Context(), states, splitList(q.Get("kind")), limit)
	if err != nil {
		return err
	}
	rows := make([]jobRow, 0, len(list))
	for _, j := range list {
		row := jobRow{
			ID: j.ID, Kind: j.Kind, State: string(j.State), Queue: j.Queue, Attempt: j.Attempt, MaxAttempts: j.MaxAttempts,
			Errors: make([]jobAttemptError, 0, len(j.Errors)), CreatedAt: j.CreatedAt, ScheduledAt: j.ScheduledAt,
			AttemptedAt: j.AttemptedAt, FinalizedAt: j.FinalizedAt,
		}
		for _, e := range j.Errors {
			row.Errors = append(row.Errors, jobAttemptError{Attempt: e.Attempt, At: e.At, Error: e.Error})
		}
		rows = append(rows, row)
	}
	return reply(w, r, http.StatusOK, map[string]any{"jobs": rows})
}

// maxJobsLimit is the largest limit GET /api/admin/jobs accepts.
const maxJobsLimit = 500

// splitList splits a comma-separated query value, dropping empty items.
func splitList(v string) []string {
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
