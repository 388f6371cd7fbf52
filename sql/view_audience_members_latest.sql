-- audience_members_latest: the rows of the most recent run of audience_members (start here for "today").
CREATE OR REPLACE VIEW `${project}.${dataset}.audience_members_latest`
OPTIONS(description="Latest run of audience_members: One row per identifier of each audience and platform")
AS
SELECT *
FROM `${project}.${dataset}.audience_members`
WHERE run_date = (SELECT MAX(run_date) FROM `${project}.${dataset}.audience_members`);
