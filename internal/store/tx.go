package store

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// txKey marks the transaction that RunInTx runs its function in.
type txKey struct{}

// RunInTx runs fn in a transaction on db, committed when fn returns nil and
// rolled back otherwise. When ctx already carries a transaction that RunInTx
// began, fn joins it instead of beginning another: so a change in one domain
// package (a ticket) and the changes it causes in another (the task that
// takes it on, the audit events of both) commit or roll back together, and
// on SQLite, whose single connection a transaction holds, the inner work
// does not wait for a connection that the outer work keeps.
//
// Every domain store that offers Atomically builds it on RunInTx.
func RunInTx(ctx context.Context, db bun.IDB, fn func(ctx context.Context, tx bun.IDB) error) error {
	if tx, ok := ctx.Value(txKey{}).(bun.Tx); ok {
		return fn(ctx, tx)
	}
	return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return fn(context.WithValue(ctx, txKey{}, tx), tx)
	})
}

// InTx reports whether ctx carries a transaction that RunInTx began.
func InTx(ctx context.Context) bool {
	_, ok := ctx.Value(txKey{}).(bun.Tx)
	return ok
}

// LocksRows reports whether reads in tx must lock the rows they will
// change (SELECT … FOR UPDATE): so on PostgreSQL. SQLite transactions
// begin IMMEDIATE and hold the database's write lock already.
func LocksRows(tx bun.IDB) bool {
	return tx.Dialect().Name() == dialect.PG
}
