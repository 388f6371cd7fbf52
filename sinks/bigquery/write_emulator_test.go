//go:build bqemulator

package bigquery_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bq "cloud.google.com/go/bigquery"
	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	bqsink "github.com/audiencesync/audiencesync/sinks/bigquery"
	"github.com/audiencesync/audiencesync/sinks/bigquery/bqtest"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

var (
	d1 = value.DayFromDate(2026, 3, 1)
	d2 = value.DayFromDate(2026, 3, 2)
)

func writeParquet[T any](t *testing.T, dir, table string, rows []T) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, table), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := parquet.WriteFile(filepath.Join(dir, table, "part-00000.parquet"), rows); err != nil {
		t.Fatal(err)
	}
}

// TestWriteOutputDirRoundTrip writes a Parquet output dir holding every table, loads it
// with WriteOutputDir, and reads the rows back through both read APIs. Expected text is
// written out by hand from the fixture values (dates as YYYY-MM-DD, NULL as "").
func TestWriteOutputDirRoundTrip(t *testing.T) {
	c, ctx := bqtest.Client(t)
	r := int32(d1)
	dir := t.TempDir()
	started := time.Date(2026, 3, 1, 2, 3, 4, 567_000_000, time.UTC)
	writeParquet(t, dir, "customer_metrics", []tables.CustomerMetrics{
		// 0.1+0.2 and 123456789.1234 lose digits in a 32-bit float: they prove FLOAT64.
		{RunDate: r, CustomerID: "c1", Currency: "RUB", FirstOrderDate: r - 100, LastOrderDate: r - 10, Cohort: "2025-11",
			Orders: 3, Revenue: 123456789.1234, AOV: 0.30000000000000004, RFMScore: "1-1-1", Cluster: -1, Active: true,
			RepeatAOV: fp(250.5), PAlive: fp(0.75)},
		{RunDate: r, CustomerID: "c2", Currency: "USD", Orders: 1, Revenue: 10, AOV: 10, Cluster: 2, ClusterName: "one-off"},
	})
	writeParquet(t, dir, "period_metrics", []tables.PeriodMetrics{
		{RunDate: r, Period: "2026-02", PeriodStart: r - 28, PeriodEnd: r - 1, Complete: true, Currency: "RUB", Channel: "all",
			Orders: 250, Revenue: 5000000, AOV: fp(20000), Spend: fp(1000)},
	})
	writeParquet(t, dir, "cohort_retention", []tables.CohortRetention{
		{RunDate: r, Cohort: "2026-01", Currency: "RUB", PeriodOffset: 0, CohortSize: 200, ActiveCustomers: 200, RetentionPct: 100},
		{RunDate: r, Cohort: "2026-01", Currency: "RUB", PeriodOffset: 1, CohortSize: 200, ActiveCustomers: 50, RetentionPct: 25},
	})
	writeParquet(t, dir, "churn_list", []tables.ChurnList{
		{RunDate: r, Period: "2026-02", CustomerID: "c9", Currency: "RUB", LastOrderDate: r - 40, Orders: 2, Revenue: 99.9999},
	})
	writeParquet(t, dir, "segment_membership", []tables.SegmentMembership{
		{RunDate: r, CustomerID: "c1", Segment: "champions", Source: "rfm", EnteredAt: r},
		{RunDate: r, CustomerID: "c2", Segment: "champions", Source: "rfm", EnteredAt: r - 7},
		{RunDate: r, CustomerID: "c2", Segment: "vip", Source: "rule", EnteredAt: r},
	})
	writeParquet(t, dir, "kmeans_centroids", []tables.KMeansCentroid{
		{RunDate: r, Currency: "RUB", Cluster: 0, ClusterName: "loyal", Size: 10, RecencyDays: 12.5, Frequency: 4, Monetary: 800, Features: `{"aov":200}`},
	})
	size := int64(120000)
	writeParquet(t, dir, "sync_log", []tables.SyncLog{
		{RunDate: r, Audience: "winback", Platform: "vk", Mode: "replace", DryRun: true, Members: 5, Sent: 5, Accepted: 4, Rejected: 1,
			RejectReasons: `{"invalid":1}`, Status: "dry_run", Error: "он сказал \"нет\"\nline 2\ttab", StartedAt: started, Kind: "audience"},
		// The lookalike Meta builds from vip: not an audience of identifiers (audience_sizes
		// leaves it out, so vip still reads "not delivered").
		{RunDate: r, Audience: "vip", Platform: "meta", RejectReasons: "{}", Status: "unchanged", StartedAt: started,
			Kind: "lookalike", RemoteID: "2385", SourceID: "2384", PlatformSize: &size},
	})
	// Hashes only; "vip" is computed but has no sync_log row (not delivered); on meta it is a
	// value-based seed, so its rows carry values.
	h := func(c byte) string { return strings.Repeat(string(c), 64) }
	v := func(x float64) *float64 { return &x }
	writeParquet(t, dir, "audience_members", []tables.AudienceMember{
		{RunDate: r, Audience: "winback", Platform: "vk", IdentifierType: "email", Hash: h('a')},
		{RunDate: r, Audience: "winback", Platform: "vk", IdentifierType: "email", Hash: h('b')},
		{RunDate: r, Audience: "winback", Platform: "vk", IdentifierType: "email", Hash: h('c')},
		{RunDate: r, Audience: "vip", Platform: "meta", IdentifierType: "email", Hash: h('a'), Value: v(1250.5)},
		{RunDate: r, Audience: "vip", Platform: "meta", IdentifierType: "phone", Hash: h('d'), Value: v(0)},
	})
	// clv_model has no directory: this run did not produce it, so it is not written.
	// An unknown directory is ignored.
	if err := os.MkdirAll(filepath.Join(dir, "audiences"), 0o755); err != nil {
		t.Fatal(err)
	}

	// The emulator stores REST-created FLOAT columns as 32-bit; the DDL says FLOAT64.
	if err := bqsink.ApplySQL(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := c.WriteOutputDir(ctx, dir, d1)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"customer_metrics": 2, "period_metrics": 1, "cohort_retention": 2, "churn_list": 1,
		"segment_membership": 3, "kmeans_centroids": 1, "sync_log": 2, "audience_members": 5}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows written (-want +got):\n%s", diff)
	}

	cfg := c.Config()
	src := func(table string) string { return "bq://" + cfg.Project + "." + cfg.Dataset + "." + table }
	rest, err := withReadAPI(ctx, c, bqsink.ReadREST)
	if err != nil {
		t.Fatal(err)
	}
	defer rest.Close()
	for api, rc := range map[string]*bqsink.Client{"storage": c, "rest": rest} {
		t.Run(api, func(t *testing.T) {
			check := func(table string, cols []string, want [][]string) {
				t.Helper()
				h, rows, err := bqtest.ReadAll(ctx, rc, src(table), cols)
				if err != nil {
					t.Fatalf("%s: %v", table, err)
				}
				if diff := cmp.Diff(cols, h); diff != "" {
					t.Errorf("%s header (-want +got):\n%s", table, diff)
				}
				if diff := cmp.Diff(want, sorted(rows)); diff != "" {
					t.Errorf("%s rows (-want +got):\n%s", table, diff)
				}
			}
			check("customer_metrics",
				[]string{"run_date", "customer_id", "first_order_date", "revenue", "aov", "repeat_aov", "p_alive", "active", "cluster", "cluster_name"},
				[][]string{
					{"2026-03-01", "c1", "2025-11-21", "123456789.1234", "0.30000000000000004", "250.5", "0.75", "true", "-1", ""},
					{"2026-03-01", "c2", "1970-01-01", "10", "10", "", "", "false", "2", "one-off"},
				})
			check("period_metrics",
				[]string{"period", "period_start", "period_end", "complete", "orders", "revenue", "aov", "crr", "spend"},
				[][]string{{"2026-02", "2026-02-01", "2026-02-28", "true", "250", "5000000", "20000", "", "1000"}})
			check("cohort_retention", []string{"cohort", "period_offset", "cohort_size", "retention_pct"},
				[][]string{{"2026-01", "0", "200", "100"}, {"2026-01", "1", "200", "25"}})
			check("churn_list", []string{"run_date", "period", "customer_id", "currency", "last_order_date", "orders", "revenue"},
				[][]string{{"2026-03-01", "2026-02", "c9", "RUB", "2026-01-20", "2", "99.9999"}})
			check("segment_membership", []string{"customer_id", "segment", "source", "entered_at"},
				[][]string{{"c1", "champions", "rfm", "2026-03-01"}, {"c2", "champions", "rfm", "2026-02-22"}, {"c2", "vip", "rule", "2026-03-01"}})
			check("kmeans_centroids", []string{"cluster", "cluster_name", "recency_days", "features"},
				[][]string{{"0", "loyal", "12.5", `{"aov":200}`}})
			check("audience_members", []string{"run_date", "audience", "platform", "identifier_type", "identifier_hash", "value"},
				[][]string{
					{"2026-03-01", "vip", "meta", "email", h('a'), "1250.5"}, {"2026-03-01", "vip", "meta", "phone", h('d'), "0"},
					{"2026-03-01", "winback", "vk", "email", h('a'), ""}, {"2026-03-01", "winback", "vk", "email", h('b'), ""},
					{"2026-03-01", "winback", "vk", "email", h('c'), ""},
				})
			check("sync_log", []string{"audience", "platform", "dry_run", "accepted", "error", "started_at", "kind", "remote_id", "source_id", "platform_size"},
				[][]string{
					{"vip", "meta", "false", "0", "", "2026-03-01T02:03:04.567Z", "lookalike", "2385", "2384", "120000"},
					{"winback", "vk", "true", "4", "он сказал \"нет\"\nline 2\ttab", "2026-03-01T02:03:04.567Z", "audience", "", "", ""},
				})
		})
	}

	// The BI views compute over the loaded rows; expected values worked out from the
	// fixtures above.
	views := []struct {
		sql  string
		want [][]string
	}{
		{"SELECT cohort, currency, cohort_size, m00, m01, m02 FROM `%s.cohort_pivot`",
			[][]string{{"2026-01", "RUB", "200", "100", "25", ""}}},
		{"SELECT period, currency, aov, aov_first, aov_repeat, repeat_to_first_ratio FROM `%s.aov_trend`",
			[][]string{{"2026-02", "RUB", "20000", "", "", ""}}},
		// c1 entered champions on the run date, c2 a week before; c2 entered vip today.
		{"SELECT run_date, source, segment, members, entered FROM `%s.segment_sizes`",
			[][]string{{"2026-03-01", "rfm", "champions", "2", "1"}, {"2026-03-01", "rule", "vip", "1", "1"}}},
		// One dry run: 4 of 5 accepted; no run with status ok. Meta: the lookalike, unchanged
		// (an ok run), nothing sent.
		{"SELECT platform, last_run_date, syncs, failed, dry_runs, sent, accepted, accept_rate, last_ok_run_date FROM `%s.sync_health`",
			[][]string{{"meta", "2026-03-01", "1", "0", "0", "0", "0", "", "2026-03-01"}, {"vk", "2026-03-01", "1", "0", "1", "5", "4", "0.8", ""}}},
		{"SELECT customer_id FROM `%s.customer_metrics_latest`", [][]string{{"c1"}, {"c2"}}},
		// vip: one e-mail and one phone, not delivered; winback: three e-mails, a dry run.
		{"SELECT run_date, audience, platform, identifiers, emails, phones, status, dry_run FROM `%s.audience_sizes`",
			[][]string{{"2026-03-01", "vip", "meta", "2", "1", "1", "", ""}, {"2026-03-01", "winback", "vk", "3", "3", "0", "dry_run", "true"}}},
		{"SELECT platform, unconfirmed, below_minimum FROM `%s.sync_health`",
			[][]string{{"meta", "0", "0"}, {"vk", "0", "0"}}},
	}
	for _, v := range views {
		q := fmt.Sprintf(v.sql, cfg.Project+"."+cfg.Dataset)
		rows, err := bqtest.Query(ctx, c, q)
		if err != nil {
			t.Errorf("%s: %v", q, err)
			continue
		}
		if diff := cmp.Diff(v.want, sorted(rows)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", q, diff)
		}
	}
}

// TestEnsureTableCreates: a missing dataset and table are created from the Go schema with
// run_date day partitions, the table's clustering and REQUIRED/NULLABLE modes; a second
// call changes nothing.
func TestEnsureTableCreates(t *testing.T) {
	c, ctx := bqtest.Client(t)
	tb, _ := tables.ByName("period_metrics")
	for i := 0; i < 2; i++ {
		if err := bqsink.EnsureTable(ctx, c, tb); err != nil {
			t.Fatal(err)
		}
	}
	md, err := c.BigQuery().Dataset(c.Config().Dataset).Table("period_metrics").Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if md.TimePartitioning == nil || md.TimePartitioning.Field != "run_date" {
		t.Errorf("partitioning = %+v, want DAY on run_date", md.TimePartitioning)
	}
	if md.Clustering == nil || strings.Join(md.Clustering.Fields, ",") != "currency,channel" {
		t.Errorf("clustering = %+v, want currency,channel", md.Clustering)
	}
	modes := map[string]bool{}
	for _, f := range md.Schema {
		modes[f.Name] = f.Required
	}
	if len(md.Schema) != 29 {
		t.Errorf("%d columns, want the 29 fields of tables.PeriodMetrics", len(md.Schema))
	}
	if modes["crr"] || modes["aov"] || !modes["orders"] || !modes["run_date"] {
		t.Errorf("modes (true = REQUIRED): crr %v aov %v orders %v run_date %v; want false false true true", modes["crr"], modes["aov"], modes["orders"], modes["run_date"])
	}
}

func churnRows(day value.Day, ids ...string) []tables.ChurnList {
	var out []tables.ChurnList
	for _, id := range ids {
		out = append(out, tables.ChurnList{RunDate: int32(day), Period: "2026-02", CustomerID: id, Currency: "RUB", LastOrderDate: int32(day) - 30, Orders: 1, Revenue: 1})
	}
	return out
}

// TestRerunReplacesDay: writing a run date again replaces that day's rows and leaves the
// other days alone; an empty write empties the day.
func TestRerunReplacesDay(t *testing.T) {
	c, ctx := bqtest.Client(t)
	tb, _ := tables.ByName("churn_list")
	steps := []struct {
		day value.Day
		ids []string
	}{
		{d1, []string{"a", "b"}},
		{d2, []string{"c"}},
		{d1, []string{"d"}}, // rerun of d1
	}
	for _, s := range steps {
		n, err := bqsink.WriteTable(ctx, c, tb, s.day, churnRows(s.day, s.ids...))
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(len(s.ids)) {
			t.Errorf("wrote %d rows, want %d", n, len(s.ids))
		}
	}
	cfg := c.Config()
	q := "SELECT run_date, customer_id FROM `" + cfg.Project + "." + cfg.Dataset + ".churn_list`"
	rows, err := bqtest.Query(ctx, c, q)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{{"2026-03-01", "d"}, {"2026-03-02", "c"}}, sorted(rows)); diff != "" {
		t.Errorf("after rerun (-want +got):\n%s", diff)
	}
	if _, err := bqsink.WriteTable(ctx, c, tb, d2, []tables.ChurnList{}); err != nil {
		t.Fatal(err)
	}
	rows, err = bqtest.Query(ctx, c, q)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{{"2026-03-01", "d"}}, sorted(rows)); diff != "" {
		t.Errorf("after empty rerun of 2026-03-02 (-want +got):\n%s", diff)
	}
	// A row of another day is refused before anything is sent.
	if _, err := bqsink.WriteTable(ctx, c, tb, d1, churnRows(d2, "x")); err == nil || !strings.Contains(err.Error(), "run_date 2026-03-02") {
		t.Errorf("row of another run date: err = %v", err)
	}
}

// TestSchemaDrift: a table written by an older version (fewer columns, one column the Go
// structs no longer have) gets the new columns as NULLABLE and keeps the old one, relaxed
// to NULLABLE so loads without it work. A type change is refused. (The emulator changes
// only the metadata when columns are added, so no load follows here; the load after a
// drift is covered against BigQuery's documented behaviour, not the emulator.)
func TestSchemaDrift(t *testing.T) {
	c, ctx := bqtest.Client(t)
	cfg := c.Config()
	old := bq.Schema{
		{Name: "run_date", Type: bq.DateFieldType, Required: true},
		{Name: "customer_id", Type: bq.StringFieldType, Required: true},
		{Name: "legacy_score", Type: bq.IntegerFieldType, Required: true},
	}
	if err := bqtest.SeedRecords(ctx, c, "churn_list", old, nil); err != nil {
		t.Fatal(err)
	}
	// SeedRecords makes an unpartitioned table; replace: delete does not need partitions.
	tb, _ := tables.ByName("churn_list")
	if err := bqsink.EnsureTable(ctx, c, tb); err != nil {
		t.Fatal(err)
	}
	md, err := c.BigQuery().Dataset(cfg.Dataset).Table("churn_list").Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range md.Schema {
		mode := "NULLABLE"
		if f.Required {
			mode = "REQUIRED"
		}
		got = append(got, f.Name+" "+canon(f.Type)+" "+mode)
	}
	want := []string{
		"run_date DATE REQUIRED", "customer_id STRING REQUIRED", "legacy_score INT64 NULLABLE",
		"period STRING NULLABLE", "currency STRING NULLABLE", "last_order_date DATE NULLABLE",
		"orders INT64 NULLABLE", "revenue FLOAT64 NULLABLE",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("schema after drift (-want +got):\n%s", diff)
	}

	bad := bq.Schema{{Name: "run_date", Type: bq.DateFieldType}, {Name: "revenue", Type: bq.StringFieldType}}
	if err := bqtest.SeedRecords(ctx, c, "churn_typo", bad, nil); err != nil {
		t.Fatal(err)
	}
	badTable := tables.Table{Name: "churn_typo", Row: tables.ChurnList{}, Cluster: []string{"customer_id"}}
	err = bqsink.EnsureTable(ctx, c, badTable)
	if err == nil || !strings.Contains(err.Error(), "revenue is STRING in BigQuery but FLOAT in Go") {
		t.Errorf("type change: err = %v", err)
	}
}
