package clv

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// GammaGamma holds the Gamma-Gamma spend parameters (Fader & Hardie 2013): a customer's
// purchase amounts are Gamma(shape P, rate ν) with ν ~ Gamma(shape Q, rate V). V is in
// currency units.
type GammaGamma struct {
	P float64 `json:"p"`
	Q float64 `json:"q"`
	V float64 `json:"v"`
}

// LogLikelihood is the log density of the mean m of x repeat purchase amounts:
//
//	ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln v + (px−1) ln m + px ln x − (px+q) ln(v + x m).
func (g GammaGamma) LogLikelihood(x, m float64) float64 {
	p, q, v := g.P, g.Q, g.V
	lg := func(u float64) float64 { l, _ := math.Lgamma(u); return l }
	px := p * x
	return lg(px+q) - lg(px) - lg(q) + q*math.Log(v) + (px-1)*math.Log(m) + px*math.Log(x) - (px+q)*math.Log(v+x*m)
}

// ExpectedAOV is E[M | x, m], the conditional expected amount of a future purchase of a
// customer with x repeat purchases of mean m: p(v + x m)/(px + q − 1), a weighted mean of
// the population mean p v/(q−1) and the customer's own m. With x = 0 it is the population
// mean. It is +Inf when px + q ≤ 1 (the posterior mean does not exist).
func (g GammaGamma) ExpectedAOV(x, m float64) float64 {
	d := g.P*x + g.Q - 1
	if d <= 0 {
		return math.Inf(1)
	}
	return g.P * (g.V + x*m) / d
}

// ggCells is the Gamma-Gamma likelihood's data; the Γ-function terms depend on x only, so
// they are evaluated once per distinct x, and a cell costs one logarithm.
type ggCells struct {
	xCounts
	cells []ggCell
	n     float64
	// Σ n·ln m and Σ n·x·(ln m + ln x): the data terms that are linear in p.
	sLogM, sXLogMX float64
}

type ggCell struct {
	xi   int32
	x, m float64
	n    float64
}

func newGGCells(cs []RepeatCell) *ggCells {
	d := &ggCells{}
	pos := map[float64]int32{}
	for _, c := range cs {
		if c.Count == 0 || c.X <= 0 || !(c.M > 0) {
			continue
		}
		n := float64(c.Count)
		d.cells = append(d.cells, ggCell{d.add(pos, c.X, n), c.X, c.M, n})
		d.n += n
		lm := math.Log(c.M)
		d.sLogM += lm * n
		d.sXLogMX += c.X * (lm + math.Log(c.X)) * n
	}
	return d
}

// logLik returns the total log-likelihood and, when grad != nil, the gradient with respect
// to (ln p, ln q, ln v). Per customer:
//
//	ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln v + (px−1) ln m + px ln x − (px+q) ln(v + x m).
func (d *ggCells) logLik(g GammaGamma, grad []float64) float64 {
	p, q, v := g.P, g.Q, g.V
	lg := func(u float64) float64 { l, _ := math.Lgamma(u); return l }
	lv := math.Log(v)
	ll := (q*lv-lg(q))*d.n + p*d.sXLogMX - d.sLogM
	var gp, gq, gv float64
	if grad != nil {
		gq = (lv - mathext.Digamma(q)) * d.n
		gv = q / v * d.n
		gp = d.sXLogMX
	}
	for i, x := range d.xs {
		n := d.xCount[i]
		px := p * x
		ll += (lg(px+q) - lg(px)) * n
		if grad != nil {
			dpq := mathext.Digamma(px + q)
			gp += x * (dpq - mathext.Digamma(px)) * n
			gq += dpq * n
		}
	}
	for _, c := range d.cells {
		px := p * c.x
		lvm := math.Log(v + c.x*c.m)
		ll -= (px + q) * lvm * c.n
		if grad != nil {
			gp -= c.x * lvm * c.n
			gq -= lvm * c.n
			gv -= (px + q) / (v + c.x*c.m) * c.n
		}
	}
	if grad != nil {
		grad[0], grad[1], grad[2] = gp*p, gq*q, gv*v
	}
	return ll
}
