// Package sql holds the BigQuery DDL of the metric tables and the BI views, as .sql files
// embedded into the binary, templated on ${project} and ${dataset}.
//
// tables.sql creates every table of transforms/tables (CREATE TABLE IF NOT EXISTS,
// partitioned by run_date, clustered, with column descriptions). It is rendered from the Go
// row types by sinks/bigquery.DDL (`make sql-ddl`), so the columns are stated once, in
// transforms/tables; it is checked in for readers and `bq query` users, and sql_test.go
// fails when it differs from the Go types or from its own parse of them. view_<name>.sql
// creates or replaces one view over the tables. Statements renders them in apply order
// (tables, then views); sinks/bigquery.ApplySQL runs them and `make sql-apply` calls that.
package sql
