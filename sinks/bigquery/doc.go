// Package bigquery writes the metric tables to BigQuery; its Client is also the connection
// of the bq:// input reader in transforms/sources.
//
// Writing. The schema of every table is derived from its row struct in transforms/tables
// (column name from the parquet tag, type from the Go type, description from the desc tag;
// pointers NULLABLE, everything else REQUIRED). WriteTable (rows in memory) and
// WriteOutputDir (the pipeline's Parquet output directory) run one load job per table:
// rows are encoded as NDJSON and streamed into the job, never inserted row by row. Before
// the load, the dataset and table are created when missing (partitioned by run_date, DAY;
// clustered per tables.Table.Cluster) and schema drift is applied: a Go column missing
// from the table is added NULLABLE; a table column missing from Go is kept (relaxed to
// NULLABLE if REQUIRED); a type change is an error. A rerun of a run date replaces that
// day: with replace: partition (default) the job writes table$YYYYMMDD with
// WRITE_TRUNCATE, atomically; with replace: delete it runs DELETE WHERE run_date = @d and
// appends (for the emulator, which has no partition decorators). Zero rows empty the day.
//
// DDL. ApplySQL runs the DDL and BI views of package sql (kept equal to the Go schema by
// sql's tests). The package has no Beam imports; the pipeline wraps these calls in DoFns.
// Tests against the goccy/bigquery-emulator carry the build tag bqemulator (make test-bq);
// package bqtest starts an emulator per test and lists the emulator's gaps.
package bigquery
