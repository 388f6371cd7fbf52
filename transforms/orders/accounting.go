package orders

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/audiencesync/audiencesync/transforms/value"
)

// Counter names. The readers, the order-id join and the customer buckets count every row
// of every input under exactly one of used, not purchases or a dead-letter reason, so that
// for each input
//
//	rows_read = rows_used + rows_not_purchases + dead letters
//
// holds exactly (Account checks it after the run). Blank CSV lines are not rows.
func CounterRead(input string) string         { return "rows_read." + input }
func CounterUsed(input string) string         { return "rows_used." + input }
func CounterNotPurchases(input string) string { return "rows_not_purchases." + input }
func CounterDead(input, reason string) string { return "dead_letter." + input + "." + reason }

// CounterAmountUnits counts, per input, the absolute amounts of the rows that sums may
// add up (purchases, order lines, spend), in whole currency units rounded up per split.
func CounterAmountUnits(input string) string { return "amount_units." + input }

const (
	// CounterAfterRunDate counts the orders rows of rows_not_purchases.orders that are on
	// or after the run date (the rest are cancelled or refunded).
	CounterAfterRunDate = "orders_after_run_date"
	// CounterNoConsent counts customers (after duplicates) without marketing consent.
	CounterNoConsent = "customers_without_consent"
)

// Inputs lists the four inputs in the order summaries show them.
var Inputs = []string{InputOrders, InputLines, InputCustomers, InputSpend}

// DefaultMaxRejectedShare is the share of an input's rows that may be dead-lettered
// before the run fails: 1%. A real export loses a handful of rows; more is a broken export
// (wrong encoding, shifted columns, a changed date format) and tables built from the rest
// would be quietly wrong.
const DefaultMaxRejectedShare = 0.01

// Limit is one input's section of the `inputs:` config block.
type Limit struct {
	// MaxRejectedShare is the largest share of the input's rows (0..1) that may be
	// dead-lettered; above it the run fails. Default DefaultMaxRejectedShare.
	MaxRejectedShare *float64 `yaml:"max_rejected_share"`
}

// Limits is the `inputs:` config block: one Limit per input.
type Limits struct {
	Orders     Limit `yaml:"orders"`
	OrderLines Limit `yaml:"order_lines"`
	Customers  Limit `yaml:"customers"`
	Spend      Limit `yaml:"spend"`
}

// For returns the limit of an input.
func (l Limits) For(input string) Limit {
	switch input {
	case InputOrders:
		return l.Orders
	case InputLines:
		return l.OrderLines
	case InputCustomers:
		return l.Customers
	}
	return l.Spend
}

// MaxRejected is the input's threshold, the default when unset.
func (l Limits) MaxRejected(input string) float64 {
	if p := l.For(input).MaxRejectedShare; p != nil {
		return *p
	}
	return DefaultMaxRejectedShare
}

// Validate checks every share; path is where the block sits ("inputs").
func (l Limits) Validate(path string) error {
	for _, in := range Inputs {
		if p := l.For(in).MaxRejectedShare; p != nil && (math.IsNaN(*p) || *p < 0 || *p > 1) {
			return fmt.Errorf("%s.%s.max_rejected_share: %v (want a share from 0 to 1, e.g. 0.01 for 1%%)", path, in, *p)
		}
	}
	return nil
}

// Account is one input's row accounting after a run.
type Account struct {
	Read         int64            `json:"read"`
	Used         int64            `json:"used"`
	NotPurchases int64            `json:"not_purchases"`
	DeadLetters  int64            `json:"dead_letters"`
	ByReason     map[string]int64 `json:"dead_letters_by_reason,omitempty"`
	// RejectedShare is DeadLetters / Read; MaxRejectedShare the threshold it is held to.
	RejectedShare    float64 `json:"rejected_share"`
	MaxRejectedShare float64 `json:"max_rejected_share"`
	// AmountUnits bounds the sum of the input's amounts (CounterAmountUnits).
	AmountUnits int64 `json:"amount_units,omitempty"`
}

// Balanced reports whether read = used + not purchases + dead letters.
func (a Account) Balanced() bool { return a.Read == a.Used+a.NotPurchases+a.DeadLetters }

// String is the summary line: "read 1620 = used 1500 + not purchases 100 + dead letters
// 20 (1.23% rejected, limit 1.00%)".
func (a Account) String() string {
	eq := "="
	if !a.Balanced() {
		eq = "!="
	}
	return fmt.Sprintf("read %d %s used %d + not purchases %d + dead letters %d (%.2f%% rejected, limit %.2f%%)",
		a.Read, eq, a.Used, a.NotPurchases, a.DeadLetters, 100*a.RejectedShare, 100*a.MaxRejectedShare)
}

// AccountInputs sums a run's counters (name -> value, as the counter functions above
// name them) into one Account per input that was read.
func AccountInputs(counters map[string]int64, limits Limits) map[string]Account {
	out := map[string]Account{}
	get := func(in string) Account {
		a, ok := out[in]
		if !ok {
			a = Account{ByReason: map[string]int64{}, MaxRejectedShare: limits.MaxRejected(in)}
		}
		return a
	}
	for _, in := range Inputs {
		a := get(in)
		a.Read = counters[CounterRead(in)]
		a.Used = counters[CounterUsed(in)]
		a.NotPurchases = counters[CounterNotPurchases(in)]
		a.AmountUnits = counters[CounterAmountUnits(in)]
		prefix := "dead_letter." + in + "."
		for name, v := range counters {
			if reason, ok := strings.CutPrefix(name, prefix); ok {
				a.ByReason[reason] += v
				a.DeadLetters += v
			}
		}
		if a.Read == 0 && a.Used == 0 && a.NotPurchases == 0 && a.DeadLetters == 0 {
			continue // the input was not given
		}
		if a.Read > 0 {
			a.RejectedShare = float64(a.DeadLetters) / float64(a.Read)
		}
		out[in] = a
	}
	return out
}

// MaxAmountUnits is the most whole currency units an input's amounts may add up to: any
// sum the pipeline takes (a customer's revenue, a period's, a cohort's, a category's,
// spend) is a sum of some of them, and Money holds ±922,337,203,685,477.5807.
const MaxAmountUnits = math.MaxInt64 / value.MoneyScale

// CheckAccounts returns an error naming every input whose accounting does not balance,
// whose dead letters exceed its threshold, or whose amounts could overflow a sum, and
// when no orders row was a purchase (every table and audience would be empty): the run
// must then fail.
func CheckAccounts(accounts map[string]Account) error {
	var errs []error
	if o := accounts[InputOrders]; o.Used == 0 {
		errs = append(errs, fmt.Errorf("%s: no purchase among %d rows read: every table and audience would be empty (check the export, the run date and dead_letters/%s.csv)",
			InputOrders, o.Read, InputOrders))
	}
	for _, in := range slices.Sorted(maps.Keys(accounts)) {
		a := accounts[in]
		if !a.Balanced() {
			errs = append(errs, fmt.Errorf("%s: rows do not add up: %s (a bug: please report it with run_summary.json)", in, a))
		}
		if a.RejectedShare > a.MaxRejectedShare {
			errs = append(errs, fmt.Errorf("%s: %d of %d rows (%.2f%%) were rejected, above the limit of %.2f%% (inputs.%s.max_rejected_share): see dead_letters/%s.csv",
				in, a.DeadLetters, a.Read, 100*a.RejectedShare, 100*a.MaxRejectedShare, in, in))
		}
		if a.AmountUnits > MaxAmountUnits || a.AmountUnits < 0 {
			errs = append(errs, fmt.Errorf("%s: the amounts add up to more than %d currency units, so sums would overflow: look for mistyped amounts",
				in, int64(MaxAmountUnits)))
		}
	}
	return errors.Join(errs...)
}

// AmountTotal accumulates absolute amounts for CounterAmountUnits, saturating instead of
// wrapping.
type AmountTotal struct{ sum value.Money }

// Add adds |m|.
func (t *AmountTotal) Add(m value.Money) {
	if m < 0 {
		m = -m // -MinInt64 stays negative: caught below
	}
	if m < 0 || t.sum > math.MaxInt64-m {
		t.sum = math.MaxInt64
		return
	}
	t.sum += m
}

// Units is the total in whole currency units, rounded up; MaxAmountUnits+1 or more when
// it saturated.
func (t *AmountTotal) Units() int64 {
	if t.sum == math.MaxInt64 {
		return MaxAmountUnits + 1
	}
	u := int64(t.sum / value.MoneyScale)
	if t.sum%value.MoneyScale != 0 {
		u++
	}
	return u
}
