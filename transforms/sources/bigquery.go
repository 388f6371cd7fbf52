package sources

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"time"

	bq "cloud.google.com/go/bigquery"
	"cloud.google.com/go/bigquery/storage/apiv1/storagepb"
	"cloud.google.com/go/civil"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	bqsink "github.com/audiencesync/audiencesync/sinks/bigquery"
	"google.golang.org/api/iterator"
)

// Source is a parsed bq:// input address:
//
//	bq://PROJECT.DATASET.TABLE          a table (PROJECT may be domain-scoped, example.com:p)
//	bq://PROJECT?query=URL-ENCODED-SQL  the result of a GoogleSQL query run in PROJECT
//
// e.g. bq://shop-prod.raw.orders or
// bq://shop-prod?query=SELECT%20*%20FROM%20raw.orders%20WHERE%20shop%3D'ru'.
type BQSource struct {
	Project, Dataset, Table string
	Query                   string
}

// ParseSource parses a bq:// address; see Source.
func ParseBQSource(s string) (BQSource, error) {
	rest, ok := strings.CutPrefix(s, "bq://")
	if !ok {
		return BQSource{}, fmt.Errorf("bigquery source %q: want bq://project.dataset.table or bq://project?query=...", s)
	}
	if project, rawQuery, hasQ := strings.Cut(rest, "?"); hasQ {
		vals, err := url.ParseQuery(rawQuery)
		if err != nil {
			return BQSource{}, fmt.Errorf("bigquery source %q: query string: %w (URL-encode the SQL)", s, err)
		}
		q := strings.TrimSpace(vals.Get("query"))
		if project == "" || q == "" {
			return BQSource{}, fmt.Errorf("bigquery source %q: want bq://project?query=URL-ENCODED-SQL", s)
		}
		return BQSource{Project: project, Query: q}, nil
	}
	i := strings.LastIndex(rest, ".")
	if i < 0 {
		return BQSource{}, fmt.Errorf("bigquery source %q: want bq://project.dataset.table", s)
	}
	j := strings.LastIndex(rest[:i], ".")
	if j <= 0 || i == len(rest)-1 || j == i-1 {
		return BQSource{}, fmt.Errorf("bigquery source %q: want bq://project.dataset.table", s)
	}
	return BQSource{Project: rest[:j], Dataset: rest[j+1 : i], Table: rest[i+1:]}, nil
}

func (s BQSource) String() string {
	if s.Query != "" {
		return "bq://" + s.Project + "?query=" + url.QueryEscape(s.Query)
	}
	return "bq://" + s.Project + "." + s.Dataset + "." + s.Table
}

// Split is one independently readable part of a source: a Storage Read API stream, or the
// whole table for the REST API. It is plain data (exported fields only), so a Beam
// pipeline can make it an element and read each split on a different worker.
type BQSplit struct {
	Source string // the bq:// address, for messages
	// Table is the table read, as project.dataset.table (for a query: its result table).
	Table string
	// Header names the columns of every emitted row, in order: the requested columns
	// that exist in the table (all columns when none were requested), as a CSV header would.
	Header []string
	// Types are the BigQuery types of the Header columns (they pick the text form).
	Types []string
	// Stream is the Storage Read API stream name; empty for the REST API.
	Stream string
	// ArrowSchema is the read session's serialized Arrow schema (storage API only).
	ArrowSchema []byte
}

// ReadRows reads every row of src (see Source) and emits the requested columns as text,
// exactly as the CSV input would hold them, so the same row validator parses both:
// NULL -> "", DATE -> 2006-01-02, TIMESTAMP -> RFC 3339 in UTC (2006-01-02T15:04:05Z, with
// fractional seconds only when present), DATETIME -> 2006-01-02T15:04:05, BOOL ->
// true/false, INT64 -> decimal, FLOAT64 -> shortest decimal without exponent, NUMERIC and
// BIGNUMERIC -> exact decimal without trailing zeros, BYTES -> base64. A requested column
// that the table lacks is left out of the header (as a CSV file without it would be).
// header is called once before the first row. emit may keep row: each call gets a new
// slice.
func BQReadRows(ctx context.Context, c *bqsink.Client, src string, columns []string, header func([]string) error, emit func(row []string) error) error {
	splits, err := BQSplits(ctx, c, src, columns, c.Config().ReadStreams)
	if err != nil {
		return err
	}
	if header != nil {
		h := columns
		if len(splits) > 0 {
			h = splits[0].Header
		}
		if err := header(h); err != nil {
			return err
		}
	}
	for _, s := range splits {
		if err := BQReadSplit(ctx, c, s, emit); err != nil {
			return err
		}
	}
	return nil
}

// Splits plans the read of src into at most n parts (fewer when BigQuery decides so; none
// for an empty table with the storage API). A query source runs its query here, once.
func BQSplits(ctx context.Context, c *bqsink.Client, src string, columns []string, n int) ([]BQSplit, error) {
	s, err := ParseBQSource(src)
	if err != nil {
		return nil, err
	}
	if n < 1 {
		n = 1
	}
	table, err := bqSourceTable(ctx, c, s)
	if err != nil {
		return nil, err
	}
	md, err := table.Metadata(ctx)
	if err != nil {
		return nil, fmt.Errorf("bigquery source %s: get table %s: %w", src, fq(table), err)
	}
	header, types, err := pickColumns(md.Schema, columns)
	if err != nil {
		return nil, fmt.Errorf("bigquery source %s: %w", src, err)
	}
	base := BQSplit{Source: src, Table: fq(table), Header: header, Types: types}
	if c.Config().ReadAPI == bqsink.ReadREST {
		return []BQSplit{base}, nil
	}
	rc, err := c.ReadClient(ctx)
	if err != nil {
		return nil, err
	}
	sess, err := rc.CreateReadSession(ctx, &storagepb.CreateReadSessionRequest{
		Parent: "projects/" + c.Config().Project,
		ReadSession: &storagepb.ReadSession{
			Table:       fmt.Sprintf("projects/%s/datasets/%s/tables/%s", table.ProjectID, table.DatasetID, table.TableID),
			DataFormat:  storagepb.DataFormat_ARROW,
			ReadOptions: &storagepb.ReadSession_TableReadOptions{SelectedFields: inTableOrder(md.Schema, header)},
		},
		MaxStreamCount: int32(n),
	})
	if err != nil {
		return nil, fmt.Errorf("bigquery source %s: create read session on %s: %w (needs roles/bigquery.readSessionUser; or set read_api: rest)", src, fq(table), err)
	}
	schema := sess.GetArrowSchema().GetSerializedSchema()
	out := make([]BQSplit, 0, len(sess.Streams))
	for _, st := range sess.Streams {
		sp := base
		sp.Stream, sp.ArrowSchema = st.Name, schema
		out = append(out, sp)
	}
	return out, nil
}

// inTableOrder lists the selected columns in the table's order: BigQuery returns them so
// anyway, and the emulator mislabels columns selected in any other order.
func inTableOrder(schema bq.Schema, cols []string) []string {
	want := map[string]bool{}
	for _, c := range cols {
		want[c] = true
	}
	var out []string
	for _, f := range schema {
		if want[f.Name] {
			out = append(out, f.Name)
		}
	}
	return out
}

func fq(t *bq.Table) string { return t.ProjectID + "." + t.DatasetID + "." + t.TableID }

// sourceTable returns the table to read: the named one, or a query's result table.
func bqSourceTable(ctx context.Context, c *bqsink.Client, s BQSource) (*bq.Table, error) {
	if s.Query == "" {
		return c.BigQuery().DatasetInProject(s.Project, s.Dataset).Table(s.Table), nil
	}
	j, err := c.RunQuery(ctx, s.Query)
	if err != nil {
		return nil, fmt.Errorf("bigquery source %s: run query: %w", s, err)
	}
	cfg, err := j.Config()
	if err != nil {
		return nil, fmt.Errorf("bigquery source %s: query job config: %w", s, err)
	}
	qc, ok := cfg.(*bq.QueryConfig)
	if !ok || qc.Dst == nil {
		return nil, fmt.Errorf("bigquery source %s: query job %s has no result table", s, j.ID())
	}
	return qc.Dst, nil
}

// pickColumns keeps the requested columns that exist (all when none requested).
func pickColumns(schema bq.Schema, columns []string) ([]string, []string, error) {
	byName := map[string]*bq.FieldSchema{}
	for _, f := range schema {
		byName[f.Name] = f
	}
	if len(columns) == 0 {
		for _, f := range schema {
			columns = append(columns, f.Name)
		}
	}
	var header, types []string
	for _, name := range columns {
		f, ok := byName[name]
		if !ok {
			continue
		}
		if f.Repeated || f.Type == bq.RecordFieldType {
			return nil, nil, fmt.Errorf("column %s is %s%s; only flat columns can be read as text", name, map[bool]string{true: "REPEATED ", false: ""}[f.Repeated], f.Type)
		}
		header = append(header, name)
		types = append(types, bqsink.CanonicalType(f.Type))
	}
	if len(header) == 0 {
		return nil, nil, fmt.Errorf("none of the columns %v is in the table (it has %d columns)", columns, len(schema))
	}
	return header, types, nil
}

// ReadSplit reads one split and emits its rows in Header order; see ReadRows for the text
// form of each type.
func BQReadSplit(ctx context.Context, c *bqsink.Client, s BQSplit, emit func(row []string) error) error {
	if s.Stream == "" {
		return bqReadREST(ctx, c, s, emit)
	}
	return bqReadStream(ctx, c, s, emit)
}

func bqReadREST(ctx context.Context, c *bqsink.Client, s BQSplit, emit func([]string) error) error {
	parts := strings.Split(s.Table, ".")
	if len(parts) < 3 {
		return fmt.Errorf("bigquery split of %s: bad table %q", s.Source, s.Table)
	}
	tbl := c.BigQuery().DatasetInProject(strings.Join(parts[:len(parts)-2], "."), parts[len(parts)-2]).Table(parts[len(parts)-1])
	it := tbl.Read(ctx)
	var idx []int
	for n := 0; ; n++ {
		var vals []bq.Value
		err := it.Next(&vals)
		if errors.Is(err, iterator.Done) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("bigquery source %s: read %s after %d rows: %w", s.Source, s.Table, n, err)
		}
		if idx == nil {
			pos := map[string]int{}
			for i, f := range it.Schema {
				pos[f.Name] = i
			}
			for _, h := range s.Header {
				p, ok := pos[h]
				if !ok {
					return fmt.Errorf("bigquery source %s: column %s vanished from %s", s.Source, h, s.Table)
				}
				idx = append(idx, p)
			}
		}
		row := make([]string, len(idx))
		for i, p := range idx {
			row[i] = bqFormatValue(vals[p], s.Types[i])
		}
		if err := emit(row); err != nil {
			return err
		}
	}
}

// formatValue renders a REST API value as CSV text (see ReadRows).
func bqFormatValue(v bq.Value, typ string) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return formatFloat(x)
	case bool:
		return strconv.FormatBool(x)
	case civil.Date:
		return x.String()
	case civil.DateTime:
		return x.Date.String() + "T" + x.Time.String()
	case civil.Time:
		return x.String()
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case *big.Rat:
		return formatRat(x)
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	default:
		return fmt.Sprint(x)
	}
}

func formatFloat(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// formatRat prints an exact decimal (NUMERIC has at most 9, BIGNUMERIC 38 decimals).
func formatRat(r *big.Rat) string { return trimZeros(r.FloatString(38)) }

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		return "0"
	}
	return s
}

// decimalString prints an unscaled integer with scale decimals.
func bqDecimalString(v *big.Int, scale int32) string {
	neg := v.Sign() < 0
	digits := new(big.Int).Abs(v).String()
	if scale > 0 {
		if len(digits) <= int(scale) {
			digits = strings.Repeat("0", int(scale)-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-int(scale)] + "." + digits[len(digits)-int(scale):]
	}
	s := trimZeros(digits)
	if neg && s != "0" {
		s = "-" + s
	}
	return s
}

// readStream reads one Storage Read API stream, resuming at the last row offset after a
// broken connection (up to 3 times without progress).
func bqReadStream(ctx context.Context, c *bqsink.Client, s BQSplit, emit func([]string) error) error {
	rc, err := c.ReadClient(ctx)
	if err != nil {
		return err
	}
	var offset int64
	retries := 0
	for {
		stream, err := rc.ReadRows(ctx, &storagepb.ReadRowsRequest{ReadStream: s.Stream, Offset: offset})
		if err != nil {
			return fmt.Errorf("bigquery source %s: open read stream: %w", s.Source, err)
		}
		for {
			resp, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				if ctx.Err() != nil || retries >= 3 {
					return fmt.Errorf("bigquery source %s: read stream at row %d: %w", s.Source, offset, err)
				}
				retries++
				break // reopen at offset
			}
			n, err := decodeArrowBatch(s, resp.GetArrowRecordBatch().GetSerializedRecordBatch(), emit)
			if err != nil {
				return err
			}
			if n > 0 {
				retries = 0
			}
			offset += n
		}
	}
}

// decodeArrowBatch decodes one serialized record batch and emits its rows. BigQuery sends
// the bare batch message (the schema comes once, with the session); the emulator sends a
// whole IPC stream that carries its own schema, so that form is tried first.
func decodeArrowBatch(s BQSplit, batch []byte, emit func([]string) error) (int64, error) {
	if len(batch) == 0 {
		return 0, nil
	}
	rdr, err := ipc.NewReader(bytes.NewReader(batch))
	if err != nil {
		buf := make([]byte, 0, len(s.ArrowSchema)+len(batch))
		buf = append(append(buf, s.ArrowSchema...), batch...)
		rdr, err = ipc.NewReader(bytes.NewReader(buf))
		if err != nil {
			return 0, fmt.Errorf("bigquery source %s: decode Arrow batch: %w", s.Source, err)
		}
	}
	defer rdr.Release()
	var n int64
	for rdr.Next() {
		rec := rdr.Record()
		cols := make([]func(int) string, len(s.Header))
		for i, name := range s.Header {
			idx := rec.Schema().FieldIndices(name)
			if len(idx) == 0 {
				return n, fmt.Errorf("bigquery source %s: Arrow batch lacks column %s", s.Source, name)
			}
			f, err := arrowFormatter(rec.Column(idx[0]), s.Types[i])
			if err != nil {
				return n, fmt.Errorf("bigquery source %s: column %s: %w", s.Source, name, err)
			}
			cols[i] = f
		}
		for r := 0; r < int(rec.NumRows()); r++ {
			row := make([]string, len(cols))
			for i, f := range cols {
				row[i] = f(r)
			}
			if err := emit(row); err != nil {
				return n, err
			}
			n++
		}
	}
	if err := rdr.Err(); err != nil {
		return n, fmt.Errorf("bigquery source %s: decode Arrow batch: %w", s.Source, err)
	}
	return n, nil
}

// arrowFormatter returns a function that renders row i of col as CSV text (see ReadRows).
func arrowFormatter(col arrow.Array, typ string) (func(int) string, error) {
	null := func(f func(int) string) func(int) string {
		return func(i int) string {
			if col.IsNull(i) {
				return ""
			}
			return f(i)
		}
	}
	switch a := col.(type) {
	case *array.String:
		return null(a.Value), nil
	case *array.LargeString:
		return null(a.Value), nil
	case *array.Int64:
		return null(func(i int) string { return strconv.FormatInt(a.Value(i), 10) }), nil
	case *array.Float64:
		return null(func(i int) string { return formatFloat(a.Value(i)) }), nil
	case *array.Float32:
		return null(func(i int) string { return strconv.FormatFloat(float64(a.Value(i)), 'f', -1, 32) }), nil
	case *array.Boolean:
		return null(func(i int) string { return strconv.FormatBool(a.Value(i)) }), nil
	case *array.Date32:
		return null(func(i int) string { return a.Value(i).ToTime().Format("2006-01-02") }), nil
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return null(func(i int) string {
			t := a.Value(i).ToTime(unit).UTC()
			if typ == "DATETIME" {
				return t.Format("2006-01-02T15:04:05.999999999")
			}
			return t.Format(time.RFC3339Nano)
		}), nil
	case *array.Time64:
		unit := a.DataType().(*arrow.Time64Type).Unit
		return null(func(i int) string { return a.Value(i).ToTime(unit).Format("15:04:05.999999999") }), nil
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		return null(func(i int) string { return bqDecimalString(a.Value(i).BigInt(), scale) }), nil
	case *array.Decimal256:
		scale := a.DataType().(*arrow.Decimal256Type).Scale
		return null(func(i int) string { return bqDecimalString(a.Value(i).BigInt(), scale) }), nil
	case *array.Binary:
		return null(func(i int) string { return base64.StdEncoding.EncodeToString(a.Value(i)) }), nil
	}
	return nil, fmt.Errorf("Arrow type %s (BigQuery %s) has no text form here", col.DataType(), typ)
}
