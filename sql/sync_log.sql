-- sync_log: One row per audience and platform sync (and per lookalike built from one).
-- Written by the nightly pipeline (sinks/bigquery); one partition per run_date, a rerun
-- replaces its day. Columns must match transforms/tables (checked by sql_test.go).
CREATE TABLE IF NOT EXISTS `${project}.${dataset}.sync_log` (
  run_date DATE NOT NULL OPTIONS(description="As-of date of the run that wrote the row"),
  audience STRING NOT NULL OPTIONS(description="Audience name from the config"),
  platform STRING NOT NULL OPTIONS(description="yandex, vk, meta or google"),
  mode STRING NOT NULL OPTIONS(description="incremental or replace"),
  dry_run BOOL NOT NULL OPTIONS(description="Nothing was sent; payloads were written to files"),
  members INT64 NOT NULL OPTIONS(description="Distinct hashed identifiers (e-mails and phones) in today's audience"),
  added INT64 NOT NULL OPTIONS(description="Identifiers the platform confirmed added (planned, in a dry run)"),
  removed INT64 NOT NULL OPTIONS(description="Identifiers the platform confirmed removed (planned, in a dry run)"),
  sent INT64 NOT NULL OPTIONS(description="Identifiers sent"),
  accepted INT64 NOT NULL OPTIONS(description="Identifiers the platform accepted"),
  rejected INT64 NOT NULL OPTIONS(description="Identifiers the platform rejected"),
  reject_reasons STRING NOT NULL OPTIONS(description="JSON object reason -> count"),
  status STRING NOT NULL OPTIONS(description="ok, unchanged, empty, dry_run, validated, processing, partial, below_minimum, waiting, guarded or failed"),
  error STRING NOT NULL OPTIONS(description="Error message (secrets redacted), empty when ok"),
  requests INT64 NOT NULL OPTIONS(description="HTTP requests made"),
  duration_ms INT64 NOT NULL OPTIONS(description="Wall time of the sync"),
  started_at TIMESTAMP NOT NULL OPTIONS(description="When the sync started (UTC)"),
  kind STRING NOT NULL OPTIONS(description="audience (the audience's identifiers on the platform) or lookalike (the lookalike audience the platform builds from it)"),
  remote_id STRING NOT NULL OPTIONS(description="The platform's id of the audience or lookalike; empty while it does not exist"),
  source_id STRING NOT NULL OPTIONS(description="Lookalikes: the platform's id of the source (seed) audience; empty otherwise"),
  platform_size INT64 OPTIONS(description="Lookalikes: the size the platform reports (Meta approximate_count_lower_bound); null when it reports none")
)
PARTITION BY run_date
CLUSTER BY platform, audience
OPTIONS(description="One row per audience and platform sync");
