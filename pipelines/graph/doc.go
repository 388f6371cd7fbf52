// Package graph builds the nightly Beam pipeline. The maths lives in plain Go
// (transforms/nightly, transforms/metrics, …); the DoFns here are thin wrappers that move a
// few large elements between them:
//
//	sources ─Plan─▶ splits ─Reshuffle─▶ Read ─┬─ customer-bucket batches (orders, hashed customers)
//	                                          ├─ order-bucket batches (order keys, lines) ─GBK─▶ JoinLines ─▶ customer-bucket line batches
//	                                          ├─ spend rows (side input)
//	                                          └─ dead letters
//	customer-bucket batches ─GBK(bucket)─▶ Partial ─GBK(one key)─▶ Fit ─▶ models (side input) + period/cohort tables
//	                        └────────────────────────────────────▶ Score(models) ─▶ customer_metrics, churn_list, segment_membership parts
//	dead letters ─GBK(input)─▶ dead_letters/<input>.csv
//
// Each shuffle carries one element per (split, bucket) — 64 to 256 buckets — instead of one
// per order, because a runner pays microseconds and kilobytes per shuffled element.
// Everything a runner serialises is registered in init() for portable runners.
package graph
