package sources

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"time"

	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/value"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// Parquet inputs: the header is the file's top-level column names; a schema column is
// bound to the leaf of that name (never to a leaf position, which nested columns shift),
// and must be a flat (non-repeated) leaf.

func openParquet(ctx context.Context, path string) (fileio.ReaderAt, *parquet.File, error) {
	ra, err := fileio.OpenReaderAt(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	f, err := safely(path, func() (*parquet.File, error) { return parquet.OpenFile(ra, ra.Size()) })
	if err != nil {
		ra.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return ra, f, nil
}

// safely runs f, turning a panic of the Parquet library into an error: parquet-go trusts the
// lengths and offsets a file gives, and a damaged file (a truncated upload, a flipped byte)
// can make it index out of range. FuzzReadParquet finds such files in seconds.
func safely[T any](path string, f func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("damaged Parquet file (%v): re-export it", r)
		}
	}()
	return f()
}

func parquetHeader(ctx context.Context, path string) ([]string, error) {
	ra, f, err := openParquet(ctx, path)
	if err != nil {
		return nil, err
	}
	defer ra.Close()
	return topNames(f), nil
}

func topNames(f *parquet.File) []string {
	var names []string
	for _, c := range f.Schema().Fields() {
		names = append(names, c.Name())
	}
	return names
}

// parquetLeaves maps each schema column of input to its leaf column in f (-1 when the
// optional column is absent), by name.
func parquetLeaves(path string, f *parquet.File, schema orders.Schema, header []string) ([]parquet.LeafColumn, error) {
	idx, err := schema.Bind(path, header)
	if err != nil {
		return nil, err
	}
	cols := schema.Columns()
	leaves := make([]parquet.LeafColumn, len(idx))
	for i, p := range idx {
		leaves[i].ColumnIndex = -1
		if p < 0 {
			continue
		}
		leaf, ok := f.Schema().Lookup(header[p])
		if !ok {
			return nil, fmt.Errorf("%s: column %s (%s) is a nested group: want a flat column", path, header[p], cols[i])
		}
		if leaf.MaxRepetitionLevel > 0 {
			return nil, fmt.Errorf("%s: column %s (%s) is repeated: want one value per row", path, header[p], cols[i])
		}
		leaves[i] = leaf
	}
	return leaves, nil
}

func planParquet(ctx context.Context, input, path string) ([]Split, error) {
	ra, f, err := openParquet(ctx, path)
	if err != nil {
		return nil, err
	}
	defer ra.Close()
	schema, ok := orders.SchemaFor(input)
	if !ok {
		return nil, fmt.Errorf("unknown input %q", input)
	}
	return safely(path, func() ([]Split, error) {
		header := topNames(f)
		if _, err := parquetLeaves(path, f, schema, header); err != nil {
			return nil, err
		}
		var splits []Split
		row := int64(1)
		for i, rg := range f.RowGroups() {
			splits = append(splits, Split{Input: input, Path: path, Format: "parquet", Start: int64(i), End: int64(i) + 1, FirstLine: row, Header: header})
			row += rg.NumRows()
		}
		return splits, nil
	})
}

// readParquet reads one row group and formats each bound column as the text the CSV
// reader would see, so that every format shares one validator.
func (s Split) readParquet(ctx context.Context, _ orders.Index, fn func(Record) error) error {
	ra, f, err := openParquet(ctx, s.Path)
	if err != nil {
		return err
	}
	defer ra.Close()
	schema, _ := orders.SchemaFor(s.Input)
	rg, err := safely(s.Path, func() (*parquetGroup, error) {
		leaves, err := parquetLeaves(s.Path, f, schema, topNames(f))
		if err != nil {
			return nil, err
		}
		if s.Start < 0 || s.Start >= int64(len(f.RowGroups())) {
			return nil, fmt.Errorf("row group %d of %d: was the file replaced since it was planned?", s.Start, len(f.RowGroups()))
		}
		return newParquetGroup(f, leaves, f.RowGroups()[s.Start]), nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", s.Path, err)
	}
	defer safely(s.Path, func() (struct{}, error) { return struct{}{}, rg.rows.Close() })
	row := s.FirstLine
	for {
		// Decoding runs under safely; fn (the validator) does not.
		n, err := safely(s.Path, rg.next)
		for i := 0; i < n; i++ {
			if ferr := fn(Record{Row: row, Fields: rg.fields[i]}); ferr != nil {
				return ferr
			}
			row++
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: row group %d: %w", s.Path, s.Start, err)
		}
	}
}

// parquetGroup reads one row group's bound columns, formatted, a batch at a time.
type parquetGroup struct {
	leaves []parquet.LeafColumn
	want   []int // want[leaf column] = schema column + 1 (0: not read)
	rows   parquet.Rows
	buf    []parquet.Row
	fields [][]string // the formatted fields of the batch's rows
}

func newParquetGroup(f *parquet.File, leaves []parquet.LeafColumn, rg parquet.RowGroup) *parquetGroup {
	g := &parquetGroup{leaves: leaves, want: make([]int, len(f.Schema().Columns())), rows: rg.Rows(),
		buf: make([]parquet.Row, 1024), fields: make([][]string, 1024)}
	for i, l := range leaves {
		if l.ColumnIndex >= 0 {
			g.want[l.ColumnIndex] = i + 1
		}
	}
	for i := range g.fields {
		g.fields[i] = make([]string, len(leaves))
	}
	return g
}

// next decodes the next batch of rows into fields and returns how many (io.EOF at the end,
// possibly with the last rows).
func (g *parquetGroup) next() (int, error) {
	n, err := g.rows.ReadRows(g.buf)
	for i, r := range g.buf[:n] {
		out := g.fields[i]
		for j := range out {
			out[j] = ""
		}
		for _, v := range r {
			if c := v.Column(); c < len(g.want) && g.want[c] > 0 {
				out[g.want[c]-1] = formatValue(g.leaves[g.want[c]-1].Node, v)
			}
		}
	}
	return n, err
}

// formatValue renders a Parquet value as CSV text: DATE as YYYY-MM-DD, a TIMESTAMP
// adjusted to UTC as RFC 3339 with Z and one that is not (a wall-clock time) without an
// offset, so that the shop's time zone reads it; INT96 (legacy Spark/Hive timestamps) as
// UTC; DECIMAL exactly, negatives in two's complement whatever the physical type.
func formatValue(node parquet.Node, v parquet.Value) string {
	if v.IsNull() {
		return ""
	}
	var lv format.LogicalTypeValue
	if lt := node.Type().LogicalType(); lt != nil {
		lv = lt.Value
	}
	switch v.Kind() {
	case parquet.Boolean:
		return strconv.FormatBool(v.Boolean())
	case parquet.Int32, parquet.Int64:
		n := v.Int64()
		if v.Kind() == parquet.Int32 {
			n = int64(v.Int32())
		}
		switch t := lv.(type) {
		case *format.DateType:
			return value.Day(n).String()
		case *format.DecimalType:
			return decimalString(big.NewInt(n), int(t.Scale))
		case *format.TimestampType:
			ts := time.Unix(0, 0).Add(time.Duration(n) * t.Unit.Value.Duration()).UTC()
			if t.IsAdjustedToUTC {
				return ts.Format(time.RFC3339Nano)
			}
			return ts.Format("2006-01-02T15:04:05.999999999")
		}
		return strconv.FormatInt(n, 10)
	case parquet.Int96:
		i := v.Int96()
		nanos := int64(uint64(i[1])<<32 | uint64(i[0]))
		days := int64(i[2]) - 2440588 // Julian day of 1970-01-01
		return time.Unix(days*86400, nanos).UTC().Format(time.RFC3339Nano)
	case parquet.Float:
		return strconv.FormatFloat(float64(v.Float()), 'f', -1, 32)
	case parquet.Double:
		return strconv.FormatFloat(v.Double(), 'f', -1, 64)
	case parquet.ByteArray, parquet.FixedLenByteArray:
		if t, ok := lv.(*format.DecimalType); ok {
			return decimalString(twosComplement(v.ByteArray()), int(t.Scale))
		}
		return string(v.ByteArray())
	}
	return v.String()
}

// twosComplement reads a big-endian two's-complement integer, as Parquet stores the
// unscaled value of a BYTE_ARRAY or FIXED_LEN_BYTE_ARRAY decimal.
func twosComplement(b []byte) *big.Int {
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
	}
	return n
}

func decimalString(n *big.Int, scale int) string {
	if scale <= 0 {
		return n.String()
	}
	s := n.String()
	neg := false
	if s[0] == '-' {
		neg, s = true, s[1:]
	}
	for len(s) <= scale {
		s = "0" + s
	}
	s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	if neg {
		s = "-" + s
	}
	return s
}
