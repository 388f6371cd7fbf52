-- clv_model: Fitted BG/NBD and Gamma-Gamma parameters.
-- Written by the nightly pipeline (sinks/bigquery); one partition per run_date, a rerun
-- replaces its day. Columns must match transforms/tables (checked by sql_test.go).
CREATE TABLE IF NOT EXISTS `${project}.${dataset}.clv_model` (
  run_date DATE NOT NULL OPTIONS(description="As-of date of the run that wrote the row"),
  currency STRING NOT NULL OPTIONS(description="ISO 4217 currency"),
  model STRING NOT NULL OPTIONS(description="bgnbd, gamma_gamma, or holdout (params: predicted vs actual purchases after fit_date)"),
  params STRING NOT NULL OPTIONS(description="JSON object of fitted parameters (r, alpha, a, b or p, q, v)"),
  log_likelihood FLOAT64 NOT NULL OPTIONS(description="Log-likelihood at the fitted parameters"),
  time_unit STRING NOT NULL OPTIONS(description="days or weeks"),
  customers INT64 NOT NULL OPTIONS(description="Customers the model was fitted on"),
  fit_date DATE NOT NULL OPTIONS(description="Calibration end date"),
  converged BOOL NOT NULL OPTIONS(description="The optimiser reported convergence")
)
PARTITION BY run_date
CLUSTER BY model
OPTIONS(description="Fitted BG/NBD and Gamma-Gamma parameters");
