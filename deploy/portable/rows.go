package portable

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
)

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
