// Package sql holds the BigQuery DDL of the metric tables and the BI views, as .sql files
// embedded into the binary. Files are templated on ${project} and ${dataset}; one
// statement per file. <table>.sql creates a table (CREATE TABLE IF NOT EXISTS, partitioned
// by run_date, clustered, with column descriptions); view_<name>.sql creates or replaces a
// view over them. Statements renders them in apply order (tables, then views);
// sinks/bigquery.ApplySQL runs them and `make sql-apply` calls that.
//
// The table files restate transforms/tables by hand, for readers and for `bq query`
// users; sql_test.go fails when a column, type, mode, description, partitioning or
// clustering differs from the Go structs, so the two cannot drift.
package sql
