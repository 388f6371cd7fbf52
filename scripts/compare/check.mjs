// Headline figures of the three spine runs side by side (scripts/compare/run.sh): total
// customers, orders and revenue over all periods, and the last complete month's AOV first /
// repeat, CRR, RPR and churned; then every month's core columns, every customer's facts and
// RFM scores and every cohort row of DuckDB and pandas against ours.
// Usage: node check.mjs <ours dir> <duckdb dir> <pandas dir>
// Exit 1 when DuckDB or pandas disagree with ours.
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync } from 'node:fs';

const [ours, duck, pandas] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const cols = `sum(new_customers) OVER () AS customers, sum(orders) OVER () AS orders_all,
  round(sum(revenue) OVER (), 2) AS revenue_all, period, round(aov_first, 2) AS aov_first,
  round(aov_repeat, 2) AS aov_repeat, round(crr, 2) AS crr, round(rpr, 2) AS rpr, churned,
  active_start, active_end`;
const sources = [
  ['ours', `read_parquet('${ours}/period_metrics/*.parquet') WHERE channel = 'all'`],
  ['duckdb', existsSync(`${duck}/period_metrics.parquet`) && `read_parquet('${duck}/period_metrics.parquet')`],
  ['pandas', existsSync(`${pandas}/period_metrics.csv`) && `read_csv('${pandas}/period_metrics.csv')`],
];
const names = ['customers', 'orders_all', 'revenue_all', 'period', 'aov_first', 'aov_repeat', 'crr', 'rpr', 'churned', 'active_start', 'active_end'];
const got = {};
for (const [name, from] of sources) {
  if (!from) continue;
  const r = await c.runAndReadAll(`SELECT ${cols} FROM ${from} ORDER BY period DESC LIMIT 1`);
  got[name] = r.getRowsJson()[0].map(String);
}
const runs = Object.keys(got);
console.log(['figure', ...runs, 'match'].map((s) => s.padEnd(16)).join(''));
let bad = 0;
names.forEach((n, i) => {
  const vals = runs.map((r) => got[r][i]);
  const ok = vals.every((v) => Math.abs(Number(v) - Number(vals[0])) < 0.011 || v === vals[0]);
  if (!ok) bad++;
  console.log([n, ...vals, ok ? 'yes' : 'NO'].map((s) => s.padEnd(16)).join(''));
});

// Every complete month, not just the last: the core columns of each run against ours.
const core = ['orders', 'revenue', 'buyers', 'new_customers', 'repeat_buyers', 'active_start', 'active_end', 'churned', 'aov_first', 'aov_repeat'];
for (const [name, from] of sources.slice(1)) {
  if (!from) continue;
  const diff = core.map((k) => `coalesce(abs(o.${k} - x.${k}) > 0.005, o.${k} IS DISTINCT FROM x.${k})`).join(' OR ');
  const [[n, differ]] = (await c.runAndReadAll(`
    SELECT count(*), count(*) FILTER (x.period IS NULL OR ${diff})
    FROM (SELECT * FROM ${sources[0][1]}) o LEFT JOIN (SELECT * FROM ${from}) x USING (period)`)).getRowsJson();
  console.log(`${name}: ${n} periods, ${differ} differ from ours in ${core.join(', ')}`);
  if (Number(differ) > 0) bad++;
}

// Per customer (facts and RFM scores) and per cohort x offset, every row.
const tables = {
  ours: { customers: `read_parquet('${ours}/customer_metrics/*.parquet')`, cohorts: `read_parquet('${ours}/cohort_retention/*.parquet')` },
  duckdb: { customers: `read_parquet('${duck}/customer_metrics.parquet')`, cohorts: `read_parquet('${duck}/cohort_retention.parquet')` },
  pandas: { customers: `read_csv('${pandas}/customer_metrics.csv')`, cohorts: `read_csv('${pandas}/cohort_retention.csv')` },
};
const checks = [
  ['customers', 'customer_id, currency', ['first_order_date', 'last_order_date', 'orders', 'revenue', 'recency_days', 'tenure_days', 'rfm_r', 'rfm_f', 'rfm_m']],
  ['cohorts', 'cohort, currency, period_offset', ['cohort_size', 'active_customers', 'orders', 'revenue']],
];
for (const name of runs.slice(1)) {
  for (const [t, key, cs] of checks) {
    const same = cs.map((k) => (k.endsWith('_date') ? `o.${k} = x.${k}` : `abs(o.${k} - x.${k}) < 0.005`)).join(' AND ');
    const [[n, differ]] = (await c.runAndReadAll(`
      SELECT count(*), count(*) FILTER (NOT coalesce(${same}, false))
      FROM ${tables.ours[t]} o FULL JOIN ${tables[name][t]} x USING (${key})`)).getRowsJson();
    console.log(`${name}: ${n} ${t === 'customers' ? 'customers' : 'cohort x offset rows'}, ${differ} differ from ours in ${cs.join(', ')}`);
    if (Number(differ) > 0) bad++;
  }
}
process.exit(bad ? 1 : 0);
