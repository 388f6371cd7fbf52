package score

import (
	"cmp"
	"fmt"
	"slices"
	"sort"

	"github.com/audiencesync/audiencesync/transforms/kmeans"
	"github.com/audiencesync/audiencesync/transforms/metrics"
	"github.com/audiencesync/audiencesync/transforms/model"
	"github.com/audiencesync/audiencesync/transforms/nightly"
	"github.com/audiencesync/audiencesync/transforms/rfm"
	"github.com/audiencesync/audiencesync/transforms/segments"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// BucketOutput is one bucket's rows.
type BucketOutput struct {
	CustomerMetrics []tables.CustomerMetrics
	ChurnList       []tables.ChurnList
	Membership      []tables.SegmentMembership
	SegmentCounts   map[string]int64    // "source:segment" -> members
	Segments        map[string][]string // customer id -> "source:segment" names (for audiences)
}

// Scorer computes every per-customer output of a bucket. Build one per worker (rules are
// compiled once); it is not safe for concurrent use.
type Scorer struct {
	s     *model.Settings
	rules *segments.Rules
	eval  *segments.Evaluator
	fz    *kmeans.Featurizer
	x     []float64
}

// NewScorer compiles the segment rules.
func NewScorer(s *model.Settings) (*Scorer, error) {
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
func (sc *Scorer) Score(bd *nightly.BucketData, m *model.Models, prev segments.History) (*BucketOutput, error) {
	s := sc.s
	out := &BucketOutput{SegmentCounts: map[string]int64{}, Segments: map[string][]string{},
		CustomerMetrics: make([]tables.CustomerMetrics, 0, len(bd.Customers))}
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
		if cm := m.CLV[c.Currency]; cm != nil {
			if pr, ok := cm.PredictCustomer(c, cfg.RunDate); ok {
				pr.Apply(&row)
			}
		}
		if km := m.KMeans[c.Currency]; km != nil && hasRFM && sc.fz != nil {
			sc.x = sc.fz.Extract(sc.x[:0], c, v)
			km.Fill(&row, km.Assign(sc.x))
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
	slices.SortFunc(rows, func(a, b tables.SegmentMembership) int {
		return cmp.Or(cmp.Compare(a.CustomerID, b.CustomerID), cmp.Compare(a.Source, b.Source), cmp.Compare(a.Segment, b.Segment), cmp.Compare(a.EnteredAt, b.EnteredAt))
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

// RunDate is the run date the scorer works with.
func (sc *Scorer) RunDate() value.Day { return sc.s.Metrics.RunDate }
