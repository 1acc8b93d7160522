package analytics_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/analyticstest"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/workflow/analytics"
)

func TestParseFilterReadsEveryParameter(t *testing.T) {
	f, err := analytics.ParseFilter(url.Values{"start_date": {"2026-03-10"}, "end_date": {"2026-03-14"},
		"workflow_id": {"7"}, "department": {"IT"}, "priority": {"High"}})
	require.NoError(t, err)
	assert.Equal(t, analytics.Filter{From: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC),
		WorkflowID: 7, Department: "IT", Priority: "High"}, f, "an end date covers its day")

	f, err = analytics.ParseFilter(url.Values{"start_date": {"2026-03-10T08:30:00+02:00"}, "end_date": {"2026-03-10T12:00:00Z"}})
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 3, 10, 6, 30, 0, 0, time.UTC), f.From, "in UTC")
	assert.Equal(t, time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC), f.To, "a time is taken as it is")

	f, err = analytics.ParseFilter(url.Values{})
	require.NoError(t, err)
	assert.Equal(t, analytics.Filter{}, f, "absent parameters leave the defaults to the service")
}

func TestParseFilterNamesEachBadParameter(t *testing.T) {
	for name, c := range map[string]struct {
		q      url.Values
		fields []string
	}{
		"not a date":         {url.Values{"start_date": {"yesterday"}}, []string{"start_date"}},
		"no such day":        {url.Values{"end_date": {"2026-02-30"}}, []string{"end_date"}},
		"before 1970":        {url.Values{"start_date": {"1969-12-31"}}, []string{"start_date"}},
		"reversed":           {url.Values{"start_date": {"2026-03-10"}, "end_date": {"2026-03-09"}}, []string{"end_date"}},
		"empty range":        {url.Values{"start_date": {"2026-03-10T00:00:00Z"}, "end_date": {"2026-03-10T00:00:00Z"}}, []string{"end_date"}},
		"longer than 731 d":  {url.Values{"start_date": {"2024-01-01"}, "end_date": {"2026-01-01"}}, []string{"end_date"}},
		"workflow zero":      {url.Values{"workflow_id": {"0"}}, []string{"workflow_id"}},
		"workflow negative":  {url.Values{"workflow_id": {"-3"}}, []string{"workflow_id"}},
		"workflow not a num": {url.Values{"workflow_id": {"abc"}}, []string{"workflow_id"}},
		"priority unknown":   {url.Values{"priority": {"high"}}, []string{"priority"}},
		"department long":    {url.Values{"department": {strings.Repeat("d", analytics.MaxDepartmentLength+1)}}, []string{"department"}},
		"department NUL":     {url.Values{"department": {"I\x00T"}}, []string{"department"}},
		"several":            {url.Values{"start_date": {"x"}, "workflow_id": {"0"}, "priority": {"none"}}, []string{"priority", "start_date", "workflow_id"}},
		"reversed and more":  {url.Values{"start_date": {"2026-03-10"}, "end_date": {"2026-03-01"}, "workflow_id": {"0"}}, []string{"end_date", "workflow_id"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := analytics.ParseFilter(c.q)
			e := errs.As(err)
			require.NotNil(t, e, "%v", err)
			assert.Equal(t, errs.Invalid, e.Kind)
			assert.Equal(t, c.fields, e.FieldNames())
		})
	}
}

// Both sides of each limit pass or fail as documented.
func TestParseFilterLimits(t *testing.T) {
	// 2024-01-01 to the end of 2025-12-31 is exactly 731 days (2024 is a
	// leap year); a day more is too long.
	_, err := analytics.ParseFilter(url.Values{"start_date": {"2024-01-01"}, "end_date": {"2025-12-31"}})
	assert.NoError(t, err)
	_, err = analytics.ParseFilter(url.Values{"start_date": {"2024-01-01"}, "end_date": {"2026-01-01"}})
	assert.Error(t, err)
	// 23:59 before the end is a range; the end itself is not.
	_, err = analytics.ParseFilter(url.Values{"start_date": {"2026-03-10T23:59:00Z"}, "end_date": {"2026-03-11"}})
	assert.NoError(t, err, "end date 03-11 covers 03-11")
	_, err = analytics.ParseFilter(url.Values{"start_date": {"2026-03-12T00:01:00Z"}, "end_date": {"2026-03-11"}})
	assert.Error(t, err)
	_, err = analytics.ParseFilter(url.Values{"department": {strings.Repeat("é", analytics.MaxDepartmentLength)}})
	assert.NoError(t, err, "characters, not bytes")
	_, err = analytics.ParseFilter(url.Values{"workflow_id": {"1"}})
	assert.NoError(t, err)
}

// The service fills in a filter's zero times from its clock, and checks
// a range that only becomes reversed once filled in.
func TestDefaultRangeIsTheLast30Days(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		require.NoError(t, analyticstest.Seed(ctx, db.DB))
		now := analyticstest.Now
		svc := analytics.New(db.DB, analytics.Config{Now: func() time.Time { return now }})
		d, err := svc.TicketStatus(ctx, analytics.Filter{})
		require.NoError(t, err)
		assert.Equal(t, now, d.Filters.To)
		assert.Equal(t, now.Add(-30*24*time.Hour), d.Filters.From)
		assert.Equal(t, 9, d.Total, "every seeded ticket is in the last 30 days")

		_, err = svc.TicketStatus(ctx, analytics.Filter{From: now.Add(time.Hour)})
		assert.Equal(t, []string{"end_date"}, errs.As(err).FieldNames(), "a start after now is reversed")
	})
}

// workflow_id, department and priority keep their tickets and tasks only.
func TestFilterScopes(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc, f := seeded(t, db)
		count := func(g analytics.Filter) (tickets, tasks, assignments int) {
			d, err := svc.TicketStatus(ctx, g)
			require.NoError(t, err)
			ts, err := svc.TaskStatus(ctx, g)
			require.NoError(t, err)
			o, err := svc.TaskOrigin(ctx, g)
			require.NoError(t, err)
			return d.Total, ts.Total, o.Total
		}
		w2 := f
		w2.WorkflowID = analyticstest.W2
		tk, ta, as := count(w2)
		assert.Equal(t, []int{2, 2, 2}, []int{tk, ta, as}, "W2: T4 T5; tasks 4 5; a7 a8")

		hr := f
		hr.Department = "HR"
		tk, ta, as = count(hr)
		assert.Equal(t, []int{2, 2, 2}, []int{tk, ta, as}, "HR is W2's department")

		it := f
		it.Department = "IT"
		tk, ta, as = count(it)
		assert.Equal(t, []int{4, 3, 6}, []int{tk, ta, as}, "IT: T1 T2 T3 T7; tasks 1-3; a1-a6")

		high := f
		high.Priority = "High"
		tk, ta, as = count(high)
		assert.Equal(t, []int{2, 2, 4}, []int{tk, ta, as}, "High: T1 T2; tasks 1 2; a1-a4")

		none := f
		none.WorkflowID = 99
		tk, ta, as = count(none)
		assert.Equal(t, []int{0, 0, 0}, []int{tk, ta, as})
	})
}

// The range is [From, To): a ticket created at From is in, one created at
// To is out, each a microsecond either way the other side.
func TestRangeBoundsOnBothSides(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc, f := seeded(t, db)
		total := func(from, to time.Time) int {
			g := f
			g.From, g.To = from, to
			d, err := svc.TicketStatus(ctx, g)
			require.NoError(t, err)
			return d.Total
		}
		t1 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)  // T1's creation
		t5 := time.Date(2026, 3, 14, 23, 0, 0, 0, time.UTC) // T5's creation
		assert.Equal(t, 6, total(t1, t5.Add(time.Microsecond)), "T1 at From is in; T5 a microsecond before To is in")
		assert.Equal(t, 5, total(t1, t5), "T5 at To is out")
		assert.Equal(t, 5, total(t1.Add(time.Microsecond), t5.Add(time.Microsecond)), "T1 a microsecond before From is out")
		// An end date covers its day to 24:00: T5 at 23:00 of 03-14 is in
		// with end_date=2026-03-14 and out with end_date=2026-03-13.
		g, err := analytics.ParseFilter(url.Values{"start_date": {"2026-03-10"}, "end_date": {"2026-03-13"}})
		require.NoError(t, err)
		assert.Equal(t, 5, total(g.From, g.To))
		assert.Equal(t, 6, total(f.From, f.To))
	})
}
