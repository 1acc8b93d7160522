package workflow_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/workflow"
)

func berlin(t *testing.T, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	require.NoError(t, err)
	return v
}

func TestCalendarTargetsCountWorkingTimeOnly(t *testing.T) {
	office := workflow.Calendar{TimeZone: "Europe/Berlin", Days: workflow.Weekdays(), Start: "09:00", End: "17:00", Holidays: []string{"2026-12-24", "2026-12-25"}}
	tueWed := workflow.Calendar{TimeZone: "Europe/Berlin", Days: []time.Weekday{time.Tuesday, time.Wednesday}, Start: "09:00", End: "17:00"}
	night := workflow.Calendar{TimeZone: "Europe/Berlin", Days: []time.Weekday{time.Sunday}, Start: "00:00", End: "06:00"}
	tests := []struct {
		name     string
		cal      workflow.Calendar
		from     string
		sla      time.Duration
		target   string
		workTime time.Duration // Working(from, target): the SLA itself
	}{
		{"within one day", office, "2026-12-07 10:00", 2 * time.Hour, "2026-12-07 12:00", 2 * time.Hour},
		{"ends exactly at closing", office, "2026-12-07 15:00", 2 * time.Hour, "2026-12-07 17:00", 2 * time.Hour},
		{"a minute more goes to the next morning", office, "2026-12-07 15:00", 2*time.Hour + time.Minute, "2026-12-08 09:01", 2*time.Hour + time.Minute},
		{"starts before opening", office, "2026-12-07 06:30", time.Hour, "2026-12-07 10:00", time.Hour},
		{"crosses a weekend", office, "2026-12-11 16:00", 2 * time.Hour, "2026-12-14 10:00", 2 * time.Hour},
		{"starts on a Saturday", office, "2026-12-12 11:00", time.Hour, "2026-12-14 10:00", time.Hour},
		{"crosses two holidays", office, "2026-12-23 16:00", 2 * time.Hour, "2026-12-28 10:00", 2 * time.Hour},
		// Clocks go forward on Sunday 2026-03-29 in Berlin: Monday 11:00
		// is 09:00 UTC, not 10:00.
		{"crosses a DST change", office, "2026-03-27 15:00", 4 * time.Hour, "2026-03-30 11:00", 4 * time.Hour},
		// Working only Tuesday and Wednesday: a Friday ticket is not
		// overdue at once, its clock starts on Tuesday.
		{"Tuesday and Wednesday only", tueWed, "2026-12-11 10:00", 8 * time.Hour, "2026-12-15 17:00", 8 * time.Hour},
		{"Tuesday and Wednesday, two days", tueWed, "2026-12-11 10:00", 9 * time.Hour, "2026-12-16 10:00", 9 * time.Hour},
		// 00:00-06:00 on the day the clocks skip 02:00-03:00 is 5 hours.
		{"a working day shortened by DST", night, "2026-03-29 00:00", 5 * time.Hour, "2026-03-29 06:00", 5 * time.Hour},
		{"its sixth hour is a week later", night, "2026-03-29 00:00", 6 * time.Hour, "2026-04-05 01:00", 6 * time.Hour},
		{"zero", office, "2026-12-07 10:00", 0, "2026-12-07 10:00", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from := berlin(t, tt.from)
			got, err := tt.cal.AddWorking(from, tt.sla)
			require.NoError(t, err)
			assert.Equal(t, berlin(t, tt.target).UTC(), got)
			w, err := tt.cal.Working(from, got)
			require.NoError(t, err)
			assert.Equal(t, tt.workTime, w)
		})
	}
}

func TestCalendarWorkingTimeBetween(t *testing.T) {
	office := workflow.Calendar{TimeZone: "Europe/Berlin", Days: workflow.Weekdays(), Start: "09:00", End: "17:00", Holidays: []string{"2026-12-24"}}
	for _, tt := range []struct {
		from, to string
		want     time.Duration
	}{
		{"2026-12-07 08:00", "2026-12-07 09:00", 0},
		{"2026-12-07 08:00", "2026-12-07 09:01", time.Minute},
		{"2026-12-07 17:00", "2026-12-08 09:00", 0},
		{"2026-12-11 12:00", "2026-12-14 12:00", 8 * time.Hour},
		{"2026-12-23 09:00", "2026-12-26 00:00", 16 * time.Hour},
		{"2026-12-07 12:00", "2026-12-07 11:00", 0},
	} {
		got, err := office.Working(berlin(t, tt.from), berlin(t, tt.to))
		require.NoError(t, err)
		assert.Equal(t, tt.want, got, "%s .. %s", tt.from, tt.to)
	}
}

func TestCalendarValidate(t *testing.T) {
	ok := workflow.Calendar{TimeZone: "America/New_York", Days: workflow.Weekdays(), Start: "08:30", End: "24:00", Holidays: []string{"2026-07-04"}}
	require.NoError(t, ok.Validate())
	for _, tt := range []struct {
		cal   workflow.Calendar
		field string
	}{
		{workflow.Calendar{TimeZone: "Mars/Olympus", Days: ok.Days, Start: "09:00", End: "17:00"}, "time_zone"},
		{workflow.Calendar{TimeZone: "", Days: ok.Days, Start: "09:00", End: "17:00"}, "time_zone"},
		{workflow.Calendar{TimeZone: "UTC", Start: "09:00", End: "17:00"}, "days"},
		{workflow.Calendar{TimeZone: "UTC", Days: []time.Weekday{7}, Start: "09:00", End: "17:00"}, "days"},
		{workflow.Calendar{TimeZone: "UTC", Days: ok.Days, Start: "9", End: "17:00"}, "start"},
		{workflow.Calendar{TimeZone: "UTC", Days: ok.Days, Start: "09:00", End: "24:01"}, "end"},
		{workflow.Calendar{TimeZone: "UTC", Days: ok.Days, Start: "09:00", End: "09:00"}, "end"},
		{workflow.Calendar{TimeZone: "UTC", Days: ok.Days, Start: "09:00", End: "17:00", Holidays: []string{"24.12.2026"}}, "holidays"},
	} {
		err := tt.cal.Validate()
		require.ErrorIs(t, err, errs.ErrInvalid, "%+v", tt.cal)
		assert.Equal(t, []string{tt.field}, errs.As(err).FieldNames(), "%+v", tt.cal)
	}
	_, err := ok.AddWorking(time.Now(), -time.Second)
	assert.ErrorIs(t, err, errs.ErrInvalid)
}
