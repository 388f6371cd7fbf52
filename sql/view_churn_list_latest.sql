-- churn_list_latest: the rows of the most recent run of churn_list (start here for "today").
CREATE OR REPLACE VIEW `${project}.${dataset}.churn_list_latest`
OPTIONS(description="Latest run of churn_list: Customers active at the start of the last complete period and not at its end")
AS
SELECT *
FROM `${project}.${dataset}.churn_list`
WHERE run_date = (SELECT MAX(run_date) FROM `${project}.${dataset}.churn_list`);
