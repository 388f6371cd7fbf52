package score

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/audiencesync/audiencesync/transforms/counters"
	"github.com/audiencesync/audiencesync/transforms/model"
	"github.com/audiencesync/audiencesync/transforms/nightly"
	"github.com/audiencesync/audiencesync/transforms/par"
	"github.com/audiencesync/audiencesync/transforms/segments"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
	"github.com/audiencesync/audiencesync/transforms/wire"
)

// Config configures Score.
type Config struct {
	Settings model.Settings
	// StateDir keeps segment history between runs (entered_at, reminders); "" keeps none.
	StateDir string
	// HistoryOut is where this run's history is written (the run's state staging); ""
	// writes it to StateDir.
	HistoryOut string
	Buckets    int
	// WithContacts emits Segmented for the audience stage (decoding contact hashes costs
	// time, so only when audiences are built).
	WithContacts bool
}

// Scored are Score's outputs.
type Scored struct {
	Customers  beam.PCollection // KV<int, []tables.CustomerMetrics>, one part per bucket (customer_metrics)
	Churn      beam.PCollection // KV<int, []tables.ChurnList>, one part per bucket (churn_list)
	Membership beam.PCollection // KV<int, []tables.SegmentMembership>, one part per bucket (segment_membership)
	Segmented  beam.PCollection // KV<int, Segmented>: contact hashes and segments, only WithContacts
	Dead       beam.PCollection // KV<string, nightly.DeadLetters>: duplicate orders of one customer
}

// Score computes every per-customer table of one run, bucket by bucket: metrics, RFM
// scores, k-means cluster, predicted CLV, churn, and segment membership (rule segments
// and segment history from the state folder). Segment sizes go to counters.
//
// The models reach each bucket through a CoGroupByKey (one copy per bucket key), not as a
// side input: prism re-polls a running stage that has a side input in a busy loop, which
// kept one of two cores spinning for as long as scoring ran. The join takes the batches
// as the readers emitted them, the same elements nightly.GroupBuckets groups for the
// models, so they are not re-emitted from the grouped buckets (a pass over every byte).
// In: batches KV<int, nightly.CustomerBatch>, keyed by bucket (the inputs of
// nightly.GroupBuckets); models PCollection<*model.Models> (model.Fit).
// Out: Scored.
func Score(s beam.Scope, batches, models beam.PCollection, cfg Config) Scored {
	s = s.Scope("score.Score")
	perBucket := beam.ParDo(s, &fanOutFn{Buckets: cfg.Buckets}, models)
	joined := beam.CoGroupByKey(s, batches, perBucket)
	c, ch, m, seg, dead := beam.ParDo5(s, &scoreFn{Config: cfg}, joined)
	return Scored{Customers: c, Churn: ch, Membership: m, Segmented: seg, Dead: dead}
}

// fanOutFn gives every bucket key its copy of the models.
type fanOutFn struct {
	Buckets int
}

func (f *fanOutFn) ProcessElement(m *model.Models, emit func(int, *model.Models)) {
	for b := 0; b < f.Buckets; b++ {
		emit(b, m)
	}
}

// Centroids counts the customers of each k-means cluster in customer_metrics and gives
// the centroids in original units.
// In: customers KV<int, []tables.CustomerMetrics> (Score); models PCollection<*model.Models>
// (side input).
// Out: KV<int, []tables.KMeansCentroid>, one part (kmeans_centroids).
func Centroids(s beam.Scope, customers, models beam.PCollection, runDate value.Day) beam.PCollection {
	s = s.Scope("score.Centroids")
	sizes := beam.Combine(s, &sumSizesFn{}, beam.ParDo(s, clusterSizes, customers))
	return beam.ParDo(s, &centroidsFn{RunDate: runDate}, sizes, beam.SideInput{Input: models})
}

func init() {
	wire.RegisterCoder(reflect.TypeOf(Segmented{}))
	wire.RegisterCoder(reflect.TypeOf(Sizes{}))
	register.DoFn2x0[*model.Models, func(int, *model.Models)](&fanOutFn{})
	register.Emitter2[int, *model.Models]()
	register.Iter1[*model.Models]()
	register.DoFn9x1[context.Context, int, func(*nightly.CustomerBatch) bool, func(**model.Models) bool,
		func(int, []tables.CustomerMetrics), func(int, []tables.ChurnList), func(int, []tables.SegmentMembership),
		func(int, Segmented), func(string, nightly.DeadLetters), error](&scoreFn{})
	register.Emitter2[int, Segmented]()
	register.Function2x1(clusterSizes)
	register.Combiner1[Sizes](&sumSizesFn{})
	register.DoFn3x1[Sizes, *model.Models, func(int, []tables.KMeansCentroid), error](&centroidsFn{})
}

// scoreFn scores the buckets of a bundle: par.Workers() buckets at a time in parallel (one
// Scorer per worker) while the previous ones' rows are emitted (the fused Parquet writers
// run then), in arrival order.
type scoreFn struct {
	Config Config

	scorers []*Scorer
	pipe    par.Pipe[scoreIn, scoreOut]
	ctx     context.Context // the bundle's (set at StartBundle, read by the pipe's workers)
}

// scoreIn is one bucket waiting to be scored.
type scoreIn struct {
	bucket  int
	batches []nightly.CustomerBatch
	models  *model.Models
}

// scoreOut is what scoring one bucket gives.
type scoreOut struct {
	bd *nightly.BucketData
	o  *BucketOutput
}

// scoreEmit are the emitters of a bundle.
type scoreEmit struct {
	customers  func(int, []tables.CustomerMetrics)
	churn      func(int, []tables.ChurnList)
	membership func(int, []tables.SegmentMembership)
	segmented  func(int, Segmented)
	dead       func(string, nightly.DeadLetters)
}

func (f *scoreFn) Setup() error {
	f.scorers = make([]*Scorer, par.Workers())
	for i := range f.scorers {
		sc, err := NewScorer(&f.Config.Settings)
		if err != nil {
			return err
		}
		f.scorers[i] = sc
	}
	f.pipe = par.Pipe[scoreIn, scoreOut]{Workers: len(f.scorers), Fn: func(w int, in scoreIn) (scoreOut, error) {
		return f.scoreBucket(f.ctx, f.scorers[w], in)
	}}
	return nil
}

func (f *scoreFn) StartBundle(ctx context.Context, _ func(int, []tables.CustomerMetrics), _ func(int, []tables.ChurnList), _ func(int, []tables.SegmentMembership),
	_ func(int, Segmented), _ func(string, nightly.DeadLetters)) {
	f.pipe.Reset() // before ctx changes: a dropped batch may still be scoring with the old one
	f.ctx = ctx
}

func (f *scoreFn) ProcessElement(ctx context.Context, bucket int, vals func(*nightly.CustomerBatch) bool, modelsIt func(**model.Models) bool,
	customers func(int, []tables.CustomerMetrics), churn func(int, []tables.ChurnList), membership func(int, []tables.SegmentMembership),
	segmented func(int, Segmented), dead func(string, nightly.DeadLetters)) error {
	var batches []nightly.CustomerBatch
	var b nightly.CustomerBatch
	for vals(&b) {
		batches = append(batches, b)
	}
	var models *model.Models
	for n := 0; modelsIt(&models); n++ {
		if n > 0 {
			return fmt.Errorf("score: bucket %d got more than one copy of the models", bucket)
		}
	}
	if len(batches) == 0 {
		return nil // a bucket no customer hashes to: nothing to score or write
	}
	if models == nil {
		return fmt.Errorf("score: bucket %d has customers but no models", bucket)
	}
	return f.pipe.Add(scoreIn{bucket: bucket, batches: batches, models: models}, f.emitter(ctx, scoreEmit{customers, churn, membership, segmented, dead}))
}

func (f *scoreFn) FinishBundle(ctx context.Context, customers func(int, []tables.CustomerMetrics), churn func(int, []tables.ChurnList), membership func(int, []tables.SegmentMembership),
	segmented func(int, Segmented), dead func(string, nightly.DeadLetters)) error {
	return f.pipe.Flush(f.emitter(ctx, scoreEmit{customers, churn, membership, segmented, dead}))
}

// emitter emits a scored bucket's rows and counters (from the bundle's goroutine).
func (f *scoreFn) emitter(ctx context.Context, e scoreEmit) func(scoreIn, scoreOut) {
	return func(in scoreIn, r scoreOut) {
		counters.IncAll(ctx, r.bd.Counts)
		nightly.EmitByInput(r.bd.Dead, e.dead)
		for seg, n := range r.o.SegmentCounts {
			counters.Inc(ctx, counters.Segment+seg, n)
		}
		e.customers(in.bucket, r.o.CustomerMetrics)
		e.churn(in.bucket, r.o.ChurnList)
		e.membership(in.bucket, r.o.Membership)
		if f.Config.WithContacts {
			e.segmented(in.bucket, segmentedOf(r.bd, r.o))
		}
	}
}

// scoreBucket builds and scores one bucket, with its segment history.
func (f *scoreFn) scoreBucket(ctx context.Context, sc *Scorer, in scoreIn) (scoreOut, error) {
	bd, err := nightly.BuildBucket(in.batches, f.Config.WithContacts)
	if err != nil {
		return scoreOut{}, err
	}
	today := sc.RunDate()
	var prevRows []tables.SegmentMembership
	if f.Config.StateDir != "" {
		if prevRows, err = LoadHistory(ctx, f.Config.StateDir, in.bucket, f.Config.Buckets); err != nil {
			return scoreOut{}, err
		}
	}
	hist := segments.NewHistory(prevRows, today)
	o, err := sc.Score(bd, in.models, hist)
	if err != nil {
		return scoreOut{}, err
	}
	if f.Config.StateDir != "" {
		out := f.Config.HistoryOut
		if out == "" {
			out = f.Config.StateDir
		}
		if err := SaveHistory(ctx, out, in.bucket, f.Config.Buckets, today, prevRows, hist, o.Membership); err != nil {
			return scoreOut{}, err
		}
	}
	return scoreOut{bd: bd, o: o}, nil
}

// segmentedOf pairs each segmented customer who has a customers record with their
// segments and value columns, by customer id (no record: no contacts, no consent).
func segmentedOf(bd *nightly.BucketData, o *BucketOutput) Segmented {
	var x Segmented
	values := make(map[string][]tables.CustomerMetrics, len(o.Segments))
	for i := range o.CustomerMetrics {
		r := &o.CustomerMetrics[i]
		if _, ok := o.Segments[r.CustomerID]; ok {
			values[r.CustomerID] = append(values[r.CustomerID], tables.CustomerMetrics{
				CustomerID: r.CustomerID, Currency: r.Currency, Revenue: r.Revenue, CLVSimple: r.CLVSimple, PredCLV: r.PredCLV})
		}
	}
	ids := slices.Sorted(maps.Keys(o.Segments))
	for _, id := range ids {
		if rec := bd.Records[id]; rec != nil {
			x.Records = append(x.Records, *rec)
			x.Segments = append(x.Segments, o.Segments[id])
			x.Values = append(x.Values, values[id])
		}
	}
	return x
}

// Sizes counts customers per cluster: currency -> cluster index -> customers.
type Sizes map[string][]int64

func (z Sizes) add(o Sizes) {
	for cur, sz := range o {
		t := z[cur]
		for len(t) < len(sz) {
			t = append(t, 0)
		}
		for i, n := range sz {
			t[i] += n
		}
		z[cur] = t
	}
}

// clusterSizes counts one part's clustered customers (cluster >= 0; -1 is "not clustered").
func clusterSizes(_ int, rows []tables.CustomerMetrics) Sizes {
	z := Sizes{}
	for i := range rows {
		k := rows[i].Cluster
		if k < 0 {
			continue
		}
		t := z[rows[i].Currency]
		for int64(len(t)) <= k {
			t = append(t, 0)
		}
		t[k]++
		z[rows[i].Currency] = t
	}
	return z
}

type sumSizesFn struct{}

func (*sumSizesFn) CreateAccumulator() Sizes  { return Sizes{} }
func (*sumSizesFn) AddInput(a, b Sizes) Sizes { a.add(b); return a }
func (*sumSizesFn) MergeAccumulators(a, b Sizes) Sizes {
	a.add(b)
	return a
}

// MarshalBinary encodes the sizes (wire.Map of the per-cluster counts).
func (z Sizes) MarshalBinary() ([]byte, error) {
	e := wire.NewEnc(64)
	wire.Map(e, z, func(v []int64, e *wire.Enc) { e.Ints(v) })
	return e.B, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (z *Sizes) UnmarshalBinary(b []byte) error {
	d := wire.NewDec(b)
	*z = wire.ReadMap(d, (*wire.Dec).Ints)
	return d.Done()
}

// centroidsFn turns the summed sizes and the models into kmeans_centroids rows.
type centroidsFn struct {
	RunDate value.Day
}

func (f *centroidsFn) ProcessElement(total Sizes, models *model.Models, emit func(int, []tables.KMeansCentroid)) error {
	var rows []tables.KMeansCentroid
	for _, cur := range slices.Sorted(maps.Keys(models.KMeans)) {
		km := models.KMeans[cur]
		sz := total[cur]
		for len(sz) < len(km.Centroids) {
			sz = append(sz, 0)
		}
		rows = append(rows, km.CentroidRows(f.RunDate, cur, sz)...)
	}
	emit(0, rows)
	return nil
}
