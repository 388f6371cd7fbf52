-- aov_trend: AOV of first vs repeat orders per period (all channels) from the latest run,
-- with the repeat/first ratio: repeat buyers usually spend more, and this is the chart
-- that shows whether they do.
CREATE OR REPLACE VIEW `${project}.${dataset}.aov_trend`
OPTIONS(description="AOV all / first / repeat orders per period and currency (channel = all) from the latest run")
AS
SELECT
  run_date,
  period,
  period_start,
  period_end,
  complete,
  currency,
  orders,
  first_orders,
  repeat_orders,
  aov,
  aov_first,
  aov_repeat,
  SAFE_DIVIDE(aov_repeat, aov_first) AS repeat_to_first_ratio
FROM `${project}.${dataset}.period_metrics`
WHERE channel = 'all'
  AND run_date = (SELECT MAX(run_date) FROM `${project}.${dataset}.period_metrics`);
