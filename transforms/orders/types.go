package orders

import (
	"fmt"

	"github.com/audiencesync/audiencesync/transforms/value"
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

// Order is one row of the orders input after validation.
type Order struct {
	OrderID    string
	CustomerID string
	Day        value.Day // calendar day of ordered_at in the shop's time zone (see Zone)
	Status     Status
	Amount     value.Money // order total after refunds
	Currency   string
	Channel    string // acquisition source; may be empty
}

// Line is one row of the optional order_lines input.
type Line struct {
	OrderID   string
	ProductID string
	Category  string
	Quantity  int64
	Amount    value.Money
}

// Customer is one row of the customers input. Email and Phone are raw personal data: they
// exist only until the contacts transform replaces them with hashes.
type Customer struct {
	CustomerID       string
	Email            string
	Phone            string
	Country          string // ISO 3166 alpha-2, upper case; may be empty
	MarketingConsent bool
	CreatedAt        value.Day // in the shop's time zone
}

// Spend is one row of the optional spend input (acquisition spend, for CAC).
type Spend struct {
	Period   string // YYYY-MM
	Channel  string
	Amount   value.Money
	Currency string
}
