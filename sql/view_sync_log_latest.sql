-- sync_log_latest: the rows of the most recent run of sync_log (start here for "today").
CREATE OR REPLACE VIEW `${project}.${dataset}.sync_log_latest`
OPTIONS(description="Latest run of sync_log: One row per audience and platform sync")
AS
SELECT *
FROM `${project}.${dataset}.sync_log`
WHERE run_date = (SELECT MAX(run_date) FROM `${project}.${dataset}.sync_log`);
