package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/audiencesync/audiencesync/pipelines/config"
	"github.com/audiencesync/audiencesync/pipelines/graph"
	runpkg "github.com/audiencesync/audiencesync/pipelines/run"
	"github.com/audiencesync/audiencesync/sinks/bigquery"
	"github.com/audiencesync/audiencesync/sinks/delivery"
	"github.com/audiencesync/audiencesync/transforms/clv"
	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/metrics"
	"github.com/audiencesync/audiencesync/transforms/model"
	"github.com/audiencesync/audiencesync/transforms/nightly"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/sources"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// job is everything decided before the graph is built.
type job struct {
	opts   *Options
	cfg    *config.Config
	plan   *delivery.Plan // the audiences × platforms: members in the graph, delivered after it
	graph  graph.Config   // graph.Output and graph.HistoryOut point into the run's staging folder once begin ran
	loadBQ bool           // load the tables into BigQuery after the run
	today  value.Day      // the run's clock date in the shop's time zone, read once

	runID         string // set by begin: the run's outputs are under <output>/runs/<runID>
	reportHistory string // set by begin: the report history in the run's state staging
	inputsFailed  bool   // set by run: the inputs' accounting failed, the run is not published
}

// runDate is the run's date, fixed by plan.
func (j *job) runDate() value.Day { return j.graph.RunDate }

// plan loads the config, checks every input's columns and resolves the run date: all that
// can fail before a runner starts. Errors name the flag or the config field.
func plan(ctx context.Context, o *Options) (*job, error) {
	cfg := config.Default()
	if o.Config != "" {
		var err error
		if cfg, err = config.Load(o.Config); err != nil {
			return nil, err
		}
	}
	if o.Period != "" {
		cfg.Metrics.Period = o.Period
	}
	cal, err := metrics.CalendarFor(cfg.Metrics.Period)
	if err != nil {
		return nil, fmt.Errorf("%s: metrics.period: %w", cfg.File, err)
	}
	bq := &cfg.BigQuery
	for _, f := range []struct{ flag, dst *string }{{&o.BigQuery.Project, &bq.Project}, {&o.BigQuery.Dataset, &bq.Dataset},
		{&o.BigQuery.Location, &bq.Location}, {&o.BigQuery.Endpoint, &bq.Endpoint}} {
		if *f.flag != "" {
			*f.dst = *f.flag
		}
	}
	loadBQ := bq.Project != "" && bq.Dataset != ""
	if loadBQ {
		*bq = bq.Defaults() // Validate wants the defaults filled in (read_streams 4, …)
		if err := bq.Validate("bigquery"); err != nil {
			return nil, err
		}
	}
	var inputs []nightly.Source
	for _, in := range []struct {
		name, val string
	}{{orders.InputOrders, o.Orders}, {orders.InputCustomers, o.Customers}, {orders.InputLines, o.OrderLines}, {orders.InputSpend, o.Spend}} {
		s, err := expand(ctx, *bq, in.name, in.val)
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, s...)
	}
	audPlan, err := cfg.AudiencePlan(o.Audiences == "send" || o.Validate)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.File, err)
	}
	zone, err := orders.LoadZone(cfg.Metrics.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("%s: metrics.timezone: %w", cfg.File, err)
	}
	// The clock is read here, once; everything after gets it as data.
	today := o.Today
	if today == 0 {
		today = zone.Today(time.Now())
	}
	runDate := o.RunDate
	if runDate == 0 {
		var paths []string
		for _, s := range inputs {
			if s.Input == orders.InputOrders {
				paths = append(paths, s.Path)
			}
		}
		if runDate, err = sources.DefaultRunDate(ctx, paths, *bq, zone, today); err != nil {
			return nil, fmt.Errorf("--run_date default: %w", err)
		}
	}
	if err := runpkg.CheckRunDate(runDate, today); err != nil {
		return nil, err
	}
	mcfg := metrics.Config{RunDate: runDate, Calendar: cal, ActivityWindowDays: cfg.Metrics.ActivityWindowDays, CLVLifetimeDays: cfg.Metrics.CLVLifetimeDays}
	mcfg.Defaults()
	var spec clv.Spec
	if cfg.CLV.Enabled {
		if spec, err = cfg.CLV.Resolve("clv", runDate); err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.File, err)
		}
	}
	g := graph.Config{
		RunDate: runDate,
		Sources: inputs,
		Output:  o.Output,
		Read: nightly.ReadConfig{Buckets: o.Buckets, SplitBytes: int64(o.SplitMB) << 20, Today: today,
			TimeZone: cfg.Metrics.TimeZone, Contacts: cfg.Contacts},
		Settings: model.Settings{Metrics: mcfg, RFM: cfg.RFM, KMeans: cfg.KMeans.Config, KMeansEnabled: cfg.KMeans.On(),
			Segments: cfg.Segments, ConfigFile: cfg.File, CLVEnabled: cfg.CLV.Enabled, CLV: spec},
		StateDir: o.StateDir,
	}
	for _, s := range inputs {
		if sources.IsBigQuery(s.Path) {
			g.Read.BigQuery = bq
		}
	}
	if o.Audiences != "off" {
		g.Audiences = audPlan.AudienceTargets()
	}
	return &job{opts: o, cfg: cfg, plan: audPlan, graph: g, loadBQ: loadBQ, today: today}, nil
}

// expand turns one input flag into sources, checking that each file exists and that its
// header binds to the input's schema.
func expand(ctx context.Context, bq bigquery.Config, input, pattern string) ([]nightly.Source, error) {
	if pattern == "" {
		return nil, nil // --orders is checked by Options.check
	}
	if sources.IsBigQuery(pattern) {
		if err := sources.CheckBQColumns(ctx, bq, input, pattern); err != nil {
			return nil, err
		}
		return []nightly.Source{{Input: input, Path: pattern}}, nil
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
	var out []nightly.Source
	for _, p := range paths {
		if err := sources.CheckColumns(ctx, input, p); err != nil {
			return nil, fmt.Errorf("--%s: %w", input, err)
		}
		out = append(out, nightly.Source{Input: input, Path: p})
	}
	return out, nil
}
