package clv

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gonum.org/v1/gonum/floats/scalar"

	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/value"
)

func cust(id string, first value.Day, buys ...[2]float64) *facts.Customer {
	c := &facts.Customer{CustomerID: id, Currency: "EUR"}
	for i, b := range buys {
		c.Purchases = append(c.Purchases, facts.Purchase{
			OrderID: id + string(rune('a'+i)), Day: first + value.Day(b[0]), Amount: value.MoneyFromFloat(b[1]),
		})
	}
	c.Sort()
	return c
}

// Purchases on day 0 (10 + 5), day 3 (20 + 30, one purchase day), day 10 (40) and day 20
// (after the calibration end on day 14):
//
//	x = 3 distinct days − 1 = 2; t_x = 10 days; T = 14 days;
//	m = (20 + 30 + 40) / 2 = 45 (first day excluded, same-day orders summed).
func TestStatsOfByHand(t *testing.T) {
	d0 := value.DayFromDate(2024, 1, 1)
	c := cust("c1", d0, [2]float64{0, 10}, [2]float64{0, 5}, [2]float64{3, 20}, [2]float64{3, 30}, [2]float64{10, 40}, [2]float64{20, 7})
	end := d0 + 14
	s, ok := StatsOf(c, end, Days)
	if !ok || !cmp.Equal(s, Stats{X: 2, TX: 10, T: 14, MeanRepeatValue: 45}) {
		t.Errorf("days: %+v %v", s, ok)
	}
	s, _ = StatsOf(c, end, Weeks)
	if s.X != 2 || !scalar.EqualWithinAbs(s.TX, 10.0/7, 1e-15) || s.T != 2 || s.MeanRepeatValue != 45 {
		t.Errorf("weeks: %+v", s)
	}
	if n := HoldoutPurchases(c, end, end+10); n != 1 {
		t.Errorf("holdout purchases = %d, want 1", n)
	}
	if n := HoldoutPurchases(c, d0-1, end); n != 3 {
		t.Errorf("purchase days in (d0-1, end] = %d, want 3", n)
	}
	// The calibration end is inclusive: an order on that very day counts.
	s, _ = StatsOf(c, d0+10, Days)
	if s.X != 2 || s.T != 10 || s.TX != 10 {
		t.Errorf("end on a purchase day: %+v", s)
	}
	if _, ok := StatsOf(c, d0-1, Days); ok {
		t.Error("a customer whose first purchase is after the end must be left out")
	}
	// A single purchase day with several orders: x = 0, no repeat value.
	s, _ = StatsOf(cust("c2", d0, [2]float64{0, 1}, [2]float64{0, 2}), d0+5, Weeks)
	if s.X != 0 || s.TX != 0 || s.MeanRepeatValue != 0 || s.T != 5.0/7 {
		t.Errorf("one purchase day: %+v", s)
	}
}

func TestAggregateMergeAndEncoding(t *testing.T) {
	d0 := value.DayFromDate(2024, 1, 1)
	spec := Spec{Unit: Weeks, CalibrationEnd: d0 + 30, HoldoutEnd: d0 + 60}
	cs := []*facts.Customer{
		cust("a", d0, [2]float64{0, 10}, [2]float64{7, 20}, [2]float64{40, 5}),
		cust("b", d0, [2]float64{0, 11}, [2]float64{7, 20}, [2]float64{45, 5}, [2]float64{50, 5}),
		cust("c", d0+2, [2]float64{0, 10}),
		cust("d", d0+2, [2]float64{0, 10}, [2]float64{1, 0}), // zero-valued repeat: not in Gamma-Gamma
		cust("e", d0+31, [2]float64{0, 10}),                  // first order after calibration end
	}
	one := NewAggregate(spec)
	added := 0
	for _, c := range cs {
		if one.AddCustomer(c) {
			added++
		}
	}
	if added != 4 || one.Customers() != 4 {
		t.Fatalf("added %d, customers %d; want 4", added, one.Customers())
	}
	// a and b share (x=1, t_x=1, T=30/7): one cell of 2 with 1+2 holdout purchase days.
	one.Sort()
	want := []Cell{
		{X: 0, TX: 0, T: 28.0 / 7, Count: 1},
		{X: 1, TX: 1.0 / 7, T: 28.0 / 7, Count: 1},
		{X: 1, TX: 1, T: 30.0 / 7, Count: 2, HoldoutPurchases: 3},
	}
	if diff := cmp.Diff(want, one.Cells); diff != "" {
		t.Errorf("cells (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]RepeatCell{{X: 1, M: 20, Count: 2}}, one.Repeat); diff != "" {
		t.Errorf("repeat cells (-want +got):\n%s", diff)
	}
	// Split in two parts, encode, decode, merge in the other order: same aggregate.
	p1, p2 := NewAggregate(spec), NewAggregate(spec)
	p1.AddCustomer(cs[2])
	p1.AddCustomer(cs[0])
	p2.AddCustomer(cs[1])
	p2.AddCustomer(cs[3])
	b2, _ := p2.MarshalBinary()
	var dec Aggregate
	if err := dec.UnmarshalBinary(b2); err != nil {
		t.Fatal(err)
	}
	if err := dec.Merge(p1); err != nil {
		t.Fatal(err)
	}
	dec.Sort()
	if diff := cmp.Diff(one, &dec, cmp.AllowUnexported(Aggregate{}), cmp.FilterPath(func(p cmp.Path) bool {
		return strings.HasSuffix(p.String(), "idx")
	}, cmp.Ignore())); diff != "" {
		t.Errorf("merged (-want +got):\n%s", diff)
	}
	if err := dec.UnmarshalBinary(b2[:len(b2)-3]); err == nil {
		t.Error("a truncated encoding must not decode")
	}
	other := NewAggregate(Spec{Unit: Days, CalibrationEnd: d0 + 30})
	if err := other.Merge(p1); err == nil || !strings.Contains(err.Error(), "cannot merge") {
		t.Errorf("merging different units: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Enabled: true}, ""},
		{Defaults(), ""},
		{Config{TimeUnit: "months"}, `clv.time_unit: unknown time unit "months" (known: days, weeks)`},
		{Config{HorizonDays: -1}, "clv.horizon_days: -1 is out of range"},
		{Config{Margin: 1.5}, "clv.margin: 1.5 is out of range"},
		{Config{DiscountRate: -0.1}, "clv.discount_rate: -0.1 is out of range"},
		{Config{DiscountPeriod: "quarter"}, `clv.discount_period: unknown period "quarter"`},
		{Config{Starts: 1000}, "clv.starts: 1000 is out of range"},
		{Config{FitSampleRate: 1.5}, "clv.fit_sample_rate: 1.5 is out of range"},
		{Config{CalibrationEnd: "2024-13-01"}, `clv.calibration_end: date "2024-13-01" is not YYYY-MM-DD`},
		{Config{HoldoutEnd: "2024-06-01"}, "clv.holdout_end: set calibration_end too"},
		{Config{CalibrationEnd: "2024-06-01", HoldoutEnd: "2024-06-01"}, "clv.holdout_end: 2024-06-01 is not after calibration_end 2024-06-01"},
	} {
		err := c.cfg.Validate("clv")
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want)) {
			t.Errorf("%+v: got %v, want %q", c.cfg, err, c.want)
		}
	}
	asOf := value.DayFromDate(2024, 7, 1)
	s, err := Config{DiscountRate: 0.1}.Resolve("clv", asOf)
	if err != nil || s.CalibrationEnd != asOf || s.Unit != Weeks || s.HorizonDays != 365 || s.Margin != 1 || s.Starts != 5 {
		t.Errorf("resolved defaults: %+v %v", s, err)
	}
	// (1 + 0.1)^(1/12) − 1 = 0.0079741404289...
	if math.Abs(s.MonthlyDiscount-0.00797414042890) > 1e-12 {
		t.Errorf("monthly discount %v", s.MonthlyDiscount)
	}
	if _, err := (Config{CalibrationEnd: "2024-08-01"}).Resolve("clv", asOf); err == nil || !strings.Contains(err.Error(), "after the run's as-of date") {
		t.Errorf("calibration end after as-of: %v", err)
	}
}

// With fit_sample_rate 0.25, about a quarter of the customers enter the aggregate (binomial
// sd for 20,000 ids: sqrt(20000·0.25·0.75) ≈ 61, so ±300 is ~5 sd), the same ones every
// time, and aggregates with different rates do not merge.
func TestAggregateSample(t *testing.T) {
	d0 := value.DayFromDate(2024, 1, 1)
	spec := Spec{Unit: Weeks, CalibrationEnd: d0 + 30, FitSampleRate: 0.25}
	a, b := NewAggregate(spec), NewAggregate(spec)
	var in int
	for i := 0; i < 20000; i++ {
		c := cust(fmt.Sprintf("C%07d", i), d0, [2]float64{0, 1})
		if a.AddCustomer(c) {
			in++
		}
		b.AddCustomer(c)
	}
	if in < 5000-300 || in > 5000+300 || a.Customers() != int64(in) || b.Customers() != a.Customers() {
		t.Errorf("sampled %d of 20000 (want about 5000); repeat %d", in, b.Customers())
	}
	full := NewAggregate(Spec{Unit: Weeks, CalibrationEnd: d0 + 30, FitSampleRate: 1})
	if err := full.Merge(a); err == nil {
		t.Error("merging different sample rates: want an error")
	}
}
