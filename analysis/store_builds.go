package analysis

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/internal/store"
)

// buildInputsRow keeps the failures fetched for a build analysis, so that
// a re-analysis needs no Jenkins. It goes with its result.
type buildInputsRow struct {
	bun.BaseModel `bun:"table:analysis_build_inputs,alias:abi"`

	JobID     string    `bun:"job_id,pk"`
	Inputs    []byte    `bun:"inputs,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

// createBuildInputs is the migration of the build inputs table, with its
// model frozen here.
func createBuildInputs(ctx context.Context, tx bun.Tx) error {
	type buildInputsRowV1 struct {
		bun.BaseModel `bun:"table:analysis_build_inputs,alias:abi"`

		JobID     string    `bun:"job_id,pk"`
		Inputs    []byte    `bun:"inputs,notnull"`
		CreatedAt time.Time `bun:"created_at,notnull"`
	}
	_, err := tx.NewCreateTable().Model((*buildInputsRowV1)(nil)).
		ForeignKey(`(job_id) REFERENCES analysis_results (job_id) ON DELETE CASCADE`).
		Exec(ctx)
	return err
}

// SaveResultWith saves a new job's result, its fetched inputs when not nil,
// and whatever also writes (the queued job), in one transaction.
func (s *BunStore) SaveResultWith(ctx context.Context, r StoredResult, inputs []byte, also func(ctx context.Context, tx bun.Tx) error) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		inTx := &BunStore{db: tx, lockRows: store.LocksRows(tx)}
		if err := inTx.SaveResult(ctx, r); err != nil {
			return err
		}
		if inputs != nil {
			if err := inTx.SaveBuildInputs(ctx, r.JobID, inputs); err != nil {
				return err
			}
		}
		return also(ctx, tx)
	})
}

// BuildInputs returns the stored inputs of a build analysis (JSON); found
// is false when there are none.
func (s *BunStore) BuildInputs(ctx context.Context, jobID string) ([]byte, bool, error) {
	var rows []buildInputsRow
	if err := s.db.NewSelect().Model(&rows).Where("job_id = ?", jobID).Scan(ctx); err != nil {
		return nil, false, fmt.Errorf("read inputs of %s: %w", jobID, store.Translate(err))
	}
	if len(rows) == 0 {
		return nil, false, nil
	}
	raw, err := decompress(rows[0].Inputs)
	if err != nil {
		return nil, false, fmt.Errorf("decode inputs of %s: %w", jobID, err)
	}
	return raw, true, nil
}

// SaveBuildInputs stores (or replaces) the inputs of a build analysis.
func (s *BunStore) SaveBuildInputs(ctx context.Context, jobID string, inputs []byte) error {
	packed, err := compress(inputs)
	if err != nil {
		return err
	}
	row := &buildInputsRow{JobID: jobID, Inputs: packed, CreatedAt: store.Now()}
	_, err = s.db.NewInsert().Model(row).On("CONFLICT (job_id) DO UPDATE").Set("inputs = EXCLUDED.inputs").Exec(ctx)
	if err != nil {
		return fmt.Errorf("save inputs of %s: %w", jobID, store.Translate(err))
	}
	return nil
}
