package kmeans

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/audiencesync/audiencesync/transforms/par"
)

// Lloyd's algorithm with k-means++ seeding and restarts: the fitting core of Train.

type fit struct {
	k       int
	centres []float64 // k*d
	labels  []int
	inertia float64
}

func countDistinct(z []float64, n, d, limit int) int {
	seen := [][]float64{}
outer:
	for i := 0; i < n && len(seen) < limit; i++ {
		row := z[i*d : (i+1)*d]
		for _, s := range seen {
			if slices.Equal(s, row) {
				continue outer
			}
		}
		seen = append(seen, row)
	}
	return len(seen)
}

func mean0(z []float64, n, d int) []float64 {
	c := make([]float64, d)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			c[j] += z[i*d+j] / float64(n)
		}
	}
	return c
}

func sqDist(a, b []float64) float64 {
	s := 0.0
	for j := range a {
		t := a[j] - b[j]
		s += t * t
	}
	return s
}

// lloydRestarts runs Lloyd from cfg.Restarts k-means++ seedings and keeps the best fit.
// Restarts are independent (each has its own seeded generator), so they run on every core
// (par.Map, GOMAXPROCS workers); the winner is chosen in restart order as a sequential loop would
// (lowest inertia, the first on a tie), so the result does not depend on the core count.
func lloydRestarts(cfg Config, z []float64, n, d, k int) *fit {
	restarts := make([]uint64, cfg.Restarts)
	for r := range restarts {
		restarts[r] = uint64(r)
	}
	fits, _ := par.Map(par.Workers(), restarts, func(_ int, r uint64) (*fit, error) {
		return lloyd(cfg, z, n, d, k, plusPlus(rand.New(rand.NewPCG(cfg.Seed, r)), z, n, d, k)), nil
	})
	var best *fit
	for _, f := range fits {
		if best == nil || f.inertia < best.inertia {
			best = f
		}
	}
	return best
}

// plusPlus is k-means++ seeding: each next centre is a point drawn with probability
// proportional to its squared distance to the nearest centre so far.
func plusPlus(rng *rand.Rand, z []float64, n, d, k int) []float64 {
	c := make([]float64, 0, k*d)
	first := rng.IntN(n)
	c = append(c, z[first*d:(first+1)*d]...)
	dist := make([]float64, n)
	for i := range dist {
		dist[i] = sqDist(z[i*d:(i+1)*d], c[:d])
	}
	for len(c) < k*d {
		sum := 0.0
		for _, v := range dist {
			sum += v
		}
		pick := n - 1
		if sum > 0 {
			u := rng.Float64() * sum
			for i, v := range dist {
				u -= v
				if u < 0 {
					pick = i
					break
				}
			}
		} else {
			pick = rng.IntN(n)
		}
		cen := z[pick*d : (pick+1)*d]
		c = append(c, cen...)
		for i := range dist {
			dist[i] = min(dist[i], sqDist(z[i*d:(i+1)*d], cen))
		}
	}
	return c
}

// lloyd runs Lloyd's algorithm from the centres c (k*d, updated in place) until no centre
// moves by more than cfg.Tolerance or cfg.MaxIter iterations.
//
// It follows Hamerly's bounds (Hamerly 2010, "Making k-means even faster"): each point keeps
// an upper bound on the distance to its centre and a lower bound on the distance to any
// other; when the upper bound is below max(lower bound, half the distance from its centre
// to the nearest other centre), the point's nearest centre cannot have changed and no
// distance is computed. A point is skipped only when that holds by a relative margin of
// 1e-9, far above the rounding of the bounds, so every label (and with it every centre,
// shift and the result) is exactly what the plain loop, each point against every centre,
// gives (TestLloydMatchesPlain). On the bench shop this skips most distance computations
// after the first few iterations.
func lloyd(cfg Config, z []float64, n, d, k int, c []float64) *fit {
	const margin = 1 - 1e-9
	labels := make([]int, n)
	upper := make([]float64, n) // ≥ distance to labels[i]'s centre
	lower := make([]float64, n) // ≤ distance to every other centre
	sums := make([]float64, k*d)
	counts := make([]int, k)
	half := make([]float64, k)  // half the distance from centre q to its nearest other centre
	drift := make([]float64, k) // how far centre q moved in the last update
	old := make([]float64, k*d)
	// full finds the nearest and second-nearest centre of point i, as the plain loop does
	// (the first centre on a tie).
	full := func(i int) {
		x := z[i*d : (i+1)*d]
		best, bestD, second := 0, math.Inf(1), math.Inf(1)
		for q := 0; q < k; q++ {
			dd := sqDist(x, c[q*d:(q+1)*d])
			if dd < bestD {
				best, bestD, second = q, dd, bestD
			} else if dd < second {
				second = dd
			}
		}
		labels[i], upper[i], lower[i] = best, math.Sqrt(bestD), math.Sqrt(second)
	}
	for i := 0; i < n; i++ {
		full(i)
	}
	tol2 := cfg.Tolerance * cfg.Tolerance
	for it := 0; it < cfg.MaxIter; it++ {
		if it > 0 {
			for q := 0; q < k; q++ {
				h := math.Inf(1)
				for r := 0; r < k; r++ {
					if r != q {
						h = min(h, sqDist(c[q*d:(q+1)*d], c[r*d:(r+1)*d]))
					}
				}
				half[q] = math.Sqrt(h) / 2
			}
			for i := 0; i < n; i++ {
				a := labels[i]
				bound := max(half[a], lower[i]) * margin
				if upper[i] < bound {
					continue
				}
				upper[i] = math.Sqrt(sqDist(z[i*d:(i+1)*d], c[a*d:(a+1)*d]))
				if upper[i] < bound {
					continue
				}
				full(i)
			}
		}
		sumClusters(z, labels, sums, counts, d)
		copy(old, c)
		var dist []float64 // squared distance of each point to its centre, for empty clusters
		shift := 0.0
		for q := 0; q < k; q++ {
			if counts[q] == 0 && dist == nil {
				dist = make([]float64, n)
				for i := range dist {
					a := labels[i]
					dist[i] = sqDist(z[i*d:(i+1)*d], old[a*d:(a+1)*d])
				}
			}
			moveCentre(c, z, sums, counts, dist, q, n, d)
			dq := sqDist(old[q*d:(q+1)*d], c[q*d:(q+1)*d])
			shift = max(shift, dq)
			drift[q] = math.Sqrt(dq)
		}
		if shift <= tol2 {
			break
		}
		// Keep the bounds true for the moved centres: a point's own centre moved by at
		// most drift[a], any other by at most the largest drift of the others.
		top, topQ, second := 0.0, -1, 0.0
		for q, v := range drift {
			if v > top {
				top, topQ, second = v, q, top
			} else if v > second {
				second = v
			}
		}
		for i := 0; i < n; i++ {
			a := labels[i]
			upper[i] += drift[a]
			if a == topQ {
				lower[i] -= second
			} else {
				lower[i] -= top
			}
		}
	}
	return &fit{k: k, centres: c, labels: labels, inertia: assignAll(z, n, d, k, c, labels)}
}

// sumClusters sets sums (k*d) and counts (k) to the coordinate sums and sizes of the
// clusters the labels give, adding the points in index order.
func sumClusters(z []float64, labels []int, sums []float64, counts []int, d int) {
	clear(sums)
	clear(counts)
	for i, q := range labels {
		counts[q]++
		for j := 0; j < d; j++ {
			sums[q*d+j] += z[i*d+j]
		}
	}
}

// moveCentre sets centre q to the mean of its points (sums, counts). A centre without
// points moves to the point farthest from its own centre (dist: squared distances to the
// centres before this update; the first such point, deterministic), and that point's
// distance then counts as 0, so a second empty centre picks another.
func moveCentre(c, z, sums []float64, counts []int, dist []float64, q, n, d int) {
	if counts[q] > 0 {
		for j := 0; j < d; j++ {
			c[q*d+j] = sums[q*d+j] / float64(counts[q])
		}
		return
	}
	far := 0
	for i := 1; i < n; i++ {
		if dist[i] > dist[far] {
			far = i
		}
	}
	copy(c[q*d:(q+1)*d], z[far*d:(far+1)*d])
	dist[far] = 0
}

// assignAll labels every point with its nearest centre (the first on a tie) and returns
// the inertia, the sum of squared distances to those centres.
func assignAll(z []float64, n, d, k int, c []float64, labels []int) float64 {
	inertia := 0.0
	for i := 0; i < n; i++ {
		x := z[i*d : (i+1)*d]
		best, bestD := 0, math.Inf(1)
		for q := 0; q < k; q++ {
			if dd := sqDist(x, c[q*d:(q+1)*d]); dd < bestD {
				best, bestD = q, dd
			}
		}
		labels[i] = best
		inertia += bestD
	}
	return inertia
}
