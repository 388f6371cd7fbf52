//go:build bqemulator

package sources_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	bq "cloud.google.com/go/bigquery"
	"github.com/google/go-cmp/cmp"

	bqsink "github.com/audiencesync/audiencesync/sinks/bigquery"
	"github.com/audiencesync/audiencesync/sinks/bigquery/bqtest"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/sources"
)

// ordersCSV is an orders input as the CSV reader would get it.
var ordersCSV = [][]string{
	{"order_id", "customer_id", "ordered_at", "status", "amount", "currency", "channel"},
	{"o1", "c1", "2026-01-05T10:00:00Z", "completed", "1500.50", "RUB", "yandex"},
	{"o2", "c1", "2026-02-01T12:30:00.25Z", "partially_refunded", "99.9999", "RUB", ""},
	{"o3", "c2", "2026-02-03T00:00:00Z", "cancelled", "0", "USD", "vk"},
	{"o4", "c3", "2025-12-31", "completed", "12.3", "EUR", "meta"},
}

// A shop's orders table in BigQuery holds typed columns, not text, and columns the
// pipeline does not read.
var ordersSchema = append(slices.Clone(bqtest.OrdersSchema), &bq.FieldSchema{Name: "internal_note", Type: bq.StringFieldType})

var customersCSV = [][]string{
	{"customer_id", "email", "phone", "country", "marketing_consent", "created_at"},
	{"c1", "Anna@Example.com", "+7 (912) 345-67-89", "RU", "true", "2025-11-02"},
	{"c2", "", "", "", "false", "2026-01-15"},
}

var customersSchema = bqtest.CustomersSchema

// bound puts a row's fields in the schema's column order, as the readers do.
func bound(idx orders.Index, row []string) []string {
	out := make([]string, len(idx))
	for i := range idx {
		out[i] = idx.Get(row, i)
	}
	return out
}

// parseOrders runs the CSV path's own validator (orders.OrdersSchema.Bind +
// orders.ParseOrder) over a header and rows.
func parseOrders(t *testing.T, header []string, rows [][]string) []orders.Order {
	t.Helper()
	return parseRows(t, orders.OrdersSchema, "orders", header, rows, orders.ParseOrder)
}

func parseCustomers(t *testing.T, header []string, rows [][]string) []orders.Customer {
	t.Helper()
	return parseRows(t, orders.CustomersSchema, "customers", header, rows, orders.ParseCustomer)
}

// parseRows binds the header to schema and parses every row with parse, as the CSV path does.
func parseRows[T any](t *testing.T, schema orders.Schema, file string, header []string, rows [][]string, parse func([]string, *orders.Zone) (T, *orders.Reject)) []T {
	t.Helper()
	idx, err := schema.Bind(file, header)
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	for i, r := range rows {
		x, rej := parse(bound(idx, r), orders.NewZone(nil))
		if rej != nil {
			t.Fatalf("%s row %d rejected: %+v", file, i+1, rej)
		}
		out = append(out, x)
	}
	return out
}

// TestReadOrdersLikeCSV: orders and customers seeded into typed BigQuery tables come back
// through bq:// as the text the CSV input holds: equal after the same parsing, and equal
// text except the documented normal forms (NUMERIC without trailing zeros).
func TestReadOrdersLikeCSV(t *testing.T) {
	c, ctx := bqtest.Client(t)
	cfg := c.Config()
	if err := bqtest.SeedRecords(ctx, c, "shop_orders", ordersSchema, ordersCSV); err != nil {
		t.Fatal(err)
	}
	if err := bqtest.SeedRecords(ctx, c, "shop_customers", customersSchema, customersCSV); err != nil {
		t.Fatal(err)
	}
	rest, err := withReadAPI(ctx, c, bqsink.ReadREST)
	if err != nil {
		t.Fatal(err)
	}
	defer rest.Close()
	ordersSrc := "bq://" + cfg.Project + "." + cfg.Dataset + ".shop_orders"
	// "utm_source" is not in the table: like a CSV file without that optional column, it
	// is left out of the header.
	cols := []string{"order_id", "customer_id", "ordered_at", "status", "amount", "currency", "channel", "utm_source"}
	wantText := [][]string{
		{"o1", "c1", "2026-01-05T10:00:00Z", "completed", "1500.5", "RUB", "yandex"},
		{"o2", "c1", "2026-02-01T12:30:00.25Z", "partially_refunded", "99.9999", "RUB", ""},
		{"o3", "c2", "2026-02-03T00:00:00Z", "cancelled", "0", "USD", "vk"},
		{"o4", "c3", "2025-12-31T00:00:00Z", "completed", "12.3", "EUR", "meta"},
	}
	for api, rc := range map[string]*bqsink.Client{"storage": c, "rest": rest} {
		t.Run(api, func(t *testing.T) {
			header, rows, err := bqtest.ReadAll(ctx, rc, ordersSrc, cols)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ordersCSV[0], header); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			rows = sorted(rows)
			if diff := cmp.Diff(wantText, rows); diff != "" {
				t.Errorf("orders text (-want +got):\n%s", diff)
			}
			// The same validator gives the same orders from both sources.
			if diff := cmp.Diff(parseOrders(t, ordersCSV[0], ordersCSV[1:]), parseOrders(t, header, rows)); diff != "" {
				t.Errorf("parsed orders, CSV vs BigQuery (-csv +bq):\n%s", diff)
			}
			h, crows, err := bqtest.ReadAll(ctx, rc, "bq://"+cfg.Project+"."+cfg.Dataset+".shop_customers", customersCSV[0])
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(customersCSV[0], h); diff != "" {
				t.Errorf("customers header (-want +got):\n%s", diff)
			}
			crows = sorted(crows)
			if diff := cmp.Diff(customersCSV[1:], crows); diff != "" {
				t.Errorf("customers (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(parseCustomers(t, customersCSV[0], customersCSV[1:]), parseCustomers(t, h, crows)); diff != "" {
				t.Errorf("parsed customers, CSV vs BigQuery (-csv +bq):\n%s", diff)
			}
		})
	}

	// A query source: its result table is read the same way.
	q := "SELECT order_id, amount FROM `" + cfg.Project + "." + cfg.Dataset + ".shop_orders` WHERE currency = 'RUB'"
	_, rows, err := bqtest.ReadAll(ctx, c, "bq://"+cfg.Project+"?query="+url.QueryEscape(q), nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{{"o1", "1500.5"}, {"o2", "99.9999"}}, sorted(rows)); diff != "" {
		t.Errorf("query source (-want +got):\n%s", diff)
	}

	// Splits: plain data a Beam DoFn can read one by one.
	splits, err := sources.BQSplits(ctx, c, ordersSrc, []string{"order_id"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, s := range splits {
		if s.Stream == "" || len(s.ArrowSchema) == 0 {
			t.Errorf("storage split without stream/schema: %+v", s)
		}
		if err := sources.BQReadSplit(ctx, c, s, func([]string) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if n != 4 {
		t.Errorf("splits read %d rows, want 4", n)
	}
}

// TestSeedCSVFile: a CSV input file (with an extra column the reader ignores) seeded into a
// typed table reads back as the same orders the CSV validator makes of the file.
func TestSeedCSVFile(t *testing.T) {
	c, ctx := bqtest.Client(t)
	cfg := c.Config()
	path := filepath.Join(t.TempDir(), "orders.csv")
	csvText := "order_id,customer_id,ordered_at,status,amount,currency,channel,note\n" +
		"O1,C1,2026-08-29,refunded,15517.00,RUB,ads,x\n" +
		"O2,C2,2025-12-04 10:11:12,completed,62484.5,RUB,,y\n"
	if err := os.WriteFile(path, []byte(csvText), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := bqtest.SeedCSVFile(ctx, c, "orders_in", bqtest.OrdersSchema, path); err != nil {
		t.Fatal(err)
	}
	header, rows, err := bqtest.ReadAll(ctx, c, "bq://"+cfg.Project+"."+cfg.Dataset+".orders_in", orders.OrdersSchema.Columns())
	if err != nil {
		t.Fatal(err)
	}
	csvRows := [][]string{
		{"O1", "C1", "2026-08-29", "refunded", "15517.00", "RUB", "ads", "x"},
		{"O2", "C2", "2025-12-04 10:11:12", "completed", "62484.5", "RUB", "", "y"},
	}
	csvHeader := []string{"order_id", "customer_id", "ordered_at", "status", "amount", "currency", "channel", "note"}
	if diff := cmp.Diff(parseOrders(t, csvHeader, csvRows), parseOrders(t, header, sorted(rows))); diff != "" {
		t.Errorf("parsed orders, CSV vs BigQuery (-csv +bq):\n%s", diff)
	}
}

// sorted orders rows by their text, for comparisons that must not depend on read order.
func sorted(rows [][]string) [][]string {
	sort.Slice(rows, func(i, j int) bool { return strings.Join(rows[i], "\x00") < strings.Join(rows[j], "\x00") })
	return rows
}

// withReadAPI returns a second client on the same dataset that reads through api.
func withReadAPI(ctx context.Context, c *bqsink.Client, api string) (*bqsink.Client, error) {
	cfg := c.Config()
	cfg.ReadAPI = api
	return bqsink.NewClient(ctx, cfg)
}
