package bigquery

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	bq "cloud.google.com/go/bigquery"
	"github.com/google/go-cmp/cmp"

	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

type sampleRow struct {
	RunDate int32     `parquet:"run_date,date" desc:"As-of date"`
	Name    string    `parquet:"name" desc:"A name"`
	N       int64     `parquet:"n"`
	Small   int32     `parquet:"small"`
	X       float64   `parquet:"x" desc:"money"`
	P       *float64  `parquet:"p,optional" desc:"maybe"`
	B       bool      `parquet:"b"`
	At      time.Time `parquet:"at,timestamp(millisecond)"`
	PD      *int32    `parquet:"pd,date"`
	skip    int       //nolint:unused // unexported fields are not columns
	Skipped string    `parquet:"-"`
}

func TestSchemaOf(t *testing.T) {
	got, err := SchemaOf(sampleRow{})
	if err != nil {
		t.Fatal(err)
	}
	want := bq.Schema{
		{Name: "run_date", Type: bq.DateFieldType, Required: true, Description: "As-of date"},
		{Name: "name", Type: bq.StringFieldType, Required: true, Description: "A name"},
		{Name: "n", Type: bq.IntegerFieldType, Required: true},
		{Name: "small", Type: bq.IntegerFieldType, Required: true},
		{Name: "x", Type: bq.FloatFieldType, Required: true, Description: "money"},
		{Name: "p", Type: bq.FloatFieldType, Description: "maybe"},
		{Name: "b", Type: bq.BooleanFieldType, Required: true},
		{Name: "at", Type: bq.TimestampFieldType, Required: true},
		{Name: "pd", Type: bq.DateFieldType},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("schema (-want +got):\n%s", diff)
	}
}

func TestSchemaOfRejects(t *testing.T) {
	type noRunDate struct {
		A string `parquet:"a"`
	}
	type badType struct {
		RunDate int32   `parquet:"run_date,date"`
		M       []int64 `parquet:"m"`
	}
	type dup struct {
		RunDate int32  `parquet:"run_date,date"`
		A       string `parquet:"a"`
		B       string `parquet:"a"`
	}
	type runDateNotDate struct {
		RunDate int64 `parquet:"run_date"`
	}
	for _, tc := range []struct {
		row  any
		want string
	}{
		{noRunDate{}, "has no run_date column"},
		{badType{}, "badType.M: Go type []int64 has no BigQuery column type"},
		{dup{}, `column "a" appears twice`},
		{runDateNotDate{}, "run_date must be a non-pointer int32 tagged date"},
		{3, "is not a struct"},
	} {
		if _, err := SchemaOf(tc.row); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SchemaOf(%T) error = %v, want it to contain %q", tc.row, err, tc.want)
		}
	}
}

// Every registered table has a usable schema with a description on every column.
func TestAllTablesHaveSchemas(t *testing.T) {
	for _, tb := range tables.All {
		s, err := TableSchema(tb)
		if err != nil {
			t.Errorf("%s: %v", tb.Name, err)
			continue
		}
		names := map[string]bool{}
		for _, f := range s {
			names[f.Name] = true
			if f.Description == "" {
				t.Errorf("%s.%s has no desc tag", tb.Name, f.Name)
			}
		}
		for _, c := range tb.Cluster {
			if !names[c] {
				t.Errorf("%s clusters on %s, which is not a column", tb.Name, c)
			}
		}
		if len(tb.Cluster) > 4 {
			t.Errorf("%s: BigQuery allows at most 4 clustering columns", tb.Name)
		}
	}
}

func TestAppendRow(t *testing.T) {
	rt, err := parseRowType(reflect.TypeOf(sampleRow{}))
	if err != nil {
		t.Fatal(err)
	}
	p := 0.30000000000000004
	pd := int32(value.DayFromDate(2024, 2, 29))
	rows := []sampleRow{
		{RunDate: int32(value.DayFromDate(2026, 3, 1)), Name: "a\"b\\c\nd\te\x01 Ё \xff", N: -42, Small: 7, X: 123456789.1234, P: &p, B: true,
			At: time.Date(2026, 3, 1, 5, 6, 7, 891_000_000, time.FixedZone("MSK", 3*3600)), PD: &pd},
		{Name: "", X: math.NaN()},
		{X: math.Inf(-1)},
	}
	var got []string
	for _, r := range rows {
		got = append(got, string(rt.appendRow(nil, reflect.ValueOf(r))))
	}
	want := []string{
		`{"run_date":"2026-03-01","name":"a\"b\\c\nd\te\u0001 Ё \ufffd","n":-42,"small":7,"x":123456789.1234,"p":0.30000000000000004,"b":true,"at":"2026-03-01T02:06:07.891000Z","pd":"2024-02-29"}` + "\n",
		`{"run_date":"1970-01-01","name":"","n":0,"small":0,"x":"NaN","p":null,"b":false,"at":"0001-01-01T00:00:00.000000Z","pd":null}` + "\n",
		`{"run_date":"1970-01-01","name":"","n":0,"small":0,"x":"-Infinity","p":null,"b":false,"at":"0001-01-01T00:00:00.000000Z","pd":null}` + "\n",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("NDJSON (-want +got):\n%s", diff)
	}
}

func TestPartitionDecorator(t *testing.T) {
	if got := PartitionDecorator("customer_metrics", value.DayFromDate(2026, 3, 1)); got != "customer_metrics$20260301" {
		t.Errorf("got %s", got)
	}
}

func TestWriteTableChecksRowType(t *testing.T) {
	tb, _ := tables.ByName("churn_list")
	_, err := WriteTable(t.Context(), nil, tb, 0, []tables.SyncLog{{}})
	if err == nil || !strings.Contains(err.Error(), "holds tables.ChurnList rows, not tables.SyncLog") {
		t.Errorf("err = %v", err)
	}
}

func TestDriftSchema(t *testing.T) {
	rt, err := parseRowType(reflect.TypeOf(tables.ChurnList{}))
	if err != nil {
		t.Fatal(err)
	}
	have := bq.Schema{
		{Name: "run_date", Type: bq.DateFieldType, Required: true},
		{Name: "legacy", Type: bq.StringFieldType, Required: true, Description: "old"},
		{Name: "customer_id", Type: bq.StringFieldType, Required: true},
		{Name: "revenue", Type: "FLOAT64", Required: true},
		{Name: "orders", Type: "INT64"},
	}
	got, changed, err := driftSchema("churn_list", have, rt)
	if err != nil {
		t.Fatal(err)
	}
	if !changed {
		t.Error("changed = false")
	}
	type col struct {
		Name, Type string
		Required   bool
	}
	var gotCols []col
	for _, f := range got {
		gotCols = append(gotCols, col{f.Name, string(f.Type), f.Required})
	}
	want := []col{
		{"run_date", "DATE", true},
		{"legacy", "STRING", false}, // not in Go: kept, relaxed
		{"customer_id", "STRING", true},
		{"revenue", "FLOAT64", true}, // alias of FLOAT: same type, untouched
		{"orders", "INT64", false},   // NULLABLE stays NULLABLE
		{"period", "STRING", false},  // new: added NULLABLE
		{"currency", "STRING", false},
		{"last_order_date", "DATE", false},
	}
	if diff := cmp.Diff(want, gotCols); diff != "" {
		t.Errorf("drifted schema (-want +got):\n%s", diff)
	}
	if have[1].Required != true {
		t.Error("driftSchema modified its input")
	}

	full, _ := TableSchema(tables.Table{Row: tables.ChurnList{}})
	if _, changed, err := driftSchema("churn_list", full, rt); err != nil || changed {
		t.Errorf("same schema: changed %v, err %v", changed, err)
	}
	bad := bq.Schema{{Name: "run_date", Type: bq.DateFieldType}, {Name: "orders", Type: bq.StringFieldType}}
	if _, _, err := driftSchema("churn_list", bad, rt); err == nil || !strings.Contains(err.Error(), "orders is STRING in BigQuery but INTEGER in Go") {
		t.Errorf("type change: err = %v", err)
	}
}
