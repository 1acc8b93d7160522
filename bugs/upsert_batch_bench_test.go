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
// of a storm: new=false) or that are all new (new=true), upsertBatch (a
// SELECT and one multi-row upsert) with Upsert per fingerprint (its short
// join UPDATE, tried first for a fingerprint the store has seen; for a new
// one the legacy join and the insert).
func BenchmarkUpsertBatch(b *testing.B) {
	for _, backend := range dbtest.Backends() {
		db := dbtest.Open(b, backend.NewURL(b), Migrations())
		st := NewBunStore(db.DB)
		ctx := context.Background()
		round := 0
		for _, fresh := range []bool{false, true} {
			for _, n := range []int{1, 2, 4, 8, 16, 64} {
				for _, oneByOne := range []bool{false, true} {
					b.Run(fmt.Sprintf("%s/new=%v/fingerprints=%d/oneByOne=%v", backend.Name, fresh, n, oneByOne), func(b *testing.B) {
						for b.Loop() {
							round++
							now := time.Now().UTC().Truncate(time.Microsecond)
							ops := make([]*batchOp, n)
							for i := range ops {
								fp := fmt.Sprintf("bench-%d", i)
								if fresh {
									fp = fmt.Sprintf("bench-new-%d-%d", round, i)
								}
								r := Report{ID: newID(), Source: SourceAutoServer, Severity: SeverityHigh, Status: StatusOpen,
									Title: "t", OccurrenceCount: 1, Fingerprint: fp, NormaliserVersion: NormaliserVersion,
									OccurredAt: now, FirstSeenAt: now, LastSeenAt: now, CreatedAt: now, UpdatedAt: now}
								// The legacy fingerprint, as Auto gives it.
								ops[i] = &batchOp{r: &r, legacy: "legacy-" + fp, windowStart: now.Add(-DefaultDedupWindow)}
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
}
