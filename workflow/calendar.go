package workflow

import (
	"fmt"
	"slices"
	"time"

	"github.com/bugflow/bugflow/errs"
)

// Calendar is a business-hours calendar: the hours of the working days in
// one time zone, without holidays. SLA time measured on it counts only
// working time: a target is so much working time after its start.
//
// Working hours are wall-clock times of the zone, so a day on which the
// clocks change has as much working time as its wall clock shows (an
// 09:00-17:00 day stays 8 hours; a 00:00-06:00 day loses or gains the hour
// that the change skips or repeats).
type Calendar struct {
	// TimeZone is an IANA zone name such as "Europe/Berlin".
	TimeZone string `json:"time_zone"`
	// Days are the working weekdays; at least one.
	Days []time.Weekday `json:"days"`
	// Start and End bound the working hours of each working day, "HH:MM"
	// on the zone's wall clock; End is after Start ("24:00" for midnight).
	Start string `json:"start"`
	End   string `json:"end"`
	// Holidays are dates ("2006-01-02", in the zone) without working hours.
	Holidays []string `json:"holidays"`
}

// calendar is a Calendar checked and ready to compute with.
type calendar struct {
	loc        *time.Location
	days       [7]bool
	start, end int // minutes after midnight
	holidays   map[string]bool
}

// parseClock reads "HH:MM" as minutes after midnight, up to 24:00.
func parseClock(s string) (int, bool) {
	var h, m int
	if n, err := fmt.Sscanf(s, "%2d:%2d", &h, &m); err != nil || n != 2 || len(s) != 5 {
		return 0, false
	}
	if h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

// compile checks c and names every problem in one Invalid error.
func (c Calendar) compile() (*calendar, error) {
	p := problems{}
	out := c.check(p, "")
	if err := p.err("invalid calendar"); err != nil {
		return nil, err
	}
	return out, nil
}

// check checks c, naming each problem under prefix + its field, and
// returns it ready to compute with when there is none.
func (c Calendar) check(into problems, prefix string) *calendar {
	p := problems{}
	defer func() {
		for f, msgs := range p {
			into[f] = append(into[f], msgs...)
		}
	}()
	out := &calendar{holidays: map[string]bool{}}
	loc, err := time.LoadLocation(c.TimeZone)
	if c.TimeZone == "" || err != nil {
		p.add(prefix+"time_zone", "must be an IANA time zone name such as Europe/Berlin")
	}
	out.loc = loc
	if len(c.Days) == 0 {
		p.add(prefix+"days", "needs at least one working day")
	}
	for _, d := range c.Days {
		if d < time.Sunday || d > time.Saturday {
			p.add(prefix+"days", "must be weekdays 0 (Sunday) to 6 (Saturday)")
			break
		}
		out.days[d] = true
	}
	start, okStart := parseClock(c.Start)
	end, okEnd := parseClock(c.End)
	switch {
	case !okStart:
		p.add(prefix+"start", "must be a time HH:MM")
	case !okEnd:
		p.add(prefix+"end", "must be a time HH:MM (24:00 for midnight)")
	case end <= start:
		p.add(prefix+"end", "must be after start")
	}
	out.start, out.end = start, end
	for _, h := range c.Holidays {
		if _, err := time.Parse(time.DateOnly, h); err != nil {
			p.add(prefix+"holidays", fmt.Sprintf("%q is not a date YYYY-MM-DD", h))
			continue
		}
		out.holidays[h] = true
	}
	if len(p) > 0 {
		return nil
	}
	return out
}

// Validate reports every problem with c as one Invalid error.
func (c Calendar) Validate() error {
	_, err := c.compile()
	return err
}

// window returns the working hours of the local day that begins at
// midnight (a time in the zone), and whether the day is worked at all.
func (c *calendar) window(midnight time.Time) (from, to time.Time, ok bool) {
	if !c.days[midnight.Weekday()] || c.holidays[midnight.Format(time.DateOnly)] {
		return time.Time{}, time.Time{}, false
	}
	y, m, d := midnight.Date()
	from = time.Date(y, m, d, 0, c.start, 0, 0, c.loc)
	to = time.Date(y, m, d, 0, c.end, 0, 0, c.loc)
	return from, to, true
}

// nextDay is the midnight of the local day after midnight's.
func (c *calendar) nextDay(midnight time.Time) time.Time {
	y, m, d := midnight.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, c.loc)
}

// dayOf is the midnight of t's local day.
func (c *calendar) dayOf(t time.Time) time.Time {
	y, m, d := t.In(c.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, c.loc)
}

// AddWorking returns the instant at which d of working time has passed
// since from: an SLA target on the calendar. A from outside working hours
// starts counting at the next working hour.
func (c Calendar) AddWorking(from time.Time, d time.Duration) (time.Time, error) {
	cal, err := c.compile()
	if err != nil {
		return time.Time{}, err
	}
	if d < 0 {
		return time.Time{}, errs.Invalidf("a working duration must not be negative")
	}
	return cal.add(from, d), nil
}

// add is AddWorking on a checked calendar; d must not be negative.
func (c *calendar) add(from time.Time, d time.Duration) time.Time {
	cursor := from
	for day := c.dayOf(from); ; day = c.nextDay(day) {
		open, close, ok := c.window(day)
		if !ok || !cursor.Before(close) {
			continue
		}
		if cursor.Before(open) {
			cursor = open
		}
		left := close.Sub(cursor)
		if d <= left {
			return cursor.Add(d).UTC()
		}
		d -= left
	}
}

// Working returns the working time between from and to (0 when to is not
// after from): how much of an SLA has elapsed on the calendar.
func (c Calendar) Working(from, to time.Time) (time.Duration, error) {
	cal, err := c.compile()
	if err != nil {
		return 0, err
	}
	return cal.between(from, to), nil
}

// between is Working on a checked calendar.
func (c *calendar) between(from, to time.Time) time.Duration {
	var total time.Duration
	for day := c.dayOf(from); day.Before(to); day = c.nextDay(day) {
		open, close, ok := c.window(day)
		if !ok {
			continue
		}
		lo, hi := maxTime(open, from), minTime(close, to)
		if hi.After(lo) {
			total += hi.Sub(lo)
		}
	}
	return total
}

// working reports whether t falls in working hours.
func (c *calendar) working(t time.Time) bool {
	open, close, ok := c.window(c.dayOf(t))
	return ok && !t.Before(open) && t.Before(close)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// weekdays is a helper for the common Monday-to-Friday calendar.
var weekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}

// Weekdays returns Monday to Friday, for Calendar.Days.
func Weekdays() []time.Weekday { return slices.Clone(weekdays) }
