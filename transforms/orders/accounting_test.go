package orders

import (
	"math"
	"strings"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/value"
)

func share(v float64) *float64 { return &v }

// Counters of a run, by hand: orders 1000 = 900 used + 80 not purchases + 20 dead (2%,
// above the 1% default); lines balance; customers do not (a bug must fail the run).
func TestAccountAndCheck(t *testing.T) {
	counters := map[string]int64{
		"rows_read.orders": 1000, "rows_used.orders": 900, "rows_not_purchases.orders": 80,
		"dead_letter.orders.bad_date": 15, "dead_letter.orders.duplicate_order_id": 5,
		"rows_read.order_lines": 500, "rows_used.order_lines": 450, "rows_not_purchases.order_lines": 49, "dead_letter.order_lines.bad_quantity": 1,
		"rows_read.customers": 10, "rows_used.customers": 9,
		"dead_letter.contacts.email_invalid": 3, // not an input: no account
		"orders_after_run_date":              30,
	}
	acc := AccountInputs(counters, Limits{})
	if len(acc) != 3 {
		t.Fatalf("accounts %v, want orders, order_lines, customers", acc)
	}
	o := acc[InputOrders]
	if o.Read != 1000 || o.Used != 900 || o.NotPurchases != 80 || o.DeadLetters != 20 || o.ByReason["bad_date"] != 15 || !o.Balanced() ||
		math.Abs(o.RejectedShare-0.02) > 1e-12 || o.MaxRejectedShare != 0.01 {
		t.Errorf("orders %+v", o)
	}
	if got := o.String(); got != "read 1000 = used 900 + not purchases 80 + dead letters 20 (2.00% rejected, limit 1.00%)" {
		t.Errorf("String() = %q", got)
	}
	if acc[InputCustomers].Balanced() || !strings.Contains(acc[InputCustomers].String(), "read 10 != used 9") {
		t.Errorf("customers %+v", acc[InputCustomers])
	}
	err := CheckAccounts(acc)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"orders: 20 of 1000 rows (2.00%) were rejected, above the limit of 1.00% (inputs.orders.max_rejected_share)",
		"customers: rows do not add up"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "order_lines") {
		t.Errorf("order_lines (0.2%%, balanced) reported: %v", err)
	}
	// A raised limit lets orders pass; balanced customers then leave no error.
	counters["rows_used.customers"] = 10
	if err := CheckAccounts(AccountInputs(counters, Limits{Orders: Limit{share(0.05)}})); err != nil {
		t.Errorf("orders at 2%% with a 5%% limit: %v", err)
	}
	// Every row rejected: 100%, whatever the count.
	all := AccountInputs(map[string]int64{"rows_read.spend": 3, "dead_letter.spend.bad_period": 3, "rows_read.orders": 1, "rows_used.orders": 1}, Limits{})
	if err := CheckAccounts(all); err == nil || !strings.Contains(err.Error(), "3 of 3 rows (100.00%)") {
		t.Errorf("all rejected: %v", err)
	}
	// A limit of 0 allows none; 1 allows all.
	one := map[string]int64{"rows_read.spend": 100, "rows_used.spend": 99, "dead_letter.spend.bad_period": 1, "rows_read.orders": 1, "rows_used.orders": 1}
	if CheckAccounts(AccountInputs(one, Limits{Spend: Limit{share(0)}})) == nil || CheckAccounts(AccountInputs(all2(), Limits{Spend: Limit{share(1)}})) != nil {
		t.Error("limits 0 and 1")
	}
}

func all2() map[string]int64 {
	return map[string]int64{"rows_read.spend": 3, "dead_letter.spend.bad_period": 3, "rows_read.orders": 1, "rows_used.orders": 1}
}

// No purchase at all (a header-only export, everything cancelled): the run fails rather
// than publish empty tables and empty every audience.
func TestNoPurchaseFails(t *testing.T) {
	for _, c := range []map[string]int64{
		{},
		{"rows_read.orders": 2, "rows_not_purchases.orders": 2},
	} {
		if err := CheckAccounts(AccountInputs(c, Limits{})); err == nil || !strings.Contains(err.Error(), "orders: no purchase among") {
			t.Errorf("%v: %v", c, err)
		}
	}
}

// Two accepted orders of 9e14 each: their sum cannot be held by Money (±9.22e14), so the
// run fails instead of writing a wrapped negative revenue.
func TestAmountsThatWouldOverflow(t *testing.T) {
	var tot AmountTotal
	nine, _ := value.ParseMoney("900000000000000")
	tot.Add(nine)
	if tot.Units() != 900000000000000 {
		t.Fatalf("units %d", tot.Units())
	}
	tot.Add(nine) // saturates
	acc := AccountInputs(map[string]int64{"rows_read.orders": 2, "rows_used.orders": 2, CounterAmountUnits(InputOrders): tot.Units()}, Limits{})
	if err := CheckAccounts(acc); err == nil || !strings.Contains(err.Error(), "orders: the amounts add up to more than 922337203685477 currency units") {
		t.Errorf("overflow: %v", err)
	}
	// Split totals add up across splits as counters do: 2 x 5e14 also fails.
	half, _ := value.ParseMoney("500000000000000")
	var a, b AmountTotal
	a.Add(half)
	b.Add(-half) // a negative line amount counts by its size
	acc = AccountInputs(map[string]int64{"rows_read.orders": 1, "rows_used.orders": 1,
		"rows_read.order_lines": 2, "rows_used.order_lines": 2, CounterAmountUnits(InputLines): a.Units() + b.Units()}, Limits{})
	if err := CheckAccounts(acc); err == nil {
		t.Error("two splits of 5e14: no error")
	}
	// Rounding up: 0.0001 is one unit, 1.5 two.
	var c AmountTotal
	c.Add(1)
	if c.Units() != 1 {
		t.Errorf("0.0001 -> %d units", c.Units())
	}
	c.Add(15000 - 1)
	if c.Units() != 2 {
		t.Errorf("1.5 -> %d units", c.Units())
	}
	var m AmountTotal
	m.Add(math.MinInt64)
	if m.Units() <= MaxAmountUnits {
		t.Errorf("MinInt64 did not saturate: %d", m.Units())
	}
}

func TestLimitsValidate(t *testing.T) {
	if err := (Limits{Customers: Limit{share(1.01)}}).Validate("inputs"); err == nil || !strings.Contains(err.Error(), "inputs.customers.max_rejected_share: 1.01") {
		t.Errorf("1.01: %v", err)
	}
	if err := (Limits{OrderLines: Limit{share(math.NaN())}}).Validate("inputs"); err == nil {
		t.Error("NaN accepted")
	}
	if err := (Limits{Orders: Limit{share(0)}, Spend: Limit{share(1)}}).Validate("inputs"); err != nil {
		t.Error(err)
	}
}
