package model

import (
	"reflect"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/clv"
	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/metrics"
	"github.com/audiencesync/audiencesync/transforms/nightly"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/rfm"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Days since 1970-01-01 by hand: 2024-01-01 = 19723, so 2024-03-01 = 19783 (a leap year).
const runDate value.Day = 19783

func pu(id string, d value.Day, a value.Money, ch string) facts.Purchase {
	return facts.Purchase{OrderID: id, Day: d, Amount: a, Channel: ch}
}

func testSettings(t *testing.T) *Settings {
	cal, err := metrics.CalendarFor("month")
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.Config{RunDate: runDate, Calendar: cal}
	m.Defaults()
	spec, err := clv.Defaults().Resolve("clv", runDate)
	if err != nil {
		t.Fatal(err)
	}
	return &Settings{Metrics: m, RFM: rfm.Defaults(), CLVEnabled: true, CLV: spec}
}

// shopBuckets are three buckets' worth of customers.
func shopBuckets() []*nightly.BucketData {
	c := func(id, cur string, ps ...facts.Purchase) *facts.Customer {
		return &facts.Customer{CustomerID: id, Currency: cur, Purchases: ps}
	}
	return []*nightly.BucketData{
		{Customers: []*facts.Customer{c("C1", "RUB", pu("O1", 19732, 1000000, "ads"), pu("O2", 19763, 505000, ""))}},
		{Customers: []*facts.Customer{c("C3", "EUR", pu("O5", 19742, 300000, "email"))}},
		{Customers: []*facts.Customer{c("C5", "RUB", pu("O7", 19500, 200000, "seo"), pu("O8", 19600, 100000, ""), pu("O9", 19780, 50000, "ads")),
			c("C6", "RUB", pu("O10", 19740, 70000, "ads"))}},
	}
}

func partialOf(t *testing.T, bds ...*nightly.BucketData) *Partial {
	p := NewPartial()
	for _, bd := range bds {
		p.Add(bd, testSettings(t))
	}
	return p
}

func TestPartialRoundTripAndMerge(t *testing.T) {
	b := shopBuckets()
	// Base-wide totals by hand. RUB: C1 (2 orders, 150.5), C5 (3 orders, 35), C6 (1, 7):
	// 3 customers, 2 repeat, 6 orders, 3 first (100+20+7 = 127), 3 repeat (50.5+10+5 = 65.5).
	wantRUB := metrics.Totals{Customers: 3, RepeatCustomers: 2, Orders: 6, FirstOrders: 3, RepeatOrders: 3,
		Revenue: 1925000, RevenueFirst: 1270000, RevenueRepeat: 655000}
	wantEUR := metrics.Totals{Customers: 1, Orders: 1, FirstOrders: 1, Revenue: 300000, RevenueFirst: 300000}

	all := partialOf(t, b[0], b[1], b[2])
	if got := *all.Metrics.Totals["RUB"]; got != wantRUB {
		t.Errorf("RUB totals %+v, want %+v", got, wantRUB)
	}
	if got := *all.Metrics.Totals["EUR"]; got != wantEUR {
		t.Errorf("EUR totals %+v, want %+v", got, wantEUR)
	}

	roundTrip := func(p *Partial) *Partial {
		b, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		q := &Partial{}
		if err := q.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		return q
	}

	// The wire encoding keeps everything.
	dec := roundTrip(all)
	if !reflect.DeepEqual(dec.Metrics, all.Metrics) {
		t.Errorf("metrics changed through Encode/Decode")
	}
	if len(dec.RFM) != 2 || len(dec.CLV) != 2 || dec.CLV["RUB"].Customers() != all.CLV["RUB"].Customers() {
		t.Errorf("rfm %d, clv %d currencies after decode", len(dec.RFM), len(dec.CLV))
	}
	enc, err := all.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if err := (&Partial{}).UnmarshalBinary(enc[:len(enc)/2]); err == nil {
		t.Error("half a partial decoded")
	}

	// Spend rows ride along: merged by concatenation and kept through the encoding.
	sp := NewPartial()
	sp.Spend = []orders.Spend{{Period: "2024-01", Channel: "ads", Amount: 1234500, Currency: "RUB"}}
	sp2 := NewPartial()
	sp2.Spend = []orders.Spend{{Period: "2024-02", Channel: "", Amount: 1, Currency: "EUR"}}
	if err := sp.Merge(sp2); err != nil {
		t.Fatal(err)
	}
	spDec := roundTrip(sp)
	wantSpend := []orders.Spend{{Period: "2024-01", Channel: "ads", Amount: 1234500, Currency: "RUB"}, {Period: "2024-02", Amount: 1, Currency: "EUR"}}
	if !reflect.DeepEqual(spDec.Spend, wantSpend) {
		t.Errorf("spend after merge and decode = %+v, want %+v", spDec.Spend, wantSpend)
	}

	// (A+B)+C, A+(B+C), C+(A+B) and all-at-once agree, also through Encode/Decode.
	merge := func(x, y *Partial) *Partial {
		if err := x.Merge(y); err != nil {
			t.Fatal(err)
		}
		return x
	}
	left := merge(merge(partialOf(t, b[0]), partialOf(t, b[1])), partialOf(t, b[2]))
	right := merge(partialOf(t, b[0]), merge(partialOf(t, b[1]), partialOf(t, b[2])))
	swapped := merge(partialOf(t, b[2]), roundTrip(merge(roundTrip(partialOf(t, b[0])), partialOf(t, b[1]))))
	withEmpty := merge(merge(NewPartial(), partialOf(t, b[0], b[1], b[2])), NewPartial())
	for name, p := range map[string]*Partial{"(A+B)+C": left, "A+(B+C)": right, "C+(A+B)": swapped, "0+ABC+0": withEmpty} {
		if !reflect.DeepEqual(normal(p.Metrics), normal(all.Metrics)) {
			t.Errorf("%s: metrics differ from all-at-once", name)
		}
		for cur, a := range all.CLV {
			if p.CLV[cur] == nil || p.CLV[cur].Customers() != a.Customers() || p.CLV[cur].RepeatBuyers() != a.RepeatBuyers() {
				t.Errorf("%s: CLV %s differs", name, cur)
			}
		}
		if len(p.RFM) != len(all.RFM) {
			t.Errorf("%s: %d RFM currencies", name, len(p.RFM))
		}
	}
}

// normal makes an Agg comparable: series trimmed of empty edge cells (a merge may widen a
// series with zero cells).
func normal(a *metrics.Agg) *metrics.Agg {
	out := metrics.NewAgg()
	out.Merge(a)
	for _, s := range out.Series {
		for len(s.Cells) > 0 && s.Cells[0] == (metrics.Cell{}) {
			s.Cells = s.Cells[1:]
			s.Base++
		}
		for len(s.Cells) > 0 && s.Cells[len(s.Cells)-1] == (metrics.Cell{}) {
			s.Cells = s.Cells[:len(s.Cells)-1]
		}
	}
	return out
}
