package bqio

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/audiencesync/audiencesync/sinks/bigquery"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// A BigQuery that only ever answers 503 (an outage, a wrong endpoint behind a proxy): the
// client library retries such answers without end, so the load must stop at bigquery.timeout
// with an error that says so, not hold the nightly run and its lock forever.
func TestLoadStopsAtTimeout(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, `{"error":{"code":503,"message":"unavailable"}}`, http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	day := value.DayFromDate(2026, 11, 2)
	out := t.TempDir()
	if err := tables.WriteFile(context.Background(), out, 0, []tables.CustomerMetrics{{RunDate: int32(day), CustomerID: "c1", Currency: "RUB"}}); err != nil {
		t.Fatal(err)
	}
	cfg := bigquery.Config{Project: "p", Dataset: "d", Endpoint: srv.URL, ReadAPI: bigquery.ReadREST, Timeout: 2 * time.Second}
	_, err := WriteTables(context.Background(), cfg, out, day, false, nil)
	if err == nil || !strings.Contains(err.Error(), "bigquery.timeout (2s)") {
		t.Fatalf("err = %v; want the load stopped at bigquery.timeout", err)
	}
	if calls.Load() < 2 {
		t.Errorf("%d requests: the test wants the client to have retried", calls.Load())
	}
}
