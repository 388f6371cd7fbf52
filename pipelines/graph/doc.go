// Package graph wires the nightly compute pipeline from the composites of transforms/
// (Build, one screen); the maths and the Beam wrappers live there. Data flow, with the
// element types:
//
//	Source ─nightly.Read─┬─ KV<bucket, CustomerBatch> (orders, hashed customers) ──────────────┐
//	                     ├─ KV<bucket, OrderBatch> (order keys, lines) ─nightly.Join─ KV<bucket, CustomerBatch> (joined lines, drops)
//	                     ├─ SpendRows (folded into the model combine)                          │
//	                     └─ KV<input, DeadLetters>                          nightly.GroupBuckets
//	KV<bucket, iter<CustomerBatch>> + SpendRows ─model.Aggregate (beam.Combine)─ *Partial ─model.Fit─ *Models
//	                                                                  + period_metrics, cohort_retention, clv_model parts
//	KV<bucket, iter<CustomerBatch>> + *Models per bucket (CoGroupByKey) ─score.Score─ customer_metrics, churn_list, segment_membership parts
//	                                                        customer_metrics ─score.Centroids─ kmeans_centroids
//	KV<bucket, score.Segmented> ─membersFn (audiences.go)─ KV<target, audience.Batch> ─audience.WriteMembers─ audience_members
//	every KV<int, []Row> part ─tables.Write─ <output>/<table>/part-NNNNN.parquet
//	every KV<input, DeadLetters> ─nightly.WriteDeadLetters─ <output>/dead_letters/<input>.csv
//
// Each shuffle carries one element per (split, bucket) — 64 to 256 buckets — instead of
// one per order, because a runner pays microseconds and kilobytes per shuffled element;
// per-customer work is plain Go inside the DoFns, and a DoFn works on par.Workers() of its
// bundle's elements at once (transforms/par: prism gives a stage's elements to one
// goroutine). No long-running stage has a side input: prism busy-polls a running stage
// that has one, which kept a core spinning for as long as the fit and scoring ran. The audience stage (audiences.go) only
// consumes score.Scored.Segmented; delivering audience_members to the platforms is a phase
// of its own after the pipeline (sinks/delivery, called by pipelines/nightly).
package graph
