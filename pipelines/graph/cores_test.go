package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/kmeans"
	"github.com/audiencesync/audiencesync/transforms/metrics"
	"github.com/audiencesync/audiencesync/transforms/model"
	"github.com/audiencesync/audiencesync/transforms/nightly"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/parquetio"
	"github.com/audiencesync/audiencesync/transforms/rfm"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// TestGraphIndependentOfCores: the DoFns work on several elements of a bundle at once
// (transforms/par) and k-means restarts run in parallel, so the number of cores must not
// change any output. A shop of 300 customers with duplicate order ids across customers,
// bad rows and lines of unknown orders, read in 2 KB splits into 16 buckets, gives the same
// rows in every table and the same dead letters with GOMAXPROCS 1 and 3.
func TestGraphIndependentOfCores(t *testing.T) {
	dir := t.TempDir()
	var o, l strings.Builder
	o.WriteString("order_id,customer_id,ordered_at,status,amount,currency,channel\n")
	l.WriteString("order_id,product_id,category,quantity,amount\n")
	for c := 0; c < 300; c++ {
		for k := 0; k <= c%5; k++ {
			id := fmt.Sprintf("o%d-%d", c, k)
			if c%37 == 0 && k == 0 {
				id = "dup" // one order id under several customers: the join decides
			}
			fmt.Fprintf(&o, "%s,C%03d,2023-%02d-%02dT10:00:00+03:00,completed,%d.50,RUB,ads\n", id, c, 1+(c+k)%12, 1+k*3, 100+c*k)
			fmt.Fprintf(&l, "%s,P%d,cat%d,1,%d.50\n", id, k, c%4, 100+c*k)
		}
		if c%50 == 0 {
			fmt.Fprintf(&o, "bad%d,C%03d,not a date,completed,1,RUB,ads\n", c, c)
			fmt.Fprintf(&l, "unknown%d,P1,cat1,1,1\n", c)
		}
	}
	mc := metrics.Config{ActivityWindowDays: 90}
	mc.Defaults()
	km := kmeans.Defaults()
	km.K = 3
	km.Restarts = 6
	base := Config{
		RunDate: value.DayFromDate(2024, time.January, 1),
		Sources: []nightly.Source{
			{Input: orders.InputOrders, Path: write(t, dir, "orders.csv", o.String())},
			{Input: orders.InputLines, Path: write(t, dir, "lines.csv", l.String())},
		},
		Read:     nightly.ReadConfig{Buckets: 16, SplitBytes: 2 << 10, Contacts: contacts.Defaults()},
		Settings: model.Settings{Metrics: mc, RFM: rfm.Defaults(), KMeans: km, KMeansEnabled: true},
	}
	run := func(procs int) map[string][]string {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		c := base
		c.Output = filepath.Join(dir, fmt.Sprint("out", procs))
		p, s := beam.NewPipelineWithRoot()
		if _, err := Build(s, c); err != nil {
			t.Fatal(err)
		}
		if err := ptest.Run(p); err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{
			"customer_metrics":   rowsOf[tables.CustomerMetrics](t, c.Output, "customer_metrics"),
			"segment_membership": rowsOf[tables.SegmentMembership](t, c.Output, "segment_membership"),
			"churn_list":         rowsOf[tables.ChurnList](t, c.Output, "churn_list"),
			"period_metrics":     rowsOf[tables.PeriodMetrics](t, c.Output, "period_metrics"),
			"cohort_retention":   rowsOf[tables.CohortRetention](t, c.Output, "cohort_retention"),
			"kmeans_centroids":   rowsOf[tables.KMeansCentroid](t, c.Output, "kmeans_centroids"),
		}
		for _, in := range []string{"orders", "order_lines"} {
			b, err := os.ReadFile(filepath.Join(c.Output, "dead_letters", in+".csv"))
			if err != nil {
				t.Fatal(err)
			}
			got["dead_letters/"+in] = strings.Split(string(b), "\n")
		}
		return got
	}
	one, three := run(1), run(3)
	// 300 customers less C185, whose one order is "dup" under a lower-numbered customer
	// (the lowest input line wins: C000's).
	if n := len(one["customer_metrics"]); n != 299 {
		t.Fatalf("customer_metrics has %d rows, want 299", n)
	}
	if n := len(one["dead_letters/orders"]); n < 8 {
		t.Fatalf("dead_letters/orders has %d lines; the shop has bad rows and duplicates", n)
	}
	for name, rows := range one {
		if !slices.Equal(rows, three[name]) {
			t.Errorf("%s differs between GOMAXPROCS 1 and 3 (%d vs %d rows)", name, len(rows), len(three[name]))
		}
	}
}

// rowsOf reads a table's rows as sorted JSON strings.
func rowsOf[T any](t *testing.T, out, table string) []string {
	t.Helper()
	rows, err := parquetio.ReadDir[T](context.Background(), filepath.Join(out, table))
	if err != nil {
		t.Fatal(err)
	}
	s := make([]string, len(rows))
	for i, r := range rows {
		b, err := json.Marshal(r) // pointers as their values, floats exactly
		if err != nil {
			t.Fatal(err)
		}
		s[i] = string(b)
	}
	slices.Sort(s)
	return s
}
