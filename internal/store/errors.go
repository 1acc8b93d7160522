package store

import (
	"context"
	"database/sql"
	"errors"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/bugflow/bugflow/errs"
)

// Translate classifies a database driver error as an errs kind, so that domain
// code can test errors.Is(err, errs.ErrConflict) whatever the engine:
//
//	no rows                                  -> NotFound
//	unique or primary key violation          -> Conflict
//	foreign key violation                    -> Conflict
//	not null or check violation, too long    -> Invalid
//	busy, locked, deadlock, serialization,
//	connection failures                      -> Unavailable
//
// Context cancellation and unrecognised errors are returned unchanged. The
// driver error stays in the chain (errors.As still finds it) but its text never
// reaches an API response.
func Translate(err error) error {
	if err == nil || errs.As(err) != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return errs.Wrap(errs.NotFound, err, "not found")
	}
	if kind, ok := pgKind(err); ok {
		return errs.Wrap(kind, err, "%s", kindMessage[kind])
	}
	if kind, ok := sqliteKind(err); ok {
		return errs.Wrap(kind, err, "%s", kindMessage[kind])
	}
	var netErr net.Error
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) || errors.As(err, &netErr) || errors.Is(err, sql.ErrConnDone) {
		return errs.Wrap(errs.Unavailable, err, "%s", kindMessage[errs.Unavailable])
	}
	return err
}

var kindMessage = map[errs.Kind]string{
	errs.Conflict:    "conflicts with an existing record",
	errs.Invalid:     "violates a data constraint",
	errs.Unavailable: "the database is busy or unreachable; try again",
}

// pgKind classifies PostgreSQL SQLSTATE codes.
func pgKind(err error) (errs.Kind, bool) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return 0, false
	}
	switch pgErr.Code {
	case "23505", "23503": // unique_violation, foreign_key_violation
		return errs.Conflict, true
	case "23502", "23514", "22001": // not_null_violation, check_violation, string_data_right_truncation
		return errs.Invalid, true
	case "40001", "40P01", "55P03", "57P01", "53300": // serialization, deadlock, lock_not_available, admin_shutdown, too_many_connections
		return errs.Unavailable, true
	}
	return 0, false
}

// sqliteKind classifies SQLite extended result codes.
func sqliteKind(err error) (errs.Kind, bool) {
	var sqErr *sqlite.Error
	if !errors.As(err, &sqErr) {
		return 0, false
	}
	switch sqErr.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return errs.Conflict, true
	case sqlite3.SQLITE_CONSTRAINT_NOTNULL, sqlite3.SQLITE_CONSTRAINT_CHECK:
		return errs.Invalid, true
	}
	switch sqErr.Code() & 0xff { // primary result code
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return errs.Unavailable, true
	}
	return 0, false
}
