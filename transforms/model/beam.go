package model

import (
	"context"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/audiencesync/audiencesync/transforms/counters"
	"github.com/audiencesync/audiencesync/transforms/nightly"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/wire"
)

// Aggregate folds every customer bucket into one base-wide Partial: each bucket's partial
// is built in plain Go next to its data, then merged by a beam.Combine (the runner merges
// partials of a bundle before its shuffle, so the one-key merge sees a handful).
// In: KV<int, iter<nightly.CustomerBatch>> (nightly.GroupBuckets).
// Out: PCollection<*Partial>, one element.
func Aggregate(s beam.Scope, buckets beam.PCollection, cfg Settings) beam.PCollection {
	s = s.Scope("model.Aggregate")
	partials := beam.ParDo(s, &partialFn{Settings: cfg}, buckets)
	return beam.Combine(s, &mergeFn{}, partials)
}

// Fits are Fit's outputs.
type Fits struct {
	Models    beam.PCollection // *Models, one element: the side input of score.Score and score.Centroids
	Periods   beam.PCollection // KV<int, []tables.PeriodMetrics>, one part (period_metrics)
	Cohorts   beam.PCollection // KV<int, []tables.CohortRetention>, one part (cohort_retention)
	CLVModels beam.PCollection // KV<int, []tables.CLVModel>, one part when CLV is on (clv_model)
	Dead      beam.PCollection // KV<string, nightly.DeadLetters>: CLV models that could not be fitted
}

// Fit fits the base-wide models (RFM cut points, k-means centroids, CLV parameters) on the
// merged partial and computes the base-wide tables. The headline totals per currency go
// to counters (HeadlineCounters) for the run summary.
// In: total PCollection<*Partial> (Aggregate); spend PCollection<nightly.SpendRows> (side input).
// Out: Fits.
func Fit(s beam.Scope, total, spend beam.PCollection, cfg Settings) Fits {
	s = s.Scope("model.Fit")
	m, p, c, clvRows, dead := beam.ParDo5(s, &fitFn{Settings: cfg}, total, beam.SideInput{Input: spend})
	return Fits{Models: m, Periods: p, Cohorts: c, CLVModels: clvRows, Dead: dead}
}

func init() {
	wire.RegisterCoder(reflect.TypeOf((*Partial)(nil)))
	wire.RegisterCoder(reflect.TypeOf((*Models)(nil)))
	register.DoFn4x1[context.Context, int, func(*nightly.CustomerBatch) bool, func(*Partial), error](&partialFn{})
	register.Emitter1[*Partial]()
	register.Combiner1[*Partial](&mergeFn{})
	register.DoFn8x1[context.Context, *Partial, func(*nightly.SpendRows) bool, func(*Models),
		func(int, []tables.PeriodMetrics), func(int, []tables.CohortRetention), func(int, []tables.CLVModel), func(string, nightly.DeadLetters), error](&fitFn{})
	register.Emitter1[*Models]()
}

// collect reads a bucket's batches.
func collect(vals func(*nightly.CustomerBatch) bool) []nightly.CustomerBatch {
	var all []nightly.CustomerBatch
	var b nightly.CustomerBatch
	for vals(&b) {
		all = append(all, b)
	}
	return all
}

// partialFn turns one customer bucket into its partial.
type partialFn struct {
	Settings Settings
}

func (f *partialFn) ProcessElement(ctx context.Context, _ int, vals func(*nightly.CustomerBatch) bool, emit func(*Partial)) error {
	bd, err := nightly.BuildBucket(collect(vals), false)
	if err != nil {
		return err
	}
	p := NewPartial()
	p.Add(bd, &f.Settings)
	emit(p)
	return nil
}

// mergeFn merges partials.
type mergeFn struct{}

func (*mergeFn) CreateAccumulator() *Partial { return NewPartial() }

func (*mergeFn) AddInput(acc, p *Partial) (*Partial, error) { return acc, acc.Merge(p) }

func (*mergeFn) MergeAccumulators(a, b *Partial) (*Partial, error) { return a, a.Merge(b) }

// fitFn fits the models once, on the merged partial.
type fitFn struct {
	Settings Settings
}

func (f *fitFn) ProcessElement(ctx context.Context, total *Partial, spendIt func(*nightly.SpendRows) bool, models func(*Models),
	periods func(int, []tables.PeriodMetrics), cohorts func(int, []tables.CohortRetention), clvRows func(int, []tables.CLVModel), dead func(string, nightly.DeadLetters)) error {
	var spend []orders.Spend
	var rows nightly.SpendRows
	for spendIt(&rows) {
		spend = append(spend, rows.Rows...)
	}
	m, g, err := FitPartial(total, &f.Settings, spend)
	if err != nil {
		return err
	}
	for cur, t := range g.Totals {
		counters.IncAll(ctx, HeadlineCounters(cur, t))
	}
	models(m)
	periods(0, g.PeriodMetrics)
	cohorts(0, g.Cohorts)
	if f.Settings.CLVEnabled {
		clvRows(0, g.CLVModels)
	}
	counters.Inc(ctx, nightly.CounterDead(InputCLV, ReasonCLVFit), int64(len(g.CLVFailed)))
	nightly.EmitByInput(g.CLVFailed, dead)
	return nil
}
