-- audience_members: One row per identifier of each audience and platform: who should be in each audience (hashes only).
-- Written by the nightly pipeline (sinks/bigquery); one partition per run_date, a rerun
-- replaces its day. Columns must match transforms/tables (checked by sql_test.go).
CREATE TABLE IF NOT EXISTS `${project}.${dataset}.audience_members` (
  run_date DATE NOT NULL OPTIONS(description="As-of date of the run that wrote the row"),
  audience STRING NOT NULL OPTIONS(description="Audience name from the config"),
  platform STRING NOT NULL OPTIONS(description="yandex, vk, meta or google"),
  identifier_type STRING NOT NULL OPTIONS(description="email or phone"),
  identifier_hash STRING NOT NULL OPTIONS(description="Lowercase hex hash of the normalised identifier, as sent to the platform (SHA-256; MD5 for VK by default)"),
  value FLOAT64 OPTIONS(description="Value-based seeds only: the identifier's value (sum of its customers' pred_clv, revenue or clv_simple, rounded to cents); null otherwise")
)
PARTITION BY run_date
CLUSTER BY audience, platform
OPTIONS(description="One row per identifier of each audience and platform: who should be in each audience (hashes only)");
