// Package segments evaluates smart segments: named audiences defined by rules in YAML, each a
// boolean expression (github.com/expr-lang/expr) over one customer's facts, their RFM and
// k-means results, predicted CLV and their order lines relative to the as-of date.
//
// Data flow:
//
//  1. Config load: Config is decoded with gopkg.in/yaml.v3 (each rule remembers its line);
//     Config.Compile(file, path) compiles every condition ONCE against the typed Env, so a
//     typo in a field or function name, a wrong argument type, a condition that is not
//     boolean, an unknown category (when `categories:` is given) or a reference to a later or
//     missing segment fails at load with file, line and rule name.
//  2. Per worker: Rules.NewEvaluator(asOf) builds one Evaluator (not safe for concurrent use;
//     one per DoFn instance). It owns one Env and one expression VM, reused for every
//     customer.
//  3. Per customer: Evaluator.Evaluate(dst, c, row, prev) fills the Env from the facts and the
//     already computed customer_metrics row, indexes the customer's order lines once per
//     category used by any rule, runs the rules in config order and appends one
//     tables.SegmentMembership row per segment the customer is in. prev is the customer's
//     membership on the previous run (History.Of), from which entered_at is carried over:
//     unchanged when the customer was in the same segment on the previous run, else the run
//     date. ModelMemberships does the same for the RFM segment and the k-means cluster.
//     segment_membership has no currency column: a customer who bought in two currencies is
//     evaluated once per currency, so the caller drops duplicate (customer, source, segment)
//     rows.
//
// # Condition language
//
// Fields (see Env for types): recency_days, frequency (counted orders, all history), monetary
// (revenue, all history), aov, tenure_days and first_order_days_ago (days since the first
// order; the same number under two names), account_age_days (days since the customer record
// was created, -1 without a record), country, consent, currency, rfm_r, rfm_f, rfm_m,
// rfm_segment, cluster (the k-means cluster name), active, churned, and pred_clv, p_alive,
// churn_risk with has_clv. When the CLV model gave no value the three are NaN: every
// comparison with NaN is false, so `p_alive < 0.3` and `p_alive >= 0.3` are both false for
// such a customer; test has_clv when that matters.
//
// Functions over order lines; "days ago" is the as-of date minus the order day, counted in
// whole days, and ranges include both ends; orders after the as-of date are ignored:
//
//	days_since_last(cat) int        days ago of the last order with a line of category cat, -1 if never
//	days_since_first(cat) int       days ago of the first such order, -1 if never
//	bought(cat, from, to) bool      an order of cat between `from` and `to` days ago (either order)
//	bought_since(cat, days) bool    an order of cat at most `days` days ago (same as bought(cat, 0, days))
//	count(cat, days) int            orders of cat at most `days` days ago
//	months_ago(n) int               days from the as-of date back to the same day n calendar months earlier
//	in_segment(name) bool           the customer is in rule segment `name` today (an earlier rule)
//	days_in_segment(name) int       days since entered_at of today's membership of `name`, -1 if not in it
//
// Examples (tested in segments_test.go):
//
//	bought_since("mattress", 30) && !bought_since("mattress cover", days_since_last("mattress"))
//	aov > 50000
//	bought("insurance", months_ago(11), months_ago(12))
//	bought("air conditioner", months_ago(8), months_ago(12)) && !bought_since("service", days_since_last("air conditioner"))
//	rfm_segment in ["at risk", "can't lose"]
//	cluster == "one-off" && churned
//
// A rule can have reminders: `reminders: [{name: ac_service_2, after_days: 14, until_days: 28}]`
// adds, right after the rule, the segment of customers who are still in it between 14 and 28
// days (inclusive) after they entered it, i.e. the rule
// `in_segment("<rule>") && days_in_segment("<rule>") >= 14 && days_in_segment("<rule>") <= 28`.
//
// # Cost
//
// Per customer the order lines are scanned once to collect, for each category any rule names
// literally, the days of its orders; the functions then binary-search those short lists. A
// category given by a non-literal expression is looked up by scanning the lines.
package segments
