package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// Stmts runs statements that a hot path sends again and again at the
// least cost each dialect allows. bun renders every query with its
// arguments inlined, so the engine parses each one anew: for bug intake on
// SQLite, parsing the upsert was about half the writer's CPU time (pprof of
// BenchmarkAuto). On SQLite, Stmts runs them as prepared statements, parsed
// once per connection. On PostgreSQL it sends the text and the arguments
// on bun's pool, which speaks the simple protocol (pgx quotes the
// arguments into the text): one round trip. A prepared statement there
// cost three round trips more per transaction, because database/sql
// prepares it again on each transaction's connection and closes it when the
// transaction ends (strace of BenchmarkUpsertBatch: begin, parse, execute,
// commit, close; 1.5 ms against pgbench's 0.5 ms for the same UPDATE).
//
// A caller writes such a statement by hand with ? placeholders (Rebind
// adapts them to the dialect), prepares it with Prepare outside any
// transaction and runs it with Query, in a transaction or not.
//
// The arguments go to the driver as they are, not through bun: times must
// be passed through Time, so that SQLite compares them as the text bun
// writes; strings must already be ValidText.
type Stmts struct {
	db *bun.DB

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// NewStmts returns the statements of the database behind db (a *bun.DB or
// one of its transactions).
func NewStmts(db bun.IDB) *Stmts {
	return &Stmts{db: db.NewSelect().DB(), stmts: map[string]*sql.Stmt{}}
}

// Postgres reports whether the statements run on PostgreSQL.
func (s *Stmts) Postgres() bool { return s.db.Dialect().Name() == dialect.PG }

// Rebind returns query with its ? placeholders numbered ($1, $2, ...) on
// PostgreSQL, as it is on SQLite. query must hold no other question mark.
func (s *Stmts) Rebind(query string) string {
	if !s.Postgres() {
		return query
	}
	var b strings.Builder
	n := 0
	for {
		i := strings.IndexByte(query, '?')
		if i < 0 {
			b.WriteString(query)
			return b.String()
		}
		n++
		b.WriteString(query[:i])
		b.WriteString("$" + strconv.Itoa(n))
		query = query[i+1:]
	}
}

// Time is the argument for t: on SQLite the text bun writes for a time
// (UTC, microseconds, "+00:00"), which SQLite compares as text with what
// bun stored; on PostgreSQL the time itself.
func (s *Stmts) Time(t time.Time) any {
	if s.Postgres() {
		return t.UTC()
	}
	return t.UTC().Format("2006-01-02 15:04:05.999999-07:00")
}

// Prepare prepares those of queries that are not prepared yet, on SQLite;
// on PostgreSQL it does nothing (see Stmts). It needs a connection of the
// database: the caller must not hold a transaction of it (on SQLite, whose
// one connection the transaction holds, Prepare would wait for it until
// ctx ends). A query that fails to prepare is left to run unprepared, and
// to report its error then.
func (s *Stmts) Prepare(ctx context.Context, queries ...string) error {
	if s.Postgres() {
		return nil
	}
	for _, q := range queries {
		if s.Prepared(q) {
			continue
		}
		// Not under s.mu: preparing may wait for a connection that a
		// transaction holds, and that transaction's Query needs s.mu.
		st, err := s.db.DB.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare statement: %w", Translate(err))
		}
		s.mu.Lock()
		if s.stmts[q] == nil {
			s.stmts[q], st = st, nil
		}
		s.mu.Unlock()
		if st != nil {
			// Another caller prepared it meanwhile.
			_ = st.Close()
		}
	}
	return nil
}

// Prepared reports whether every one of queries is prepared (never on
// PostgreSQL).
func (s *Stmts) Prepared(queries ...string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range queries {
		if s.stmts[q] == nil {
			return false
		}
	}
	return true
}

// Query runs query with args on db (the database of s or one of its
// transactions): through its prepared statement if Prepare made one (on
// the transaction's connection, prepared there once if it is another
// connection), else as it is.
func (s *Stmts) Query(ctx context.Context, db bun.IDB, query string, args ...any) (*sql.Rows, error) {
	s.mu.Lock()
	st := s.stmts[query]
	s.mu.Unlock()
	var rows *sql.Rows
	var err error
	switch d := db.(type) {
	case bun.Tx:
		rows, err = txQuery(ctx, d.Tx, st, query, args)
	case *bun.Tx:
		rows, err = txQuery(ctx, d.Tx, st, query, args)
	case *bun.DB:
		if st != nil {
			rows, err = st.QueryContext(ctx, args...)
		} else {
			rows, err = d.DB.QueryContext(ctx, query, args...)
		}
	default:
		return nil, fmt.Errorf("store: statements run on a *bun.DB or a bun.Tx, not on %T", db)
	}
	if err != nil {
		return nil, Translate(err)
	}
	return rows, nil
}

func txQuery(ctx context.Context, tx *sql.Tx, st *sql.Stmt, query string, args []any) (*sql.Rows, error) {
	if st != nil {
		return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, query, args...)
}

// Close closes the prepared statements.
func (s *Stmts) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for q, st := range s.stmts {
		if err := st.Close(); err != nil && first == nil {
			first = fmt.Errorf("close statement: %w", err)
		}
		delete(s.stmts, q)
	}
	return first
}
