-- cohort_retention_latest: the rows of the most recent run of cohort_retention (start here for "today").
CREATE OR REPLACE VIEW `${project}.${dataset}.cohort_retention_latest`
OPTIONS(description="Latest run of cohort_retention: One row per first-order cohort and period offset")
AS
SELECT *
FROM `${project}.${dataset}.cohort_retention`
WHERE run_date = (SELECT MAX(run_date) FROM `${project}.${dataset}.cohort_retention`);
