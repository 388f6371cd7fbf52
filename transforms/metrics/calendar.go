package metrics

import (
	"fmt"
	"time"

	"github.com/audiencesync/audiencesync/transforms/value"
)

// Calendar turns days into periods: calendar months (default) or ISO weeks (Monday to
// Sunday). A period is an int index that grows by one per period, so offsets between
// periods are plain subtraction.
type Calendar struct {
	Weeks bool
}

// CalendarFor returns the calendar for a --period value ("month" or "week").
func CalendarFor(period string) (Calendar, error) {
	switch period {
	case "", "month":
		return Calendar{}, nil
	case "week":
		return Calendar{Weeks: true}, nil
	}
	return Calendar{}, fmt.Errorf("period %q: want month or week", period)
}

// Name is "month" or "week".
func (c Calendar) Name() string {
	if c.Weeks {
		return "week"
	}
	return "month"
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Index is the period containing day d. Months count from January 1970; weeks from the
// Monday 1969-12-29 (1970-01-01 was a Thursday, so day d's Monday-based week is
// floor((d+3)/7)).
func (c Calendar) Index(d value.Day) int {
	if c.Weeks {
		return floorDiv(int(d)+3, 7)
	}
	y, m, _ := d.Time().Date()
	return (y-1970)*12 + int(m) - 1
}

// Start is the first day of period p.
func (c Calendar) Start(p int) value.Day {
	if c.Weeks {
		return value.Day(p*7 - 3)
	}
	y := 1970 + floorDiv(p, 12)
	m := p - floorDiv(p, 12)*12
	return value.DayFromDate(y, time.Month(m+1), 1)
}

// End is the last day of period p (inclusive).
func (c Calendar) End(p int) value.Day { return c.Start(p+1) - 1 }

// Label is YYYY-MM for months and the ISO week YYYY-Www for weeks.
func (c Calendar) Label(p int) string {
	if c.Weeks {
		y, w := c.Start(p).Time().ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	}
	t := c.Start(p).Time()
	return fmt.Sprintf("%04d-%02d", t.Year(), int(t.Month()))
}
