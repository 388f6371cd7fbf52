// Package metrics computes the repeat-sales metrics of metrics.md in plain Go: per-customer
// facts (customer_metrics), and period and cohort aggregates (period_metrics,
// cohort_retention) plus the churn list.
//
// Data flow: the nightly pipeline builds facts.Customer values one hash bucket of
// customers at a time; for each customer it calls CustomerRow and Agg.Add. Each bucket's
// Agg is a small partial (counters per currency, channel and period, and per cohort and
// offset), the partials are merged with Agg.Merge in one combine, and Finalize turns the
// merged Agg into table rows. Nothing here reads the wall clock: every "now" is Config.AsOf.
//
// Definitions (metrics.md), with the choices the text leaves open:
//   - A purchase is an order with status completed or partially_refunded and a day before
//     AsOf; its amount is the order total after refunds. AsOf is exclusive: a run "as of"
//     2024-07-01 sees orders up to 2024-06-30.
//   - AOV = revenue / orders, also for first orders only and for repeat orders only.
//   - Active at day D: a purchase on a day x with D-W <= x < D (W = ActivityWindowDays,
//     default 365): the half-open window [D-W, D), the same one RFM's look-back uses
//     (rfm.Window); an order exactly W days before D counts, W+1 days before does not. S = active at the period's first day, E = active at the day after its
//     last day (or at AsOf for the current, incomplete period), N = customers whose first
//     purchase is in the period. CRR = (E - N) / S x 100; churn rate = 100 - CRR; null when
//     S = 0. The churned count and churn list are customers active at the start and not at
//     the end.
//   - RPR per period = buyers in the period whose first purchase was in an earlier period /
//     buyers in the period x 100; the base-wide RPR (customers with 2+ orders / customers)
//     is in the run summary's headline.
//   - Channel rows attribute a customer (all their orders, activity and acquisition) to the
//     channel of their first order; the "all" row counts everyone.
//   - CAC = spend / new customers for the period and channel (spend is monthly, so CAC is
//     computed for --period=month only; "all" uses the spend of every channel).
//   - LTV (historical) = a customer's revenue so far; ltv_avg in period_metrics = revenue of
//     all purchases up to the period's end / customers acquired up to then.
//   - Simple CLV = AOV x purchases per period x expected lifetime in periods, with purchases
//     per period = orders / tenure in periods (at least one period) and the lifetime from
//     Config.CLVLifetimeDays.
//   - Cohort: customers by the period of their first purchase; for every offset from 0 to the
//     current period: active customers, retention % of the cohort size, orders, revenue and
//     cumulative revenue per cohort customer.
//   - Money is never summed across currencies: every aggregate is per currency.
package metrics
