package bugs

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/bugflow/bugflow/activity"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// Journey defaults of Create: the reporter's last JourneyLimit actions of the
// past JourneyWindow.
const (
	JourneyLimit  = 20
	JourneyWindow = 30 * time.Minute
)

// DefaultDedupWindow is how long after its last occurrence a report still
// absorbs new occurrences of the same fingerprint.
const DefaultDedupWindow = 24 * time.Hour

// JourneySource gives a user's recent actions, oldest first.
// *activity.Service satisfies it.
type JourneySource interface {
	Recent(ctx context.Context, userID string, since time.Time, limit int) ([]activity.Entry, error)
}

// Config configures a Service. The zero value works: no journeys, the
// default logger, a 24 h dedup window.
type Config struct {
	// Journey supplies reporters' recent actions for Create. Nil attaches
	// only what the client sent.
	Journey JourneySource
	// Logger receives the service's logs: failures that do not fail the call
	// (a journey that could not be read, a capture that could not be stored). Default slog.Default().
	Logger *slog.Logger
	// Now is the service's clock, read for every time it records. Default
	// time.Now; readings are used in UTC, truncated to microseconds.
	Now func() time.Time
	// Observer hears of every report Create files, in the transaction
	// that stores it. Nil tells no one.
	Observer ReportObserver
	// DedupWindow overrides DefaultDedupWindow.
	DedupWindow time.Duration

	// BatchWindow is how long Auto's writer waits, after the first
	// occurrence of a batch, for concurrent ones to share its transaction
	// (group commit; see Auto). Default DefaultBatchWindow (250 µs); negative
	// writes what is queued as soon as the writer is free, without waiting.
	BatchWindow time.Duration
	// MaxBatch bounds the occurrences of one batch. Default DefaultMaxBatch.
	MaxBatch int
	// QueueSize bounds the occurrences waiting for the writer; beyond it
	// Auto refuses at once with errs.Unavailable (RetryAfter set). Default
	// DefaultQueueSize.
	QueueSize int
}

// Service files, deduplicates and triages bug reports.
type Service struct {
	store    Store
	journey  JourneySource
	observer ReportObserver
	log      *slog.Logger
	window   time.Duration
	now      func() time.Time
	batch    *batcher // nil when the store cannot run a transaction
}

// New returns a Service on st.
func New(st Store, cfg Config) *Service {
	s := &Service{store: st, journey: cfg.Journey, observer: cfg.Observer, log: cmp.Or(cfg.Logger, slog.Default()), window: cfg.DedupWindow, now: store.Clock(cfg.Now)}
	if s.window <= 0 {
		s.window = DefaultDedupWindow
	}
	if tx, ok := st.(TxStore); ok {
		s.batch = newBatcher(s, tx, cfg)
	}
	return s
}

// Close stops Auto's group commit: occurrences already queued are written
// (their callers get their answers), later Auto calls fail with
// errs.Unavailable. It returns when the queue is empty, or with ctx's error
// when ctx ends first. Other methods keep working. Close is safe to call
// more than once.
func (s *Service) Close(ctx context.Context) error {
	if s.batch == nil {
		return nil
	}
	return s.batch.close(ctx)
}

// IntakeStats returns counters of Auto's group commit, for metrics. Zero
// when the store cannot batch.
func (s *Service) IntakeStats() IntakeStats {
	if s.batch == nil {
		return IntakeStats{BatchSizes: make([]uint64, len(BatchSizeBuckets)+1), Refused: map[Source]uint64{}}
	}
	return s.batch.stats()
}

// Create files a report written by a person: status open, severity medium
// unless given, the reporter's journey attached (see the package doc). It
// never deduplicates.
func (s *Service) Create(ctx context.Context, in CreateInput) (Report, error) {
	if strings.TrimSpace(in.Title) == "" {
		return Report{}, errs.InvalidField("title", "required")
	}
	if in.Source == "" {
		return Report{}, errs.InvalidField("source", "required")
	}
	if !in.Source.Valid() {
		return Report{}, invalidEnum("source", in.Source, Sources)
	}
	if in.Severity == "" {
		in.Severity = SeverityMedium
	} else if !in.Severity.Valid() {
		return Report{}, invalidEnum("severity", in.Severity, Severities)
	}
	if err := firstError(
		checkLength("description", in.Description, MaxDescriptionLength),
		checkLengths(in.Title, in.ErrorMessage, in.ErrorStack, in.ErrorCode, in.WorkspaceID, in.SpaceID, in.ReporterID),
	); err != nil {
		return Report{}, err
	}
	ctxJSON, err := cleanObject("context", in.Context)
	if err != nil {
		return Report{}, err
	}
	metaJSON, err := cleanObject("metadata", in.Metadata)
	if err != nil {
		return Report{}, err
	}
	clientJourney, err := cleanObject("userJourney", in.UserJourney)
	if err != nil {
		return Report{}, err
	}

	now := s.now()
	journey, err := s.buildJourney(ctx, in.ReporterID, now, clientJourney)
	if err != nil {
		return Report{}, err
	}
	r := s.newReport(now, in.OccurredAt)
	r.WorkspaceID, r.SpaceID, r.ReporterID = optional(in.WorkspaceID), optional(in.SpaceID), optional(in.ReporterID)
	r.Source, r.Severity = in.Source, in.Severity
	r.Title, r.Description = cleanText(in.Title), optional(in.Description)
	r.ErrorMessage, r.ErrorStack, r.ErrorCode = optional(in.ErrorMessage), optional(in.ErrorStack), optional(in.ErrorCode)
	r.Context, r.Metadata, r.UserJourney = ctxJSON, metaJSON, journey
	if in.ErrorMessage != "" {
		// Kept so that a person's report can be matched with captured
		// ones; a hand-filed report never absorbs occurrences.
		r.Fingerprint, r.NormaliserVersion = Fingerprint(r.Source, r.workspace(), in.ErrorMessage), NormaliserVersion
	}
	insert := func(ctx context.Context, st Store) error {
		if err := st.Insert(ctx, &r); err != nil {
			return err
		}
		if s.observer == nil {
			return nil
		}
		return s.observer.ReportCreated(ctx, r)
	}
	if tx, ok := s.store.(TxStore); ok {
		err = tx.Atomically(ctx, insert)
	} else {
		// A store without transactions: the observer hears of the
		// report after it is stored.
		err = insert(ctx, s.store)
	}
	if err != nil {
		return Report{}, fmt.Errorf("bugs: create: %w", err)
	}
	return r, nil
}

// ReportObserver hears of each report filed by a person (Create), inside
// the transaction that stores it: its failure undoes the report.
type ReportObserver interface {
	ReportCreated(ctx context.Context, r Report) error
}

// buildJourney assembles userJourney from the activity log and the client's
// own journey; nil when there is neither. A failing activity log is logged
// and skipped: the report matters more than its journey.
func (s *Service) buildJourney(ctx context.Context, reporterID string, now time.Time, client json.RawMessage) (json.RawMessage, error) {
	var j Journey
	j.RecentActions = []JourneyAction{}
	if s.journey != nil && reporterID != "" {
		entries, err := s.journey.Recent(ctx, reporterID, now.Add(-JourneyWindow), JourneyLimit)
		if err != nil {
			s.log.WarnContext(ctx, "bugs: cannot read the reporter's journey", "reporter", reporterID, "err", err)
		}
		for _, e := range entries {
			summary := e.Summary
			if summary == "" {
				summary = e.Action
				if e.Target != "" {
					summary += ": " + e.Target
				}
			}
			j.RecentActions = append(j.RecentActions, JourneyAction{
				ID: "act_" + strconv.FormatInt(e.ID, 10), Source: e.Action, Summary: summary, Timestamp: e.At.UTC(),
			})
		}
	}
	if len(j.RecentActions) > 0 {
		start := j.RecentActions[0].Timestamp
		for _, a := range j.RecentActions[1:] {
			if a.Timestamp.Before(start) {
				start = a.Timestamp
			}
		}
		j.SessionStartedAt = &start
	}
	if len(j.RecentActions) == 0 && client == nil {
		return nil, nil
	}
	j.Client = client
	out, err := json.Marshal(j)
	if err != nil {
		return nil, fmt.Errorf("bugs: encode journey: %w", err)
	}
	return out, nil
}

// Auto files an automatically captured error. With an errorMessage it is
// deduplicated (see the package doc): created is false when an existing
// report absorbed it, and the returned report is the updated one. Without an
// errorMessage every call makes a new report.
//
// Auto batches (group commit): concurrent calls queue their occurrences and
// one writer stores them together, waiting Config.BatchWindow for more after
// the first, up to Config.MaxBatch, in one transaction per batch (a batch
// that folds into one write is that write's statement alone).
// Occurrences of one fingerprint in a batch fold into one increment: all of
// them get the report as the batch left it, and created is true for the
// first of them only, when it made the report. Auto returns only after its
// batch committed, so a nil error means the occurrence is stored; when a
// batch fails, only its callers get the error and none of it is stored.
// When Config.QueueSize occurrences already wait, Auto fails at once with
// errs.Unavailable and a RetryAfter. When ctx ends while it waits, Auto
// returns ctx's error, and the occurrence may or may not be stored.
//
// A call whose ctx carries a transaction (begun by internal/store.RunInTx,
// on which every Atomically of bugflow's domains is built) is not batched:
// it is written in that transaction, so it commits or rolls back with the
// caller's work. A call on a Store that is not a TxStore is not batched
// either.
func (s *Service) Auto(ctx context.Context, in AutoInput) (r Report, created bool, err error) {
	if in.Source == "" {
		return Report{}, false, errs.InvalidField("source", "required")
	}
	if !in.Source.Auto() {
		return Report{}, false, invalidEnum("source", in.Source, []Source{SourceAutoServer, SourceAutoClient, SourceAutoAgent})
	}
	if in.Severity != "" && !in.Severity.Valid() {
		return Report{}, false, invalidEnum("severity", in.Severity, Severities)
	}
	if err := checkLengths(in.Title, in.ErrorMessage, in.ErrorStack, in.ErrorCode, in.WorkspaceID, in.SpaceID, in.ReporterID); err != nil {
		return Report{}, false, err
	}
	ctxJSON, err := cleanObject("context", in.Context)
	if err != nil {
		return Report{}, false, err
	}
	metaJSON, err := cleanObject("metadata", in.Metadata)
	if err != nil {
		return Report{}, false, err
	}

	r = s.newReport(s.now(), in.OccurredAt)
	r.WorkspaceID, r.SpaceID, r.ReporterID = optional(in.WorkspaceID), optional(in.SpaceID), optional(in.ReporterID)
	r.Source = in.Source
	r.Severity = in.Severity
	if r.Severity == "" {
		r.Severity = AutoSeverity(in.Source, in.ErrorMessage, in.ErrorCode)
	}
	r.Title = cleanText(strings.TrimSpace(in.Title))
	if r.Title == "" {
		r.Title = cleanText(AutoTitle(in.Source, in.ErrorMessage, in.ErrorCode, r.OccurredAt))
	}
	r.ErrorMessage, r.ErrorStack, r.ErrorCode = optional(in.ErrorMessage), optional(in.ErrorStack), optional(in.ErrorCode)
	r.Context, r.Metadata = ctxJSON, metaJSON

	var legacy string
	if in.ErrorMessage != "" {
		normalised := Normalise(in.ErrorMessage)
		r.Fingerprint, r.NormaliserVersion = fingerprint(r.Source, r.workspace(), normalised), NormaliserVersion
		legacy = fingerprintV1(r.Source, normalised)
	}
	switch {
	case s.batch == nil:
		return s.autoOne(ctx, s.store, r, legacy)
	case store.InTx(ctx):
		// Atomically joins the caller's transaction: the occurrence
		// commits or rolls back with the caller's work.
		err = s.batch.st.Atomically(ctx, func(ctx context.Context, st Store) error {
			r, created, err = s.autoOne(ctx, st, r, legacy)
			return err
		})
		if err != nil {
			return Report{}, false, err
		}
		return r, created, nil
	}
	p := &pending{r: r, legacy: legacy, done: make(chan struct{})}
	if err := s.batch.submit(ctx, p); err != nil {
		return Report{}, false, err
	}
	return p.stored, p.created, nil
}

// autoOne stores one occurrence r on st, unbatched.
func (s *Service) autoOne(ctx context.Context, st Store, r Report, legacy string) (Report, bool, error) {
	if r.Fingerprint == "" {
		if err := st.Insert(ctx, &r); err != nil {
			return Report{}, false, fmt.Errorf("bugs: auto: %w", err)
		}
		return r, true, nil
	}
	stored, created, err := st.Upsert(ctx, &r, legacy, r.OccurredAt.Add(-s.window))
	if err != nil {
		return Report{}, false, fmt.Errorf("bugs: auto: %w", err)
	}
	return stored, created, nil
}

// newReport returns the common start of a new report.
func (s *Service) newReport(now, occurredAt time.Time) Report {
	if occurredAt.IsZero() {
		occurredAt = now
	}
	occurredAt = occurredAt.UTC().Truncate(time.Microsecond)
	return Report{
		ID: newID(), Status: StatusOpen, OccurrenceCount: 1,
		OccurredAt: occurredAt, FirstSeenAt: occurredAt, LastSeenAt: occurredAt,
		CreatedAt: now, UpdatedAt: now,
	}
}

// workspace is the report's workspace id as stored, "" for none.
func (r *Report) workspace() string {
	if r.WorkspaceID == nil {
		return ""
	}
	return *r.WorkspaceID
}

// Get returns one report; a missing or deleted one is errs.NotFound.
func (s *Service) Get(ctx context.Context, id string) (Report, error) {
	if id == "" {
		return Report{}, errs.InvalidField("bugReportId", "required")
	}
	r, err := s.store.Get(ctx, id)
	if err != nil {
		return Report{}, fmt.Errorf("bugs: get: %w", err)
	}
	return r, nil
}

// List returns one page of reports matching f, newest occurrence first.
func (s *Service) List(ctx context.Context, f ListFilter) (Page, error) {
	if err := f.normalise(); err != nil {
		return Page{}, err
	}
	items, total, err := s.store.List(ctx, f)
	if err != nil {
		return Page{}, fmt.Errorf("bugs: list: %w", err)
	}
	if items == nil {
		items = []Report{}
	}
	return Page{
		Items: items, Page: f.Page, Limit: f.Limit, Total: total,
		HasNextPage: f.Page*f.Limit < total,
		HasPrevPage: f.Page > 1,
	}, nil
}

// Update changes title, description, severity and/or status. Any status may
// follow any other; resolved stamps resolvedAt (kept if it was already
// resolved), open/triaged/in_progress clear it, closed keeps it.
func (s *Service) Update(ctx context.Context, in UpdateInput) (Report, error) {
	if in.ID == "" {
		return Report{}, errs.InvalidField("bugReportId", "required")
	}
	c := Change{Description: in.Description, Severity: in.Severity, Status: in.Status, At: s.now()}
	if in.Title != nil {
		if strings.TrimSpace(*in.Title) == "" {
			return Report{}, errs.InvalidField("title", "must not be empty")
		}
		if err := checkLength("title", *in.Title, MaxTitleLength); err != nil {
			return Report{}, err
		}
		t := cleanText(*in.Title)
		c.Title = &t
	}
	if in.Description != nil {
		if err := checkLength("description", *in.Description, MaxDescriptionLength); err != nil {
			return Report{}, err
		}
		d := cleanText(*in.Description)
		c.Description = &d
	}
	if in.Severity != nil && !in.Severity.Valid() {
		return Report{}, invalidEnum("severity", *in.Severity, Severities)
	}
	if in.Status != nil && !in.Status.Valid() {
		return Report{}, invalidEnum("status", *in.Status, Statuses)
	}
	r, err := s.store.Update(ctx, in.ID, c)
	if err != nil {
		return Report{}, fmt.Errorf("bugs: update: %w", err)
	}
	return r, nil
}

// Delete soft-deletes a report: it disappears from List and Get, and a new
// occurrence of its error starts a new report.
func (s *Service) Delete(ctx context.Context, id string) error {
	if id == "" {
		return errs.InvalidField("bugReportId", "required")
	}
	if err := s.store.Delete(ctx, id, s.now()); err != nil {
		return fmt.Errorf("bugs: delete: %w", err)
	}
	return nil
}

// newID returns a report id like bug_0193a5c2f1e83f9c0a1b2c3d: the
// milliseconds since 1970 in 48 bits, then 48 random bits, so that no
// replica needs to coordinate with another (two ids of one millisecond
// collide with a chance of about one in 2^48) and ids made later sort
// later. That order is what keeps a storm of new errors cheap: each new
// report adds its id to the primary key's index at the end, one page for a
// whole batch, where random ids touched a page of their own each (on
// SQLite, 26 WAL pages per batch of 16 new reports fell to 16: strace of
// BenchmarkUpsertBatch).
func newID() string {
	var b [12]byte
	ms := uint64(time.Now().UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (8 * (5 - i)))
	}
	_, _ = rand.Read(b[6:])
	return "bug_" + hex.EncodeToString(b[:])
}

// cleanText makes s storable on both engines: valid UTF-8 and no NUL bytes,
// which PostgreSQL text refuses.
func cleanText(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// optional returns nil for "" (stored as NULL, rendered as null) and the
// cleaned text otherwise.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	c := cleanText(s)
	return &c
}

func firstError(errors ...error) error {
	for _, err := range errors {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkLengths checks the field limits that Create and Auto share.
func checkLengths(title, errorMessage, errorStack, errorCode, workspaceID, spaceID, reporterID string) error {
	return firstError(
		checkLength("title", title, MaxTitleLength),
		checkLength("errorMessage", errorMessage, MaxErrorMessageLength),
		checkLength("errorStack", errorStack, MaxErrorStackLength),
		checkLength("errorCode", errorCode, MaxErrorCodeLength),
		checkLength("workspaceId", workspaceID, MaxIDLength),
		checkLength("spaceId", spaceID, MaxIDLength),
		checkLength("reporterId", reporterID, MaxIDLength),
	)
}
