package clv

import (
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// CLV with a monthly discount over a 3-month horizon, recomputed from expected purchases
// obtained by numerical integration of the model (bgnbdByIntegration) rather than the
// closed form: CLV = margin · E[M] · Σ_{k=1..3} (E(t_k) − E(t_{k−1})) / (1+d)^k with
// t_k = k · 365.25/12 days.
func TestPredictCLVDiscounted(t *testing.T) {
	bg := BGNBD{0.8, 30, 1.7, 6.5}
	gg := GammaGamma{6.25, 3.74, 15.44}
	const d, margin = 0.02, 0.4
	horizon := 3 * 365.25 / 12
	m := &Model{Spec: Spec{Unit: Days, HorizonDays: horizon, Margin: margin, MonthlyDiscount: d}, BGNBD: bg, GG: &gg}
	s := Stats{X: 3, TX: 100, T: 180, MeanRepeatValue: 22}
	p := m.Predict(s)

	aov := gg.P * (gg.V + s.X*s.MeanRepeatValue) / (gg.P*s.X + gg.Q - 1) // Fader & Hardie 2013 eq. 5
	var want, prev float64
	for k := 1; k <= 3; k++ {
		_, _, e := bgnbdByIntegration(bg, s.X, s.TX, s.T, float64(k)*365.25/12)
		want += (e - prev) / math.Pow(1+d, float64(k))
		prev = e
	}
	want *= margin * aov
	if !p.HasValue || relErr(p.PredCLV, want) > 1e-7 {
		t.Errorf("PredCLV = %.10g, want %.10g", p.PredCLV, want)
	}
	if relErr(p.PredPurchases, prev) > 1e-7 || relErr(p.ExpAOV, aov) > 1e-12 {
		t.Errorf("PredPurchases %.10g (want %.10g), ExpAOV %.10g (want %.10g)", p.PredPurchases, prev, p.ExpAOV, aov)
	}
	if p.ChurnRisk != 1-p.PAlive || p.PAlive <= 0 || p.PAlive >= 1 {
		t.Errorf("PAlive %v ChurnRisk %v", p.PAlive, p.ChurnRisk)
	}
	// Undiscounted, the CLV is margin · E[M] · expected purchases over the horizon.
	m.Spec.MonthlyDiscount = 0
	if p0 := m.Predict(s); relErr(p0.PredCLV, margin*aov*prev) > 1e-7 {
		t.Errorf("undiscounted CLV %.10g, want %.10g", p0.PredCLV, margin*aov*prev)
	}
	// Weeks: the same customer and horizon in weeks gives the same answer with α in weeks.
	mw := &Model{Spec: Spec{Unit: Weeks, HorizonDays: horizon, Margin: margin, MonthlyDiscount: d},
		BGNBD: BGNBD{bg.R, bg.Alpha / 7, bg.A, bg.B}, GG: &gg}
	pw := mw.Predict(Stats{X: 3, TX: 100.0 / 7, T: 180.0 / 7, MeanRepeatValue: 22})
	if relErr(pw.PredCLV, p.PredCLV) > 1e-9 || relErr(pw.PAlive, p.PAlive) > 1e-12 {
		t.Errorf("weeks %+v vs days %+v", pw, p)
	}
}

func TestPredictApply(t *testing.T) {
	d0 := value.DayFromDate(2024, 1, 1)
	c := &facts.Customer{CustomerID: "c", Purchases: []facts.Purchase{{OrderID: "1", Day: d0, Amount: 100000}}}
	m := &Model{Spec: Spec{Unit: Weeks, HorizonDays: 365, Margin: 1}, BGNBD: BGNBD{0.243, 4.414, 0.793, 2.426}}
	if _, ok := m.PredictCustomer(c, d0-1); ok {
		t.Error("no purchase by the as-of date: want ok = false")
	}
	p, ok := m.PredictCustomer(c, d0+70)
	if !ok || p.HasValue || p.PAlive != 1 {
		t.Fatalf("%+v %v", p, ok)
	}
	var row tables.CustomerMetrics
	p.Apply(&row)
	if row.PAlive == nil || *row.ChurnRisk != 0 || row.ExpAOV != nil || row.PredCLV != nil || *row.PredPurchases != p.PredPurchases {
		t.Errorf("row without Gamma-Gamma: %+v", row)
	}
	m.GG = &GammaGamma{6.25, 3.74, 15.44}
	p, _ = m.PredictCustomer(c, d0+70)
	p.Apply(&row)
	// x = 0: the population mean p·v/(q−1) = 6.25·15.44/2.74 = 35.2189781...
	if row.ExpAOV == nil || math.Abs(*row.ExpAOV-35.219) > 1e-9 || row.PredCLV == nil {
		t.Errorf("row with Gamma-Gamma: exp_aov %v", *row.ExpAOV)
	}
}

// TestCDNOW reproduces the published fits on the CDNOW sample when the file is available
// locally (it is public but not ours to commit): set CLV_CDNOW to lifetimes'
// datasets/CDNOW_sample.txt. Published: BG/NBD r=0.243, α=4.414, a=0.793, b=2.426,
// LL=−9582.4 (Fader, Hardie & Lee 2005); Gamma-Gamma p=6.25, q=3.74, v=15.44 (Fader &
// Hardie 2013). The tolerance is the published rounding.
func TestCDNOW(t *testing.T) {
	path := os.Getenv("CLV_CDNOW")
	if path == "" {
		t.Skip("set CLV_CDNOW to CDNOW_sample.txt to run")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*facts.Customer{}
	for i, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 5 {
			continue
		}
		day, err := value.ParseDay(f[2][:4] + "-" + f[2][4:6] + "-" + f[2][6:])
		amt, err2 := value.ParseMoney(f[4])
		if err != nil || err2 != nil {
			t.Fatalf("line %d: %v %v", i+1, err, err2)
		}
		c := byID[f[0]]
		if c == nil {
			c = &facts.Customer{CustomerID: f[0]}
			byID[f[0]] = c
		}
		c.Purchases = append(c.Purchases, facts.Purchase{OrderID: string(rune(i)), Day: day, Amount: amt})
	}
	spec, err := Config{CalibrationEnd: "1997-09-30"}.Resolve("clv", value.DayFromDate(1998, 6, 30))
	if err != nil {
		t.Fatal(err)
	}
	agg := NewAggregate(spec)
	for _, c := range byID {
		c.Sort()
		agg.AddCustomer(c)
	}
	m, err := Fit(agg, spec)
	if err != nil {
		t.Fatal(err)
	}
	if m.BGNBDFit.Customers != 2357 || m.GGFit.Customers != 946 {
		t.Errorf("customers %d, repeat buyers %d; want 2357, 946", m.BGNBDFit.Customers, m.GGFit.Customers)
	}
	near := func(name string, got, want, tol float64) {
		if math.Abs(got-want) > tol {
			t.Errorf("%s = %.5f, published %.5g", name, got, want)
		}
	}
	near("r", m.BGNBD.R, 0.243, 0.0005)
	near("alpha", m.BGNBD.Alpha, 4.414, 0.0005)
	near("a", m.BGNBD.A, 0.793, 0.0005)
	near("b", m.BGNBD.B, 2.426, 0.0005)
	near("LL", m.BGNBDFit.LogLikelihood, -9582.4, 0.05)
	near("p", m.GG.P, 6.25, 0.005)
	near("q", m.GG.Q, 3.74, 0.005)
	near("v", m.GG.V, 15.44, 0.005)
}

func TestModelEncoding(t *testing.T) {
	m := &Model{
		Spec:  Spec{Unit: Weeks, CalibrationEnd: 10000, HoldoutEnd: 10100, HorizonDays: 365, Margin: 0.3, MonthlyDiscount: 0.01, Starts: 5},
		BGNBD: BGNBD{0.1 + 0.2, 4.414, 0.793, 2.426}, GG: &GammaGamma{6.25, 3.74, 15.44},
		Holdout: &HoldoutReport{Customers: 3, Buckets: []HoldoutBucket{{Frequency: "0", Customers: 3, ActualMean: 1.0 / 3}}},
	}
	b, err := EncodeModel(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeModel(b)
	if err != nil {
		t.Fatal(err)
	}
	s := Stats{X: 2, TX: 10, T: 30, MeanRepeatValue: 20}
	if !reflect.DeepEqual(got, m) || got.Predict(s) != m.Predict(s) {
		t.Errorf("round trip changed the model:\n%+v\n%+v", got, m)
	}
	a := NewAggregate(m.Spec)
	a.Add(s, 2, 1)
	ab, _ := EncodeAggregate(a)
	if a2, err := DecodeAggregate(ab); err != nil || a2.Customers() != 2 || a2.HoldoutEnd != 10100 {
		t.Errorf("aggregate round trip: %+v %v", a2, err)
	}
}
