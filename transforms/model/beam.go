package model

import (
	"context"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/audiencesync/audiencesync/transforms/counters"
	"github.com/audiencesync/audiencesync/transforms/nightly"
	"github.com/audiencesync/audiencesync/transforms/par"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/wire"
)

// Aggregate folds every customer bucket and the spend rows into one base-wide Partial:
// each bucket's partial is built in plain Go next to its data, each spend split becomes a
// partial holding its rows, and a beam.Combine merges them (the runner merges partials of
// a bundle before its shuffle, so the one-key merge sees a handful).
//
// Spend travels in the combine, not as a side input of the fit: prism re-polls a running
// stage that has a side input in a busy loop (~1 core for as long as the stage runs), and
// the fit (k-means restarts) is the longest single bundle of the night.
// In: buckets KV<int, iter<nightly.CustomerBatch>> (nightly.GroupBuckets); spend
// PCollection<nightly.SpendRows> (nightly.Read).
// Out: PCollection<*Partial>, one element.
func Aggregate(s beam.Scope, buckets, spend beam.PCollection, cfg Settings) beam.PCollection {
	s = s.Scope("model.Aggregate")
	partials := beam.ParDo(s, &partialFn{Settings: cfg}, buckets)
	spent := beam.ParDo(s, spendPartial, spend)
	return beam.Combine(s, &mergeFn{}, beam.Flatten(s, partials, spent))
}

// spendPartial carries a split's spend rows into the combine.
func spendPartial(rows nightly.SpendRows) *Partial {
	p := NewPartial()
	p.Spend = rows.Rows
	return p
}

// Fits are Fit's outputs.
type Fits struct {
	Models    beam.PCollection // *Models, one element: joined to each bucket by score.Score, a side input of score.Centroids
	Periods   beam.PCollection // KV<int, []tables.PeriodMetrics>, one part (period_metrics)
	Cohorts   beam.PCollection // KV<int, []tables.CohortRetention>, one part (cohort_retention)
	CLVModels beam.PCollection // KV<int, []tables.CLVModel>, one part when CLV is on (clv_model)
	Dead      beam.PCollection // KV<string, nightly.DeadLetters>: CLV models that could not be fitted
}

// Fit fits the base-wide models (RFM cut points, k-means centroids, CLV parameters) on the
// merged partial and computes the base-wide tables. The headline totals per currency go
// to counters (HeadlineCounters) for the run summary.
// In: total PCollection<*Partial> (Aggregate, spend included).
// Out: Fits.
func Fit(s beam.Scope, total beam.PCollection, cfg Settings) Fits {
	s = s.Scope("model.Fit")
	m, p, c, clvRows, dead := beam.ParDo5(s, &fitFn{Settings: cfg}, total)
	return Fits{Models: m, Periods: p, Cohorts: c, CLVModels: clvRows, Dead: dead}
}

func init() {
	wire.RegisterCoder(reflect.TypeOf((*Partial)(nil)))
	wire.RegisterCoder(reflect.TypeOf((*Models)(nil)))
	register.DoFn4x1[context.Context, int, func(*nightly.CustomerBatch) bool, func(*Partial), error](&partialFn{})
	register.Emitter1[*Partial]()
	register.Combiner1[*Partial](&mergeFn{})
	register.Function1x1(spendPartial)
	register.DoFn7x1[context.Context, *Partial, func(*Models),
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

// partialFn folds the buckets of a bundle into one partial: par.Workers() buckets at a
// time are built in parallel (each into a partial of its own), merged in arrival order,
// and the bundle's partial is emitted at its end.
type partialFn struct {
	Settings Settings

	acc  *Partial
	pipe par.Pipe[[]nightly.CustomerBatch, *Partial]
	err  error
}

func (f *partialFn) Setup() {
	f.pipe = par.Pipe[[]nightly.CustomerBatch, *Partial]{Workers: par.Workers(), Fn: func(_ int, batches []nightly.CustomerBatch) (*Partial, error) {
		bd, err := nightly.BuildBucket(batches, false)
		if err != nil {
			return nil, err
		}
		p := NewPartial()
		p.Add(bd, &f.Settings)
		return p, nil
	}}
}

func (f *partialFn) StartBundle(_ context.Context, _ func(*Partial)) {
	f.pipe.Reset()
	f.acc, f.err = nil, nil
}

func (f *partialFn) ProcessElement(ctx context.Context, _ int, vals func(*nightly.CustomerBatch) bool, _ func(*Partial)) error {
	if err := f.pipe.Add(collect(vals), f.merge); err != nil {
		return err
	}
	return f.err
}

func (f *partialFn) FinishBundle(ctx context.Context, emit func(*Partial)) error {
	if err := f.pipe.Flush(f.merge); err != nil {
		return err
	}
	if f.err != nil {
		return f.err
	}
	if f.acc != nil {
		emit(f.acc)
		f.acc = nil
	}
	return nil
}

func (f *partialFn) merge(_ []nightly.CustomerBatch, p *Partial) {
	switch {
	case f.err != nil:
	case f.acc == nil:
		f.acc = p
	default:
		f.err = f.acc.Merge(p)
	}
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

func (f *fitFn) ProcessElement(ctx context.Context, total *Partial, models func(*Models),
	periods func(int, []tables.PeriodMetrics), cohorts func(int, []tables.CohortRetention), clvRows func(int, []tables.CLVModel), dead func(string, nightly.DeadLetters)) error {
	m, g, err := FitPartial(total, &f.Settings, total.Spend)
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
