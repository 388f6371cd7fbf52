// Package kmeans clusters customers with k-means on log RFM features (metrics.md,
// "k-means") and names the clusters from their centroids.
//
// Data flow in the nightly pipeline (plain Go; the Beam wiring lives in pipelines/), one model
// per currency:
//
//  1. Per customer: rfm.Measure gives the raw RFM values; Featurizer.Extract turns them (plus
//     the optional extra features) into a feature vector: log1p of recency, frequency,
//     monetary, aov and tenure_days; category shares as they are (0..1).
//  2. Per bucket: Sample.Add(key, features) keeps the customers whose hash of key (customer id
//     and currency) is among the sample_size smallest: a deterministic sample that does not
//     depend on bundle order or on how buckets are merged (Sample.Merge).
//  3. Once: Train(cfg, sample) z-scores the features (mean and population standard deviation
//     of the sample; a constant feature gets std 1), runs k-means (k-means++ seeding from a
//     math/rand/v2 PCG source seeded with (seed, restart), Lloyd iterations until no centre
//     moves more than `tolerance` in z units or `max_iter`, `restarts` runs keeping the
//     lowest inertia, earlier restart on ties), orders and names the clusters.
//  4. Per customer again: Model.Assign(features) is the nearest centroid (ties to the lower
//     index); Model.Fill writes cluster and cluster_name into customer_metrics, and
//     Model.CentroidRows gives the kmeans_centroids table in original units (expm1 of the
//     de-standardised log features).
//
// # Choosing K (k: 0)
//
// For every K in 2..8 (at most the number of distinct sample points) the model is trained as
// above and scored by the mean silhouette of the first silhouette_sample points of the
// sample (the sample is ordered by hash, so these are a random subset); the K with the highest
// silhouette wins, the smaller K on an exact tie. Silhouette of a point: (b-a)/max(a,b) with
// a = mean Euclidean distance (z units) to the other points of its cluster and b = the
// smallest mean distance to the points of another cluster; 0 for a point alone in its cluster.
//
// # Cluster order and names
//
// Clusters are numbered by value: centroid frequency x monetary (original units) descending,
// ties by lower recency. Names, all distinct:
//
//   - cluster 0 (highest frequency x monetary): "loyal";
//   - of the others, the one with the lowest centroid frequency (ties: the highest recency):
//     "one-off";
//   - every other cluster, in index order: "potential" when its centroid recency is at most
//     the median of all centroid recencies, else "lapsing"; a second, third ... cluster of the
//     same kind gets " 2", " 3" ... appended ("potential 2").
//
// So K=2 is loyal / one-off and K=3 is usually loyal / potential / one-off. A single cluster
// (fewer than two distinct customers) is "all".
package kmeans
