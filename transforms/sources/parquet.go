package sources

import (
	"context"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/value"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

func parquetHeader(ctx context.Context, path string) ([]string, error) {
	ra, err := fileio.OpenReaderAt(ctx, path)
	if err != nil {
		return nil, err
	}
	defer ra.Close()
	f, err := parquet.OpenFile(ra, ra.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var names []string
	for _, c := range f.Schema().Fields() {
		names = append(names, c.Name())
	}
	return names, nil
}

func planParquet(ctx context.Context, input, path string) ([]Split, error) {
	ra, err := fileio.OpenReaderAt(ctx, path)
	if err != nil {
		return nil, err
	}
	defer ra.Close()
	f, err := parquet.OpenFile(ra, ra.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var header []string
	for _, c := range f.Schema().Fields() {
		header = append(header, c.Name())
	}
	var splits []Split
	row := int64(1)
	for i, rg := range f.RowGroups() {
		splits = append(splits, Split{Input: input, Path: path, Format: "parquet", Start: int64(i), End: int64(i) + 1, FirstLine: row, Header: header})
		row += rg.NumRows()
	}
	return splits, nil
}

// readParquet reads one row group as generic rows and formats each column as the text the
// CSV reader would see, so that both formats share one validator.
func (s Split) readParquet(ctx context.Context, idx orders.Index, fn func(Record) error) error {
	ra, err := fileio.OpenReaderAt(ctx, s.Path)
	if err != nil {
		return err
	}
	defer ra.Close()
	f, err := parquet.OpenFile(ra, ra.Size())
	if err != nil {
		return fmt.Errorf("%s: %w", s.Path, err)
	}
	fields := f.Schema().Fields()
	// Leaf column index of each top-level field (inputs are flat).
	leaf := make([]int, len(fields))
	for i := range fields {
		leaf[i] = i
	}
	rg := f.RowGroups()[s.Start]
	rows := rg.Rows()
	defer rows.Close()
	buf := make([]parquet.Row, 1024)
	out := make([]string, len(idx))
	line := s.FirstLine
	for {
		n, err := rows.ReadRows(buf)
		for _, r := range buf[:n] {
			for i := range idx {
				out[i] = ""
				p := idx[i]
				if p < 0 {
					continue
				}
				for _, v := range r {
					if v.Column() == leaf[p] {
						out[i] = formatValue(fields[p], v)
						break
					}
				}
			}
			if ferr := fn(Record{line, out}); ferr != nil {
				return ferr
			}
			line++
		}
		if err != nil {
			if err.Error() == "EOF" {
				return nil
			}
			return err
		}
	}
}

func formatValue(field parquet.Field, v parquet.Value) string {
	if v.IsNull() {
		return ""
	}
	var lv format.LogicalTypeValue
	if lt := field.Type().LogicalType(); lt != nil {
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
			return time.Unix(0, 0).Add(time.Duration(n) * t.Unit.Value.Duration()).UTC().Format(time.RFC3339Nano)
		}
		return strconv.FormatInt(n, 10)
	case parquet.Float:
		return strconv.FormatFloat(float64(v.Float()), 'f', -1, 32)
	case parquet.Double:
		return strconv.FormatFloat(v.Double(), 'f', -1, 64)
	case parquet.ByteArray, parquet.FixedLenByteArray:
		if t, ok := lv.(*format.DecimalType); ok {
			return decimalString(new(big.Int).SetBytes(v.ByteArray()), int(t.Scale))
		}
		return string(v.ByteArray())
	}
	return v.String()
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
