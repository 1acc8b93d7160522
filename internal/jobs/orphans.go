package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/internal/store"
)

// WorkerStopped starts the error that the sweeper records on a job whose
// worker process stopped (see RetryReason).
const WorkerStopped = "worker process stopped"

// sweepBatch is how many running jobs one query of the sweeper reads.
const sweepBatch = 100

// allRunning is a "running since before" horizon that every running job
// meets: the sweeper judges jobs by their process's lease, not their age.
var allRunning = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// processRow is one process's lease: until ExpiresAt, the jobs whose last
// attempt its River client took are its own.
type processRow struct {
	bun.BaseModel `bun:"table:jobs_processes"`

	ClientID    string    `bun:"client_id,pk"`
	HeartbeatAt time.Time `bun:"heartbeat_at,notnull"`
	ExpiresAt   time.Time `bun:"expires_at,notnull"`
}

// Migrations returns the schema of the leases that tell a dead worker
// process from a live one. The engine applies it with every domain's.
func Migrations() []store.Migration {
	return []store.Migration{{
		ID:      "20261205120000",
		Comment: "jobs: leases of the processes that work jobs",
		Up: func(ctx context.Context, tx bun.Tx) error {
			// Frozen here: processRow may gain columns, each by a later migration.
			type processRowV1 struct {
				bun.BaseModel `bun:"table:jobs_processes"`

				ClientID    string    `bun:"client_id,pk"`
				HeartbeatAt time.Time `bun:"heartbeat_at,notnull"`
				ExpiresAt   time.Time `bun:"expires_at,notnull"`
			}
			if _, err := tx.NewCreateTable().Model((*processRowV1)(nil)).Exec(ctx); err != nil {
				return fmt.Errorf("create table: %w", err)
			}
			return nil
		},
	}}
}

// newClientID names this process's River client uniquely among all
// processes, past and present, on the database: host and pid say where it
// ran, and the random suffix keeps a reused pid apart.
func newClientID() string {
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, host)
	if len(host) > 40 {
		host = host[:40]
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s_%d_%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// RetryReason says, for a job's user-visible status, why the job is running
// again: "worker process stopped" after the sweeper retried it, "the previous
// attempt did not finish" after any other failed or interrupted attempt, and
// "" on a first attempt.
func RetryReason(job *rivertype.JobRow) string {
	if job.Attempt <= 1 {
		return ""
	}
	if n := len(job.Errors); n > 0 && strings.HasPrefix(job.Errors[n-1].Error, WorkerStopped) {
		return WorkerStopped
	}
	return "the previous attempt did not finish"
}

// GaveUpBecause says, for the user-visible status of a job given up on
// (GiveUpFunc), why: WorkerStopped when its worker process stopped during
// its last attempt, else "its last attempt failed". The attempt's own error
// is for operators (logs, the admin job listing), not for the job's users.
func GaveUpBecause(job *rivertype.JobRow) string {
	if n := len(job.Errors); n > 0 && strings.HasPrefix(job.Errors[n-1].Error, WorkerStopped) {
		return WorkerStopped
	}
	return "its last attempt failed"
}

// maintain renews the lease (when this process works jobs) and sweeps, four
// times per OrphanAfter, until ctx ends. The first sweep runs at once, so a
// process that starts after the others died retries their jobs right away.
func (q *Queue) maintain(ctx context.Context) {
	defer close(q.sweeperDone)
	tick := time.NewTicker(q.orphanAfter / 4)
	defer tick.Stop()
	for {
		if err := q.sweep(ctx, store.Now()); err != nil && ctx.Err() == nil {
			q.logger.Warn("jobs: sweeping for jobs of stopped processes failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if q.worker != nil {
			if err := q.renewLease(ctx, store.Now()); err != nil && ctx.Err() == nil {
				q.logger.Warn("jobs: renewing this process's lease failed", "client_id", q.clientID, "error", err)
			}
		}
	}
}

// renewLease records that this process is alive at now and promises to be
// until now + OrphanAfter.
func (q *Queue) renewLease(ctx context.Context, now time.Time) error {
	row := &processRow{ClientID: q.clientID, HeartbeatAt: now, ExpiresAt: now.Add(q.orphanAfter)}
	_, err := q.db.NewInsert().Model(row).
		On("CONFLICT (client_id) DO UPDATE").
		Set("heartbeat_at = EXCLUDED.heartbeat_at").
		Set("expires_at = EXCLUDED.expires_at").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("renew lease: %w", store.Translate(err))
	}
	return nil
}

// releaseLease removes this process's lease once it has stopped working.
func (q *Queue) releaseLease(ctx context.Context) error {
	if _, err := q.db.NewDelete().Model((*processRow)(nil)).Where("client_id = ?", q.clientID).Exec(ctx); err != nil {
		return fmt.Errorf("jobs: release lease: %w", store.Translate(err))
	}
	return nil
}

// sweep retries, or discards when they have no attempts left, the running
// jobs whose process's lease had expired at now, and then forgets expired
// leases.
func (q *Queue) sweep(ctx context.Context, now time.Time) error {
	// Jobs are read before leases: a process takes its lease before it takes
	// a job, so every job read here has its lease in the read that follows.
	var running []*rivertype.JobRow
	for afterID := int64(0); ; {
		batch, err := q.exec.JobGetStuck(ctx, &riverdriver.JobGetStuckParams{AfterID: afterID, Max: sweepBatch, StuckHorizon: allRunning})
		if err != nil {
			return fmt.Errorf("list running jobs: %w", store.Translate(err))
		}
		running = append(running, batch...)
		if len(batch) < sweepBatch {
			break
		}
		afterID = batch[len(batch)-1].ID
	}
	var rows []processRow
	if err := q.db.NewSelect().Model(&rows).Scan(ctx); err != nil {
		return fmt.Errorf("read leases: %w", store.Translate(err))
	}
	leases := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		leases[r.ClientID] = r.ExpiresAt
	}
	for _, job := range running {
		client, expired := orphaned(job, leases, now, q.orphanAfter)
		if !expired {
			continue
		}
		if err := q.rescue(ctx, job, client, now); err != nil {
			return err
		}
	}
	if _, err := q.db.NewDelete().Model((*processRow)(nil)).Where("expires_at < ?", now).Exec(ctx); err != nil {
		return fmt.Errorf("forget expired leases: %w", store.Translate(err))
	}
	return nil
}

// orphaned reports whether the process that took job's current attempt had
// stopped at now, and names its client. A process is stopped when its lease
// expired before now; without a lease (one forgotten after it expired, or a
// process that never took one) the job gets OrphanAfter from its attempt.
func orphaned(job *rivertype.JobRow, leases map[string]time.Time, now time.Time, orphanAfter time.Duration) (string, bool) {
	if job.AttemptedAt == nil {
		return "", false // not a job River started; River's own rescuer judges it
	}
	var client string
	if n := len(job.AttemptedBy); n > 0 {
		client = job.AttemptedBy[n-1]
	}
	expires, ok := leases[client]
	if !ok {
		expires = job.AttemptedAt.Add(orphanAfter)
	}
	return client, now.After(expires)
}

// rescue puts job back in the queue at once (keeping its place in line) or,
// when it has used all its attempts, discards it. Like River's rescuer, it
// changes the job only if it is still running the attempt that was read, so
// racing sweepers, or a worker that took the job meanwhile, are left alone.
func (q *Queue) rescue(ctx context.Context, job *rivertype.JobRow, client string, now time.Time) error {
	msg := fmt.Sprintf("%s: River client %q renewed no lease", WorkerStopped, client)
	state, finalized := rivertype.JobStateAvailable, (*time.Time)(nil)
	if job.Attempt >= job.MaxAttempts {
		state, finalized = rivertype.JobStateDiscarded, &now
		msg += fmt.Sprintf("; discarded after %d of %d attempts", job.Attempt, job.MaxAttempts)
	}
	attemptErr, err := json.Marshal(rivertype.AttemptError{At: now, Attempt: max(job.Attempt, 0), Error: msg})
	if err != nil {
		return fmt.Errorf("encode the error of job %d: %w", job.ID, err)
	}
	_, err = q.exec.JobRescueMany(ctx, &riverdriver.JobRescueManyParams{
		ID:          []int64{job.ID},
		Error:       [][]byte{attemptErr},
		FinalizedAt: []*time.Time{finalized},
		ScheduledAt: []time.Time{job.ScheduledAt},
		State:       []string{string(state)},
		// Attempt times are stored to the millisecond on SQLite; a later
		// attempt starts after this horizon.
		StuckHorizon: job.AttemptedAt.Add(time.Millisecond),
	})
	if err != nil {
		return fmt.Errorf("rescue job %d: %w", job.ID, store.Translate(err))
	}
	q.logger.Warn("jobs: the worker process of a running job stopped", "job_id", job.ID, "kind", job.Kind,
		"client_id", client, "attempt", job.Attempt, "max_attempts", job.MaxAttempts, "state", string(state))
	if state == rivertype.JobStateDiscarded {
		q.giveUp(ctx, job, rivertype.AttemptError{At: now, Attempt: job.Attempt, Error: msg})
	}
	return nil
}

// giveUp tells the domains of a job that will not run again, with the
// error of its last attempt appended to the job's errors.
func (q *Queue) giveUp(ctx context.Context, job *rivertype.JobRow, last rivertype.AttemptError) {
	final := *job
	final.Errors = append(slices.Clip(job.Errors), last)
	for _, giveUp := range q.onGiveUp {
		if err := giveUp(ctx, &final); err != nil {
			q.logger.Error("jobs: recording a discarded job failed", "job_id", job.ID, "kind", job.Kind, "error", err)
		}
	}
}

// lastAttempt is River's error handler: it tells the domains of a job whose
// last attempt failed or panicked, which River is about to discard, so that
// its user-visible state does not say it is still being worked on.
type lastAttempt struct{ q *Queue }

// HandleError implements river.ErrorHandler.
func (h lastAttempt) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	h.discarding(ctx, job, err.Error())
	return nil
}

// HandlePanic implements river.ErrorHandler.
func (h lastAttempt) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, _ string) *river.ErrorHandlerResult {
	h.discarding(ctx, job, fmt.Sprintf("panic: %v", panicVal))
	return nil
}

func (h lastAttempt) discarding(ctx context.Context, job *rivertype.JobRow, msg string) {
	if job.Attempt < job.MaxAttempts {
		return // River retries it
	}
	// The job's own context may have timed out; its outcome must still be
	// recorded.
	h.q.giveUp(context.WithoutCancel(ctx), job, rivertype.AttemptError{At: store.Now(), Attempt: job.Attempt, Error: msg})
}
