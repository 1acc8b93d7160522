package bugs

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bugflow/bugflow/errs"
)

// Group commit defaults (see Config).
const (
	// DefaultBatchWindow is how long the intake writer waits, after the
	// first occurrence of a batch arrived, for more to join it. Every
	// caller of a batch waits it too, so it is short: under a storm the
	// occurrences that arrive while a batch is written form the next one
	// anyway. In bench/intake (16 callers) 250 µs stored 2.2 times as many
	// repeated occurrences per second on SQLite as 1 ms did, at no more CPU
	// per occurrence; 100 µs made batches too small.
	DefaultBatchWindow = 250 * time.Microsecond
	// DefaultMaxBatch is the most occurrences one transaction writes.
	DefaultMaxBatch = 512
	// DefaultQueueSize is how many occurrences may wait for the writer
	// before Auto refuses more with errs.Unavailable.
	DefaultQueueSize = 8192
	// QueueFullRetryAfter is the RetryAfter of the error Auto returns
	// when the queue is full: about the time the writer needs to drain a
	// full queue at the rates measured in bench/intake.
	QueueFullRetryAfter = time.Second
	// batchTimeout bounds one batch's transaction, so that a database that
	// stops answering fails the waiting callers instead of holding them
	// forever.
	batchTimeout = 30 * time.Second
)

// BatchSizeBuckets are the upper bounds of IntakeStats.BatchSizes.
var BatchSizeBuckets = []int{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}

// IntakeStats describes the group commit of Auto since the Service was made.
type IntakeStats struct {
	// Queued is how many accepted occurrences wait for their answer now:
	// queued, or in the batch being gathered or written.
	Queued int
	// Batches is how many batches were written (committed or failed), and
	// Occurrences how many occurrences they held.
	Batches, Occurrences uint64
	// BatchSizes counts batches by size: BatchSizes[i] batches held at most
	// BatchSizeBuckets[i] occurrences and more than the bucket before
	// (not cumulative); the last element counts larger batches.
	BatchSizes []uint64
	// FailedBatches is how many transactions of batches did not commit
	// (a failed batch of several groups is retried group by group, and each
	// failure counts); their callers got the error.
	FailedBatches uint64
	// Refused counts the occurrences refused because the queue was full,
	// by source.
	Refused map[Source]uint64
}

// pending is one Auto call waiting for its batch.
type pending struct {
	r      Report
	legacy string        // fingerprint under the earlier normaliser, "" for none
	done   chan struct{} // closed when stored/created/err are set
	stored Report
	// created is true for the one caller whose occurrence made the report.
	created bool
	err     error
}

// batcher gathers Auto's occurrences and writes them in batches, one
// transaction each, by one goroutine started on the first occurrence.
type batcher struct {
	svc       *Service
	st        TxStore
	window    time.Duration
	maxBatch  int
	queueSize int

	mu      sync.RWMutex // guards closed against sends on queue
	closed  bool
	started sync.Once
	queue   chan *pending
	stopped chan struct{} // closed when the writer has drained and returned

	waiting                      atomic.Int64 // accepted, not yet answered
	batches, occurrences, failed atomic.Uint64
	sizes                        []atomic.Uint64 // len(BatchSizeBuckets)+1
	refused                      [3]atomic.Uint64
}

func newBatcher(s *Service, st TxStore, cfg Config) *batcher {
	b := &batcher{
		svc: s, st: st,
		window:    cfg.BatchWindow,
		maxBatch:  cfg.MaxBatch,
		queueSize: cfg.QueueSize,
		stopped:   make(chan struct{}),
		sizes:     make([]atomic.Uint64, len(BatchSizeBuckets)+1),
	}
	if b.window == 0 {
		b.window = DefaultBatchWindow
	}
	if b.window < 0 {
		b.window = 0
	}
	if b.maxBatch <= 0 {
		b.maxBatch = DefaultMaxBatch
	}
	if b.queueSize <= 0 {
		b.queueSize = DefaultQueueSize
	}
	b.queue = make(chan *pending, b.queueSize)
	return b
}

// errClosed is what Auto returns after Close: a replica that shuts down
// sends its callers to another, or to itself once restarted.
var errClosed = func() *errs.Error {
	e := errs.Unavailablef("bug intake is closed")
	e.RetryAfter = QueueFullRetryAfter
	return e
}()

// submit queues p and waits until its batch is written or ctx ends. When
// ctx ends first the occurrence may still be stored: only a nil error
// promises that it is.
func (b *batcher) submit(ctx context.Context, p *pending) error {
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return errClosed
	}
	b.started.Do(func() { go b.run() })
	select {
	case b.queue <- p:
		b.waiting.Add(1)
		b.mu.RUnlock()
	default:
		b.mu.RUnlock()
		b.refused[sourceIndex(p.r.Source)].Add(1)
		e := errs.Unavailablef("bug intake is overloaded (%d occurrences waiting); try again later", b.queueSize)
		e.RetryAfter = QueueFullRetryAfter
		return e
	}
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return fmt.Errorf("bugs: auto: %w", ctx.Err())
	}
}

// close stops taking occurrences and waits until every queued one is
// written, or ctx ends.
func (b *batcher) close(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.queue)
		// The writer may never have started: start it so that it sees the
		// closed queue and says so.
		b.started.Do(func() { go b.run() })
	}
	b.mu.Unlock()
	select {
	case <-b.stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("bugs: close: %w", ctx.Err())
	}
}

// run is the writer: it takes a first occurrence, gathers more for the
// window or up to maxBatch, writes them, and again, until the queue is
// closed and empty.
func (b *batcher) run() {
	defer close(b.stopped)
	for {
		first, ok := <-b.queue
		if !ok {
			return
		}
		batch := []*pending{first}
		open := b.gather(&batch)
		b.write(batch)
		if !open {
			// Close: whatever is still queued was taken by gather or is
			// taken now, batch after batch.
			for {
				batch = batch[:0]
				for len(batch) < b.maxBatch {
					p, ok := <-b.queue
					if !ok {
						break
					}
					batch = append(batch, p)
				}
				if len(batch) == 0 {
					return
				}
				b.write(batch)
			}
		}
	}
}

// gather adds queued occurrences to batch until the window since now ends
// or the batch is full. It returns false when it found the queue closed.
func (b *batcher) gather(batch *[]*pending) bool {
	// What is already queued joins without waiting.
	for len(*batch) < b.maxBatch {
		select {
		case p, ok := <-b.queue:
			if !ok {
				return false
			}
			*batch = append(*batch, p)
			continue
		default:
		}
		break
	}
	if b.window <= 0 || len(*batch) >= b.maxBatch {
		return true
	}
	timer := time.NewTimer(b.window)
	defer timer.Stop()
	for len(*batch) < b.maxBatch {
		select {
		case p, ok := <-b.queue:
			if !ok {
				return false
			}
			*batch = append(*batch, p)
		case <-timer.C:
			return true
		}
	}
	return true
}

// group is occurrences of one fingerprint folded into one write, or a
// single occurrence without a fingerprint.
type group struct {
	key     string // fingerprint, "" for an occurrence without one
	members []*pending
	first   time.Time // earliest occurredAt of the members
	last    time.Time // latest
}

// fold groups a batch. Occurrences of one fingerprint fold together as long
// as their times span less than the dedup window: then folding gives exactly
// what writing them one by one in arrival order would (the first decides,
// by its own window, whether the active report absorbs them; the others are
// within the window of it). An occurrence outside that span starts another
// group of the same fingerprint, written after the first.
func (b *batcher) fold(batch []*pending) []*group {
	var groups []*group
	open := map[string]*group{}
	for _, p := range batch {
		at := p.r.OccurredAt
		if g := open[p.r.Fingerprint]; p.r.Fingerprint != "" && g != nil &&
			latest(g.last, at).Sub(earliest(g.first, at)) < b.svc.window {
			g.members = append(g.members, p)
			g.first, g.last = earliest(g.first, at), latest(g.last, at)
			continue
		}
		g := &group{key: p.r.Fingerprint, members: []*pending{p}, first: at, last: at}
		groups = append(groups, g)
		if g.key != "" {
			open[g.key] = g
		}
	}
	// One order of rows for every batch of every process, so that two
	// replicas' batches on PostgreSQL cannot deadlock on each other's rows.
	slices.SortStableFunc(groups, func(x, y *group) int { return cmp.Compare(x.key, y.key) })
	return groups
}

// write stores a batch in one transaction and answers its callers. When
// the transaction fails and held more than one group, each group is tried
// again in a transaction of its own, so that one occurrence the database
// refuses fails only its own callers.
func (b *batcher) write(batch []*pending) {
	b.batches.Add(1)
	b.occurrences.Add(uint64(len(batch)))
	b.sizes[sizeBucket(len(batch))].Add(1)
	groups := b.fold(batch)
	err := b.commit(groups)
	if err != nil {
		b.failed.Add(1)
	}
	if err != nil && len(groups) > 1 {
		b.svc.log.Warn("bugs: a batch of occurrences failed; writing its groups one by one", "occurrences", len(batch), "err", err)
		for _, g := range groups {
			if gerr := b.commit([]*group{g}); gerr != nil {
				b.failed.Add(1)
				b.answerErr(g, gerr)
			}
		}
		return
	}
	if err != nil {
		for _, g := range groups {
			b.answerErr(g, err)
		}
	}
}

// commit writes groups in one transaction (one statement for a single
// group) and, once it committed, answers their callers. On error nothing
// is answered and nothing of the groups' occurrences is stored.
func (b *batcher) commit(groups []*group) error {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	ops := make([]*batchOp, len(groups))
	for i, g := range groups {
		lead := g.members[0]
		r := lead.r
		if g.key != "" {
			r.OccurrenceCount = len(g.members)
			r.FirstSeenAt, r.LastSeenAt = g.first, g.last
		}
		ops[i] = &batchOp{r: &r, legacy: lead.legacy, windowStart: lead.r.OccurredAt.Add(-b.svc.window)}
	}
	var err error
	if len(ops) == 1 {
		// A batch of one write (a storm of one error folds into one) goes
		// through Upsert or Insert without a transaction of its own: the
		// write that stores the occurrence is one statement, atomic by
		// itself, and Upsert is correct without a transaction (it is how
		// Auto writes unbatched). What else it may commit first is
		// retiring a stale report, which the next occurrence would do
		// anyway. On PostgreSQL that is one round trip instead of three
		// (begin, statement, commit), and the hot row's lock is held for
		// the statement only, not across the round trip to commit:
		// bench/intake, PostgreSQL, one message repeated, 4,502 and 3,258
		// stored per second with the transaction, 5,094 and 5,679 without.
		// Upsert's short UPDATE also spares the SELECT that upsertBatch
		// needs first (BenchmarkUpsertBatch: on SQLite about half the time
		// for one fingerprint).
		err = writeOneByOne(ctx, b.st, ops)
	} else {
		err = b.st.Atomically(ctx, func(ctx context.Context, st Store) error {
			if bs, ok := st.(batchStore); ok {
				return bs.upsertBatch(ctx, ops)
			}
			return writeOneByOne(ctx, st, ops)
		})
	}
	if err != nil {
		return err
	}
	for i, g := range groups {
		for j, p := range g.members {
			// Only the occurrence that made the report was created; the
			// others of its group joined it.
			p.stored, p.created = ops[i].stored, ops[i].created && j == 0
			b.waiting.Add(-1)
			close(p.done)
		}
	}
	return nil
}

// batchStore is a store that writes a whole batch in a few statements;
// BunStore is one.
type batchStore interface {
	upsertBatch(ctx context.Context, ops []*batchOp) error
}

// writeOneByOne writes ops in order through Store's Insert and Upsert, for
// a store that is not a batchStore.
func writeOneByOne(ctx context.Context, st Store, ops []*batchOp) error {
	for _, op := range ops {
		if op.r.Fingerprint == "" {
			if err := st.Insert(ctx, op.r); err != nil {
				return err
			}
			op.stored, op.created = *op.r, true
			continue
		}
		stored, created, err := st.Upsert(ctx, op.r, op.legacy, op.windowStart)
		if err != nil {
			return err
		}
		op.stored, op.created = stored, created
	}
	return nil
}

// answerErr fails g's callers. Their occurrences were not stored: the
// transaction rolled back.
func (b *batcher) answerErr(g *group, err error) {
	err = fmt.Errorf("bugs: auto: occurrence not stored: %w", err)
	for _, p := range g.members {
		p.err = err
		b.waiting.Add(-1)
		close(p.done)
	}
}

func (b *batcher) stats() IntakeStats {
	st := IntakeStats{
		Queued:        int(b.waiting.Load()),
		Batches:       b.batches.Load(),
		Occurrences:   b.occurrences.Load(),
		FailedBatches: b.failed.Load(),
		BatchSizes:    make([]uint64, len(b.sizes)),
		Refused:       map[Source]uint64{},
	}
	for i := range b.sizes {
		st.BatchSizes[i] = b.sizes[i].Load()
	}
	for i, src := range autoSources {
		st.Refused[src] = b.refused[i].Load()
	}
	return st
}

// autoSources are the sources Auto takes, in the order of batcher.refused.
var autoSources = []Source{SourceAutoServer, SourceAutoClient, SourceAutoAgent}

func sourceIndex(s Source) int {
	return max(slices.Index(autoSources, s), 0)
}

func sizeBucket(n int) int {
	for i, le := range BatchSizeBuckets {
		if n <= le {
			return i
		}
	}
	return len(BatchSizeBuckets)
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
