// The spine (customer facts, monthly period metrics, cohorts, CRR, RFM) as DuckDB SQL, for
// comparing wall time and memory with our pipeline on the same files (scripts/compare/run.sh).
// Usage: node duckdb.mjs <data dir> <out dir> [threads]   (needs @duckdb/node-api on NODE_PATH
// or in .cache/compare/node_modules: run.sh sets that up).
import { DuckDBInstance } from '@duckdb/node-api';

const [dataDir, outDir, threads = '2'] = process.argv.slice(2);
if (!dataDir || !outDir) {
  console.error('usage: node duckdb.mjs <data dir> <out dir> [threads]');
  process.exit(2);
}
const W = 365; // activity window in days (metrics.md: active = bought within the last W days)
// RFM look-back in days: rfm.lookback_days of scripts/bench-spine.yaml (0 = all history).
const LB = Number(process.env.RFM_LOOKBACK ?? '0');
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const run = (sql) => c.run(sql);
const rows = async (sql) => (await c.runAndReadAll(sql)).getRowsJson();

await run(`SET threads = ${Number(threads)}; SET TimeZone = 'UTC'; SET preserve_insertion_order = false`);

// Parse: everything as text, then try_cast; rows that fail any check are dropped (the
// pipeline dead-letters them). A row with the wrong number of fields is skipped by the reader.
await run(`
CREATE TEMP TABLE parsed AS
SELECT trim(order_id) AS order_id, trim(customer_id) AS customer_id,
       CAST(try_cast(trim(ordered_at) AS TIMESTAMPTZ) AS DATE) AS day,
       lower(trim(status)) AS status,
       try_cast(replace(replace(trim(amount), ' ', ''), ',', '.') AS DECIMAL(18,4)) AS amount,
       upper(trim(currency)) AS currency
FROM read_csv('${dataDir}/orders.csv', header = true, all_varchar = true, ignore_errors = true)
WHERE trim(order_id) <> '' AND trim(customer_id) <> '';
CREATE TEMP TABLE orders AS
SELECT * FROM parsed
WHERE day IS NOT NULL AND amount IS NOT NULL AND regexp_full_match(currency, '[A-Z]{3}')
  AND amount >= 0 AND status IN ('completed', 'cancelled', 'refunded', 'partially_refunded');
`);
const [[asOf]] = await rows(`SELECT CAST(max(day) + 1 AS VARCHAR) FROM orders`);

// Counted orders, numbered per customer (first order: earliest day, ties by smallest id).
await run(`
CREATE TEMP TABLE c AS
SELECT customer_id, currency, day, amount, date_trunc('month', day)::DATE AS month,
       row_number() OVER (PARTITION BY customer_id, currency ORDER BY day, order_id) AS n
FROM orders WHERE status IN ('completed', 'partially_refunded');
CREATE TEMP TABLE cust AS
SELECT customer_id, currency, min(day) AS first_order_date, max(day) AS last_order_date,
       date_trunc('month', min(day))::DATE AS cohort_month,
       count(*) AS orders, sum(amount)::DOUBLE AS revenue, (sum(amount) / count(*))::DOUBLE AS aov,
       DATE '${asOf}' - max(day) AS recency_days, DATE '${asOf}' - min(day) AS tenure_days
FROM c GROUP BY ALL;
`);

// Per-customer table with RFM 5-bin scores (5 = best) by quantiles within the currency: bin
// = 1 + floor(5 x (rank - 1) / n), ties share the lowest rank so they get the same score;
// recency is binned ascending and inverted (6 - bin), so the most recent get 5.
// Frequency and monetary count the orders of the look-back window [as_of - LB, as_of), or
// of all history when LB is 0.
await run(`
COPY (
  WITH w AS (
    SELECT customer_id, currency, count(*) AS rfm_frequency, sum(amount)::DOUBLE AS rfm_monetary
    FROM c WHERE ${LB > 0 ? `day >= DATE '${asOf}' - ${LB} AND ` : ''}day < DATE '${asOf}' GROUP BY ALL),
  v AS (
    SELECT u.*, coalesce(rfm_frequency, 0) AS rfm_frequency, coalesce(rfm_monetary, 0) AS rfm_monetary,
           count(*) OVER (PARTITION BY u.currency) AS n
    FROM cust u LEFT JOIN w USING (customer_id, currency))
  SELECT DATE '${asOf}' AS run_date, * EXCLUDE (n),
         5 - (5 * (rank() OVER (PARTITION BY currency ORDER BY recency_days) - 1)) // n AS rfm_r,
         1 + (5 * (rank() OVER (PARTITION BY currency ORDER BY rfm_frequency) - 1)) // n AS rfm_f,
         1 + (5 * (rank() OVER (PARTITION BY currency ORDER BY rfm_monetary) - 1)) // n AS rfm_m
  FROM v
) TO '${outDir}/customer_metrics.parquet' (FORMAT parquet);
`);

// Activity: customer active at day d iff a purchase in [d-W, d). Each purchase day p covers
// (p, p+W]; consecutive days closer than W+1 merge into one island [first+1, last+W].
await run(`
CREATE TEMP TABLE months AS
SELECT m::DATE AS month, (m + INTERVAL 1 MONTH)::DATE AS next_month
FROM range((SELECT min(month) FROM c), DATE '${asOf}' - 1 + 1, INTERVAL 1 MONTH) t(m)
WHERE (m + INTERVAL 1 MONTH)::DATE <= DATE '${asOf}';   -- complete periods only
CREATE TEMP TABLE isl AS
WITH d AS (SELECT DISTINCT customer_id, currency, day FROM c),
g AS (SELECT *, CASE WHEN day - lag(day) OVER w > ${W} THEN 1 ELSE 0 END AS brk FROM d
      WINDOW w AS (PARTITION BY customer_id, currency ORDER BY day)),
k AS (SELECT *, sum(brk) OVER (PARTITION BY customer_id, currency ORDER BY day) AS k FROM g)
SELECT customer_id, currency, min(day) + 1 AS s, max(day) + ${W} AS e FROM k GROUP BY customer_id, currency, k;
CREATE TEMP TABLE cov AS
SELECT i.customer_id, i.currency, b.b FROM isl i
JOIN (SELECT month AS b FROM months UNION SELECT next_month FROM months) b ON b.b BETWEEN i.s AND i.e;
`);

await run(`
COPY (
  WITH p AS (
    SELECT currency, month, count(*) AS orders, sum(amount)::DOUBLE AS revenue,
           count(DISTINCT customer_id) AS buyers,
           count(*) FILTER (n = 1) AS first_orders, count(*) FILTER (n > 1) AS repeat_orders,
           coalesce(sum(amount) FILTER (n = 1), 0)::DOUBLE AS revenue_first,
           coalesce(sum(amount) FILTER (n > 1), 0)::DOUBLE AS revenue_repeat
    FROM c GROUP BY ALL),
  rb AS (SELECT c.currency, c.month, count(DISTINCT c.customer_id) AS repeat_buyers
         FROM c JOIN cust u USING (customer_id, currency) WHERE u.first_order_date < c.month GROUP BY ALL),
  act AS (SELECT currency, b, count(*) AS active FROM cov GROUP BY ALL),
  ch AS (SELECT s.currency, s.b AS month, count(*) AS churned
         FROM cov s JOIN months m ON s.b = m.month
         ANTI JOIN cov e ON e.customer_id = s.customer_id AND e.currency = s.currency AND e.b = m.next_month
         GROUP BY ALL),
  sp AS (SELECT upper(trim(currency)) AS currency, strptime(trim(period), '%Y-%m')::DATE AS month,
                sum(try_cast(amount AS DOUBLE)) AS spend
         FROM read_csv('${dataDir}/spend.csv', header = true, all_varchar = true, ignore_errors = true) GROUP BY ALL),
  cur AS (SELECT DISTINCT currency FROM c)
  SELECT DATE '${asOf}' AS run_date, strftime(m.month, '%Y-%m') AS period, m.month AS period_start,
         (m.next_month - 1) AS period_end, cur.currency,
         coalesce(p.orders, 0) AS orders, coalesce(p.revenue, 0) AS revenue, coalesce(p.buyers, 0) AS buyers,
         coalesce(p.first_orders, 0) AS new_customers, coalesce(p.first_orders, 0) AS first_orders,
         coalesce(p.repeat_orders, 0) AS repeat_orders, coalesce(p.revenue_first, 0) AS revenue_first,
         coalesce(p.revenue_repeat, 0) AS revenue_repeat,
         p.revenue / nullif(p.orders, 0) AS aov, p.revenue_first / nullif(p.first_orders, 0) AS aov_first,
         p.revenue_repeat / nullif(p.repeat_orders, 0) AS aov_repeat,
         coalesce(s.active, 0) AS active_start, coalesce(e.active, 0) AS active_end,
         (coalesce(e.active, 0) - coalesce(p.first_orders, 0)) * 100.0 / nullif(s.active, 0) AS crr,
         100 - (coalesce(e.active, 0) - coalesce(p.first_orders, 0)) * 100.0 / nullif(s.active, 0) AS churn_rate,
         coalesce(ch.churned, 0) AS churned, coalesce(rb.repeat_buyers, 0) AS repeat_buyers,
         coalesce(rb.repeat_buyers, 0) * 100.0 / nullif(p.buyers, 0) AS rpr,
         sp.spend, sp.spend / nullif(p.first_orders, 0) AS cac,
         sum(coalesce(p.first_orders, 0)) OVER w AS customers_to_date,
         sum(coalesce(p.revenue, 0)) OVER w / nullif(sum(coalesce(p.first_orders, 0)) OVER w, 0) AS ltv_avg
  FROM months m CROSS JOIN cur
  LEFT JOIN p ON p.month = m.month AND p.currency = cur.currency
  LEFT JOIN rb ON rb.month = m.month AND rb.currency = cur.currency
  LEFT JOIN act s ON s.b = m.month AND s.currency = cur.currency
  LEFT JOIN act e ON e.b = m.next_month AND e.currency = cur.currency
  LEFT JOIN ch ON ch.month = m.month AND ch.currency = cur.currency
  LEFT JOIN sp ON sp.month = m.month AND sp.currency = cur.currency
  WINDOW w AS (PARTITION BY cur.currency ORDER BY m.month)
  ORDER BY cur.currency, m.month
) TO '${outDir}/period_metrics.parquet' (FORMAT parquet);
`);

// Cohort retention: first-order month x month offset.
await run(`
COPY (
  WITH x AS (
    SELECT u.currency, u.cohort_month, datediff('month', u.cohort_month, c.month) AS period_offset,
           count(DISTINCT c.customer_id) AS active_customers, count(*) AS orders, sum(c.amount)::DOUBLE AS revenue
    FROM c JOIN cust u USING (customer_id, currency) GROUP BY ALL),
  sz AS (SELECT currency, cohort_month, count(*) AS cohort_size FROM cust GROUP BY ALL)
  SELECT DATE '${asOf}' AS run_date, strftime(x.cohort_month, '%Y-%m') AS cohort, x.cohort_month AS cohort_start,
         x.currency, period_offset, cohort_size, active_customers,
         active_customers * 100.0 / cohort_size AS retention_pct, orders, revenue,
         sum(revenue) OVER (PARTITION BY x.currency, x.cohort_month ORDER BY period_offset) / cohort_size AS cum_revenue_per_customer
  FROM x JOIN sz USING (currency, cohort_month)
  ORDER BY x.currency, x.cohort_month, period_offset
) TO '${outDir}/cohort_retention.parquet' (FORMAT parquet);
`);
console.log(`duckdb: as_of ${asOf}, tables in ${outDir}`);
