package portable

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
)

// SummaryFile is the run summary the pipeline writes next to its tables.
const SummaryFile = "run_summary.json"

// Options tune what counts as equal.
type Options struct {
	// Tolerance is the allowed difference between two float cells, relative to the larger
	// magnitude (absolute below 1). Zero means exact. Runners may add partial sums in a
	// different order, which moves the last bits of a float; money columns computed from
	// fixed-point sums are exact either way.
	Tolerance float64
	// Ignore lists columns to drop before comparing, as "table.column" or "*.column"
	// (wall-clock columns differ between any two runs).
	Ignore []string
	// Examples is how many differing rows to quote per table (0 = none).
	Examples int
	// SkipFiles are base-name patterns (path.Match) of non-Parquet files not to compare,
	// e.g. a report that embeds the run's wall clock.
	SkipFiles []string
}

// DefaultOptions ignore the sync log's wall-clock columns and the HTML report (it shows the
// run's duration), and allow 1e-9 relative float difference.
func DefaultOptions() Options {
	return Options{
		Tolerance: 1e-9,
		Ignore:    []string{"sync_log.started_at", "sync_log.duration_ms"},
		Examples:  5,
		SkipFiles: []string{"report.html", "*.log"},
	}
}

// TableResult is the outcome for one table directory.
type TableResult struct {
	Table      string   // directory relative to the output root, e.g. "customer_metrics"
	RowsA      int      // rows read from the first directory
	RowsB      int      // rows read from the second
	FilesA     int      // part files in the first directory
	FilesB     int      // part files in the second
	Exact      int      // rows equal byte for byte after canonicalisation
	Tolerant   int      // rows equal only within Options.Tolerance
	OnlyA      int      // rows of A with no partner in B
	OnlyB      int      // rows of B with no partner in A
	SchemaDiff []string // column-set differences, empty when the schemas agree
	Examples   []string // quoted differing rows ("-" only in A, "+" only in B)
}

// Equal reports whether both sides hold the same multiset of rows.
func (t TableResult) Equal() bool {
	return t.OnlyA == 0 && t.OnlyB == 0 && len(t.SchemaDiff) == 0
}

// FileResult compares one non-Parquet file (dead letters, dry-run audience payloads) as a
// multiset of lines. Lines are never quoted: payloads hold hashed contacts.
type FileResult struct {
	Path         string // relative to the output root, "/"-separated
	InA, InB     bool
	LinesA       int
	LinesB       int
	OnlyA, OnlyB int // lines without a partner on the other side
}

// Equal reports whether the file exists on both sides with the same lines.
func (f FileResult) Equal() bool { return f.InA && f.InB && f.OnlyA == 0 && f.OnlyB == 0 }

// Report is the outcome of CompareDirs.
type Report struct {
	Tables      []TableResult
	Files       []FileResult
	SummaryDiff []string // differences in run_summary.json counts
	SummaryNote string   // e.g. "absent in both"
}

// Equal reports whether every table and the summary agree.
func (r *Report) Equal() bool {
	for _, t := range r.Tables {
		if !t.Equal() {
			return false
		}
	}
	for _, f := range r.Files {
		if !f.Equal() {
			return false
		}
	}
	return len(r.SummaryDiff) == 0
}

// String renders the report for a terminal, one line per table.
func (r *Report) String() string {
	var b strings.Builder
	for _, t := range r.Tables {
		status := "equal"
		if !t.Equal() {
			status = "DIFFERENT"
		}
		fmt.Fprintf(&b, "%-22s %-9s rows %d/%d  files %d/%d", t.Table, status, t.RowsA, t.RowsB, t.FilesA, t.FilesB)
		if t.Tolerant > 0 {
			fmt.Fprintf(&b, "  (%d rows equal within float tolerance)", t.Tolerant)
		}
		if t.OnlyA > 0 || t.OnlyB > 0 {
			fmt.Fprintf(&b, "  only in A: %d, only in B: %d", t.OnlyA, t.OnlyB)
		}
		b.WriteByte('\n')
		for _, d := range t.SchemaDiff {
			fmt.Fprintf(&b, "    schema: %s\n", d)
		}
		for _, e := range t.Examples {
			fmt.Fprintf(&b, "    %s\n", e)
		}
	}
	same := 0
	for _, f := range r.Files {
		switch {
		case f.Equal():
			same++
		case !f.InA:
			fmt.Fprintf(&b, "%-22s DIFFERENT only in B (%d lines)\n", f.Path, f.LinesB)
		case !f.InB:
			fmt.Fprintf(&b, "%-22s DIFFERENT only in A (%d lines)\n", f.Path, f.LinesA)
		default:
			fmt.Fprintf(&b, "%-22s DIFFERENT lines %d/%d, only in A: %d, only in B: %d\n", f.Path, f.LinesA, f.LinesB, f.OnlyA, f.OnlyB)
		}
	}
	if len(r.Files) > 0 {
		fmt.Fprintf(&b, "%-22s %d of %d equal (line multisets: dead letters, dry-run payloads)\n", "other files", same, len(r.Files))
	}
	switch {
	case r.SummaryNote != "":
		fmt.Fprintf(&b, "%-22s %s\n", SummaryFile, r.SummaryNote)
	case len(r.SummaryDiff) == 0:
		fmt.Fprintf(&b, "%-22s equal (counts)\n", SummaryFile)
	default:
		fmt.Fprintf(&b, "%-22s DIFFERENT\n", SummaryFile)
		for _, d := range r.SummaryDiff {
			fmt.Fprintf(&b, "    %s\n", d)
		}
	}
	return b.String()
}

// CompareDirs compares two pipeline output directories. A table present on one side only
// counts as all its rows missing on the other. Errors are for unreadable input only.
func CompareDirs(dirA, dirB string, opts Options) (*Report, error) {
	// A published run is a symbolic link (<output>/current): walk what it points to.
	for _, d := range []*string{&dirA, &dirB} {
		if r, err := filepath.EvalSymlinks(*d); err == nil {
			*d = r
		}
	}
	filesA, err := partFiles(dirA)
	if err != nil {
		return nil, err
	}
	filesB, err := partFiles(dirB)
	if err != nil {
		return nil, err
	}
	if len(filesA) == 0 && len(filesB) == 0 {
		return nil, fmt.Errorf("portable: no *.parquet files under %s or %s: check the --output of both runs", dirA, dirB)
	}
	tables := make([]string, 0, len(filesA)+len(filesB))
	for t := range filesA {
		tables = append(tables, t)
	}
	for t := range filesB {
		if _, ok := filesA[t]; !ok {
			tables = append(tables, t)
		}
	}
	sort.Strings(tables)

	rep := &Report{}
	for _, t := range tables {
		res, err := compareTable(t, filesA[t], filesB[t], opts)
		if err != nil {
			return nil, err
		}
		rep.Tables = append(rep.Tables, res)
	}

	files, err := compareOtherFiles(dirA, dirB, opts.SkipFiles)
	if err != nil {
		return nil, err
	}
	rep.Files = files

	sa, errA := os.ReadFile(filepath.Join(dirA, SummaryFile))
	sb, errB := os.ReadFile(filepath.Join(dirB, SummaryFile))
	switch {
	case errors.Is(errA, fs.ErrNotExist) && errors.Is(errB, fs.ErrNotExist):
		rep.SummaryNote = "absent in both (not compared)"
	case errA != nil && !errors.Is(errA, fs.ErrNotExist):
		return nil, fmt.Errorf("portable: read %s: %w", filepath.Join(dirA, SummaryFile), errA)
	case errB != nil && !errors.Is(errB, fs.ErrNotExist):
		return nil, fmt.Errorf("portable: read %s: %w", filepath.Join(dirB, SummaryFile), errB)
	case errA != nil:
		rep.SummaryDiff = []string{"missing in A (" + dirA + ")"}
	case errB != nil:
		rep.SummaryDiff = []string{"missing in B (" + dirB + ")"}
	default:
		d, err := CompareSummaries(sa, sb, opts.Tolerance)
		if err != nil {
			return nil, err
		}
		rep.SummaryDiff = d
	}
	return rep, nil
}

// partFiles maps each directory (relative to root, "/"-separated) that holds Parquet files
// to its sorted file list. Files whose name starts with "." or "_" (temporary files of an
// atomic write, _SUCCESS markers) are skipped.
func partFiles(root string) (map[string][]string, error) {
	if st, err := os.Stat(root); err != nil {
		return nil, fmt.Errorf("portable: output directory %s: %w", root, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("portable: %s is not a directory", root)
	}
	out := map[string][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() || !strings.HasSuffix(name, ".parquet") || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		out[rel] = append(out[rel], p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("portable: walk %s: %w", root, err)
	}
	for k := range out {
		sort.Strings(out[k])
	}
	return out, nil
}

// cell is one Parquet value reduced to what equality needs.
type cell struct {
	null  bool
	float bool
	f     float64
	text  string // canonical JSON of the value
}

// field is one column of a row; repeated columns carry several cells.
type field struct {
	name     string
	repeated bool
	cells    []cell
}

// canonRow is a row in canonical form. key is the JSON with float cells masked, so that
// rows differing only in the last bits of a float sort next to each other.
type canonRow struct {
	key    string
	json   string
	fields []field
}

func compareTable(table string, filesA, filesB []string, opts Options) (TableResult, error) {
	res := TableResult{Table: table, FilesA: len(filesA), FilesB: len(filesB)}
	ignore := ignoredColumns(table, opts.Ignore)
	rowsA, colsA, err := readRows(filesA, ignore)
	if err != nil {
		return res, err
	}
	rowsB, colsB, err := readRows(filesB, ignore)
	if err != nil {
		return res, err
	}
	res.RowsA, res.RowsB = len(rowsA), len(rowsB)
	if len(filesA) > 0 && len(filesB) > 0 {
		res.SchemaDiff = diffColumns(colsA, colsB)
	}

	less := func(x, y canonRow) int {
		if c := strings.Compare(x.key, y.key); c != 0 {
			return c
		}
		return strings.Compare(x.json, y.json)
	}
	slices.SortFunc(rowsA, less)
	slices.SortFunc(rowsB, less)

	quote := func(sign string, r canonRow) {
		if len(res.Examples) >= opts.Examples {
			return
		}
		s := r.json
		if len(s) > 400 {
			s = s[:400] + "…"
		}
		res.Examples = append(res.Examples, sign+" "+s)
	}
	i, j := 0, 0
	for i < len(rowsA) && j < len(rowsB) {
		a, b := rowsA[i], rowsB[j]
		switch c := strings.Compare(a.key, b.key); {
		case c < 0:
			res.OnlyA++
			quote("-", a)
			i++
		case c > 0:
			res.OnlyB++
			quote("+", b)
			j++
		default:
			switch {
			case a.json == b.json:
				res.Exact++
			case fieldsClose(a.fields, b.fields, opts.Tolerance):
				res.Tolerant++
			default:
				res.OnlyA++
				res.OnlyB++
				quote("-", a)
				quote("+", b)
			}
			i++
			j++
		}
	}
	for ; i < len(rowsA); i++ {
		res.OnlyA++
		quote("-", rowsA[i])
	}
	for ; j < len(rowsB); j++ {
		res.OnlyB++
		quote("+", rowsB[j])
	}
	return res, nil
}

func ignoredColumns(table string, ignore []string) map[string]bool {
	out := map[string]bool{}
	for _, ig := range ignore {
		t, col, ok := strings.Cut(ig, ".")
		if ok && (t == "*" || t == table) {
			out[col] = true
		}
	}
	return out
}

func diffColumns(a, b []string) []string {
	var d []string
	for _, c := range a {
		if !slices.Contains(b, c) {
			d = append(d, fmt.Sprintf("column %q only in A", c))
		}
	}
	for _, c := range b {
		if !slices.Contains(a, c) {
			d = append(d, fmt.Sprintf("column %q only in B", c))
		}
	}
	return d
}

// readRows reads every row of the files in canonical form and returns the union of their
// column paths (sorted).
func readRows(files []string, ignore map[string]bool) ([]canonRow, []string, error) {
	var rows []canonRow
	colSet := map[string]bool{}
	for _, path := range files {
		rs, cols, err := readFile(path, ignore)
		if err != nil {
			return nil, nil, err
		}
		rows = append(rows, rs...)
		for _, c := range cols {
			colSet[c] = true
		}
	}
	cols := make([]string, 0, len(colSet))
	for c := range colSet {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	return rows, cols, nil
}

func readFile(path string, ignore map[string]bool) ([]canonRow, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("portable: open %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("portable: stat %s: %w", path, err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("portable: %s is not a readable Parquet file: %w", path, err)
	}
	schema := pf.Schema()
	paths := schema.Columns()
	type colInfo struct {
		name     string
		repeated bool
		logical  string
		skip     bool
	}
	infos := make([]colInfo, len(paths))
	var names []string
	for i, p := range paths {
		leaf, _ := schema.Lookup(p...)
		name := strings.Join(p, ".")
		infos[i] = colInfo{name: name, repeated: leaf.MaxRepetitionLevel > 0, skip: ignore[name]}
		if lt := leaf.Node.Type().LogicalType(); lt != nil {
			infos[i].logical = lt.String()
		}
		if !infos[i].skip {
			names = append(names, name)
		}
	}
	order := make([]int, 0, len(infos)) // column indexes in name order
	for i := range infos {
		if !infos[i].skip {
			order = append(order, i)
		}
	}
	sort.Slice(order, func(x, y int) bool { return infos[order[x]].name < infos[order[y]].name })

	r := parquet.NewReader(pf)
	defer r.Close()
	var out []canonRow
	buf := make([]parquet.Row, 128)
	byCol := make([][]cell, len(infos))
	for {
		n, err := r.ReadRows(buf)
		for _, row := range buf[:n] {
			for i := range byCol {
				byCol[i] = byCol[i][:0]
			}
			for _, v := range row {
				c := v.Column()
				if c < 0 || c >= len(infos) || infos[c].skip {
					continue
				}
				if infos[c].repeated && v.IsNull() && v.RepetitionLevel() == 0 && v.DefinitionLevel() < 1 {
					continue // empty list: no element
				}
				byCol[c] = append(byCol[c], toCell(v))
			}
			fields := make([]field, 0, len(order))
			for _, c := range order {
				fields = append(fields, field{name: infos[c].name, repeated: infos[c].repeated, cells: slices.Clone(byCol[c])})
			}
			out = append(out, canonRow{key: render(fields, true), json: render(fields, false), fields: fields})
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, nil, fmt.Errorf("portable: read rows of %s: %w", path, err)
		}
		if n == 0 {
			break
		}
	}
	return out, names, nil
}

func toCell(v parquet.Value) cell {
	if v.IsNull() {
		return cell{null: true, text: "null"}
	}
	switch v.Kind() {
	case parquet.Boolean:
		return cell{text: strconv.FormatBool(v.Boolean())}
	case parquet.Int32:
		return cell{text: strconv.FormatInt(int64(v.Int32()), 10)}
	case parquet.Int64:
		return cell{text: strconv.FormatInt(v.Int64(), 10)}
	case parquet.Float:
		f := float64(v.Float())
		return cell{float: true, f: f, text: formatFloat(f)}
	case parquet.Double:
		f := v.Double()
		return cell{float: true, f: f, text: formatFloat(f)}
	case parquet.ByteArray, parquet.FixedLenByteArray:
		b := v.ByteArray()
		if utf8.Valid(b) {
			q, _ := json.Marshal(string(b))
			return cell{text: string(q)}
		}
		return cell{text: `"base64:` + base64.StdEncoding.EncodeToString(b) + `"`}
	default: // INT96 and anything newer: compare the raw bytes
		return cell{text: `"raw:` + base64.StdEncoding.EncodeToString(v.Bytes()) + `"`}
	}
}

func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return `"NaN"`
	case math.IsInf(f, 1):
		return `"+Inf"`
	case math.IsInf(f, -1):
		return `"-Inf"`
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// render writes fields as a JSON object with sorted keys; maskFloats replaces float cells
// with "~" to build the sort key.
func render(fields []field, maskFloats bool) string {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		q, _ := json.Marshal(f.name)
		b.Write(q)
		b.WriteByte(':')
		if f.repeated {
			b.WriteByte('[')
		}
		for k, c := range f.cells {
			if k > 0 {
				b.WriteByte(',')
			}
			if maskFloats && c.float {
				b.WriteString(`"~"`)
			} else {
				b.WriteString(c.text)
			}
		}
		if !f.repeated && len(f.cells) == 0 {
			b.WriteString("null")
		}
		if f.repeated {
			b.WriteByte(']')
		}
	}
	b.WriteByte('}')
	return b.String()
}

func fieldsClose(a, b []field, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].name != b[i].name || len(a[i].cells) != len(b[i].cells) {
			return false
		}
		for k := range a[i].cells {
			x, y := a[i].cells[k], b[i].cells[k]
			if x.text == y.text {
				continue
			}
			if !x.float || !y.float || !floatClose(x.f, y.f, tol) {
				return false
			}
		}
	}
	return true
}

func floatClose(x, y, tol float64) bool {
	if x == y || (math.IsNaN(x) && math.IsNaN(y)) {
		return true
	}
	scale := math.Max(1, math.Max(math.Abs(x), math.Abs(y)))
	return math.Abs(x-y) <= tol*scale
}

// otherFiles lists the non-Parquet files under root (relative, "/"-separated), leaving out
// run_summary.json (compared on its counts), hidden and "_" files, and skip patterns.
func otherFiles(root string, skip []string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() || strings.HasSuffix(name, ".parquet") || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == SummaryFile {
			return nil
		}
		for _, pat := range skip {
			if ok, _ := path.Match(pat, name); ok {
				return nil
			}
		}
		out[rel] = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("portable: walk %s: %w", root, err)
	}
	return out, nil
}

func compareOtherFiles(dirA, dirB string, skip []string) ([]FileResult, error) {
	fa, err := otherFiles(dirA, skip)
	if err != nil {
		return nil, err
	}
	fb, err := otherFiles(dirB, skip)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(fa)+len(fb))
	for n := range fa {
		names = append(names, n)
	}
	for n := range fb {
		if _, ok := fa[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var out []FileResult
	for _, n := range names {
		r := FileResult{Path: n}
		counts := map[string]int{}
		if p, ok := fa[n]; ok {
			r.InA = true
			lines, err := readLines(p)
			if err != nil {
				return nil, err
			}
			r.LinesA = len(lines)
			for _, l := range lines {
				counts[l]++
			}
		}
		if p, ok := fb[n]; ok {
			r.InB = true
			lines, err := readLines(p)
			if err != nil {
				return nil, err
			}
			r.LinesB = len(lines)
			for _, l := range lines {
				counts[l]--
			}
		}
		for _, c := range counts {
			if c > 0 {
				r.OnlyA += c
			} else {
				r.OnlyB -= c
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func readLines(p string) ([]string, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("portable: read %s: %w", p, err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil, nil
	}
	return strings.Split(s, "\n"), nil
}
