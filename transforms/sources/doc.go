// Package sources holds the input readers: CSV and Parquet files (local or gs://) and
// BigQuery tables or queries (bq://). Each input is planned into Splits (byte ranges of a
// CSV file cut at record boundaries, Parquet row groups, BigQuery read streams) so that a
// runner can read them in parallel.
//
// Read binds a split's columns to its input's schema by name, once, and hands every row
// to the caller as a Record: its position (Split.File and Record.Row identify a row among
// every input of a run) and its fields in the schema's column order, as the text a CSV
// file would hold, for the validators in transforms/orders. Rows that cannot be bound
// (csv_syntax, short_row, long_row) go to a BadRow callback with their position. Record
// fields of a CSV split share the reader's buffer: they are valid during the callback only
// (no allocation per row); copy what must outlive it.
//
// The CSV scanner (csv.go) serves the header, the split planner and the reader alike, so
// results never depend on the split size, and a damaged record costs its first line only.
// MaxPurchaseDay and DefaultRunDate give the default run date from accepted purchases.
package sources
