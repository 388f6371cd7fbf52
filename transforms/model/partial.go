package model

import (
	"fmt"

	"github.com/audiencesync/audiencesync/transforms/clv"
	"github.com/audiencesync/audiencesync/transforms/kmeans"
	"github.com/audiencesync/audiencesync/transforms/metrics"
	"github.com/audiencesync/audiencesync/transforms/nightly"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/rfm"
	"github.com/audiencesync/audiencesync/transforms/segments"
	"github.com/audiencesync/audiencesync/transforms/wire"
)

// Settings is everything the base-wide and per-customer maths needs. DoFns carry it as a
// typed field (Beam serialises it with the DoFn), so every field is plain data.
type Settings struct {
	Metrics       metrics.Config // Metrics.RunDate is the run date
	RFM           rfm.Config
	KMeans        kmeans.Config
	KMeansEnabled bool
	Segments      segments.Config
	ConfigFile    string // for rule error messages
	CLVEnabled    bool
	CLV           clv.Spec
}

// Partial is one bucket's contribution to the base-wide figures: period and cohort
// counters, the distributions RFM scoring needs, the k-means training sample and the CLV
// aggregate. Partials merge associatively and commutatively: it is the accumulator of the
// Aggregate combine.
type Partial struct {
	Metrics *metrics.Agg
	RFM     map[string]*rfm.Summary   // by currency
	KMeans  map[string]*kmeans.Sample // by currency
	CLV     map[string]*clv.Aggregate // by currency
	Spend   []orders.Spend            // acquisition spend rows (CAC); their order does not matter
}

// NewPartial returns an empty partial.
func NewPartial() *Partial {
	return &Partial{Metrics: metrics.NewAgg(), RFM: map[string]*rfm.Summary{}, KMeans: map[string]*kmeans.Sample{}, CLV: map[string]*clv.Aggregate{}}
}

// Add counts a bucket.
func (p *Partial) Add(bd *nightly.BucketData, s *Settings) {
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

// Merge adds o into p (o's parts may be taken over; do not use o afterwards).
func (p *Partial) Merge(o *Partial) error {
	p.Metrics.Merge(o.Metrics)
	p.Spend = append(p.Spend, o.Spend...)
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

// MarshalBinary encodes the partial in the wire encoding (currencies sorted).
func (p *Partial) MarshalBinary() ([]byte, error) {
	e := wire.NewEnc(4096)
	p.Metrics.EncodeTo(e)
	wire.Map(e, p.RFM, (*rfm.Summary).EncodeTo)
	wire.Map(e, p.KMeans, (*kmeans.Sample).EncodeTo)
	wire.Map(e, p.CLV, (*clv.Aggregate).EncodeTo)
	spend, err := nightly.SpendRows{Rows: p.Spend}.MarshalBinary() // the spend rows' own coding
	if err != nil {
		return nil, err
	}
	e.Bytes(spend)
	return e.B, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (p *Partial) UnmarshalBinary(b []byte) error {
	d := wire.NewDec(b)
	q := Partial{Metrics: metrics.DecodeAgg(d), RFM: wire.ReadMap(d, rfm.DecodeSummary),
		KMeans: wire.ReadMap(d, kmeans.DecodeSample), CLV: wire.ReadMap(d, clv.DecodeAggregateFrom)}
	spend := d.Bytes()
	if err := d.Done(); err != nil {
		return fmt.Errorf("model: partial: %w", err)
	}
	var rows nightly.SpendRows
	if err := rows.UnmarshalBinary(spend); err != nil {
		return fmt.Errorf("model: partial: spend: %w", err)
	}
	q.Spend = rows.Rows
	*p = q
	return nil
}
