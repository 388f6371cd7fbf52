-- The metric tables of the nightly pipeline, one CREATE TABLE per table of transforms/tables,
-- rendered from the Go row types by sinks/bigquery.DDL: regenerate with make sql-ddl, do not
-- edit (sql_test.go fails when this file and the Go types differ). One partition per
-- run_date; a rerun replaces its day.

-- customer_metrics: One row per customer and currency: orders, revenue, RFM, cluster, predicted CLV.
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

-- period_metrics: One row per period, currency and channel: AOV first vs repeat, CAC, CRR, churn, RPR, LTV.
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

-- cohort_retention: One row per first-order cohort and period offset.
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

-- churn_list: Customers active at the start of the last complete period and not at its end.
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

-- segment_membership: One row per customer and segment.
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

-- kmeans_centroids: k-means centroids in original units.
CREATE TABLE IF NOT EXISTS `${project}.${dataset}.kmeans_centroids` (
  run_date DATE NOT NULL OPTIONS(description="As-of date of the run that wrote the row"),
  currency STRING NOT NULL OPTIONS(description="ISO 4217 currency of the monetary column"),
  cluster INT64 NOT NULL OPTIONS(description="Cluster index"),
  cluster_name STRING NOT NULL OPTIONS(description="Readable name derived from the centroid"),
  size INT64 NOT NULL OPTIONS(description="Customers assigned to the cluster"),
  recency_days FLOAT64 NOT NULL OPTIONS(description="Centroid recency in days"),
  frequency FLOAT64 NOT NULL OPTIONS(description="Centroid number of orders in the RFM look-back window (0 = none in the window)"),
  monetary FLOAT64 NOT NULL OPTIONS(description="Centroid revenue in the RFM look-back window"),
  features STRING NOT NULL OPTIONS(description="JSON object of every feature's centroid value in original units")
)
PARTITION BY run_date
CLUSTER BY cluster
OPTIONS(description="k-means centroids in original units");

-- audience_members: One row per identifier of each audience and platform: who should be in each audience (hashes only).
CREATE TABLE IF NOT EXISTS `${project}.${dataset}.audience_members` (
  run_date DATE NOT NULL OPTIONS(description="As-of date of the run that wrote the row"),
  audience STRING NOT NULL OPTIONS(description="Audience name from the config"),
  platform STRING NOT NULL OPTIONS(description="yandex, vk, meta or google"),
  identifier_type STRING NOT NULL OPTIONS(description="email or phone"),
  identifier_hash STRING NOT NULL OPTIONS(description="Lowercase hex hash of the normalised identifier, as sent to the platform (SHA-256; MD5 for VK by default)"),
  value FLOAT64 OPTIONS(description="Value-based seeds only: the identifier's value (sum of its customers' pred_clv, revenue or clv_simple, rounded to cents); null otherwise")
)
PARTITION BY run_date
CLUSTER BY audience, platform
OPTIONS(description="One row per identifier of each audience and platform: who should be in each audience (hashes only)");

-- sync_log: One row per audience and platform sync.
CREATE TABLE IF NOT EXISTS `${project}.${dataset}.sync_log` (
  run_date DATE NOT NULL OPTIONS(description="As-of date of the run that wrote the row"),
  audience STRING NOT NULL OPTIONS(description="Audience name from the config"),
  platform STRING NOT NULL OPTIONS(description="yandex, vk, meta or google"),
  mode STRING NOT NULL OPTIONS(description="incremental or replace"),
  dry_run BOOL NOT NULL OPTIONS(description="Nothing was sent; payloads were written to files"),
  members INT64 NOT NULL OPTIONS(description="Distinct hashed identifiers (e-mails and phones) in today's audience"),
  added INT64 NOT NULL OPTIONS(description="Identifiers the platform confirmed added (planned, in a dry run)"),
  removed INT64 NOT NULL OPTIONS(description="Identifiers the platform confirmed removed (planned, in a dry run)"),
  sent INT64 NOT NULL OPTIONS(description="Identifiers sent"),
  accepted INT64 NOT NULL OPTIONS(description="Identifiers the platform accepted"),
  rejected INT64 NOT NULL OPTIONS(description="Identifiers the platform rejected"),
  reject_reasons STRING NOT NULL OPTIONS(description="JSON object reason -> count"),
  status STRING NOT NULL OPTIONS(description="ok, unchanged, empty, dry_run, validated, processing, partial, below_minimum, waiting, guarded or failed"),
  error STRING NOT NULL OPTIONS(description="Error message (secrets redacted), empty when ok"),
  requests INT64 NOT NULL OPTIONS(description="HTTP requests made"),
  duration_ms INT64 NOT NULL OPTIONS(description="Wall time of the sync"),
  started_at TIMESTAMP NOT NULL OPTIONS(description="When the sync started (UTC)"),
  kind STRING NOT NULL OPTIONS(description="audience (the audience's identifiers on the platform) or lookalike (the lookalike audience the platform builds from it)"),
  remote_id STRING NOT NULL OPTIONS(description="The platform's id of the audience or lookalike; empty while it does not exist"),
  source_id STRING NOT NULL OPTIONS(description="Lookalikes: the platform's id of the source (seed) audience; empty otherwise"),
  platform_size INT64 OPTIONS(description="Lookalikes: the size the platform reports (Meta approximate_count_lower_bound); null when it reports none")
)
PARTITION BY run_date
CLUSTER BY platform, audience
OPTIONS(description="One row per audience and platform sync");

-- clv_model: Fitted BG/NBD and Gamma-Gamma parameters.
CREATE TABLE IF NOT EXISTS `${project}.${dataset}.clv_model` (
  run_date DATE NOT NULL OPTIONS(description="As-of date of the run that wrote the row"),
  currency STRING NOT NULL OPTIONS(description="ISO 4217 currency"),
  model STRING NOT NULL OPTIONS(description="bgnbd, gamma_gamma, or holdout (params: predicted vs actual purchases after fit_date)"),
  params STRING NOT NULL OPTIONS(description="JSON object of fitted parameters (r, alpha, a, b or p, q, v)"),
  log_likelihood FLOAT64 NOT NULL OPTIONS(description="Log-likelihood at the fitted parameters"),
  time_unit STRING NOT NULL OPTIONS(description="days or weeks"),
  customers INT64 NOT NULL OPTIONS(description="Customers the model was fitted on"),
  fit_date DATE NOT NULL OPTIONS(description="Calibration end date"),
  converged BOOL NOT NULL OPTIONS(description="The optimiser reported convergence")
)
PARTITION BY run_date
CLUSTER BY model
OPTIONS(description="Fitted BG/NBD and Gamma-Gamma parameters");
