-- clv_model_latest: the rows of the most recent run of clv_model (start here for "today").
CREATE OR REPLACE VIEW `${project}.${dataset}.clv_model_latest`
OPTIONS(description="Latest run of clv_model: Fitted BG/NBD and Gamma-Gamma parameters")
AS
SELECT *
FROM `${project}.${dataset}.clv_model`
WHERE run_date = (SELECT MAX(run_date) FROM `${project}.${dataset}.clv_model`);
