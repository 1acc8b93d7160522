package mlpipeline

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

// Text that no engine can store (a NUL, invalid UTF-8) in column overrides
// or a prediction request is the caller's mistake, named by field.
func TestTextThatCannotBeStoredIsInvalid(t *testing.T) {
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := New(NewBunStore(db.DB), Config{})
		alice := Caller{UserID: "alice"}
		for _, bad := range []string{"Sum\x00mary", "Sum\xffmary"} {
			_, err := svc.CreateTraining(ctx, alice, TrainingRequest{Files: []string{"a.csv"}, TextColumns: []string{"Title", bad}})
			require.ErrorIs(t, err, errs.ErrInvalid)
			assert.Equal(t, []string{"text_columns"}, errs.As(err).FieldNames())
			_, err = svc.CreateTraining(ctx, alice, TrainingRequest{Files: []string{"a.csv"}, TargetColumns: []string{bad}})
			require.ErrorIs(t, err, errs.ErrInvalid)
			assert.Equal(t, []string{"target_columns"}, errs.As(err).FieldNames())
			_, err = svc.Predict(ctx, alice, "train_x", bad)
			require.ErrorIs(t, err, errs.ErrInvalid)
			assert.Equal(t, []string{"request_string"}, errs.As(err).FieldNames())
		}
	})
}
