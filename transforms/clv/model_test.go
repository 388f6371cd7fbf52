package clv

import (
	"math"
	"reflect"
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
	if testing.Short() {
		t.Skip("three double integrals (~3 s); run without -short")
	}
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
