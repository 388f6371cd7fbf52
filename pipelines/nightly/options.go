package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/audiencesync/audiencesync/transforms/metrics"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Options are the command line, parsed and checked in one place (bindFlags + check); the
// rest of the driver reads only this struct. Everything here is checked without touching
// a file or the network: inputs, the config file and credentials are checked by plan.
type Options struct {
	Orders, Customers, OrderLines, Spend string // input paths, globs, comma lists or bq:// addresses
	Config                               string // YAML config; "" = defaults
	Output                               string // output folder (local or gs://)
	StateDir                             string // state folder; "" keeps no history
	// RunDate: metrics are computed as of the start of this day; zero = the day after the
	// last order in the data. Flag --run_date (--as_of is the same flag under its old name).
	RunDate value.Day
	// Today is the run's clock date in the shop's time zone; zero = read the clock once
	// (plan). Orders dated more than a day after it are future_date; a run date after
	// tomorrow is refused.
	Today   value.Day
	Period  string // month or week: overrides the config's metrics.period; "" = the config's
	Buckets int
	SplitMB int
	// SpillDir: auto (spill the shuffled batches to a folder of the run under the system's
	// temporary folder when the runner is the in-process prism), off, or a folder every
	// worker can reach to make that run folder in (see nightly/spill.go).
	SpillDir string
	// Audiences: dry_run, send or off.
	Audiences string
	// DeliverOnly is the output folder of an earlier run whose audiences are delivered
	// again, without computing anything; "" runs the night.
	DeliverOnly   string
	ForceRemovals bool
	BreakLock     bool // break a stale run lock on an object store
	BigQuery      BigQueryFlags
	Report        bool
	AlertWebhook  string
	CPUProfile    string
	MemProfile    string
	LogFormat     string // text or json
	Verbose       bool
	Validate      bool
}

// BigQueryFlags override the config's bigquery section.
type BigQueryFlags struct {
	Project, Dataset, Location, Endpoint string
	ApplySQL                             bool
}

// ownFlags lists the flags of this program (the rest are Beam's), in usage order.
var ownFlags = []string{"orders", "customers", "order_lines", "spend", "config", "output", "run_date", "as_of", "today", "period",
	"buckets", "split_mb", "spill_dir", "state_dir", "audiences", "deliver_only", "force_removals", "break_lock", "log_format", "verbose", "validate",
	"bq_project", "bq_dataset", "bq_location", "bq_endpoint", "bq_apply_sql", "report", "alert_webhook", "cpuprofile", "memprofile"}

// bindFlags defines the program's flags on fs; their values land in the returned Options
// when fs is parsed.
func bindFlags(fs *flag.FlagSet) *Options {
	o := &Options{}
	fs.StringVar(&o.Orders, "orders", "", "orders input: CSV or Parquet file, glob, or gs:// path (required)")
	fs.StringVar(&o.Customers, "customers", "", "customers input (contacts, country, consent); without it no audiences are built")
	fs.StringVar(&o.OrderLines, "order_lines", "", "optional order_lines input (categories for smart segments)")
	fs.StringVar(&o.Spend, "spend", "", "optional acquisition spend input (for CAC)")
	fs.StringVar(&o.Config, "config", "", "YAML config (metrics, rfm, kmeans, segments, contacts, audiences, platforms); defaults when empty")
	fs.StringVar(&o.Output, "output", "out", "output folder (local or gs://): each run writes runs/<run id>/ (<table>/part-*.parquet, dead_letters/, run_summary.json, report.html), published at its end as current (gs://: current.json)")
	rd := &dayFlag{dst: &o.RunDate}
	fs.Var(rd.as("run_date"), "run_date", "run date YYYY-MM-DD: metrics are computed as of the start of this day; default the day after the last accepted purchase in the data")
	fs.Var(rd.as("as_of"), "as_of", "the old name of --run_date, still accepted")
	fs.Var(&dayFlag{dst: &o.Today}, "today", "the run's clock date YYYY-MM-DD in metrics.timezone (default: the clock, read once): orders dated more than a day after it are dead-lettered future_date; set it to rerun a past night reproducibly")
	fs.StringVar(&o.Period, "period", "", "period of period_metrics and cohorts: month or week (overrides the config's metrics.period)")
	fs.IntVar(&o.Buckets, "buckets", 64, "hash buckets of customers: the unit of parallel work and of shuffling (64-256)")
	fs.IntVar(&o.SplitMB, "split_mb", 32, "CSV inputs are read in splits of about this many MB")
	fs.StringVar(&o.SpillDir, "spill_dir", "auto", "where the shuffled batches go: auto (with the in-process runner, files in a folder of the run under the system's temporary folder, removed at the end: far less memory than the runner's own buffers; with other runners, the runner), off (always the runner), or a local or mounted folder every worker can reach")
	fs.StringVar(&o.LogFormat, "log_format", "text", "log format: text or json")
	fs.StringVar(&o.StateDir, "state_dir", "state", "state folder (local or gs://): segment history and each audience's last confirmed members (hashes only)")
	fs.StringVar(&o.Audiences, "audiences", "dry_run", "audience sync: dry_run (write the exact payloads under <output>/dry_run/, send nothing), send (sync to the platforms), off")
	fs.StringVar(&o.DeliverOnly, "deliver_only", "", "deliver the audiences of an earlier run again without recomputing anything (e.g. after fixing a credential): PATH is that run's output folder, holding audience_members; sync_log (and dry-run payloads) go to --output")
	fs.BoolVar(&o.ForceRemovals, "force_removals", false, "let an audience sync remove more than its max_remove_share (default 50%) of the audience")
	fs.BoolVar(&o.BreakLock, "break_lock", false, "break a stale run lock on an object store (one whose holder stopped refreshing it; check that run is gone first)")
	fs.StringVar(&o.BigQuery.Project, "bq_project", "", "BigQuery project to load the metric tables into (with --bq_dataset; Application Default Credentials)")
	fs.StringVar(&o.BigQuery.Dataset, "bq_dataset", "", "BigQuery dataset of the metric tables (created when missing)")
	fs.StringVar(&o.BigQuery.Location, "bq_location", "", "BigQuery location of a new dataset, e.g. EU")
	fs.StringVar(&o.BigQuery.Endpoint, "bq_endpoint", "", "BigQuery API endpoint override (an emulator in tests); no authentication then")
	fs.BoolVar(&o.BigQuery.ApplySQL, "bq_apply_sql", false, "also create/update the tables' DDL and the BI views in sql/ before loading")
	fs.BoolVar(&o.Report, "report", true, "write report.html after the run")
	fs.StringVar(&o.AlertWebhook, "alert_webhook", "", "URL to POST a JSON alert to when the run fails (run date, errors, summary path; no contact data)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the whole run (in-process runners) to this file")
	fs.StringVar(&o.MemProfile, "memprofile", "", "write a heap profile taken when the live heap peaked (checked every second; in-process runners) to this file")
	fs.BoolVar(&o.Verbose, "verbose", false, "also show the runner's info logs")
	fs.BoolVar(&o.Validate, "validate", false, "check the config, inputs' columns and credentials' presence, then exit without running")
	return o
}

// dayFlag is a YYYY-MM-DD flag. As --run_date and its alias --as_of it is one value set by
// either name (as), and giving both with different dates is an error.
type dayFlag struct {
	dst  *value.Day
	set  string // the name that set it
	text string
}

func (f *dayFlag) String() string {
	if f == nil {
		return ""
	}
	return f.text
}

func (f *dayFlag) Set(s string) error { return dayFlagName{f, ""}.Set(s) }

type dayFlagName struct {
	f    *dayFlag
	name string
}

func (f *dayFlag) as(name string) flag.Value { return dayFlagName{f, name} }

func (n dayFlagName) String() string {
	if n.f == nil {
		return ""
	}
	return n.f.text
}

func (n dayFlagName) Set(s string) error {
	d, err := value.ParseDay(s)
	if err != nil {
		return fmt.Errorf("want YYYY-MM-DD: %w", err)
	}
	if n.f.set != "" && n.f.set != n.name && d != *n.f.dst {
		return fmt.Errorf("--%s=%s and --%s=%s disagree (--as_of is the old name of --run_date)", n.f.set, n.f.text, n.name, s)
	}
	*n.f.dst, n.f.set, n.f.text = d, n.name, s
	return nil
}

// check validates the options that need no I/O; each error names its flag.
func (o *Options) check() error {
	var errs []error
	if o.Orders == "" && o.DeliverOnly == "" {
		errs = append(errs, errors.New("--orders is required"))
	}
	if o.DeliverOnly != "" && o.Audiences == "off" {
		errs = append(errs, errors.New("--deliver_only needs --audiences=dry_run or send, not off"))
	}
	if o.Output == "" {
		errs = append(errs, errors.New("--output: empty"))
	}
	if o.Period != "" {
		if _, err := metrics.CalendarFor(o.Period); err != nil {
			errs = append(errs, fmt.Errorf("--period: %q (want month or week)", o.Period))
		}
	}
	if o.Buckets < 1 || o.Buckets > 4096 {
		errs = append(errs, fmt.Errorf("--buckets: %d (want 1..4096)", o.Buckets))
	}
	if o.SplitMB < 1 {
		errs = append(errs, fmt.Errorf("--split_mb: %d (want at least 1)", o.SplitMB))
	}
	if strings.Contains(o.SpillDir, "://") {
		errs = append(errs, fmt.Errorf("--spill_dir: %q: a local or mounted folder, auto or off (object stores are not supported)", o.SpillDir))
	}
	switch o.Audiences {
	case "dry_run", "send", "off":
	default:
		errs = append(errs, fmt.Errorf("--audiences: %q (want dry_run, send or off)", o.Audiences))
	}
	if o.LogFormat != "text" && o.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log_format: %q (want text or json)", o.LogFormat))
	}
	return errors.Join(errs...)
}

// parseArgs parses args (without the program name) into Options; for tests and for main.
func parseArgs(fs *flag.FlagSet, args []string) (*Options, error) {
	o := bindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q (flags are --name=value)", fs.Args())
	}
	return o, o.check()
}
