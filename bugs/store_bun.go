package bugs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// reportRow is the table model of a Report.
type reportRow struct {
	bun.BaseModel `bun:"table:bug_reports,alias:r"`

	ID          string  `bun:"id,pk"`
	WorkspaceID *string `bun:"workspace_id"`
	SpaceID     *string `bun:"space_id"`
	ReporterID  *string `bun:"reporter_id"`

	Source   string `bun:"source,notnull"`
	Severity string `bun:"severity,notnull"`
	Status   string `bun:"status,notnull"`

	Title        string  `bun:"title,notnull"`
	Description  *string `bun:"description,type:text"`
	ErrorMessage *string `bun:"error_message,type:text"`
	ErrorStack   *string `bun:"error_stack,type:text"`
	ErrorCode    *string `bun:"error_code"`

	UserJourney *store.JSON[json.RawMessage] `bun:"user_journey,type:text"`
	Context     *store.JSON[json.RawMessage] `bun:"context,type:text"`
	Metadata    *store.JSON[json.RawMessage] `bun:"metadata,type:text"`

	OccurrenceCount   int     `bun:"occurrence_count,notnull"`
	Fingerprint       *string `bun:"fingerprint"`
	NormaliserVersion int     `bun:"normaliser_version,notnull"`
	// DedupKey is the fingerprint while this report is the one that new
	// occurrences join, NULL otherwise (no fingerprint, superseded after
	// the window, deleted). Its unique index is what makes concurrent
	// identical occurrences land on one row: both engines let any number of
	// rows hold NULL.
	DedupKey   *string `bun:"dedup_key"`
	Regression bool    `bun:"regression,notnull"`

	OccurredAt  time.Time  `bun:"occurred_at,notnull"`
	FirstSeenAt time.Time  `bun:"first_seen_at,notnull"`
	LastSeenAt  time.Time  `bun:"last_seen_at,notnull"`
	CreatedAt   time.Time  `bun:"created_at,notnull"`
	UpdatedAt   time.Time  `bun:"updated_at,notnull"`
	ResolvedAt  *time.Time `bun:"resolved_at"`
	DeletedAt   *time.Time `bun:"deleted_at"`
}

// Migrations returns the schema of bug reports. Each migration creates
// tables from its own frozen model, never from reportRow, so that a column
// added later is added by a later migration on every database, old or new.
func Migrations() []store.Migration {
	return []store.Migration{{
		ID:      "20261123100000",
		Comment: "bugs: bug_reports",
		Up: func(ctx context.Context, tx bun.Tx) error {
			type reportRowV1 struct {
				bun.BaseModel `bun:"table:bug_reports,alias:r"`

				ID                string     `bun:"id,pk"`
				WorkspaceID       *string    `bun:"workspace_id"`
				SpaceID           *string    `bun:"space_id"`
				ReporterID        *string    `bun:"reporter_id"`
				Source            string     `bun:"source,notnull"`
				Severity          string     `bun:"severity,notnull"`
				Status            string     `bun:"status,notnull"`
				Title             string     `bun:"title,notnull"`
				Description       *string    `bun:"description,type:text"`
				ErrorMessage      *string    `bun:"error_message,type:text"`
				ErrorStack        *string    `bun:"error_stack,type:text"`
				ErrorCode         *string    `bun:"error_code"`
				UserJourney       *string    `bun:"user_journey,type:text"`
				Context           *string    `bun:"context,type:text"`
				Metadata          *string    `bun:"metadata,type:text"`
				OccurrenceCount   int        `bun:"occurrence_count,notnull"`
				Fingerprint       *string    `bun:"fingerprint"`
				NormaliserVersion int        `bun:"normaliser_version,notnull"`
				DedupKey          *string    `bun:"dedup_key"`
				Regression        bool       `bun:"regression,notnull"`
				OccurredAt        time.Time  `bun:"occurred_at,notnull"`
				FirstSeenAt       time.Time  `bun:"first_seen_at,notnull"`
				LastSeenAt        time.Time  `bun:"last_seen_at,notnull"`
				CreatedAt         time.Time  `bun:"created_at,notnull"`
				UpdatedAt         time.Time  `bun:"updated_at,notnull"`
				ResolvedAt        *time.Time `bun:"resolved_at"`
				DeletedAt         *time.Time `bun:"deleted_at"`
			}
			if _, err := tx.NewCreateTable().Model((*reportRowV1)(nil)).Exec(ctx); err != nil {
				return fmt.Errorf("create bug_reports: %w", err)
			}
			return store.CreateIndexes(ctx, tx,
				store.Index{Table: "bug_reports", Name: "bug_reports_dedup_key_idx", Columns: []string{"dedup_key"}, Unique: true},
				// List orders by occurred_at and filters on it.
				store.Index{Table: "bug_reports", Name: "bug_reports_occurred_at_idx", Columns: []string{"occurred_at"}},
				store.Index{Table: "bug_reports", Name: "bug_reports_workspace_idx", Columns: []string{"workspace_id", "occurred_at"}},
			)
		},
	}}
}

// BunStore is the bun implementation of Store.
type BunStore struct {
	db   bun.IDB
	seen *seenSet
	sql  *upsertSQL
}

// NewBunStore returns a Store on db (a *bun.DB or a transaction). Make one
// per database and keep it: on a *bun.DB it prepares Upsert's statements
// once on each connection it uses, and they stay prepared until the
// database is closed.
func NewBunStore(db bun.IDB) *BunStore {
	return &BunStore{db: db, seen: &seenSet{m: map[string]struct{}{}}, sql: newUpsertSQL(db)}
}

// Atomically implements TxStore: fn's calls on st run in one transaction
// (the one ctx carries, if any), committed when fn returns nil.
func (s *BunStore) Atomically(ctx context.Context, fn func(ctx context.Context, st Store) error) error {
	s.prepare(ctx)
	return store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		return fn(ctx, &BunStore{db: tx, seen: s.seen, sql: s.sql})
	})
}

// prepare prepares Upsert's statements the first time it can: on the
// store's *bun.DB outside any transaction (see store.Stmts.Prepare). It is
// best effort: until they are prepared, the statements run unprepared.
func (s *BunStore) prepare(ctx context.Context) {
	if s.sql.ready.Load() || store.InTx(ctx) {
		return
	}
	if _, ok := s.db.(*bun.DB); !ok {
		return
	}
	if s.sql.stmts.Prepare(ctx, s.sql.all()...) == nil {
		s.sql.ready.Store(true)
	}
}

// upsertSQL are the statements of Upsert, written with placeholders and
// run as prepared statements (store.Stmts): bun would inline the arguments,
// and on SQLite parsing that text again for every occurrence was about
// half the batch writer's CPU time in a storm of one error (pprof of
// BenchmarkAuto).
type upsertSQL struct {
	stmts *store.Stmts
	ready atomic.Bool
	// join folds into the active report of a fingerprint; joinLegacyNull
	// and joinLegacyWorkspace into that of a legacy fingerprint, without
	// and with a workspace; insertOrJoin creates the active report or
	// joins it.
	join, joinLegacyNull, joinLegacyWorkspace, insertOrJoin string
	// insertNew[n-1] inserts n reports, each unless its fingerprint has
	// an active report, returning the dedup keys of those it inserted;
	// active finds the active reports under a JSON array of dedup keys.
	// upsertBatch runs them where they are prepared (SQLite).
	insertNew []string
	active    string
}

// maxPreparedRows is the most rows of one prepared multi-row insert: a
// statement is prepared for each count up to it (27 variables a row; SQLite
// allows 32,766), and a larger batch takes several.
const maxPreparedRows = 16

// insertNewSQL returns upsertSQL.insertNew.
func insertNewSQL() []string {
	row := "(?" + strings.Repeat(", ?", len(reportColumns)-1) + ")"
	var out []string
	for n := 1; n <= maxPreparedRows; n++ {
		out = append(out, "INSERT INTO bug_reports ("+strings.Join(reportColumns, ", ")+") VALUES "+row+strings.Repeat(", "+row, n-1)+
			" ON CONFLICT (dedup_key) DO NOTHING RETURNING dedup_key")
	}
	return out
}

// reportColumns are reportRow's columns, in the order of its values.
var reportColumns = []string{
	"id", "workspace_id", "space_id", "reporter_id", "source", "severity", "status",
	"title", "description", "error_message", "error_stack", "error_code",
	"user_journey", "context", "metadata",
	"occurrence_count", "fingerprint", "normaliser_version", "dedup_key", "regression",
	"occurred_at", "first_seen_at", "last_seen_at", "created_at", "updated_at", "resolved_at", "deleted_at",
}

// values are the arguments of row's reportColumns; at makes a time's.
func (row *reportRow) values(at func(time.Time) any) []any {
	optTime := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return at(*t)
	}
	optJSON := func(j *store.JSON[json.RawMessage]) any {
		if j == nil {
			return nil
		}
		return string(j.V)
	}
	return []any{
		row.ID, row.WorkspaceID, row.SpaceID, row.ReporterID, row.Source, row.Severity, row.Status,
		row.Title, row.Description, row.ErrorMessage, row.ErrorStack, row.ErrorCode,
		optJSON(row.UserJourney), optJSON(row.Context), optJSON(row.Metadata),
		row.OccurrenceCount, row.Fingerprint, row.NormaliserVersion, row.DedupKey, row.Regression,
		at(row.OccurredAt), at(row.FirstSeenAt), at(row.LastSeenAt), at(row.CreatedAt), at(row.UpdatedAt),
		optTime(row.ResolvedAt), optTime(row.DeletedAt),
	}
}

func newUpsertSQL(db bun.IDB) *upsertSQL {
	st := store.NewStmts(db)
	returning := " RETURNING " + strings.Join(reportColumns, ", ")
	// setList is the SET clauses of joinSets over count, first and last.
	setList := func(count, first, last string) string {
		var exprs []string
		for _, set := range joinSets(count, first, last, nil, nil, nil) {
			exprs = append(exprs, set.expr)
		}
		return strings.Join(exprs, ", ")
	}
	join := "UPDATE bug_reports AS r SET " + setList("?", "?", "?") + ", updated_at = ?" +
		" WHERE r.dedup_key = ? AND r.last_seen_at >= ?"
	legacy := join + " AND NOT EXISTS (SELECT 1 FROM bug_reports AS cur WHERE cur.dedup_key = ?)"
	insert := "INSERT INTO bug_reports AS r (" + strings.Join(reportColumns, ", ") + ") VALUES (?" + strings.Repeat(", ?", len(reportColumns)-1) + ")" +
		" ON CONFLICT (dedup_key) DO UPDATE SET " + setList("EXCLUDED.occurrence_count", "EXCLUDED.first_seen_at", "EXCLUDED.last_seen_at") + ", updated_at = EXCLUDED.updated_at" +
		" WHERE r.last_seen_at >= ?"
	return &upsertSQL{
		stmts:               st,
		join:                st.Rebind(join + returning),
		joinLegacyNull:      st.Rebind(legacy + " AND r.workspace_id IS NULL" + returning),
		joinLegacyWorkspace: st.Rebind(legacy + " AND r.workspace_id = ?" + returning),
		insertOrJoin:        st.Rebind(insert + returning),
		insertNew:           insertNewSQL(),
		active:              "SELECT id, dedup_key, last_seen_at FROM bug_reports WHERE dedup_key IN (SELECT value FROM json_each(?))",
	}
}

func (q *upsertSQL) all() []string {
	out := []string{q.join, q.joinLegacyNull, q.joinLegacyWorkspace, q.insertOrJoin}
	if !q.stmts.Postgres() {
		out = append(append(out, q.insertNew...), q.active)
	}
	return out
}

// query runs one of q's statements on db and scans the report it returns,
// if any, into row: n is 0 or 1.
func (q *upsertSQL) query(ctx context.Context, db bun.IDB, row *reportRow, query string, args ...any) (n int, err error) {
	var out []reportRow
	if err := q.scan(ctx, db, &out, query, args...); err != nil {
		return 0, err
	}
	if len(out) > 0 {
		*row = out[0]
	}
	return len(out), nil
}

// scan runs one of q's statements on db and scans its rows into dest, a
// pointer to a slice that bun can scan into.
func (q *upsertSQL) scan(ctx context.Context, db bun.IDB, dest any, query string, args ...any) error {
	rows, err := q.stmts.Query(ctx, db, query, args...)
	if err != nil {
		return err
	}
	return store.Translate(db.NewSelect().DB().ScanRows(ctx, rows, dest))
}

// seenCapacity bounds the fingerprints a BunStore remembers; when full it
// forgets them all, which costs one slower call per active fingerprint.
const seenCapacity = 4096

// seenSet remembers fingerprints this process has stored recently. It is
// only a hint of which statement to try first in Upsert (measured on SQLite,
// parsing the long upsert statement is about half the cost of a call), never
// a source of truth: other replicas write too.
type seenSet struct {
	mu sync.Mutex
	m  map[string]struct{}
}

func (s *seenSet) has(fp string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[fp]
	return ok
}

func (s *seenSet) add(fp string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= seenCapacity {
		clear(s.m)
	}
	s.m[fp] = struct{}{}
}

// Insert implements Store.
func (s *BunStore) Insert(ctx context.Context, r *Report) error {
	row := toRow(r)
	row.DedupKey = nil
	if _, err := s.db.NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("insert bug report: %w", store.Translate(err))
	}
	return nil
}

// maxUpsertTries bounds the retries of Upsert. One retry is the normal
// worst case (a stale active report is retired, then the insert wins); more
// happen only if other writers keep retiring and recreating the same
// fingerprint at that very moment.
const maxUpsertTries = 5

// joinSets are the SET clauses that fold occurrences into the active
// report r. count, first and last are the SQL for how many occurrences
// join, the earliest and the latest of their times (placeholders or
// EXCLUDED columns) and args the arguments of first and last, if any. Every
// expression reads the row as it was before the statement, so the CASEs see
// the old status.
func joinSets(count, first, last string, countArgs []any, firstArg, lastArg []any) []joinSet {
	return []joinSet{
		{"occurrence_count = r.occurrence_count + " + count, countArgs},
		{"last_seen_at = CASE WHEN " + last + " > r.last_seen_at THEN " + last + " ELSE r.last_seen_at END", twice(lastArg)},
		{"first_seen_at = CASE WHEN " + first + " < r.first_seen_at THEN " + first + " ELSE r.first_seen_at END", twice(firstArg)},
		{"regression = CASE WHEN r.status IN (?, ?) THEN ? ELSE r.regression END", []any{string(StatusResolved), string(StatusClosed), true}},
		{"resolved_at = CASE WHEN r.status IN (?, ?) THEN NULL ELSE r.resolved_at END", []any{string(StatusResolved), string(StatusClosed)}},
		{"status = CASE WHEN r.status IN (?, ?) THEN ? ELSE r.status END", []any{string(StatusResolved), string(StatusClosed), string(StatusOpen)}},
	}
}

// twice repeats args for an expression that names its value twice; nil
// without args, because bun warns about an empty list.
func twice(args []any) []any {
	if len(args) == 0 {
		return nil
	}
	return append(append([]any(nil), args...), args...)
}

type joinSet struct {
	expr string
	args []any
}

// Upsert implements Store. The common case of an error storm, an occurrence
// of an active fingerprint within the window, is one short UPDATE, tried
// first for fingerprints this store has seen. Otherwise (or when it finds
// nothing) the legacy report gets its chance, then one INSERT ... ON
// CONFLICT DO UPDATE on the unique dedup_key either creates the report or,
// if another caller created it in between, joins it: at no point can two
// active rows share a fingerprint.
func (s *BunStore) Upsert(ctx context.Context, r *Report, legacy string, windowStart time.Time) (Report, bool, error) {
	if r.Fingerprint == "" {
		return Report{}, false, fmt.Errorf("bugs: upsert needs a fingerprint")
	}
	s.prepare(ctx)
	if s.seen.has(r.Fingerprint) {
		stored, ok, err := s.join(ctx, r, s.sql.join, r.Fingerprint, windowStart)
		if err != nil || ok {
			return stored, false, err
		}
	}
	if legacy != "" {
		stored, ok, err := s.joinLegacy(ctx, r, legacy, windowStart)
		if err != nil || ok {
			return stored, false, err
		}
	}
	stored, created, err := s.insertOrJoin(ctx, r, windowStart)
	if err == nil {
		s.seen.add(r.Fingerprint)
	}
	return stored, created, err
}

// batchOp is one write of a batch of Auto's occurrences: r, with or without
// a fingerprint, stands for r.OccurrenceCount occurrences folded together;
// legacy and windowStart are Upsert's. upsertBatch fills stored and created.
type batchOp struct {
	r           *Report
	legacy      string
	windowStart time.Time

	stored  Report
	created bool
	done    bool
}

// Bounds of one multi-row statement of upsertBatch. bun inlines every
// argument into the SQL text, so neither SQLite's limit on variables nor
// PostgreSQL's 65535 parameters applies; what grows is the text, which
// SQLite bounds (SQLITE_MAX_SQL_LENGTH, 1e9 bytes by default) and both
// engines parse in one piece. The byte bound keeps a batch of long stack
// traces to statements of a few MiB.
const (
	maxRowsPerStatement  = 512
	maxBytesPerStatement = 4 << 20
)

// activeRow is what upsertBatch needs to know of an active report.
type activeRow struct {
	ID         string    `bun:"id"`
	DedupKey   string    `bun:"dedup_key"`
	LastSeenAt time.Time `bun:"last_seen_at"`
}

// upsertBatch writes ops in the order given, with the outcome Insert (no
// fingerprint) and Upsert (fingerprint) would give one after the other, in a
// few statements instead of one or more per op: one SELECT of the active
// reports under the ops' fingerprints and legacy fingerprints, one multi-row
// INSERT of the ops without a fingerprint, and for the ops that either join
// a report the SELECT found active within their window or create one, a
// multi-row INSERT ... ON CONFLICT (dedup_key) for those that join and one
// for those that create (see upsertMany). The ops that need more than that
// go through Upsert one by one afterwards, in order: a fingerprint met again
// in the batch (a second statement row with the same key is an error on
// PostgreSQL), a stale active report (it is retired first), an active legacy
// report that the op may join, and any op whose conflicting row the SELECT
// did not see (a concurrent writer created it): the DO UPDATE joins only
// rows whose id the SELECT found within the window, so the statement never
// joins a report that Upsert would have retired. A report stays within the
// window once found there: last_seen_at only grows.
func (s *BunStore) upsertBatch(ctx context.Context, ops []*batchOp) error {
	active, err := s.activeRows(ctx, ops)
	if err != nil {
		return err
	}
	var plain []*batchOp
	var upserts []*batchOp
	known := map[string]string{} // fingerprint -> id of the report an upsert joins
	met := map[string]bool{}     // fingerprints of earlier ops
	for _, op := range ops {
		fp := op.r.Fingerprint
		if fp == "" {
			plain = append(plain, op)
			continue
		}
		if met[fp] {
			continue // after the earlier op of fp, through Upsert
		}
		met[fp] = true
		if own, ok := active[fp]; ok {
			if own.LastSeenAt.Before(op.windowStart) {
				continue // stale: Upsert retires it
			}
			known[fp] = own.ID
		} else if _, ok := active[op.legacy]; ok && op.legacy != "" {
			continue // Upsert decides whether it joins the legacy report
		}
		upserts = append(upserts, op)
	}
	for _, chunk := range chunks(plain) {
		if err := s.insertMany(ctx, chunk); err != nil {
			return err
		}
	}
	for _, chunk := range chunks(upserts) {
		if err := s.upsertMany(ctx, chunk, known); err != nil {
			return err
		}
	}
	for _, op := range ops {
		if op.done {
			continue
		}
		legacy := op.legacy
		if _, ok := active[legacy]; !ok {
			legacy = "" // nothing to join under it: skip the statement
		}
		op.stored, op.created, err = s.Upsert(ctx, op.r, legacy, op.windowStart)
		if err != nil {
			return err
		}
		op.done = true
	}
	return nil
}

// activeRows returns the active reports under the fingerprints and legacy
// fingerprints of ops, by dedup key.
func (s *BunStore) activeRows(ctx context.Context, ops []*batchOp) (map[string]activeRow, error) {
	var keys []string
	for _, op := range ops {
		if op.r.Fingerprint != "" {
			keys = append(keys, op.r.Fingerprint)
		}
		if op.legacy != "" {
			keys = append(keys, op.legacy)
		}
	}
	out := map[string]activeRow{}
	if len(keys) == 0 {
		return out, nil
	}
	var rows []activeRow
	var err error
	if s.sql.stmts.Prepared(s.sql.active) {
		// One statement for any number of keys, parsed once.
		var list []byte
		if list, err = json.Marshal(keys); err == nil {
			err = s.sql.scan(ctx, s.db, &rows, s.sql.active, string(list))
		}
	} else {
		err = s.db.NewSelect().TableExpr("bug_reports").Column("id", "dedup_key", "last_seen_at").
			Where("dedup_key IN (?)", bun.In(keys)).Scan(ctx, &rows)
	}
	if err != nil {
		return nil, fmt.Errorf("find active bug reports: %w", store.Translate(err))
	}
	for _, row := range rows {
		out[row.DedupKey] = row
	}
	return out, nil
}

// chunks splits ops into runs that one statement may hold (see
// maxRowsPerStatement).
func chunks(ops []*batchOp) [][]*batchOp {
	var out [][]*batchOp
	start, size := 0, 0
	for i, op := range ops {
		n := op.r.textSize()
		if i > start && (i-start >= maxRowsPerStatement || size+n > maxBytesPerStatement) {
			out = append(out, ops[start:i])
			start, size = i, 0
		}
		size += n
	}
	if start < len(ops) {
		out = append(out, ops[start:])
	}
	return out
}

// insertMany stores ops, reports without a fingerprint, in one INSERT.
func (s *BunStore) insertMany(ctx context.Context, ops []*batchOp) error {
	rows := make([]*reportRow, len(ops))
	for i, op := range ops {
		rows[i] = toRow(op.r)
		rows[i].DedupKey = nil
	}
	if _, err := s.db.NewInsert().Model(&rows).Exec(ctx); err != nil {
		return fmt.Errorf("insert bug reports: %w", store.Translate(err))
	}
	for _, op := range ops {
		op.stored, op.created, op.done = *op.r, true, true
	}
	return nil
}

// upsertMany creates or joins the active reports of ops (distinct
// fingerprints): those whose fingerprint known holds join that report in
// one INSERT ... ON CONFLICT DO UPDATE ... RETURNING every column, the
// others are inserted in one INSERT ... ON CONFLICT DO NOTHING RETURNING
// their keys only, since a row it inserts is op's report as written
// (scanning every column of every new report back through bun was about a
// tenth of the intake's CPU in a storm of new errors on SQLite). A conflict
// the statements do not resolve leaves its op not done, for Upsert.
func (s *BunStore) upsertMany(ctx context.Context, ops []*batchOp, known map[string]string) error {
	var joins, inserts []*batchOp
	for _, op := range ops {
		if _, ok := known[op.r.Fingerprint]; ok {
			joins = append(joins, op)
		} else {
			inserts = append(inserts, op)
		}
	}
	if len(inserts) > 0 {
		if err := s.insertNew(ctx, inserts); err != nil {
			return err
		}
	}
	if len(joins) > 0 {
		return s.joinKnown(ctx, joins, known)
	}
	return nil
}

// insertNew inserts the active reports of ops (distinct fingerprints),
// which have none yet as far as the batch's SELECT saw; one that another
// writer created since is left to Upsert.
func (s *BunStore) insertNew(ctx context.Context, ops []*batchOp) error {
	var keys []string // dedup keys of the rows inserted
	var err error
	if s.sql.stmts.Prepared(s.sql.insertNew...) {
		keys, err = s.insertNewPrepared(ctx, ops)
	} else {
		_, err = s.db.NewInsert().Model(upsertRows(ops)).On("CONFLICT (dedup_key) DO NOTHING").
			Returning("dedup_key").Exec(ctx, &keys)
		if errors.Is(err, sql.ErrNoRows) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("insert bug reports: %w", store.Translate(err))
	}
	inserted := make(map[string]bool, len(keys))
	for _, k := range keys {
		inserted[k] = true
	}
	for _, op := range ops {
		if inserted[op.r.Fingerprint] {
			op.stored, op.created, op.done = *op.r, true, true
			s.seen.add(op.r.Fingerprint)
		}
	}
	return nil
}

// insertNewPrepared runs insertNew through the prepared multi-row inserts,
// up to maxPreparedRows rows each, and returns the dedup keys of the rows
// they inserted. On SQLite, which has no round trips to save,
// parsing bun's INSERT with every argument inlined was a third of the time
// the batch writer spent on a storm of new errors (pprof of bench/intake).
// BenchmarkUpsertBatch/sqlite/new=true, two interleaved series of four
// runs: 8 reports 481 and 511 → 431 and 428 µs, 16: 797 and 784 → 672 and
// 745 µs, 64: 1,889 and 1,908 → 1,753 and 1,950 µs.
func (s *BunStore) insertNewPrepared(ctx context.Context, ops []*batchOp) (keys []string, err error) {
	rows := *upsertRows(ops)
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), maxPreparedRows)]
		rows = rows[len(chunk):]
		var args []any
		for _, row := range chunk {
			args = append(args, row.values(s.sql.stmts.Time)...)
		}
		var inserted []string
		if err := s.sql.scan(ctx, s.db, &inserted, s.sql.insertNew[len(chunk)-1], args...); err != nil {
			return nil, err
		}
		keys = append(keys, inserted...)
	}
	return keys, nil
}

// joinKnown folds ops into the active reports whose ids known gives for
// their fingerprints. An op that conflicts with another report than the
// known one is left not done, for Upsert; one whose known report went
// meanwhile meets no conflict, and its report is inserted and answered as
// created.
func (s *BunStore) joinKnown(ctx context.Context, ops []*batchOp, known map[string]string) error {
	var ids []string
	for _, op := range ops {
		ids = append(ids, known[op.r.Fingerprint])
	}
	iq := s.db.NewInsert().Model(upsertRows(ops)).On("CONFLICT (dedup_key) DO UPDATE")
	for _, set := range joinSets("EXCLUDED.occurrence_count", "EXCLUDED.first_seen_at", "EXCLUDED.last_seen_at", nil, nil, nil) {
		iq = iq.Set(set.expr, set.args...)
	}
	iq = iq.Set("updated_at = EXCLUDED.updated_at").Where("r.id IN (?)", bun.In(ids))
	var stored []reportRow
	if _, err := iq.Returning("*").Exec(ctx, &stored); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("upsert bug reports: %w", store.Translate(err))
	}
	byKey := make(map[string]*reportRow, len(stored))
	for i := range stored {
		if k := stored[i].DedupKey; k != nil {
			byKey[*k] = &stored[i]
		}
	}
	for _, op := range ops {
		row, ok := byKey[op.r.Fingerprint]
		if !ok {
			continue
		}
		// The id is op's only when this statement inserted the row.
		op.stored, op.created, op.done = row.toReport(), row.ID == op.r.ID, true
		s.seen.add(op.r.Fingerprint)
	}
	return nil
}

// upsertRows are the rows of ops, each under its fingerprint.
func upsertRows(ops []*batchOp) *[]*reportRow {
	rows := make([]*reportRow, len(ops))
	for i, op := range ops {
		rows[i] = toRow(op.r)
		rows[i].DedupKey = &op.r.Fingerprint
	}
	return &rows
}

// joinLegacy folds r into the active report under the legacy fingerprint
// if that was last seen within the window, has r's workspace and no report
// is active under r's own fingerprint yet. The workspace condition is what
// keeps an ongoing storm in one report across the upgrade while the same
// error in another workspace starts its own; the NOT EXISTS makes the new
// report, once there, the only one that grows.
func (s *BunStore) joinLegacy(ctx context.Context, r *Report, legacy string, windowStart time.Time) (stored Report, ok bool, err error) {
	if r.WorkspaceID == nil {
		return s.join(ctx, r, s.sql.joinLegacyNull, legacy, windowStart, r.Fingerprint)
	}
	return s.join(ctx, r, s.sql.joinLegacyWorkspace, legacy, windowStart, r.Fingerprint, *r.WorkspaceID)
}

// join folds r into the active report under key if that was last seen
// within the window, by query (one of upsertSQL's joins, whose further
// conditions take more); ok is false when there is none.
func (s *BunStore) join(ctx context.Context, r *Report, query, key string, windowStart time.Time, more ...any) (stored Report, ok bool, err error) {
	t := s.sql.stmts.Time
	var args []any
	for _, set := range joinSets("?", "?", "?", []any{max(r.OccurrenceCount, 1)}, []any{t(r.FirstSeenAt)}, []any{t(r.LastSeenAt)}) {
		args = append(args, set.args...)
	}
	args = append(append(args, t(r.UpdatedAt), key, t(windowStart)), more...)
	var joined reportRow
	n, err := s.sql.query(ctx, s.db, &joined, query, args...)
	if err != nil {
		return Report{}, false, fmt.Errorf("join bug report: %w", err)
	}
	return joined.toReport(), n == 1, nil
}

// insertOrJoin stores r as the active report of its fingerprint, or joins
// the active one if it is within the window, retiring a stale one first.
func (s *BunStore) insertOrJoin(ctx context.Context, r *Report, windowStart time.Time) (Report, bool, error) {
	for range maxUpsertTries {
		row := toRow(r)
		row.DedupKey = &r.Fingerprint
		// The WHERE leaves a report last seen before the window alone:
		// then no row comes back and the stale report is retired below.
		args := row.values(s.sql.stmts.Time)
		// Then the SET clauses' own arguments (the statuses; the
		// EXCLUDED columns take none), and the WHERE's.
		for _, set := range joinSets("", "", "", nil, nil, nil) {
			args = append(args, set.args...)
		}
		var stored reportRow
		n, err := s.sql.query(ctx, s.db, &stored, s.sql.insertOrJoin, append(args, s.sql.stmts.Time(windowStart))...)
		if err != nil {
			return Report{}, false, fmt.Errorf("upsert bug report: %w", err)
		}
		if n == 1 {
			// RETURNING gives the stored report: its id is r's only
			// when the insert made it.
			return stored.toReport(), stored.ID == r.ID, nil
		}
		_, err = store.Exec(ctx, s.db.NewUpdate().Model((*reportRow)(nil)).
			Set("dedup_key = NULL").
			Where("dedup_key = ?", r.Fingerprint).
			Where("last_seen_at < ?", windowStart))
		if err != nil {
			return Report{}, false, fmt.Errorf("retire stale bug report: %w", err)
		}
	}
	return Report{}, false, errs.Unavailablef("bug report intake is contended; try again")
}

// Get implements Store.
func (s *BunStore) Get(ctx context.Context, id string) (Report, error) {
	var row reportRow
	q := s.db.NewSelect().Model(&row).Where("id = ?", id).Where("deleted_at IS NULL")
	if err := store.ScanOne(ctx, q, "bug report %s not found", id); err != nil {
		return Report{}, fmt.Errorf("get bug report: %w", err)
	}
	return row.toReport(), nil
}

// List implements Store.
func (s *BunStore) List(ctx context.Context, f ListFilter) ([]Report, int, error) {
	q := s.db.NewSelect().Model((*reportRow)(nil)).Where("deleted_at IS NULL")
	if f.Source != "" {
		q = q.Where("source = ?", f.Source)
	}
	if f.Severity != "" {
		q = q.Where("severity = ?", f.Severity)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.WorkspaceID != "" {
		q = q.Where("workspace_id = ?", f.WorkspaceID)
	}
	if f.FromDate != nil {
		q = q.Where("occurred_at >= ?", f.FromDate.UTC())
	}
	if f.ToDate != nil {
		q = q.Where("occurred_at <= ?", f.ToDate.UTC())
	}
	total, err := q.Count(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("count bug reports: %w", store.Translate(err))
	}
	var rows []reportRow
	err = store.PageNumber(f.Page, f.Limit).Apply(q.Model(&rows).
		OrderExpr("occurred_at DESC, created_at DESC, id DESC")).
		Scan(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list bug reports: %w", store.Translate(err))
	}
	out := make([]Report, len(rows))
	for i := range rows {
		out[i] = rows[i].toReport()
	}
	return out, int(total), nil
}

// Update implements Store. It is one UPDATE ... RETURNING, so it neither
// loses a concurrent occurrence count nor needs a transaction.
func (s *BunStore) Update(ctx context.Context, id string, c Change) (Report, error) {
	var row reportRow
	q := s.db.NewUpdate().Model(&row).Set("updated_at = ?", c.At)
	if c.Title != nil {
		q = q.Set("title = ?", *c.Title)
	}
	if c.Description != nil {
		q = q.Set("description = ?", *c.Description)
	}
	if c.Severity != nil {
		q = q.Set("severity = ?", *c.Severity)
	}
	if c.Status != nil {
		switch *c.Status {
		case StatusResolved:
			q = q.Set("resolved_at = CASE WHEN r.status = ? AND r.resolved_at IS NOT NULL THEN r.resolved_at ELSE ? END", StatusResolved, c.At)
		case StatusClosed:
		default:
			q = q.Set("resolved_at = NULL")
		}
		q = q.Set("status = ?", *c.Status)
	}
	q = q.Where("r.id = ?", id).Where("r.deleted_at IS NULL").Returning("*")
	if err := store.ExecOne(ctx, q, "bug report %s not found", id); err != nil {
		return Report{}, fmt.Errorf("update bug report: %w", err)
	}
	return row.toReport(), nil
}

// Delete implements Store.
func (s *BunStore) Delete(ctx context.Context, id string, at time.Time) error {
	q := s.db.NewUpdate().Model((*reportRow)(nil)).
		Set("deleted_at = ?", at).
		Set("updated_at = ?", at).
		Set("dedup_key = NULL").
		Where("id = ?", id).
		Where("deleted_at IS NULL")
	if err := store.ExecOne(ctx, q, "bug report %s not found", id); err != nil {
		return fmt.Errorf("delete bug report: %w", err)
	}
	return nil
}

func toRow(r *Report) *reportRow {
	row := &reportRow{
		ID: r.ID, WorkspaceID: r.WorkspaceID, SpaceID: r.SpaceID, ReporterID: r.ReporterID,
		Source: string(r.Source), Severity: string(r.Severity), Status: string(r.Status),
		Title: r.Title, Description: r.Description,
		ErrorMessage: r.ErrorMessage, ErrorStack: r.ErrorStack, ErrorCode: r.ErrorCode,
		UserJourney: nullJSON(r.UserJourney), Context: nullJSON(r.Context), Metadata: nullJSON(r.Metadata),
		OccurrenceCount: r.OccurrenceCount, NormaliserVersion: r.NormaliserVersion, Regression: r.Regression,
		OccurredAt: r.OccurredAt, FirstSeenAt: r.FirstSeenAt, LastSeenAt: r.LastSeenAt,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ResolvedAt: r.ResolvedAt, DeletedAt: r.DeletedAt,
	}
	if r.Fingerprint != "" {
		fp := r.Fingerprint
		row.Fingerprint = &fp
	}
	return row
}

func (row *reportRow) toReport() Report {
	r := Report{
		ID: row.ID, WorkspaceID: row.WorkspaceID, SpaceID: row.SpaceID, ReporterID: row.ReporterID,
		Source: Source(row.Source), Severity: Severity(row.Severity), Status: Status(row.Status),
		Title: row.Title, Description: row.Description,
		ErrorMessage: row.ErrorMessage, ErrorStack: row.ErrorStack, ErrorCode: row.ErrorCode,
		UserJourney: row.UserJourney.Get(), Context: row.Context.Get(), Metadata: row.Metadata.Get(),
		OccurrenceCount: row.OccurrenceCount, NormaliserVersion: row.NormaliserVersion, Regression: row.Regression,
		OccurredAt: row.OccurredAt.UTC(), FirstSeenAt: row.FirstSeenAt.UTC(), LastSeenAt: row.LastSeenAt.UTC(),
		CreatedAt: row.CreatedAt.UTC(), UpdatedAt: row.UpdatedAt.UTC(),
		ResolvedAt: store.UTC(row.ResolvedAt), DeletedAt: store.UTC(row.DeletedAt),
	}
	if row.Fingerprint != nil {
		r.Fingerprint = *row.Fingerprint
	}
	return r
}

// textSize is about the bytes r's text takes in an INSERT statement.
func (r *Report) textSize() int {
	n := 256 + len(r.Title) + len(r.UserJourney) + len(r.Context) + len(r.Metadata)
	for _, p := range []*string{r.Description, r.ErrorMessage, r.ErrorStack, r.ErrorCode} {
		if p != nil {
			n += len(*p)
		}
	}
	return n
}

// nullJSON stores absent JSON (nil or empty) as NULL.
func nullJSON(raw json.RawMessage) *store.JSON[json.RawMessage] {
	return store.NullJSON(raw, len(raw) > 0)
}
