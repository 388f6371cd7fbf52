package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/audiencesync/audiencesync/sinks/bigquery"
	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/nightly"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/parquetio"
	"github.com/audiencesync/audiencesync/transforms/segments"
	"github.com/audiencesync/audiencesync/transforms/sources"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Namespace of every Beam counter the pipeline reports.
const Namespace = "audiencesync"

// Source is one input file.
type Source struct {
	Input string
	Path  string
}

// Options configure the graph. Everything here is plain data.
type Options struct {
	Sources    []Source
	Output     string
	Buckets    int
	SplitBytes int64
	TimeZone   string    // the shop's IANA time zone (metrics.timezone)
	Today      value.Day // the run's clock date, read once by the driver (future_date rule)
	Settings   nightly.Settings
	Contacts   contacts.Config
	StateDir   string // segment history (and audience state); "" keeps no history
	// HistoryOut is where the segment history of this run is written (the run's state
	// staging, published with the run by pipelines/run); "" writes it to StateDir.
	HistoryOut string

	// BigQuery settings for bq:// inputs (JSON of sinks/bigquery.Config); "" when none.
	BigQuery string

	// Audiences are the targets whose members make the audience_members table; none builds
	// no audiences. The delivery to the platforms is a phase of its own (sinks/delivery.Run).
	Audiences []audience.Target
}

func init() {
	beam.RegisterType(reflect.TypeOf((*Source)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*sources.Split)(nil)).Elem())
	register.DoFn3x1[context.Context, Source, func(sources.Split), error](&planFn{})
	register.Emitter1[sources.Split]()
	register.DoFn6x1[context.Context, sources.Split, func(int, []byte), func(int, []byte), func([]byte), func(string, []byte), error](&readFn{})
	register.Emitter2[int, []byte]()
	register.Emitter1[[]byte]()
	register.Emitter2[string, []byte]()
	register.Iter1[[]byte]()
	register.DoFn5x1[context.Context, int, func(*[]byte) bool, func(int, []byte), func(string, []byte), error](&joinFn{})
	register.DoFn4x1[context.Context, int, func(*[]byte) bool, func(int, []byte), error](&partialFn{})
	register.DoFn5x1[context.Context, int, func(*[]byte) bool, func(*[]byte) bool, func([]byte), error](&fitFn{})
	register.DoFn7x1[context.Context, int, func(*[]byte) bool, []byte, func(string, []byte), func(int, []byte), func(string, audience.Batch), error](&scoreFn{})
	register.DoFn4x1[context.Context, int, func(*[]byte) bool, []byte, error](&centroidsFn{})
	register.DoFn3x1[context.Context, string, func(*[]byte) bool, error](&deadFn{})
}

func counter(ctx context.Context, name string, n int64) {
	if n != 0 {
		beam.NewCounter(Namespace, name).Inc(ctx, n)
	}
}

func counters(ctx context.Context, m map[string]int64) {
	for k, v := range m {
		counter(ctx, k, v)
	}
}

// planFn cuts a source file into splits, or a bq:// source into read streams.
type planFn struct {
	SplitBytes int64
	BigQuery   string
}

func (f *planFn) ProcessElement(ctx context.Context, src Source, emit func(sources.Split)) error {
	var splits []sources.Split
	var err error
	if sources.IsBigQuery(src.Path) {
		var cfg bigquery.Config
		if f.BigQuery != "" {
			if err := json.Unmarshal([]byte(f.BigQuery), &cfg); err != nil {
				return err
			}
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

// readFn reads one split: rows are validated, contacts hashed, and everything is batched
// per bucket.
type readFn struct {
	Buckets  int
	AsOf     int32
	Today    int32  // the run's clock date (future_date rule)
	TimeZone string // the shop's IANA time zone
	Contacts string // JSON of contacts.Config
	BigQuery string // JSON of sinks/bigquery.Config; "" without bq:// inputs

	hasher *contacts.Hasher
	bq     *sources.BQReader
}

func (f *readFn) Setup() error {
	var cfg contacts.Config
	if err := json.Unmarshal([]byte(f.Contacts), &cfg); err != nil {
		return err
	}
	h, err := contacts.NewHasher(cfg)
	f.hasher = h
	if err != nil {
		return err
	}
	if f.BigQuery != "" {
		f.bq = &sources.BQReader{}
		if err := json.Unmarshal([]byte(f.BigQuery), &f.bq.Config); err != nil {
			return err
		}
	}
	return nil
}

func (f *readFn) Teardown() {
	if f.bq != nil {
		f.bq.Close()
	}
}

func (f *readFn) ProcessElement(ctx context.Context, s sources.Split, cust, ord func(int, []byte), spend func([]byte), dead func(string, []byte)) error {
	ro := nightly.ReadOptions{Buckets: f.Buckets, AsOf: value.Day(f.AsOf), Today: value.Day(f.Today), TimeZone: f.TimeZone}
	if f.bq != nil {
		ro.External = f.bq
	}
	res, err := nightly.ReadSplit(ctx, s, ro, f.hasher)
	if err != nil {
		return err
	}
	counters(ctx, res.Counts)
	out := cust
	if s.Input == orders.InputLines {
		out = ord
	}
	for _, b := range slices.Sorted(maps.Keys(res.Batches)) {
		out(b, res.Batches[b])
	}
	for _, b := range slices.Sorted(maps.Keys(res.Keys)) {
		ord(b, res.Keys[b])
	}
	if res.Spend != nil {
		spend(res.Spend)
	}
	if err := emitDeadByInput(res.Dead, dead); err != nil {
		return err
	}
	return nil
}

func collect(it func(*[]byte) bool) [][]byte {
	var all [][]byte
	var b []byte
	for it(&b) {
		all = append(all, b)
		b = nil
	}
	return all
}

// joinFn resolves one order bucket: duplicated order ids are decided (the losers go to
// their customers' buckets as drops), and order lines are joined to their orders.
type joinFn struct {
	Buckets int
}

func (f *joinFn) ProcessElement(ctx context.Context, _ int, vals func(*[]byte) bool, out func(int, []byte), dead func(string, []byte)) error {
	byCust, drops, d, counts, err := nightly.JoinLines(collect(vals), f.Buckets)
	if err != nil {
		return err
	}
	counters(ctx, counts)
	for _, b := range slices.Sorted(maps.Keys(byCust)) {
		out(b, byCust[b])
	}
	for _, b := range slices.Sorted(maps.Keys(drops)) {
		out(b, drops[b])
	}
	// Dead letters are grouped by the input they belong to (one file each): the join has
	// both orders (duplicates) and order_lines (unknown orders).
	return emitDeadByInput(d, dead)
}

// emitDeadByInput splits a dead-letter batch by each record's input.
func emitDeadByInput(b []byte, dead func(string, []byte)) error {
	if b == nil {
		return nil
	}
	by := map[string]*nightly.Enc{}
	d, _ := nightly.NewDec(b)
	for d.More() {
		x := d.GetDead()
		e := by[x.Input]
		if e == nil {
			e = nightly.NewEnc(nightly.KindDead)
			by[x.Input] = e
		}
		e.PutDead(&x)
	}
	if d.Err != nil {
		return d.Err
	}
	for _, in := range slices.Sorted(maps.Keys(by)) {
		dead(in, by[in].B)
	}
	return nil
}

func decodeSettings(js string) (*nightly.Settings, error) {
	var s nightly.Settings
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	return &s, nil
}

// partialFn turns one customer bucket into its partial aggregate, keyed for the one-key
// merge.
type partialFn struct {
	Settings string // JSON of nightly.Settings
	settings *nightly.Settings
}

func (f *partialFn) Setup() (err error) { f.settings, err = decodeSettings(f.Settings); return }

func (f *partialFn) ProcessElement(ctx context.Context, _ int, vals func(*[]byte) bool, out func(int, []byte)) error {
	bd, err := nightly.BuildBucket(collect(vals), false)
	if err != nil {
		return err
	}
	p := nightly.NewPartial()
	p.Add(bd, f.settings)
	b, err := p.Encode()
	if err != nil {
		return err
	}
	out(0, b)
	return nil
}

// fitFn merges every partial, fits the models and writes the base-wide tables.
type fitFn struct {
	Settings string
	Output   string
}

func (f *fitFn) ProcessElement(ctx context.Context, _ int, vals func(*[]byte) bool, spendIt func(*[]byte) bool, out func([]byte)) error {
	s, err := decodeSettings(f.Settings)
	if err != nil {
		return err
	}
	total := nightly.NewPartial()
	for _, b := range collect(vals) {
		p, err := nightly.DecodePartial(b)
		if err != nil {
			return err
		}
		if err := total.Merge(p); err != nil {
			return err
		}
	}
	var spend []orders.Spend
	for _, b := range collect(spendIt) {
		d, kind := nightly.NewDec(b)
		if kind != nightly.KindSpend {
			return fmt.Errorf("fit: spend batch of kind %q", kind)
		}
		for d.More() {
			spend = append(spend, d.GetSpend())
		}
		if d.Err != nil {
			return fmt.Errorf("fit: spend batch: %w", d.Err)
		}
	}
	models, g, err := nightly.Fit(total, s, spend)
	if err != nil {
		return err
	}
	if err := writeTable(ctx, f.Output, "period_metrics", 0, g.PeriodMetrics); err != nil {
		return err
	}
	if err := writeTable(ctx, f.Output, "cohort_retention", 0, g.Cohorts); err != nil {
		return err
	}
	if s.CLVEnabled {
		if err := writeTable(ctx, f.Output, "clv_model", 0, g.CLVModels); err != nil {
			return err
		}
		cb, _ := json.MarshalIndent(g.CLVReport, "", "  ")
		if err := fileio.WriteFile(ctx, fileio.Join(f.Output, CLVFile), cb); err != nil {
			return err
		}
	}
	hb, _ := json.MarshalIndent(g.Headline, "", "  ")
	if err := fileio.WriteFile(ctx, fileio.Join(f.Output, HeadlineFile), hb); err != nil {
		return err
	}
	mb, err := models.Encode()
	if err != nil {
		return err
	}
	out(mb)
	return nil
}

// HeadlineFile is where the fit step leaves the base-wide headline for the driver's
// run summary.
const HeadlineFile = "_headline.json"

// CLVFile is where the fit step leaves the CLV model report for the run summary.
const CLVFile = "_clv.json"

// writeTable writes one part of a table and counts its rows. Part names are a pure
// function of the bucket, so a retried bundle overwrites its own part.
func writeTable[T any](ctx context.Context, out, table string, part int, rows []T) error {
	if err := parquetio.WriteFile(ctx, fileio.Join(out, table, parquetio.PartName(part)), rows); err != nil {
		return err
	}
	counter(ctx, "rows_written."+table, int64(len(rows)))
	return nil
}

// scoreFn computes and writes every per-customer output of one bucket.
type scoreFn struct {
	Settings   string
	Output     string
	StateDir   string
	HistoryOut string // "" = StateDir
	Buckets    int
	Audiences  []audience.Target // none = no audiences

	scorer  *nightly.Scorer
	members *audience.Members
}

func (f *scoreFn) Setup() error {
	s, err := decodeSettings(f.Settings)
	if err != nil {
		return err
	}
	if f.scorer, err = nightly.NewScorer(s); err != nil {
		return err
	}
	if len(f.Audiences) > 0 {
		if f.members, err = audience.NewMembers(f.Audiences); err != nil {
			return err
		}
	}
	return nil
}

func (f *scoreFn) ProcessElement(ctx context.Context, bucket int, vals func(*[]byte) bool, modelBytes []byte, dead func(string, []byte), sizes func(int, []byte), members func(string, audience.Batch)) error {
	models, err := nightly.DecodeModels(modelBytes)
	if err != nil {
		return err
	}
	bd, err := nightly.BuildBucket(collect(vals), true)
	if err != nil {
		return err
	}
	counters(ctx, bd.Counts)
	if err := emitDeadByInput(bd.Dead, dead); err != nil {
		return err
	}
	today := f.scorer.AsOf()
	var prevRows []tables.SegmentMembership
	if f.StateDir != "" {
		if prevRows, err = nightly.LoadHistory(ctx, f.StateDir, bucket, f.Buckets); err != nil {
			return err
		}
	}
	hist := segments.NewHistory(prevRows, today)
	o, err := f.scorer.Score(bd, models, hist)
	if err != nil {
		return err
	}
	if err := writeTable(ctx, f.Output, "customer_metrics", bucket, o.CustomerMetrics); err != nil {
		return err
	}
	if err := writeTable(ctx, f.Output, "churn_list", bucket, o.ChurnList); err != nil {
		return err
	}
	if err := writeTable(ctx, f.Output, "segment_membership", bucket, o.Membership); err != nil {
		return err
	}
	if f.StateDir != "" {
		histOut := f.HistoryOut
		if histOut == "" {
			histOut = f.StateDir
		}
		if err := nightly.SaveHistory(ctx, histOut, bucket, f.Buckets, today, prevRows, hist, o.Membership); err != nil {
			return err
		}
	}
	for seg, n := range o.SegmentCounts {
		counter(ctx, "segment."+seg, n)
	}
	if len(o.ClusterSizes) > 0 {
		b, err := json.Marshal(o.ClusterSizes)
		if err != nil {
			return err
		}
		sizes(0, b)
	}
	if f.members != nil {
		f.members.EmitBatches(o.Segments, func(id string) *contacts.Hashed {
			if rec := bd.Records[id]; rec != nil {
				return &rec.Hashed
			}
			return nil
		}, o.CustomerMetrics, members)
	}
	return nil
}

// centroidsFn sums the cluster sizes of every bucket and writes kmeans_centroids.
type centroidsFn struct {
	AsOf   int32
	Output string
}

func (f *centroidsFn) ProcessElement(ctx context.Context, _ int, vals func(*[]byte) bool, modelBytes []byte) error {
	models, err := nightly.DecodeModels(modelBytes)
	if err != nil {
		return err
	}
	total := map[string][]int64{}
	for _, b := range collect(vals) {
		var m map[string][]int64
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		for cur, sz := range m {
			t := total[cur]
			for len(t) < len(sz) {
				t = append(t, 0)
			}
			for i, n := range sz {
				t[i] += n
			}
			total[cur] = t
		}
	}
	var rows []tables.KMeansCentroid
	for _, cur := range slices.Sorted(maps.Keys(models.KMeans)) {
		km := models.KMeans[cur]
		sz := total[cur]
		for len(sz) < len(km.Centroids) {
			sz = append(sz, 0)
		}
		rows = append(rows, km.CentroidRows(value.Day(f.AsOf), cur, sz)...)
	}
	return writeTable(ctx, f.Output, "kmeans_centroids", 0, rows)
}

// deadFn writes one input's dead letters, sorted by file and line: file, line, id, reason,
// detail. Never raw contact data: readers put only ids, dates, amounts and statuses in
// details.
type deadFn struct {
	Output string
}

func (f *deadFn) ProcessElement(ctx context.Context, input string, vals func(*[]byte) bool) error {
	var all []nightly.DeadLetter
	for _, b := range collect(vals) {
		d, _ := nightly.NewDec(b)
		for d.More() {
			x := d.GetDead()
			all = append(all, x)
		}
		if d.Err != nil {
			return d.Err
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Input != all[j].Input {
			return all[i].Input < all[j].Input
		}
		if all[i].File != all[j].File {
			return all[i].File < all[j].File
		}
		if all[i].Line != all[j].Line {
			return all[i].Line < all[j].Line
		}
		return all[i].Reason < all[j].Reason
	})
	// Group by the dead letter's own input (contacts rejects travel with customers).
	files := map[string]*strings.Builder{}
	for _, x := range all {
		sb := files[x.Input]
		if sb == nil {
			sb = &strings.Builder{}
			sb.WriteString("file,line,id,reason,detail\n")
			files[x.Input] = sb
		}
		fmt.Fprintf(sb, "%s,%d,%s,%s,%s\n", csvField(x.File), x.Line, csvField(x.ID), x.Reason, csvField(x.Detail))
	}
	for name, sb := range files {
		if err := fileio.WriteFile(ctx, fileio.Join(f.Output, "dead_letters", name+".csv"), []byte(sb.String())); err != nil {
			return err
		}
	}
	return nil
}

func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\n\r") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// Outputs are the graph's PCollections that tests and callers may look at.
type Outputs struct {
	Models      beam.PCollection // one element: the encoded nightly.Models
	DeadLetters beam.PCollection // KV<input, batch>
}

// Build adds the nightly pipeline to s.
func Build(s beam.Scope, o Options) (*Outputs, error) {
	s = s.Scope("audiencesync.Nightly")
	if o.Buckets <= 0 {
		return nil, fmt.Errorf("buckets must be > 0")
	}
	settingsJSON, err := json.Marshal(o.Settings)
	if err != nil {
		return nil, err
	}
	contactsJSON, err := json.Marshal(o.Contacts)
	if err != nil {
		return nil, err
	}
	srcs := beam.CreateList(s, o.Sources)
	splits := beam.ParDo(s, &planFn{SplitBytes: o.SplitBytes, BigQuery: o.BigQuery}, srcs)
	splits = beam.Reshuffle(s, splits)
	custB, ordB, spend, dead := beam.ParDo4(s, &readFn{Buckets: o.Buckets, AsOf: int32(o.Settings.Metrics.AsOf), Today: int32(o.Today), TimeZone: o.TimeZone, Contacts: string(contactsJSON), BigQuery: o.BigQuery}, splits)

	// Order keys (and lines) meet by order id: duplicates are decided there for every order,
	// with or without an order_lines input, and lines are joined.
	joined, jdead := beam.ParDo2(s, &joinFn{Buckets: o.Buckets}, beam.GroupByKey(s, ordB))
	deadAll := []beam.PCollection{dead, jdead}
	grouped := beam.GroupByKey(s, beam.Flatten(s, custB, joined))

	partials := beam.ParDo(s, &partialFn{Settings: string(settingsJSON)}, grouped)
	models := beam.ParDo(s, &fitFn{Settings: string(settingsJSON), Output: o.Output}, beam.GroupByKey(s, partials), beam.SideInput{Input: spend})
	sdead, sizes, members := beam.ParDo3(s, &scoreFn{Settings: string(settingsJSON), Output: o.Output, StateDir: o.StateDir, HistoryOut: o.HistoryOut, Buckets: o.Buckets, Audiences: o.Audiences}, grouped, beam.SideInput{Input: models})
	if len(o.Audiences) > 0 {
		audience.WriteMembers(s, members, o.Audiences, o.Output, o.Settings.Metrics.AsOf)
	}
	deadAll = append(deadAll, sdead)
	if o.Settings.KMeansEnabled {
		beam.ParDo0(s, &centroidsFn{AsOf: int32(o.Settings.Metrics.AsOf), Output: o.Output}, beam.GroupByKey(s, sizes), beam.SideInput{Input: models})
	}

	deadLetters := beam.Flatten(s, deadAll...)
	beam.ParDo0(s, &deadFn{Output: o.Output}, beam.GroupByKey(s, deadLetters))
	return &Outputs{Models: models, DeadLetters: deadLetters}, nil
}
