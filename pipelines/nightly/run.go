package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
	"github.com/audiencesync/audiencesync/pipelines/bqio"
	"github.com/audiencesync/audiencesync/pipelines/graph"
	"github.com/audiencesync/audiencesync/sinks/secret/redact"
	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/nightly"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/report"
	"github.com/audiencesync/audiencesync/transforms/tables"
)

// night is one run, in order, and returns the exit code:
//
//  1. lock the state folder and the output, start the run's staging folder (begin);
//  2. run: the compute pipeline, the inputs' accounting, (the delivery phase), the
//     summary, the BigQuery load and the report, all into the staging folder;
//  3. publish the staging folder as the output's current run, or leave it unpublished
//     when the run or its inputs failed;
//  4. release the lock (deferred end).
func night(ctx context.Context, j *job, log *slog.Logger) int {
	rs, code := begin(ctx, j, log)
	if code != 0 {
		return code
	}
	defer rs.end(ctx)
	sum, err := run(ctx, j, log)
	if err != nil {
		log.Error("run failed", "err", err)
		rs.fail(ctx, j, err)
		alert(ctx, log, j.opts.AlertWebhook, j, nil, err)
		return 1
	}
	var out bytes.Buffer
	printSummary(&out, sum)
	os.Stdout.WriteString(redact.String(out.String()))
	if j.inputsFailed {
		// The inputs' accounting failed (a rejection threshold, the identity, an overflow):
		// the run's tables are not published; its summary stays in its own folder.
		for _, e := range sum.Errors {
			fmt.Fprintln(os.Stderr, "nightly: run failed:", redact.String(e))
		}
		fmt.Fprintf(os.Stderr, "nightly: run %s failed and was not published; its summary: %s; the published run is unchanged\n", j.runID, fileio.Join(j.graph.Output, report.SummaryFile))
		alert(ctx, log, j.opts.AlertWebhook, j, sum, nil)
		return 1
	}
	if err := rs.publish(ctx); err != nil {
		log.Error("publish failed", "err", err)
		alert(ctx, log, j.opts.AlertWebhook, j, nil, err)
		return 1
	}
	if !sum.OK {
		for _, e := range sum.Errors {
			fmt.Fprintln(os.Stderr, "nightly: run failed:", redact.String(e))
		}
		alert(ctx, log, j.opts.AlertWebhook, j, sum, nil)
		return 1
	}
	return 0
}

// run computes one night into the run's folder (j.graph.Output) and returns its summary;
// an error means the run failed.
func run(ctx context.Context, j *job, log *slog.Logger) (*tables.Summary, error) {
	start := time.Now()
	out := j.graph.Output
	// The compute pipeline: tables and dead letters (and, until delivery is a phase of its
	// own, the audiences).
	counts, err := compute(ctx, j, log)
	if err != nil || dataflowDryRun() {
		return nil, err
	}
	// The summary (and the report) come from the counters and the run's own tables, each
	// read once: without a report only the summary's few rows are read, and with a BigQuery
	// load the report folds in the rows the load decodes (each table read once for both).
	readTables := report.ReadSummaryTables
	shared := j.opts.Report && j.loadBQ
	if j.opts.Report && !shared {
		readTables = report.ReadTables
	}
	t, err := readTables(ctx, out, j.runDate())
	if err != nil {
		return nil, err
	}
	sum := summarize(j, start, counts, t)
	// Accounting: every row of every input accounted for, no input over its rejection
	// threshold, no sum able to overflow; otherwise the run fails and is not published.
	inputsOK := checkInputs(sum, j.cfg.Inputs)
	j.inputsFailed = !inputsOK

	// Delivery: its own pipeline, from the audience_members table just written; a run
	// whose inputs failed touches no audience.
	if inputsOK {
		if err := deliver(ctx, j, sum, t); err != nil {
			return nil, err
		}
	}

	if err := writeSummary(ctx, out, sum); err != nil {
		return nil, err
	}
	folded := false // the report's tables came with the BigQuery load
	if j.loadBQ && inputsOK {
		// Load jobs from the Parquet the pipeline staged: one per table, each replacing the
		// run date's partition, so a rerun never duplicates a day.
		var each func(rows any)
		if shared {
			each = t.AddRows
		}
		n, err := bqio.WriteTables(ctx, j.cfg.BigQuery, out, j.runDate(), j.opts.BigQuery.ApplySQL, each)
		folded = shared && err == nil
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
	// The runner's buffers are garbage now: collect them before the report allocates, or
	// the report pays for scanning them in GC assists.
	goruntime.GC()
	if shared && !folded {
		// The load did not run or stopped part way: the report reads the tables itself.
		full, err := report.ReadTables(ctx, out, j.runDate())
		if err != nil {
			return nil, err
		}
		full.SetSyncLog(t.SyncLog())
		t = full
	}
	if j.opts.Report {
		// The report keeps its history of headline figures (for "change since the previous
		// run") in the run's state staging, published with the run.
		if err := report.WriteRun(ctx, out, j.reportHistory, sum, t); err != nil {
			log.Error("report not written", "err", err)
			markFailed(sum, "report: "+err.Error())
		} else {
			sum.Outputs["report"] = fileio.Join(out, report.ReportFile)
		}
	}
	sum.DurationS = time.Since(start).Seconds()
	return sum, writeSummary(ctx, out, sum)
}

// compute builds and runs the compute pipeline and returns its counters.
func compute(ctx context.Context, j *job, log *slog.Logger) (map[string]int64, error) {
	if inProcessRunner() {
		// Beam's in-process runner makes a file in the temporary folder and panics when it
		// cannot: say what is wrong instead.
		f, err := os.CreateTemp("", "audiencesync-check-*")
		if err != nil {
			return nil, fmt.Errorf("the temporary folder is not usable (set TMPDIR to a writable folder): %w", err)
		}
		f.Close()
		os.Remove(f.Name())
	}
	g := j.graph
	if parent, on := spillParent(j.opts.SpillDir); on {
		if runnerName() == "dataflow" {
			return nil, fmt.Errorf("--spill_dir=%s: Dataflow's workers cannot see a folder of this machine (leave --spill_dir at auto, which does not spill there)", j.opts.SpillDir)
		}
		if parent != "" {
			if abs, err := filepath.Abs(parent); err == nil {
				parent = abs // the references must name the files wherever a worker runs
			}
		}
		dir, err := nightly.NewSpillDir(parent)
		switch {
		case err == nil:
			defer terminating.add(func() {
				if err := os.RemoveAll(dir); err != nil { // left for a later run to remove
					log.Warn("spill folder not removed", "dir", dir, "err", err)
				}
			})()
			fileio.Checkpoint("spill.created", dir)
			g.Read.SpillDir = dir
		case j.opts.SpillDir == "auto":
			// The spill folder could not be made: the runner shuffles the batches itself (more
			// memory, same results).
			log.Warn("not spilling the shuffled batches", "err", err)
		default:
			return nil, fmt.Errorf("--spill_dir: %w", err)
		}
	}
	p, s := beam.NewPipelineWithRoot()
	if _, err := graph.Build(s, g); err != nil {
		return nil, err
	}
	log.Info("running", "run_date", j.runDate().String(), "today", j.today.String(), "timezone", j.cfg.Metrics.TimeZone,
		"period", j.cfg.Metrics.Period, "inputs", len(j.graph.Sources), "buckets", j.graph.Read.Buckets, "output", j.graph.Output)
	res, err := beamx.RunWithMetrics(ctx, p)
	if err != nil {
		return nil, err
	}
	if res == nil {
		return map[string]int64{}, nil
	}
	return counterValues(res.Metrics().AllMetrics().Counters()), nil
}

// checkInputs fills the summary's per-input accounting from the counters and fails the
// run (ok false, an error per input) when orders.CheckAccounts does.
func checkInputs(sum *tables.Summary, limits orders.Limits) bool {
	all := map[string]int64{}
	for k, v := range sum.Counters {
		all[k] = v
	}
	for in, v := range sum.RowsRead {
		all[orders.CounterRead(in)] = v
	}
	for in, reasons := range sum.DeadLetters {
		for r, v := range reasons {
			all[orders.CounterDead(in, r)] = v
		}
	}
	sum.Accounting = orders.AccountInputs(all, limits)
	err := orders.CheckAccounts(sum.Accounting)
	if err == nil {
		return true
	}
	for _, e := range strings.Split(err.Error(), "\n") {
		markFailed(sum, "inputs: "+e)
	}
	markFailed(sum, "inputs: this run is not published, its audiences are not delivered and it is not loaded into BigQuery")
	return false
}

func writeSummary(ctx context.Context, out string, sum *tables.Summary) error {
	b, _ := json.MarshalIndent(sum, "", "  ")
	if err := fileio.WriteFile(ctx, fileio.Join(out, report.SummaryFile), redact.JSON(b)); err != nil {
		return fmt.Errorf("run summary: %w", err)
	}
	return nil
}

// spillParent resolves --spill_dir: whether to spill, and the folder to make the run's
// spill folder in ("" = the system's temporary folder). auto spills only with the
// in-process runner, whose workers share this machine's files.
func spillParent(v string) (parent string, on bool) {
	switch v {
	case "off", "":
		return "", false
	case "auto":
		return "", inProcessRunner()
	default:
		return v, true
	}
}

// inProcessRunner reports whether the pipeline runs in this process (prism without a job
// server endpoint).
func inProcessRunner() bool {
	if runnerName() != "prism" || dataflowDryRun() {
		return false
	}
	f := flag.Lookup("endpoint")
	return f == nil || f.Value.String() == ""
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
