// Command lowerbound runs the same nightly computation as pipelines/nightly — read and
// validate the CSVs, hash contacts, join order lines, build per-customer facts, period and
// cohort metrics, RFM, k-means, smart segments, and write the Parquet tables — as one
// plain-Go pass in a single goroutine, with no Beam. `make bench` runs it next to the
// pipeline on the same files: it is the floor the pipeline's wall time is compared with.
//
// -spine reads only the orders and spend inputs (customers and order lines are ignored even
// when given), the work of make bench's spine run with scripts/bench-spine.yaml. -procs
// (default 1) is GOMAXPROCS: the work is one goroutine, but k-means restarts would
// otherwise use every core.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"time"

	"github.com/audiencesync/audiencesync/pipelines/config"
	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/metrics"
	"github.com/audiencesync/audiencesync/transforms/model"
	"github.com/audiencesync/audiencesync/transforms/nightly"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/parquetio"
	"github.com/audiencesync/audiencesync/transforms/score"
	"github.com/audiencesync/audiencesync/transforms/segments"
	"github.com/audiencesync/audiencesync/transforms/sources"
)

func main() {
	ordersF := flag.String("orders", "", "orders CSV")
	customersF := flag.String("customers", "", "customers CSV")
	linesF := flag.String("order_lines", "", "order_lines CSV")
	spendF := flag.String("spend", "", "spend CSV")
	configF := flag.String("config", "", "config YAML")
	out := flag.String("output", "out/lowerbound", "output folder")
	buckets := flag.Int("buckets", 64, "customer buckets (same grouping as the pipeline)")
	spine := flag.Bool("spine", false, "the spine only: read orders and spend, ignore -customers and -order_lines")
	procs := flag.Int("procs", 1, "GOMAXPROCS (1: one core, as a single plain pass)")
	flag.Parse()
	if *procs > 0 {
		runtime.GOMAXPROCS(*procs)
	}
	if *spine {
		*customersF, *linesF = "", ""
	}
	if err := run(*ordersF, *customersF, *linesF, *spendF, *configF, *out, *buckets); err != nil {
		fmt.Fprintln(os.Stderr, "lowerbound:", err)
		os.Exit(1)
	}
}

func run(ordersPath, customersPath, linesPath, spendPath, configPath, out string, buckets int) error {
	ctx := context.Background()
	start := time.Now()
	cfg := config.Default()
	if configPath != "" {
		var err error
		if cfg, err = config.Load(configPath); err != nil {
			return err
		}
	}
	zone, err := orders.LoadZone(cfg.Metrics.TimeZone)
	if err != nil {
		return err
	}
	today := zone.Today(time.Now())
	runDate, err := sources.DefaultRunDate(ctx, []string{ordersPath}, cfg.BigQuery, zone, today) // as the pipeline's default --run_date
	if err != nil {
		return fmt.Errorf("run_date: %v", err)
	}
	cal, _ := metrics.CalendarFor(cfg.Metrics.Period)
	mc := metrics.Config{RunDate: runDate, Calendar: cal, ActivityWindowDays: cfg.Metrics.ActivityWindowDays, CLVLifetimeDays: cfg.Metrics.CLVLifetimeDays}
	s := &model.Settings{Metrics: mc, RFM: cfg.RFM, KMeans: cfg.KMeans.Config, KMeansEnabled: cfg.KMeans.On(), Segments: cfg.Segments, ConfigFile: cfg.File, CLVEnabled: cfg.CLV.Enabled}
	if s.CLVEnabled {
		if s.CLV, err = cfg.CLV.Resolve("clv", mc.RunDate); err != nil {
			return err
		}
	}
	hasher, err := contacts.NewHasher(cfg.Contacts)
	if err != nil {
		return err
	}
	ro := nightly.ReadOptions{Buckets: buckets, RunDate: mc.RunDate, Today: today, TimeZone: cfg.Metrics.TimeZone}
	byBucket := map[int][]nightly.CustomerBatch{}
	orderBuckets := map[int][]nightly.OrderBatch{}
	var spend []orders.Spend
	t0 := time.Now()
	for _, in := range []struct{ input, path string }{{orders.InputOrders, ordersPath}, {orders.InputCustomers, customersPath}, {orders.InputLines, linesPath}, {orders.InputSpend, spendPath}} {
		if in.path == "" {
			continue
		}
		splits, err := sources.Plan(ctx, in.input, in.path, 1<<62)
		if err != nil {
			return err
		}
		for _, sp := range splits {
			res, err := nightly.ReadSplit(ctx, sp, ro, hasher)
			if err != nil {
				return err
			}
			for b, data := range res.ByCustomer {
				byBucket[b] = append(byBucket[b], data)
			}
			for b, data := range res.ByOrder {
				orderBuckets[b] = append(orderBuckets[b], data)
			}
			spend = append(spend, res.Spend...)
		}
	}
	for _, bs := range orderBuckets {
		byCust, _, _, err := nightly.JoinLines(bs, buckets)
		if err != nil {
			return err
		}
		for b, data := range byCust {
			byBucket[b] = append(byBucket[b], data)
		}
	}
	tRead := time.Since(t0)

	t0 = time.Now()
	keys := make([]int, 0, len(byBucket))
	for b := range byBucket {
		keys = append(keys, b)
	}
	sort.Ints(keys)
	total := model.NewPartial()
	for _, b := range keys {
		bd, err := nightly.BuildBucket(byBucket[b], false)
		if err != nil {
			return err
		}
		total.Add(bd, s)
	}
	models, g, err := model.FitPartial(total, s, spend)
	if err != nil {
		return err
	}
	tFit := time.Since(t0)

	t0 = time.Now()
	sc, err := score.NewScorer(s)
	if err != nil {
		return err
	}
	var rows int
	for _, b := range keys {
		bd, err := nightly.BuildBucket(byBucket[b], true)
		if err != nil {
			return err
		}
		o, err := sc.Score(bd, models, segments.History{})
		if err != nil {
			return err
		}
		rows += len(o.CustomerMetrics)
		if err := parquetio.WriteFile(ctx, fileio.Join(out, "customer_metrics", parquetio.PartName(b)), o.CustomerMetrics); err != nil {
			return err
		}
		if err := parquetio.WriteFile(ctx, fileio.Join(out, "segment_membership", parquetio.PartName(b)), o.Membership); err != nil {
			return err
		}
		if err := parquetio.WriteFile(ctx, fileio.Join(out, "churn_list", parquetio.PartName(b)), o.ChurnList); err != nil {
			return err
		}
	}
	if err := parquetio.WriteFile(ctx, fileio.Join(out, "period_metrics", parquetio.PartName(0)), g.PeriodMetrics); err != nil {
		return err
	}
	if err := parquetio.WriteFile(ctx, fileio.Join(out, "cohort_retention", parquetio.PartName(0)), g.Cohorts); err != nil {
		return err
	}
	tScore := time.Since(t0)
	fmt.Printf("lowerbound: %d customers in %.2fs (read+hash+join %.2fs, aggregate+fit %.2fs, score+write %.2fs)\n",
		rows, time.Since(start).Seconds(), tRead.Seconds(), tFit.Seconds(), tScore.Seconds())
	return nil
}
