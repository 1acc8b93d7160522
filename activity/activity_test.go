package activity_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/activity"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{in: "short", n: 10, want: "short"},
		{in: "exactly", n: 7, want: "exactly"},
		{in: "abcdef", n: 3, want: "abc"},
		{in: "héllo wörld", n: 4, want: "héll"},
		{in: "a\x00b", n: 10, want: "ab"},
		{in: "a\xffb", n: 10, want: "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, activity.Truncate(tt.in, tt.n))
		})
	}
}

func TestServiceStorage(t *testing.T) {
	dbtest.ForEachDB(t, activity.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := activity.New(activity.NewBunStore(db.DB), activity.Config{})
		base := store.Now().Add(-time.Hour)

		t.Run("validation", func(t *testing.T) {
			_, err := svc.Record(ctx, activity.Entry{Action: "x"})
			require.ErrorIs(t, err, errs.ErrInvalid)
			assert.Equal(t, []string{"userId"}, errs.As(err).FieldNames())
			_, err = svc.Record(ctx, activity.Entry{UserID: "u"})
			assert.Equal(t, []string{"action"}, errs.As(err).FieldNames())
			_, err = svc.Record(ctx, activity.Entry{UserID: "u", Action: "a", Details: json.RawMessage("{")})
			assert.Equal(t, []string{"details"}, errs.As(err).FieldNames())
			_, err = svc.Recent(ctx, "u", base, -1)
			require.ErrorIs(t, err, errs.ErrInvalid)
		})

		t.Run("recent keeps the latest, oldest first", func(t *testing.T) {
			for i := range 30 {
				_, err := svc.Record(ctx, activity.Entry{
					UserID: "alice", Action: "page-view", Summary: "Viewed page " + string(rune('A'+i%26)),
					At: base.Add(time.Duration(i) * time.Minute),
				})
				require.NoError(t, err)
			}
			_, err := svc.Record(ctx, activity.Entry{UserID: "bob", Action: "page-view", At: base.Add(50 * time.Minute)})
			require.NoError(t, err)

			got, err := svc.Recent(ctx, "alice", base.Add(5*time.Minute), 20)
			require.NoError(t, err)
			require.Len(t, got, 20)
			assert.Equal(t, base.Add(10*time.Minute), got[0].At, "the 20 latest of the 25 since the cut-off")
			assert.Equal(t, base.Add(29*time.Minute), got[19].At)
			for i := 1; i < len(got); i++ {
				assert.True(t, got[i].At.After(got[i-1].At))
				assert.Equal(t, "alice", got[i].UserID)
			}

			got, err = svc.Recent(ctx, "alice", base.Add(25*time.Minute), 0)
			require.NoError(t, err)
			assert.Len(t, got, 5, "since is inclusive")

			got, err = svc.Recent(ctx, "nobody", base, 10)
			require.NoError(t, err)
			assert.Empty(t, got)
		})

		t.Run("ties in time keep insertion order", func(t *testing.T) {
			at := base.Add(2 * time.Hour)
			for _, a := range []string{"first", "second", "third"} {
				_, err := svc.Record(ctx, activity.Entry{UserID: "carol", Action: a, At: at})
				require.NoError(t, err)
			}
			got, err := svc.Recent(ctx, "carol", at, 2)
			require.NoError(t, err)
			require.Len(t, got, 2)
			assert.Equal(t, "second", got[0].Action)
			assert.Equal(t, "third", got[1].Action)
		})

		t.Run("bounded sizes and details round trip", func(t *testing.T) {
			e, err := svc.Record(ctx, activity.Entry{
				UserID: "dave", Action: strings.Repeat("a", 300), Summary: strings.Repeat("s", 2000),
				Target: "page_1", Details: json.RawMessage(`{"pageId":"page_1"}`),
			})
			require.NoError(t, err)
			assert.NotZero(t, e.ID)
			assert.False(t, e.At.IsZero())
			_, err = svc.Record(ctx, activity.Entry{UserID: "dave", Action: "big", Details: json.RawMessage(`"` + strings.Repeat("x", 5000) + `"`)})
			require.NoError(t, err)

			got, err := svc.Recent(ctx, "dave", base, 10)
			require.NoError(t, err)
			require.Len(t, got, 2)
			assert.Len(t, got[0].Action, activity.MaxActionLength)
			assert.Len(t, got[0].Summary, activity.MaxSummaryLength)
			assert.Equal(t, "page_1", got[0].Target)
			assert.JSONEq(t, `{"pageId":"page_1"}`, string(got[0].Details))
			assert.JSONEq(t, `{"truncated":true,"bytes":5002}`, string(got[1].Details))
		})

		t.Run("prune", func(t *testing.T) {
			_, err := svc.Record(ctx, activity.Entry{UserID: "erin", Action: "old", At: base.Add(-48 * time.Hour)})
			require.NoError(t, err)
			_, err = svc.Record(ctx, activity.Entry{UserID: "erin", Action: "new", At: base})
			require.NoError(t, err)
			n, err := svc.Prune(ctx, base.Add(-24*time.Hour))
			require.NoError(t, err)
			assert.Equal(t, int64(1), n)
			got, err := svc.Recent(ctx, "erin", base.Add(-72*time.Hour), 10)
			require.NoError(t, err)
			require.Len(t, got, 1)
			assert.Equal(t, "new", got[0].Action)
		})
	})
}
