package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
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
	if !j.loadBQ || bq.ReadStreams != 4 || bq.ReadAPI != bigquery.ReadStorage || bq.Timeout != bigquery.DefaultTimeout {
		t.Errorf("loadBQ %v, bigquery %+v: want the load on with the documented defaults", j.loadBQ, bq)
	}
}

// A bq:// input behind an endpoint that only answers 503: the client retries without end,
// so the planning stops at bigquery.timeout with an error naming the setting.
func TestPlanBigQueryInputStopsAtTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":{"code":503,"message":"unavailable"}}`, http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	body := "bigquery:\n  project: shop-prod\n  dataset: metrics\n  endpoint: " + srv.URL + "\n  read_api: rest\n  timeout: 2s\n"
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := parse("--orders=bq://shop-prod.raw.orders", "--config="+cfg, "--output="+filepath.Join(dir, "out"), "--state_dir=", "--run_date=2024-01-02")
	if err != nil {
		t.Fatal(err)
	}
	_, err = plan(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "--orders bq://shop-prod.raw.orders: checking its columns did not finish within bigquery.timeout (2s)") {
		t.Fatalf("plan: %v; want it stopped at bigquery.timeout", err)
	}
}
