package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	beammetrics "github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
	"github.com/audiencesync/audiencesync/transforms/clv"
	"github.com/audiencesync/audiencesync/transforms/counters"
	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/model"
	"github.com/audiencesync/audiencesync/transforms/report"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// counterValues keeps the pipeline's counters by name. Committed values are used where the
// runner reports them (they exclude retried bundles), else attempted.
func counterValues(cs []beammetrics.CounterResult) map[string]int64 {
	out := map[string]int64{}
	for _, c := range cs {
		if c.Key.Namespace != counters.Namespace {
			continue
		}
		v := c.Committed
		if v == 0 {
			v = c.Attempted
		}
		out[c.Key.Name] += v
	}
	return out
}

// summarize builds run_summary.json from the counters and the run's own tables: rows
// read, dead letters, rows written and segment sizes are counters; the headline figures
// are rebuilt from the fit's headline counters; the audiences are this run's sync_log rows
// and the CLV section its clv_model rows.
func summarize(j *job, start time.Time, counts map[string]int64, t *report.Tables) *tables.Summary {
	out := j.graph.Output
	sum := &tables.Summary{
		RunID:       j.runID,
		RunDate:     j.runDate().String(),
		Today:       j.today.String(),
		StartedAt:   start.UTC().Format(time.RFC3339),
		Period:      j.cfg.Metrics.Period,
		Runner:      runnerName(),
		OK:          true,
		RowsRead:    map[string]int64{},
		DeadLetters: map[string]map[string]int64{},
		Tables:      map[string]int64{},
		Segments:    map[string]int64{},
		Counters:    map[string]int64{},
		Headline:    model.Headline(counts),
		Outputs:     map[string]string{"tables": out, "dead_letters": fileio.Join(out, "dead_letters"), "summary": fileio.Join(out, report.SummaryFile)},
	}
	for name, v := range counts {
		switch {
		case strings.HasPrefix(name, counters.RowsRead):
			sum.RowsRead[strings.TrimPrefix(name, counters.RowsRead)] += v
		case strings.HasPrefix(name, counters.DeadLetter):
			in, reason, _ := strings.Cut(strings.TrimPrefix(name, counters.DeadLetter), ".")
			if sum.DeadLetters[in] == nil {
				sum.DeadLetters[in] = map[string]int64{}
			}
			sum.DeadLetters[in][reason] += v
		case strings.HasPrefix(name, counters.RowsWritten):
			sum.Tables[strings.TrimPrefix(name, counters.RowsWritten)] += v
		case strings.HasPrefix(name, counters.Segment):
			sum.Segments[strings.TrimPrefix(name, counters.Segment)] += v
		case strings.HasPrefix(name, counters.Headline):
			// in sum.Headline
		default:
			sum.Counters[name] += v
		}
	}
	if j.graph.Settings.CLVEnabled {
		sum.CLV = clvSection(j.graph.Settings.CLV, t.CLVModels(), sum.DeadLetters[model.InputCLV])
	}
	return sum
}

// clvSection is the summary's clv section: per currency the model settings and the
// clv_model rows of this run (parameters, fit, and the holdout comparison when the spec has
// a holdout window); currencies whose model could not be fitted are dead letters of
// clv_model (with the reason) and are named here.
func clvSection(spec clv.Spec, rows []tables.CLVModel, failed map[string]int64) map[string]any {
	out := map[string]any{}
	for _, r := range rows {
		c, _ := out[r.Currency].(map[string]any)
		if c == nil {
			c = map[string]any{"time_unit": r.TimeUnit, "calibration_end": value.Day(r.FitDate).String(),
				"horizon_days": spec.HorizonDays, "fit_sample_rate": spec.FitSampleRate}
			out[r.Currency] = c
		}
		if r.Model == "holdout" {
			c["holdout"] = json.RawMessage(r.Params)
			continue
		}
		c[r.Model] = map[string]any{"params": json.RawMessage(r.Params), "log_likelihood": r.LogLikelihood,
			"customers": r.Customers, "converged": r.Converged}
	}
	if n := failed[model.ReasonCLVFit]; n > 0 {
		out["not_fitted"] = fmt.Sprintf("%d currencies: see dead_letters/%s.csv", n, model.InputCLV)
	}
	return out
}

func markFailed(sum *tables.Summary, msg string) {
	sum.OK = false
	sum.Errors = append(sum.Errors, msg)
}

func printSummary(w io.Writer, s *tables.Summary) {
	fmt.Fprintf(w, "\naudiencesync nightly run %s (%s, %s periods) finished in %.1fs\n", s.RunDate, s.Runner, s.Period, s.DurationS)
	printCounts(w, "rows read:", s.RowsRead, "  %-20s %10d\n")
	if len(s.Accounting) > 0 {
		fmt.Fprintln(w, "accounting (rows read = used + not purchases + dead letters):")
		for _, in := range slices.Sorted(maps.Keys(s.Accounting)) {
			fmt.Fprintf(w, "  %-20s %s\n", in, s.Accounting[in])
		}
	}
	fmt.Fprintln(w, "dead letters (see dead_letters/<input>.csv):")
	if len(s.DeadLetters) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, in := range slices.Sorted(maps.Keys(s.DeadLetters)) {
		for _, r := range slices.Sorted(maps.Keys(s.DeadLetters[in])) {
			fmt.Fprintf(w, "  %-20s %-28s %8d\n", in, r, s.DeadLetters[in][r])
		}
	}
	printCounts(w, "tables written:", s.Tables, "  %-20s %10d rows\n")
	if len(s.Segments) > 0 {
		printCounts(w, "segments:", s.Segments, "  %-40s %8d\n")
	}
	if len(s.Audiences) > 0 {
		fmt.Fprintln(w, "audiences (see sync_log; dry-run payloads under dry_run/):")
		printAudiences(w, s.Audiences)
	}
	for _, e := range s.Errors {
		fmt.Fprintln(w, "ERROR:", e)
	}
	for _, cur := range slices.Sorted(maps.Keys(s.Headline)) {
		h := s.Headline[cur]
		fmt.Fprintf(w, "headline (%s): customers %.0f, orders %.0f, revenue %.2f, AOV first %.2f vs repeat %.2f, RPR %.1f%%\n",
			cur, h["customers"], h["orders"], h["revenue"], h["aov_first"], h["aov_repeat"], h["rpr"])
	}
	fmt.Fprintf(w, "outputs: tables in %s, summary %s, report %s\n", s.Outputs["tables"], s.Outputs["summary"], s.Outputs["report"])
}

// printCounts prints a title and one line per name, in name order.
func printCounts(w io.Writer, title string, m map[string]int64, format string) {
	fmt.Fprintln(w, title)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(w, format, k, m[k])
	}
}
