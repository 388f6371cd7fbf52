package portable

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

// metricRow mimics an output table: a date, strings, money as float, a nullable float.
type metricRow struct {
	RunDate    int32    `parquet:"run_date,date"`
	CustomerID string   `parquet:"customer_id"`
	Currency   string   `parquet:"currency"`
	Orders     int64    `parquet:"orders"`
	Revenue    float64  `parquet:"revenue"`
	RepeatAOV  *float64 `parquet:"repeat_aov,optional"`
	Active     bool     `parquet:"active"`
}

// metricRowPlus has one column more than metricRow.
type metricRowPlus struct {
	metricRow
	Cluster int64 `parquet:"cluster"`
}

type syncRow struct {
	Audience   string    `parquet:"audience"`
	Platform   string    `parquet:"platform"`
	Sent       int64     `parquet:"sent"`
	DurationMs int64     `parquet:"duration_ms"`
	StartedAt  time.Time `parquet:"started_at,timestamp(millisecond)"`
}

func f64(v float64) *float64 { return &v }

// sampleRows are five rows worked out by hand; c3 has one order so no repeat AOV.
func sampleRows() []metricRow {
	const day = 20_000 // 2024-10-04
	return []metricRow{
		{day, "c1", "RUB", 3, 4500.5, f64(1250.25), true},
		{day, "c2", "RUB", 2, 900, f64(400), true},
		{day, "c3", "RUB", 1, 100, nil, false},
		{day, "c1", "EUR", 2, 30.1, f64(15.05), true},
		{day, "c4", "EUR", 5, 1e6, f64(200000.25), true},
	}
}

func writeParts[T any](t *testing.T, dir string, parts ...[]T) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, p := range parts {
		path := filepath.Join(dir, "part-"+string(rune('0'+i))+".parquet")
		if err := parquet.WriteFile(path, p); err != nil {
			t.Fatal(err)
		}
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func tableResult(t *testing.T, rep *Report, name string) TableResult {
	t.Helper()
	for _, tr := range rep.Tables {
		if tr.Table == name {
			return tr
		}
	}
	t.Fatalf("table %s not in report:\n%s", name, rep)
	return TableResult{}
}

func TestEqualAcrossPartitioningAndOrder(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	r := sampleRows()
	writeParts(t, filepath.Join(a, "customer_metrics"), r[:2], r[2:])
	// Same five rows, reversed and spread over three files.
	writeParts(t, filepath.Join(b, "customer_metrics"), []metricRow{r[4]}, []metricRow{r[3], r[2]}, []metricRow{r[1], r[0]})

	rep, err := CompareDirs(a, b, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Equal() {
		t.Fatalf("want equal, got:\n%s", rep)
	}
	tr := tableResult(t, rep, "customer_metrics")
	if tr.RowsA != 5 || tr.RowsB != 5 || tr.Exact != 5 || tr.FilesA != 2 || tr.FilesB != 3 {
		t.Errorf("got %+v, want 5/5 rows, 5 exact, 2/3 files", tr)
	}
	if rep.SummaryNote == "" {
		t.Errorf("no run_summary.json on either side should be noted, got %q", rep.SummaryNote)
	}
}

func TestChangedValueFails(t *testing.T) {
	cases := []struct {
		name   string
		change func(*metricRow)
		quoted string // text that must appear in the quoted example
	}{
		{"string", func(m *metricRow) { m.Currency = "USD" }, `"currency":"USD"`},
		{"int", func(m *metricRow) { m.Orders = 4 }, `"orders":4`},
		{"bool", func(m *metricRow) { m.Active = true }, `+ {"active":true,"currency":"RUB","customer_id":"c3"`},
		{"null vs value", func(m *metricRow) { m.RepeatAOV = f64(0) }, `"repeat_aov":0`},
		{"float beyond tolerance", func(m *metricRow) { m.Revenue = 100.001 }, `"revenue":100.001`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := t.TempDir(), t.TempDir()
			r := sampleRows()
			writeParts(t, filepath.Join(a, "customer_metrics"), r)
			changed := sampleRows()
			tc.change(&changed[2]) // c3/RUB: 1 order, revenue 100, no repeat AOV
			writeParts(t, filepath.Join(b, "customer_metrics"), changed[3:], changed[:3])

			rep, err := CompareDirs(a, b, DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			tr := tableResult(t, rep, "customer_metrics")
			if rep.Equal() || tr.OnlyA != 1 || tr.OnlyB != 1 || tr.Exact != 4 {
				t.Fatalf("want one row only in A and one only in B, 4 exact; got %+v", tr)
			}
			if !strings.Contains(rep.String(), tc.quoted) {
				t.Errorf("report does not quote %s:\n%s", tc.quoted, rep)
			}
		})
	}
}

func TestFloatTolerance(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	r := sampleRows()
	writeParts(t, filepath.Join(a, "customer_metrics"), r)
	moved := sampleRows()
	// 1e6 * (1 + 1e-12): a last-bits difference, well inside 1e-9 relative.
	moved[4].Revenue = 1e6 + 1e-6
	writeParts(t, filepath.Join(b, "customer_metrics"), moved)

	rep, err := CompareDirs(a, b, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	tr := tableResult(t, rep, "customer_metrics")
	if !rep.Equal() || tr.Exact != 4 || tr.Tolerant != 1 {
		t.Fatalf("want equal with 1 tolerant row, got %+v", tr)
	}

	exact := DefaultOptions()
	exact.Tolerance = 0
	rep, err = CompareDirs(a, b, exact)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Equal() {
		t.Fatalf("with -tol 0 a 1e-6 difference must fail:\n%s", rep)
	}
}

func TestDuplicatesCount(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	r := sampleRows()
	writeParts(t, filepath.Join(a, "customer_metrics"), r, r[:1]) // c1/RUB twice
	writeParts(t, filepath.Join(b, "customer_metrics"), r)
	rep, err := CompareDirs(a, b, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	tr := tableResult(t, rep, "customer_metrics")
	if rep.Equal() || tr.RowsA != 6 || tr.RowsB != 5 || tr.OnlyA != 1 || tr.OnlyB != 0 {
		t.Fatalf("a duplicated row must count as a difference, got %+v", tr)
	}
}

func TestIgnoredWallClockColumns(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	t0 := time.Date(2024, 10, 4, 2, 0, 0, 0, time.UTC)
	writeParts(t, filepath.Join(a, "sync_log"), []syncRow{{"lapsed", "vk", 120, 310, t0}, {"lapsed", "yandex", 118, 95, t0}})
	writeParts(t, filepath.Join(b, "sync_log"), []syncRow{{"lapsed", "yandex", 118, 40, t0.Add(time.Hour)}, {"lapsed", "vk", 120, 77, t0.Add(time.Hour)}})

	rep, err := CompareDirs(a, b, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Equal() {
		t.Fatalf("started_at and duration_ms are ignored by default:\n%s", rep)
	}
	strict := DefaultOptions()
	strict.Ignore = nil
	rep, err = CompareDirs(a, b, strict)
	if err != nil {
		t.Fatal(err)
	}
	if tr := tableResult(t, rep, "sync_log"); rep.Equal() || tr.OnlyA != 2 {
		t.Fatalf("without ignores both rows differ, got %+v", tr)
	}
}

func TestMissingTableAndSchemaDiff(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	r := sampleRows()
	writeParts(t, filepath.Join(a, "customer_metrics"), r)
	writeParts(t, filepath.Join(a, "churn_list"), r[2:3])
	plus := make([]metricRowPlus, len(r))
	for i := range r {
		plus[i] = metricRowPlus{r[i], 0}
	}
	writeParts(t, filepath.Join(b, "customer_metrics"), plus)

	rep, err := CompareDirs(a, b, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Equal() {
		t.Fatal("want different")
	}
	if tr := tableResult(t, rep, "churn_list"); tr.OnlyA != 1 || tr.FilesB != 0 {
		t.Errorf("churn_list only in A: got %+v", tr)
	}
	tr := tableResult(t, rep, "customer_metrics")
	if len(tr.SchemaDiff) != 1 || !strings.Contains(tr.SchemaDiff[0], `"cluster" only in B`) {
		t.Errorf("want schema diff on cluster, got %q", tr.SchemaDiff)
	}
}

func TestNoParquetIsAnError(t *testing.T) {
	if _, err := CompareDirs(t.TempDir(), t.TempDir(), DefaultOptions()); err == nil {
		t.Fatal("two empty directories must be an error (wrong --output?)")
	}
	if _, err := CompareDirs(filepath.Join(t.TempDir(), "nope"), t.TempDir(), DefaultOptions()); err == nil {
		t.Fatal("a missing directory must be an error")
	}
}

func TestSummaryCountsOnly(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	writeParts(t, filepath.Join(a, "customer_metrics"), sampleRows())
	writeParts(t, filepath.Join(b, "customer_metrics"), sampleRows())
	writeFile(t, filepath.Join(a, SummaryFile), `{"run_date":"2024-10-04","started_at":"2024-10-05T02:00:00Z","duration_s":12.5,
		"runner":"prism","ok":true,"rows_read":{"orders":10,"customers":4},
		"dead_letters":{"orders":{"bad_amount":1}},"tables":{"customer_metrics":5},
		"audiences":[{"Audience":"lapsed","Platform":"vk","Sent":120,"DurationMs":310,"StartedAt":"2024-10-05T02:00:01Z"},
		             {"Audience":"lapsed","Platform":"yandex","Sent":118,"DurationMs":95,"StartedAt":"2024-10-05T02:00:02Z"}],
		"outputs":{"tables":"/tmp/a"}}`)
	// B: other keys' order, audiences in another order, other wall clock, runner and
	// outputs, and compact layout.
	writeFile(t, filepath.Join(b, SummaryFile), `{"ok":true,"runner":"universal","run_date":"2024-10-04",`+
		`"started_at":"2024-10-05T03:10:00Z","duration_s":40.1,"rows_read":{"customers":4,"orders":10},`+
		`"tables":{"customer_metrics":5},"dead_letters":{"orders":{"bad_amount":1}},"outputs":{"tables":"/tmp/b"},`+
		`"audiences":[{"Audience":"lapsed","Platform":"yandex","Sent":118,"DurationMs":12,"StartedAt":"2024-10-05T03:10:01Z"},`+
		`{"Audience":"lapsed","Platform":"vk","Sent":120,"DurationMs":20,"StartedAt":"2024-10-05T03:10:02Z"}]}`)
	rep, err := CompareDirs(a, b, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Equal() {
		t.Fatalf("summaries differ only in wall clock, runner, outputs and order:\n%s", rep)
	}

	writeFile(t, filepath.Join(b, SummaryFile), `{"run_date":"2024-10-04","ok":true,"rows_read":{"customers":4,"orders":10},
		"dead_letters":{"orders":{"bad_amount":2}},"tables":{"customer_metrics":5},
		"audiences":[{"Audience":"lapsed","Platform":"yandex","Sent":118},{"Audience":"lapsed","Platform":"vk","Sent":120}]}`)
	rep, err = CompareDirs(a, b, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"dead_letters.orders.bad_amount: 1 != 2"}
	if len(rep.SummaryDiff) != 1 || rep.SummaryDiff[0] != want[0] {
		t.Fatalf("summary diff = %q, want %q", rep.SummaryDiff, want)
	}

	if err := os.Remove(filepath.Join(b, SummaryFile)); err != nil {
		t.Fatal(err)
	}
	rep, err = CompareDirs(a, b, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Equal() || len(rep.SummaryDiff) != 1 || !strings.HasPrefix(rep.SummaryDiff[0], "missing in B") {
		t.Fatalf("a summary on one side only must differ, got %q", rep.SummaryDiff)
	}
}

func TestOtherFilesAsLineMultisets(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	writeParts(t, filepath.Join(a, "customer_metrics"), sampleRows())
	writeParts(t, filepath.Join(b, "customer_metrics"), sampleRows())
	for _, d := range []string{a, b} {
		if err := os.MkdirAll(filepath.Join(d, "dry_run", "yandex", "lapsed"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(d, "dead_letters"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const hashA = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"
	const hashB = "a665a45920422f9d417e4867efdc4fb8a04a1f3fff1fa07e998e86f7f7a27ae3"
	writeFile(t, filepath.Join(a, "dry_run", "yandex", "lapsed", "upload.csv"), "phone\n"+hashA+"\n"+hashB+"\n")
	writeFile(t, filepath.Join(b, "dry_run", "yandex", "lapsed", "upload.csv"), "phone\n"+hashB+"\n"+hashA+"\n")
	writeFile(t, filepath.Join(a, "dead_letters", "orders.csv"), "line,reason\n7,bad_amount\n")
	writeFile(t, filepath.Join(b, "dead_letters", "orders.csv"), "line,reason\n7,bad_amount\n")
	// The report shows the run's duration: skipped by default.
	writeFile(t, filepath.Join(a, "report.html"), "<p>took 4.0s</p>\n")
	writeFile(t, filepath.Join(b, "report.html"), "<p>took 9.1s</p>\n")

	rep, err := CompareDirs(a, b, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Equal() || len(rep.Files) != 2 {
		t.Fatalf("same lines in another order must be equal, report.html skipped; got %d files:\n%s", len(rep.Files), rep)
	}

	// One hash changed: one line only in A, one only in B, and no line is quoted.
	const hashC = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
	writeFile(t, filepath.Join(b, "dry_run", "yandex", "lapsed", "upload.csv"), "phone\n"+hashB+"\n"+hashC+"\n")
	// A payload file only in B.
	writeFile(t, filepath.Join(b, "dry_run", "yandex", "lapsed", "confirm.json"), "{}\n")
	rep, err = CompareDirs(a, b, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]FileResult{}
	for _, f := range rep.Files {
		byPath[f.Path] = f
	}
	up := byPath["dry_run/yandex/lapsed/upload.csv"]
	if rep.Equal() || up.LinesA != 3 || up.LinesB != 3 || up.OnlyA != 1 || up.OnlyB != 1 {
		t.Fatalf("upload.csv: got %+v, want 3/3 lines, 1 only in A, 1 only in B", up)
	}
	if c := byPath["dry_run/yandex/lapsed/confirm.json"]; c.InA || !c.InB || c.Equal() {
		t.Errorf("confirm.json only in B: got %+v", c)
	}
	if out := rep.String(); strings.Contains(out, hashA) || strings.Contains(out, hashC) {
		t.Errorf("the report must not quote payload lines:\n%s", out)
	}
}

// A published run is <output>/current, a symbolic link to runs/<run id>: compared through
// the link like a folder.
func TestComparesThroughCurrentLink(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	r := sampleRows()
	writeParts(t, filepath.Join(a, "runs", "id1", "customer_metrics"), r)
	writeParts(t, filepath.Join(b, "customer_metrics"), r)
	if err := os.Symlink(filepath.Join("runs", "id1"), filepath.Join(a, "current")); err != nil {
		t.Fatal(err)
	}
	rep, err := CompareDirs(filepath.Join(a, "current"), b, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if tr := tableResult(t, rep, "customer_metrics"); !rep.Equal() || tr.RowsA != 5 {
		t.Fatalf("through the link: %+v\n%s", tr, rep)
	}
}
