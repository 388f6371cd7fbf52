package clv

import (
	"math"
	"testing"
)

// By hand with p = 1, q = 2, v = 1, x = 1, m = 1: one exponential amount with rate ν, and
// ν ~ Gamma(2, 1): f(m) = ∫ ν e^{−ν} · ν e^{−ν} dν = ∫ ν² e^{−2ν} dν = 2/2³ = 1/4;
// E[M|x,m] = E[1/ν | m] = ∫ ν e^{−2ν} dν / f = (1/4)/(1/4) = 1.
func TestGammaGammaByHand(t *testing.T) {
	g := GammaGamma{P: 1, Q: 2, V: 1}
	if got, want := g.LogLikelihood(1, 1), math.Log(0.25); math.Abs(got-want) > 1e-14 {
		t.Errorf("LL = %.16g, want ln(1/4)", got)
	}
	if got := g.ExpectedAOV(1, 1); math.Abs(got-1) > 1e-14 {
		t.Errorf("E[M|1,1] = %.16g, want 1", got)
	}
	// With no repeat purchase, the population mean E[p/ν] = p·v/(q−1) = 1.
	if got := g.ExpectedAOV(0, 0); math.Abs(got-1) > 1e-14 {
		t.Errorf("E[M|0] = %.16g, want 1", got)
	}
}

// ggByIntegration integrates over ν ~ Gamma(q, v) the density of the mean of x amounts
// ~ Gamma(p, ν): their sum is Gamma(px, ν), so the mean is Gamma(shape px, rate xν).
func ggByIntegration(g GammaGamma, x, m float64) (f, expM float64) {
	lm := math.Log(m)
	scale := g.Q / (g.V + x*m) * (1 + g.P*x/g.Q) // roughly the posterior mean of ν
	logf := func(ln, nu float64) float64 {
		return logGammaPDF(g.P*x, x*nu, lm, m) + logGammaPDF(g.Q, g.V, ln, nu)
	}
	f = intHalfLine(logf, scale)
	num := intHalfLine(func(ln, nu float64) float64 { return math.Log(g.P) - ln + logf(ln, nu) }, scale)
	return f, num / f
}

func TestGammaGammaAgainstIntegration(t *testing.T) {
	for _, c := range []struct {
		g    GammaGamma
		x, m float64
	}{
		{GammaGamma{6.25, 3.74, 15.44}, 1, 29.73},
		{GammaGamma{6.25, 3.74, 15.44}, 7, 12.5},
		{GammaGamma{0.8, 1.5, 300}, 2, 4000},
		{GammaGamma{20, 60, 5000}, 30, 95.2},
	} {
		f, em := ggByIntegration(c.g, c.x, c.m)
		if got, want := c.g.LogLikelihood(c.x, c.m), math.Log(f); math.Abs(got-want) > 1e-9 {
			t.Errorf("%+v x=%g m=%g: LL %.12g, integration %.12g", c.g, c.x, c.m, got, want)
		}
		if got := c.g.ExpectedAOV(c.x, c.m); relErr(got, em) > 1e-9 {
			t.Errorf("%+v x=%g m=%g: E[M] %.12g, integration %.12g", c.g, c.x, c.m, got, em)
		}
	}
}

func TestGammaGammaAggregateGradient(t *testing.T) {
	cells := []RepeatCell{{X: 1, M: 20, Count: 3}, {X: 2, M: 35.5, Count: 1}, {X: 9, M: 14, Count: 2}}
	d := newGGCells(cells)
	g := GammaGamma{6.25, 3.74, 15.44}
	var want float64
	for _, c := range cells {
		want += float64(c.Count) * g.LogLikelihood(c.X, c.M)
	}
	gr := make([]float64, 3)
	if got := d.logLik(g, gr); math.Abs(got-want) > 1e-10*math.Abs(want) {
		t.Errorf("aggregated LL %.12g, per-customer sum %.12g", got, want)
	}
	lp := []float64{math.Log(g.P), math.Log(g.Q), math.Log(g.V)}
	e := func(v []float64) float64 {
		return d.logLik(GammaGamma{math.Exp(v[0]), math.Exp(v[1]), math.Exp(v[2])}, nil)
	}
	for i := range lp {
		h := 1e-6
		up, dn := append([]float64(nil), lp...), append([]float64(nil), lp...)
		up[i] += h
		dn[i] -= h
		if fd := (e(up) - e(dn)) / (2 * h); math.Abs(fd-gr[i]) > 1e-5*math.Max(1, math.Abs(fd)) {
			t.Errorf("dLL/dln θ[%d] = %.9g, finite difference %.9g", i, gr[i], fd)
		}
	}
}
