package sources

import (
	"bytes"
	"context"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/civil"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/decimal128"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/audiencesync/audiencesync/sinks/bigquery"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/google/go-cmp/cmp"
)

func TestParseBQSource(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want BQSource
	}{
		{"bq://shop-prod.raw.orders", BQSource{Project: "shop-prod", Dataset: "raw", Table: "orders"}},
		{"bq://example.com:shop.raw.orders", BQSource{Project: "example.com:shop", Dataset: "raw", Table: "orders"}},
		{"bq://shop-prod?query=SELECT%20*%20FROM%20raw.orders%20WHERE%20x%3D'a%26b'", BQSource{Project: "shop-prod", Query: "SELECT * FROM raw.orders WHERE x='a&b'"}},
		{"bq://p?query=SELECT+1", BQSource{Project: "p", Query: "SELECT 1"}},
	} {
		got, err := ParseBQSource(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.in, got, tc.want)
		}
		if back, _ := ParseBQSource(got.String()); back != got {
			t.Errorf("%s: String() %q does not parse back", tc.in, got.String())
		}
	}
	for _, bad := range []string{"gs://a/b", "bq://orders", "bq://raw.orders", "bq://p..t", "bq://p.d.", "bq://p?q=SELECT", "bq://?query=SELECT%201"} {
		if _, err := ParseBQSource(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

var tenth = 0.1 // a variable, so that tenth+0.2 is float64 arithmetic

func TestBQFormatValue(t *testing.T) {
	r, _ := new(big.Rat).SetString("1500.500000000")
	neg, _ := new(big.Rat).SetString("-0.000000001")
	for _, tc := range []struct {
		v    any
		want string
	}{
		{nil, ""},
		{"x", "x"},
		{int64(-3), "-3"},
		{1500.5, "1500.5"},
		{1e21, "1000000000000000000000"},
		{tenth + 0.2, "0.30000000000000004"}, // float64 sum, not an exact constant
		{true, "true"},
		{civil.Date{Year: 2026, Month: 2, Day: 3}, "2026-02-03"},
		{civil.DateTime{Date: civil.Date{Year: 2026, Month: 2, Day: 3}, Time: civil.Time{Hour: 4, Minute: 5, Second: 6}}, "2026-02-03T04:05:06"},
		{time.Date(2026, 2, 3, 4, 5, 6, 250_000_000, time.FixedZone("X", 3600)), "2026-02-03T03:05:06.25Z"},
		{r, "1500.5"},
		{neg, "-0.000000001"},
		{new(big.Rat), "0"},
		{[]byte{0xff, 0}, "/wA="},
	} {
		if got := bqFormatValue(tc.v, ""); got != tc.want {
			t.Errorf("bqFormatValue(%#v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestBQDecimalString(t *testing.T) {
	for _, tc := range []struct {
		unscaled string
		scale    int32
		want     string
	}{
		{"1500500000000", 9, "1500.5"},
		{"-12300000000", 9, "-12.3"},
		{"1", 9, "0.000000001"},
		{"-1", 9, "-0.000000001"},
		{"0", 9, "0"},
		{"99999900000", 9, "99.9999"},
		{"42", 0, "42"},
	} {
		v, _ := new(big.Int).SetString(tc.unscaled, 10)
		if got := bqDecimalString(v, tc.scale); got != tc.want {
			t.Errorf("bqDecimalString(%s, %d) = %q, want %q", tc.unscaled, tc.scale, got, tc.want)
		}
	}
}

// bigQueryStyleArrow builds what BigQuery's Storage Read API sends: the session's schema as
// a bare IPC schema message and each batch as a bare record-batch message (no schema, no
// end-of-stream marker). The emulator sends whole streams; the emulator test covers that.
func bigQueryStyleArrow(t *testing.T) (schema, batch []byte) {
	t.Helper()
	s := arrow.NewSchema([]arrow.Field{
		{Name: "order_id", Type: arrow.BinaryTypes.String},
		{Name: "ordered_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "amount", Type: &arrow.Decimal128Type{Precision: 38, Scale: 9}, Nullable: true},
		{Name: "created", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "consent", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	mem := memory.NewGoAllocator()
	var schemaOnly bytes.Buffer
	w := ipc.NewWriter(&schemaOnly, ipc.WithSchema(s), ipc.WithAllocator(mem))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	const eos = 8 // continuation marker + zero length
	schema = schemaOnly.Bytes()[:schemaOnly.Len()-eos]

	b := array.NewRecordBuilder(mem, s)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"o1", "o2"}, nil)
	ts := b.Field(1).(*array.TimestampBuilder)
	ts.Append(arrow.Timestamp(time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC).UnixMicro()))
	ts.AppendNull()
	dec := b.Field(2).(*array.Decimal128Builder)
	dec.Append(decimal128.FromI64(1500_500_000_000))
	dec.Append(decimal128.FromI64(-12_300_000_000))
	d := b.Field(3).(*array.Date32Builder)
	d.Append(arrow.Date32(20454)) // 56 years x 365 + 14 leap days (1972..2024) = 2026-01-01
	d.AppendNull()
	b.Field(4).(*array.BooleanBuilder).AppendValues([]bool{true, false}, nil)
	b.Field(5).(*array.Int64Builder).AppendValues([]int64{7, -1}, nil)
	b.Field(6).(*array.Float64Builder).AppendValues([]float64{tenth + 0.2, 2}, nil)
	rec := b.NewRecord()
	defer rec.Release()
	var full bytes.Buffer
	w = ipc.NewWriter(&full, ipc.WithSchema(s), ipc.WithAllocator(mem))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return schema, full.Bytes()[len(schema) : full.Len()-eos]
}

func TestDecodeBigQueryStyleArrow(t *testing.T) {
	schema, batch := bigQueryStyleArrow(t)
	s := BQSplit{
		Source:      "bq://p.d.orders",
		Header:      []string{"consent", "order_id", "ordered_at", "amount", "created", "n", "x"},
		Types:       []string{"BOOL", "STRING", "TIMESTAMP", "NUMERIC", "DATE", "INT64", "FLOAT64"},
		ArrowSchema: schema,
	}
	var got [][]string
	n, err := decodeArrowBatch(s, batch, func(r []string) error { got = append(got, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"true", "o1", "2026-01-05T10:00:00Z", "1500.5", "2026-01-01", "7", "0.30000000000000004"},
		{"false", "o2", "", "-12.3", "", "-1", "2"},
	}
	if n != 2 {
		t.Errorf("n = %d", n)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	s.Header = append(s.Header, "missing")
	s.Types = append(s.Types, "STRING")
	if _, err := decodeArrowBatch(s, batch, func([]string) error { return nil }); err == nil || !strings.Contains(err.Error(), "lacks column missing") {
		t.Errorf("missing column: err = %v", err)
	}
}

// A read stream behind an endpoint that only answers 503 stops at bigquery.timeout: the
// client would retry it without end, and the run would never finish.
func TestBQReadSplitStopsAtTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":{"code":503,"message":"unavailable"}}`, http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	ext, err := json.Marshal(BQSplit{Source: "bq://p.raw.orders", Table: "p.raw.orders", Header: []string{"order_id"}, Types: []string{"STRING"}})
	if err != nil {
		t.Fatal(err)
	}
	r := &BQReader{Config: bigquery.Config{Project: "p", Dataset: "d", Endpoint: srv.URL, ReadAPI: bigquery.ReadREST, Timeout: 2 * time.Second}}
	defer r.Close()
	s := Split{Input: orders.InputOrders, Path: "bq://p.raw.orders", Format: "bq", Ext: ext}
	err = r.ReadSplit(context.Background(), s, func([]string) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "reading stream 0 (no row for that long) did not finish within bigquery.timeout (2s)") {
		t.Fatalf("ReadSplit: %v; want it stopped at bigquery.timeout", err)
	}
	// Planning (the pipeline plans bq:// inputs in a DoFn: read sessions, a query source's
	// job) gets the same bound, for a table and for a query.
	for _, src := range []string{"bq://p.raw.orders", "bq://p?query=" + url.QueryEscape("SELECT * FROM raw.orders")} {
		_, err := PlanBigQuery(context.Background(), r.Config, orders.InputOrders, src)
		if err == nil || !strings.Contains(err.Error(), "planning "+src+" did not finish within bigquery.timeout (2s)") {
			t.Errorf("PlanBigQuery(%s): %v; want it stopped at bigquery.timeout", src, err)
		}
	}
}
