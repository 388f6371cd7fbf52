package bigquery

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"

	bq "cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"github.com/parquet-go/parquet-go"
	"google.golang.org/api/googleapi"

	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// WriteTable replaces the rows of runDate in table with rows, creating the dataset and the
// table when missing and adding new Go columns first (see ensureTable). Every row's
// run_date must equal runDate. It returns the number of rows written.
//
// It is one load job per call (NDJSON streamed to the job, never row-by-row inserts):
// load jobs are free, atomic per table, have no streaming buffer that would block a later
// DELETE, and the emulator runs them the same way BigQuery does.
func WriteTable[T any](ctx context.Context, c *Client, table tables.Table, runDate value.Day, rows []T) (int64, error) {
	want := reflect.TypeOf(table.Row)
	if got := reflect.TypeOf((*T)(nil)).Elem(); got != want {
		return 0, fmt.Errorf("bigquery: table %s holds %s rows, not %s", table.Name, want, got)
	}
	return c.writeRows(ctx, table, runDate, reflect.ValueOf(rows))
}

// WriteOutputDir loads every table found under the pipeline's Parquet output directory
// (outDir/<table>/part-*.parquet, tables from tables.All) for runDate and returns rows
// written per table. A table without a directory is skipped (this run did not produce
// it); a directory with no rows empties that day's partition.
func WriteOutputDir(ctx context.Context, cfg Config, outDir string, runDate value.Day) (map[string]int64, error) {
	c, err := NewClient(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.WriteOutputDir(ctx, outDir, runDate)
}

// WriteOutputDir is the function of the same name on an open client.
func (c *Client) WriteOutputDir(ctx context.Context, outDir string, runDate value.Day) (map[string]int64, error) {
	return c.WriteOutputDirEach(ctx, outDir, runDate, nil)
}

// WriteOutputDirEach is WriteOutputDir that also hands each table's rows, once decoded, to
// each (as the table's []row type, e.g. []tables.CustomerMetrics) before loading them: the
// pipeline's report folds them in instead of reading the tables a second time.
func (c *Client) WriteOutputDirEach(ctx context.Context, outDir string, runDate value.Day, each func(rows any)) (map[string]int64, error) {
	written := map[string]int64{}
	for _, t := range tables.All {
		n, found, err := c.writeOutputTable(ctx, outDir, t.Name, runDate, each)
		if err != nil {
			return written, err
		}
		if found {
			written[t.Name] = n
		}
	}
	return written, nil
}

// WriteOutputTable loads one table of the Parquet output directory (for a Beam DoFn that
// gets one table name per element). found is false when outDir has no directory for it.
func (c *Client) WriteOutputTable(ctx context.Context, outDir, table string, runDate value.Day) (n int64, found bool, err error) {
	return c.writeOutputTable(ctx, outDir, table, runDate, nil)
}

func (c *Client) writeOutputTable(ctx context.Context, outDir, table string, runDate value.Day, each func(rows any)) (n int64, found bool, err error) {
	t, ok := tables.ByName(table)
	if !ok {
		return 0, false, fmt.Errorf("bigquery: unknown table %q (see transforms/tables.All)", table)
	}
	// Through fileio: the pipeline's output is often on gs:// (Dataflow).
	dir := fileio.Join(outDir, t.Name)
	files, err := fileio.Glob(ctx, fileio.Join(dir, "part-*.parquet"))
	if err != nil {
		return 0, false, fmt.Errorf("bigquery: list %s: %w", dir, err)
	}
	if len(files) == 0 {
		return 0, false, nil
	}
	rows, err := readParquetFiles(ctx, files, reflect.TypeOf(t.Row))
	if err != nil {
		return 0, true, err
	}
	if each != nil {
		each(rows.Interface())
	}
	n, err = c.writeRows(ctx, t, runDate, rows)
	return n, true, err
}

// readParquetFiles reads a table's part files (local or gs://) into a []rowType value.
func readParquetFiles(ctx context.Context, files []string, typ reflect.Type) (reflect.Value, error) {
	out := reflect.MakeSlice(reflect.SliceOf(typ), 0, 0)
	sort.Strings(files)
	schema := parquet.SchemaOf(reflect.New(typ).Interface())
	for _, path := range files {
		f, err := fileio.OpenReaderAt(ctx, path)
		if err != nil {
			return out, fmt.Errorf("bigquery: read %s: %w", path, err)
		}
		r := parquet.NewReader(f, schema)
		for {
			row := reflect.New(typ)
			if err := r.Read(row.Interface()); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				r.Close()
				f.Close()
				return out, fmt.Errorf("bigquery: read %s: %w (was it written with the current transforms/tables structs?)", path, err)
			}
			out = reflect.Append(out, row.Elem())
		}
		r.Close()
		f.Close()
	}
	return out, nil
}

func (c *Client) writeRows(ctx context.Context, table tables.Table, runDate value.Day, rows reflect.Value) (int64, error) {
	rt, err := parseRowType(reflect.TypeOf(table.Row))
	if err != nil {
		return 0, err
	}
	n := rows.Len()
	for i := 0; i < n; i++ {
		if d := value.Day(rows.Index(i).FieldByIndex(rt.runDateIdx).Int()); d != runDate {
			return 0, fmt.Errorf("bigquery: table %s row %d: run_date %s differs from the run date %s; a load replaces exactly one day", table.Name, i, d, runDate)
		}
	}
	if err := c.ensureDataset(ctx); err != nil {
		return 0, err
	}
	if err := c.ensureTable(ctx, table, rt); err != nil {
		return 0, err
	}
	if n == 0 || c.cfg.Replace == ReplaceDelete {
		if err := c.deleteDay(ctx, table.Name, runDate); err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, nil
		}
	}
	dest, disp := table.Name, bq.WriteAppend
	if c.cfg.Replace == ReplacePartition {
		dest, disp = PartitionDecorator(table.Name, runDate), bq.WriteTruncate
	}
	if err := c.load(ctx, rt, dest, disp, rows); err != nil {
		return 0, fmt.Errorf("bigquery: load %s.%s (%d rows): %w", c.cfg.Dataset, dest, n, err)
	}
	return int64(n), nil
}

// PartitionDecorator names the day partition of a run_date-partitioned table.
func PartitionDecorator(table string, d value.Day) string {
	return table + "$" + d.Time().Format("20060102")
}

func (c *Client) load(ctx context.Context, rt *rowType, dest string, disp bq.TableWriteDisposition, rows reflect.Value) error {
	pr, pw := io.Pipe()
	defer pr.Close() // unblocks the encoder if the job fails before reading everything
	go func() {
		w := bufio.NewWriterSize(pw, 1<<20)
		var line []byte
		for i := 0; i < rows.Len(); i++ {
			line = rt.appendRow(line[:0], rows.Index(i))
			if _, err := w.Write(line); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(w.Flush())
	}()
	src := bq.NewReaderSource(pr)
	src.SourceFormat = bq.JSON
	l := c.bq.Dataset(c.cfg.Dataset).Table(dest).LoaderFrom(src)
	l.WriteDisposition = disp
	l.CreateDisposition = bq.CreateNever // ensureTable made it, with partitioning and clustering
	l.Labels = c.labels()
	switch {
	case c.cfg.UploadChunkMB < 0:
		l.MediaOptions = append(l.MediaOptions, googleapi.ChunkSize(0))
	case c.cfg.UploadChunkMB > 0:
		l.MediaOptions = append(l.MediaOptions, googleapi.ChunkSize(c.cfg.UploadChunkMB<<20))
	}
	job, err := l.Run(ctx)
	if err != nil {
		return err
	}
	return waitJob(ctx, job)
}

func waitJob(ctx context.Context, job *bq.Job) error {
	st, err := job.Wait(ctx)
	if err != nil {
		return fmt.Errorf("job %s: %w", job.ID(), err)
	}
	if err := st.Err(); err != nil {
		msg := err.Error()
		for i, e := range st.Errors {
			if i == 3 {
				msg += fmt.Sprintf("; and %d more", len(st.Errors)-3)
				break
			}
			msg += "; " + e.Error()
		}
		return fmt.Errorf("job %s: %s", job.ID(), msg)
	}
	return nil
}

// deleteDay removes the rows of one run date (delete mode, or a table with no rows today).
func (c *Client) deleteDay(ctx context.Context, table string, d value.Day) error {
	q := c.bq.Query(fmt.Sprintf("DELETE FROM `%s.%s.%s` WHERE run_date = @run_date", c.cfg.Project, c.cfg.Dataset, table))
	t := d.Time()
	q.Parameters = []bq.QueryParameter{{Name: "run_date", Value: civil.Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}}}
	q.Labels = c.labels()
	job, err := q.Run(ctx)
	if err == nil {
		err = waitJob(ctx, job)
	}
	if err != nil {
		return fmt.Errorf("bigquery: delete run_date %s from %s.%s: %w", d, c.cfg.Dataset, table, err)
	}
	return nil
}

func (c *Client) labels() map[string]string {
	l := map[string]string{"app": "audiencesync"}
	for k, v := range c.cfg.Labels {
		l[k] = v
	}
	return l
}

func httpCode(err error) int {
	var e *googleapi.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// ensureDataset creates the dataset when it is missing; a concurrent creator (another
// table's DoFn) answering 409 counts as success.
func (c *Client) ensureDataset(ctx context.Context) error {
	ds := c.bq.Dataset(c.cfg.Dataset)
	_, err := ds.Metadata(ctx)
	if err == nil {
		return nil
	}
	if httpCode(err) != http.StatusNotFound {
		return fmt.Errorf("bigquery: get dataset %s.%s: %w", c.cfg.Project, c.cfg.Dataset, err)
	}
	err = ds.Create(ctx, &bq.DatasetMetadata{
		Location:    c.cfg.Location,
		Description: "audiencesync customer metrics, segments and audience sync log",
		Labels:      c.labels(),
	})
	if err != nil && httpCode(err) != http.StatusConflict {
		return fmt.Errorf("bigquery: create dataset %s.%s: %w (needs roles/bigquery.dataEditor or dataOwner on the project)", c.cfg.Project, c.cfg.Dataset, err)
	}
	return nil
}

// TableMetadata is what a new table gets: the Go-derived schema, day partitions on
// run_date, the table's clustering columns, description and labels.
func TableMetadata(t tables.Table) (*bq.TableMetadata, error) {
	s, err := TableSchema(t)
	if err != nil {
		return nil, err
	}
	md := &bq.TableMetadata{
		Description:      t.Description,
		Schema:           s,
		TimePartitioning: &bq.TimePartitioning{Type: bq.DayPartitioningType, Field: "run_date"},
	}
	if len(t.Cluster) > 0 {
		md.Clustering = &bq.Clustering{Fields: t.Cluster}
	}
	return md, nil
}

// EnsureTable creates the dataset and table when missing and applies the schema drift rules
// (see ensureTable) to an existing table. WriteTable does this itself; a pipeline may call
// it for every table at start-up to fail fast on a type conflict.
func EnsureTable(ctx context.Context, c *Client, table tables.Table) error {
	rt, err := parseRowType(reflect.TypeOf(table.Row))
	if err != nil {
		return err
	}
	if err := c.ensureDataset(ctx); err != nil {
		return err
	}
	return c.ensureTable(ctx, table, rt)
}

// ensureTable creates a missing table and applies the drift rules to an existing one:
//   - a column in Go but not in the table is added, NULLABLE (BigQuery only adds
//     NULLABLE columns, and old rows have no value);
//   - a column in the table but not in Go is kept with its data; if it is REQUIRED it is
//     relaxed to NULLABLE, because loads without it would fail otherwise;
//   - a column that is REQUIRED in the table but a pointer (NULLABLE) in Go is relaxed;
//   - a column whose type differs is an error: BigQuery cannot change it in place.
func (c *Client) ensureTable(ctx context.Context, t tables.Table, rt *rowType) error {
	ref := c.bq.Dataset(c.cfg.Dataset).Table(t.Name)
	for attempt := 0; ; attempt++ {
		md, err := ref.Metadata(ctx)
		if httpCode(err) == http.StatusNotFound {
			nmd, err := TableMetadata(t)
			if err != nil {
				return err
			}
			nmd.Labels = c.labels()
			err = ref.Create(ctx, nmd)
			if err == nil {
				return nil
			}
			if httpCode(err) == http.StatusConflict && attempt < 2 {
				continue // created meanwhile by another worker: check its schema
			}
			return fmt.Errorf("bigquery: create table %s.%s: %w", c.cfg.Dataset, t.Name, err)
		}
		if err != nil {
			return fmt.Errorf("bigquery: get table %s.%s: %w", c.cfg.Dataset, t.Name, err)
		}
		if c.cfg.Replace == ReplacePartition {
			if tp := md.TimePartitioning; tp == nil || tp.Field != "run_date" || (tp.Type != "" && tp.Type != bq.DayPartitioningType) {
				return fmt.Errorf("bigquery: table %s.%s is not partitioned by DAY on run_date, so a rerun cannot replace its day; recreate it from sql/%s.sql (copy the data over) or set replace: delete", c.cfg.Dataset, t.Name, t.Name)
			}
		}
		schema, changed, err := driftSchema(t.Name, md.Schema, rt)
		if err != nil || !changed {
			return err
		}
		_, err = ref.Update(ctx, bq.TableMetadataToUpdate{Schema: schema}, md.ETag)
		if err == nil {
			return nil
		}
		if httpCode(err) == http.StatusPreconditionFailed && attempt < 2 {
			continue // someone else changed the table between our read and write
		}
		return fmt.Errorf("bigquery: update schema of %s.%s: %w", c.cfg.Dataset, t.Name, err)
	}
}

// driftSchema returns the table schema after the drift rules of ensureTable, and whether it
// differs from have.
func driftSchema(table string, have bq.Schema, rt *rowType) (bq.Schema, bool, error) {
	goCols := map[string]*column{}
	for i := range rt.cols {
		goCols[rt.cols[i].name] = &rt.cols[i]
	}
	out := make(bq.Schema, 0, len(have)+len(rt.cols))
	inTable := map[string]bool{}
	changed := false
	for _, f := range have {
		nf := *f
		inTable[f.Name] = true
		gc, ok := goCols[f.Name]
		switch {
		case !ok:
			if nf.Required {
				nf.Required, changed = false, true
			}
		case canonicalType(f.Type) != canonicalType(gc.typ):
			return nil, false, fmt.Errorf("bigquery: table %s column %s is %s in BigQuery but %s in Go; BigQuery cannot change a column's type in place: migrate the table (e.g. CREATE TABLE ... AS SELECT with a CAST) or rename the Go column", table, f.Name, f.Type, gc.typ)
		case nf.Required && gc.nullable:
			nf.Required, changed = false, true
		}
		out = append(out, &nf)
	}
	for _, gc := range rt.cols {
		if !inTable[gc.name] {
			out = append(out, &bq.FieldSchema{Name: gc.name, Type: gc.typ, Description: gc.desc})
			changed = true
		}
	}
	return out, changed, nil
}
