// Package parquetio reads and writes Parquet with github.com/parquet-go/parquet-go: typed
// row structs (transforms/tables) out, typed rows or generic string records in. Files are
// written atomically through fileio, and tables are folders of part files
// (`<table>/part-NNNNN.parquet`) so that writers shard the work instead of funnelling a whole
// table through one element.
package parquetio

import (
	"context"
	"fmt"
	"io"

	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// PartName is the file name of part i of a table.
func PartName(i int) string { return fmt.Sprintf("part-%05d.parquet", i) }

// Write writes rows to w as one Parquet file (zstd-compressed).
func Write[T any](w io.Writer, rows []T) error {
	pw := parquet.NewGenericWriter[T](w, parquet.Compression(&zstd.Codec{Level: zstd.SpeedFastest}))
	if _, err := pw.Write(rows); err != nil {
		return err
	}
	return pw.Close()
}

// WriteFile writes rows to path atomically (tmp file + rename locally).
func WriteFile[T any](ctx context.Context, path string, rows []T) error {
	return fileio.WriteAtomic(ctx, path, func(w io.Writer) error { return Write(w, rows) })
}

// ReadFile reads every row of one file.
func ReadFile[T any](ctx context.Context, path string) ([]T, error) {
	r, err := fileio.OpenReaderAt(ctx, path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	rows, err := parquet.Read[T](r, r.Size())
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return rows, nil
}

// ReadDir reads every part file of a table folder (`dir/part-*.parquet`), in name order.
// A missing folder gives no rows and no error.
func ReadDir[T any](ctx context.Context, dir string) ([]T, error) {
	parts, err := fileio.Glob(ctx, fileio.Join(dir, "part-*.parquet"))
	if err != nil {
		return nil, err
	}
	var all []T
	for _, p := range parts {
		rows, err := ReadFile[T](ctx, p)
		if err != nil {
			return nil, err
		}
		all = append(all, rows...)
	}
	return all, nil
}
