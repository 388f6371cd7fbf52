// Package facts holds the per-customer facts that every downstream computation reads: the
// customer's counted purchases and order lines, in order, plus the few customer attributes
// that segments may use. Facts are built in plain Go inside the bucket DoFns of the nightly
// pipeline (one hash bucket of customers at a time) and never cross a shuffle one by one.
//
// A customer who bought in several currencies has one Facts per currency: money is never
// summed across currencies.
package facts

import (
	"cmp"
	"slices"
	"sort"

	"github.com/audiencesync/audiencesync/transforms/value"
)

// Purchase is one counted order (status completed or partially_refunded).
type Purchase struct {
	OrderID string
	Day     value.Day
	Amount  value.Money
	Channel string
}

// LineItem is the order lines of one category in one counted order, dated by the order:
// the nightly pipeline sums the lines of the same order and category into one item, since
// consumers only count distinct orders per category (segments) and sum amounts per
// category (k-means shares).
type LineItem struct {
	OrderID  string
	Day      value.Day
	Category string
	Amount   value.Money
	// A line's product_id and quantity are validated by the reader, but no consumer uses
	// them, so they are not carried past the line join (this keeps the shuffled line
	// batches small).
}

// Customer is everything known about one customer in one currency.
type Customer struct {
	CustomerID string
	Currency   string
	// Purchases sorted by (Day, OrderID): Purchases[0] is the first order (ties on the first
	// day break by the smallest order id, as metrics.md asks).
	Purchases []Purchase
	// Lines of the counted orders, sorted by (Day, OrderID, Category); the lines
	// of one order are adjacent.
	Lines []LineItem
	// From the customers input; zero values when the customer has no record there.
	HasRecord        bool
	Country          string
	MarketingConsent bool
	CreatedAt        value.Day
}

// Sort puts Purchases and Lines in their canonical order. Builders call it once after
// appending everything.
func (c *Customer) Sort() {
	slices.SortFunc(c.Purchases, func(a, b Purchase) int { return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.OrderID, b.OrderID)) })
	slices.SortFunc(c.Lines, func(a, b LineItem) int {
		return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.OrderID, b.OrderID), cmp.Compare(a.Category, b.Category))
	})
}

// Orders is the number of counted orders.
func (c *Customer) Orders() int { return len(c.Purchases) }

// FirstDay is the day of the first counted order; call only when Orders() > 0.
func (c *Customer) FirstDay() value.Day { return c.Purchases[0].Day }

// LastDay is the day of the last counted order; call only when Orders() > 0.
func (c *Customer) LastDay() value.Day { return c.Purchases[len(c.Purchases)-1].Day }

// Revenue is the sum of counted order amounts.
func (c *Customer) Revenue() value.Money {
	var s value.Money
	for _, p := range c.Purchases {
		s += p.Amount
	}
	return s
}

// AcquisitionChannel is the channel of the first order ("" when unknown).
func (c *Customer) AcquisitionChannel() string {
	if len(c.Purchases) == 0 {
		return ""
	}
	return c.Purchases[0].Channel
}

// Window returns the purchases with from <= Day < to, as a sub-slice (no copy).
func (c *Customer) Window(from, to value.Day) []Purchase {
	lo := sort.Search(len(c.Purchases), func(i int) bool { return c.Purchases[i].Day >= from })
	hi := sort.Search(len(c.Purchases), func(i int) bool { return c.Purchases[i].Day >= to })
	return c.Purchases[lo:hi]
}
