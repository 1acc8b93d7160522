package bugs

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bugflow/bugflow/internal/dbtest"
)

// BenchmarkUpsertBatch compares, for one transaction of n fingerprints
// that all have an active report this store has seen (the hot fingerprints
// of a storm), upsertBatch (a SELECT and one multi-row upsert) with Upsert
// per fingerprint (its short join UPDATE, tried first for a fingerprint
// the store has seen).
func BenchmarkUpsertBatch(b *testing.B) {
	for _, backend := range dbtest.Backends() {
		db := dbtest.Open(b, backend.NewURL(b), Migrations())
		st := NewBunStore(db.DB)
		ctx := context.Background()
		for _, n := range []int{1, 2, 4, 8, 16, 64} {
			for _, oneByOne := range []bool{false, true} {
				b.Run(fmt.Sprintf("%s/fingerprints=%d/oneByOne=%v", backend.Name, n, oneByOne), func(b *testing.B) {
					for b.Loop() {
						now := time.Now().UTC().Truncate(time.Microsecond)
						ops := make([]*batchOp, n)
						for i := range ops {
							r := Report{ID: newID(), Source: SourceAutoServer, Severity: SeverityHigh, Status: StatusOpen,
								Title: "t", OccurrenceCount: 1, Fingerprint: fmt.Sprintf("bench-%d", i), NormaliserVersion: NormaliserVersion,
								OccurredAt: now, FirstSeenAt: now, LastSeenAt: now, CreatedAt: now, UpdatedAt: now}
							ops[i] = &batchOp{r: &r, windowStart: now.Add(-DefaultDedupWindow)}
						}
						err := st.Atomically(ctx, func(ctx context.Context, tx Store) error {
							if oneByOne {
								return writeOneByOne(ctx, tx, ops)
							}
							return tx.(*BunStore).upsertBatch(ctx, ops)
						})
						if err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
