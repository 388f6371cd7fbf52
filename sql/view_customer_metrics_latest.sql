-- customer_metrics_latest: the rows of the most recent run of customer_metrics (start here for "today").
CREATE OR REPLACE VIEW `${project}.${dataset}.customer_metrics_latest`
OPTIONS(description="Latest run of customer_metrics: One row per customer and currency: orders, revenue, RFM, cluster, predicted CLV")
AS
SELECT *
FROM `${project}.${dataset}.customer_metrics`
WHERE run_date = (SELECT MAX(run_date) FROM `${project}.${dataset}.customer_metrics`);
