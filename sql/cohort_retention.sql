-- cohort_retention: One row per first-order cohort and period offset.
-- Written by the nightly pipeline (sinks/bigquery); one partition per run_date, a rerun
-- replaces its day. Columns must match transforms/tables (checked by sql_test.go).
CREATE TABLE IF NOT EXISTS `${project}.${dataset}.cohort_retention` (
  run_date DATE NOT NULL OPTIONS(description="As-of date of the run that wrote the row"),
  cohort STRING NOT NULL OPTIONS(description="First-order period of the cohort"),
  cohort_start DATE NOT NULL OPTIONS(description="First day of the cohort period"),
  currency STRING NOT NULL OPTIONS(description="ISO 4217 currency"),
  period_offset INT64 NOT NULL OPTIONS(description="Periods since the cohort period (0 = the cohort's own)"),
  cohort_size INT64 NOT NULL OPTIONS(description="Customers in the cohort"),
  active_customers INT64 NOT NULL OPTIONS(description="Cohort customers with an order in this period"),
  retention_pct FLOAT64 NOT NULL OPTIONS(description="active_customers / cohort_size x 100"),
  orders INT64 NOT NULL OPTIONS(description="Orders of the cohort in this period"),
  revenue FLOAT64 NOT NULL OPTIONS(description="Revenue of the cohort in this period"),
  cum_revenue_per_customer FLOAT64 NOT NULL OPTIONS(description="Cumulative revenue per cohort customer up to this offset (cohort LTV curve)")
)
PARTITION BY run_date
CLUSTER BY cohort
OPTIONS(description="One row per first-order cohort and period offset");
