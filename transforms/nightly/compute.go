package nightly

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"sort"

	"github.com/audiencesync/audiencesync/transforms/kmeans"
	"github.com/audiencesync/audiencesync/transforms/metrics"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/rfm"
	"github.com/audiencesync/audiencesync/transforms/segments"
	"github.com/audiencesync/audiencesync/transforms/tables"
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
}

// Partial is one bucket's contribution to the base-wide figures: period and cohort
// counters, the distributions RFM scoring needs, and the k-means training sample.
// Partials merge associatively and commutatively.
type Partial struct {
	Metrics *metrics.Agg
	RFM     map[string]*rfm.Summary   // by currency
	KMeans  map[string]*kmeans.Sample // by currency
}

// NewPartial returns an empty partial.
func NewPartial() *Partial {
	return &Partial{Metrics: metrics.NewAgg(), RFM: map[string]*rfm.Summary{}, KMeans: map[string]*kmeans.Sample{}}
}

// Add counts a bucket.
func (p *Partial) Add(bd *BucketData, s *Settings) {
	var fz *kmeans.Featurizer
	if s.KMeansEnabled {
		fz = kmeans.NewFeaturizer(s.KMeans, s.Metrics.AsOf, s.RFM.LookbackDays)
	}
	var x []float64
	for _, c := range bd.Customers {
		p.Metrics.Add(c, s.Metrics)
		v, ok := rfm.Measure(c, s.Metrics.AsOf, s.RFM.LookbackDays)
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
func (p *Partial) Merge(o *Partial) {
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
}

func gobEncode(v any) ([]byte, error) {
	var b bytes.Buffer
	err := gob.NewEncoder(&b).Encode(v)
	return b.Bytes(), err
}

// Encode serialises a partial (gob) for the pipeline's one-key merge.
func (p *Partial) Encode() ([]byte, error) { return gobEncode(p) }

// DecodePartial reverses Encode.
func DecodePartial(b []byte) (*Partial, error) {
	p := NewPartial()
	return p, gob.NewDecoder(bytes.NewReader(b)).Decode(p)
}

// Models are the base-wide results every bucket needs to score its customers.
type Models struct {
	RFM    map[string]rfm.Model     // by currency
	KMeans map[string]*kmeans.Model // by currency
}

// Global is what the single fit step produces besides the models.
type Global struct {
	PeriodMetrics []tables.PeriodMetrics
	Cohorts       []tables.CohortRetention
	Headline      map[string]map[string]float64 // currency -> figure -> value
}

// Fit computes the models and the base-wide tables from the merged partial.
func Fit(p *Partial, s *Settings, spend []orders.Spend) (*Models, *Global, error) {
	m := &Models{RFM: map[string]rfm.Model{}, KMeans: map[string]*kmeans.Model{}}
	for _, cur := range sortedCurrencies(p.RFM) {
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
	var sp map[metrics.SpendKey]orders.Money
	if len(spend) > 0 {
		sp = metrics.SpendTable(spend)
	}
	g := &Global{Headline: map[string]map[string]float64{}}
	g.PeriodMetrics, g.Cohorts = metrics.Finalize(p.Metrics, s.Metrics, sp)
	for cur, t := range p.Metrics.Totals {
		g.Headline[cur] = metrics.Headline(t)
	}
	return m, g, nil
}

func sortedCurrencies[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
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
	s     *Settings
	rules *segments.Rules
	eval  *segments.Evaluator
	fz    *kmeans.Featurizer
	x     []float64
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
		sc.eval = r.NewEvaluator(s.Metrics.AsOf)
	}
	if s.KMeansEnabled {
		sc.fz = kmeans.NewFeaturizer(s.KMeans, s.Metrics.AsOf, s.RFM.LookbackDays)
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
	run := int32(cfg.AsOf)
	for _, c := range bd.Customers {
		row, ok := metrics.CustomerRow(c, cfg)
		if !ok {
			continue
		}
		v, hasRFM := rfm.Measure(c, cfg.AsOf, s.RFM.LookbackDays)
		if model, ok := m.RFM[c.Currency]; ok && hasRFM {
			model.Score(v).Fill(&row)
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
