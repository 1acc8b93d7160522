package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/errs"
)

// Execer is a bun query that runs without returning rows to scan: an
// UpdateQuery, DeleteQuery or InsertQuery (whose RETURNING columns, if any,
// fill its model).
type Execer interface {
	Exec(ctx context.Context, dest ...any) (sql.Result, error)
}

// Scanner is a bun query that fills its model or dest: a SelectQuery, or an
// UpdateQuery or InsertQuery with RETURNING.
type Scanner interface {
	Scan(ctx context.Context, dest ...any) error
}

// Exec runs q and returns how many rows it affected. A driver error is
// translated (see Translate); the count is never ignored, because a missing
// count would make a statement that changed nothing look like success.
func Exec(ctx context.Context, q Execer) (int64, error) {
	res, err := q.Exec(ctx)
	if err != nil {
		return 0, Translate(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("rows affected: %w", Translate(err))
	}
	return n, nil
}

// ExecOne runs q, a statement that must affect a row (an UPDATE or DELETE
// of one addressed row). When it affects none, it returns an errs.NotFound
// error with the message format and args; a driver error is translated.
func ExecOne(ctx context.Context, q Execer, format string, args ...any) error {
	n, err := Exec(ctx, q)
	if err != nil {
		return err
	}
	if n == 0 {
		return errs.NotFoundf(format, args...)
	}
	return nil
}

// ScanOne runs q, a query for one row. When there is none it returns an
// errs.NotFound error with the message format and args (wrapping
// sql.ErrNoRows); a driver error is translated.
func ScanOne(ctx context.Context, q Scanner, format string, args ...any) error {
	err := q.Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.Wrap(errs.NotFound, err, format, args...)
	}
	return Translate(err)
}

// UTC returns t in UTC, or nil for nil: a nullable time column read back.
func UTC(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Page is a window of an ordered result: at most Limit rows after the first
// Offset. A Limit of 0 means no limit; a negative Offset counts as 0.
// Callers bound both first (a page number times a limit must not
// overflow), since what is too far is theirs to say, in their own words.
type Page struct {
	Limit  int
	Offset int
}

// PageNumber is the page'th page (from 1) of limit rows each.
func PageNumber(page, limit int) Page {
	return Page{Limit: limit, Offset: (max(page, 1) - 1) * limit}
}

// Apply restricts q to the page.
func (p Page) Apply(q *bun.SelectQuery) *bun.SelectQuery {
	if p.Limit > 0 {
		q = q.Limit(int64(p.Limit))
	}
	if p.Offset > 0 {
		q = q.Offset(int64(p.Offset))
	}
	return q
}
