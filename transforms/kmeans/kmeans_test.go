package kmeans

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/rfm"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Three well-separated groups in original units (recency days, orders, revenue).
var blobCentres = [][]float64{
	{400, 1, 50},   // one order long ago
	{10, 20, 2000}, // frequent and recent
	{60, 3, 300},   // in between
}

// blobs returns 200 points per centre: log1p(centre) plus uniform noise in [-0.05, 0.05] per
// feature, keyed "c<blob>-<i>", added in an order given by perm.
func blobs(perm int) (*Sample, []string) {
	rng := rand.New(rand.NewPCG(42, 0))
	type kp struct {
		key string
		x   []float64
	}
	var all []kp
	for b, c := range blobCentres {
		for i := 0; i < 200; i++ {
			x := make([]float64, 3)
			for j := range x {
				x[j] = math.Log1p(c[j]) + (rng.Float64()-0.5)*0.1
			}
			all = append(all, kp{fmt.Sprintf("c%d-%d", b, i), x})
		}
	}
	if perm > 0 {
		r := rand.New(rand.NewPCG(uint64(perm), 9))
		r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	}
	// Fill two partial samples and merge them, as two bundles would.
	a, b := NewSample(10000), NewSample(10000)
	var keys []string
	for i, p := range all {
		if i%2 == 0 {
			a.Add(p.key, p.x)
		} else {
			b.Add(p.key, p.x)
		}
		keys = append(keys, p.key)
	}
	a.Merge(b)
	return a, keys
}

func TestTrainRecoversBlobs(t *testing.T) {
	for _, k := range []int{3, 0} { // given, and chosen by silhouette
		cfg := Defaults()
		cfg.K = k
		s, _ := blobs(0)
		m, err := Train(cfg, s)
		if err != nil {
			t.Fatal(err)
		}
		if m.K() != 3 {
			t.Fatalf("k=%d: got %d clusters (tried %v, silhouettes %v), want 3", k, m.K(), m.TriedK, m.Scores)
		}
		// Order by frequency x monetary: 20*2000 > 3*300 > 1*50.
		want := [][]float64{blobCentres[1], blobCentres[2], blobCentres[0]}
		wantNames := []string{"loyal", "potential", "one-off"}
		for c := 0; c < 3; c++ {
			got := m.Original(c)
			for j := range got {
				// The centroid is the mean of the noisy logs; the noise is at most 0.05, so
				// the mean is within 0.02 of log1p(centre) with overwhelming probability.
				if math.Abs(math.Log1p(got[j])-math.Log1p(want[c][j])) > 0.02 {
					t.Errorf("k=%d: cluster %d feature %d = %.3f, want %.3f", k, c, j, got[j], want[c][j])
				}
			}
			if m.Names[c] != wantNames[c] {
				t.Errorf("k=%d: cluster %d name %q, want %q", k, c, m.Names[c], wantNames[c])
			}
		}
		// Every point goes back to its own blob.
		for c := 0; c < 3; c++ {
			x := []float64{math.Log1p(want[c][0]), math.Log1p(want[c][1]), math.Log1p(want[c][2])}
			if got := m.Assign(x); got != c {
				t.Errorf("Assign(centre %d) = %d", c, got)
			}
		}
		rows := m.CentroidRows(value.DayFromDate(2025, 1, 1), "EUR", []int64{200, 200, 200})
		if rows[0].ClusterName != "loyal" || rows[0].Size != 200 || math.Abs(rows[0].Frequency-20) > 0.5 || rows[0].Features == "" {
			t.Errorf("CentroidRows[0] = %+v", rows[0])
		}
	}
}

func TestTrainIsDeterministic(t *testing.T) {
	cfg := Defaults()
	s1, _ := blobs(0)
	s2, _ := blobs(7) // same customers, different insertion and merge order
	m1, err1 := Train(cfg, s1)
	m2, err2 := Train(cfg, s2)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if !reflect.DeepEqual(m1, m2) {
		t.Errorf("models differ:\n%+v\n%+v", m1, m2)
	}
}

func TestSampleIsBottomK(t *testing.T) {
	var keys []string
	for i := 0; i < 1000; i++ {
		keys = append(keys, fmt.Sprintf("cust-%d", i))
	}
	want := slices.Clone(keys)
	sort.Slice(want, func(i, j int) bool {
		hi, hj := hashKey(want[i]), hashKey(want[j])
		if hi != hj {
			return hi < hj
		}
		return want[i] < want[j]
	})
	want = want[:100]
	parts := []*Sample{NewSample(100), NewSample(100), NewSample(100)}
	for i, k := range keys {
		parts[i%3].Add(k, []float64{float64(i)})
	}
	parts[2].Merge(parts[0])
	parts[2].Merge(parts[1])
	var got []string
	for _, p := range parts[2].Sorted() {
		got = append(got, p.Key)
	}
	if !slices.Equal(got, want) {
		t.Errorf("sample keys differ from the 100 smallest hashes")
	}
}

func TestExtract(t *testing.T) {
	asOf := value.DayFromDate(2025, 6, 30)
	cfg := Defaults()
	cfg.ExtraFeatures = []string{"aov", "tenure_days", "share:mattress", "share:pillow"}
	c := &facts.Customer{
		CustomerID: "c1",
		Purchases: []facts.Purchase{
			{OrderID: "o1", Day: asOf - 500, Amount: 1000 * value.MoneyScale}, // outside the window
			{OrderID: "o2", Day: asOf - 9, Amount: 300 * value.MoneyScale},
			{OrderID: "o3", Day: asOf - 3, Amount: 100 * value.MoneyScale},
		},
		Lines: []facts.LineItem{
			{OrderID: "o1", Day: asOf - 500, Category: "mattress", Amount: 1000 * value.MoneyScale},
			{OrderID: "o2", Day: asOf - 9, Category: "mattress", Amount: 250 * value.MoneyScale},
			{OrderID: "o2", Day: asOf - 9, Category: "sheet", Amount: 50 * value.MoneyScale},
			{OrderID: "o3", Day: asOf - 3, Category: "pillow", Amount: 100 * value.MoneyScale},
		},
	}
	v, _ := rfm.Measure(c, asOf, 365)
	f := NewFeaturizer(cfg, asOf, 365)
	got := f.Extract(nil, c, v)
	// recency 3, 2 orders, 400 revenue, AOV 200, tenure 500 days; mattress 250/400, pillow 100/400.
	want := []float64{math.Log1p(3), math.Log1p(2), math.Log1p(400), math.Log1p(200), math.Log1p(500), 0.625, 0.25}
	if len(got) != len(want) {
		t.Fatalf("Extract = %v, want %v", got, want)
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("feature %s = %v, want %v", cfg.FeatureNames()[i], got[i], want[i])
		}
	}
	if n := testing.AllocsPerRun(100, func() { got = f.Extract(got, c, v) }); n != 0 {
		t.Errorf("Extract allocates %v times per call with a reused buffer", n)
	}
}

// Category shares use rfm.Window, [asOf-365, asOf): a line exactly 365 days old counts, one
// 366 days old does not, and a line on the as-of date never does. By hand: the counted lines
// are mattress 30 (asOf-365) and pillow 10 (asOf-1), so the shares are 30/40 and 10/40.
func TestExtractWindowEdges(t *testing.T) {
	asOf := value.DayFromDate(2025, 6, 30)
	cfg := Defaults()
	cfg.ExtraFeatures = []string{"share:mattress", "share:pillow"}
	c := &facts.Customer{
		CustomerID: "c1",
		Purchases: []facts.Purchase{
			{OrderID: "o1", Day: asOf - 366, Amount: 500 * value.MoneyScale},
			{OrderID: "o2", Day: asOf - 365, Amount: 30 * value.MoneyScale},
			{OrderID: "o3", Day: asOf - 1, Amount: 10 * value.MoneyScale},
			{OrderID: "o4", Day: asOf, Amount: 700 * value.MoneyScale},
		},
		Lines: []facts.LineItem{
			{OrderID: "o1", Day: asOf - 366, Category: "pillow", Amount: 500 * value.MoneyScale},
			{OrderID: "o2", Day: asOf - 365, Category: "mattress", Amount: 30 * value.MoneyScale},
			{OrderID: "o3", Day: asOf - 1, Category: "pillow", Amount: 10 * value.MoneyScale},
			{OrderID: "o4", Day: asOf, Category: "mattress", Amount: 700 * value.MoneyScale},
		},
	}
	v, _ := rfm.Measure(c, asOf, 365)
	got := NewFeaturizer(cfg, asOf, 365).Extract(nil, c, v)
	// recency 1 (o3), 2 orders (o2, o3), revenue 40.
	want := []float64{math.Log1p(1), math.Log1p(2), math.Log1p(40), 0.75, 0.25}
	if len(got) != len(want) {
		t.Fatalf("Extract = %v, want %v", got, want)
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("feature %s = %v, want %v", cfg.FeatureNames()[i], got[i], want[i])
		}
	}
}

func TestDegenerate(t *testing.T) {
	s := NewSample(100)
	for i := 0; i < 5; i++ {
		s.Add(fmt.Sprint(i), []float64{1, 1, 1})
	}
	m, err := Train(Defaults(), s)
	if err != nil || m.K() != 1 || m.Names[0] != "all" || m.Assign([]float64{0, 0, 0}) != 0 {
		t.Errorf("identical customers: %+v, %v", m, err)
	}
	if _, err := Train(Defaults(), NewSample(10)); err == nil || err.Error() != "kmeans: no customers in the training sample" {
		t.Errorf("empty sample: %v", err)
	}
}

func TestValidate(t *testing.T) {
	if err := Defaults().Validate("kmeans"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.K = 1 }, "kmeans.k: 1 is not usable (use 0 for automatic 2..8, or 2..50)"},
		{func(c *Config) { c.Restarts = 0 }, "kmeans.restarts: 0 must be at least 1"},
		{func(c *Config) { c.ExtraFeatures = []string{"aov", "ltv"} }, `kmeans.extra_features[1]: unknown feature "ltv" (known: aov, tenure_days, share:<category>)`},
		{func(c *Config) { c.ExtraFeatures = []string{"share:x", "share:x"} }, `kmeans.extra_features[1]: feature "share:x" is listed twice`},
	} {
		c := Defaults()
		tc.mod(&c)
		if err := c.Validate("kmeans"); err == nil || err.Error() != tc.want {
			t.Errorf("Validate = %v\nwant %s", err, tc.want)
		}
	}
}

func BenchmarkAssign(b *testing.B) {
	s, _ := blobs(0)
	m, _ := Train(Defaults(), s)
	x := []float64{math.Log1p(50), math.Log1p(2), math.Log1p(120)}
	b.ReportAllocs()
	for b.Loop() {
		m.Assign(x)
	}
}

func BenchmarkTrainAuto50k(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := NewSample(50000)
	for i := 0; i < 50000; i++ {
		c := blobCentres[i%3]
		s.Add(fmt.Sprint(i), []float64{math.Log1p(c[0]) + rng.NormFloat64()*0.5, math.Log1p(c[1]) + rng.NormFloat64()*0.3, math.Log1p(c[2]) + rng.NormFloat64()*0.5})
	}
	pts := slices.Clone(s.Points)
	for b.Loop() {
		s.Points = slices.Clone(pts)
		if _, err := Train(Defaults(), s); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRestartsIndependentOfCores: restarts run in parallel, yet the fit chosen is the one a
// sequential loop over the restarts would choose (lowest inertia, the first on a tie),
// whatever GOMAXPROCS is. Uniform noise gives restarts different local minima, so a
// wrong pick would show.
func TestRestartsIndependentOfCores(t *testing.T) {
	const n, d, k = 600, 3, 6
	rng := rand.New(rand.NewPCG(3, 4))
	z := make([]float64, n*d)
	for i := range z {
		z[i] = rng.Float64()
	}
	cfg := Defaults()
	cfg.Restarts = 9
	// Sequential reference.
	var want *fit
	inertias := map[float64]bool{}
	for r := 0; r < cfg.Restarts; r++ {
		f := lloyd(cfg, z, n, d, k, plusPlus(rand.New(rand.NewPCG(cfg.Seed, uint64(r))), z, n, d, k))
		inertias[f.inertia] = true
		if want == nil || f.inertia < want.inertia {
			want = f
		}
	}
	if len(inertias) < 2 {
		t.Fatalf("every restart found the same minimum: the test cannot tell picks apart")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 8} {
		runtime.GOMAXPROCS(procs)
		got := lloydRestarts(cfg, z, n, d, k)
		if got.inertia != want.inertia || !reflect.DeepEqual(got.centres, want.centres) {
			t.Errorf("GOMAXPROCS=%d: inertia %v centres %v, want %v %v", procs, got.inertia, got.centres, want.inertia, want.centres)
		}
	}
}

// BenchmarkLloyd: one Lloyd run on 50,000 points in 5 dimensions with K=4 (the spine's
// k-means restarts are ten of these).
func BenchmarkLloyd(b *testing.B) {
	const n, d, k = 50000, 5, 4
	rng := rand.New(rand.NewPCG(5, 6))
	z := make([]float64, n*d)
	for i := range z {
		z[i] = rng.NormFloat64() + float64(i%d)
	}
	cfg := Defaults()
	for b.Loop() {
		lloyd(cfg, z, n, d, k, plusPlus(rand.New(rand.NewPCG(1, 1)), z, n, d, k))
	}
}

// lloydPlain is Lloyd's algorithm as textbooks write it, every point against every centre
// in every iteration: the reference the bounded lloyd must match exactly.
func lloydPlain(cfg Config, z []float64, n, d, k int, c []float64) *fit {
	labels := make([]int, n)
	dist := make([]float64, n)
	sums := make([]float64, k*d)
	counts := make([]int, k)
	assign := func() float64 { // every point against every centre, and its distance kept
		inertia := assignAll(z, n, d, k, c, labels)
		for i, q := range labels {
			dist[i] = sqDist(z[i*d:(i+1)*d], c[q*d:(q+1)*d])
		}
		return inertia
	}
	tol2 := cfg.Tolerance * cfg.Tolerance
	for it := 0; it < cfg.MaxIter; it++ {
		assign()
		sumClusters(z, labels, sums, counts, d)
		shift := 0.0
		for q := 0; q < k; q++ {
			old := slices.Clone(c[q*d : (q+1)*d])
			moveCentre(c, z, sums, counts, dist, q, n, d)
			shift = max(shift, sqDist(old, c[q*d:(q+1)*d]))
		}
		if shift <= tol2 {
			break
		}
	}
	return &fit{k: k, centres: c, labels: labels, inertia: assign()}
}

// TestLloydMatchesPlain: the bounded Lloyd gives bit for bit the centres, labels and
// inertia of the plain loop, on data made to be hard for bounds: gaussian blobs, uniform
// noise (slow convergence, many small moves), integer lattices (ties between centres on
// every bisector) and more centres than distinct points (empty clusters), with
// tolerance 0 so the runs go on until nothing moves or max_iter.
func TestLloydMatchesPlain(t *testing.T) {
	type gen struct {
		name string
		x    func(rng *rand.Rand, i, j int) float64
	}
	gens := []gen{
		{"blobs", func(rng *rand.Rand, i, j int) float64 { return rng.NormFloat64() + float64((i%3)*4*(j%2)) }},
		{"uniform", func(rng *rand.Rand, _, _ int) float64 { return rng.Float64() }},
		{"lattice", func(rng *rand.Rand, _, _ int) float64 { return float64(rng.IntN(4)) }},
		{"few distinct", func(rng *rand.Rand, i, j int) float64 { return float64((i % 3) * (j + 1)) }},
	}
	cases := 0
	for _, g := range gens {
		for _, k := range []int{1, 2, 4, 7} {
			for seed := uint64(0); seed < 6; seed++ {
				n, d := 300+int(seed)*97, 1+int(seed%4)
				rng := rand.New(rand.NewPCG(seed, uint64(k)))
				z := make([]float64, n*d)
				for i := 0; i < n; i++ {
					for j := 0; j < d; j++ {
						z[i*d+j] = g.x(rng, i, j)
					}
				}
				cfg := Defaults()
				cfg.Tolerance = 0
				cfg.MaxIter = 60
				init := plusPlus(rand.New(rand.NewPCG(seed, 9)), z, n, d, k)
				if seed%2 == 1 && k > 1 {
					// The same centre twice: an empty cluster at the first update.
					copy(init[d:2*d], init[:d])
				}
				want := lloydPlain(cfg, z, n, d, k, slices.Clone(init))
				got := lloyd(cfg, z, n, d, k, slices.Clone(init))
				if got.inertia != want.inertia || !slices.Equal(got.centres, want.centres) || !slices.Equal(got.labels, want.labels) {
					t.Errorf("%s k=%d seed=%d: inertia %v, want %v; centres %v, want %v", g.name, k, seed, got.inertia, want.inertia, got.centres, want.centres)
				}
				cases++
			}
		}
	}
	if cases != 96 {
		t.Fatalf("%d cases ran, want 96", cases)
	}
}
