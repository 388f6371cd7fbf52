-- cohort_pivot: the classic cohort triangle of the latest run, one row per cohort and
-- currency, retention % of the cohort size in columns m00 (the cohort's own period) to m12,
-- and the cohort LTV curve (cumulative revenue per customer) at offsets 0, 3, 6 and 12.
CREATE OR REPLACE VIEW `${project}.${dataset}.cohort_pivot`
OPTIONS(description="Cohort triangle of the latest run: retention % by period offset (m00..m12) and cumulative revenue per customer")
AS
WITH latest AS (
  SELECT *
  FROM `${project}.${dataset}.cohort_retention`
  WHERE run_date = (SELECT MAX(run_date) FROM `${project}.${dataset}.cohort_retention`)
)
SELECT
  run_date,
  cohort,
  cohort_start,
  currency,
  MAX(cohort_size) AS cohort_size,
  MAX(IF(period_offset = 0, retention_pct, NULL)) AS m00,
  MAX(IF(period_offset = 1, retention_pct, NULL)) AS m01,
  MAX(IF(period_offset = 2, retention_pct, NULL)) AS m02,
  MAX(IF(period_offset = 3, retention_pct, NULL)) AS m03,
  MAX(IF(period_offset = 4, retention_pct, NULL)) AS m04,
  MAX(IF(period_offset = 5, retention_pct, NULL)) AS m05,
  MAX(IF(period_offset = 6, retention_pct, NULL)) AS m06,
  MAX(IF(period_offset = 7, retention_pct, NULL)) AS m07,
  MAX(IF(period_offset = 8, retention_pct, NULL)) AS m08,
  MAX(IF(period_offset = 9, retention_pct, NULL)) AS m09,
  MAX(IF(period_offset = 10, retention_pct, NULL)) AS m10,
  MAX(IF(period_offset = 11, retention_pct, NULL)) AS m11,
  MAX(IF(period_offset = 12, retention_pct, NULL)) AS m12,
  MAX(IF(period_offset = 0, cum_revenue_per_customer, NULL)) AS ltv_m00,
  MAX(IF(period_offset = 3, cum_revenue_per_customer, NULL)) AS ltv_m03,
  MAX(IF(period_offset = 6, cum_revenue_per_customer, NULL)) AS ltv_m06,
  MAX(IF(period_offset = 12, cum_revenue_per_customer, NULL)) AS ltv_m12
FROM latest
GROUP BY run_date, cohort, cohort_start, currency;
