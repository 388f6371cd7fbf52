package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// corpusGenerators write the inputs of corpus cases that are large or binary. Each case's
// case.yaml says which one (generate:) and what must come out.
var corpusGenerators = map[string]func(t *testing.T, dir string){
	"unterminated_quote_1620": genUnterminatedQuote,
	"tricky_3mb":              genTricky,
	"parquet_decimals":        genParquetDecimals,
	"parquet_nested_amount":   genParquetNestedAmount,
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const ordersHeader = "order_id,customer_id,ordered_at,status,amount,currency,channel\n"

// genUnterminatedQuote: the file of 1,620 lines (1,619 orders, all completed in
// January 2024) with a quote opened on line 100 and never closed.
func genUnterminatedQuote(t *testing.T, dir string) {
	var b strings.Builder
	b.WriteString(ordersHeader)
	for line := 2; line <= 1620; line++ {
		status := "completed"
		if line == 100 {
			status = `"completed`
		}
		fmt.Fprintf(&b, "O%d,C%d,2024-01-%02d,%s,10,RUB,ads\n", line, line%50, 1+line%28, status)
	}
	writeFile(t, filepath.Join(dir, "orders.csv"), b.String())
}

// genTricky: about 3 MB of orders (so that --split_mb=1 cuts it into several splits) in
// which every 1,000th row is one of the hard cases: a bare quote, a quoted newline, CRLF,
// an escaped quote, a stray quote after a closed field (dead letter), an unterminated quote
// closed by a later row's quote (dead letter). 60,000 rows.
func genTricky(t *testing.T, dir string) {
	var b strings.Builder
	b.WriteString(ordersHeader)
	for i := 1; i <= 60000; i++ {
		ch := "ads"
		end := "\n"
		switch i % 1000 {
		case 101:
			ch = `5" mattress`
		case 202:
			ch = "\"summer\nsale\""
		case 303:
			end = "\r\n"
		case 404:
			ch = `"say ""hi"""`
		case 505:
			ch = `"closed"x`
		case 606:
			ch = `"opened`
		case 607:
			ch = `"a,b"`
		}
		fmt.Fprintf(&b, "O%d,C%d,2024-%02d-%02d,completed,%d.50,RUB,%s%s", i, i%5000, 1+i%12, 1+i%28, i%900, ch, end)
	}
	writeFile(t, filepath.Join(dir, "orders.csv"), b.String())
}

// decimalFile writes orders whose amount column has the given DECIMAL(9 or 18, 2) type.
func decimalFile(t *testing.T, path string, amount parquet.Node, amounts ...any) {
	t.Helper()
	schema := parquet.NewSchema("orders", parquet.Group{
		"order_id": parquet.String(), "customer_id": parquet.String(), "ordered_at": parquet.Date(),
		"status": parquet.String(), "amount": amount, "currency": parquet.String(),
	})
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewWriter(f, schema)
	base := strings.TrimSuffix(filepath.Base(path), ".parquet")
	for i, a := range amounts {
		row := schema.Deconstruct(nil, map[string]any{
			"order_id": fmt.Sprintf("%s-%d", base, i+1), "customer_id": "C-" + base, "ordered_at": int32(19732), // 2024-01-10
			"status": "completed", "amount": a, "currency": "RUB",
		})
		if _, err := w.WriteRows([]parquet.Row{row}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// genParquetDecimals: one orders file per physical decimal type, each with -1.00 (row 1,
// a negative amount: bad_amount) and 12.34 (row 2). Read as unsigned, -1.00 in four bytes
// (0xFFFFFF9C) was 42,949,671.96 and accepted.
func genParquetDecimals(t *testing.T, dir string) {
	decimalFile(t, filepath.Join(dir, "fixed.parquet"), parquet.Decimal(2, 9, parquet.FixedLenByteArrayType(4)),
		[]byte{0xff, 0xff, 0xff, 0x9c}, []byte{0x00, 0x00, 0x04, 0xd2})
	decimalFile(t, filepath.Join(dir, "bytes.parquet"), parquet.Decimal(2, 20, parquet.ByteArrayType),
		[]byte{0x9c}, []byte{0x04, 0xd2})
	decimalFile(t, filepath.Join(dir, "int32.parquet"), parquet.Decimal(2, 9, parquet.Int32Type), int32(-100), int32(1234))
	decimalFile(t, filepath.Join(dir, "int64.parquet"), parquet.Decimal(2, 18, parquet.Int64Type), int64(-100), int64(1234))
}

// genParquetNestedAmount: amount is a group {value, currency}: it cannot be read as one
// value, and the run must say so before it starts.
func genParquetNestedAmount(t *testing.T, dir string) {
	schema := parquet.NewSchema("orders", parquet.Group{
		"order_id": parquet.String(), "customer_id": parquet.String(), "ordered_at": parquet.String(), "status": parquet.String(),
		"amount": parquet.Group{"value": parquet.String(), "currency": parquet.String()}, "currency": parquet.String(),
	})
	f, err := os.Create(filepath.Join(dir, "orders.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewWriter(f, schema)
	row := schema.Deconstruct(nil, map[string]any{"order_id": "O1", "customer_id": "C1", "ordered_at": "2024-01-10", "status": "completed",
		"amount": map[string]any{"value": "10", "currency": "RUB"}, "currency": "RUB"})
	if _, err := w.WriteRows([]parquet.Row{row}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}
