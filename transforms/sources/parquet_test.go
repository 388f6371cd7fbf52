package sources

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
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
	closeAll(t, w, f)
	return p
}

// closeAll closes a writer, then its file.
func closeAll(t *testing.T, cs ...io.Closer) {
	t.Helper()
	for _, c := range cs {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
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

	// Read binds the orders schema's columns by name; channel is absent.
	recs := wantRecords(t, splits, []readRec{
		{1, []string{"O1", "C1", "2024-03-05", "completed", "12.5", "RUB", ""}},
		{2, []string{"O2", "C1", "2024-03-06", "cancelled", "0.1", "rub", ""}},
		{3, []string{"O3", "C2", "2024-01-01", "completed", "100", "RUB", ""}},
		{4, []string{"O4", "C3", "1970-01-01", "refunded", "1234.5", "EUR", ""}},
		{5, []string{"O5", "C4", "2024-03-05", "completed", "7", "USD", ""}},
	})
	// Every column's text form, in file order.
	wantText := [][]string{
		{"O1", "C1", "2024-03-05", "completed", "12.5", "RUB", "true", "2024-03-05T10:20:30.5Z", "12.50", "1"},
		{"O2", "C1", "2024-03-06", "cancelled", "0.1", "rub", "false", "2024-03-05T11:20:30.5Z", "-0.05", "2"},
		{"O3", "C2", "2024-01-01", "completed", "100", "RUB", "true", "2024-03-05T10:20:30.5Z", "0.00", "3"},
		{"O4", "C3", "1970-01-01", "refunded", "1234.5", "EUR", "false", "2024-03-05T10:20:30.5Z", "1234.56", "4"},
		{"O5", "C4", "2024-03-05", "completed", "7", "USD", "true", "2024-03-05T10:20:30.5Z", "0.07", "5"},
	}
	if got := allText(t, p); !reflect.DeepEqual(got, wantText) {
		t.Errorf("text:\n got %q\nwant %q", got, wantText)
	}

	// Through the orders schema the text parses exactly as the CSV text would.
	o, rej := orders.ParseOrder(recs[0].Fields, orders.NewZone(nil))
	if rej != nil || o.Day != 19787 || o.Amount != 125000 || o.Status != orders.StatusCompleted || o.Channel != "" {
		t.Errorf("orders.ParseOrder(parquet row 1) = %+v, %+v", o, rej)
	}
	// The latest accepted purchase: O2 (03-06) is cancelled, so O1/O5 on 03-05.
	if d, ok, err := MaxPurchaseDay(ctx, splits, nil, orders.NewZone(nil), 0); err != nil || !ok || d != 19787 {
		t.Errorf("MaxPurchaseDay(parquet) = %d, %v, %v; want 19787", d, ok, err)
	}
	// The typed decimal parses as value.Money too.
	if m, err := value.ParseMoney(recs[1].Fields[4]); err != nil || m != 1000 {
		t.Errorf("amount 0.1 -> %d, %v", m, err)
	}
}

// allText formats every leaf of every row of a flat Parquet file, in file order.
func allText(t *testing.T, p string) [][]string {
	t.Helper()
	ra, f, err := openParquet(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	defer ra.Close()
	var out [][]string
	for _, rg := range f.RowGroups() {
		rows := rg.Rows()
		buf := make([]parquet.Row, 10)
		for {
			n, err := rows.ReadRows(buf)
			for _, r := range buf[:n] {
				var line []string
				for _, v := range r {
					leaf, _ := f.Schema().Lookup(f.Schema().Columns()[v.Column()]...)
					line = append(line, formatValue(leaf.Node, v))
				}
				out = append(out, line)
			}
			if err != nil {
				break
			}
		}
		rows.Close()
	}
	return out
}

// writeSchema writes rows (maps of column name to value) with an explicit schema.
func writeSchema(t *testing.T, schema *parquet.Schema, rows ...map[string]any) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.parquet")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewWriter(f, schema)
	for _, r := range rows {
		if _, err := w.WriteRows([]parquet.Row{schema.Deconstruct(nil, r)}); err != nil {
			t.Fatal(err)
		}
	}
	closeAll(t, w, f)
	return p
}

// A Parquet file's columns are bound by name: alphabetical order and a nested column
// before the used ones (its two leaves come first in the file) read the same fields as the
// canonical CSV file. Before, leaves were taken by position and everything shifted.
func TestParquetBindsColumnsByName(t *testing.T) {
	csv := writeTemp(t, "orders.csv", ordersHeader+"\n"+
		"O1,C1,2024-01-05T10:00:00Z,completed,100.5,RUB,ads\n"+
		"O2,C2,2024-01-06,cancelled,7,EUR,\n")
	schema := parquet.NewSchema("orders", parquet.Group{ // a Group's columns are sorted by name
		"address":     parquet.Group{"city": parquet.String(), "zip": parquet.Optional(parquet.String())},
		"amount":      parquet.String(),
		"channel":     parquet.Optional(parquet.String()),
		"currency":    parquet.String(),
		"customer_id": parquet.String(),
		"order_id":    parquet.String(),
		"ordered_at":  parquet.String(),
		"status":      parquet.String(),
	})
	pq := writeSchema(t, schema,
		map[string]any{"address": map[string]any{"city": "Moscow", "zip": "101000"}, "amount": "100.5", "channel": "ads", "currency": "RUB",
			"customer_id": "C1", "order_id": "O1", "ordered_at": "2024-01-05T10:00:00Z", "status": "completed"},
		map[string]any{"address": map[string]any{"city": "Kazan", "zip": nil}, "amount": "7", "channel": nil, "currency": "EUR",
			"customer_id": "C2", "order_id": "O2", "ordered_at": "2024-01-06", "status": "cancelled"})
	fields := func(p string) [][]string {
		sp, err := Plan(context.Background(), orders.InputOrders, p, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		recs, bad := readAll(t, sp)
		if len(bad) > 0 {
			t.Fatalf("%s: bad %v", p, bad)
		}
		var out [][]string
		for _, r := range recs {
			out = append(out, r.Fields)
		}
		return out
	}
	want := [][]string{
		{"O1", "C1", "2024-01-05T10:00:00Z", "completed", "100.5", "RUB", "ads"},
		{"O2", "C2", "2024-01-06", "cancelled", "7", "EUR", ""},
	}
	if got := fields(csv); !reflect.DeepEqual(got, want) {
		t.Errorf("csv: %q", got)
	}
	if got := fields(pq); !reflect.DeepEqual(got, want) {
		t.Errorf("parquet, alphabetical with a nested column first:\n got %q\nwant %q", got, want)
	}
	// A schema column that is a group cannot be read as one value: fail naming it.
	bad := parquet.NewSchema("orders", parquet.Group{
		"amount": parquet.Group{"value": parquet.String(), "currency": parquet.String()}, "currency": parquet.String(),
		"customer_id": parquet.String(), "order_id": parquet.String(), "ordered_at": parquet.String(), "status": parquet.String(),
	})
	p := writeSchema(t, bad, map[string]any{"amount": map[string]any{"value": "1", "currency": "RUB"}, "currency": "RUB",
		"customer_id": "C1", "order_id": "O1", "ordered_at": "2024-01-01", "status": "completed"})
	if _, err := Plan(context.Background(), orders.InputOrders, p, 0); err == nil || !strings.Contains(err.Error(), "column amount") || !strings.Contains(err.Error(), "nested") {
		t.Errorf("nested amount: %v", err)
	}
}

// Decimals are two's complement whatever their physical type. Worked by hand: 0xFFFFFF9C
// is -100 (read as unsigned it was 4294967196, i.e. 42,949,671.96 at scale 2); 0x80 is
// -128; 0x00FF is 255; 0xFF00 is -256.
func TestParquetNegativeDecimals(t *testing.T) {
	schema := parquet.NewSchema("d", parquet.Group{
		"fixed": parquet.Decimal(2, 9, parquet.FixedLenByteArrayType(4)),
		"bytes": parquet.Decimal(2, 20, parquet.ByteArrayType),
		"i32":   parquet.Decimal(2, 9, parquet.Int32Type),
		"i64":   parquet.Decimal(2, 18, parquet.Int64Type),
	})
	p := writeSchema(t, schema,
		map[string]any{"fixed": []byte{0xff, 0xff, 0xff, 0x9c}, "bytes": []byte{0x80}, "i32": int32(-100), "i64": int64(-1)},
		map[string]any{"fixed": []byte{0x00, 0x00, 0x04, 0xd2}, "bytes": []byte{0x00, 0xff}, "i32": int32(1234), "i64": int64(-123456789)},
		map[string]any{"fixed": []byte{0x80, 0x00, 0x00, 0x00}, "bytes": []byte{0xff, 0x00}, "i32": int32(-2147483648), "i64": int64(0)},
	)
	// Columns come sorted by name: bytes, fixed, i32, i64.
	want := [][]string{
		{"-1.28", "-1.00", "-1.00", "-0.01"},
		{"2.55", "12.34", "12.34", "-1234567.89"},
		{"-2.56", "-21474836.48", "-21474836.48", "0.00"},
	}
	if got := allText(t, p); !reflect.DeepEqual(got, want) {
		t.Errorf("decimals:\n got %q\nwant %q", got, want)
	}
}

// A TIMESTAMP adjusted to UTC is an instant; one that is not is a wall-clock time, read
// in the shop's zone. 2024-02-29 22:30 (1709245800000 ms: 19782 days + 81000 s): in
// Moscow the instant is 01:30 on 03-01 (19783); the wall-clock time stays on 02-29.
func TestParquetTimestamps(t *testing.T) {
	schema := parquet.NewSchema("t", parquet.Group{
		"utc":   parquet.TimestampAdjusted(parquet.Millisecond, true),
		"local": parquet.TimestampAdjusted(parquet.Millisecond, false),
	})
	p := writeSchema(t, schema, map[string]any{"utc": int64(1709245800000), "local": int64(1709245800000)})
	got := allText(t, p)
	want := [][]string{{"2024-02-29T22:30:00", "2024-02-29T22:30:00Z"}} // local, utc
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("text %q, want %q", got, want)
	}
	z, _ := orders.LoadZone("Europe/Moscow")
	if d, _ := z.Day(got[0][0]); d != 19782 {
		t.Errorf("wall-clock time in Moscow: %s", d)
	}
	if d, _ := z.Day(got[0][1]); d != 19783 {
		t.Errorf("UTC instant in Moscow: %s", d)
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
	recs, _ := readAll(t, splits)
	want := []readRec{
		{1, []string{"C1", "a@example.com", "+79161234567", "RU", "true", "2024-01-01"}},
		{2, []string{"C2", "", "", "", "", ""}}, // nulls read as empty text
	}
	if !reflect.DeepEqual(recs, want) {
		t.Errorf("records:\n got %+v\nwant %+v", recs, want)
	}
	c, rej := orders.ParseCustomer(recs[1].Fields, orders.NewZone(nil))
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

// Any bytes as an orders Parquet file (seeded with a valid one, which the fuzzer damages):
// the reader returns rows, bad rows or an error, never panics.
func FuzzReadParquet(f *testing.F) {
	f.Add(validOrdersParquet(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "orders.parquet")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		readFile(p, 1<<30) // an error is the right answer to a damaged file; a panic is not
	})
}

// validOrdersParquet is a small orders file in two row groups with typed columns (timestamp,
// dictionary, decimal, optional).
func validOrdersParquet(tb testing.TB) []byte {
	type order struct {
		OrderID    string    `parquet:"order_id"`
		CustomerID string    `parquet:"customer_id"`
		OrderedAt  time.Time `parquet:"ordered_at,timestamp(millisecond)"`
		Status     string    `parquet:"status,dict"`
		Amount     int64     `parquet:"amount,decimal(2:18)"`
		Currency   string    `parquet:"currency"`
		Channel    *string   `parquet:"channel,optional"`
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[order](&buf, parquet.MaxRowsPerRowGroup(2))
	ch := "ads"
	if _, err := w.Write([]order{
		{"O1", "C1", time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC), "completed", 1234, "RUB", &ch},
		{"O2", "C2", time.Date(2024, 1, 2, 10, 0, 0, 0, time.UTC), "refunded", -5, "RUB", nil},
		{"O3", "C1", time.Date(2024, 1, 3, 10, 0, 0, 0, time.UTC), "completed", 99, "EUR", &ch},
	}); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// Damaged Parquet files (a few bytes changed, as on a flaky upload) are errors that name the
// file, never a panic: parquet-go indexes out of range on some of them (3 of the first 200
// below did before the reader recovered them; found by FuzzReadParquet).
func TestDamagedParquetIsAnError(t *testing.T) {
	seed := validOrdersParquet(t)
	r := rand.New(rand.NewPCG(1, 2))
	dir := t.TempDir()
	errs := 0
	for i := 0; i < 400; i++ {
		data := append([]byte(nil), seed...)
		for k := 0; k < 1+r.IntN(4); k++ {
			data[r.IntN(len(data))] = byte(r.IntN(256))
		}
		p := filepath.Join(dir, fmt.Sprintf("orders-%d.parquet", i))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		func() {
			defer func() {
				if e := recover(); e != nil {
					t.Fatalf("damaged file %d: panic %v", i, e)
				}
			}()
			if _, _, err := readFile(p, 1<<30); err != nil {
				errs++
				if !strings.Contains(err.Error(), p) {
					t.Errorf("damaged file %d: error %q does not name the file", i, err)
				}
			}
		}()
	}
	if errs < 100 {
		t.Errorf("only %d of 400 damaged files were errors: is the damage reaching the pages?", errs)
	}
}
