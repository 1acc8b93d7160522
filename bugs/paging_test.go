package bugs_test

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/bugs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

// Pages are numbered 1 to MaxPage: a page past the data is empty and has no
// next page, one beyond MaxPage (up to the largest int, whose offset would
// overflow) is Invalid naming page.
func TestListPagesAreBounded(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc, _ := newServices(db)
		_, err := svc.Create(ctx, bugs.CreateInput{Title: "t", Source: bugs.SourceUserCommand})
		require.NoError(t, err)

		for _, limit := range []int{0, bugs.MaxLimit, math.MaxInt} {
			page, err := svc.List(ctx, bugs.ListFilter{Page: bugs.MaxPage, Limit: limit})
			require.NoError(t, err)
			assert.Empty(t, page.Items)
			assert.Equal(t, 1, page.Total)
			assert.Equal(t, bugs.MaxPage, page.Page)
			assert.False(t, page.HasNextPage)
			assert.True(t, page.HasPrevPage)
		}
		for _, p := range []int{bugs.MaxPage + 1, math.MaxInt, -1, math.MinInt} {
			_, err := svc.List(ctx, bugs.ListFilter{Page: p})
			requireInvalidField(t, err, "page")
		}
	})
}
