package nightly

import (
	"bytes"
	"encoding/gob"
	"sort"

	"github.com/audiencesync/audiencesync/transforms/metrics"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/rfm"
	"github.com/audiencesync/audiencesync/transforms/tables"
)

// Settings is everything the per-bucket maths needs. It travels inside DoFns as JSON, so
// every field is plain data.
type Settings struct {
	Metrics metrics.Config
	RFM     rfm.Config
}

// Partial is one bucket's contribution to the base-wide figures: period and cohort
// counters, and the distributions that RFM scoring needs. Partials merge associatively.
type Partial struct {
	Metrics *metrics.Agg
	RFM     map[string]*rfm.Summary // by currency
}

// NewPartial returns an empty partial.
func NewPartial() *Partial {
	return &Partial{Metrics: metrics.NewAgg(), RFM: map[string]*rfm.Summary{}}
}

// Add counts a bucket.
func (p *Partial) Add(bd *BucketData, s *Settings) {
	for _, c := range bd.Customers {
		p.Metrics.Add(c, s.Metrics)
		if v, ok := rfm.Measure(c, s.Metrics.AsOf, s.RFM.LookbackDays); ok {
			sum := p.RFM[c.Currency]
			if sum == nil {
				sum = rfm.NewSummary()
				p.RFM[c.Currency] = sum
			}
			sum.Add(v)
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
}

// Encode serialises a partial (gob) for the pipeline's combine.
func (p *Partial) Encode() ([]byte, error) {
	var b bytes.Buffer
	err := gob.NewEncoder(&b).Encode(p)
	return b.Bytes(), err
}

// DecodePartial reverses Encode.
func DecodePartial(b []byte) (*Partial, error) {
	p := NewPartial()
	return p, gob.NewDecoder(bytes.NewReader(b)).Decode(p)
}

// Models are the base-wide results every bucket needs to score its customers.
type Models struct {
	RFM map[string]rfm.Model // by currency
}

// Global is what the single fit step produces besides the models.
type Global struct {
	PeriodMetrics []tables.PeriodMetrics
	Cohorts       []tables.CohortRetention
	Headline      map[string]map[string]float64 // currency -> figure -> value
}

// Fit computes the models and the base-wide tables from the merged partial.
func Fit(p *Partial, s *Settings, spend []orders.Spend) (*Models, *Global, error) {
	m := &Models{RFM: map[string]rfm.Model{}}
	for cur, sum := range p.RFM {
		cut, err := rfm.Fit(sum, s.RFM.Bins)
		if err != nil {
			return nil, nil, err
		}
		m.RFM[cur] = s.RFM.NewModel(cut)
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

// EncodeModels / DecodeModels carry Models as a side input.
func (m *Models) Encode() ([]byte, error) {
	var b bytes.Buffer
	err := gob.NewEncoder(&b).Encode(m)
	return b.Bytes(), err
}

func DecodeModels(b []byte) (*Models, error) {
	m := &Models{}
	return m, gob.NewDecoder(bytes.NewReader(b)).Decode(m)
}

// BucketOutput is one bucket's rows.
type BucketOutput struct {
	CustomerMetrics []tables.CustomerMetrics
	ChurnList       []tables.ChurnList
	Membership      []tables.SegmentMembership
	SegmentCounts   map[string]int64
}

// Score computes every per-customer output of a bucket.
func Score(bd *BucketData, s *Settings, m *Models) *BucketOutput {
	out := &BucketOutput{SegmentCounts: map[string]int64{}}
	cfg := s.Metrics
	lastComplete := cfg.LastCompletePeriod()
	churnLabel := cfg.Calendar.Label(lastComplete)
	run := int32(cfg.AsOf)
	for _, c := range bd.Customers {
		row, ok := metrics.CustomerRow(c, cfg)
		if !ok {
			continue
		}
		if model, ok := m.RFM[c.Currency]; ok {
			if v, ok := rfm.Measure(c, cfg.AsOf, s.RFM.LookbackDays); ok {
				sc := model.Score(v)
				sc.Fill(&row)
				if sc.Segment != "" {
					out.addMember(row.CustomerID, "rfm:"+sc.Segment, "rfm", run)
				}
			}
		}
		if row.Churned {
			out.ChurnList = append(out.ChurnList, tables.ChurnList{RunDate: run, Period: churnLabel, CustomerID: row.CustomerID,
				Currency: row.Currency, LastOrderDate: row.LastOrderDate, Orders: row.Orders, Revenue: row.Revenue})
		}
		out.CustomerMetrics = append(out.CustomerMetrics, row)
	}
	sort.Slice(out.Membership, func(i, j int) bool {
		a, b := out.Membership[i], out.Membership[j]
		if a.CustomerID != b.CustomerID {
			return a.CustomerID < b.CustomerID
		}
		return a.Segment < b.Segment
	})
	return out
}

func (o *BucketOutput) addMember(id, segment, source string, run int32) {
	o.Membership = append(o.Membership, tables.SegmentMembership{RunDate: run, CustomerID: id, Segment: segment, Source: source, EnteredAt: run})
	o.SegmentCounts[segment]++
}
