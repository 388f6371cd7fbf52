package clv

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// BGNBD holds the BG/NBD parameters: purchase rates λ ~ Gamma(shape R, rate Alpha) and
// dropout probabilities p ~ Beta(A, B). Alpha is in the fit's time unit.
type BGNBD struct {
	R     float64 `json:"r"`
	Alpha float64 `json:"alpha"`
	A     float64 `json:"a"`
	B     float64 `json:"b"`
}

// LogLikelihood is the log-likelihood of one customer with statistics (x, tx, T), Fader,
// Hardie & Lee (2005) eq. 6, written as
//
//	ln Γ(r+x) − ln Γ(r) + r ln α + ln Γ(a+b) + ln Γ(b+x) − ln Γ(b) − ln Γ(a+b+x)
//	+ ln( (α+T)^−(r+x) + 1{x>0} · a/(b+x−1) · (α+t_x)^−(r+x) )
//
// with the last term by log-sum-exp, so that large r+x or large a, b (day units) do not
// overflow or cancel.
func (m BGNBD) LogLikelihood(x, tx, T float64) float64 {
	r, al, a, b := m.R, m.Alpha, m.A, m.B
	lg := func(v float64) float64 { l, _ := math.Lgamma(v); return l }
	l := lg(r+x) - lg(r) + r*math.Log(al) + lg(a+b) + lg(b+x) - lg(b) - lg(a+b+x)
	a3 := -(r + x) * math.Log(al+T)
	if x > 0 {
		a4 := math.Log(a) - math.Log(b+x-1) - (r+x)*math.Log(al+tx)
		return l + logSumExp(a3, a4)
	}
	return l + a3
}

func logSumExp(u, v float64) float64 {
	if u < v {
		u, v = v, u
	}
	return u + math.Log1p(math.Exp(v-u))
}

// logitDead is ln(P(dead)/P(alive)) given (x, tx, T); −Inf when x = 0 (a customer with no
// repeat purchase has had no chance to drop out).
func (m BGNBD) logitDead(x, tx, T float64) float64 {
	if x == 0 {
		return math.Inf(-1)
	}
	return math.Log(m.A) - math.Log(m.B+x-1) + (m.R+x)*(math.Log(m.Alpha+T)-math.Log(m.Alpha+tx))
}

// PAlive is the probability that a customer with (x, tx, T) is still active at T (FHL 2005
// eq. 12): 1 / (1 + 1{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)).
func (m BGNBD) PAlive(x, tx, T float64) float64 {
	l := m.logitDead(x, tx, T)
	if l > 0 {
		e := math.Exp(-l)
		return e / (1 + e)
	}
	return 1 / (1 + math.Exp(l))
}

// ExpectedPurchases is the expected number of purchases in (T, T+t] of a customer with
// (x, tx, T) (FHL 2005 eq. 10):
//
//	P(alive) · (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1; z)],
//	z = t/(α+T+t).
//
// The bracket is evaluated after Euler's transformation 2F1(a',b';c;z) =
// (1−z)^(c−a'−b') 2F1(c−a', c−b'; c; z), which gives
//
//	1 − (1−z)^(a−1) · 2F1(a+b−1−r, a−1; a+b+x−1; z):
//
// the original form multiplies a tiny power by a huge 2F1 when r+x is large, this one does
// not. Near a = 1 the bracket and a−1 vanish together; there a series in a−1 is used.
func (m BGNBD) ExpectedPurchases(x, tx, T, t float64) float64 {
	if t <= 0 {
		return 0
	}
	r, al, a, b := m.R, m.Alpha, m.A, m.B
	if a > quadMinA {
		return m.PAlive(x, tx, T) * aliveExpectedQuad(r+x, al+T, a, b+x, t)
	}
	z := t / (al + T + t)
	c := a + b + x - 1
	eps := a - 1
	lz := math.Log1p(-z) // ln(1−z)
	var br float64       // bracket / (a−1)
	if math.Abs(eps) > 1e-4 {
		A := a + b - 1 - r
		f := mathext.Hypergeo(A, eps, c, z)
		prod := math.Exp(eps*lz) * f
		if math.IsNaN(prod) || math.IsInf(prod, 0) || math.IsInf(f, 0) {
			// Cephes overflows when a and b run into the thousands (2F1 ~ e^{a z} while
			// (1−z)^(a−1) ~ e^{−a z}): sum the series in log space with the power folded in.
			prod = math.Exp(eps*lz + logHyp2f1Pos(A, eps, c, z))
		}
		br = (1 - prod) / eps
	} else {
		// 2F1(A, ε; c; z) = 1 + ε·G, G = Σ_{k≥1} (A)_k (1+ε)_{k−1} / ((c)_k k!) z^k, so
		// bracket/ε = −expm1(ε ln(1−z))/ε − (1−z)^ε · G.
		A := a + b - 1 - r
		term := A / c * z // k = 1
		g := term
		for k := 1; k < 100000 && math.Abs(term) > 1e-17*math.Abs(g); k++ {
			kf := float64(k)
			term *= (A + kf) * (eps + kf) / ((c + kf) * (kf + 1)) * z
			g += term
		}
		e1 := -lz // limit of −expm1(ε·lz)/ε at ε = 0
		if eps != 0 {
			e1 = -math.Expm1(eps*lz) / eps
		}
		br = e1 - math.Exp(eps*lz)*g
	}
	return m.PAlive(x, tx, T) * (a + b + x - 1) * br
}

// quadMinA is the a above which ExpectedPurchases integrates over p instead of using 2F1:
// Cephes' series needs ~a terms (70 µs at a = 1000, 600 µs at 10^4) and overflows beyond.
const quadMinA = 200

// aliveExpectedQuad is E[(1 − (k/(k+p t))^s) / p] for p ~ Beta(A, B): the expected purchases
// in t of an alive customer, with λ ~ Gamma(s = r+x, k = α+T) integrated out analytically
// (E[e^{−λpt}] = (k/(k+pt))^s) and p ~ its posterior Beta(a, b+x) integrated numerically.
// In u = logit p the Beta density is smooth, unimodal and has exponential tails; the
// substitution u = u* + σ·sinh(τ) around its mode u* = ln(A/B), σ = sqrt(1/A + 1/B), and the
// trapezoid rule in τ converge exponentially (steps of 0.1σ near the mode).
func aliveExpectedQuad(s, k, A, B, t float64) float64 {
	lnorm := lgammaf(A) + lgammaf(B) - lgammaf(A+B)
	um := math.Log(A / B)
	sd := math.Sqrt(1/A + 1/B)
	// Reach 45 e-folds into each tail: the left decays like e^{A u}, the right like e^{−B u}.
	tmax := math.Asinh(math.Max(45/(A*sd), 45/(B*sd)) + 14)
	const h = 0.1
	var sum float64
	for tau := -tmax; tau <= tmax+1e-12; tau += h {
		sh := math.Sinh(tau)
		u := um + sd*sh
		lp := -softplus(-u) // ln p
		lq := -softplus(u)  // ln(1−p)
		p := math.Exp(lp)
		lf := A*lp + B*lq - lnorm // ln density of u
		g := -math.Expm1(-s*math.Log1p(p*t/k)) / p
		sum += math.Exp(lf) * g * sd * math.Cosh(tau)
	}
	return sum * h
}

func lgammaf(v float64) float64 { l, _ := math.Lgamma(v); return l }

// softplus is ln(1 + e^v) without overflow.
func softplus(v float64) float64 {
	if v > 0 {
		return v + math.Log1p(math.Exp(-v))
	}
	return math.Log1p(math.Exp(v))
}

// bgCells is the likelihood's data, indexed so that one evaluation costs no logarithm per
// cell: the Γ-function terms depend on x only, ln(α+T) and ln(α+t_x) on the distinct T and
// t_x values (a few hundred or thousand days), and a cell only combines them.
type bgCells struct {
	xCounts
	vals  []float64 // distinct T and t_x values
	cells []bgCell
	n     float64 // customers

	// scratch, per evaluation
	lv, iv []float64
}

// xCounts are the distinct repeat counts x of a model's cells, with the customers of each.
type xCounts struct {
	xs     []float64 // distinct x
	xCount []float64 // customers per distinct x
}

// add counts n customers of x and returns x's index; pos indexes xs while the cells are built.
func (d *xCounts) add(pos map[float64]int32, x, n float64) int32 {
	i, ok := pos[x]
	if !ok {
		i = int32(len(d.xs))
		pos[x] = i
		d.xs = append(d.xs, x)
		d.xCount = append(d.xCount, 0)
	}
	d.xCount[i] += n
	return i
}

type bgCell struct {
	xi, ti, txi int32
	n           float64
}

func newBGCells(cs []Cell) *bgCells {
	d := &bgCells{}
	xpos := map[float64]int32{}
	vpos := map[float64]int32{}
	val := func(v float64) int32 {
		i, ok := vpos[v]
		if !ok {
			i = int32(len(d.vals))
			vpos[v] = i
			d.vals = append(d.vals, v)
		}
		return i
	}
	for _, c := range cs {
		if c.Count == 0 {
			continue
		}
		n := float64(c.Count)
		d.cells = append(d.cells, bgCell{d.add(xpos, c.X, n), val(c.T), val(c.TX), n})
		d.n += n
	}
	d.lv = make([]float64, len(d.vals))
	d.iv = make([]float64, len(d.vals))
	return d
}

// logLik returns the total log-likelihood and, when grad != nil, its gradient with respect
// to (ln r, ln α, ln a, ln b).
func (d *bgCells) logLik(m BGNBD, grad []float64) float64 {
	r, al, a, b := m.R, m.Alpha, m.A, m.B
	lg := func(v float64) float64 { l, _ := math.Lgamma(v); return l }
	var ll, gr, gal, ga, gb float64
	base := lg(a+b) - lg(b) - lg(r) + r*math.Log(al)
	ll = base * d.n
	if grad != nil {
		psiAB := mathext.Digamma(a + b)
		gr = (math.Log(al) - mathext.Digamma(r)) * d.n
		gal = r / al * d.n
		ga = psiAB * d.n
		gb = (psiAB - mathext.Digamma(b)) * d.n
	}
	for i, x := range d.xs {
		n := d.xCount[i]
		ll += (lg(r+x) + lg(b+x) - lg(a+b+x)) * n
		if grad != nil {
			psiABX := mathext.Digamma(a + b + x)
			gr += mathext.Digamma(r+x) * n
			ga -= psiABX * n
			gb += (mathext.Digamma(b+x) - psiABX) * n
		}
	}
	for i, v := range d.vals {
		d.lv[i] = math.Log(al + v)
		d.iv[i] = 1 / (al + v)
	}
	// ln(a/(b+x−1)) per distinct x (unused for x = 0).
	lab := make([]float64, len(d.xs))
	ib := make([]float64, len(d.xs))
	la := math.Log(a)
	for i, x := range d.xs {
		if x > 0 {
			lab[i] = la - math.Log(b+x-1)
			ib[i] = 1 / (b + x - 1)
		}
	}
	var sT, sTX, sw4, sw4b float64 // gradient sums over the cells
	for _, c := range d.cells {
		x := d.xs[c.xi]
		rx := r + x
		lT := d.lv[c.ti]
		a3 := -rx * lT
		if x == 0 {
			ll += a3 * c.n
			if grad != nil {
				sT += lT * c.n
				sTX += rx * d.iv[c.ti] * c.n
			}
			continue
		}
		lX := d.lv[c.txi]
		a4 := lab[c.xi] - rx*lX
		var lse, w3, w4 float64
		if a3 >= a4 {
			e := math.Exp(a4 - a3)
			lse = a3 + math.Log1p(e)
			w4 = e / (1 + e)
			w3 = 1 - w4
		} else {
			e := math.Exp(a3 - a4)
			lse = a4 + math.Log1p(e)
			w3 = e / (1 + e)
			w4 = 1 - w3
		}
		ll += lse * c.n
		if grad != nil {
			sT += (w3*lT + w4*lX) * c.n
			sTX += rx * (w3*d.iv[c.ti] + w4*d.iv[c.txi]) * c.n
			sw4 += w4 * c.n
			sw4b += w4 * ib[c.xi] * c.n
		}
	}
	if grad != nil {
		gr -= sT
		gal -= sTX
		ga += sw4 / a
		gb -= sw4b
		// chain rule to log parameters
		grad[0], grad[1], grad[2], grad[3] = gr*r, gal*al, ga*a, gb*b
	}
	return ll
}

// logHyp2f1Pos is ln 2F1(A, B; c; z) by its power series summed in log space, for A, B,
// c > 0 and 0 ≤ z < 1 (all terms positive). It returns NaN outside that domain or when the
// series does not settle within a million terms.
func logHyp2f1Pos(A, B, c, z float64) float64 {
	if !(A > 0 && B > 0 && c > 0 && z >= 0 && z < 1) {
		return math.NaN()
	}
	lz := math.Log(z)
	lt, sum := 0.0, 0.0 // ln term, and Σ exp(ln term − max) with max tracked
	mx := 0.0
	sum = 1
	for k := 0; k < 1000000; k++ {
		kf := float64(k)
		lt += math.Log(A+kf) + math.Log(B+kf) - math.Log(c+kf) - math.Log(kf+1) + lz
		if lt > mx {
			sum = sum*math.Exp(mx-lt) + 1
			mx = lt
		} else {
			sum += math.Exp(lt - mx)
		}
		// Past the peak the terms shrink at least geometrically; stop once negligible.
		if lt < mx-40 && (A+kf)*(B+kf)*z < (c+kf)*(kf+1) {
			return mx + math.Log(sum)
		}
	}
	return math.NaN()
}
