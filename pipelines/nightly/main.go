// Command nightly is the audiencesync nightly pipeline: orders and customers in; metric
// tables, segments and audiences out. Flags → validated config → Beam graph → run → run
// summary. The default runner is prism, in-process; the same binary runs on Dataflow
// (--runner=dataflow) and on Flink/Spark job servers (--runner=universal --endpoint=…).
//
//	nightly --orders=data/sample/orders.csv --customers=data/sample/customers.csv \
//	        --order_lines=data/sample/order_lines.csv --spend=data/sample/spend.csv \
//	        --config=pipelines/nightly/sample-config.yaml --output=out
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beammetrics "github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
	"github.com/audiencesync/audiencesync/pipelines/bqio"
	"github.com/audiencesync/audiencesync/pipelines/config"
	"github.com/audiencesync/audiencesync/pipelines/graph"
	"github.com/audiencesync/audiencesync/sinks/bigquery"
	"github.com/audiencesync/audiencesync/sinks/delivery"
	"github.com/audiencesync/audiencesync/sinks/secret/redact"
	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/audiencesync/audiencesync/transforms/clv"
	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/metrics"
	"github.com/audiencesync/audiencesync/transforms/nightly"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/report"
	"github.com/audiencesync/audiencesync/transforms/sources"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

var (
	ordersFlag    = flag.String("orders", "", "orders input: CSV or Parquet file, glob, or gs:// path (required)")
	customersFlag = flag.String("customers", "", "customers input (contacts, country, consent); without it no audiences are built")
	linesFlag     = flag.String("order_lines", "", "optional order_lines input (categories for smart segments)")
	spendFlag     = flag.String("spend", "", "optional acquisition spend input (for CAC)")
	configFlag    = flag.String("config", "", "YAML config (metrics, rfm, kmeans, segments, contacts, audiences, platforms); defaults when empty")
	outputFlag    = flag.String("output", "out", "output folder (local or gs://): each run writes runs/<run id>/ (<table>/part-*.parquet, dead_letters/, run_summary.json, report.html), published at its end as current (gs://: current.json)")
	asOfFlag      = flag.String("as_of", "", "run date YYYY-MM-DD: metrics are computed as of the start of this day; default the day after the last accepted purchase in the data")
	todayFlag     = flag.String("today", "", "the run's clock date YYYY-MM-DD in metrics.timezone (default: the clock, read once): orders dated more than a day after it are dead-lettered future_date; set it to rerun a past night reproducibly")
	periodFlag    = flag.String("period", "", "period of period_metrics and cohorts: month or week (overrides the config's metrics.period)")
	bucketsFlag   = flag.Int("buckets", 64, "hash buckets of customers: the unit of parallel work and of shuffling (64-256)")
	splitMBFlag   = flag.Int("split_mb", 32, "CSV inputs are read in splits of about this many MB")
	logFormatFlag = flag.String("log_format", "text", "log format: text or json")
	stateDirFlag  = flag.String("state_dir", "state", "state folder (local or gs://): segment history and each audience's last confirmed members (hashes only)")
	audiencesFlag = flag.String("audiences", "dry_run", "audience sync: dry_run (write the exact payloads under <output>/dry_run/, send nothing), send (sync to the platforms), off")
	forceFlag     = flag.Bool("force_removals", false, "let an audience sync remove more than its max_remove_share (default 50%) of the audience")
	bqProject     = flag.String("bq_project", "", "BigQuery project to load the metric tables into (with --bq_dataset; Application Default Credentials)")
	bqDataset     = flag.String("bq_dataset", "", "BigQuery dataset of the metric tables (created when missing)")
	bqLocation    = flag.String("bq_location", "", "BigQuery location of a new dataset, e.g. EU")
	bqEndpoint    = flag.String("bq_endpoint", "", "BigQuery API endpoint override (an emulator in tests); no authentication then")
	bqApplySQL    = flag.Bool("bq_apply_sql", false, "also create/update the tables' DDL and the BI views in sql/ before loading")
	reportFlag    = flag.Bool("report", true, "write report.html after the run")
	alertWebhook  = flag.String("alert_webhook", "", "URL to POST a JSON alert to when the run fails (run date, errors, summary path; no contact data)")
	cpuProfile    = flag.String("cpuprofile", "", "write a CPU profile of the whole run (in-process runners) to this file")
	verboseFlag   = flag.Bool("verbose", false, "also show the runner's info logs")
	validateFlag  = flag.Bool("validate", false, "check the config, inputs' columns and credentials' presence, then exit without running")
)

func usage() {
	fmt.Fprintf(os.Stderr, `nightly: the audiencesync nightly pipeline.

Reads orders (and customers, order lines and acquisition spend) from CSV, Parquet or
BigQuery; computes the repeat-sales metrics (AOV first vs repeat, CAC, LTV/CLV, CRR and
churn, RPR, cohorts), RFM and k-means segments, smart rule segments and predicted CLV;
hashes contacts and syncs audiences to Yandex, VK, Meta and Google (a dry run by default);
writes the tables as Parquet under --output (and to BigQuery with --bq_project and
--bq_dataset), dead letters, run_summary.json and report.html. Runs on the in-process
prism runner by default.

Usage:
  nightly --orders=PATH [--customers=PATH] [--order_lines=PATH] [--spend=PATH] [--config=FILE] [flags]

PATH is a CSV or Parquet file, a glob or comma-separated list of them (local or gs://), or
bq://PROJECT.DATASET.TABLE or bq://PROJECT?query=URL-ENCODED-SQL.

Flags of audiencesync:
`)
	own := map[string]bool{}
	for _, n := range []string{"orders", "customers", "order_lines", "spend", "config", "output", "as_of", "today", "period", "buckets", "split_mb", "state_dir", "audiences", "deliver_only", "force_removals", "break_lock", "log_format", "verbose", "validate", "bq_project", "bq_dataset", "bq_location", "bq_endpoint", "bq_apply_sql", "report", "alert_webhook", "cpuprofile"} {
		own[n] = true
	}
	flag.VisitAll(func(f *flag.Flag) {
		if own[f.Name] {
			fmt.Fprintf(os.Stderr, "  --%s (default %q)\n      %s\n", f.Name, f.DefValue, f.Usage)
		}
	})
	fmt.Fprintf(os.Stderr, `
Runner flags (Apache Beam):
  --runner        prism (default, in-process), universal (with --endpoint=HOST:PORT and
                  --environment_type=LOOPBACK|DOCKER|PROCESS), dataflow (with --project,
                  --region, --staging_location, --temp_location)
  Run with --help_beam to list every Beam flag.

Outputs of a run go to <output>/runs/<run id>/ and are published at its end as
<output>/current (gs://: <output>/current.json); see README "Operations".

Exit codes: 0 ok; 1 the run failed (not published) or a sink, the report or the BigQuery
load failed (published; see run_summary.json); 2 bad flags or config; 3 another run holds
the lock of the state folder or output; 4 a stale lock on an object store (--break_lock).
`)
}

func main() { os.Exit(realMain()) }

// realMain returns the exit code, so that deferred work (the CPU profile) completes.
func realMain() int {
	if os.Getenv("GOGC") == "" {
		// The in-process runner holds every shuffled batch in memory until the fit step's
		// barrier; collecting at 50% growth instead of 100% keeps peak RSS ~40% lower for
		// no measurable time (make bench). GOGC in the environment overrides.
		debug.SetGCPercent(50)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// A soft limit at a third of the machine's memory (three quarters of a container's
		// memory limit): below it nothing changes; near it
		// the collector runs more often instead of letting garbage double the heap (10M
		// orders: 10.7 GB peak without, ~7.5 GB with it on 24 GB; see README). GOMEMLIMIT
		// in the environment overrides; it never fails a run, it only trades CPU.
		if lim := cgroupMemoryLimit(); lim > 0 {
			// In a container with a memory limit: stay under it with room for the runtime.
			debug.SetMemoryLimit(lim / 4 * 3)
		} else if mem := physicalMemory(); mem > 0 {
			debug.SetMemoryLimit(mem / 3)
		}
	}
	flag.Usage = usage
	helpBeam := flag.Bool("help_beam", false, "list every flag, Beam's included")
	flag.Parse()
	if *helpBeam {
		flag.CommandLine.SetOutput(os.Stderr)
		flag.PrintDefaults()
		return 0
	}
	if *logFormatFlag != "text" && *logFormatFlag != "json" {
		fmt.Fprintf(os.Stderr, "nightly: --log_format: %q (want text or json)\n", *logFormatFlag)
		return 2
	}
	// The runner logs through slog's default logger, which beam.Init sets up from these
	// variables; keep its chatter to warnings so the run's own progress and summary stay
	// readable (--verbose shows everything).
	beamlog.LogKind = *logFormatFlag
	if !*verboseFlag {
		beamlog.LogLevel = "warn"
	}
	defaultWorkerBinary()
	beam.Init()
	log := newLogger(*logFormatFlag, slog.LevelInfo)

	ctx := context.Background()
	if *deliverOnlyFlag != "" {
		return deliverOnly(ctx, log)
	}
	job, err := prepare(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nightly:", redact.String(err.Error()))
		// A missing input (a late export) fails the night as surely as a failed stage:
		// alert too, with the error (it names files and fields, never contact data).
		alert(ctx, log, nil, nil, err)
		return 2
	}
	if *validateFlag {
		fmt.Println("nightly: config, inputs and credentials' presence are valid")
		return 0
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "nightly: --cpuprofile:", err)
			return 2
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if dataflowDryRun() {
		// Beam's Dataflow runner builds and prints the job offline and submits nothing:
		// there are no results to summarise.
		if _, err := run(ctx, job, log); err != nil {
			log.Error("dataflow dry run failed", "err", err)
			return 1
		}
		fmt.Println("nightly: Dataflow job graph built offline (--dry_run); nothing was submitted")
		return 0
	}
	rs, code := begin(ctx, job, log)
	if code != 0 {
		return code
	}
	defer rs.end(ctx)
	sum, err := run(ctx, job, log)
	if err != nil {
		log.Error("run failed", "err", err)
		rs.fail(ctx, job, err)
		alert(ctx, log, job, nil, err)
		return 1
	}
	var out bytes.Buffer
	printSummary(&out, sum)
	os.Stdout.WriteString(redact.String(out.String()))
	if job.inputsFailed {
		// The inputs' accounting failed (a rejection threshold, the identity, an overflow):
		// the run's tables are not published; its summary stays in its own folder.
		for _, e := range sum.Errors {
			fmt.Fprintln(os.Stderr, "nightly: run failed:", redact.String(e))
		}
		fmt.Fprintf(os.Stderr, "nightly: run %s failed and was not published; its summary: %s; the published run is unchanged\n", job.runID, fileio.Join(job.output, "run_summary.json"))
		alert(ctx, log, job, sum, nil)
		return 1
	}
	if err := rs.publish(ctx); err != nil {
		log.Error("publish failed", "err", err)
		alert(ctx, log, job, nil, err)
		return 1
	}
	if !sum.OK {
		for _, e := range sum.Errors {
			fmt.Fprintln(os.Stderr, "nightly: run failed:", redact.String(e))
		}
		alert(ctx, log, job, sum, nil)
		return 1
	}
	return 0
}

// dataflowDryRun reports whether Beam's Dataflow runner was asked for an offline dry run.
func dataflowDryRun() bool {
	f := flag.Lookup("dry_run")
	return f != nil && f.Value.String() == "true" && runnerName() == "dataflow"
}

// defaultWorkerBinary makes a static linux/amd64 build its own worker binary on remote
// runners: without --worker_binary, Beam would try to `go build` the pipeline from source,
// which a flex-template launcher has neither the source nor a Go toolchain for.
func defaultWorkerBinary() {
	f := flag.Lookup("worker_binary")
	if f == nil || f.Value.String() != "" || runnerName() == "prism" || runnerName() == "direct" {
		return
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok || goruntime.GOOS != "linux" || goruntime.GOARCH != "amd64" {
		return
	}
	for _, s := range bi.Settings {
		if s.Key == "CGO_ENABLED" && s.Value == "0" {
			if exe, err := os.Executable(); err == nil {
				flag.Set("worker_binary", exe)
			}
			return
		}
	}
}

// alert posts a short JSON message to --alert_webhook. It holds the run date, the errors
// (which never contain contact data: readers and sinks redact) and where the summary is.
func alert(ctx context.Context, log *slog.Logger, j *job, sum *tables.Summary, runErr error) {
	if *alertWebhook == "" {
		return
	}
	msg := map[string]any{"pipeline": "audiencesync-nightly", "ok": false}
	if j != nil {
		msg["run_date"] = j.asOf.String()
		msg["summary"] = fileio.Join(j.output, "run_summary.json")
	}
	if runErr != nil {
		msg["errors"] = []string{runErr.Error()}
	} else if sum != nil {
		msg["errors"] = sum.Errors
	}
	b, _ := json.Marshal(msg)
	b = redact.JSON(b)
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, *alertWebhook, bytes.NewReader(b))
	if err != nil {
		log.Error("alert webhook", "err", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Error("alert webhook not delivered", "err", err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		log.Error("alert webhook refused", "status", resp.StatusCode)
	}
}

// job is everything decided before the graph is built.
type job struct {
	loadBQ  bool // load the tables into BigQuery after the run
	cfg     *config.Config
	plan    *delivery.Plan // the audiences × platforms; delivered after the compute pipeline
	opts    graph.Options
	asOf    value.Day
	today   value.Day
	output  string
	started time.Time

	runID         string // set by begin: the run's outputs are under <output>/runs/<runID>
	reportHistory string // set by begin: the report history in the run's state staging
	inputsFailed  bool   // set by run: the inputs' accounting failed, the run is not published
}

func expand(ctx context.Context, bq bigquery.Config, input, pattern string, required bool) ([]graph.Source, error) {
	if pattern == "" {
		if required {
			return nil, fmt.Errorf("--%s is required", input)
		}
		return nil, nil
	}
	if sources.IsBigQuery(pattern) {
		if err := sources.CheckBQColumns(ctx, bq, input, pattern); err != nil {
			return nil, err
		}
		return []graph.Source{{Input: input, Path: pattern}}, nil
	}
	var paths []string
	for _, p := range strings.Split(pattern, ",") {
		m, err := fileio.Glob(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("--%s %s: %w", input, p, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("--%s %s: no such file", input, p)
		}
		paths = append(paths, m...)
	}
	var out []graph.Source
	for _, p := range paths {
		if err := sources.CheckColumns(ctx, input, p); err != nil {
			return nil, fmt.Errorf("--%s: %w", input, err)
		}
		out = append(out, graph.Source{Input: input, Path: p})
	}
	return out, nil
}

func prepare(ctx context.Context) (*job, error) {
	cfg := config.Default()
	if *configFlag != "" {
		var err error
		if cfg, err = config.Load(*configFlag); err != nil {
			return nil, err
		}
	}
	if *periodFlag != "" {
		cfg.Metrics.Period = *periodFlag
	}
	cal, err := metrics.CalendarFor(cfg.Metrics.Period)
	if err != nil {
		return nil, fmt.Errorf("--period: %w", err)
	}
	if *bucketsFlag < 1 || *bucketsFlag > 4096 {
		return nil, fmt.Errorf("--buckets: %d (want 1..4096)", *bucketsFlag)
	}
	if *bqProject != "" {
		cfg.BigQuery.Project = *bqProject
	}
	if *bqDataset != "" {
		cfg.BigQuery.Dataset = *bqDataset
	}
	if *bqLocation != "" {
		cfg.BigQuery.Location = *bqLocation
	}
	if *bqEndpoint != "" {
		cfg.BigQuery.Endpoint = *bqEndpoint
	}
	loadBQ := cfg.BigQuery.Project != "" && cfg.BigQuery.Dataset != ""
	if loadBQ {
		if err := cfg.BigQuery.Validate("bigquery"); err != nil {
			return nil, err
		}
	}
	var inputs []graph.Source
	for _, in := range []struct {
		name, val string
		req       bool
	}{{orders.InputOrders, *ordersFlag, true}, {orders.InputCustomers, *customersFlag, false}, {orders.InputLines, *linesFlag, false}, {orders.InputSpend, *spendFlag, false}} {
		s, err := expand(ctx, cfg.BigQuery, in.name, in.val, in.req)
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, s...)
	}
	switch *audiencesFlag {
	case "dry_run", "send", "off":
	default:
		return nil, fmt.Errorf("--audiences: %q (want dry_run, send or off)", *audiencesFlag)
	}
	plan, err := cfg.AudiencePlan(*audiencesFlag == "send" || *validateFlag)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.File, err)
	}
	zone, err := orders.LoadZone(cfg.Metrics.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("%s: metrics.timezone: %w", cfg.File, err)
	}
	// The clock is read here, once; everything after gets it as data.
	today := zone.Today(time.Now())
	if *todayFlag != "" {
		if today, err = value.ParseDay(*todayFlag); err != nil {
			return nil, fmt.Errorf("--today: %w", err)
		}
	}
	var asOf value.Day
	if *asOfFlag != "" {
		if asOf, err = value.ParseDay(*asOfFlag); err != nil {
			return nil, fmt.Errorf("--as_of: %w", err)
		}
	} else {
		var paths []string
		for _, s := range inputs {
			if s.Input == orders.InputOrders {
				paths = append(paths, s.Path)
			}
		}
		if asOf, err = sources.DefaultRunDate(ctx, paths, cfg.BigQuery, zone, today); err != nil {
			return nil, fmt.Errorf("--as_of default: %w", err)
		}
	}
	if err := checkRunDate(asOf, today); err != nil {
		return nil, err
	}
	mcfg := metrics.Config{AsOf: asOf, Calendar: cal, ActivityWindowDays: cfg.Metrics.ActivityWindowDays, CLVLifetimeDays: cfg.Metrics.CLVLifetimeDays}
	mcfg.Defaults()
	var spec clv.Spec
	if cfg.CLV.Enabled {
		if spec, err = cfg.CLV.Resolve("clv", asOf); err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.File, err)
		}
	}
	bqJSON, err := json.Marshal(cfg.BigQuery)
	if err != nil {
		return nil, err
	}
	var targets []audience.Target
	if *audiencesFlag != "off" {
		targets = plan.AudienceTargets()
	}
	return &job{
		loadBQ: loadBQ,
		cfg:    cfg,
		plan:   plan,
		asOf:   asOf,
		today:  today,
		output: *outputFlag,
		opts: graph.Options{
			Sources:    inputs,
			Output:     *outputFlag,
			Buckets:    *bucketsFlag,
			SplitBytes: int64(*splitMBFlag) << 20,
			TimeZone:   cfg.Metrics.TimeZone,
			Today:      today,
			Settings: nightly.Settings{Metrics: mcfg, RFM: cfg.RFM, KMeans: cfg.KMeans.Config, KMeansEnabled: cfg.KMeans.On(),
				Segments: cfg.Segments, ConfigFile: cfg.File, CLVEnabled: cfg.CLV.Enabled, CLV: spec},
			Contacts:  cfg.Contacts,
			StateDir:  *stateDirFlag,
			Audiences: targets,
			BigQuery:  string(bqJSON),
		},
	}, nil
}

func run(ctx context.Context, j *job, log *slog.Logger) (*tables.Summary, error) {
	start := time.Now()
	p, s := beam.NewPipelineWithRoot()
	if _, err := graph.Build(s, j.opts); err != nil {
		return nil, err
	}
	log.Info("running", "as_of", j.asOf.String(), "today", j.today.String(), "timezone", j.cfg.Metrics.TimeZone, "period", j.cfg.Metrics.Period, "inputs", len(j.opts.Sources), "buckets", j.opts.Buckets, "output", j.output)
	res, err := beamx.RunWithMetrics(ctx, p)
	if err != nil {
		return nil, err
	}
	if dataflowDryRun() {
		return nil, nil
	}
	sum := &tables.Summary{
		RunID:       j.runID,
		RunDate:     j.asOf.String(),
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
		Outputs:     map[string]string{"tables": j.output, "dead_letters": fileio.Join(j.output, "dead_letters"), "summary": fileio.Join(j.output, "run_summary.json")},
	}
	if res != nil {
		fillCounters(sum, res.Metrics().AllMetrics().Counters())
	}
	// Every row of every input accounted for, no input over its rejection threshold, no
	// sum able to overflow: otherwise the run fails. (Tables are written by now; until the
	// staged publish lands the failed run's tables stay in --output, marked by ok: false,
	// and are not loaded into BigQuery.)
	inputsOK := checkInputs(sum, j.cfg.Inputs)
	j.inputsFailed = !inputsOK
	if hb, err := fileio.ReadFile(ctx, fileio.Join(j.output, graph.HeadlineFile)); err == nil {
		var h map[string]map[string]float64
		if json.Unmarshal(hb, &h) == nil {
			sum.Headline = h
		}
	}
	if !j.opts.Settings.CLVEnabled {
		// nothing: a CLV report left by an earlier run must not show up in this summary
	} else if cb, err := fileio.ReadFile(ctx, fileio.Join(j.output, graph.CLVFile)); err == nil {
		var c map[string]any
		if json.Unmarshal(cb, &c) == nil {
			sum.CLV = c
		}
	}
	for _, f := range []string{graph.HeadlineFile, graph.CLVFile} {
		fileio.RemoveGlob(ctx, fileio.Join(j.output, f))
	}
	// The delivery phase: its own pipeline, from the audience_members table just written.
	if err := deliver(ctx, j, sum); err != nil {
		return nil, err
	}
	sum.DurationS = time.Since(start).Seconds()
	b, _ := json.MarshalIndent(sum, "", "  ")
	if err := fileio.WriteFile(ctx, fileio.Join(j.output, "run_summary.json"), redact.JSON(b)); err != nil {
		return nil, err
	}
	if j.loadBQ && inputsOK {
		// Load jobs from the Parquet the pipeline staged: one per table, each replacing the
		// run date's partition, so a rerun never duplicates a day.
		n, err := bqio.WriteTables(ctx, j.cfg.BigQuery, j.output, j.asOf, *bqApplySQL)
		if err != nil {
			log.Error("bigquery load failed", "err", err)
			sum.OK = false
			sum.Errors = append(sum.Errors, "bigquery: "+err.Error())
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
	// The report reads the tables and the summary just written. It keeps its history of
	// headline figures (for "change since the previous run") in the state folder, which
	// outlives output folders.
	hist := j.reportHistory // in the run's state staging: published with the run
	if !*reportFlag {
		// no report asked for
	} else if err := report.WriteWithHistory(ctx, j.output, hist); err != nil {
		log.Error("report not written", "err", err)
		sum.OK = false
		sum.Errors = append(sum.Errors, "report: "+err.Error())
	} else {
		sum.Outputs["report"] = fileio.Join(j.output, "report.html")
	}
	b, _ = json.MarshalIndent(sum, "", "  ")
	if err := fileio.WriteFile(ctx, fileio.Join(j.output, "run_summary.json"), redact.JSON(b)); err != nil {
		return nil, err
	}
	return sum, nil
}

// checkInputs fills the summary's per-input accounting from its counters and fails the
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
	sum.OK = false
	for _, e := range strings.Split(err.Error(), "\n") {
		sum.Errors = append(sum.Errors, "inputs: "+e)
	}
	// The run's tables stay unpublished (realMain). Until delivery is its own phase after
	// this check, audiences were already synced with --audiences=send: say so.
	sum.Errors = append(sum.Errors, "inputs: this run is not published and not loaded into BigQuery (with --audiences=send its audiences were already synced before this check)")
	return false
}

func runnerName() string {
	if f := flag.Lookup("runner"); f != nil && f.Value.String() != "" {
		return f.Value.String()
	}
	return "prism"
}

// fillCounters sorts the Beam counters into the summary's sections. Committed values are
// used where the runner reports them (they exclude retried bundles), else attempted.
func fillCounters(sum *tables.Summary, cs []beammetrics.CounterResult) {
	for _, c := range cs {
		if c.Key.Namespace != graph.Namespace {
			continue
		}
		v := c.Committed
		if v == 0 {
			v = c.Attempted
		}
		name := c.Key.Name
		switch {
		case strings.HasPrefix(name, "rows_read."):
			sum.RowsRead[strings.TrimPrefix(name, "rows_read.")] += v
		case strings.HasPrefix(name, "dead_letter."):
			rest := strings.TrimPrefix(name, "dead_letter.")
			in, reason, _ := strings.Cut(rest, ".")
			if sum.DeadLetters[in] == nil {
				sum.DeadLetters[in] = map[string]int64{}
			}
			sum.DeadLetters[in][reason] += v
		case strings.HasPrefix(name, "rows_written."):
			sum.Tables[strings.TrimPrefix(name, "rows_written.")] += v
		case strings.HasPrefix(name, "segment."):
			sum.Segments[strings.TrimPrefix(name, "segment.")] += v
		default:
			sum.Counters[name] += v
		}
	}
}

func printSummary(w io.Writer, s *tables.Summary) {
	fmt.Fprintf(w, "\naudiencesync nightly run %s (%s, %s periods) finished in %.1fs\n", s.RunDate, s.Runner, s.Period, s.DurationS)
	fmt.Fprintln(w, "rows read:")
	for _, k := range slices.Sorted(maps.Keys(s.RowsRead)) {
		fmt.Fprintf(w, "  %-20s %10d\n", k, s.RowsRead[k])
	}
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
	fmt.Fprintln(w, "tables written:")
	for _, k := range slices.Sorted(maps.Keys(s.Tables)) {
		fmt.Fprintf(w, "  %-20s %10d rows\n", k, s.Tables[k])
	}
	if len(s.Segments) > 0 {
		fmt.Fprintln(w, "segments:")
		for _, k := range slices.Sorted(maps.Keys(s.Segments)) {
			fmt.Fprintf(w, "  %-40s %8d\n", k, s.Segments[k])
		}
	}
	if len(s.Audiences) > 0 {
		fmt.Fprintln(w, "audiences (see sync_log; dry-run payloads under dry_run/):")
		printAudiences(w, s.Audiences)
	}
	for _, e := range s.Errors {
		fmt.Fprintln(w, "ERROR:", e)
	}
	for cur, h := range s.Headline {
		fmt.Fprintf(w, "headline (%s): customers %.0f, orders %.0f, revenue %.2f, AOV first %.2f vs repeat %.2f, RPR %.1f%%\n",
			cur, h["customers"], h["orders"], h["revenue"], h["aov_first"], h["aov_repeat"], h["rpr"])
	}
	fmt.Fprintf(w, "outputs: tables in %s, summary %s, report %s\n", s.Outputs["tables"], s.Outputs["summary"], s.Outputs["report"])
}

func newLogger(format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	// Every line passes the process's redactor: secrets never reach stderr in any encoding.
	if format == "json" {
		return slog.New(redact.NewHandler(slog.NewJSONHandler(os.Stderr, opts)))
	}
	return slog.New(redact.NewHandler(slog.NewTextHandler(os.Stderr, opts)))
}

// physicalMemory reads MemTotal from /proc/meminfo (0 where unavailable).
func physicalMemory() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// cgroupMemoryLimit is the container's memory limit (cgroup v2 or v1), 0 when there is none.
func cgroupMemoryLimit() int64 {
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || v <= 0 || v >= 1<<60 { // "max" or the v1 "unlimited" value
			continue
		}
		if mem := physicalMemory(); mem > 0 && v >= mem {
			continue
		}
		return v
	}
	return 0
}
