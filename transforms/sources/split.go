package sources

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/orders"
)

// Split is one unit of input reading: a byte range of a CSV file (cut at a record boundary)
// or one row group of a Parquet file. Large files are read as many splits so that no
// element carries a whole file and runners can spread the reading.
type Split struct {
	Input     string   // orders, order_lines, customers or spend
	Path      string   // local path or URL
	Format    string   // csv or parquet
	Start     int64    // CSV: byte offset; Parquet: row group index
	End       int64    // CSV: byte offset (exclusive); Parquet: row group index + 1
	FirstLine int64    // CSV: physical line of the first record; Parquet: row number of the first row (1-based); BigQuery: 1
	Header    []string // the file's column names
	// Ext carries what an external source (Format "bq") needs to read the split; opaque here.
	Ext []byte
}

// FormatOf guesses the format from the file name.
func FormatOf(path string) string {
	if strings.HasSuffix(strings.ToLower(path), ".parquet") {
		return "parquet"
	}
	return "csv"
}

// Stream is the BigQuery read stream a split reads (its index in the source's read
// session); 0 for files, whose rows are numbered across the whole file.
func (s Split) Stream() int64 {
	if s.Format == "bq" {
		return s.Start
	}
	return 0
}

// File names where the split's rows come from in dead letters: the file's path, or the
// bq:// address and read stream ("bq://p.d.t#2"). With the row number it identifies a row
// among every input of a run.
func (s Split) File() string {
	if s.Format == "bq" {
		return fmt.Sprintf("%s#%d", s.Path, s.Start)
	}
	return s.Path
}

// Record is one input row, its fields already in the input schema's column order: the
// reader bound the file's columns by name, once, and nothing after it uses positions.
type Record struct {
	// Row is where the row is in its file (see Split.File): the physical line where a CSV
	// record starts, the 1-based row number of a Parquet file, the 1-based row number
	// within a BigQuery read stream.
	Row int64
	// Fields are valid only during the callback that receives the Record (CSV fields share
	// the reader's buffer): copy what must outlive it.
	Fields []string
}

// BadRow reports a row that cannot be bound to the schema: its position, a reason code
// (orders.ReasonCSV, ReasonShortRow, ReasonLongRow) and a detail that names positions and
// counts, never the row's content.
type BadRow func(row int64, reason, detail string)

// RowReader reads the rows of a split of an external source (BigQuery), each in the
// split's Header order as the text a CSV file would hold. Rows are numbered from 1 within
// the split, in the order emitted.
type RowReader interface {
	ReadSplit(ctx context.Context, s Split, emit func(row []string) error) error
}

// ReadHeader returns the column names of a CSV or Parquet file (used by the driver to fail
// fast on missing columns before anything runs).
func ReadHeader(ctx context.Context, path string) ([]string, error) {
	if FormatOf(path) == "parquet" {
		return parquetHeader(ctx, path)
	}
	f, err := fileio.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return newCSVScan(f, 0, 1, -1, 0, false).header(path)
}

// CheckColumns fails when a file cannot be read as input: no header, a required column
// missing or named twice, or (Parquet) a schema column that is nested or repeated. The
// driver calls it before the run so that such a file stops the run before it starts.
func CheckColumns(ctx context.Context, input, path string) error {
	schema, ok := orders.SchemaFor(input)
	if !ok {
		return fmt.Errorf("unknown input %q", input)
	}
	if FormatOf(path) == "parquet" {
		ra, f, err := openParquet(ctx, path)
		if err != nil {
			return err
		}
		defer ra.Close()
		_, err = parquetLeaves(path, f, schema, topNames(f))
		return err
	}
	header, err := ReadHeader(ctx, path)
	if err != nil {
		return err
	}
	_, err = schema.Bind(path, header)
	return err
}

// Plan cuts one input file into splits of about target bytes (CSV) or one per row group
// (Parquet). It checks the header against the input's schema.
func Plan(ctx context.Context, input, path string, target int64) ([]Split, error) {
	if FormatOf(path) == "parquet" {
		return planParquet(ctx, input, path)
	}
	return planCSV(ctx, input, path, target)
}

// planCSV scans the whole file with the reader's own record scanner and cuts it after
// the first record that ends at least target bytes past the split's start. A split
// therefore starts exactly where the reader, reading the file from the top, would start a
// record: quotes, quoted newlines, CRLF and damaged lines are judged the same way by both,
// so the rows read never depend on the split size.
func planCSV(ctx context.Context, input, path string, target int64) ([]Split, error) {
	if target <= 0 {
		target = 32 << 20
	}
	schema, ok := orders.SchemaFor(input)
	if !ok {
		return nil, fmt.Errorf("unknown input %q", input)
	}
	f, err := fileio.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := fileio.Size(ctx, path)
	if err != nil {
		return nil, err
	}
	sc := newCSVScan(f, 0, 1, size, 0, false)
	header, err := sc.header(path)
	if err != nil {
		return nil, err
	}
	if _, err := schema.Bind(path, header); err != nil {
		return nil, err
	}
	sc.p.want, sc.p.boundsOnly = len(header), true
	var splits []Split
	start, startLine := sc.off, sc.line
	for {
		kind, err := sc.next()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if kind == unitEOF {
			break
		}
		if sc.off-start >= target {
			splits = append(splits, Split{Input: input, Path: path, Format: "csv", Start: start, End: sc.off, FirstLine: startLine, Header: header})
			start, startLine = sc.off, sc.line
		}
	}
	if sc.off > start {
		splits = append(splits, Split{Input: input, Path: path, Format: "csv", Start: start, End: sc.off, FirstLine: startLine, Header: header})
	}
	return splits, nil
}

// Read reads one split of any format, binding its columns to the input's schema by name
// (once, here): fn gets every row with its fields in the schema's column order, bad every
// row that cannot be bound. bq reads splits of Format "bq" (nil when there are none).
//
// A CSV row with fewer fields than the header is short_row; one with more is long_row
// when a field past the header's count is not empty (an unquoted comma shifts every later
// column), and read normally when they are all empty (a trailing comma).
func Read(ctx context.Context, s Split, bq RowReader, fn func(Record) error, bad BadRow) error {
	schema, ok := orders.SchemaFor(s.Input)
	if !ok {
		return fmt.Errorf("unknown input %q", s.Input)
	}
	idx, err := schema.Bind(s.File(), s.Header)
	if err != nil {
		return err
	}
	switch s.Format {
	case "csv":
		return s.readCSV(ctx, idx, fn, bad)
	case "parquet":
		return s.readParquet(ctx, idx, fn)
	case "bq":
		if bq == nil {
			return fmt.Errorf("%s: no reader for BigQuery sources", s.Path)
		}
		out := make([]string, len(idx))
		var row int64
		return bq.ReadSplit(ctx, s, func(r []string) error {
			row++
			for i := range idx {
				out[i] = idx.Get(r, i)
			}
			return fn(Record{Row: row, Fields: out})
		})
	}
	return fmt.Errorf("%s: unknown format %q", s.Path, s.Format)
}

func (s Split) readCSV(ctx context.Context, idx orders.Index, fn func(Record) error, bad BadRow) error {
	ra, err := fileio.OpenReaderAt(ctx, s.Path)
	if err != nil {
		return err
	}
	defer ra.Close()
	// The scanner may look past End (up to MaxRecordBytes) to judge the split's last
	// record exactly as the planner did; it stops at the first record starting at End.
	sc := newCSVScan(io.NewSectionReader(ra, s.Start, ra.Size()-s.Start), s.Start, s.FirstLine, ra.Size()-s.Start, len(s.Header), false)
	out := make([]string, len(idx))
	for sc.off < s.End {
		kind, err := sc.next()
		if err != nil {
			return fmt.Errorf("%s: %w", s.Path, err)
		}
		switch kind {
		case unitEOF:
			return nil
		case unitBlank:
			continue
		case unitDamaged:
			bad(sc.unitLine, orders.ReasonCSV, fmt.Sprintf("line %d: %s; the line is skipped and reading resumes on line %d", sc.unitLine, sc.p.reason, sc.unitLine+1))
			continue
		}
		n := len(sc.p.ends)
		if n < len(s.Header) {
			bad(sc.unitLine, orders.ReasonShortRow, fmt.Sprintf("line %d has %d fields, the header %d", sc.unitLine, n, len(s.Header)))
			continue
		}
		if n > len(s.Header) {
			extra := false
			for i := len(s.Header); i < n && !extra; i++ {
				extra = strings.TrimSpace(sc.p.field(i)) != ""
			}
			if extra {
				bad(sc.unitLine, orders.ReasonLongRow, fmt.Sprintf("line %d has %d fields, the header %d: an unquoted comma in a value shifts every later column", sc.unitLine, n, len(s.Header)))
				continue
			}
		}
		for i, p := range idx {
			out[i] = ""
			if p >= 0 {
				out[i] = sc.p.field(p)
			}
		}
		if err := fn(Record{Row: sc.unitLine, Fields: out}); err != nil {
			return err
		}
	}
	return nil
}
