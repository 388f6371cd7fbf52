-- sync_health: per ad platform, the last 30 days of audience syncs: runs, failures, the
-- acceptance rate of sent identifiers, and the last run's date and worst status.
CREATE OR REPLACE VIEW `${project}.${dataset}.sync_health`
OPTIONS(description="Audience sync health per platform over the last 30 run dates")
AS
WITH recent AS (
  SELECT *
  FROM `${project}.${dataset}.sync_log`
  WHERE run_date > DATE_SUB((SELECT MAX(run_date) FROM `${project}.${dataset}.sync_log`), INTERVAL 30 DAY)
),
last_run AS (
  SELECT platform, MAX(run_date) AS last_run_date
  FROM recent
  GROUP BY platform
)
SELECT
  r.platform,
  l.last_run_date,
  COUNT(*) AS syncs,
  COUNTIF(r.status = 'failed') AS failed,
  COUNTIF(r.status = 'guarded') AS guarded,
  COUNTIF(r.status IN ('processing', 'partial', 'validated')) AS unconfirmed,
  COUNTIF(r.status = 'below_minimum') AS below_minimum,
  COUNTIF(r.dry_run) AS dry_runs,
  SUM(r.sent) AS sent,
  SUM(r.accepted) AS accepted,
  SUM(r.rejected) AS rejected,
  SAFE_DIVIDE(SUM(r.accepted), SUM(r.sent)) AS accept_rate,
  COUNTIF(r.run_date = l.last_run_date AND r.status = 'failed') AS failed_last_run,
  MAX(IF(r.status IN ('ok', 'unchanged'), r.run_date, NULL)) AS last_ok_run_date
FROM recent AS r
JOIN last_run AS l USING (platform)
GROUP BY r.platform, l.last_run_date;
