//go:build bqemulator

package bigquery_test

import (
	"fmt"
	"testing"

	bqsink "github.com/audiencesync/audiencesync/sinks/bigquery"
	"github.com/audiencesync/audiencesync/sinks/bigquery/bqtest"
	"github.com/audiencesync/audiencesync/transforms/tables"
)

// TestLargeLoad: a load bigger than the client's 16 MiB upload chunk (every real
// customer_metrics load is) streams through the pipe and arrives whole. On BigQuery it
// would go through resumable chunks; the emulator fails those, so bqtest sends one request.
func TestLargeLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("large load")
	}
	c, ctx := bqtest.Client(t)
	if err := bqsink.ApplySQL(ctx, c); err != nil {
		t.Fatal(err)
	}
	tb, _ := tables.ByName("customer_metrics")
	const n = 40000 // ~570 bytes of NDJSON each: ~22 MiB
	rows := make([]tables.CustomerMetrics, n)
	for i := range rows {
		rows[i] = tables.CustomerMetrics{RunDate: int32(d1), CustomerID: fmt.Sprintf("C%07d", i), Currency: "RUB", Cohort: "2025-11",
			Orders: int64(i%7 + 1), Revenue: float64(i) + 0.25, AOV: 1, RFMScore: "1-1-1", RFMSegment: "champions", ClusterName: "loyal",
			AcqChannel: "a-fairly-long-acquisition-channel-name-to-fill-the-row", Cluster: int64(i % 5)}
	}
	got, err := bqsink.WriteTable(ctx, c, tb, d1, rows)
	if err != nil {
		t.Fatal(err)
	}
	if got != n {
		t.Errorf("wrote %d", got)
	}
	cfg := c.Config()
	// Sum of revenue = sum(i) + n*0.25 = n(n-1)/2 + n/4 = 799980000 + 10000.
	res, err := bqtest.Query(ctx, c, "SELECT COUNT(*) AS n, SUM(revenue) AS revenue, COUNT(DISTINCT customer_id) AS ids FROM `"+cfg.Project+"."+cfg.Dataset+".customer_metrics`")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"40000", "799990000", "40000"}; len(res) != 1 || fmt.Sprint(res[0]) != fmt.Sprint(want) {
		t.Errorf("count, sum, distinct = %v, want %v", res, want)
	}
}
