package clv

import (
	"fmt"

	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// TimeUnit is the unit of x's time axis: recency, T and the horizon are measured in it, and
// the BG/NBD parameter alpha scales with it.
type TimeUnit string

const (
	Days  TimeUnit = "days"
	Weeks TimeUnit = "weeks"
)

// ParseTimeUnit accepts "days" or "weeks".
func ParseTimeUnit(s string) (TimeUnit, error) {
	switch TimeUnit(s) {
	case Days, Weeks:
		return TimeUnit(s), nil
	}
	return "", fmt.Errorf("unknown time unit %q (known: days, weeks)", s)
}

// DaysPer is the length of one unit in days.
func (u TimeUnit) DaysPer() float64 {
	if u == Weeks {
		return 7
	}
	return 1
}

// Stats are one customer's BG/NBD and Gamma-Gamma sufficient statistics as of an end day.
type Stats struct {
	X  float64 // frequency: distinct purchase days - 1
	TX float64 // recency: first to last purchase day, in time units
	T  float64 // age: first purchase day to the end day, in time units
	// MeanRepeatValue is the mean amount of the repeat purchase days (first day excluded,
	// same-day orders summed), in currency units; 0 when X == 0.
	MeanRepeatValue float64
}

// StatsOf computes the statistics of c from its purchases on or before end (the calibration
// end, inclusive). ok is false when the customer had no purchase by then: such a customer
// is not part of the model's population at that date.
func StatsOf(c *facts.Customer, end value.Day, unit TimeUnit) (s Stats, ok bool) {
	ps := c.Purchases
	if len(ps) == 0 || ps[0].Day > end {
		return Stats{}, false
	}
	first := ps[0].Day
	last := first
	days := 1
	var repeat value.Money // exact fixed-point sum of the repeat days' amounts
	for _, p := range ps[1:] {
		if p.Day > end {
			break
		}
		if p.Day != last {
			days++
			last = p.Day
		}
		if p.Day != first {
			repeat += p.Amount
		}
	}
	du := unit.DaysPer()
	s = Stats{
		X:  float64(days - 1),
		TX: float64(last-first) / du,
		T:  float64(end-first) / du,
	}
	if days > 1 {
		s.MeanRepeatValue = repeat.Float() / s.X
	}
	return s, true
}

// HoldoutPurchases counts c's distinct purchase days in (from, to]: the "actual" side of
// the holdout comparison, counted the same way as the calibration frequency.
func HoldoutPurchases(c *facts.Customer, from, to value.Day) int64 {
	var n int64
	var last value.Day
	seen := false
	for _, p := range c.Purchases {
		if p.Day <= from {
			continue
		}
		if p.Day > to {
			break
		}
		if !seen || p.Day != last {
			n++
			last, seen = p.Day, true
		}
	}
	return n
}
