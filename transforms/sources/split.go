package sources

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
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
	FirstLine int64    // CSV: physical line of the first record; Parquet: row number of the first row (1-based)
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

// Record is one input row as strings in the input schema's column order (Index already
// applied by the reader), plus where it came from.
type Record struct {
	Line   int64
	Fields []string
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
	r := csv.NewReader(bufio.NewReader(f))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	h, err := r.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file (no header row)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	return h, nil
}

// Plan cuts one input file into splits of about target bytes (CSV) or one per row group
// (Parquet).
func Plan(ctx context.Context, input, path string, target int64) ([]Split, error) {
	if FormatOf(path) == "parquet" {
		return planParquet(ctx, input, path)
	}
	return planCSV(ctx, input, path, target)
}

// planCSV scans the file once, tracking quotes so that a cut never falls inside a quoted
// field holding a newline, and counting lines so that dead letters can name the line.
func planCSV(ctx context.Context, input, path string, target int64) ([]Split, error) {
	if target <= 0 {
		target = 32 << 20
	}
	header, err := ReadHeader(ctx, path)
	if err != nil {
		return nil, err
	}
	f, err := fileio.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var (
		splits     []Split
		off        int64
		line       int64 = 1
		inQuote    bool
		start      int64
		startLine  int64 = 1
		headerDone bool
	)
	buf := make([]byte, 1<<20)
	for {
		n, rerr := br.Read(buf)
		for i := 0; i < n; i++ {
			c := buf[i]
			if c == '"' {
				inQuote = !inQuote
				continue
			}
			if c != '\n' {
				continue
			}
			line++ // every newline is a physical line, also one inside a quoted field
			if inQuote {
				continue
			}
			pos := off + int64(i) + 1
			if !headerDone {
				headerDone = true
				start, startLine = pos, line
				continue
			}
			if pos-start >= target {
				splits = append(splits, Split{Input: input, Path: path, Format: "csv", Start: start, End: pos, FirstLine: startLine, Header: header})
				start, startLine = pos, line
			}
		}
		off += int64(n)
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, rerr
		}
	}
	if !headerDone {
		start = off
	}
	if off > start {
		splits = append(splits, Split{Input: input, Path: path, Format: "csv", Start: start, End: off, FirstLine: startLine, Header: header})
	}
	return splits, nil
}

// Read calls fn for every record of the split, with fields in the schema's column order.
// A CSV syntax error is reported through bad (with its line) and reading goes on.
func (s Split) Read(ctx context.Context, idx orders.Index, fn func(Record) error, bad func(line int64, err error)) error {
	if s.Format == "parquet" {
		return s.readParquet(ctx, idx, fn)
	}
	ra, err := fileio.OpenReaderAt(ctx, s.Path)
	if err != nil {
		return err
	}
	defer ra.Close()
	r := csv.NewReader(bufio.NewReaderSize(io.NewSectionReader(ra, s.Start, s.End-s.Start), 1<<20))
	r.FieldsPerRecord = -1
	// Strict quotes (RFC 4180), unlike ReadHeader: Plan cuts splits by the same quote rules,
	// and a lazy reader would let an unterminated quote swallow every later row of the split
	// into one field without a word. A malformed row is reported through bad instead.
	r.ReuseRecord = true
	out := make([]string, len(idx))
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				// Lines in the message are the file's, not the split's (the error text names
				// only positions, never the row's content).
				abs := *pe
				abs.StartLine += int(s.FirstLine) - 1
				abs.Line += int(s.FirstLine) - 1
				bad(int64(abs.StartLine), &abs)
				continue
			}
			return err
		}
		line, _ := r.FieldPos(0) // only valid after a successful Read
		line += int(s.FirstLine) - 1
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		for i := range idx {
			out[i] = idx.Get(rec, i)
		}
		if err := fn(Record{int64(line), out}); err != nil {
			return err
		}
	}
}
