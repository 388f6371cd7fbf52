-- kmeans_centroids_latest: the rows of the most recent run of kmeans_centroids (start here for "today").
CREATE OR REPLACE VIEW `${project}.${dataset}.kmeans_centroids_latest`
OPTIONS(description="Latest run of kmeans_centroids: k-means centroids in original units")
AS
SELECT *
FROM `${project}.${dataset}.kmeans_centroids`
WHERE run_date = (SELECT MAX(run_date) FROM `${project}.${dataset}.kmeans_centroids`);
