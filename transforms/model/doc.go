// Package model computes the base-wide models of a run: everything that needs the whole
// customer base before any customer can be scored.
//
// Data flow: each customer bucket (nightly.GroupBuckets) becomes a Partial — period and
// cohort counters (metrics.Agg), the RFM distributions (rfm.Summary), the k-means training
// sample (kmeans.Sample) and the CLV aggregate (clv.Aggregate), all per currency; each
// split's spend rows become a Partial too — and the partials are merged by a beam.Combine
// (Aggregate). Fit turns the one merged Partial into
// Models (RFM cut points, k-means centroids, CLV parameters; score.Score joins a copy to each bucket)
// and the base-wide tables period_metrics, cohort_retention and clv_model; its headline
// totals go to counters (HeadlineCounters), from which the driver rebuilds the summary's
// headline figures (Headline).
//
//	Aggregate: KV<int, iter<nightly.CustomerBatch>> + SpendRows → PCollection<*Partial> (one element)
//	Fit:       *Partial → *Models, KV<int, []tables.PeriodMetrics>,
//	           KV<int, []tables.CohortRetention>, KV<int, []tables.CLVModel>, dead letters
//
// Partial and Models cross the runner in the encoding of package wire (MarshalBinary).
package model
