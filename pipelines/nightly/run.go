package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	goruntime "runtime"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
	"github.com/audiencesync/audiencesync/pipelines/graph"
	"github.com/audiencesync/audiencesync/transforms/bqio"
	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/report"
	"github.com/audiencesync/audiencesync/transforms/tables"
)

// run is one night, in order. Each step that can fail returns or marks the summary; the
// places where the run lock, the staging folder, the accounting check, the delivery phase
// and the publish belong are marked.
func run(ctx context.Context, j *job, log *slog.Logger) (*tables.Summary, error) {
	start := time.Now()
	out := j.graph.Output
	// Lock: take the run lock on the state folder and the output here, release it on return.
	// Staging: the run writes to j.graph.Output; a run-scoped staging folder goes here, and
	// clearOutputs then only clears leftovers of a failed run.
	if err := clearOutputs(ctx, out); err != nil {
		return nil, err
	}

	// The compute pipeline: tables and dead letters (and, until delivery is a phase of its
	// own, the audiences).
	counts, err := compute(ctx, j, log)
	if err != nil || dataflowDryRun() {
		return nil, err
	}

	// Accounting: rows read = used + not purchases + dead letters per input, and the
	// rejection thresholds, are checked here from counts; over a threshold the run fails
	// before anything is published or any audience touched.

	// Delivery: the audience phase (from the staged audience_members) goes here.

	// Summary and report: from the counters and the pipeline's own tables, each read once.
	t, err := report.ReadTables(ctx, out, j.runDate())
	if err != nil {
		return nil, err
	}
	sum := summarize(j, start, counts, t)
	if err := writeSummary(ctx, out, sum); err != nil {
		return nil, err
	}
	// The runner's buffers are garbage now: collect them before the report allocates, or
	// the report pays for scanning them in GC assists.
	goruntime.GC()
	if j.opts.Report {
		// The report keeps its history of headline figures (for "change since the previous
		// run") in the state folder, which outlives output folders.
		hist := ""
		if j.graph.StateDir != "" {
			hist = fileio.Join(j.graph.StateDir, "report_history.json")
		}
		if err := report.WriteRun(ctx, out, hist, sum, t); err != nil {
			log.Error("report not written", "err", err)
			markFailed(sum, "report: "+err.Error())
		} else {
			sum.Outputs["report"] = fileio.Join(out, report.ReportFile)
		}
	}

	// Publish: the staging folder becomes the run's published output here (rename locally,
	// manifest on gs://); the BigQuery load then reads through the published manifest.
	if j.loadBQ {
		// Load jobs from the Parquet the pipeline wrote: one per table, each replacing the
		// run date's partition, so a rerun never duplicates a day.
		n, err := bqio.WriteTables(ctx, j.cfg.BigQuery, out, j.runDate(), j.opts.BigQuery.ApplySQL)
		if err != nil {
			log.Error("bigquery load failed", "err", err)
			markFailed(sum, "bigquery: "+err.Error())
		} else {
			sum.Outputs["bigquery"] = j.cfg.BigQuery.Project + "." + j.cfg.BigQuery.Dataset
			for t, rows := range n {
				sum.Counters["bigquery_rows."+t] = rows
			}
		}
	}
	sum.DurationS = time.Since(start).Seconds()
	return sum, writeSummary(ctx, out, sum)
}

// compute builds and runs the compute pipeline and returns its counters.
func compute(ctx context.Context, j *job, log *slog.Logger) (map[string]int64, error) {
	p, s := beam.NewPipelineWithRoot()
	if _, err := graph.Build(s, j.graph); err != nil {
		return nil, err
	}
	log.Info("running", "run_date", j.runDate().String(), "period", j.cfg.Metrics.Period, "inputs", len(j.graph.Sources),
		"buckets", j.graph.Read.Buckets, "output", j.graph.Output)
	res, err := beamx.RunWithMetrics(ctx, p)
	if err != nil {
		return nil, err
	}
	if res == nil {
		return map[string]int64{}, nil
	}
	return counterValues(res.Metrics().AllMetrics().Counters()), nil
}

// clearOutputs removes the part files and dead letters of a previous run, locally and on
// gs://, so that a run with fewer buckets (or without CLV) leaves nothing stale behind.
func clearOutputs(ctx context.Context, out string) error {
	for _, t := range tables.All {
		if err := fileio.RemoveGlob(ctx, fileio.Join(out, t.Name, "part-*.parquet")); err != nil {
			return err
		}
	}
	return fileio.RemoveGlob(ctx, fileio.Join(out, "dead_letters", "*.csv"))
}

func writeSummary(ctx context.Context, out string, sum *tables.Summary) error {
	b, _ := json.MarshalIndent(sum, "", "  ")
	if err := fileio.WriteFile(ctx, fileio.Join(out, report.SummaryFile), b); err != nil {
		return fmt.Errorf("run summary: %w", err)
	}
	return nil
}

// runnerName is Beam's --runner (prism by default).
func runnerName() string {
	if f := flag.Lookup("runner"); f != nil && f.Value.String() != "" {
		return f.Value.String()
	}
	return "prism"
}

// dataflowDryRun reports whether Beam's Dataflow runner was asked for an offline dry run
// (it builds and prints the job and submits nothing: there are no results to summarise).
func dataflowDryRun() bool {
	f := flag.Lookup("dry_run")
	return f != nil && f.Value.String() == "true" && runnerName() == "dataflow"
}
