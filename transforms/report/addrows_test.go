package report

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/parquetio"
	"github.com/audiencesync/audiencesync/transforms/report/reporttest"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Tables built from rows another reader decoded (ReadSummaryTables + AddRows, the driver's
// path when the BigQuery load reads the tables) equal the report's own read (ReadTables),
// rows of another run date included (counted, left out).
func TestAddRowsEqualsReadTables(t *testing.T) {
	ctx := context.Background()
	ds := reporttest.Demo(time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), 400, 12, 5)
	day, err := value.ParseDay(ds.Summary.RunDate)
	if err != nil {
		t.Fatal(err)
	}
	stale := ds.CustomerMetrics[0]
	stale.RunDate--
	ds.CustomerMetrics = append(ds.CustomerMetrics, stale)
	for i, m := range []struct{ aud, platform, typ string }{{"lapsed", "vk", "email"}, {"lapsed", "vk", "email"}, {"lapsed", "meta", "phone"}, {"vip", "google", "email"}} {
		ds.AudienceMembers = append(ds.AudienceMembers, tables.AudienceMember{RunDate: int32(day), Audience: m.aud, Platform: m.platform,
			IdentifierType: m.typ, Hash: strings.Repeat(strconv.Itoa(i), 64)})
	}
	dir := t.TempDir()
	if err := reporttest.WriteDir(ctx, dir, ds); err != nil {
		t.Fatal(err)
	}
	want, err := ReadTables(ctx, dir, day)
	if err != nil {
		t.Fatal(err)
	}
	if want.otherDate["customer_metrics"] != 1 || len(want.customers) == 0 || len(want.periods) == 0 || len(want.audIDs) == 0 {
		t.Fatalf("test setup: the demo run lacks tables or the stale row: %+v, %d currencies, %d periods, %d audiences",
			want.otherDate, len(want.customers), len(want.periods), len(want.audIDs))
	}
	got, err := ReadSummaryTables(ctx, dir, day)
	if err != nil {
		t.Fatal(err)
	}
	read := func(_ string, rows any) { got.AddRows(rows) }
	read("customer_metrics", mustRead[tables.CustomerMetrics](t, dir, "customer_metrics"))
	read("period_metrics", mustRead[tables.PeriodMetrics](t, dir, "period_metrics"))
	read("cohort_retention", mustRead[tables.CohortRetention](t, dir, "cohort_retention"))
	read("churn_list", mustRead[tables.ChurnList](t, dir, "churn_list"))
	read("segment_membership", mustRead[tables.SegmentMembership](t, dir, "segment_membership"))
	read("kmeans_centroids", mustRead[tables.KMeansCentroid](t, dir, "kmeans_centroids"))
	read("audience_members", mustRead[tables.AudienceMember](t, dir, "audience_members"))
	read("sync_log", mustRead[tables.SyncLog](t, dir, "sync_log")) // already read: not added twice
	read("clv_model", mustRead[tables.CLVModel](t, dir, "clv_model"))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("AddRows:\n got %+v\nwant %+v", got, want)
	}
}

func mustRead[T any](t *testing.T, dir, name string) []T {
	t.Helper()
	rows, err := parquetio.ReadDir[T](context.Background(), fileio.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
