package clv

import "math"

// Double-exponential quadrature, used by the tests as an independent way to evaluate the
// models' defining integrals. Integrands are given as logarithms so that λ^x e^{−λT} and
// Beta/Gamma densities with singular ends neither overflow nor lose precision.

const deStep = 1.0 / 64
const deHalfWidth = 6.5

// intHalfLine returns ∫_0^∞ exp(logf(λ)) dλ via λ = s·exp(π/2·sinh t) (exp-sinh), where s
// is the integrand's rough scale.
func intHalfLine(logf func(logLam, lam float64) float64, s float64) float64 {
	var sum float64
	for t := -deHalfWidth; t <= deHalfWidth; t += deStep {
		ll := math.Log(s) + math.Pi/2*math.Sinh(t)
		if ll > 700 {
			continue
		}
		lam := math.Exp(ll)
		// dλ/dt = λ·π/2·cosh t
		v := logf(ll, lam) + ll + math.Log(math.Pi/2*math.Cosh(t))
		sum += math.Exp(v)
	}
	return sum * deStep
}

// intUnit returns ∫_0^1 exp(logf(ln p, ln(1−p), p)) dp via the tanh-sinh substitution
// p = 1/(1+exp(−π sinh t)), which keeps both p and 1−p accurate near the ends.
func intUnit(logf func(lp, lq, p float64) float64) float64 {
	// A finer step than intHalfLine's: Beta(a, b) with a, b in the hundreds is a narrow peak.
	const step = deStep / 8
	var sum float64
	for t := -deHalfWidth; t <= deHalfWidth; t += step {
		u := math.Pi * math.Sinh(t)
		lp := -math.Log1p(math.Exp(-u))
		lq := -math.Log1p(math.Exp(u))
		if math.IsInf(lp, -1) || math.IsInf(lq, -1) {
			continue
		}
		// dp/dt = p(1−p)·π cosh t
		v := logf(lp, lq, math.Exp(lp)) + lp + lq + math.Log(math.Pi*math.Cosh(t))
		sum += math.Exp(v)
	}
	return sum * step
}

func lgam(x float64) float64 { l, _ := math.Lgamma(x); return l }

// logGammaPDF is the log density of Gamma(shape k, rate θ) at exp(lx).
func logGammaPDF(k, rate, lx, x float64) float64 {
	return k*math.Log(rate) + (k-1)*lx - rate*x - lgam(k)
}

// logBetaPDF is the log density of Beta(a, b) at p (given ln p and ln(1−p)).
func logBetaPDF(a, b, lp, lq float64) float64 {
	return (a-1)*lp + (b-1)*lq - (lgam(a) + lgam(b) - lgam(a+b))
}
