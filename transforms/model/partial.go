package nightly

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/audiencesync/audiencesync/transforms/clv"
	"github.com/audiencesync/audiencesync/transforms/kmeans"
	"github.com/audiencesync/audiencesync/transforms/metrics"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/rfm"
	"github.com/audiencesync/audiencesync/transforms/segments"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Settings is everything the per-bucket maths needs. It travels inside DoFns as JSON, so
// every field is plain data.
type Settings struct {
	Metrics       metrics.Config
	RFM           rfm.Config
	KMeans        kmeans.Config
	KMeansEnabled bool
	Segments      segments.Config
	ConfigFile    string // for rule error messages
	CLVEnabled    bool
	CLV           clv.Spec
}

// Partial is one bucket's contribution to the base-wide figures: period and cohort
// counters, the distributions RFM scoring needs, and the k-means training sample.
// Partials merge associatively and commutatively.
type Partial struct {
	Metrics *metrics.Agg
	RFM     map[string]*rfm.Summary   // by currency
	KMeans  map[string]*kmeans.Sample // by currency
	CLV     map[string]*clv.Aggregate // by currency
}

// NewPartial returns an empty partial.
func NewPartial() *Partial {
	return &Partial{Metrics: metrics.NewAgg(), RFM: map[string]*rfm.Summary{}, KMeans: map[string]*kmeans.Sample{}, CLV: map[string]*clv.Aggregate{}}
}

// Add counts a bucket.
func (p *Partial) Add(bd *BucketData, s *Settings) {
	var fz *kmeans.Featurizer
	if s.KMeansEnabled {
		fz = kmeans.NewFeaturizer(s.KMeans, s.Metrics.RunDate, s.RFM.LookbackDays)
	}
	var x []float64
	for _, c := range bd.Customers {
		p.Metrics.Add(c, s.Metrics)
		if s.CLVEnabled {
			a := p.CLV[c.Currency]
			if a == nil {
				a = clv.NewAggregate(s.CLV)
				p.CLV[c.Currency] = a
			}
			a.AddCustomer(c)
		}
		v, ok := rfm.Measure(c, s.Metrics.RunDate, s.RFM.LookbackDays)
		if !ok {
			continue
		}
		sum := p.RFM[c.Currency]
		if sum == nil {
			sum = rfm.NewSummary()
			p.RFM[c.Currency] = sum
		}
		sum.Add(v)
		if fz != nil {
			x = fz.Extract(x[:0], c, v)
			smp := p.KMeans[c.Currency]
			if smp == nil {
				smp = kmeans.NewSample(s.KMeans.SampleSize)
				p.KMeans[c.Currency] = smp
			}
			smp.Add(kmeans.SampleKey(c.CustomerID, c.Currency), x)
		}
	}
}

// Merge adds o into p.
func (p *Partial) Merge(o *Partial) error {
	p.Metrics.Merge(o.Metrics)
	for cur, s := range o.RFM {
		if d := p.RFM[cur]; d != nil {
			d.Merge(s)
		} else {
			p.RFM[cur] = s
		}
	}
	for cur, s := range o.KMeans {
		if d := p.KMeans[cur]; d != nil {
			d.Merge(s)
		} else {
			p.KMeans[cur] = s
		}
	}
	for cur, a := range o.CLV {
		if d := p.CLV[cur]; d != nil {
			if err := d.Merge(a); err != nil {
				return err
			}
		} else {
			p.CLV[cur] = a
		}
	}
	return nil
}

func gobEncode(v any) ([]byte, error) {
	var b bytes.Buffer
	err := gob.NewEncoder(&b).Encode(v)
	return b.Bytes(), err
}

// partialWire is Partial on the wire: the CLV aggregate has its own encoding.
type partialWire struct {
	Metrics *metrics.Agg
	RFM     map[string]*rfm.Summary
	KMeans  map[string]*kmeans.Sample
	CLV     map[string][]byte
}

// Encode serialises a partial (gob) for the pipeline's one-key merge.
func (p *Partial) Encode() ([]byte, error) {
	w := partialWire{Metrics: p.Metrics, RFM: p.RFM, KMeans: p.KMeans, CLV: map[string][]byte{}}
	for cur, a := range p.CLV {
		b, err := clv.EncodeAggregate(a)
		if err != nil {
			return nil, err
		}
		w.CLV[cur] = b
	}
	return gobEncode(&w)
}

// DecodePartial reverses Encode.
func DecodePartial(b []byte) (*Partial, error) {
	var w partialWire
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&w); err != nil {
		return nil, err
	}
	p := NewPartial()
	if w.Metrics != nil {
		p.Metrics = w.Metrics
	}
	for k, v := range w.RFM {
		p.RFM[k] = v
	}
	for k, v := range w.KMeans {
		p.KMeans[k] = v
	}
	for cur, ab := range w.CLV {
		a, err := clv.DecodeAggregate(ab)
		if err != nil {
			return nil, err
		}
		p.CLV[cur] = a
	}
	return p, nil
}

// Models are the base-wide results every bucket needs to score its customers.
type Models struct {
	RFM    map[string]rfm.Model     // by currency
	KMeans map[string]*kmeans.Model // by currency
	CLV    map[string][]byte        // by currency, clv.EncodeModel
}

// Global is what the single fit step produces besides the models.
type Global struct {
	PeriodMetrics []tables.PeriodMetrics
	Cohorts       []tables.CohortRetention
	CLVModels     []tables.CLVModel
	CLVReport     map[string]any                // currency -> clv.Report, or the fit error
	Headline      map[string]map[string]float64 // currency -> figure -> value
}

// Fit computes the models and the base-wide tables from the merged partial.
func Fit(p *Partial, s *Settings, spend []orders.Spend) (*Models, *Global, error) {
	m := &Models{RFM: map[string]rfm.Model{}, KMeans: map[string]*kmeans.Model{}, CLV: map[string][]byte{}}
	g := &Global{Headline: map[string]map[string]float64{}, CLVReport: map[string]any{}}
	for _, cur := range slices.Sorted(maps.Keys(p.RFM)) {
		cut, err := rfm.Fit(p.RFM[cur], s.RFM.Bins)
		if err != nil {
			return nil, nil, fmt.Errorf("rfm (%s): %w", cur, err)
		}
		m.RFM[cur] = s.RFM.NewModel(cut)
	}
	if s.KMeansEnabled {
		for cur, smp := range p.KMeans {
			km, err := kmeans.Train(s.KMeans, smp)
			if err != nil {
				return nil, nil, fmt.Errorf("kmeans (%s): %w", cur, err)
			}
			m.KMeans[cur] = km
		}
	}
	var sp map[metrics.SpendKey]value.Money
	if len(spend) > 0 {
		sp = metrics.SpendTable(spend)
	}
	if s.CLVEnabled {
		for _, cur := range slices.Sorted(maps.Keys(p.CLV)) {
			// A model that cannot be fitted (too few repeat buyers, no convergence) leaves
			// the CLV columns null for that currency and says why in the run summary; the
			// rest of the run is unaffected.
			model, err := clv.Fit(p.CLV[cur], s.CLV)
			if err != nil {
				g.CLVReport[cur] = map[string]string{"error": err.Error()}
				continue
			}
			b, err := clv.EncodeModel(model)
			if err != nil {
				return nil, nil, err
			}
			m.CLV[cur] = b
			g.CLVModels = append(g.CLVModels, model.Rows(s.Metrics.RunDate, cur)...)
			g.CLVReport[cur] = model.Report()
		}
	}
	g.PeriodMetrics, g.Cohorts = metrics.Finalize(p.Metrics, s.Metrics, sp)
	for cur, t := range p.Metrics.Totals {
		g.Headline[cur] = metrics.Headline(t)
	}
	return m, g, nil
}

// Encode carries Models as a side input.
func (m *Models) Encode() ([]byte, error) { return gobEncode(m) }

// DecodeModels reverses Encode.
func DecodeModels(b []byte) (*Models, error) {
	m := &Models{}
	return m, gob.NewDecoder(bytes.NewReader(b)).Decode(m)
}

// BucketOutput is one bucket's rows.
type BucketOutput struct {
	CustomerMetrics []tables.CustomerMetrics
	ChurnList       []tables.ChurnList
	Membership      []tables.SegmentMembership
	SegmentCounts   map[string]int64    // "source:segment" -> members
	ClusterSizes    map[string][]int64  // currency -> customers per cluster
	Segments        map[string][]string // customer id -> "source:segment" names (for audiences)
}

// Scorer computes every per-customer output of a bucket. Build one per worker (rules are
// compiled once); it is not safe for concurrent use.
type Scorer struct {
	clvModels map[string]*clv.Model
	clvFrom   map[string][]byte
	s         *Settings
	rules     *segments.Rules
	eval      *segments.Evaluator
	fz        *kmeans.Featurizer
	x         []float64
}

// NewScorer compiles the segment rules.
func NewScorer(s *Settings) (*Scorer, error) {
	sc := &Scorer{s: s}
	if len(s.Segments.Rules) > 0 {
		r, err := s.Segments.Compile(s.ConfigFile, "segments")
		if err != nil {
			return nil, err
		}
		sc.rules = r
		sc.eval = r.NewEvaluator(s.Metrics.RunDate)
	}
	if s.KMeansEnabled {
		sc.fz = kmeans.NewFeaturizer(s.KMeans, s.Metrics.RunDate, s.RFM.LookbackDays)
	}
	return sc, nil
}

// SegmentKey names a segment as audiences refer to it: "<source>:<segment>".
func SegmentKey(source, segment string) string { return source + ":" + segment }

// Score computes a bucket's rows. prev is the bucket's membership from the previous run
// (for entered_at and reminders); it may be nil.
func (sc *Scorer) Score(bd *BucketData, m *Models, prev segments.History) (*BucketOutput, error) {
	s := sc.s
	out := &BucketOutput{SegmentCounts: map[string]int64{}, ClusterSizes: map[string][]int64{}, Segments: map[string][]string{}}
	cfg := s.Metrics
	churnLabel := cfg.Calendar.Label(cfg.LastCompletePeriod())
	run := int32(cfg.RunDate)
	for _, c := range bd.Customers {
		row, ok := metrics.CustomerRow(c, cfg)
		if !ok {
			continue
		}
		v, hasRFM := rfm.Measure(c, cfg.RunDate, s.RFM.LookbackDays)
		if model, ok := m.RFM[c.Currency]; ok && hasRFM {
			model.Score(v).Fill(&row)
		}
		if cm, err := sc.clvModel(m, c.Currency); err != nil {
			return nil, err
		} else if cm != nil {
			if pr, ok := cm.PredictCustomer(c, cfg.RunDate); ok {
				pr.Apply(&row)
			}
		}
		if km := m.KMeans[c.Currency]; km != nil && hasRFM && sc.fz != nil {
			sc.x = sc.fz.Extract(sc.x[:0], c, v)
			k := km.Assign(sc.x)
			km.Fill(&row, k)
			sizes := out.ClusterSizes[c.Currency]
			for len(sizes) <= k {
				sizes = append(sizes, 0)
			}
			sizes[k]++
			out.ClusterSizes[c.Currency] = sizes
		}
		before := len(out.Membership)
		p := prev.Of(c.CustomerID)
		out.Membership = segments.ModelMemberships(out.Membership, &row, p)
		if sc.eval != nil {
			var err error
			if out.Membership, err = sc.eval.Evaluate(out.Membership, c, &row, p); err != nil {
				return nil, fmt.Errorf("segments: customer %s: %w", c.CustomerID, err)
			}
		}
		for _, mr := range out.Membership[before:] {
			out.Segments[c.CustomerID] = append(out.Segments[c.CustomerID], SegmentKey(mr.Source, mr.Segment))
		}
		if row.Churned {
			out.ChurnList = append(out.ChurnList, tables.ChurnList{RunDate: run, Period: churnLabel, CustomerID: row.CustomerID,
				Currency: row.Currency, LastOrderDate: row.LastOrderDate, Orders: row.Orders, Revenue: row.Revenue})
		}
		out.CustomerMetrics = append(out.CustomerMetrics, row)
	}
	out.Membership = dedupeMembership(out.Membership)
	for _, mr := range out.Membership {
		out.SegmentCounts[SegmentKey(mr.Source, mr.Segment)]++
	}
	for id, segs := range out.Segments {
		sort.Strings(segs)
		out.Segments[id] = uniq(segs)
	}
	return out, nil
}

// dedupeMembership sorts rows and drops repeats: a customer who bought in two currencies
// is scored twice but is one member of a segment (the earliest entered_at is kept).
func dedupeMembership(rows []tables.SegmentMembership) []tables.SegmentMembership {
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.CustomerID != b.CustomerID {
			return a.CustomerID < b.CustomerID
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		if a.Segment != b.Segment {
			return a.Segment < b.Segment
		}
		return a.EnteredAt < b.EnteredAt
	})
	out := rows[:0]
	for i, r := range rows {
		if i > 0 {
			p := out[len(out)-1]
			if p.CustomerID == r.CustomerID && p.Source == r.Source && p.Segment == r.Segment {
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

func uniq(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// clvModel decodes a currency's CLV model once per Models value.
func (sc *Scorer) clvModel(m *Models, cur string) (*clv.Model, error) {
	b := m.CLV[cur]
	if b == nil {
		return nil, nil
	}
	if sc.clvFrom == nil || !sameMap(sc.clvFrom, m.CLV) {
		sc.clvModels, sc.clvFrom = map[string]*clv.Model{}, m.CLV
	}
	if cm := sc.clvModels[cur]; cm != nil {
		return cm, nil
	}
	cm, err := clv.DecodeModel(b)
	if err != nil {
		return nil, err
	}
	sc.clvModels[cur] = cm
	return cm, nil
}

func sameMap(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || len(w) != len(v) || (len(v) > 0 && &w[0] != &v[0]) {
			return false
		}
	}
	return true
}
