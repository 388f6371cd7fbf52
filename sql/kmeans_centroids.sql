-- kmeans_centroids: k-means centroids in original units.
-- Written by the nightly pipeline (sinks/bigquery); one partition per run_date, a rerun
-- replaces its day. Columns must match transforms/tables (checked by sql_test.go).
CREATE TABLE IF NOT EXISTS `${project}.${dataset}.kmeans_centroids` (
  run_date DATE NOT NULL OPTIONS(description="As-of date of the run that wrote the row"),
  currency STRING NOT NULL OPTIONS(description="ISO 4217 currency of the monetary column"),
  cluster INT64 NOT NULL OPTIONS(description="Cluster index"),
  cluster_name STRING NOT NULL OPTIONS(description="Readable name derived from the centroid"),
  size INT64 NOT NULL OPTIONS(description="Customers assigned to the cluster"),
  recency_days FLOAT64 NOT NULL OPTIONS(description="Centroid recency in days"),
  frequency FLOAT64 NOT NULL OPTIONS(description="Centroid number of orders in the RFM look-back window (0 = none in the window)"),
  monetary FLOAT64 NOT NULL OPTIONS(description="Centroid revenue in the RFM look-back window"),
  features STRING NOT NULL OPTIONS(description="JSON object of every feature's centroid value in original units")
)
PARTITION BY run_date
CLUSTER BY cluster
OPTIONS(description="k-means centroids in original units");
