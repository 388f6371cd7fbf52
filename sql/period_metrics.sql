-- period_metrics: One row per period, currency and channel: AOV first vs repeat, CAC, CRR, churn, RPR, LTV.
-- Written by the nightly pipeline (sinks/bigquery); one partition per run_date, a rerun
-- replaces its day. Columns must match transforms/tables (checked by sql_test.go).
CREATE TABLE IF NOT EXISTS `${project}.${dataset}.period_metrics` (
  run_date DATE NOT NULL OPTIONS(description="As-of date of the run that wrote the row"),
  period STRING NOT NULL OPTIONS(description="Period label: YYYY-MM or YYYY-Www (ISO week)"),
  period_start DATE NOT NULL OPTIONS(description="First day of the period"),
  period_end DATE NOT NULL OPTIONS(description="Last day of the period"),
  complete BOOL NOT NULL OPTIONS(description="The period ended before the as-of date"),
  currency STRING NOT NULL OPTIONS(description="ISO 4217 currency of every money column in the row"),
  channel STRING NOT NULL OPTIONS(description="Acquisition channel of the customers counted, or all"),
  orders INT64 NOT NULL OPTIONS(description="Counted orders in the period"),
  revenue FLOAT64 NOT NULL OPTIONS(description="Revenue of the counted orders in the period"),
  buyers INT64 NOT NULL OPTIONS(description="Customers with an order in the period"),
  new_customers INT64 NOT NULL OPTIONS(description="Customers whose first order fell in the period"),
  first_orders INT64 NOT NULL OPTIONS(description="First orders in the period"),
  repeat_orders INT64 NOT NULL OPTIONS(description="Repeat orders in the period"),
  revenue_first FLOAT64 NOT NULL OPTIONS(description="Revenue of first orders"),
  revenue_repeat FLOAT64 NOT NULL OPTIONS(description="Revenue of repeat orders"),
  aov FLOAT64 OPTIONS(description="revenue / orders; null without orders"),
  aov_first FLOAT64 OPTIONS(description="AOV of first orders; null without first orders"),
  aov_repeat FLOAT64 OPTIONS(description="AOV of repeat orders; null without repeat orders"),
  active_start INT64 NOT NULL OPTIONS(description="S: customers active at the period start (bought within the window)"),
  active_end INT64 NOT NULL OPTIONS(description="E: customers active at the period end"),
  crr FLOAT64 OPTIONS(description="Customer retention rate % = (E - N) / S x 100; null when S = 0"),
  churn_rate FLOAT64 OPTIONS(description="100 - CRR"),
  churned INT64 NOT NULL OPTIONS(description="Customers active at the start and not at the end"),
  repeat_buyers INT64 NOT NULL OPTIONS(description="Buyers in the period who had bought before it"),
  rpr FLOAT64 OPTIONS(description="Repeat purchase rate % = repeat_buyers / buyers x 100"),
  spend FLOAT64 OPTIONS(description="Acquisition spend in the period (spend input)"),
  cac FLOAT64 OPTIONS(description="spend / new_customers; null without spend or new customers"),
  customers_to_date INT64 NOT NULL OPTIONS(description="Customers with a first order up to the period end"),
  ltv_avg FLOAT64 OPTIONS(description="Average historical LTV (cumulative revenue / customers) at the period end")
)
PARTITION BY run_date
CLUSTER BY currency, channel
OPTIONS(description="One row per period, currency and channel: AOV first vs repeat, CAC, CRR, churn, RPR, LTV");
