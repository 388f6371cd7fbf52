package clv

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"gonum.org/v1/gonum/optimize"
)

// FitInfo describes how a model's maximum-likelihood fit went.
type FitInfo struct {
	LogLikelihood float64 `json:"log_likelihood"`
	Customers     int64   `json:"customers"`
	Cells         int     `json:"cells"`
	Converged     bool    `json:"converged"`
	// Status is the optimiser's termination status of the chosen start.
	Status          string `json:"status"`
	Starts          int    `json:"starts"`
	ConvergedStarts int    `json:"converged_starts"`
	Error           string `json:"error,omitempty"`
	// Warning flags a fit that converged with a parameter near the edge of the parameter
	// space (e^±12): valid, but the model is close to a simpler limit (see the text).
	Warning string `json:"warning,omitempty"`
}

// boundaryWarning describes parameters beyond e^±12 (1.6e5 or 6e-6).
func boundaryWarning(names []string, vals []float64, hint string) string {
	var far []string
	for i, v := range vals {
		if math.Abs(math.Log(v)) > 12 {
			far = append(far, fmt.Sprintf("%s=%.3g", names[i], v))
		}
	}
	if len(far) == 0 {
		return ""
	}
	return "parameters near the boundary (" + strings.Join(far, ", ") + "): " + hint
}

// ErrNotConverged is wrapped by fit errors when no starting point converged.
var ErrNotConverged = errors.New("clv: maximum-likelihood fit did not converge")

// Bounds on ln(parameter): beyond e^±25 a parameter has run off to a boundary of the
// parameter space (e.g. b → ∞: the data show no dropout), which is not a usable fit.
const maxLogParam = 25

// gradTol is the largest acceptable |∂(mean log-likelihood)/∂ln θ| at a reported optimum.
// The objective is the mean per customer, so the tolerance does not depend on data size.
const gradTol = 1e-5

// minimizeMulti maximises ll (total log-likelihood, gradient in log-parameter space) from
// several starts in log-parameter space, and returns the best converged optimum.
func minimizeMulti(name string, ll func(lp, grad []float64) float64, n float64, base []float64, starts int) ([]float64, FitInfo, error) {
	dim := len(base)
	// BFGS asks for the value and then the gradient at the same point; one pass over the
	// cells computes both, so the last point's results are kept.
	lastX := make([]float64, dim)
	lastG := make([]float64, dim)
	var lastF float64
	have := false
	eval := func(x []float64) {
		if have && floatsEqual(x, lastX) {
			return
		}
		copy(lastX, x)
		have = true
		for _, v := range x {
			if math.Abs(v) > 2*maxLogParam || math.IsNaN(v) {
				lastF = math.Inf(1)
				for i := range lastG {
					lastG[i] = math.NaN()
				}
				return
			}
		}
		lastF = -ll(x, lastG) / n
		if math.IsNaN(lastF) {
			lastF = math.Inf(1)
		}
		for i := range lastG {
			lastG[i] = -lastG[i] / n
		}
	}
	obj := func(x []float64) float64 {
		eval(x)
		return lastF
	}
	grad := func(g, x []float64) {
		eval(x)
		copy(g, lastG)
	}
	prob := optimize.Problem{Func: obj, Grad: grad}
	rng := rand.New(rand.NewPCG(20050101, uint64(dim))) // fixed: same data → same fit
	info := FitInfo{Starts: starts}
	var best []float64
	bestF := math.Inf(1)
	var bestStatus, lastErr string
	for s := 0; s < starts; s++ {
		x0 := append([]float64(nil), base...)
		if s > 0 {
			for i := range x0 {
				x0[i] += rng.Float64()*3 - 1.5
			}
		}
		settings := &optimize.Settings{
			GradientThreshold: 1e-9,
			Converger:         &optimize.FunctionConverge{Absolute: 1e-13, Relative: 1e-13, Iterations: 30},
			MajorIterations:   3000,
		}
		res, err := optimize.Minimize(prob, x0, settings, &optimize.BFGS{})
		if res == nil {
			lastErr = fmt.Sprint(err)
			continue
		}
		x := res.X
		g := make([]float64, dim)
		grad(g, x)
		ok := !math.IsInf(res.F, 0) && !math.IsNaN(res.F)
		for i := range x {
			if math.Abs(x[i]) > maxLogParam || math.Abs(g[i]) > gradTol || math.IsNaN(g[i]) {
				ok = false
			}
		}
		if !ok {
			lastErr = fmt.Sprintf("start %d ended at ln params %.3g with gradient %.3g (status %v, %v)", s, x, g, res.Status, err)
			if best == nil && res.F < bestF && !math.IsInf(res.F, 0) {
				bestF = res.F
				bestStatus = res.Status.String()
			}
			continue
		}
		info.ConvergedStarts++
		if best == nil || res.F < bestF || !info.Converged {
			st := res.Status.String()
			if res.Status.Early() || err != nil {
				// The line search gave up at the optimum's rounding floor; the gradient test
				// above is what makes this start count as converged.
				st = "gradient below tolerance (optimizer: " + st + ")"
			}
			best, bestF, bestStatus = x, res.F, st
			info.Converged = true
		}
	}
	info.Status = bestStatus
	if !info.Converged {
		info.LogLikelihood = -bestF * n
		info.Error = fmt.Sprintf("%s: no start of %d converged; last: %s", name, starts, lastErr)
		return nil, info, fmt.Errorf("%w: %s (check that the calibration period has enough repeat buyers and a plausible time unit)", ErrNotConverged, info.Error)
	}
	info.LogLikelihood = -bestF * n
	return best, info, nil
}

func floatsEqual(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func expAll(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = math.Exp(v)
	}
	return out
}

// FitBGNBD fits the BG/NBD model to the aggregate's cells by maximum likelihood.
func FitBGNBD(cells []Cell, starts int) (BGNBD, FitInfo, error) {
	d := newBGCells(cells)
	info := FitInfo{Customers: int64(d.n), Cells: len(d.cells), Starts: starts}
	if d.n == 0 {
		return BGNBD{}, info, errors.New("clv: bgnbd: no customers with a purchase on or before the calibration end")
	}
	var sx, sT float64
	for _, c := range cells {
		sx += c.X * float64(c.Count)
		sT += c.T * float64(c.Count)
	}
	if sx == 0 {
		return BGNBD{}, info, errors.New("clv: bgnbd: no customer has a repeat purchase in the calibration period: the model cannot be fitted (move calibration_end later)")
	}
	if sT <= 0 {
		return BGNBD{}, info, errors.New("clv: bgnbd: every customer's first purchase is on the calibration end: no time to observe repeat purchases")
	}
	// Start: r = 1 and α matching the mean purchase rate, a = b = 1 (lifetimes starts at 1s).
	base := []float64{0, math.Log(sT / sx), 0, 0}
	ll := func(lp, grad []float64) float64 {
		p := expAll(lp)
		return d.logLik(BGNBD{R: p[0], Alpha: p[1], A: p[2], B: p[3]}, grad)
	}
	x, fi, err := minimizeMulti("bgnbd", ll, d.n, base, starts)
	fi.Customers, fi.Cells = info.Customers, info.Cells
	if err != nil {
		return BGNBD{}, fi, err
	}
	p := expAll(x)
	fi.Warning = boundaryWarning([]string{"r", "alpha", "a", "b"}, p,
		"the model is close to a limiting case (a → 0 or b → ∞: almost no dropout; a and b → ∞: one common dropout probability a/(a+b); r and alpha → ∞: one common purchase rate r/alpha); predictions remain usable but these parameters are poorly determined")
	return BGNBD{R: p[0], Alpha: p[1], A: p[2], B: p[3]}, fi, nil
}

// FitGammaGamma fits the Gamma-Gamma model to the repeat buyers' (x, mean repeat value).
func FitGammaGamma(cells []RepeatCell, starts int) (GammaGamma, FitInfo, error) {
	d := newGGCells(cells)
	info := FitInfo{Customers: int64(d.n), Cells: len(d.cells), Starts: starts}
	if d.n < 3 || len(d.cells) < 2 {
		return GammaGamma{}, info, fmt.Errorf("clv: gamma_gamma: %d repeat buyers with a positive mean repeat value: too few to fit", int64(d.n))
	}
	var sm float64
	for _, c := range d.cells {
		sm += c.m * c.n
	}
	// Start: p = 1, q = 2 and v such that the population mean p·v/(q−1) is the sample mean.
	base := []float64{0, math.Log(2), math.Log(sm / d.n)}
	ll := func(lp, grad []float64) float64 {
		p := expAll(lp)
		return d.logLik(GammaGamma{P: p[0], Q: p[1], V: p[2]}, grad)
	}
	x, fi, err := minimizeMulti("gamma_gamma", ll, d.n, base, starts)
	fi.Customers, fi.Cells = info.Customers, info.Cells
	if err != nil {
		return GammaGamma{}, fi, err
	}
	p := expAll(x)
	fi.Warning = boundaryWarning([]string{"p", "q", "v"}, p,
		"large q and v mean spend varies little between customers, so the expected AOV is close to the population mean p·v/(q−1)")
	return GammaGamma{P: p[0], Q: p[1], V: p[2]}, fi, nil
}
