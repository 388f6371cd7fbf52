package kmeans

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat"

	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Model is a trained clustering. All fields are exported so that a runner can serialise it
// (e.g. as a side input); build it only with Train.
type Model struct {
	Features  []string
	Log       []bool      // feature was log1p-transformed (its original units are expm1)
	Mean, Std []float64   // z-score parameters of the transformed features
	Centroids [][]float64 // z units, index = cluster
	Names     []string    // readable, unique, index = cluster
	// Diagnostics of the fit on the sample.
	SampleSize int
	Inertia    float64 // sum of squared z distances to the assigned centre
	Silhouette float64 // mean silhouette of the chosen K (NaN with a single cluster)
	TriedK     []int   // K values tried (one when k was given)
	Scores     []float64
}

// K is the number of clusters.
func (m *Model) K() int { return len(m.Centroids) }

// Assign returns the index of the nearest centroid to a feature vector from
// Featurizer.Extract (ties to the lower index). It does not allocate.
func (m *Model) Assign(x []float64) int {
	best, bestD := 0, math.Inf(1)
	for k, c := range m.Centroids {
		d := 0.0
		for j, v := range x {
			z := (v-m.Mean[j])/m.Std[j] - c[j]
			d += z * z
		}
		if d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// Fill writes the cluster index and name into a customer_metrics row. Rows of customers that
// are not clustered keep cluster -1 (set it when building the row).
func (m *Model) Fill(row *tables.CustomerMetrics, cluster int) {
	row.Cluster = int64(cluster)
	row.ClusterName = m.Names[cluster]
}

// Original returns centroid k in original units: expm1 of the de-standardised value for log
// features, the de-standardised value for shares.
func (m *Model) Original(k int) []float64 {
	out := make([]float64, len(m.Features))
	for j, z := range m.Centroids[k] {
		v := z*m.Std[j] + m.Mean[j]
		if m.Log[j] {
			v = math.Expm1(v)
			// Every logged feature is a count, a number of days or an amount: >= 0. A
			// centroid of all-zero points comes back as ±1e-14 from the z-score round trip.
			v = math.Max(v, 0)
		}
		out[j] = math.Round(v*1e4) / 1e4
	}
	return out
}

// CentroidRows builds the kmeans_centroids rows. sizes[k] is the number of customers the
// pipeline assigned to cluster k (all customers, not the sample).
func (m *Model) CentroidRows(runDate value.Day, currency string, sizes []int64) []tables.KMeansCentroid {
	rows := make([]tables.KMeansCentroid, m.K())
	for k := range rows {
		o := m.Original(k)
		feat := make(map[string]float64, len(o))
		for j, n := range m.Features {
			feat[n] = o[j]
		}
		js, _ := json.Marshal(feat) // map[string]float64 of finite numbers cannot fail
		var size int64
		if k < len(sizes) {
			size = sizes[k]
		}
		rows[k] = tables.KMeansCentroid{
			RunDate: int32(runDate), Currency: currency, Cluster: int64(k), ClusterName: m.Names[k],
			Size: size, RecencyDays: o[0], Frequency: o[1], Monetary: o[2], Features: string(js),
		}
	}
	return rows
}

// Train fits the model on the sample (see the package doc). It fails only on an empty sample
// or vectors of inconsistent length.
func Train(cfg Config, s *Sample) (*Model, error) {
	pts := s.Sorted()
	n := len(pts)
	names := cfg.FeatureNames()
	d := len(names)
	if n == 0 {
		return nil, fmt.Errorf("kmeans: no customers in the training sample")
	}
	for _, p := range pts {
		if len(p.X) != d {
			return nil, fmt.Errorf("kmeans: a sampled customer has %d features, the config names %d (%v)", len(p.X), d, names)
		}
	}
	m := &Model{Features: names, SampleSize: n}
	col := make([]float64, n)
	z := make([]float64, n*d) // row-major standardised sample
	for j := 0; j < d; j++ {
		for i, p := range pts {
			col[i] = p.X[j]
		}
		mean, std := stat.PopMeanStdDev(col, nil)
		if !(std > 1e-12) {
			std = 1 // a constant feature: every z is 0, it plays no part
		}
		m.Log = append(m.Log, isLog(names[j]))
		m.Mean = append(m.Mean, mean)
		m.Std = append(m.Std, std)
		for i := range pts {
			z[i*d+j] = (col[i] - mean) / std
		}
	}
	distinct := countDistinct(z, n, d, MaxAutoK+1)
	if cfg.K > 0 {
		distinct = countDistinct(z, n, d, cfg.K)
	}
	var best *fit
	switch {
	case distinct < 2:
		best = &fit{k: 1, centres: mean0(z, n, d), labels: make([]int, n)}
		m.Silhouette = math.NaN()
	case cfg.K > 0:
		best = lloydRestarts(cfg, z, n, d, min(cfg.K, distinct))
		m.TriedK = []int{best.k}
		m.Silhouette = silhouette(z, d, best, min(n, max(cfg.SilhouetteSample, 10)))
		m.Scores = []float64{m.Silhouette}
	default:
		ns := min(n, cfg.SilhouetteSample)
		for k := 2; k <= min(MaxAutoK, distinct); k++ {
			f := lloydRestarts(cfg, z, n, d, k)
			sc := silhouette(z, d, f, ns)
			m.TriedK = append(m.TriedK, k)
			m.Scores = append(m.Scores, sc)
			if best == nil || sc > m.Silhouette {
				best, m.Silhouette = f, sc
			}
		}
	}
	m.Inertia = best.inertia
	m.Centroids = make([][]float64, best.k)
	for k := range m.Centroids {
		m.Centroids[k] = best.centres[k*d : (k+1)*d]
	}
	m.order()
	return m, nil
}

// order renumbers clusters by value and names them (package doc, "Cluster order and names").
func (m *Model) order() {
	k := m.K()
	orig := make([][]float64, k)
	for i := range orig {
		orig[i] = m.Original(i)
	}
	idx := make([]int, k)
	for i := range idx {
		idx[i] = i
	}
	value := func(i int) float64 { return orig[i][1] * orig[i][2] }
	sort.SliceStable(idx, func(a, b int) bool {
		ia, ib := idx[a], idx[b]
		if va, vb := value(ia), value(ib); va != vb {
			return va > vb
		}
		if orig[ia][0] != orig[ib][0] {
			return orig[ia][0] < orig[ib][0]
		}
		return slices.Compare(m.Centroids[ia], m.Centroids[ib]) < 0
	})
	cs := make([][]float64, k)
	os := make([][]float64, k)
	for to, from := range idx {
		cs[to], os[to] = m.Centroids[from], orig[from]
	}
	m.Centroids = cs
	m.Names = make([]string, k)
	if k == 1 {
		m.Names[0] = "all"
		return
	}
	m.Names[0] = "loyal"
	oneOff := 1
	for i := 2; i < k; i++ {
		if f, fo := os[i][1], os[oneOff][1]; f < fo || (f == fo && os[i][0] >= os[oneOff][0]) {
			oneOff = i
		}
	}
	m.Names[oneOff] = "one-off"
	rec := make([]float64, k)
	for i := range os {
		rec[i] = os[i][0]
	}
	slices.Sort(rec)
	median := rec[k/2]
	if k%2 == 0 {
		median = (rec[k/2-1] + rec[k/2]) / 2
	}
	used := map[string]int{}
	for i := 1; i < k; i++ {
		if i == oneOff {
			continue
		}
		base := "lapsing"
		if os[i][0] <= median {
			base = "potential"
		}
		used[base]++
		if n := used[base]; n > 1 {
			m.Names[i] = fmt.Sprintf("%s %d", base, n)
		} else {
			m.Names[i] = base
		}
	}
}

// silhouette is the mean silhouette of the first ns points under the fit's labels, the
// distances taken to those same ns points.
func silhouette(z []float64, d int, f *fit, ns int) float64 {
	if f.k < 2 || ns < 2 {
		return math.NaN()
	}
	sum := make([]float64, f.k)
	cnt := make([]int, f.k)
	for i := 0; i < ns; i++ {
		cnt[f.labels[i]]++
	}
	total := 0.0
	for i := 0; i < ns; i++ {
		clear(sum)
		x := z[i*d : (i+1)*d]
		for j := 0; j < ns; j++ {
			if j != i {
				sum[f.labels[j]] += math.Sqrt(sqDist(x, z[j*d:(j+1)*d]))
			}
		}
		own := f.labels[i]
		if cnt[own] <= 1 {
			continue // s(i) = 0
		}
		a := sum[own] / float64(cnt[own]-1)
		b := math.Inf(1)
		for q := 0; q < f.k; q++ {
			if q != own && cnt[q] > 0 {
				b = min(b, sum[q]/float64(cnt[q]))
			}
		}
		if math.IsInf(b, 1) {
			continue
		}
		if den := max(a, b); den > 0 {
			total += (b - a) / den
		}
	}
	return total / float64(ns)
}
