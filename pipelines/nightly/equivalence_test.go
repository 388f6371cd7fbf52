package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// The same shop written in every way a warehouse export might write it gives byte-identical
// tables: columns in another order, an extra first column, CRLF, a byte-order mark, and
// Parquet with alphabetically ordered, typed columns behind a nested column. The variants
// are made here with encoding/csv and parquet-go, independently of the readers under test.
func TestSameShopEveryWay(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the nightly binary six times: make test runs it")
	}
	shop := t.TempDir()
	gen := exec.Command("go", "run", "../../cmd/gensample", "-out", shop, "-customers", "300", "-orders", "1500", "-broken=false")
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("gensample: %v\n%s", err, out)
	}
	inputs := map[string]string{"orders": "orders", "customers": "customers", "order_lines": "order_lines", "spend": "spend"}
	canonical := map[string][][]string{}
	for in := range inputs {
		b, err := os.ReadFile(filepath.Join(shop, in+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		canonical[in] = recs
	}
	type variant struct {
		name  string
		write func(t *testing.T, dir, input string, recs [][]string) string // returns the file name
	}
	csvFile := func(mod func([][]string) [][]string, crlf, bom bool) func(*testing.T, string, string, [][]string) string {
		return func(t *testing.T, dir, input string, recs [][]string) string {
			var b bytes.Buffer
			if bom {
				b.WriteString("\ufeff")
			}
			w := csv.NewWriter(&b)
			w.UseCRLF = crlf
			if err := w.WriteAll(mod(recs)); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, input+".csv"), b.String())
			return input + ".csv"
		}
	}
	same := func(r [][]string) [][]string { return r }
	reversed := func(r [][]string) [][]string {
		out := make([][]string, len(r))
		for i, row := range r {
			out[i] = slices.Clone(row)
			slices.Reverse(out[i])
		}
		return out
	}
	extraFirst := func(r [][]string) [][]string {
		out := make([][]string, len(r))
		for i, row := range r {
			first := "export_row"
			if i > 0 {
				first = strconv.Itoa(i)
			}
			out[i] = append([]string{first}, row...)
		}
		return out
	}
	variants := []variant{
		{"canonical", csvFile(same, false, false)},
		{"reversed columns", csvFile(reversed, false, false)},
		{"extra first column", csvFile(extraFirst, false, false)},
		{"crlf", csvFile(same, true, false)},
		{"bom", csvFile(same, false, true)},
		{"parquet", writeShopParquet},
	}
	outs := map[string]string{}
	for _, v := range variants {
		dir := filepath.Join(t.TempDir(), "in")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		args := []string{"--today=2026-12-01", "--config=" + mustAbs(t, "sample-config.yaml")}
		for _, in := range []string{"orders", "customers", "order_lines", "spend"} {
			args = append(args, fmt.Sprintf("--%s=%s", in, v.write(t, dir, in, canonical[in])))
		}
		r := runNightly(t, dir, args)
		if r.exit != 0 {
			t.Fatalf("%s: exit %d\n%s\n%s", v.name, r.exit, r.stdout, r.stderr)
		}
		outs[v.name] = r.out
	}
	for _, v := range variants[1:] {
		if diff := diffTables(t, outs["canonical"], outs[v.name]); diff != "" {
			t.Errorf("%s: tables differ from the canonical CSV: %s", v.name, diff)
		}
		if v.name != "parquet" { // Parquet rows are numbered from 1, CSV records by line
			if a, b := deadLetterSet(t, outs["canonical"]), deadLetterSet(t, outs[v.name]); !reflect.DeepEqual(a, b) {
				t.Errorf("%s: dead letters differ", v.name)
			}
		}
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// writeShopParquet writes one input as Parquet the way a warehouse would: typed columns
// (DECIMAL amounts, BOOLEAN consent, DATE created_at, INT64 quantity), named in
// alphabetical order (a Group sorts them) behind a nested "address" column whose two leaves
// come first in the file.
func writeShopParquet(t *testing.T, dir, input string, recs [][]string) string {
	t.Helper()
	header := recs[0]
	group := parquet.Group{"address": parquet.Group{"city": parquet.String(), "zip": parquet.Optional(parquet.String())}}
	for _, h := range header {
		switch {
		case h == "amount":
			group[h] = parquet.Decimal(2, 18, parquet.Int64Type)
		case h == "quantity":
			group[h] = parquet.Int(64)
		case h == "marketing_consent":
			group[h] = parquet.Leaf(parquet.BooleanType)
		case h == "created_at":
			group[h] = parquet.Optional(parquet.Date())
		default:
			group[h] = parquet.String()
		}
	}
	schema := parquet.NewSchema(input, group)
	name := input + ".parquet"
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewWriter(f, schema, parquet.MaxRowsPerRowGroup(500))
	for i, r := range recs[1:] {
		m := map[string]any{"address": map[string]any{"city": "Moscow", "zip": nil}}
		for j, h := range header {
			v := r[j]
			switch h {
			case "amount":
				var whole, frac int64
				if _, err := fmt.Sscanf(v, "%d.%02d", &whole, &frac); err != nil {
					t.Fatalf("%s row %d amount %q: %v", input, i+1, v, err)
				}
				m[h] = whole*100 + frac
			case "quantity":
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				m[h] = n
			case "marketing_consent":
				m[h] = v == "true"
			case "created_at":
				if v == "" {
					m[h] = nil
					continue
				}
				d, err := parseDate(v)
				if err != nil {
					t.Fatal(err)
				}
				m[h] = d
			default:
				m[h] = v
			}
		}
		if _, err := w.WriteRows([]parquet.Row{schema.Deconstruct(nil, m)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return name
}

// parseDate is days since 1970-01-01 of YYYY-MM-DD, by the civil calendar.
func parseDate(s string) (int32, error) {
	var y, m, d int
	if _, err := fmt.Sscanf(s, "%d-%d-%d", &y, &m, &d); err != nil {
		return 0, err
	}
	days := 0
	for yy := 1970; yy < y; yy++ {
		days += 365
		if yy%4 == 0 && (yy%100 != 0 || yy%400 == 0) {
			days++
		}
	}
	month := []int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		month[1] = 29
	}
	for mm := 1; mm < m; mm++ {
		days += month[mm-1]
	}
	return int32(days + d - 1), nil
}
