-- customer_metrics: One row per customer and currency: orders, revenue, RFM, cluster, predicted CLV.
-- Written by the nightly pipeline (sinks/bigquery); one partition per run_date, a rerun
-- replaces its day. Columns must match transforms/tables (checked by sql_test.go).
CREATE TABLE IF NOT EXISTS `${project}.${dataset}.customer_metrics` (
  run_date DATE NOT NULL OPTIONS(description="As-of date of the run that wrote the row"),
  customer_id STRING NOT NULL OPTIONS(description="Customer id from the shop's data"),
  currency STRING NOT NULL OPTIONS(description="ISO 4217 currency of every money column in the row"),
  first_order_date DATE NOT NULL OPTIONS(description="Day of the first counted order"),
  last_order_date DATE NOT NULL OPTIONS(description="Day of the last counted order"),
  cohort STRING NOT NULL OPTIONS(description="First-order period (YYYY-MM, or YYYY-Www for weeks)"),
  acquisition_channel STRING NOT NULL OPTIONS(description="Channel of the first order, empty when unknown"),
  orders INT64 NOT NULL OPTIONS(description="Counted orders (completed or partially refunded) up to the as-of date"),
  revenue FLOAT64 NOT NULL OPTIONS(description="Sum of counted order amounts = historical LTV"),
  aov FLOAT64 NOT NULL OPTIONS(description="revenue / orders"),
  first_order_value FLOAT64 NOT NULL OPTIONS(description="Amount of the first order"),
  repeat_aov FLOAT64 OPTIONS(description="Average amount of the repeat orders; null with one order"),
  recency_days INT64 NOT NULL OPTIONS(description="Days from the last order to the as-of date"),
  tenure_days INT64 NOT NULL OPTIONS(description="Days from the first order to the as-of date"),
  clv_simple FLOAT64 NOT NULL OPTIONS(description="Simple CLV = AOV x purchases per period x expected lifetime in periods"),
  active BOOL NOT NULL OPTIONS(description="Bought within the activity window (default 365 days) before the as-of date"),
  churned BOOL NOT NULL OPTIONS(description="Active at the start of the last complete period and not at its end"),
  marketing_consent BOOL NOT NULL OPTIONS(description="Customer allows ad use of their contacts"),
  rfm_r INT64 NOT NULL OPTIONS(description="RFM recency score (see rfm_best_score for direction)"),
  rfm_f INT64 NOT NULL OPTIONS(description="RFM frequency score"),
  rfm_m INT64 NOT NULL OPTIONS(description="RFM monetary score"),
  rfm_score STRING NOT NULL OPTIONS(description="R-F-M combination, e.g. 1-1-1"),
  rfm_best_score INT64 NOT NULL OPTIONS(description="The best score value: 1 with 3 bins, 5 with 5 bins"),
  rfm_segment STRING NOT NULL OPTIONS(description="Named RFM segment from the R x F grid"),
  cluster INT64 NOT NULL OPTIONS(description="k-means cluster index, -1 when not clustered"),
  cluster_name STRING NOT NULL OPTIONS(description="Readable name of the k-means cluster"),
  pred_purchases FLOAT64 OPTIONS(description="BG/NBD expected purchases over the CLV horizon"),
  p_alive FLOAT64 OPTIONS(description="BG/NBD probability the customer is still active"),
  exp_aov FLOAT64 OPTIONS(description="Gamma-Gamma expected average order value"),
  pred_clv FLOAT64 OPTIONS(description="Predicted CLV over the horizon (margin and discount applied)"),
  churn_risk FLOAT64 OPTIONS(description="1 - p_alive")
)
PARTITION BY run_date
CLUSTER BY customer_id
OPTIONS(description="One row per customer and currency: orders, revenue, RFM, cluster, predicted CLV");
