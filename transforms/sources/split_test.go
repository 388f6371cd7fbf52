package sources

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/audiencesync/audiencesync/sinks/bigquery"
	"github.com/audiencesync/audiencesync/transforms/orders"
)

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type readRec struct {
	Line   int64
	Fields []string
}

// wantRecords reads the splits and checks they give want, with no bad record.
func wantRecords(t *testing.T, splits []Split, want []readRec) []readRec {
	t.Helper()
	recs, bad := readAll(t, splits)
	if len(bad) > 0 {
		t.Errorf("bad records: %v", bad)
	}
	if !reflect.DeepEqual(recs, want) {
		t.Errorf("records:\n got %+v\nwant %+v", recs, want)
	}
	return recs
}

// readAll reads every split (readSplits); an error fails the test.
func readAll(t *testing.T, splits []Split) ([]readRec, map[int64]string) {
	t.Helper()
	recs, bad, err := readSplits(splits)
	if err != nil {
		t.Fatal(err)
	}
	return recs, bad
}

// readSplits reads every split: the records (row and fields) and the bad rows (row →
// "reason: detail"), or the error that stopped it.
func readSplits(splits []Split) ([]readRec, map[int64]string, error) {
	var recs []readRec
	bad := map[int64]string{}
	for _, s := range splits {
		err := Read(context.Background(), s, nil, func(r Record) error {
			f := make([]string, len(r.Fields))
			for i, v := range r.Fields {
				f[i] = strings.Clone(v) // Fields share the reader's buffer
			}
			recs = append(recs, readRec{r.Row, f})
			return nil
		}, func(row int64, reason, detail string) { bad[row] = reason + ": " + detail })
		if err != nil {
			return recs, bad, err
		}
	}
	return recs, bad, nil
}

// Physical lines of the file (1-based):
//
//	1 header
//	2 O1 ... "ads      <- quoted field with a newline
//	3 summer"
//	4 (empty)
//	5 O2 ...
//	6 (spaces only)
//	7 O3 ... "a ""quoted""   <- escaped quotes and two newlines inside the field
//	8 multi
//	9 line"
//	10 O4 ... (empty channel, CRLF line end)
const splitCSV = "order_id,customer_id,ordered_at,status,amount,currency,channel\n" +
	"O1,C1,2024-01-01,completed,10,RUB,\"ads\nsummer\"\n" +
	"\n" +
	"O2,C2,2024-01-02,completed,20,RUB,seo\n" +
	"   \n" +
	"O3,C3,2024-01-03,completed,30,RUB,\"a \"\"quoted\"\"\nmulti\nline\"\n" +
	"O4,C4,2024-01-04,completed,40,RUB,\r\n"

func TestCSVSplits(t *testing.T) {
	p := writeTemp(t, "orders.csv", splitCSV)
	ctx := context.Background()
	splits, err := Plan(ctx, orders.InputOrders, p, 20)
	if err != nil {
		t.Fatal(err)
	}
	// With a 20-byte target every record is longer than the target, so each split ends at
	// the first record boundary after 20 bytes: [O1], [empty line + O2], [spaces + O3], [O4].
	wantFirst := []int64{2, 4, 6, 10}
	// Byte offsets where physical lines 2, 4, 5, 6, 7 and 10 begin: the only places a split
	// may start (lines 3, 8 and 9 are inside quoted fields).
	recordStarts := map[int64]bool{}
	off := int64(0)
	for n, l := range strings.SplitAfter(splitCSV, "\n") {
		switch n + 1 {
		case 2, 4, 5, 6, 7, 10:
			recordStarts[off] = true
		}
		off += int64(len(l))
	}
	if len(splits) != len(wantFirst) {
		t.Fatalf("%d splits %+v, want %d", len(splits), splits, len(wantFirst))
	}
	end := int64(strings.Index(splitCSV, "\n") + 1) // after the header
	for i, s := range splits {
		if s.Format != "csv" || s.Input != orders.InputOrders || s.Path != p {
			t.Errorf("split %d: %+v", i, s)
		}
		if s.Start != end {
			t.Errorf("split %d starts at %d, previous ended at %d", i, s.Start, end)
		}
		if !recordStarts[s.Start] {
			t.Errorf("split %d starts at byte %d, not at a record boundary (inside a quoted field?)", i, s.Start)
		}
		if s.FirstLine != wantFirst[i] {
			t.Errorf("split %d FirstLine = %d, want %d", i, s.FirstLine, wantFirst[i])
		}
		if !reflect.DeepEqual(s.Header, strings.Split(ordersHeader, ",")) {
			t.Errorf("split %d header %q", i, s.Header)
		}
		end = s.End
	}
	if end != int64(len(splitCSV)) {
		t.Errorf("last split ends at %d, file has %d bytes", end, len(splitCSV))
	}

	want := []readRec{
		{2, []string{"O1", "C1", "2024-01-01", "completed", "10", "RUB", "ads\nsummer"}},
		{5, []string{"O2", "C2", "2024-01-02", "completed", "20", "RUB", "seo"}},
		{7, []string{"O3", "C3", "2024-01-03", "completed", "30", "RUB", "a \"quoted\"\nmulti\nline"}},
		{10, []string{"O4", "C4", "2024-01-04", "completed", "40", "RUB", ""}},
	}
	wantRecords(t, splits, want)

	// The same file read as one split gives the same records.
	one, err := Plan(ctx, orders.InputOrders, p, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(one) != 1 || one[0].FirstLine != 2 {
		t.Fatalf("one split: %+v", one)
	}
	if recs1, _ := readAll(t, one); !reflect.DeepEqual(recs1, want) {
		t.Errorf("one split:\n got %+v\nwant %+v", recs1, want)
	}
	// Every target from 1 byte up reads every record exactly once.
	for target := int64(1); target < int64(len(splitCSV)); target += 7 {
		sp, err := Plan(ctx, orders.InputOrders, p, target)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := readAll(t, sp); !reflect.DeepEqual(got, want) {
			t.Errorf("target %d: got %+v", target, got)
		}
	}
}

// A quote inside an unquoted field is an ordinary character; a quote that opens a field
// and never closes costs its own line only.
func TestCSVMalformedQuote(t *testing.T) {
	content := "order_id,customer_id,ordered_at,status,amount,currency,channel\n" +
		"O1,C1,2024-01-01,completed,10,RUB,ads\n" +
		"O2,C2,2024-01-02,comp\"leted,20,RUB,seo\n" + // line 3: a bare quote, read as is
		"O3,C3,2024-01-03,completed,30,RUB,\n" +
		"O4,C4,\"2024-01-04,completed,40,RUB,\n" + // line 5: opened, never closed
		"O5,C5,2024-01-05,completed,50,RUB,\n"
	p := writeTemp(t, "orders.csv", content)
	splits, err := Plan(context.Background(), orders.InputOrders, p, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	recs, bad := readAll(t, splits)
	var lines []int64
	for _, r := range recs {
		lines = append(lines, r.Line)
	}
	if !reflect.DeepEqual(lines, []int64{2, 3, 4, 6}) {
		t.Errorf("records at lines %v, want [2 3 4 6]", lines)
	}
	if recs[1].Fields[3] != "comp\"leted" {
		t.Errorf("bare quote: status %q", recs[1].Fields[3])
	}
	if len(bad) != 1 || !strings.HasPrefix(bad[5], "csv_syntax: line 5: a quoted field is never closed") || !strings.Contains(bad[5], "resumes on line 6") {
		t.Errorf("bad = %v, want line 5 only", bad)
	}
	for _, msg := range bad {
		if strings.Contains(msg, "O4") || strings.Contains(msg, "2024") {
			t.Errorf("syntax error %q quotes the row", msg)
		}
	}
}

func TestCSVEdgeFiles(t *testing.T) {
	ctx := context.Background()
	if _, err := Plan(ctx, orders.InputOrders, writeTemp(t, "empty.csv", ""), 10); err == nil || !strings.Contains(err.Error(), "empty.csv") {
		t.Errorf("empty file: %v", err)
	}
	// Header only: no splits (or only empty ones), no records.
	p := writeTemp(t, "h.csv", ordersHeader+"\n")
	sp, err := Plan(ctx, orders.InputOrders, p, 10)
	if err != nil {
		t.Fatal(err)
	}
	if recs, _ := readAll(t, sp); len(recs) != 0 {
		t.Errorf("header-only file read %v", recs)
	}
	// No newline at the end of the last record.
	p = writeTemp(t, "n.csv", ordersHeader+"\nO1,C1,2024-01-01,completed,1,RUB,ads")
	sp, err = Plan(ctx, orders.InputOrders, p, 10)
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := readAll(t, sp)
	if len(recs) != 1 || recs[0].Line != 2 || recs[0].Fields[6] != "ads" {
		t.Errorf("unterminated last line: %+v", recs)
	}
	if h, err := ReadHeader(ctx, p); err != nil || len(h) != 7 || h[0] != "order_id" {
		t.Errorf("ReadHeader = %q, %v", h, err)
	}
	if FormatOf("x/ORDERS.PARQUET") != "parquet" || FormatOf("x/orders.csv") != "csv" || FormatOf("gs://b/o.csv.gz") != "csv" {
		t.Error("FormatOf")
	}
}

func bind(t *testing.T, s orders.Schema, header string) orders.Index {
	t.Helper()
	idx, err := s.Bind("test.csv", strings.Split(header, ","))
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

const ordersHeader = "order_id,customer_id,ordered_at,status,amount,currency,channel"

var bqConfigNone = bigquery.Config{}
