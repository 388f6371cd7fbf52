package clv

import (
	"math"
	"testing"
)

func relErr(got, want float64) float64 { return math.Abs(got-want) / math.Max(math.Abs(want), 1e-300) }

// Worked by hand from FHL 2005 eq. 6 with r = α = a = b = 1:
//
//	x = 0, T = 1: L = B(1,1)/B(1,1) · Γ(1)·1/(Γ(1)·2^1) = 1/2.
//	x = 1, t_x = 1, T = 2: B(1,2)/B(1,1) · Γ(2)/(Γ(1)·3^2) + B(2,1)/B(1,1) · Γ(2)/(Γ(1)·2^2)
//	                     = 1/2·1/9 + 1/2·1/4 = 1/18 + 1/8 = 13/72.
//
// and P(alive) = the first term over L = (1/18)/(13/72) = 4/13.
func TestBGNBDByHand(t *testing.T) {
	m := BGNBD{R: 1, Alpha: 1, A: 1, B: 1}
	if got, want := m.LogLikelihood(0, 0, 1), math.Log(0.5); math.Abs(got-want) > 1e-14 {
		t.Errorf("LL(x=0,T=1) = %.16g, want ln(1/2) = %.16g", got, want)
	}
	if got, want := m.LogLikelihood(1, 1, 2), math.Log(13.0/72); math.Abs(got-want) > 1e-14 {
		t.Errorf("LL(x=1,tx=1,T=2) = %.16g, want ln(13/72) = %.16g", got, want)
	}
	if got, want := m.PAlive(1, 1, 2), 4.0/13; math.Abs(got-want) > 1e-14 {
		t.Errorf("PAlive = %.16g, want 4/13", got)
	}
	if got := m.PAlive(0, 0, 5); got != 1 {
		t.Errorf("PAlive with x = 0 = %v, want 1 (no repeat purchase, no chance to drop out)", got)
	}
}

// bgnbdByIntegration evaluates, by quadrature over λ ~ Gamma(r, α) and p ~ Beta(a, b), the
// likelihood L, P(alive) and E[purchases in (T, T+t]] from the model's definition:
//
//	L(λ,p) = (1−p)^x λ^x e^{−λT} + 1{x>0} p(1−p)^{x−1} λ^x e^{−λ t_x}
//
// (x repeat purchases at the observed times, then alive at T, or dead after the x-th), and
// for an alive customer the expected purchases in t are λ·E[min(τ, t)] with τ ~ Exp(λp)
// (memoryless dropout after each purchase), i.e. (1 − e^{−λpt})/p.
//
// The expectation is a double integral (about 5M integrand evaluations, ~1 s):
// bgnbdIntegrals with withExp = false skips it and returns expY = NaN.
func bgnbdByIntegration(m BGNBD, x, tx, T, t float64) (L, pAlive, expY float64) {
	return bgnbdIntegrals(m, x, tx, T, t, true)
}

func bgnbdIntegrals(m BGNBD, x, tx, T, t float64, withExp bool) (L, pAlive, expY float64) {
	r, al, a, b := m.R, m.Alpha, m.A, m.B
	scale := (x + r) / (al + T)
	lamInt := func(c float64) float64 { // ∫ λ^x e^{−λc} g(λ) dλ
		return intHalfLine(func(ll, lam float64) float64 {
			return x*ll - lam*c + logGammaPDF(r, al, ll, lam)
		}, scale)
	}
	alive := lamInt(T) * intUnit(func(lp, lq, p float64) float64 { return x*lq + logBetaPDF(a, b, lp, lq) })
	L = alive
	if x > 0 {
		L += lamInt(tx) * intUnit(func(lp, lq, p float64) float64 { return lp + (x-1)*lq + logBetaPDF(a, b, lp, lq) })
	}
	pAlive = alive / L
	if !withExp {
		return L, pAlive, math.NaN()
	}
	// E[Y(t) | data] = ∫∫ (1−p)^x λ^x e^{−λT} · (1−e^{−λpt})/p · g f dλ dp / L.
	num := intUnit(func(lp, lq, p float64) float64 {
		in := intHalfLine(func(ll, lam float64) float64 {
			y := -math.Expm1(-lam * p * t) // 1 − e^{−λpt}, accurate for small λpt
			return math.Log(y) + x*ll - lam*T + logGammaPDF(r, al, ll, lam)
		}, scale)
		return math.Log(in) - lp + x*lq + logBetaPDF(a, b, lp, lq)
	})
	expY = num / L
	return
}

var bgCases = []struct {
	name         string
	m            BGNBD
	x, tx, T, dt float64
}{
	{"cdnow-weeks x=0", BGNBD{0.243, 4.414, 0.793, 2.426}, 0, 0, 38.86, 39},
	{"cdnow-weeks x=2", BGNBD{0.243, 4.414, 0.793, 2.426}, 2, 30.43, 38.86, 39},
	{"cdnow-weeks x=20", BGNBD{0.243, 4.414, 0.793, 2.426}, 20, 37, 38, 52},
	{"days a>1", BGNBD{0.8, 30.9, 1.7, 6.5}, 4, 120, 300, 365},
	{"days b<1 r>1", BGNBD{2.5, 90, 0.4, 0.8}, 7, 200, 210, 90},
	{"a+b<1 x=0 (c<0)", BGNBD{0.373, 7.18, 0.0315, 0.1898}, 0, 0, 30, 52},
	{"a+b<1 x=1", BGNBD{0.373, 7.18, 0.0315, 0.1898}, 1, 3, 30, 52},
	{"weeks a~1", BGNBD{0.6, 8, 1.00002, 3}, 3, 20, 35, 26},
	{"weeks a=1", BGNBD{0.6, 8, 1, 3}, 1, 5, 35, 26},
	{"a,b in the hundreds (2F1)", BGNBD{1.2, 40, 150, 3000}, 12, 500, 700, 365},
	{"large a,b (quadrature over p)", BGNBD{1.2, 40, 400, 3000}, 12, 500, 700, 365},
	{"huge a,b (cephes overflows)", BGNBD{3, 2, 5000, 40000}, 40, 900, 1000, 365},
}

// With -short the likelihood and P(alive) of every case are still checked (one-dimensional
// integrals); the expected purchases, a double integral per case, only in the full run.
func TestBGNBDAgainstIntegration(t *testing.T) {
	withExp := !testing.Short()
	for _, c := range bgCases {
		L, pa, ey := bgnbdIntegrals(c.m, c.x, c.tx, c.T, c.dt, withExp)
		if got, want := c.m.LogLikelihood(c.x, c.tx, c.T), math.Log(L); math.Abs(got-want) > 1e-9 {
			t.Errorf("%s: LL = %.12g, integration %.12g", c.name, got, want)
		}
		if got := c.m.PAlive(c.x, c.tx, c.T); relErr(got, pa) > 1e-9 {
			t.Errorf("%s: PAlive = %.12g, integration %.12g", c.name, got, pa)
		}
		if got := c.m.ExpectedPurchases(c.x, c.tx, c.T, c.dt); withExp && relErr(got, ey) > 1e-8 {
			t.Errorf("%s: E[Y(%g)] = %.12g, integration %.12g", c.name, c.dt, got, ey)
		}
	}
}

// The aggregated likelihood must equal the sum of the per-customer closed form, and its
// analytic gradient must match central finite differences.
func TestBGNBDAggregateLikelihoodAndGradient(t *testing.T) {
	cells := []Cell{
		{X: 0, TX: 0, T: 30, Count: 5}, {X: 0, TX: 0, T: 12.5, Count: 2},
		{X: 1, TX: 3, T: 30, Count: 3}, {X: 1, TX: 10, T: 12.5, Count: 1},
		{X: 4, TX: 20, T: 31, Count: 2}, {X: 11, TX: 29, T: 30, Count: 1},
	}
	d := newBGCells(cells)
	for _, m := range []BGNBD{{0.243, 4.414, 0.793, 2.426}, {2, 50, 30, 200}} {
		var want float64
		for _, c := range cells {
			want += float64(c.Count) * m.LogLikelihood(c.X, c.TX, c.T)
		}
		g := make([]float64, 4)
		got := d.logLik(m, g)
		if math.Abs(got-want) > 1e-10*math.Abs(want) {
			t.Errorf("%+v: aggregated LL %.12g, per-customer sum %.12g", m, got, want)
		}
		lp := []float64{math.Log(m.R), math.Log(m.Alpha), math.Log(m.A), math.Log(m.B)}
		for i := range lp {
			h := 1e-6
			up, dn := append([]float64(nil), lp...), append([]float64(nil), lp...)
			up[i] += h
			dn[i] -= h
			e := func(v []float64) float64 {
				return d.logLik(BGNBD{math.Exp(v[0]), math.Exp(v[1]), math.Exp(v[2]), math.Exp(v[3])}, nil)
			}
			fd := (e(up) - e(dn)) / (2 * h)
			if math.Abs(fd-g[i]) > 1e-5*math.Max(1, math.Abs(fd)) {
				t.Errorf("%+v: dLL/dln θ[%d] = %.9g, finite difference %.9g", m, i, g[i], fd)
			}
		}
	}
}

// In day units with a, b in the thousands and a heavy buyer, the naive form
// B(a,b+x)/B(a,b)·… underflows; the log form must stay finite and agree with integration.
func TestBGNBDNoOverflow(t *testing.T) {
	m := BGNBD{R: 3, Alpha: 2, A: 5000, B: 40000}
	ll := m.LogLikelihood(400, 900, 1000)
	if math.IsNaN(ll) || math.IsInf(ll, 0) {
		t.Fatalf("LL = %v", ll)
	}
	if e := m.ExpectedPurchases(400, 900, 1000, 365); math.IsNaN(e) || e < 0 {
		t.Fatalf("E[Y] = %v", e)
	}
}

// Above quadMinA the expected purchases come from a quadrature over p instead of 2F1; where
// both work (a up to a few hundred) they must agree.
func TestExpectedPurchasesPathsAgree(t *testing.T) {
	for _, a := range []float64{30, 100, 199} {
		for _, bm := range []float64{0.01, 3, 100} {
			m := BGNBD{0.6, 40, a, a * bm}
			for _, x := range []float64{0, 1, 9} {
				closed := m.ExpectedPurchases(x, 200, 300, 365)
				quad := m.PAlive(x, 200, 300) * aliveExpectedQuad(m.R+x, m.Alpha+300, m.A, m.B+x, 365)
				if relErr(quad, closed) > 1e-9 {
					t.Errorf("a=%g b=%g x=%g: 2F1 %.12g, quadrature %.12g", a, m.B, x, closed, quad)
				}
			}
		}
	}
}
