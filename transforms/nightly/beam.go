package nightly

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/audiencesync/audiencesync/sinks/bigquery"
	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/counters"
	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/par"
	"github.com/audiencesync/audiencesync/transforms/sources"
	"github.com/audiencesync/audiencesync/transforms/value"
	"github.com/audiencesync/audiencesync/transforms/wire"
)

// Source is one input: a file (or glob match) or a bq:// table or query.
type Source struct {
	Input string // orders, customers, order_lines or spend
	Path  string
}

// ReadConfig configures Read. It travels inside the DoFns as typed fields.
type ReadConfig struct {
	Buckets    int       // customer and order hash buckets
	RunDate    value.Day // orders on or after it are not purchases of this run
	SplitBytes int64     // CSV inputs are read in splits of about this size
	// Today is the run's clock date in the shop's time zone, read once by the driver
	// (orders too far after it are future_date); TimeZone is the shop's IANA zone.
	Today    value.Day
	TimeZone string
	Contacts contacts.Config
	BigQuery *bigquery.Config // for bq:// sources; nil when there are none
	// SpillDir, when set, is a folder every worker can reach: the batches Read and Join
	// emit are written there and the shuffles carry their paths (see spill.go).
	SpillDir string
}

// Batches are Read's outputs.
type Batches struct {
	ByCustomer beam.PCollection // KV<int, CustomerBatch>: orders and customers, by customer bucket
	ByOrder    beam.PCollection // KV<int, OrderBatch>: order keys and order lines, by order bucket
	Spend      beam.PCollection // SpendRows, one per spend split (folded into model.Aggregate)
	Dead       beam.PCollection // KV<string, DeadLetters>, by input
}

// Read plans every source into splits (CSV byte ranges, Parquet row groups, BigQuery read
// streams), spreads the splits over workers and reads each into one batch per bucket: rows
// are validated (rejects become dead letters, with a counter per input and reason) and raw
// contacts are hashed inside the reader.
// In: PCollection<Source>.
// Out: Batches.
func Read(s beam.Scope, sources beam.PCollection, cfg ReadConfig) Batches {
	s = s.Scope("nightly.Read")
	splits := beam.ParDo(s, &planFn{SplitBytes: cfg.SplitBytes, BigQuery: cfg.BigQuery}, sources)
	splits = beam.Reshuffle(s, splits)
	byCust, byOrder, spend, dead := beam.ParDo4(s, &readFn{Config: cfg}, splits)
	return Batches{ByCustomer: byCust, ByOrder: byOrder, Spend: spend, Dead: dead}
}

// Join meets every row of an order id in its order bucket: duplicated order ids are decided
// (the lowest input line wins; the losers are dead letters and drops for their customers'
// buckets) and order lines are joined to their orders and re-bucketed by customer.
// cfg gives the number of buckets and the spill folder.
// In: KV<int, OrderBatch> (order bucket -> batches).
// Out: KV<int, CustomerBatch> (customer bucket -> joined Lines and Drops),
// KV<string, DeadLetters>.
func Join(s beam.Scope, byOrder beam.PCollection, cfg ReadConfig) (byCustomer, dead beam.PCollection) {
	s = s.Scope("nightly.Join")
	return beam.ParDo2(s, &joinFn{Buckets: cfg.Buckets, SpillDir: cfg.SpillDir}, beam.GroupByKey(s, byOrder))
}

// GroupBuckets brings every batch of a customer bucket together.
// In: any number of KV<int, CustomerBatch>.
// Out: KV<int, iter<CustomerBatch>> (customer bucket -> its batches), the input of
// model.Aggregate and score.Score.
func GroupBuckets(s beam.Scope, batches ...beam.PCollection) beam.PCollection {
	s = s.Scope("nightly.GroupBuckets")
	return beam.GroupByKey(s, beam.Flatten(s, batches...))
}

// WriteDeadLetters writes each input's dead letters to <out>/dead_letters/<input>.csv
// (file,line,id,reason,detail, sorted by file and line): never raw contact data, readers
// put only ids, dates, amounts and statuses in details.
// In: any number of KV<string, DeadLetters> (input -> dead letters).
func WriteDeadLetters(s beam.Scope, out string, dead ...beam.PCollection) {
	s = s.Scope("nightly.WriteDeadLetters")
	beam.ParDo0(s, &deadFn{Output: out}, beam.GroupByKey(s, beam.Flatten(s, dead...)))
}

func init() {
	for _, t := range []reflect.Type{reflect.TypeOf(CustomerBatch{}), reflect.TypeOf(OrderBatch{}), reflect.TypeOf(DeadLetters{}), reflect.TypeOf(SpendRows{})} {
		wire.RegisterCoder(t)
	}
	beam.RegisterType(reflect.TypeOf((*Source)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*sources.Split)(nil)).Elem())
	register.DoFn3x1[context.Context, Source, func(sources.Split), error](&planFn{})
	register.Emitter1[sources.Split]()
	register.DoFn6x1[context.Context, sources.Split, func(int, CustomerBatch), func(int, OrderBatch), func(SpendRows), func(string, DeadLetters), error](&readFn{})
	register.Emitter2[int, CustomerBatch]()
	register.Emitter2[int, OrderBatch]()
	register.Emitter1[SpendRows]()
	register.Emitter2[string, DeadLetters]()
	register.Iter1[OrderBatch]()
	register.Iter1[CustomerBatch]()
	register.Iter1[DeadLetters]()
	register.Iter1[SpendRows]()
	register.DoFn5x1[context.Context, int, func(*OrderBatch) bool, func(int, CustomerBatch), func(string, DeadLetters), error](&joinFn{})
	register.DoFn3x1[context.Context, string, func(*DeadLetters) bool, error](&deadFn{})
}

// planFn cuts a source file into splits, or a bq:// source into read streams.
type planFn struct {
	SplitBytes int64
	BigQuery   *bigquery.Config
}

func (f *planFn) ProcessElement(ctx context.Context, src Source, emit func(sources.Split)) error {
	var splits []sources.Split
	var err error
	if sources.IsBigQuery(src.Path) {
		var cfg bigquery.Config
		if f.BigQuery != nil {
			cfg = *f.BigQuery
		}
		splits, err = sources.PlanBigQuery(ctx, cfg, src.Input, src.Path)
	} else {
		splits, err = sources.Plan(ctx, src.Input, src.Path, f.SplitBytes)
	}
	if err != nil {
		return err
	}
	for _, s := range splits {
		emit(s)
	}
	return nil
}

// readFn reads the splits of a bundle into batches, par.Workers() splits at a time in
// parallel while the previous ones are emitted (a hasher per worker). BigQuery streams are
// read one at a time (one reader, not shared between goroutines).
type readFn struct {
	Config ReadConfig

	hashers []*contacts.Hasher
	bq      *sources.BQReader
	pipe    par.Pipe[sources.Split, *ReadResult]
	ctx     context.Context // the bundle's (set at StartBundle, read by the pipe's workers)
}

func (f *readFn) Setup() error {
	workers := par.Workers()
	if f.Config.BigQuery != nil {
		f.bq = &sources.BQReader{Config: *f.Config.BigQuery}
		workers = 1
	}
	f.hashers = make([]*contacts.Hasher, workers)
	for i := range f.hashers {
		h, err := contacts.NewHasher(f.Config.Contacts)
		if err != nil {
			return err
		}
		f.hashers[i] = h
	}
	f.pipe = par.Pipe[sources.Split, *ReadResult]{Workers: workers, Fn: func(w int, s sources.Split) (*ReadResult, error) {
		ro := ReadOptions{Buckets: f.Config.Buckets, RunDate: f.Config.RunDate, Today: f.Config.Today, TimeZone: f.Config.TimeZone}
		if f.bq != nil {
			ro.External = f.bq
		}
		res, err := ReadSplit(f.ctx, s, ro, f.hashers[w])
		if err != nil || f.Config.SpillDir == "" {
			return res, err
		}
		if err := SpillCustomerBatches(f.Config.SpillDir, res.ByCustomer); err != nil {
			return nil, err
		}
		if err := SpillOrderBatches(f.Config.SpillDir, res.ByOrder); err != nil {
			return nil, err
		}
		return res, nil
	}}
	return nil
}

func (f *readFn) Teardown() {
	if f.bq != nil {
		f.bq.Close()
	}
}

func (f *readFn) StartBundle(ctx context.Context, _ func(int, CustomerBatch), _ func(int, OrderBatch), _ func(SpendRows), _ func(string, DeadLetters)) {
	f.pipe.Reset() // before ctx changes: a dropped batch may still be reading with the old one
	f.ctx = ctx
}

func (f *readFn) ProcessElement(ctx context.Context, s sources.Split, cust func(int, CustomerBatch), ord func(int, OrderBatch), spend func(SpendRows), dead func(string, DeadLetters)) error {
	return f.pipe.Add(s, f.emitter(ctx, cust, ord, spend, dead))
}

func (f *readFn) FinishBundle(ctx context.Context, cust func(int, CustomerBatch), ord func(int, OrderBatch), spend func(SpendRows), dead func(string, DeadLetters)) error {
	return f.pipe.Flush(f.emitter(ctx, cust, ord, spend, dead))
}

// emitter emits a read split's batches and counters (from the bundle's goroutine).
func (f *readFn) emitter(ctx context.Context, cust func(int, CustomerBatch), ord func(int, OrderBatch), spend func(SpendRows), dead func(string, DeadLetters)) func(sources.Split, *ReadResult) {
	return func(_ sources.Split, res *ReadResult) {
		counters.IncAll(ctx, res.Counts)
		for _, b := range slices.Sorted(maps.Keys(res.ByCustomer)) {
			cust(b, res.ByCustomer[b])
		}
		for _, b := range slices.Sorted(maps.Keys(res.ByOrder)) {
			ord(b, res.ByOrder[b])
		}
		if len(res.Spend) > 0 {
			spend(SpendRows{Rows: res.Spend})
		}
		EmitByInput(res.Dead, dead)
	}
}

// joinFn resolves the order buckets of a bundle (JoinLines), par.Workers() at a time in
// parallel while the previous ones are emitted.
type joinFn struct {
	Buckets  int
	SpillDir string // see ReadConfig.SpillDir

	pipe par.Pipe[[]OrderBatch, joined]
}

// joined is one order bucket after the join.
type joined struct {
	byCust map[int]CustomerBatch
	dead   []DeadLetter
	counts map[string]int64
}

func (f *joinFn) Setup() {
	f.pipe = par.Pipe[[]OrderBatch, joined]{Workers: par.Workers(), Fn: func(_ int, batches []OrderBatch) (joined, error) {
		byCust, d, counts, err := JoinLines(batches, f.Buckets)
		if err == nil && f.SpillDir != "" {
			err = SpillCustomerBatches(f.SpillDir, byCust)
		}
		return joined{byCust, d, counts}, err
	}}
}

func (f *joinFn) StartBundle(_ context.Context, _ func(int, CustomerBatch), _ func(string, DeadLetters)) {
	f.pipe.Reset()
}

func (f *joinFn) ProcessElement(ctx context.Context, _ int, vals func(*OrderBatch) bool, out func(int, CustomerBatch), dead func(string, DeadLetters)) error {
	var batches []OrderBatch
	var b OrderBatch
	for vals(&b) {
		batches = append(batches, b)
	}
	return f.pipe.Add(batches, joinEmitter(ctx, out, dead))
}

func (f *joinFn) FinishBundle(ctx context.Context, out func(int, CustomerBatch), dead func(string, DeadLetters)) error {
	return f.pipe.Flush(joinEmitter(ctx, out, dead))
}

func joinEmitter(ctx context.Context, out func(int, CustomerBatch), dead func(string, DeadLetters)) func([]OrderBatch, joined) {
	return func(_ []OrderBatch, j joined) {
		counters.IncAll(ctx, j.counts)
		for _, bk := range slices.Sorted(maps.Keys(j.byCust)) {
			out(bk, j.byCust[bk])
		}
		// Dead letters are grouped by the input they belong to (one file each): the join
		// has both orders (duplicates) and order_lines (unknown orders).
		EmitByInput(j.dead, dead)
	}
}

// EmitByInput emits dead letters grouped by their own input (one file per input), the
// shape WriteDeadLetters takes.
func EmitByInput(x []DeadLetter, emit func(string, DeadLetters)) {
	if len(x) == 0 {
		return
	}
	by := map[string][]DeadLetter{}
	for _, d := range x {
		by[d.Input] = append(by[d.Input], d)
	}
	for _, in := range slices.Sorted(maps.Keys(by)) {
		emit(in, DeadLetters{Rows: by[in]})
	}
}

// deadFn writes one input's dead letters, sorted by line.
type deadFn struct {
	Output string
}

func (f *deadFn) ProcessElement(ctx context.Context, input string, vals func(*DeadLetters) bool) error {
	var all []DeadLetter
	var b DeadLetters
	for vals(&b) {
		all = append(all, b.Rows...)
	}
	slices.SortFunc(all, func(a, b DeadLetter) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Reason, b.Reason), cmp.Compare(a.ID, b.ID))
	})
	var sb strings.Builder
	sb.WriteString("file,line,id,reason,detail\n")
	for _, x := range all {
		fmt.Fprintf(&sb, "%s,%d,%s,%s,%s\n", csvField(x.File), x.Line, csvField(x.ID), x.Reason, csvField(x.Detail))
	}
	return fileio.WriteFile(ctx, fileio.Join(f.Output, "dead_letters", input+".csv"), []byte(sb.String()))
}

func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\n\r") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}
