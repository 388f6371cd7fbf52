package metrics

import (
	"math"
	"testing"
	"time"

	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

func day(y int, m time.Month, d int) value.Day { return value.DayFromDate(y, m, d) }

func money(f float64) value.Money { return value.MoneyFromFloat(f) }

// Worked examples from metrics.md.
func TestCRRWorkedExamples(t *testing.T) {
	for _, tc := range []struct {
		s, e, n int64
		want    float64
	}{
		{200, 210, 50, 80},
		{500, 531, 50, 96.2},
	} {
		got := CRR(tc.s, tc.e, tc.n)
		if got == nil || math.Abs(*got-tc.want) > 1e-9 {
			t.Errorf("CRR(S=%d,E=%d,N=%d) = %v, want %v", tc.s, tc.e, tc.n, got, tc.want)
		}
	}
	if CRR(0, 5, 5) != nil {
		t.Error("CRR with S=0 must be undefined")
	}
}

// metrics.md: 250 orders for 5,000,000 -> AOV 20,000; AOV 200,000 x 6 orders -> LTV 1,200,000.
func TestAOVAndLTVWorkedExamples(t *testing.T) {
	a := NewAgg()
	cfg := Config{RunDate: day(2024, 2, 1)}
	cfg.Defaults()
	// 50 customers x 5 orders of 20,000 each in January 2024 = 250 orders, 5,000,000.
	for i := 0; i < 50; i++ {
		c := &facts.Customer{CustomerID: string(rune('A' + i)), Currency: "RUB"}
		for j := 0; j < 5; j++ {
			c.Purchases = append(c.Purchases, facts.Purchase{OrderID: string(rune('a' + j)), Day: day(2024, 1, 1+j), Amount: money(20000)})
		}
		a.Add(c, cfg)
	}
	h := Headline(a.Totals["RUB"])
	if h["orders"] != 250 || h["revenue"] != 5_000_000 || h["aov"] != 20000 {
		t.Errorf("headline = %v, want 250 orders, 5,000,000 revenue, AOV 20,000", h)
	}
	c := &facts.Customer{CustomerID: "x", Currency: "RUB"}
	for j := 0; j < 6; j++ {
		c.Purchases = append(c.Purchases, facts.Purchase{OrderID: string(rune('a' + j)), Day: day(2024, 1, 1+j), Amount: money(200000)})
	}
	row, _ := CustomerRow(c, cfg)
	if row.AOV != 200000 || row.Orders != 6 || row.Revenue != 1_200_000 {
		t.Errorf("customer row AOV %v orders %v LTV %v, want 200,000 x 6 = 1,200,000", row.AOV, row.Orders, row.Revenue)
	}
}

// The hand-computed shop (worked out in the comments; W = 60 days, as of 2024-04-01):
//
//	A (ads): 2024-01-05 100, 2024-01-20 50, 2024-03-10 200
//	B (seo): 2024-01-15 300
//	C (ads): 2024-02-02 80, 2024-02-03 120
//	D (-):   2023-12-10 400, 2024-02-25 100
func handShop() ([]*facts.Customer, Config) {
	p := func(id string, d value.Day, amt float64, ch string) facts.Purchase {
		return facts.Purchase{OrderID: id, Day: d, Amount: money(amt), Channel: ch}
	}
	cs := []*facts.Customer{
		{CustomerID: "A", Currency: "RUB", Purchases: []facts.Purchase{p("a1", day(2024, 1, 5), 100, "ads"), p("a2", day(2024, 1, 20), 50, "ads"), p("a3", day(2024, 3, 10), 200, "ads")}},
		{CustomerID: "B", Currency: "RUB", Purchases: []facts.Purchase{p("b1", day(2024, 1, 15), 300, "seo")}},
		{CustomerID: "C", Currency: "RUB", Purchases: []facts.Purchase{p("c1", day(2024, 2, 2), 80, "ads"), p("c2", day(2024, 2, 3), 120, "ads")}},
		{CustomerID: "D", Currency: "RUB", Purchases: []facts.Purchase{p("d1", day(2023, 12, 10), 400, ""), p("d2", day(2024, 2, 25), 100, "")}},
	}
	cfg := Config{RunDate: day(2024, 4, 1), ActivityWindowDays: 60}
	cfg.Defaults()
	return cs, cfg
}

func f(v *float64) float64 {
	if v == nil {
		return math.NaN()
	}
	return *v
}

func TestPeriodMetricsHandShop(t *testing.T) {
	cs, cfg := handShop()
	// Two partials merged must equal one: split the customers.
	a1, a2 := NewAgg(), NewAgg()
	for i, c := range cs {
		if i%2 == 0 {
			a1.Add(c, cfg)
		} else {
			a2.Add(c, cfg)
		}
	}
	a1.Merge(a2)
	spend := SpendTable([]orders.Spend{
		{Period: "2024-01", Channel: "ads", Amount: money(1000), Currency: "RUB"},
		{Period: "2024-01", Channel: "seo", Amount: money(600), Currency: "RUB"},
		{Period: "2024-02", Channel: "ads", Amount: money(500), Currency: "RUB"},
	})
	pm, cr := Finalize(a1, cfg, spend)
	rows := map[string]tables.PeriodMetrics{}
	for _, r := range pm {
		rows[r.Channel+"/"+r.Period] = r
	}
	type want struct {
		orders, buyers, newc, firstO, repO, s, e, churned, repBuyers int64
		rev, aov, aovFirst, aovRepeat, crr, rpr                      float64
	}
	nan := math.NaN()
	for key, w := range map[string]want{
		"all/2023-12": {1, 1, 1, 1, 0, 0, 1, 0, 0, 400, 400, 400, nan, nan, 0},
		"all/2024-01": {3, 2, 2, 2, 1, 1, 3, 0, 0, 450, 150, 200, 50, 100, 0},
		"all/2024-02": {3, 2, 1, 1, 2, 3, 4, 0, 1, 300, 100, 80, 110, 100, 50},
		"all/2024-03": {1, 1, 0, 0, 1, 4, 3, 1, 1, 200, 200, nan, 200, 75, 100},
	} {
		r, ok := rows[key]
		if !ok {
			t.Fatalf("no row %s", key)
		}
		gotI := []int64{r.Orders, r.Buyers, r.NewCustomers, r.FirstOrders, r.RepeatOrders, r.ActiveStart, r.ActiveEnd, r.Churned, r.RepeatBuyers}
		wantI := []int64{w.orders, w.buyers, w.newc, w.firstO, w.repO, w.s, w.e, w.churned, w.repBuyers}
		for i := range gotI {
			if gotI[i] != wantI[i] {
				t.Errorf("%s: counters %v, want %v", key, gotI, wantI)
				break
			}
		}
		gotF := []float64{r.Revenue, f(r.AOV), f(r.AOVFirst), f(r.AOVRepeat), f(r.CRR), f(r.RPR)}
		wantF := []float64{w.rev, w.aov, w.aovFirst, w.aovRepeat, w.crr, w.rpr}
		for i := range gotF {
			if !(gotF[i] == wantF[i] || math.IsNaN(gotF[i]) && math.IsNaN(wantF[i])) {
				t.Errorf("%s: rev/aov/aov_first/aov_repeat/crr/rpr = %v, want %v", key, gotF, wantF)
				break
			}
		}
	}
	if r := rows["all/2024-03"]; f(r.ChurnRate) != 25 || !r.Complete {
		t.Errorf("March churn rate %v complete %v, want 25 and complete", f(r.ChurnRate), r.Complete)
	}
	// Channels: ads = A and C.
	if r := rows["ads/2024-01"]; r.Orders != 2 || r.Revenue != 150 || r.NewCustomers != 1 || f(r.CAC) != 1000 {
		t.Errorf("ads/2024-01 = orders %d revenue %v new %d cac %v, want 2, 150, 1, 1000", r.Orders, r.Revenue, r.NewCustomers, f(r.CAC))
	}
	if r := rows["all/2024-01"]; f(r.Spend) != 1600 || f(r.CAC) != 800 {
		t.Errorf("all/2024-01 spend %v cac %v, want 1600 and 800", f(r.Spend), f(r.CAC))
	}
	if r := rows["ads/2024-02"]; f(r.CAC) != 500 {
		t.Errorf("ads/2024-02 cac %v, want 500", f(r.CAC))
	}
	if r := rows["all/2024-03"]; r.Spend != nil || r.CAC != nil {
		t.Errorf("all/2024-03 without spend must have null spend/cac, got %v %v", r.Spend, r.CAC)
	}
	if r := rows["all/2024-03"]; r.CustomersToDate != 4 || f(r.LTVAvg) != 337.5 {
		t.Errorf("all/2024-03 customers_to_date %d ltv_avg %v, want 4 and 1350/4 = 337.5", r.CustomersToDate, f(r.LTVAvg))
	}

	type cw struct {
		size, active, orders int64
		ret, rev, cum        float64
	}
	cohorts := map[string]cw{}
	for _, r := range cr {
		cohorts[r.Cohort+"+"+string(rune('0'+r.PeriodOffset))] = cw{r.CohortSize, r.ActiveCustomers, r.Orders, r.RetentionPct, r.Revenue, r.CumRevenuePerCustomer}
	}
	for k, w := range map[string]cw{
		"2023-12+0": {1, 1, 1, 100, 400, 400},
		"2023-12+1": {1, 0, 0, 0, 0, 400},
		"2023-12+2": {1, 1, 1, 100, 100, 500},
		"2023-12+3": {1, 0, 0, 0, 0, 500},
		"2024-01+0": {2, 2, 3, 100, 450, 225},
		"2024-01+1": {2, 0, 0, 0, 0, 225},
		"2024-01+2": {2, 1, 1, 50, 200, 325},
		"2024-02+0": {1, 1, 2, 100, 200, 200},
		"2024-02+1": {1, 0, 0, 0, 0, 200},
	} {
		if got := cohorts[k]; got != w {
			t.Errorf("cohort %s = %+v, want %+v", k, got, w)
		}
	}
	if len(cr) != 9 {
		t.Errorf("cohort rows = %d, want 9", len(cr))
	}
	h := Headline(a1.Totals["RUB"])
	for k, w := range map[string]float64{"customers": 4, "orders": 8, "revenue": 1350, "aov": 168.75, "aov_first": 220, "aov_repeat": 117.5, "rpr": 75} {
		if h[k] != w {
			t.Errorf("headline %s = %v, want %v", k, h[k], w)
		}
	}
}

func TestCustomerRowsAndChurnHandShop(t *testing.T) {
	cs, cfg := handShop()
	if got := cfg.Calendar.Label(cfg.LastCompletePeriod()); got != "2024-03" {
		t.Fatalf("last complete period = %s, want 2024-03", got)
	}
	var churned []string
	for _, c := range cs {
		row, ok := CustomerRow(c, cfg)
		if !ok {
			t.Fatal("no row")
		}
		if row.Churned {
			churned = append(churned, row.CustomerID)
		}
		switch c.CustomerID {
		case "A":
			if row.Orders != 3 || row.Revenue != 350 || row.FirstOrderValue != 100 || f(row.RepeatAOV) != 125 ||
				row.RecencyDays != 22 || row.TenureDays != 87 || !row.Active || row.Cohort != "2024-01" || row.AcqChannel != "ads" {
				t.Errorf("A = %+v", row)
			}
		case "B":
			if row.RecencyDays != 77 || row.Active || row.RepeatAOV != nil || value.Day(row.LastOrderDate).String() != "2024-01-15" {
				t.Errorf("B = %+v", row)
			}
		}
	}
	if len(churned) != 1 || churned[0] != "B" {
		t.Errorf("churned = %v, want [B]", churned)
	}
}

func TestCalendar(t *testing.T) {
	w := Calendar{Weeks: true}
	d := day(2024, 1, 1) // a Monday, ISO 2024-W01
	p := w.Index(d)
	if w.Start(p) != d || w.End(p) != day(2024, 1, 7) || w.Label(p) != "2024-W01" {
		t.Errorf("week of 2024-01-01: start %v end %v label %s", w.Start(p), w.End(p), w.Label(p))
	}
	if w.Index(day(2024, 1, 7)) != p || w.Index(day(2024, 1, 8)) != p+1 {
		t.Error("Sunday belongs to the week, Monday starts the next")
	}
	if got := w.Label(w.Index(day(2021, 1, 3))); got != "2020-W53" {
		t.Errorf("2021-01-03 is in ISO week 2020-W53, got %s", got)
	}
	m := Calendar{}
	q := m.Index(day(2024, 2, 29))
	if m.Label(q) != "2024-02" || m.Start(q) != day(2024, 2, 1) || m.End(q) != day(2024, 2, 29) {
		t.Errorf("Feb 2024: %s %v %v", m.Label(q), m.Start(q), m.End(q))
	}
	if m.Label(m.Index(day(1969, 12, 31))) != "1969-12" {
		t.Error("months before 1970")
	}
}
