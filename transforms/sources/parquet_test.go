package sources

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/value"
	"github.com/parquet-go/parquet-go"
)

// pqOrder is an orders file as a warehouse export would type it.
type pqOrder struct {
	OrderID    string    `parquet:"order_id"`
	CustomerID string    `parquet:"customer_id"`
	OrderedAt  int32     `parquet:"ordered_at,date"`
	Status     string    `parquet:"status"`
	Amount     float64   `parquet:"amount"`
	Currency   string    `parquet:"currency"`
	Consent    bool      `parquet:"consent"`
	UpdatedAt  time.Time `parquet:"updated_at,timestamp(millisecond)"`
	Net        int64     `parquet:"net,decimal(2:18)"`
	Qty        int32     `parquet:"qty"`
}

func writeParquet[T any](t *testing.T, rows []T, rowsPerGroup int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.parquet")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[T](f, parquet.MaxRowsPerRowGroup(rowsPerGroup))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParquetInput(t *testing.T) {
	// 2024-03-05 is day 19787 (2024-01-01 is 19723, + 31 + 29 + 4). 10:20:30.5 that day is
	// 1709596800000 + 37230500 ms since the epoch.
	ts := time.UnixMilli(1709596800000 + 37230500).UTC()
	rows := []pqOrder{
		{"O1", "C1", 19787, "completed", 12.5, "RUB", true, ts, 1250, 1},
		{"O2", "C1", 19788, "cancelled", 0.1, "rub", false, ts.Add(time.Hour), -5, 2},
		{"O3", "C2", 19723, "completed", 100, "RUB", true, ts, 0, 3},
		{"O4", "C3", 0, "refunded", 1234.5, "EUR", false, ts, 123456, 4},
		{"O5", "C4", 19787, "completed", 7, "USD", true, ts, 7, 5},
	}
	p := writeParquet(t, rows, 2) // row groups [O1 O2] [O3 O4] [O5]
	ctx := context.Background()
	splits, err := Plan(ctx, orders.InputOrders, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(splits) != 3 {
		t.Fatalf("%d splits, want one per row group (3): %+v", len(splits), splits)
	}
	for i, want := range []int64{1, 3, 5} {
		s := splits[i]
		if s.Format != "parquet" || s.Start != int64(i) || s.End != int64(i)+1 || s.FirstLine != want {
			t.Errorf("split %d = %+v, want row group %d from row %d", i, s, i, want)
		}
	}
	header, err := ReadHeader(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{"order_id", "customer_id", "ordered_at", "status", "amount", "currency", "consent", "updated_at", "net", "qty"}
	if !reflect.DeepEqual(header, wantHeader) || !reflect.DeepEqual(splits[0].Header, wantHeader) {
		t.Errorf("header %q, split header %q", header, splits[0].Header)
	}

	// Every column, in file order, as text.
	all := orders.Index{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	recs, bad := readAll(t, splits, all)
	if len(bad) > 0 {
		t.Errorf("bad: %v", bad)
	}
	want := []readRec{
		{1, []string{"O1", "C1", "2024-03-05", "completed", "12.5", "RUB", "true", "2024-03-05T10:20:30.5Z", "12.50", "1"}},
		{2, []string{"O2", "C1", "2024-03-06", "cancelled", "0.1", "rub", "false", "2024-03-05T11:20:30.5Z", "-0.05", "2"}},
		{3, []string{"O3", "C2", "2024-01-01", "completed", "100", "RUB", "true", "2024-03-05T10:20:30.5Z", "0.00", "3"}},
		{4, []string{"O4", "C3", "1970-01-01", "refunded", "1234.5", "EUR", "false", "2024-03-05T10:20:30.5Z", "1234.56", "4"}},
		{5, []string{"O5", "C4", "2024-03-05", "completed", "7", "USD", "true", "2024-03-05T10:20:30.5Z", "0.07", "5"}},
	}
	if !reflect.DeepEqual(recs, want) {
		t.Errorf("records:\n got %+v\nwant %+v", recs, want)
	}

	// Through the orders schema the text parses exactly as the CSV text would.
	idx, err := orders.OrdersSchema.Bind(p, header)
	if err != nil {
		t.Fatal(err)
	}
	recs, _ = readAll(t, splits, idx)
	o, rej := orders.ParseOrder(idx, recs[0].Fields)
	if rej != nil || o.Day != 19787 || o.Amount != 125000 || o.Status != orders.StatusCompleted || o.Channel != "" {
		t.Errorf("orders.ParseOrder(parquet row 1) = %+v, %+v", o, rej)
	}
	if d, ok, err := MaxDay(ctx, p); err != nil || !ok || d != 19788 {
		t.Errorf("MaxDay(parquet) = %d, %v, %v; want 19788", d, ok, err)
	}
	// The typed decimal parses as value.Money too.
	if m, err := value.ParseMoney(recs[1].Fields[4]); err != nil || m != 1000 {
		t.Errorf("amount 0.1 -> %d, %v", m, err)
	}
}

func TestParquetNullsAndStrings(t *testing.T) {
	type row struct {
		CustomerID string  `parquet:"customer_id"`
		Email      *string `parquet:"email,optional"`
		Phone      string  `parquet:"phone"`
		Country    string  `parquet:"country"`
		Consent    *bool   `parquet:"marketing_consent,optional"`
		CreatedAt  *int32  `parquet:"created_at,date,optional"`
	}
	e, yes, d := "a@example.com", true, int32(19723)
	p := writeParquet(t, []row{
		{"C1", &e, "+79161234567", "RU", &yes, &d},
		{"C2", nil, "", "", nil, nil},
	}, 10)
	splits, err := Plan(context.Background(), orders.InputCustomers, p, 0)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := orders.CustomersSchema.Bind(p, splits[0].Header)
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := readAll(t, splits, idx)
	want := []readRec{
		{1, []string{"C1", "a@example.com", "+79161234567", "RU", "true", "2024-01-01"}},
		{2, []string{"C2", "", "", "", "", ""}}, // nulls read as empty text
	}
	if !reflect.DeepEqual(recs, want) {
		t.Errorf("records:\n got %+v\nwant %+v", recs, want)
	}
	c, rej := orders.ParseCustomer(idx, recs[1].Fields)
	if rej != nil || c.MarketingConsent || c.CreatedAt != 0 {
		t.Errorf("null customer = %+v, %+v", c, rej)
	}
}

func TestDecimalString(t *testing.T) {
	for _, c := range []struct {
		n     int64
		scale int
		want  string
	}{{1250, 2, "12.50"}, {-5, 2, "-0.05"}, {7, 4, "0.0007"}, {123, 0, "123"}, {-123456, 3, "-123.456"}} {
		if got := decimalString(bigInt(c.n), c.scale); got != c.want {
			t.Errorf("decimalString(%d, %d) = %q, want %q", c.n, c.scale, got, c.want)
		}
	}
}
