package clv

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/value"
	"gonum.org/v1/gonum/mat"
)

// logSE returns the asymptotic standard errors of the ln-parameters at lp: the square root
// of the diagonal of the inverse observed information, −∇²LL, with the Hessian taken by
// central differences of the analytic gradient (itself checked against finite differences).
func logSE(t *testing.T, grad func(lp, g []float64), lp []float64) []float64 {
	n := len(lp)
	h := mat.NewDense(n, n, nil)
	gu, gd := make([]float64, n), make([]float64, n)
	for j := 0; j < n; j++ {
		const eps = 1e-5
		up, dn := append([]float64(nil), lp...), append([]float64(nil), lp...)
		up[j] += eps
		dn[j] -= eps
		grad(up, gu)
		grad(dn, gd)
		for i := 0; i < n; i++ {
			h.Set(i, j, -(gu[i]-gd[i])/(2*eps))
		}
	}
	sym := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			sym.SetSym(i, j, (h.At(i, j)+h.At(j, i))/2)
		}
	}
	var inv mat.Dense
	if err := inv.Inverse(sym); err != nil {
		t.Fatalf("information matrix not invertible: %v", err)
	}
	se := make([]float64, n)
	for i := range se {
		se[i] = math.Sqrt(inv.At(i, i))
	}
	return se
}

// checkRecovered asserts |ln θ̂ − ln θ| ≤ 4·SE(ln θ̂) for every parameter. Four standard
// errors make a false failure about a 1-in-15,000 event per parameter for a correct fit,
// while a wrong likelihood or optimiser shifts the estimate by many SEs at these sample
// sizes; SE/θ must also be below maxRelSE so that the test is not vacuous.
func checkRecovered(t *testing.T, name string, names []string, got, want, se []float64, maxRelSE float64) {
	t.Helper()
	for i := range got {
		z := (math.Log(got[i]) - math.Log(want[i])) / se[i]
		t.Logf("%s %s: true %.4g, fitted %.4g, SE(ln) %.3f, z %.2f", name, names[i], want[i], got[i], se[i], z)
		if math.Abs(z) > 4 {
			t.Errorf("%s %s: fitted %.4g is %.1f SE from the true %.4g", name, names[i], got[i], z, want[i])
		}
		if se[i] > maxRelSE {
			t.Errorf("%s %s: SE(ln θ) = %.3f exceeds %.2f: the test would not detect a bad fit", name, names[i], se[i], maxRelSE)
		}
	}
}

func TestParameterRecovery(t *testing.T) {
	for _, c := range []struct {
		name  string
		bg    BGNBD
		gg    GammaGamma
		n     int
		tMin  float64
		tMax  float64
		maxSE float64
	}{
		// CDNOW-like, weeks: 39-week window with first purchases spread over 13 weeks.
		{"cdnow-like weeks", BGNBD{0.243, 4.414, 0.793, 2.426}, GammaGamma{6.25, 3.74, 15.44}, 20000, 26, 39, 0.2},
		// Day units, a > 1 and b large-ish, two years of history.
		{"days", BGNBD{0.8, 60, 1.5, 6}, GammaGamma{2, 4, 300}, 15000, 30, 730, 0.25},
	} {
		sim := newSimulator(42, c.bg, c.gg)
		agg := NewAggregate(Spec{Unit: Weeks})
		for i := 0; i < c.n; i++ {
			T := c.tMin + (c.tMax-c.tMin)*float64(i)/float64(c.n)
			agg.Add(sim.customer(T).stats(T), 1, 0)
		}
		bg, info, err := FitBGNBD(agg.Cells, 5)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !info.Converged || info.Customers != int64(c.n) {
			t.Errorf("%s: info %+v", c.name, info)
		}
		d := newBGCells(agg.Cells)
		se := logSE(t, func(lp, g []float64) {
			d.logLik(BGNBD{math.Exp(lp[0]), math.Exp(lp[1]), math.Exp(lp[2]), math.Exp(lp[3])}, g)
		}, []float64{math.Log(bg.R), math.Log(bg.Alpha), math.Log(bg.A), math.Log(bg.B)})
		checkRecovered(t, c.name, []string{"r", "alpha", "a", "b"},
			[]float64{bg.R, bg.Alpha, bg.A, bg.B}, []float64{c.bg.R, c.bg.Alpha, c.bg.A, c.bg.B}, se, c.maxSE)

		gg, ginfo, err := FitGammaGamma(agg.Repeat, 5)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		gd := newGGCells(agg.Repeat)
		gse := logSE(t, func(lp, g []float64) {
			gd.logLik(GammaGamma{math.Exp(lp[0]), math.Exp(lp[1]), math.Exp(lp[2])}, g)
		}, []float64{math.Log(gg.P), math.Log(gg.Q), math.Log(gg.V)})
		t.Logf("%s: %d repeat buyers", c.name, ginfo.Customers)
		checkRecovered(t, c.name, []string{"p", "q", "v"},
			[]float64{gg.P, gg.Q, gg.V}, []float64{c.gg.P, c.gg.Q, c.gg.V}, gse, c.maxSE)
	}
}

// The whole path in day units: simulated orders → facts.Customer → AddCustomer (distinct
// days) → Fit → holdout report. With the true parameters' expected purchase count known
// to be unbiased, the holdout totals of the fitted model must agree with the actual
// purchases: with ~10,000 customers the relative sampling error of the total is a few
// percent, so 10% is the tolerance.
func TestFitFromOrdersWithHoldout(t *testing.T) {
	bg := BGNBD{0.6, 40, 0.9, 4}
	gg := GammaGamma{3, 5, 200}
	sim := newSimulator(7, bg, gg)
	d0 := value.DayFromDate(2023, 1, 1)
	calEnd := d0 + 365
	holdEnd := calEnd + 180
	spec, err := Config{TimeUnit: "days", CalibrationEnd: calEnd.String(), HoldoutEnd: holdEnd.String(), HorizonDays: 180}.Resolve("clv", holdEnd)
	if err != nil {
		t.Fatal(err)
	}
	agg := NewAggregate(spec)
	const n = 10000
	for i := 0; i < n; i++ {
		first := d0 + value.Day(i%300)
		sc := sim.customer(float64(holdEnd - first))
		agg.AddCustomer(sc.factsCustomer(fmt.Sprint(i), first))
	}
	m, err := Fit(agg, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bgnbd %+v (true %+v) LL %.2f; gamma-gamma %+v (true %+v)", m.BGNBD, bg, m.BGNBDFit.LogLikelihood, m.GG, gg)
	h := m.Holdout
	if h == nil || h.Customers != n || h.Duration != 180 {
		t.Fatalf("holdout report %+v", h)
	}
	if relErr(h.Predicted, h.Actual) > 0.1 {
		t.Errorf("holdout: predicted %.1f, actual %.0f", h.Predicted, h.Actual)
	}
	var sumN int64
	for _, b := range h.Buckets {
		sumN += b.Customers
		t.Logf("freq %s: n=%d actual %.3f predicted %.3f", b.Frequency, b.Customers, b.ActualMean, b.PredictedMean)
	}
	if sumN != n || len(h.Buckets) != HoldoutBuckets || h.Buckets[HoldoutBuckets-1].Frequency != "7+" {
		t.Errorf("buckets %+v", h.Buckets)
	}
	rows := m.Rows(holdEnd, "EUR")
	if len(rows) != 3 || rows[0].Model != "bgnbd" || rows[1].Model != "gamma_gamma" || rows[0].TimeUnit != "days" ||
		rows[0].FitDate != int32(calEnd) || rows[0].Customers != n || !rows[0].Converged {
		t.Errorf("rows %+v", rows)
	}
	// The holdout comparison travels in the table too (the run summary reads it there).
	var back HoldoutReport
	if len(rows) == 3 && (rows[2].Model != "holdout" || rows[2].Customers != n || json.Unmarshal([]byte(rows[2].Params), &back) != nil ||
		back.Customers != n || len(back.Buckets) != HoldoutBuckets) {
		t.Errorf("holdout row %+v", rows[2])
	}
}

func TestFitErrors(t *testing.T) {
	// A log-likelihood that grows without bound along ln θ₀: every start runs off.
	unbounded := func(lp, g []float64) float64 {
		if g != nil {
			g[0], g[1] = 1, -2*lp[1]
		}
		return lp[0] - lp[1]*lp[1]
	}
	_, info, err := minimizeMulti("test", unbounded, 1, []float64{0, 1}, 3)
	if !errors.Is(err, ErrNotConverged) || info.Converged || !strings.Contains(err.Error(), "no start of 3 converged") {
		t.Errorf("unbounded likelihood: %v, %+v", err, info)
	}
	// Everyone bought last on the calibration end: no sign of dropout, the fit goes to the
	// boundary a → 0 / b → ∞ and says so.
	_, info, err = FitBGNBD([]Cell{{X: 5, TX: 30, T: 30, Count: 100}, {X: 1, TX: 30, T: 30, Count: 100}, {X: 8, TX: 30, T: 30, Count: 100}}, 3)
	if err == nil && !strings.Contains(info.Warning, "near the boundary") {
		t.Errorf("no dropout: neither an error nor a warning: %+v", info)
	}

	agg := NewAggregate(Spec{Unit: Weeks})
	agg.Add(Stats{X: 0, T: 10}, 100, 0)
	if _, _, err := FitBGNBD(agg.Cells, 3); err == nil {
		t.Error("no repeat purchases: want an error")
	}
	if _, _, err := FitBGNBD(nil, 3); err == nil {
		t.Error("no customers: want an error")
	}
	if _, _, err := FitGammaGamma([]RepeatCell{{X: 1, M: 3, Count: 1}}, 3); err == nil {
		t.Error("one repeat buyer: want an error")
	}
	if _, err := Fit(agg, Spec{Unit: Days}); err == nil {
		t.Error("unit mismatch: want an error")
	}
}
