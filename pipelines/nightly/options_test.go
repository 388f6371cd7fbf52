package main

import (
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/audiencesync/audiencesync/transforms/value"
)

func parse(args ...string) (*Options, error) {
	fs := flag.NewFlagSet("nightly", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return parseArgs(fs, args)
}

// Defaults as documented in the usage text and the README.
func TestOptionsDefaults(t *testing.T) {
	o, err := parse("--orders=o.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := &Options{Orders: "o.csv", Output: "out", StateDir: "state", Buckets: 64, SplitMB: 32, SpillDir: "auto",
		Audiences: "dry_run", Report: true, LogFormat: "text"}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("defaults\n got %+v\nwant %+v", o, want)
	}
}

// Each flag lands in its field.
func TestOptionsEachFlag(t *testing.T) {
	day := value.DayFromDate(2024, time.July, 1)
	for _, c := range []struct {
		arg  string
		want func(o *Options) bool
	}{
		{"--customers=c.csv", func(o *Options) bool { return o.Customers == "c.csv" }},
		{"--order_lines=l.csv", func(o *Options) bool { return o.OrderLines == "l.csv" }},
		{"--spend=s.csv", func(o *Options) bool { return o.Spend == "s.csv" }},
		{"--config=c.yaml", func(o *Options) bool { return o.Config == "c.yaml" }},
		{"--output=gs://b/out", func(o *Options) bool { return o.Output == "gs://b/out" }},
		{"--state_dir=", func(o *Options) bool { return o.StateDir == "" }},
		{"--run_date=2024-07-01", func(o *Options) bool { return o.RunDate == day }},
		{"--as_of=2024-07-01", func(o *Options) bool { return o.RunDate == day }},
		{"--today=2024-07-01", func(o *Options) bool { return o.Today == day }},
		{"--break_lock", func(o *Options) bool { return o.BreakLock }},
		{"--period=week", func(o *Options) bool { return o.Period == "week" }},
		{"--buckets=256", func(o *Options) bool { return o.Buckets == 256 }},
		{"--split_mb=8", func(o *Options) bool { return o.SplitMB == 8 }},
		{"--audiences=off", func(o *Options) bool { return o.Audiences == "off" }},
		{"--audiences=send", func(o *Options) bool { return o.Audiences == "send" }},
		{"--force_removals", func(o *Options) bool { return o.ForceRemovals }},
		{"--bq_project=p", func(o *Options) bool { return o.BigQuery.Project == "p" }},
		{"--bq_dataset=d", func(o *Options) bool { return o.BigQuery.Dataset == "d" }},
		{"--bq_location=EU", func(o *Options) bool { return o.BigQuery.Location == "EU" }},
		{"--bq_endpoint=http://127.0.0.1:9050", func(o *Options) bool { return o.BigQuery.Endpoint == "http://127.0.0.1:9050" }},
		{"--bq_apply_sql", func(o *Options) bool { return o.BigQuery.ApplySQL }},
		{"--report=false", func(o *Options) bool { return !o.Report }},
		{"--alert_webhook=http://h/x", func(o *Options) bool { return o.AlertWebhook == "http://h/x" }},
		{"--cpuprofile=cpu.prof", func(o *Options) bool { return o.CPUProfile == "cpu.prof" }},
		{"--memprofile=mem.prof", func(o *Options) bool { return o.MemProfile == "mem.prof" }},
		{"--spill_dir=/mnt/shared", func(o *Options) bool { return o.SpillDir == "/mnt/shared" }},
		{"--spill_dir=off", func(o *Options) bool { return o.SpillDir == "off" }},
		{"--log_format=json", func(o *Options) bool { return o.LogFormat == "json" }},
		{"--verbose", func(o *Options) bool { return o.Verbose }},
		{"--validate", func(o *Options) bool { return o.Validate }},
	} {
		o, err := parse("--orders=o.csv", c.arg)
		if err != nil {
			t.Errorf("%s: %v", c.arg, err)
			continue
		}
		if !c.want(o) {
			t.Errorf("%s: options %+v", c.arg, o)
		}
	}
	// Every flag of ownFlags is tested above (or is --orders).
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	bindFlags(fs)
	n := 0
	fs.VisitAll(func(f *flag.Flag) { n++ })
	if n != len(ownFlags) {
		t.Errorf("%d flags defined, ownFlags lists %d", n, len(ownFlags))
	}
}

// Bad values fail with an error that names the flag.
func TestOptionsErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--orders is required"},
		{[]string{"--orders=o", "--buckets=0"}, "--buckets: 0"},
		{[]string{"--orders=o", "--buckets=5000"}, "--buckets: 5000"},
		{[]string{"--orders=o", "--split_mb=0"}, "--split_mb: 0"},
		{[]string{"--orders=o", "--spill_dir=gs://b/spill"}, `--spill_dir: "gs://b/spill"`},
		{[]string{"--orders=o", "--period=day"}, `--period: "day"`},
		{[]string{"--orders=o", "--audiences=yes"}, `--audiences: "yes"`},
		{[]string{"--orders=o", "--log_format=xml"}, `--log_format: "xml"`},
		{[]string{"--orders=o", "--output="}, "--output: empty"},
		{[]string{"--orders=o", "--run_date=2024-13-01"}, "-run_date"},
		{[]string{"--orders=o", "--as_of=yesterday"}, "-as_of"},
		{[]string{"--orders=o", "--run_date=2024-07-01", "--as_of=2024-07-02"}, "--run_date=2024-07-01 and --as_of=2024-07-02 disagree"},
		{[]string{"--orders=o", "--buckets=x"}, "-buckets"},
		{[]string{"--orders=o", "--today=2024-02-30"}, "-today"},
		{[]string{"--orders=o", "extra"}, "unexpected arguments"},
	} {
		_, err := parse(c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one containing %q", c.args, err, c.want)
		}
	}
	// The same date under both names is fine.
	if _, err := parse("--orders=o", "--as_of=2024-07-01", "--run_date=2024-07-01"); err != nil {
		t.Errorf("the same date as --as_of and --run_date: %v", err)
	}
	// Several problems are all reported.
	_, err := parse("--buckets=0", "--audiences=x")
	for _, w := range []string{"--orders", "--buckets", "--audiences"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not name %s", err, w)
		}
	}
}

// --spill_dir: auto spills with the in-process runner only; off never; a folder always.
func TestSpillParent(t *testing.T) {
	for _, c := range []struct {
		v      string
		parent string
		on     bool
	}{{"auto", "", true}, {"off", "", false}, {"", "", false}, {"/mnt/shared", "/mnt/shared", true}} {
		parent, on := spillParent(c.v)
		if parent != c.parent || on != c.on {
			t.Errorf("spillParent(%q) = %q, %v; want %q, %v (the test runs with the default runner, in-process prism)", c.v, parent, on, c.parent, c.on)
		}
	}
}
