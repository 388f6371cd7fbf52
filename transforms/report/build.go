package report

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"slices"
	"sort"

	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Build reads the run's tables, summary and history under outDir and aggregates them.
func Build(ctx context.Context, outDir string) (Data, error) {
	return BuildWithHistory(ctx, outDir, "")
}

// historyPath is the history file: historyPath when set, else outDir/HistoryFile.
func historyPath(outDir, p string) string {
	if p != "" {
		return p
	}
	return fileio.Join(outDir, HistoryFile)
}

// BuildWithHistory is Build with the history kept at historyPath (e.g. under the
// pipeline's state folder); "" means outDir/history/report_history.json.
func BuildWithHistory(ctx context.Context, outDir, historyFile string) (Data, error) {
	in, err := readInputs(ctx, outDir)
	if err != nil {
		return Data{}, err
	}
	h, err := readHistory(ctx, historyPath(outDir, historyFile))
	if err != nil {
		return Data{}, err
	}
	return build(in, h)
}

// onDate keeps the rows of the run date. Tables written by one run hold only that date;
// a folder that accumulated several dates must not mix them into one figure.
func onDate[T any](rows []T, day int32, date func(T) int32, table string, warn *[]string) []T {
	var out []T
	for _, r := range rows {
		if date(r) == day {
			out = append(out, r)
		}
	}
	if len(out) < len(rows) {
		*warn = append(*warn, fmt.Sprintf("%s: %d of %d rows are not dated %s and are left out", table, len(rows)-len(out), len(rows), value.Day(day)))
	}
	return out
}

func build(in inputs, h History) (Data, error) {
	s := in.summary
	d := Data{RunDate: s.RunDate}
	rd := in.day
	for _, t := range []string{"customer_metrics", "churn_list", "segment_membership"} {
		if n := in.otherDate[t]; n > 0 {
			d.Warnings = append(d.Warnings, fmt.Sprintf("%s: %d rows are not dated %s and are left out", t, n, s.RunDate))
		}
	}
	in.periods = onDate(in.periods, rd, func(r tables.PeriodMetrics) int32 { return r.RunDate }, "period_metrics", &d.Warnings)
	in.cohorts = onDate(in.cohorts, rd, func(r tables.CohortRetention) int32 { return r.RunDate }, "cohort_retention", &d.Warnings)
	in.centroids = onDate(in.centroids, rd, func(r tables.KMeansCentroid) int32 { return r.RunDate }, "kmeans_centroids", &d.Warnings)
	in.syncs = onDate(in.syncs, rd, func(r tables.SyncLog) int32 { return r.RunDate }, "sync_log", &d.Warnings)
	in.clv = onDate(in.clv, rd, func(r tables.CLVModel) int32 { return r.RunDate }, "clv_model", &d.Warnings)

	prev, hasPrev := h.previous(s.RunDate)
	if hasPrev {
		d.PrevDate = prev.RunDate
	}
	d.Today = HistoryEntry{RunDate: s.RunDate, Figures: map[string]map[string]float64{}, Segments: map[string]int64{}, Audiences: map[string]int64{}}

	d.Run = RunInfo{
		OK: s.OK, Runner: s.Runner, Period: s.Period, StartedAt: s.StartedAt, DurationS: s.DurationS,
		RowsRead: sortedKV(s.RowsRead), Tables: sortedKV(s.Tables), Counters: sortedKV(s.Counters),
	}
	for _, e := range s.Errors {
		d.Run.Errors = append(d.Run.Errors, scrub(e))
	}

	for _, cur := range currencies(in) {
		cd := buildCurrency(in, cur, prev.Figures[cur], &d.Warnings)
		today := map[string]float64{}
		for _, f := range cd.Figures {
			if f.Value != nil {
				today[f.Key] = *f.Value
			}
		}
		d.Today.Figures[cur] = today
		d.Currencies = append(d.Currencies, cd)
	}

	d.Segments = buildSegments(in, prev.Segments, d.Today.Segments)
	d.Audiences = buildAudiences(in.syncs, in.audIDs, prev.Audiences, d.Today.Audiences)
	d.Lookalikes = buildLookalikes(in.syncs)
	for stage, reasons := range s.DeadLetters {
		for reason, n := range reasons {
			d.DeadLetters = append(d.DeadLetters, DeadLetterRow{Stage: stage, Reason: reason, Count: n})
		}
	}
	slices.SortFunc(d.DeadLetters, func(a, b DeadLetterRow) int {
		return cmp.Or(cmp.Compare(a.Stage, b.Stage), cmp.Compare(a.Reason, b.Reason))
	})
	return d, nil
}

// currencies lists every currency with customers, periods or cohorts, sorted.
func currencies(in inputs) []string {
	seen := map[string]bool{}
	for c := range in.customers {
		seen[c] = true
	}
	for _, r := range in.periods {
		seen[r.Currency] = true
	}
	for _, r := range in.cohorts {
		seen[r.Currency] = true
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

func buildCurrency(in inputs, cur string, prev map[string]float64, warn *[]string) CurrencyData {
	cd := CurrencyData{Currency: cur}
	custs := in.customers[cur]
	if custs == nil {
		custs = newCustAgg()
	}
	var periods []tables.PeriodMetrics // channel "all", by period start
	for _, r := range in.periods {
		if r.Currency == cur && r.Channel == "all" {
			periods = append(periods, r)
		}
	}
	sort.Slice(periods, func(i, j int) bool { return periods[i].PeriodStart < periods[j].PeriodStart })
	var last *tables.PeriodMetrics
	for i := range periods {
		if periods[i].Complete {
			last = &periods[i]
		}
	}

	churned := float64(in.churned[cur])
	fig := func(key, label, kind, note string, v *float64) Figure {
		f := Figure{Key: key, Label: label, Kind: kind, Note: note, Value: v}
		if pv, ok := prev[key]; ok {
			f.Prev = &pv
		}
		return f
	}
	cd.Figures = []Figure{
		fig("customers", "Customers", KindCount, "to date", ptr(float64(custs.customers))),
		fig("active_customers", "Active customers", KindCount, "bought within the activity window", ptr(float64(custs.active))),
		fig("orders", "Orders", KindCount, "to date", ptr(float64(custs.orders))),
		fig("revenue", "Revenue", KindMoney, "to date", ptr(round4(custs.revenue))),
	}
	if last != nil {
		cd.LastPeriod = last.Period
		note := last.Period
		cd.Figures = append(cd.Figures,
			fig("aov_first", "AOV first orders", KindMoney, note, last.AOVFirst),
			fig("aov_repeat", "AOV repeat orders", KindMoney, note, last.AOVRepeat),
			fig("rpr", "Repeat purchase rate", KindPct, note, last.RPR),
			fig("crr", "Retention rate (CRR)", KindPct, note, last.CRR),
			lower(fig("churn_rate", "Churn rate", KindPct, note, last.ChurnRate)),
			lower(fig("churned", "Churned customers", KindCount, note+" (churn list)", ptr(churned))),
			fig("new_customers", "New customers", KindCount, note, ptr(float64(last.NewCustomers))),
		)
		if last.Spend != nil {
			cd.Figures = append(cd.Figures, lower(fig("cac", "CAC", KindMoney, note, last.CAC)))
		}
	} else {
		*warn = append(*warn, fmt.Sprintf("%s: no complete period in period_metrics (channel all): period figures are not shown", cur))
	}

	cd.Cohorts = cohortGrid(in.cohorts, cur)
	charts := func(name string) func(template.HTML, error) template.HTML {
		return func(svg template.HTML, err error) template.HTML {
			if err != nil {
				*warn = append(*warn, fmt.Sprintf("%s: %s chart not drawn: %v", cur, name, err))
			}
			return svg
		}
	}
	cd.LTVChart = charts("cohort LTV")(ltvChart(in.cohorts, cur))
	var complete []tables.PeriodMetrics
	for _, p := range periods {
		if p.Complete {
			complete = append(complete, p)
		}
	}
	cd.AOVChart = charts("AOV")(aovChart(complete, cur))
	cd.RateChart = charts("RPR and CRR")(rateChart(complete))
	cd.RFM, cd.RFMSegments = rfm(custs)
	cd.Clusters, cd.ClusterExtra = clusters(in.centroids, cur, custs.customers)
	cd.CLV = clvData(custs.clv, in.clv, cur, warn)
	return cd
}

func cohortGrid(rows []tables.CohortRetention, cur string) CohortGrid {
	type key struct {
		cohort string
		off    int64
	}
	cells := map[key]tables.CohortRetention{}
	sizes := map[string]int64{}
	starts := map[string]int32{}
	var maxOff int64 = -1
	var later []float64
	for _, r := range rows {
		if r.Currency != cur {
			continue
		}
		cells[key{r.Cohort, r.PeriodOffset}] = r
		sizes[r.Cohort] = r.CohortSize
		starts[r.Cohort] = r.CohortStart
		maxOff = max(maxOff, r.PeriodOffset)
		if r.PeriodOffset > 0 {
			later = append(later, r.RetentionPct)
		}
	}
	// The colour scale tops out at the 95th percentile of later-offset retention: one tiny
	// early cohort at 50% would otherwise wash out every other cell.
	sort.Float64s(later)
	maxRet := quantile(later, 0.95)
	var g CohortGrid
	for o := int64(0); o <= maxOff; o++ {
		g.Offsets = append(g.Offsets, o)
	}
	g.Compact = len(g.Offsets) > compactOffsets
	names := make([]string, 0, len(sizes))
	for c := range sizes {
		names = append(names, c)
	}
	sort.Slice(names, func(i, j int) bool { return starts[names[i]] < starts[names[j]] })
	for _, c := range names {
		row := CohortRow{Cohort: c, Size: sizes[c]}
		for _, o := range g.Offsets {
			cell := CohortCell{Offset: o}
			if r, ok := cells[key{c, o}]; ok {
				cell.Has, cell.Active, cell.Retention = true, r.ActiveCustomers, r.RetentionPct
				// Offset 0 is 100% by definition; later offsets share one scale so that
				// small retention differences stay visible.
				frac := 1.0
				if o > 0 && maxRet > 0 {
					frac = min(1, r.RetentionPct/maxRet)
				}
				cell.Style = cellStyle(frac)
			}
			row.Cells = append(row.Cells, cell)
		}
		g.Rows = append(g.Rows, row)
	}
	return g
}

// compactOffsets is the widest cohort grid shown with one-decimal percentages.
const compactOffsets = 16

func rfm(a *custAgg) (RFMGrid, []NamedCount) {
	g := RFMGrid{Best: a.best, Unscored: a.unscored}
	type key = [2]int64
	counts, revs := map[key]int64{}, map[key]float64{}
	rs, fs := map[int64]bool{}, map[int64]bool{}
	for k, c := range a.cells {
		counts[k], revs[k] = c.count, c.revenue
		rs[k[0]], fs[k[1]] = true, true
	}
	segs := a.segs
	if len(counts) == 0 {
		return RFMGrid{}, nil
	}
	// Show every score from 1 to the highest seen, best first, so an empty bin shows as
	// an empty cell instead of vanishing.
	top := int64(0)
	for r := range rs {
		top = max(top, r)
	}
	for f := range fs {
		top = max(top, f)
	}
	scores := make([]int64, 0, top)
	for i := int64(1); i <= top; i++ {
		scores = append(scores, i)
	}
	if g.Best != 1 { // 5-bin convention: 5 = best
		for i, j := 0, len(scores)-1; i < j; i, j = i+1, j-1 {
			scores[i], scores[j] = scores[j], scores[i]
		}
	}
	g.RScores, g.FScores = scores, scores
	var maxCount int64
	for _, n := range counts {
		maxCount = max(maxCount, n)
	}
	for _, r := range g.RScores {
		var row []RFMCell
		for _, f := range g.FScores {
			k := key{r, f}
			cell := RFMCell{R: r, F: f, Count: counts[k], Revenue: round4(revs[k])}
			if cell.Count > 0 {
				cell.Style = cellStyle(float64(cell.Count) / float64(maxCount))
			}
			row = append(row, cell)
		}
		g.Cells = append(g.Cells, row)
	}
	var named []NamedCount
	for _, s := range segs {
		s.Share = float64(s.Count) / float64(a.customers) * 100
		s.Revenue = round4(s.Revenue)
		named = append(named, *s)
	}
	sort.Slice(named, func(i, j int) bool {
		if named[i].Count != named[j].Count {
			return named[i].Count > named[j].Count
		}
		return named[i].Name < named[j].Name
	})
	return g, named
}

// knownCentroidFeatures are the features with their own columns.
var knownCentroidFeatures = map[string]bool{"recency": true, "recency_days": true, "frequency": true, "monetary": true}

func clusters(rows []tables.KMeansCentroid, cur string, customers int64) ([]Cluster, []string) {
	var out []Cluster
	extraSet := map[string]bool{}
	feats := map[int64]map[string]float64{}
	for _, r := range rows {
		if r.Currency != cur {
			continue
		}
		c := Cluster{Index: r.Cluster, Name: r.ClusterName, Size: r.Size, RecencyDays: r.RecencyDays, Frequency: r.Frequency, Monetary: r.Monetary}
		if customers > 0 {
			c.Share = float64(r.Size) / float64(customers) * 100
		}
		var f map[string]float64
		if r.Features != "" && json.Unmarshal([]byte(r.Features), &f) == nil {
			feats[r.Cluster] = f
			for k := range f {
				if !knownCentroidFeatures[k] {
					extraSet[k] = true
				}
			}
		}
		out = append(out, c)
	}
	extra := make([]string, 0, len(extraSet))
	for k := range extraSet {
		extra = append(extra, k)
	}
	sort.Strings(extra)
	for i := range out {
		for _, k := range extra {
			v, ok := feats[out[i].Index][k]
			if !ok {
				v = math.NaN()
			}
			out[i].Extra = append(out[i].Extra, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out, extra
}

func clvData(vals []float64, models []tables.CLVModel, cur string, warn *[]string) *CLVData {
	var ms []tables.CLVModel
	for _, m := range models {
		if m.Currency == cur && m.Model != "holdout" { // the holdout comparison is no fitted model
			ms = append(ms, m)
		}
	}
	if len(vals) == 0 && len(ms) == 0 {
		return nil
	}
	out := &CLVData{Customers: int64(len(vals))}
	if len(vals) > 0 {
		sort.Float64s(vals)
		var sum float64
		for _, v := range vals {
			sum += v
		}
		out.Total = round4(sum)
		out.Mean = sum / float64(len(vals))
		out.Median = quantile(vals, 0.5)
		out.P90 = quantile(vals, 0.9)
		svg, clipped, err := clvHistogram(vals, cur)
		if err != nil {
			*warn = append(*warn, fmt.Sprintf("%s: CLV histogram not drawn: %v", cur, err))
		}
		out.Histogram, out.Clipped = svg, clipped
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Model < ms[j].Model })
	for _, m := range ms {
		row := CLVModelRow{Model: m.Model, LogLikelihood: m.LogLikelihood, Customers: m.Customers, TimeUnit: m.TimeUnit, FitDate: value.Day(m.FitDate).String(), Converged: m.Converged}
		var p map[string]float64
		if err := json.Unmarshal([]byte(m.Params), &p); err != nil {
			*warn = append(*warn, fmt.Sprintf("%s: clv_model %s params are not a JSON object of numbers: %v", cur, m.Model, err))
		}
		row.Params = sortedKVf(p)
		out.Models = append(out.Models, row)
	}
	return out
}

// quantile is the linear-interpolated q-quantile of sorted values (type 7, as numpy).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	h := q * float64(len(sorted)-1)
	lo := int(math.Floor(h))
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}
