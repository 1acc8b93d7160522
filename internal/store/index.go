package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
)

// Index declares an index that a migration creates with CreateIndexes.
// Migrations are frozen, so what CreateIndexes renders for a declaration
// must never change.
type Index struct {
	Table string
	Name  string
	// Columns are column names or expressions (lower(username)), as SQL.
	Columns []string
	Unique  bool
	// Where makes a partial index (both engines support them), as SQL.
	Where string
}

// CreateIndexes creates each index that does not exist yet, in order.
func CreateIndexes(ctx context.Context, db bun.IDB, indexes ...Index) error {
	for _, ix := range indexes {
		q := db.NewCreateIndex().IfNotExists().Table(ix.Table).Index(ix.Name).
			ColumnExpr(strings.Join(ix.Columns, ", "))
		if ix.Unique {
			q = q.Unique()
		}
		if ix.Where != "" {
			q = q.Where(ix.Where)
		}
		if _, err := q.Exec(ctx); err != nil {
			return fmt.Errorf("create index %s: %w", ix.Name, Translate(err))
		}
	}
	return nil
}
