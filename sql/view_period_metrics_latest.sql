-- period_metrics_latest: the rows of the most recent run of period_metrics (start here for "today").
CREATE OR REPLACE VIEW `${project}.${dataset}.period_metrics_latest`
OPTIONS(description="Latest run of period_metrics: One row per period, currency and channel: AOV first vs repeat, CAC, CRR, churn, RPR, LTV")
AS
SELECT *
FROM `${project}.${dataset}.period_metrics`
WHERE run_date = (SELECT MAX(run_date) FROM `${project}.${dataset}.period_metrics`);
