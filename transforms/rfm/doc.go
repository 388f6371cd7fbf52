// Package rfm scores customers by Recency, Frequency and Monetary value and names them by a
// segment grid over R x F (metrics.md, "RFM").
//
// Data flow in the nightly pipeline (all plain Go; the Beam wiring lives in pipelines/):
//
//  1. Per customer (a facts.Customer, one currency): Measure(c, asOf, lookbackDays) gives the
//     raw Values: recency in days since the last counted order before asOf, orders and
//     revenue in the look-back window (see "Look-back window" below).
//  2. Per bucket: Summary.Add(values); summaries of all buckets are combined with
//     Summary.Merge into one exact, compact summary per currency (histograms keyed by the
//     exact integer value: days, orders, Money units). Keep one summary, cutpoints and model
//     per currency: monetary values are never compared across currencies. Fit on 2M
//     customers with ~2M distinct revenues takes about 0.4 s (bench_test.go).
//  3. Once: Fit(summary, bins) turns the summary into Cutpoints (bins-1 thresholds per
//     column), and Config.NewModel(cutpoints) adds the segment grid.
//  4. Per customer again: Model.Score(values) gives the R, F, M scores and the segment;
//     Scores.Fill writes them into a tables.CustomerMetrics row.
//
// # Quantile rule (exact; no approximation error)
//
// Each column's distinct values v1 < v2 < ... < vd with counts c1..cd (N customers) are cut
// into `bins` contiguous groups of whole values, so ties always share a score:
//
//   - d >= bins: the k-th cut (k = 1..bins-1) goes after the first value whose cumulative
//     count reaches k*N/bins ("ties pushed up": a value that straddles a quantile belongs to
//     the lower group), moved right if needed so that every group holds at least one value,
//     and left if needed so that the groups after it still get one value each. With many
//     distinct values this is the ordinary quantile cut; with a skewed column (80% of the
//     customers at 1 order) the 1-order customers form the lowest group alone and the few
//     remaining values fill the other groups, so no score is empty.
//   - 2 <= d < bins: the values are spread evenly over the scale: value j (0-based) goes to
//     group 1 + round(j*(bins-1)/(d-1)), so the lowest value gets the worst score and the
//     highest the best; some scores are then necessarily unused.
//   - d <= 1: the column carries no information and everyone gets the middle group
//     (3 of 5, 2 of 3).
//
// Groups are numbered 1 (lowest values) to bins. The score turns that into the convention of
// the bin count, stated in the output (customer_metrics.rfm_best_score):
//
//   - 5 bins: 5 = best. F and M score = group; R score = bins+1-group (recent = 5).
//   - 3 bins: 1 = best (`1-1-1` is the best customer). F and M score = bins+1-group;
//     R score = group (recent = 1).
//
// # Look-back window
//
// Window(asOf, W) is the half-open day range [asOf − W, asOf), the same window as "active"
// in transforms/metrics (a purchase on a day x with D − W <= x < D): an order exactly W days
// before asOf is in, one W + 1 days before is out, and an order dated asOf never counts,
// neither for frequency and monetary nor for recency (asOf is exclusive everywhere: a run as
// of a date sees the orders before it). W = 0 means all history before asOf. The k-means
// category shares use the same window.
//
// Customers with no order in the look-back window but an older one are scored with
// frequency 0 and monetary 0 (they are the "lost" end of the scale); customers with no counted
// order up to the as-of date are not scored at all.
package rfm
