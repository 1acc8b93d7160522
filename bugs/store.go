package bugs

import (
	"context"
	"time"
)

// Store persists reports. BunStore implements it on SQLite and PostgreSQL.
// Methods that address one report treat a soft-deleted one as absent
// (errs.NotFound).
type Store interface {
	// Insert stores a new report as it is (no deduplication).
	Insert(ctx context.Context, r *Report) error
	// Upsert stores r, an occurrence with a fingerprint, as one atomic
	// step. r may stand for several occurrences of one fingerprint folded
	// together: r.OccurrenceCount of them (1 for a single one), seen from
	// r.FirstSeenAt to r.LastSeenAt. When the active report with the same
	// fingerprint was last seen at or after windowStart, that report
	// absorbs the occurrences (occurrenceCount + r.OccurrenceCount,
	// first/last seen widened, reopened with the
	// regression flag when it was resolved or closed) and is returned with
	// created false. Otherwise, when legacy (the occurrence's fingerprint
	// under an earlier NormaliserVersion) is not "" and no report is active
	// under r's fingerprint, the active report under legacy absorbs it the
	// same way if it was last seen within the window and has r's workspace;
	// its fingerprint and version stay as stored. Otherwise r becomes the
	// new active report for its fingerprint (an older one stops being
	// active) and created is true.
	Upsert(ctx context.Context, r *Report, legacy string, windowStart time.Time) (stored Report, created bool, err error)
	// Get returns one report.
	Get(ctx context.Context, id string) (Report, error)
	// List returns the reports of one page (f already normalised) and the
	// total that match f.
	List(ctx context.Context, f ListFilter) (items []Report, total int, err error)
	// Update applies c to a report and returns the result.
	Update(ctx context.Context, id string, c Change) (Report, error)
	// Delete soft-deletes a report at time at; it also stops being the
	// active report of its fingerprint, so a recurrence starts a new one.
	Delete(ctx context.Context, id string, at time.Time) error
}

// TxStore is a Store that can run several calls in one transaction. The
// Service batches Auto's occurrences (group commit) only on a TxStore;
// BunStore is one.
type TxStore interface {
	Store
	// Atomically runs fn with a Store whose calls all belong to one
	// transaction, committed when fn returns nil and rolled back otherwise.
	Atomically(ctx context.Context, fn func(ctx context.Context, st Store) error) error
}

// Change is a validated update. Nil fields stay as they are. A Status of
// resolved stamps ResolvedAt with At unless the report was already resolved;
// open, triaged and in_progress clear ResolvedAt; closed keeps it.
type Change struct {
	Title       *string
	Description *string
	Severity    *Severity
	Status      *Status
	// At is the time of the change (UpdatedAt, and ResolvedAt when it is
	// stamped).
	At time.Time
}
