package jobs

import (
	"context"
	"log/slog"
)

// jobIDKey is the attribute River puts on every line about one job.
const jobIDKey = "job_id"

// routineDemoter passes River's logs on, with its routine INFO lines (job
// counts every 5 s while work goes on, maintenance summaries, start and
// stop) demoted to DEBUG: at the default level they drown the server's own
// lines and tell an operator nothing to act on. An INFO line about one job
// (it errored, panicked or was retried) carries the job's id and stays INFO.
type routineDemoter struct {
	next slog.Handler
	// aboutJob is set when a job id was added with WithAttrs, so every
	// record of this handler concerns one job.
	aboutJob bool
}

// quietRoutine wraps River's logger so that its routine INFO lines show
// only at DEBUG.
func quietRoutine(l *slog.Logger) *slog.Logger {
	return slog.New(&routineDemoter{next: l.Handler()})
}

// Enabled asks about the level as logged: an INFO line may stay INFO (it
// concerns a job), and Handle decides once the attributes are known.
func (h *routineDemoter) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *routineDemoter) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo && !h.aboutJob && !hasJobID(r) {
		r.Level = slog.LevelDebug
	}
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *routineDemoter) WithAttrs(attrs []slog.Attr) slog.Handler {
	aboutJob := h.aboutJob
	for _, a := range attrs {
		aboutJob = aboutJob || a.Key == jobIDKey
	}
	return &routineDemoter{next: h.next.WithAttrs(attrs), aboutJob: aboutJob}
}

func (h *routineDemoter) WithGroup(name string) slog.Handler {
	return &routineDemoter{next: h.next.WithGroup(name), aboutJob: h.aboutJob}
}

func hasJobID(r slog.Record) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		found = a.Key == jobIDKey
		return !found
	})
	return found
}
