// Package clv predicts each customer's future purchases, probability of being alive, churn
// risk, expected order value and customer lifetime value with the BG/NBD model (Fader,
// Hardie & Lee 2005, "Counting Your Customers the Easy Way") and the Gamma-Gamma spend model
// (Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value"), fitted by maximum
// likelihood with gonum/optimize (BFGS in log-parameter space, several starting points).
//
// # Definitions (metrics.md, "Predictive CLV conventions")
//
// For a customer c, a calibration end day E (inclusive) and a time unit u (1 day, or 7 days
// for weeks; values are days/u and never rounded):
//   - a purchase is a distinct purchase DAY of c's counted orders (same-day orders merge);
//   - x (frequency) = number of distinct purchase days on or before E, minus 1;
//   - t_x (recency) = (last purchase day − first purchase day) / u;
//   - T (age) = (E − first purchase day) / u;
//   - m (mean repeat value) = sum of the amounts of the purchase days after the first one
//     (same-day orders summed), divided by x; the Gamma-Gamma model is fitted on customers
//     with x > 0 and m > 0 only.
//
// Customers whose first purchase is after E are not in the fitted population.
//
// # Data flow in the nightly pipeline
//
//  1. Config.Resolve(path, asOf) gives a Spec (calibration end defaults to asOf).
//  2. In each bucket DoFn, per currency: NewAggregate(spec), then AddCustomer(c) for every
//     facts.Customer. Aggregates are small (customers with equal (x, t_x, T) share one Cell,
//     repeat buyers with equal (x, m) one RepeatCell) and are merged with Merge in a Beam
//     combine keyed by currency (MarshalBinary/UnmarshalBinary or the exported fields).
//  3. Fit(agg, spec) once per currency on the merged aggregate → *Model (a side input).
//  4. Per customer: model.PredictCustomer(c, asOf) → Prediction; Prediction.Apply(&row) fills
//     customer_metrics' pred_purchases, p_alive, exp_aov, pred_clv, churn_risk. The
//     parameters come from the calibration period, the customer's statistics from the full
//     history up to the as-of date.
//  5. model.Rows(runDate, currency) → clv_model rows; model.Report() → run_summary.json's
//     clv[currency], including the holdout report when holdout_end is set.
//
// Aggregate size: customers with x = 0 share one cell per T, but repeat buyers are nearly
// all distinct in (x, t_x, T) and (x, m): 200,000 simulated customers over three years give
// ~152,000 cells and ~157,000 repeat cells (a few MB). For tens of millions of customers set
// fit_sample_rate (a deterministic hash sample) to bound the aggregate and the fit time.
//
// # Formulas
//
// BG/NBD log-likelihood, P(alive) and conditional expected purchases are FHL 2005 eqs. 6,
// 12 and 10 (see BGNBD's methods for the numerically stable forms used: log-sum-exp for the
// likelihood, Euler's transformation of the 2F1 term, a series near a = 1, and a quadrature
// over the dropout probability when a > 200, where the 2F1 series is slow or overflows). Gamma-Gamma:
// E[M|x,m] = p(v + x m)/(px + q − 1). CLV over the horizon H (days):
//
//	CLV = margin × E[M|x,m] × Σ_{k=1..K} (E[Y(t_k)] − E[Y(t_{k−1})]) / (1+d)^k
//
// with months of 365.25/12 days (t_K = H), d the monthly discount rate; that is, the BG/NBD
// purchase rate integrated over discrete monthly periods, each discounted at its end.
// Churn risk = 1 − P(alive).
//
// # Check against the published CDNOW fits
//
// On the 2,357-customer CDNOW sample (lifetimes' CDNOW_sample.txt), calibration end
// 1997-09-30 inclusive, weeks, cmd/clvfit gives r=0.2426, α=4.4136, a=0.7929, b=2.4259,
// LL=−9582.43 (published: 0.243, 4.414, 0.793, 2.426, LL −9582.4) and Gamma-Gamma
// p=6.2496, q=3.7442, v=15.4435 on 946 repeat buyers (published: 6.25, 3.74, 15.44).
// Every customer's (x, t_x, T, mean repeat value) also matches the published CDNOW summary
// (lifetimes' cdnow_customers_summary_with_transactions.csv, 2 decimals). TestCDNOW fits the
// models on that summary, committed as testdata/cdnow_summary.csv (provenance in
// testdata/README.md), in every test run; TestCDNOWStatsFromTransactions recomputes the
// summary with StatsOf when CLV_CDNOW names a local copy of the raw CDNOW_sample.txt.
package clv
