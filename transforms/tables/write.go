package tables

import (
	"context"
	"fmt"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/audiencesync/audiencesync/transforms/counters"
	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/parquetio"
)

// Tables travel through the pipeline as parts: KV<int, []Row>, one element per customer
// bucket (or key 0 for a base-wide table), so that a table of millions of rows is a few
// dozen elements and writing needs no shuffle. The part's key names its file.

// Write writes one table's parts to <out>/<table>/part-NNNNN.parquet (NNNNN = the part's
// key, so a retried bundle overwrites its own part) and counts rows_written.<table>.
// In: KV<int, []T>, T the row type of a table in All.
func Write[T any](s beam.Scope, out string, parts beam.PCollection) {
	t := Of[T]()
	s = s.Scope("tables.Write")
	beam.ParDo0(s, &writeFn[T]{Output: out, Table: t.Name}, parts)
}

// Of returns the table whose rows are T; it panics for a type that is no table's row (a
// programming error caught by any test that builds the graph).
func Of[T any]() Table {
	rt := reflect.TypeOf((*T)(nil)).Elem()
	for _, t := range All {
		if reflect.TypeOf(t.Row) == rt {
			return t
		}
	}
	panic(fmt.Sprintf("tables: %s is not the row type of any table", rt))
}

type writeFn[T any] struct {
	Output string
	Table  string
}

func (f *writeFn[T]) ProcessElement(ctx context.Context, part int, rows []T) error {
	return writePart(ctx, f.Output, f.Table, part, rows)
}

// WriteFile writes one part of T's table from inside a DoFn, as Write does.
func WriteFile[T any](ctx context.Context, out string, part int, rows []T) error {
	return writePart(ctx, out, Of[T]().Name, part, rows)
}

func writePart[T any](ctx context.Context, out, table string, part int, rows []T) error {
	if err := parquetio.WriteFile(ctx, fileio.Join(out, table, parquetio.PartName(part)), rows); err != nil {
		return err
	}
	counters.Inc(ctx, counters.RowsWritten+table, int64(len(rows)))
	return nil
}

// register1 registers the writer of T and the part emitter every producer of T uses.
func register1[T any]() {
	register.DoFn3x1[context.Context, int, []T, error](&writeFn[T]{})
	register.Emitter2[int, []T]()
}

func init() {
	register1[CustomerMetrics]()
	register1[PeriodMetrics]()
	register1[CohortRetention]()
	register1[ChurnList]()
	register1[SegmentMembership]()
	register1[KMeansCentroid]()
	register1[CLVModel]()
}
