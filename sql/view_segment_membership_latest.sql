-- segment_membership_latest: the rows of the most recent run of segment_membership (start here for "today").
CREATE OR REPLACE VIEW `${project}.${dataset}.segment_membership_latest`
OPTIONS(description="Latest run of segment_membership: One row per customer and segment")
AS
SELECT *
FROM `${project}.${dataset}.segment_membership`
WHERE run_date = (SELECT MAX(run_date) FROM `${project}.${dataset}.segment_membership`);
