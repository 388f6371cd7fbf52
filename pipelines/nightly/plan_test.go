package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/audiencesync/audiencesync/sinks/bigquery"
)

// A bigquery block with only project and dataset is a working config: the plan fills in the
// defaults before it validates (it once refused read_streams 0, the unset default).
func TestPlanMinimalBigQueryConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	orders := write("orders.csv", "order_id,customer_id,ordered_at,status,amount,currency\nO1,C1,2024-01-01,completed,10,RUB\n")
	cfg := write("config.yaml", "bigquery:\n  project: shop-prod\n  dataset: metrics\n")
	o, err := parse("--orders="+orders, "--config="+cfg, "--output="+filepath.Join(dir, "out"), "--state_dir=", "--run_date=2024-01-02")
	if err != nil {
		t.Fatal(err)
	}
	j, err := plan(context.Background(), o)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	bq := j.cfg.BigQuery
	if !j.loadBQ || bq.ReadStreams != 4 || bq.ReadAPI != bigquery.ReadStorage || bq.LoadTimeout != bigquery.DefaultLoadTimeout {
		t.Errorf("loadBQ %v, bigquery %+v: want the load on with the documented defaults", j.loadBQ, bq)
	}
}
