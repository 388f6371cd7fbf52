//go:build bqemulator

package bigquery_test

import (
	"testing"

	bqsink "github.com/audiencesync/audiencesync/sinks/bigquery"
	"github.com/audiencesync/audiencesync/sinks/bigquery/bqtest"
	"github.com/audiencesync/audiencesync/transforms/tables"
)

// TestApplySQL: the DDL and views run on the emulator, twice (idempotent), the tables they
// create have the Go-derived columns and types, and every view can be queried.
func TestApplySQL(t *testing.T) {
	c, ctx := bqtest.Client(t)
	cfg := c.Config()
	for i := 0; i < 2; i++ {
		if err := bqsink.ApplySQL(ctx, c); err != nil {
			t.Fatalf("apply %d: %v", i+1, err)
		}
	}
	for _, tb := range tables.All {
		md, err := c.BigQuery().Dataset(cfg.Dataset).Table(tb.Name).Metadata(ctx)
		if err != nil {
			t.Fatalf("%s: %v", tb.Name, err)
		}
		want, _ := bqsink.TableSchema(tb)
		if len(md.Schema) != len(want) {
			t.Errorf("%s: %d columns, want %d", tb.Name, len(md.Schema), len(want))
			continue
		}
		for i, f := range md.Schema {
			if f.Name != want[i].Name || canon(f.Type) != canon(want[i].Type) {
				t.Errorf("%s column %d: %s %s, want %s %s", tb.Name, i, f.Name, f.Type, want[i].Name, want[i].Type)
			}
		}
	}
	for _, v := range []string{"cohort_pivot", "aov_trend", "segment_sizes", "sync_health", "customer_metrics_latest", "sync_log_latest"} {
		if _, err := queryStrings(ctx, c, "SELECT * FROM `"+cfg.Project+"."+cfg.Dataset+"."+v+"`"); err != nil {
			t.Errorf("query view %s: %v", v, err)
		}
	}
}
