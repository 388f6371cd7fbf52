-- churn_list: Customers active at the start of the last complete period and not at its end.
-- Written by the nightly pipeline (sinks/bigquery); one partition per run_date, a rerun
-- replaces its day. Columns must match transforms/tables (checked by sql_test.go).
CREATE TABLE IF NOT EXISTS `${project}.${dataset}.churn_list` (
  run_date DATE NOT NULL OPTIONS(description="As-of date of the run that wrote the row"),
  period STRING NOT NULL OPTIONS(description="The period in which the customer churned"),
  customer_id STRING NOT NULL OPTIONS(description="Customer id"),
  currency STRING NOT NULL OPTIONS(description="ISO 4217 currency"),
  last_order_date DATE NOT NULL OPTIONS(description="Day of the last counted order"),
  orders INT64 NOT NULL OPTIONS(description="Counted orders up to the as-of date"),
  revenue FLOAT64 NOT NULL OPTIONS(description="Revenue up to the as-of date")
)
PARTITION BY run_date
CLUSTER BY customer_id
OPTIONS(description="Customers active at the start of the last complete period and not at its end");
