// Package sources holds the input readers: CSV and Parquet files (local or gs://) and
// BigQuery tables or queries (bq://). Each input is planned into Splits (byte ranges of a
// CSV file cut at record boundaries, Parquet row groups, BigQuery read streams) so that a
// runner can read them in parallel, and every reader hands rows to the same validators in
// transforms/orders.
package sources
