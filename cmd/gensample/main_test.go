package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/sources"
)

var files = []string{"orders.csv", "order_lines.csv", "customers.csv", "spend.csv"}

func generate(t *testing.T, seed uint64, broken bool) (string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	if err := run(dir, 300, 1500, seed, broken, time.UTC); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		out[f] = b
	}
	return dir, out
}

func TestDeterministic(t *testing.T) {
	_, a := generate(t, 42, true)
	_, b := generate(t, 42, true)
	for _, f := range files {
		if !bytes.Equal(a[f], b[f]) {
			t.Errorf("%s differs between two runs with the same flags", f)
		}
	}
	_, c := generate(t, 43, true)
	if bytes.Equal(a["orders.csv"], c["orders.csv"]) || bytes.Equal(a["customers.csv"], c["customers.csv"]) {
		t.Error("another seed gives the same data")
	}
	if err := run(t.TempDir(), 0, 10, 1, true, time.UTC); err == nil {
		t.Error("0 customers accepted")
	}
	if err := run(t.TempDir(), 10, 5, 1, true, time.UTC); err == nil {
		t.Error("fewer orders than customers accepted")
	}
}

// rejects reads every row of a generated file with the pipeline's reader and validators
// and returns the reason of each rejected row by its first column.
func rejects(t *testing.T, input, path string) (rows int, out map[string]string) {
	t.Helper()
	ctx := context.Background()
	splits, err := sources.Plan(ctx, input, path, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n") // generated rows hold no quoted newlines
	key := func(s string) string {
		if s == "" {
			return "(empty)"
		}
		return s
	}
	zone := orders.NewZone(nil)
	out = map[string]string{}
	for _, s := range splits {
		err = sources.Read(ctx, s, nil, func(r sources.Record) error {
			rows++
			var rej *orders.Reject
			switch input {
			case orders.InputOrders:
				_, rej = orders.ParseOrder(r.Fields, zone)
			case orders.InputLines:
				_, rej = orders.ParseLine(r.Fields)
			case orders.InputCustomers:
				_, rej = orders.ParseCustomer(r.Fields, zone)
			case orders.InputSpend:
				_, rej = orders.ParseSpend(r.Fields)
			}
			if rej != nil {
				out[key(strings.Clone(r.Fields[0]))] = rej.Reason
			}
			return nil
		}, func(row int64, reason, _ string) {
			rows++
			first, _, _ := strings.Cut(lines[row-1], ",")
			out[key(first)] = reason
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return rows, out
}

func TestBrokenRows(t *testing.T) {
	dir, data := generate(t, 42, true)
	// The broken rows, each with the reason the pipeline gives it (worked out from the
	// row: "12,3x" unquoted makes the row one field longer than the header).
	wantOrders := map[string]string{
		"B0000001": orders.ReasonBadDate,
		"B0000002": orders.ReasonLongRow,
		"B0000003": orders.ReasonEmptyCustomerID,
		"B0000004": orders.ReasonUnknownStatus,
		"(empty)":  orders.ReasonEmptyOrderID,
		"B0000006": orders.ReasonBadAmount,
		"B0000007": orders.ReasonBadCurrency,
	}
	_, got := rejects(t, orders.InputOrders, filepath.Join(dir, "orders.csv"))
	if !mapsEqual(got, wantOrders) {
		t.Errorf("orders rejects %v, want %v (generated rows must all be valid)", got, wantOrders)
	}
	_, got = rejects(t, orders.InputLines, filepath.Join(dir, "order_lines.csv"))
	if !mapsEqual(got, map[string]string{"O10000001": orders.ReasonBadQuantity}) {
		t.Errorf("lines rejects %v", got)
	}
	_, got = rejects(t, orders.InputCustomers, filepath.Join(dir, "customers.csv"))
	if !mapsEqual(got, map[string]string{"C9999991": orders.ReasonBadConsent, "(empty)": orders.ReasonEmptyCustomerID}) {
		t.Errorf("customers rejects %v", got)
	}
	if rows, got := rejects(t, orders.InputSpend, filepath.Join(dir, "spend.csv")); len(got) != 0 || rows != 36*4 {
		// Nov 2023 .. Oct 2026 is 36 months, four paid channels each.
		t.Errorf("spend: %d rows, rejects %v; want 144 rows, none rejected", rows, got)
	}
	// The line of an unknown order points at an order that does not exist.
	if bytes.Contains(data["orders.csv"], []byte("\nB9999999,")) || !bytes.Contains(data["order_lines.csv"], []byte("\nB9999999,P1,")) {
		t.Error("B9999999 must be a line without an order")
	}
	// Without -broken none of them is written.
	_, clean := generate(t, 42, false)
	for _, f := range files {
		if bytes.Contains(clean[f], []byte("B000000")) || bytes.Contains(clean[f], []byte("B9999999")) || bytes.Contains(clean[f], []byte("C9999991")) {
			t.Errorf("%s has broken rows with broken=false", f)
		}
		if f != "spend.csv" && !bytes.HasPrefix(data[f], clean[f]) {
			t.Errorf("%s: the broken rows should only be appended", f)
		}
	}
}

func TestShape(t *testing.T) {
	_, data := generate(t, 42, false)
	customers := strings.Count(string(data["customers.csv"]), "\n") - 1
	if customers != 300 {
		t.Errorf("%d customers, want 300", customers)
	}
	for _, want := range []string{"mattress cover", "air conditioner", "insurance", "service"} {
		if !bytes.Contains(data["order_lines.csv"], []byte(","+want+",")) {
			t.Errorf("no %q lines", want)
		}
	}
	for _, want := range []string{",cancelled,", ",refunded,", ",partially_refunded,", ",false,"} {
		if !bytes.Contains(data["orders.csv"], []byte(want)) && !bytes.Contains(data["customers.csv"], []byte(want)) {
			t.Errorf("no %q rows", want)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestUTCOffset: -utc_offset +03:00 writes the same instants as UTC with another offset, so
// every order's UTC day is unchanged; the other files are byte-identical.
func TestUTCOffset(t *testing.T) {
	_, utc := generate(t, 7, false)
	dir := t.TempDir()
	msk, err := parseOffset("+03:00")
	if err != nil {
		t.Fatal(err)
	}
	if err := run(dir, 300, 1500, 7, false, msk); err != nil {
		t.Fatal(err)
	}
	for _, f := range files[1:] {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, utc[f]) {
			t.Errorf("%s differs with -utc_offset", f)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "orders.csv"))
	if err != nil {
		t.Fatal(err)
	}
	a, o := strings.Split(string(utc["orders.csv"]), "\n"), strings.Split(string(b), "\n")
	if len(a) != len(o) {
		t.Fatalf("%d rows with offsets, %d without", len(o), len(a))
	}
	offsets := 0
	for i := 1; i < len(a); i++ {
		fa, fo := strings.Split(a[i], ","), strings.Split(o[i], ",")
		if len(fa) < 3 {
			continue
		}
		if len(fa[2]) == 10 { // a date, not a timestamp: unchanged
			if fo[2] != fa[2] {
				t.Fatalf("row %d: date %s became %s", i, fa[2], fo[2])
			}
			continue
		}
		if !strings.HasSuffix(fa[2], "Z") || !strings.HasSuffix(fo[2], "+03:00") {
			t.Fatalf("row %d: %s / %s, want Z and +03:00", i, fa[2], fo[2])
		}
		ta, _ := time.Parse(time.RFC3339, fa[2])
		to, _ := time.Parse(time.RFC3339, fo[2])
		if !ta.Equal(to) || ta.IsZero() {
			t.Fatalf("row %d: %s and %s are not the same instant", i, fa[2], fo[2])
		}
		offsets++
	}
	if offsets < 100 {
		t.Errorf("only %d timestamps with an offset", offsets)
	}
	for _, bad := range []string{"+3", "03:00", "UTC+3"} {
		if _, err := parseOffset(bad); err == nil {
			t.Errorf("offset %q accepted", bad)
		}
	}
}
