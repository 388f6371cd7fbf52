//go:build bqemulator

package graph

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/audiencesync/audiencesync/pipelines/bqio"
	"github.com/audiencesync/audiencesync/sinks/bigquery/bqtest"
	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/metrics"
	"github.com/audiencesync/audiencesync/transforms/model"
	"github.com/audiencesync/audiencesync/transforms/nightly"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/parquetio"
	"github.com/audiencesync/audiencesync/transforms/report"
	"github.com/audiencesync/audiencesync/transforms/rfm"
	"github.com/audiencesync/audiencesync/transforms/sources"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/google/go-cmp/cmp"
)

// The same shop read from CSV and from BigQuery tables (Storage Read API on the emulator)
// must give the same metrics; the tables loaded into BigQuery must equal the Parquet
// outputs, and a rerun of the date must not duplicate them.
func TestBigQueryInputsAndTables(t *testing.T) {
	c, ctx := bqtest.Client(t)
	cfg := c.Config()
	data := t.TempDir()
	gen := exec.Command("go", "run", "../../cmd/gensample", "-out", data, "-customers", "300", "-orders", "1500", "-broken=false")
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("gensample: %v\n%s", err, out)
	}
	if err := bqtest.SeedCSVFile(ctx, c, "orders", bqtest.OrdersSchema, filepath.Join(data, "orders.csv")); err != nil {
		t.Fatal(err)
	}
	if err := bqtest.SeedCSVFile(ctx, c, "customers", bqtest.CustomersSchema, filepath.Join(data, "customers.csv")); err != nil {
		t.Fatal(err)
	}
	bqSrc := func(table string) string { return fmt.Sprintf("bq://%s.%s.%s", cfg.Project, cfg.Dataset, table) }

	zone := orders.NewZone(nil)
	runDate, err := sources.DefaultRunDate(ctx, []string{filepath.Join(data, "orders.csv")}, cfg, zone, 0)
	if err != nil {
		t.Fatal(err)
	}
	bqRunDate, err := sources.DefaultRunDate(ctx, []string{bqSrc("orders")}, cfg, zone, 0)
	if err != nil || bqRunDate != runDate {
		t.Fatalf("default run date over BigQuery = %v %v, want %v as from the CSV", bqRunDate, err, runDate)
	}
	mc := metrics.Config{}
	mc.Defaults()
	run := func(out string, srcs []nightly.Source) {
		t.Helper()
		o := Config{RunDate: runDate, Sources: srcs, Output: out, Settings: model.Settings{Metrics: mc, RFM: rfm.Defaults()},
			Read: nightly.ReadConfig{Buckets: 8, SplitBytes: 1 << 20, Contacts: contacts.Defaults(), BigQuery: &cfg}}
		p, s := beam.NewPipelineWithRoot()
		if _, err := Build(s, o); err != nil {
			t.Fatal(err)
		}
		if err := ptest.Run(p); err != nil {
			t.Fatal(err)
		}
	}
	csvOut, bqOut := filepath.Join(t.TempDir(), "csv"), filepath.Join(t.TempDir(), "bq")
	run(csvOut, []nightly.Source{{Input: orders.InputOrders, Path: filepath.Join(data, "orders.csv")}, {Input: orders.InputCustomers, Path: filepath.Join(data, "customers.csv")}})
	run(bqOut, []nightly.Source{{Input: orders.InputOrders, Path: bqSrc("orders")}, {Input: orders.InputCustomers, Path: bqSrc("customers")}})

	a := readSorted[tables.CustomerMetrics](t, ctx, csvOut, "customer_metrics", func(r tables.CustomerMetrics) string { return r.CustomerID + r.Currency })
	b := readSorted[tables.CustomerMetrics](t, ctx, bqOut, "customer_metrics", func(r tables.CustomerMetrics) string { return r.CustomerID + r.Currency })
	if len(a) < 250 {
		t.Fatalf("only %d customers from the CSV", len(a))
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("customer_metrics from BigQuery differ from the CSV path (-csv +bq):\n%s", diff)
	}
	pa := readSorted[tables.PeriodMetrics](t, ctx, csvOut, "period_metrics", func(r tables.PeriodMetrics) string { return r.Channel + r.Period })
	pb := readSorted[tables.PeriodMetrics](t, ctx, bqOut, "period_metrics", func(r tables.PeriodMetrics) string { return r.Channel + r.Period })
	if diff := cmp.Diff(pa, pb); diff != "" {
		t.Errorf("period_metrics from BigQuery differ (-csv +bq):\n%s", diff)
	}

	// Load the tables, twice for the same run date: the rows are replaced, not added. The
	// second load also hands the rows it reads to the report (the driver's path with a
	// report): the report's tables must equal its own read.
	folded, err := report.ReadSummaryTables(ctx, csvOut, runDate)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		var each func(rows any)
		if i == 1 {
			each = folded.AddRows
		}
		n, err := bqio.WriteTables(ctx, cfg, csvOut, runDate, true, each)
		if err != nil {
			t.Fatal(err)
		}
		if n["customer_metrics"] != int64(len(a)) {
			t.Errorf("load %d: customer_metrics loaded %d rows, want %d", i, n["customer_metrics"], len(a))
		}
	}
	if own, err := report.ReadTables(ctx, csvOut, runDate); err != nil || !reflect.DeepEqual(folded, own) {
		t.Errorf("the report's tables from the load's rows differ from its own read (%v)", err)
	}
	rows, err := bqtest.Query(ctx, c, fmt.Sprintf("SELECT COUNT(*) AS n, COUNT(DISTINCT customer_id) AS d, ROUND(SUM(revenue), 2) AS rev FROM `%s.%s.customer_metrics`", cfg.Project, cfg.Dataset))
	if err != nil {
		t.Fatal(err)
	}
	var rev float64
	for _, r := range a {
		rev += r.Revenue
	}
	want := fmt.Sprint(len(a))
	if len(rows) != 1 || rows[0][0] != want || rows[0][1] != want {
		t.Fatalf("customer_metrics in BigQuery after two loads: %v, want %s rows, one per customer (no duplicates)", rows, want)
	}
	if got, err := strconv.ParseFloat(rows[0][2], 64); err != nil || math.Abs(got-rev) > 0.01 {
		t.Errorf("sum of revenue in BigQuery = %s, want %.2f as in the Parquet table", rows[0][2], rev)
	}
}

func readSorted[T any](t *testing.T, ctx context.Context, out, table string, key func(T) string) []T {
	t.Helper()
	rows, err := parquetio.ReadDir[T](ctx, filepath.Join(out, table))
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(rows, func(i, j int) bool { return key(rows[i]) < key(rows[j]) })
	return rows
}
