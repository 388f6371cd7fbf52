package orders

import (
	"fmt"
	"time"
	_ "time/tzdata" // IANA zones also where the system has none (containers, Dataflow workers)

	"github.com/audiencesync/audiencesync/transforms/value"
)

// Zone reads timestamps as calendar dates in the shop's time zone (metrics.timezone):
//
//   - a timestamp with an offset (RFC 3339: 2024-03-01T00:30:00+03:00, ...Z) is an instant,
//     converted to the zone before its date is taken;
//   - a timestamp without one (2024-03-01 00:30:00, 2024-03-01T00:30:00.5) is a wall-clock
//     time in the zone already, so its date is the written date;
//   - a date (2024-03-01) is that date.
//
// Every day, period, cohort and run date past the readers is such a date. A Zone caches the
// zone's offset around the last instant it converted: use one per goroutine.
type Zone struct {
	loc        *time.Location
	start, end int64 // [start, end): seconds where offset holds; empty at first
	offset     int64
}

// NewZone returns a Zone for loc (UTC when nil).
func NewZone(loc *time.Location) *Zone {
	if loc == nil {
		loc = time.UTC
	}
	return &Zone{loc: loc}
}

// LoadZone returns the Zone of an IANA time-zone name ("" is UTC).
func LoadZone(name string) (*Zone, error) {
	if name == "" {
		return NewZone(time.UTC), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not an IANA time zone (e.g. Europe/Moscow, UTC)", name)
	}
	return NewZone(loc), nil
}

// Location is the zone's time.Location.
func (z *Zone) Location() *time.Location { return z.loc }

// Today is the calendar date of t in the zone.
func (z *Zone) Today(t time.Time) value.Day {
	y, m, d := t.In(z.loc).Date()
	return value.DayFromDate(y, m, d)
}

// Day parses a date or timestamp (see Zone) and returns its date in the zone. Leading and
// trailing spaces are ignored; anything else that is not one of the forms is false.
func (z *Zone) Day(s string) (value.Day, bool) {
	s = trimSpace(s)
	if len(s) < 10 {
		return 0, false
	}
	y, ok1 := digits(s, 0, 4)
	mo, ok2 := digits(s, 5, 2)
	d, ok3 := digits(s, 8, 2)
	if !ok1 || !ok2 || !ok3 || s[4] != '-' || s[7] != '-' || y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) {
		return 0, false
	}
	day := daysFromCivil(y, mo, d)
	if len(s) == 10 {
		return value.Day(day), true
	}
	if len(s) < 19 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	h, ok1 := digits(s, 11, 2)
	mi, ok2 := digits(s, 14, 2)
	sec, ok3 := digits(s, 17, 2)
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || sec > 59 {
		return 0, false
	}
	i := 19
	if i < len(s) && s[i] == '.' {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i+1 || j-i-1 > 9 {
			return 0, false
		}
		i = j
	}
	if i == len(s) {
		return value.Day(day), true // no offset: a wall-clock time in the zone
	}
	var off int64
	switch rest := s[i:]; {
	case rest == "Z" || rest == "z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := digits(rest, 1, 2)
		om, ok2 := digits(rest, 4, 2)
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		off = int64(oh*3600 + om*60)
		if rest[0] == '-' {
			off = -off
		}
	default:
		return 0, false
	}
	unix := int64(day)*86400 + int64(h*3600+mi*60+sec) - off
	return z.dayOf(unix), true
}

// dayOf is the zone's date of the instant unix (seconds).
func (z *Zone) dayOf(unix int64) value.Day {
	if z.loc == time.UTC {
		return value.Day(floorDiv(unix, 86400))
	}
	if unix < z.start || unix >= z.end {
		t := time.Unix(unix, 0).In(z.loc)
		_, off := t.Zone()
		start, end := t.ZoneBounds()
		z.offset, z.start, z.end = int64(off), minInt64, maxInt64
		if !start.IsZero() {
			z.start = start.Unix()
		}
		if !end.IsZero() {
			z.end = end.Unix()
		}
	}
	return value.Day(floorDiv(unix+z.offset, 86400))
}

const (
	minInt64 = -1 << 63
	maxInt64 = 1<<63 - 1
)

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

// digits parses s[i:i+n] as a decimal number of exactly n digits.
func digits(s string, i, n int) (int, bool) {
	if i+n > len(s) {
		return 0, false
	}
	v := 0
	for _, c := range []byte(s[i : i+n]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is the number of days from 1970-01-01 to y-m-d in the proleptic Gregorian
// calendar (H. Hinnant's days_from_civil).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400 // y >= 0 here: Day accepts years 0001 to 9999
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
