package orders

import (
	"fmt"
	"time"
)

// Status is an order's state. Only completed and partially refunded orders are purchases.
type Status uint8

const (
	StatusUnknown Status = iota
	StatusCompleted
	StatusCancelled
	StatusRefunded
	StatusPartiallyRefunded
)

var statusNames = [...]string{"", "completed", "cancelled", "refunded", "partially_refunded"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", s)
}

// ParseStatus maps the input column's text to a Status.
func ParseStatus(s string) (Status, bool) {
	for i := 1; i < len(statusNames); i++ {
		if s == statusNames[i] {
			return Status(i), true
		}
	}
	return StatusUnknown, false
}

// Counts reports whether an order with this status is a purchase. Cancelled and fully
// refunded orders are not; a partial refund has already lowered the order's amount.
func (s Status) Counts() bool { return s == StatusCompleted || s == StatusPartiallyRefunded }

// Day is a calendar date as days since 1970-01-01 (UTC). Dates travel as Days everywhere
// past the readers: they compare and subtract as integers, and Parquet DATE columns store
// exactly this number.
type Day int32

// DayOf returns the UTC calendar day of t.
func DayOf(t time.Time) Day {
	y, m, d := t.UTC().Date()
	return Day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// DayFromDate builds a Day from a calendar date.
func DayFromDate(y int, m time.Month, d int) Day {
	return Day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// Time returns midnight UTC of the day.
func (d Day) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// String formats the day as YYYY-MM-DD.
func (d Day) String() string { return d.Time().Format("2006-01-02") }

// ParseDay parses YYYY-MM-DD.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return 0, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	return DayOf(t), nil
}

// Order is one row of the orders input after validation.
type Order struct {
	OrderID    string
	CustomerID string
	OrderedAt  time.Time // UTC
	Day        Day       // UTC calendar day of OrderedAt
	Status     Status
	Amount     Money // order total after refunds
	Currency   string
	Channel    string // acquisition source; may be empty
}

// Line is one row of the optional order_lines input.
type Line struct {
	OrderID   string
	ProductID string
	Category  string
	Quantity  int64
	Amount    Money
}

// Customer is one row of the customers input. Email and Phone are raw personal data: they
// exist only until the contacts transform replaces them with hashes.
type Customer struct {
	CustomerID       string
	Email            string
	Phone            string
	Country          string // ISO 3166 alpha-2, upper case; may be empty
	MarketingConsent bool
	CreatedAt        Day
}

// Spend is one row of the optional spend input (acquisition spend, for CAC).
type Spend struct {
	Period   string // YYYY-MM
	Channel  string
	Amount   Money
	Currency string
}
