-- segment_membership: One row per customer and segment.
-- Written by the nightly pipeline (sinks/bigquery); one partition per run_date, a rerun
-- replaces its day. Columns must match transforms/tables (checked by sql_test.go).
CREATE TABLE IF NOT EXISTS `${project}.${dataset}.segment_membership` (
  run_date DATE NOT NULL OPTIONS(description="As-of date of the run that wrote the row"),
  customer_id STRING NOT NULL OPTIONS(description="Customer id"),
  segment STRING NOT NULL OPTIONS(description="Segment name"),
  source STRING NOT NULL OPTIONS(description="rfm, kmeans or rule"),
  entered_at DATE NOT NULL OPTIONS(description="First run date of the current uninterrupted membership")
)
PARTITION BY run_date
CLUSTER BY segment, source
OPTIONS(description="One row per customer and segment");
