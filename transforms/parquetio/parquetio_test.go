package parquetio_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/audiencesync/audiencesync/transforms/parquetio"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
	"github.com/google/go-cmp/cmp"
)

// The table schema round-trips through Parquet with known dates: parquet-go mis-writes
// time.Time fields tagged `date` (1997-01-02 comes back in year 4166395), which is why DATE
// columns are int32 days. 1997-01-02 is day 9863 (27 years incl. 7 leap days = 9862 days to
// 1997-01-01, plus one).
func TestTablesRoundTripKnownDates(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d := value.DayFromDate(1997, time.January, 2)
	if d != 9863 {
		t.Fatalf("DayFromDate(1997-01-02) = %d, want 9863", d)
	}
	half := 12.5
	in := []tables.CustomerMetrics{{
		RunDate: 20000, CustomerID: "c1", Currency: "RUB", FirstOrderDate: int32(d), LastOrderDate: 10000,
		Orders: 3, Revenue: 1234.5678, RepeatAOV: &half, Cluster: -1, RFMScore: "1-1-1",
	}, {CustomerID: "c2", RepeatAOV: nil}}
	p := filepath.Join(dir, "customer_metrics", parquetio.PartName(0))
	if err := parquetio.WriteFile(ctx, p, in); err != nil {
		t.Fatal(err)
	}
	out, err := parquetio.ReadDir[tables.CustomerMetrics](ctx, filepath.Join(dir, "customer_metrics"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
	if got := value.Day(out[0].FirstOrderDate).String(); got != "1997-01-02" {
		t.Fatalf("first_order_date = %s, want 1997-01-02", got)
	}

	at := time.Date(1997, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	logs := []tables.SyncLog{{RunDate: int32(d), Audience: "a", Platform: "vk", StartedAt: at}}
	lp := filepath.Join(dir, "sync_log", parquetio.PartName(0))
	if err := parquetio.WriteFile(ctx, lp, logs); err != nil {
		t.Fatal(err)
	}
	back, err := parquetio.ReadFile[tables.SyncLog](ctx, lp)
	if err != nil {
		t.Fatal(err)
	}
	if !back[0].StartedAt.Equal(at) {
		t.Fatalf("started_at = %v, want %v", back[0].StartedAt, at)
	}
}

func TestReadDirMissingIsEmpty(t *testing.T) {
	rows, err := parquetio.ReadDir[tables.ChurnList](context.Background(), filepath.Join(t.TempDir(), "nope"))
	if err != nil || len(rows) != 0 {
		t.Fatalf("got %v, %v", rows, err)
	}
}
