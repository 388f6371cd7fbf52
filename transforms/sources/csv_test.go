package sources

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/orders"
)

func orderRow(i int) string {
	return fmt.Sprintf("O%d,C%d,2024-01-%02d,completed,%d.50,RUB,ads", i, i%7, 1+i%28, i)
}

// The case: a quote opened on line 100 of a 1,620-line file used to swallow every
// later row behind one dead letter. Now line 100 alone is dead-lettered (file, line) and
// the other 1,618 rows are read, at every split size.
func TestCSVUnterminatedQuoteStaysLocal(t *testing.T) {
	var b strings.Builder
	b.WriteString(ordersHeader + "\n")
	for line := 2; line <= 1620; line++ {
		r := orderRow(line)
		if line == 100 {
			r = strings.Replace(r, ",completed,", `,"completed,`, 1)
		}
		b.WriteString(r + "\n")
	}
	p := writeTemp(t, "orders.csv", b.String())
	for _, target := range []int64{1, 100, 4096, 1 << 30} {
		sp, err := Plan(context.Background(), orders.InputOrders, p, target)
		if err != nil {
			t.Fatal(err)
		}
		recs, bad := readAll(t, sp)
		if len(recs) != 1618 || len(bad) != 1 || !strings.HasPrefix(bad[100], "csv_syntax: line 100:") {
			t.Errorf("target %d: %d records, bad %v; want 1618 and line 100 only", target, len(recs), bad)
		}
	}
}

// A quote opened on line 3 and "closed" by the bare quote that ends line 6: read as a
// quoted field, the record would run over four lines and have 3 fields, not 7, so line 3
// alone is dead-lettered and lines 4 to 6 are read as they are (line 6's quote is then an
// ordinary character). The same with line 8's quoted field closing it in the middle of a
// line (a stray quote). A quoted field over two lines with the right count is a record
// (line 10).
func TestCSVResyncAfterAStrayQuote(t *testing.T) {
	content := ordersHeader + "\n" +
		orderRow(2) + "\n" +
		`O3,C3,"2024-01-03,completed,3,RUB,ads` + "\n" +
		orderRow(4) + "\n" +
		orderRow(5) + "\n" +
		`O6,C6,2024-01-06,completed,6,RUB,ads"` + "\n" +
		`O7,C7,"2024-01-07,completed,7,RUB,ads` + "\n" +
		`O8,C8,2024-01-08,completed,8,RUB,"ads, summer"` + "\n" +
		orderRow(9) + "\n" +
		`O10,C10,2024-01-10,completed,10,RUB,"two` + "\n" + `lines"` + "\n" +
		orderRow(12) + "\n"
	p := writeTemp(t, "orders.csv", content)
	sp, err := Plan(context.Background(), orders.InputOrders, p, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	recs, bad := readAll(t, sp)
	var rows []int64
	for _, r := range recs {
		rows = append(rows, r.Line)
	}
	if !reflect.DeepEqual(rows, []int64{2, 4, 5, 6, 8, 9, 10, 12}) || len(bad) != 2 ||
		!strings.Contains(bad[3], "quoted fields run over 4 lines and the record then has 3 fields, the header 7") ||
		!strings.Contains(bad[7], "a stray or unescaped quote") {
		t.Errorf("rows %v, bad %v; want [2 4 5 6 8 9 10 12] and lines 3 and 7", rows, bad)
	}
	if recs[3].Fields[6] != `ads"` || recs[4].Fields[6] != "ads, summer" || recs[6].Fields[6] != "two\nlines" {
		t.Errorf("fields %q, %q, %q", recs[3].Fields[6], recs[4].Fields[6], recs[6].Fields[6])
	}
}

// trickyCSV has every hard case at once: BOM, CRLF and LF, blank lines, bare quotes,
// escaped quotes, quoted newlines (also CRLF inside quotes), a stray quote after a closed
// field, an unterminated quote, short and long rows, a trailing comma, no final newline.
const trickyCSV = "\ufeff" + ordersHeader + "\r\n" +
	"O1,C1,2024-01-01,completed,1,RUB,ads\r\n" +
	"\r\n" +
	"O2,C2,2024-01-02,completed,2,RUB,5\" mattress\n" + // bare quote in an unquoted field
	"O3,C3,2024-01-03,completed,3,RUB,\"say \"\"hi\"\"\"\n" +
	"O4,C4,2024-01-04,completed,4,RUB,\"multi\r\nline\"\r\n" +
	"O5,C5,2024-01-05,completed,5,RUB,\"closed\"x\n" + // stray text after a closing quote
	"O6,C6,2024-01-06,completed,6,RUB\n" + // short
	"O7,C7,2024-01-07,completed,7,RUB,ads,extra\n" + // long
	"O8,C8,2024-01-08,completed,8,RUB,ads,,\n" + // trailing empty fields: fine
	"   \n" +
	"O9,C9,\"2024-01-09,completed,9,RUB,ads\n" + // opened here, closed by line 11's quote
	"O10,C10,2024-01-10,completed,10,RUB,\"a,b\"\n" +
	"O11,C11,2024-01-11,completed,11,RUB,ads\n" +
	"O12,C12,2024-01-12,completed,12,RUB,\"never closed\n" +
	"O13,C13,2024-01-13,completed,13,RUB,ads"

// Results must not depend on the split size: every target from 1 byte to the whole file
// reads the same rows and the same bad rows as one sequential read. Physical lines by
// hand: 1 header, 3 and 12 blank, 6-7 one record (a quoted CRLF), 8 a stray quote, 9
// short, 10 long, 11 a trailing empty field, 13 an opened quote that line 14's quote
// closes wrongly, 16 an unterminated quote, 17 the last line without a newline.
func TestCSVSplitSizeDoesNotMatter(t *testing.T) {
	p := writeTemp(t, "orders.csv", trickyCSV)
	want := []readRec{
		{2, []string{"O1", "C1", "2024-01-01", "completed", "1", "RUB", "ads"}},
		{4, []string{"O2", "C2", "2024-01-02", "completed", "2", "RUB", "5\" mattress"}},
		{5, []string{"O3", "C3", "2024-01-03", "completed", "3", "RUB", "say \"hi\""}},
		{6, []string{"O4", "C4", "2024-01-04", "completed", "4", "RUB", "multi\nline"}},
		{11, []string{"O8", "C8", "2024-01-08", "completed", "8", "RUB", "ads"}},
		{14, []string{"O10", "C10", "2024-01-10", "completed", "10", "RUB", "a,b"}},
		{15, []string{"O11", "C11", "2024-01-11", "completed", "11", "RUB", "ads"}},
		{17, []string{"O13", "C13", "2024-01-13", "completed", "13", "RUB", "ads"}},
	}
	wantBad := map[int64]string{8: "csv_syntax", 9: "short_row", 10: "long_row", 13: "csv_syntax", 16: "csv_syntax"}
	for target := int64(1); target <= int64(len(trickyCSV))+1; target++ {
		sp, err := Plan(context.Background(), orders.InputOrders, p, target)
		if err != nil {
			t.Fatal(err)
		}
		recs, bad := readAll(t, sp)
		if !reflect.DeepEqual(recs, want) {
			t.Fatalf("target %d (%d splits):\n got %v\nwant %v", target, len(sp), recs, want)
		}
		reasons := map[int64]string{}
		for row, msg := range bad {
			reasons[row], _, _ = strings.Cut(msg, ":")
		}
		if !reflect.DeepEqual(reasons, wantBad) {
			t.Fatalf("target %d: bad rows %v", target, bad)
		}
	}
}

// Columns are bound by name, once: shuffled columns, an extra first column, a BOM and CRLF
// give the same fields, in the schema's order, as the README's column order.
func TestCSVBindsColumnsByName(t *testing.T) {
	canonical := ordersHeader + "\n" +
		"O1,C1,2024-01-05,completed,100.5,RUB,ads\n" +
		"O2,C2,2024-01-06,cancelled,7,EUR,\n"
	variants := map[string]string{
		"canonical": canonical,
		"shuffled": "customer_id,order_id,amount,channel,status,currency,ordered_at\n" +
			"C1,O1,100.5,ads,completed,RUB,2024-01-05\n" +
			"C2,O2,7,,cancelled,EUR,2024-01-06\n",
		"extra first column": "row,order_id,customer_id,ordered_at,status,amount,currency,channel\n" +
			"1,O1,C1,2024-01-05,completed,100.5,RUB,ads\n" +
			"2,O2,C2,2024-01-06,cancelled,7,EUR,\n",
		"bom and crlf":     "\ufeff" + strings.ReplaceAll(canonical, "\n", "\r\n"),
		"upper-case names": strings.ToUpper(ordersHeader) + "\n" + strings.SplitN(canonical, "\n", 2)[1],
	}
	want := [][]string{
		{"O1", "C1", "2024-01-05", "completed", "100.5", "RUB", "ads"},
		{"O2", "C2", "2024-01-06", "cancelled", "7", "EUR", ""},
	}
	for name, content := range variants {
		sp, err := Plan(context.Background(), orders.InputOrders, writeTemp(t, "orders.csv", content), 1<<20)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		recs, bad := readAll(t, sp)
		var got [][]string
		for _, r := range recs {
			got = append(got, r.Fields)
		}
		if !reflect.DeepEqual(got, want) || len(bad) > 0 {
			t.Errorf("%s: got %q, bad %v", name, got, bad)
		}
	}
	// A column named twice fails the plan, naming the file and the column.
	p := writeTemp(t, "twice.csv", "order_id,customer_id,ordered_at,status,amount,currency,Customer_ID\n")
	if _, err := Plan(context.Background(), orders.InputOrders, p, 1<<20); err == nil ||
		!strings.Contains(err.Error(), "twice.csv") || !strings.Contains(err.Error(), "customer_id twice") {
		t.Errorf("duplicate column: %v", err)
	}
}

// BenchmarkCSVScan reads a generated orders file (see transforms/nightly's benchFile) and
// touches every field.
func BenchmarkCSVScan(b *testing.B) {
	p := os.Getenv("BENCH_ORDERS")
	if p == "" {
		p = "../../data/bench-200k/orders.csv"
	}
	if _, err := os.Stat(p); err != nil {
		b.Skipf("no bench file %s", p)
	}
	ctx := context.Background()
	sp, err := Plan(ctx, orders.InputOrders, p, 1<<40)
	if err != nil {
		b.Fatal(err)
	}
	var rows, n int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rows = 0
		for _, s := range sp {
			if err := Read(ctx, s, nil, func(r Record) error {
				rows++
				for _, f := range r.Fields {
					n += int64(len(f))
				}
				return nil
			}, func(int64, string, string) {}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(int64(b.N)*rows), "ns/row")
}

// readFile plans path at target bytes per split and reads the splits (readSplits).
func readFile(path string, target int64) ([]readRec, map[int64]string, error) {
	splits, err := Plan(context.Background(), orders.InputOrders, path, target)
	if err != nil {
		return nil, nil, err
	}
	return readSplits(splits)
}

// Any bytes as an orders CSV: the reader returns rows, bad rows or an error, never panics,
// and reads the same at every split size.
func FuzzReadCSV(f *testing.F) {
	f.Add([]byte(splitCSV))
	f.Add([]byte(trickyCSV))
	f.Add([]byte(ordersHeader + "\n\"O1,C1,2024-01-01,completed,1,RUB,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "orders.csv")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		recs, bad, err := readFile(p, 1<<30)
		recs1, bad1, err1 := readFile(p, 1)
		if (err == nil) != (err1 == nil) {
			t.Fatalf("one split: %v; one byte per split: %v", err, err1)
		}
		if err == nil && (!reflect.DeepEqual(recs, recs1) || !reflect.DeepEqual(bad, bad1)) {
			t.Fatalf("split size changed what was read:\n one split %v %v\n 1-byte splits %v %v", recs, bad, recs1, bad1)
		}
	})
}
