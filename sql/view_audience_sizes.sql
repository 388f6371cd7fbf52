-- audience_sizes: per run date, audience and platform, how many e-mails and phones should be
-- in the audience (audience_members), next to what the delivery did with them (sync_log:
-- status, identifiers confirmed added and removed). An audience without a sync_log row was
-- computed but not delivered (--audiences=off, or a failed run before delivery). Lookalike
-- rows of sync_log (kind = 'lookalike') are not audiences of identifiers: left out here.
CREATE OR REPLACE VIEW `${project}.${dataset}.audience_sizes`
OPTIONS(description="Identifiers per audience, platform and run date, with the delivery's status")
AS
WITH members AS (
  SELECT
    run_date,
    audience,
    platform,
    COUNT(DISTINCT identifier_hash) AS identifiers,
    COUNT(DISTINCT IF(identifier_type = 'email', identifier_hash, NULL)) AS emails,
    COUNT(DISTINCT IF(identifier_type = 'phone', identifier_hash, NULL)) AS phones
  FROM `${project}.${dataset}.audience_members`
  GROUP BY run_date, audience, platform
)
SELECT
  m.run_date,
  m.audience,
  m.platform,
  m.identifiers,
  m.emails,
  m.phones,
  s.status,
  s.dry_run,
  s.added,
  s.removed,
  s.error
FROM members AS m
LEFT JOIN (
  SELECT *
  FROM `${project}.${dataset}.sync_log`
  WHERE kind IS NULL OR kind = 'audience' -- NULL: rows written before lookalikes
) AS s
  USING (run_date, audience, platform);
