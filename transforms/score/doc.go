// Package score computes every per-customer output of a run, one customer bucket at a
// time, with the base-wide models of package model as a side input.
//
// Data flow: Score rebuilds a bucket's facts (nightly.BuildBucket), computes each
// customer's customer_metrics row (metrics, RFM scores, k-means cluster, predicted CLV),
// the churn list and the segment memberships (RFM and k-means segments and the smart rule
// segments, with entered_at and reminders from the segment history in the state folder:
// history.go), and, for the audience stage, the customers' contact hashes and segments
// (Segmented). Centroids counts customer_metrics rows per cluster (a beam.Combine of
// Sizes) and turns them and the k-means models into kmeans_centroids.
//
//	Score:     KV<int, iter<nightly.CustomerBatch>> + *model.Models (side input) →
//	           KV<int, []tables.CustomerMetrics>, KV<int, []tables.ChurnList>,
//	           KV<int, []tables.SegmentMembership>, KV<int, Segmented>, dead letters
//	Centroids: KV<int, []tables.CustomerMetrics> + *model.Models → KV<int, []tables.KMeansCentroid>
//
// Table parts are one element per bucket and go to tables.Write in the same fused stage.
package score
