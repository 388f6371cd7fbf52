-- segment_sizes: members per segment on every run date (history for trend charts), and how
-- many of them entered the segment on that run.
CREATE OR REPLACE VIEW `${project}.${dataset}.segment_sizes`
OPTIONS(description="Members per segment and run date, and members who entered on that run")
AS
SELECT
  run_date,
  source,
  segment,
  COUNT(*) AS members,
  COUNTIF(entered_at = run_date) AS entered
FROM `${project}.${dataset}.segment_membership`
GROUP BY run_date, source, segment;
