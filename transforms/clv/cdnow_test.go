package clv

import (
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// cdnowFixture is the per-customer summary of the public 2,357-customer CDNOW sample
// (calibration end 1997-09-30): see testdata/README.md for where it comes from.
const cdnowFixture = "testdata/cdnow_summary.csv"

// cdnowRow is one customer of the fixture: x repeat purchase days, recency t_x and age T in
// days, zbar the mean value of the repeat purchase days in dollars (2 decimals, as published).
type cdnowRow struct {
	X, TXDays, TDays int
	Zbar             float64
}

func readCDNOWFixture(t *testing.T) map[int]cdnowRow {
	t.Helper()
	f, err := os.Open(cdnowFixture)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0], ","); got != "id,x,t_x_days,T_days,zbar" {
		t.Fatalf("%s: header %q", cdnowFixture, got)
	}
	rows := map[int]cdnowRow{}
	for i, r := range recs[1:] {
		var n [4]int
		for j := range n {
			if n[j], err = strconv.Atoi(r[j]); err != nil {
				t.Fatalf("%s line %d: %v", cdnowFixture, i+2, err)
			}
		}
		z, err := strconv.ParseFloat(r[4], 64)
		if err != nil {
			t.Fatalf("%s line %d: %v", cdnowFixture, i+2, err)
		}
		rows[n[0]] = cdnowRow{X: n[1], TXDays: n[2], TDays: n[3], Zbar: z}
	}
	return rows
}

// TestCDNOW fits both models on the committed CDNOW summary and compares them with the
// published estimates: BG/NBD r=0.243, α=4.414, a=0.793, b=2.426, LL=−9582.4 in weeks
// (Fader, Hardie & Lee 2005, "Counting your customers the easy way", Marketing Science 24(2),
// table 1 and the accompanying note); Gamma-Gamma p=6.25, q=3.74, v=15.44 on the 946 repeat
// buyers (Fader & Hardie 2013, "The Gamma-Gamma model of monetary value"). The tolerance is
// half a unit of the last published digit (the published figures are rounded, nothing more),
// except for v (see below). x, t_x and T are exact in the fixture, so the BG/NBD check is exact.
func TestCDNOW(t *testing.T) {
	rows := readCDNOWFixture(t)
	if len(rows) != 2357 {
		t.Fatalf("%d customers in the fixture, want 2357", len(rows))
	}
	spec, err := Config{CalibrationEnd: "1997-09-30"}.Resolve("clv", value.DayFromDate(1997, 9, 30))
	if err != nil {
		t.Fatal(err)
	}
	if spec.Unit != Weeks {
		t.Fatalf("default unit %s, want weeks (the published convention)", spec.Unit)
	}
	agg := NewAggregate(spec)
	for _, r := range rows {
		agg.Add(Stats{X: float64(r.X), TX: float64(r.TXDays) / 7, T: float64(r.TDays) / 7, MeanRepeatValue: r.Zbar}, 1, 0)
	}
	m, err := Fit(agg, spec)
	if err != nil {
		t.Fatal(err)
	}
	if m.BGNBDFit.Customers != 2357 || m.GGFit.Customers != 946 {
		t.Errorf("customers %d, repeat buyers %d; want 2357, 946", m.BGNBDFit.Customers, m.GGFit.Customers)
	}
	near := func(name string, got, want, tol float64) {
		t.Helper()
		if math.IsNaN(got) || math.Abs(got-want) > tol {
			t.Errorf("%s = %.5f, published %.5g (tolerance %g)", name, got, want, tol)
		}
	}
	near("r", m.BGNBD.R, 0.243, 0.0005)
	near("alpha", m.BGNBD.Alpha, 4.414, 0.0005)
	near("a", m.BGNBD.A, 0.793, 0.0005)
	near("b", m.BGNBD.B, 2.426, 0.0005)
	near("LL", m.BGNBDFit.LogLikelihood, -9582.4, 0.05)
	if m.GG == nil {
		t.Fatalf("Gamma-Gamma not fitted: %s", m.GGFit.Error)
	}
	// Gamma-Gamma. Fader & Hardie fitted the unrounded spend; the published summary (our
	// fixture) rounds zbar to cents, which moves v by about +0.004. lifetimes fits this very
	// file to p=6.25, q=3.74, v=15.45 (docs/Quickstart.md): hold p and q to both sources'
	// rounding, v to lifetimes' rounding and to Fader & Hardie's within 0.01.
	near("p", m.GG.P, 6.25, 0.005)
	near("q", m.GG.Q, 3.74, 0.005)
	near("v (lifetimes, same input)", m.GG.V, 15.45, 0.005)
	near("v (Fader & Hardie, unrounded spend)", m.GG.V, 15.44, 0.01)
}

// TestCDNOWStatsFromTransactions checks StatsOf against the fixture, customer by customer,
// when the raw transaction file is available locally: set CLV_CDNOW to lifetimes'
// lifetimes/datasets/CDNOW_sample.txt (whitespace-separated: customer id, customer index,
// YYYYMMDD, number of CDs, dollar value). The fixture's id is the customer index.
func TestCDNOWStatsFromTransactions(t *testing.T) {
	path := os.Getenv("CLV_CDNOW")
	if path == "" {
		t.Skip("set CLV_CDNOW to CDNOW_sample.txt to compare StatsOf with the committed summary")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int]*facts.Customer{}
	for i, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 5 {
			continue
		}
		id, err := strconv.Atoi(f[1])
		day, err2 := value.ParseDay(f[2][:4] + "-" + f[2][4:6] + "-" + f[2][6:])
		amt, err3 := value.ParseMoney(f[4])
		if err != nil || err2 != nil || err3 != nil {
			t.Fatalf("line %d: %v %v %v", i+1, err, err2, err3)
		}
		c := byID[id]
		if c == nil {
			c = &facts.Customer{CustomerID: f[1]}
			byID[id] = c
		}
		c.Purchases = append(c.Purchases, facts.Purchase{OrderID: strconv.Itoa(i), Day: day, Amount: amt})
	}
	rows := readCDNOWFixture(t)
	if len(byID) != len(rows) {
		t.Fatalf("%d customers in %s, %d in the fixture", len(byID), path, len(rows))
	}
	end := value.DayFromDate(1997, 9, 30)
	for id, c := range byID {
		c.Sort()
		s, ok := StatsOf(c, end, Days)
		r := rows[id]
		if !ok || s.X != float64(r.X) || s.TX != float64(r.TXDays) || s.T != float64(r.TDays) || math.Abs(s.MeanRepeatValue-r.Zbar) > 0.005+1e-9 {
			t.Errorf("customer %d: StatsOf = %+v, %v; fixture %+v", id, s, ok, r)
		}
	}
}
