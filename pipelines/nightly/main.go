// Command nightly is the audiencesync nightly pipeline: orders and customers in; metric
// tables, segments and audiences out. Flags → Options (options.go) → plan: config, inputs,
// clock and run date (plan.go) → night (run.go): lock and staging folder (runint.go), the
// Beam graph of pipelines/graph, accounting, summary, BigQuery load and report, publish,
// unlock. The default runner is prism, in-process; the same binary runs on Dataflow
// (--runner=dataflow) and on Flink/Spark job servers (--runner=universal --endpoint=…).
//
//	nightly --orders=data/sample/orders.csv --customers=data/sample/customers.csv \
//	        --order_lines=data/sample/order_lines.csv --spend=data/sample/spend.csv \
//	        --config=pipelines/nightly/sample-config.yaml --output=out
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"runtime/pprof"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/audiencesync/audiencesync/sinks/secret/redact"
)

func main() {
	code := realMain()
	if terminating.stopping.Load() {
		select {} // a termination signal's handler is cleaning up: its exit code is the run's
	}
	os.Exit(code)
}

// realMain returns the exit code, so that deferred work (the CPU profile) completes.
func realMain() int {
	setMemoryDefaults()
	flag.Usage = usage
	helpBeam := flag.Bool("help_beam", false, "list every flag, Beam's included")
	opts := bindFlags(flag.CommandLine) // Beam's own flags live on the same command line
	flag.Parse()
	if *helpBeam {
		flag.CommandLine.SetOutput(os.Stderr)
		flag.PrintDefaults()
		return 0
	}
	// The runner logs through slog's default logger, which beam.Init sets up from these
	// variables; keep its chatter to warnings so the run's own progress and summary stay
	// readable (--verbose shows everything).
	beamlog.LogKind = opts.LogFormat
	if !opts.Verbose {
		beamlog.LogLevel = "warn"
	}
	defaultWorkerBinary()
	// A worker process of a portable runner (--worker) runs the SDK harness inside Init and
	// never returns: it gets none of this program's flags, so they are checked after it.
	beam.Init()
	if err := opts.check(); err != nil {
		fmt.Fprintln(os.Stderr, "nightly:", err)
		return 2
	}
	log := newLogger(opts.LogFormat)
	handleTermination()

	ctx := context.Background()
	if opts.DeliverOnly != "" {
		return deliverOnly(ctx, opts, log)
	}
	j, err := plan(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nightly:", redact.String(err.Error()))
		// A missing input (a late export) fails the night as surely as a failed stage:
		// alert too, with the error (it names files and fields, never contact data).
		alert(ctx, log, opts.AlertWebhook, nil, nil, err)
		return 2
	}
	if opts.Validate {
		fmt.Println("nightly: config, inputs and credentials' presence are valid")
		return 0
	}
	if opts.CPUProfile != "" {
		f, err := os.Create(opts.CPUProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "nightly: --cpuprofile:", err)
			return 2
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if opts.MemProfile != "" {
		stop, err := peakHeapProfile(opts.MemProfile, time.Second)
		if err != nil {
			fmt.Fprintln(os.Stderr, "nightly: --memprofile:", err)
			return 2
		}
		defer stop()
	}
	if dataflowDryRun() {
		// Beam's Dataflow runner builds and prints the job offline and submits nothing:
		// there are no results to summarise and no run to publish.
		if _, err := compute(ctx, j, log); err != nil {
			log.Error("dataflow dry run failed", "err", err)
			return 1
		}
		fmt.Println("nightly: Dataflow job graph built offline (--dry_run); nothing was submitted")
		return 0
	}
	return night(ctx, j, log)
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

func newLogger(format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	// Every line passes the process's redactor: secrets never reach stderr in any encoding.
	if format == "json" {
		return slog.New(redact.NewHandler(slog.NewJSONHandler(os.Stderr, opts)))
	}
	return slog.New(redact.NewHandler(slog.NewTextHandler(os.Stderr, opts)))
}
