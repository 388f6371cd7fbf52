#!/usr/bin/env bash
# make bench-compare: the spine's work (customer facts, monthly metrics, cohorts, CRR, RFM;
# scripts/bench-spine.yaml) done three ways on the same data/bench-<orders>/ files, each
# under /usr/bin/time -v:
#   ours    bin/nightly with scripts/bench-spine.yaml (prism), as in make bench
#   duckdb  scripts/compare/duckdb.mjs: the same tables as DuckDB SQL (@duckdb/node-api,
#           installed with npm into .cache/compare/), THREADS threads (default 2)
#   pandas  scripts/compare/pandas_spine.py under Debian's /usr/bin/python3 (python3-pandas;
#           bookworm has no pyarrow, so it writes CSV instead of Parquet)
# then prints wall time and peak RSS, and checks the headline figures and every month's core
# columns of DuckDB and pandas against our period_metrics (scripts/compare/check.mjs).
# Figures go to out/compare/compare-<orders>.txt. Not part of make test. Run it on an
# otherwise idle machine; RUNS=3 repeats each measurement (interleaved).
set -euo pipefail
cd "$(dirname "$0")/../.."
orders=${1:-1000000}
data=data/bench-${orders}
threads=${THREADS:-2}
out=out/compare
cache=.cache/compare
report=$out/compare-${orders}.txt
if [ ! -f "$data/orders.csv" ]; then
  echo "no $data/orders.csv: run make bench first (it generates the data)" >&2
  exit 1
fi
[ -x bin/nightly ] || go build -o bin/nightly ./pipelines/nightly
mkdir -p "$out" "$cache"

duck=yes
if [ ! -d "$cache/node_modules/@duckdb/node-api" ]; then
  (cd "$cache" && { [ -f package.json ] || npm init -y >/dev/null; } && npm install --no-audit --no-fund @duckdb/node-api@1.5.6-r.1) ||
    { echo "npm install @duckdb/node-api failed: skipping DuckDB" >&2; duck=no; }
fi
# Node resolves ESM imports next to the script, so the scripts run from the cache folder.
cp scripts/compare/duckdb.mjs scripts/compare/check.mjs "$cache/"
pandas=yes
if ! /usr/bin/python3 -c 'import pandas' 2>/dev/null; then
  echo "Debian's python3-pandas is missing (apt-get install -y python3-pandas): skipping pandas" >&2
  pandas=no
fi

measure() { # name, command...
  local name=$1; shift
  local tf; tf=$(mktemp)
  /usr/bin/time -v "$@" >"$tf.out" 2>"$tf" || { cat "$tf" "$tf.out" >&2; rm -f "$tf" "$tf.out"; return 1; }
  local wall rss
  wall=$(grep 'Elapsed (wall clock)' "$tf" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$tf" | awk '{print $NF}')
  printf '%-8s wall %-9s peak RSS %6d MB\n' "$name" "$wall" $((rss / 1024)) | tee -a "$report"
  # seconds of wall time, for the medians and ratios at the end
  echo "$wall" | awk -F: '{s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s}' >>"$out/walls-$name"
  rm -f "$tf" "$tf.out"
}
median() { sort -n "$1" | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

{
  echo "bench-compare $(date -u +%F) — $data — $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GB RAM"
  echo "duckdb $( [ $duck = yes ] && node -p "require('./$cache/node_modules/@duckdb/node-api/package.json').version" || echo skipped) (threads=$threads), pandas $( [ $pandas = yes ] && /usr/bin/python3 -c 'import pandas; print(pandas.__version__)' || echo skipped), node $(node --version)"
} | tee "$report"
rm -rf "$out/ours" "$out/duckdb" "$out/pandas" "$out"/walls-*
mkdir -p "$out/duckdb" "$out/pandas"
for _ in $(seq "${RUNS:-1}"); do # RUNS=3: each three times, interleaved
  rm -rf "$out/ours"
  # The same inputs and outputs as theirs: no customers (contact hashing is work they do not
  # do) and no report.html.
  measure ours bin/nightly --orders="$data/orders.csv" --spend="$data/spend.csv" \
    --config=scripts/bench-spine.yaml --output="$out/ours" --state_dir= --audiences=off --report=false
  if [ $duck = yes ]; then measure duckdb node "$cache/duckdb.mjs" "$data" "$out/duckdb" "$threads"; fi
  if [ $pandas = yes ]; then measure pandas /usr/bin/python3 scripts/compare/pandas_spine.py "$data" "$out/pandas"; fi
done
ours=$(median "$out/walls-ours")
for other in duckdb pandas; do
  [ -f "$out/walls-$other" ] || continue
  theirs=$(median "$out/walls-$other")
  awk -v a="$ours" -v b="$theirs" -v o="$other" 'BEGIN {printf "median wall: ours %.2f s, %s %.2f s: ours / %s = %.2fx\n", a, o, b, o, a / b}' | tee -a "$report"
done
if [ $duck = yes ]; then
  echo "headline figures (RUB; last complete month for the per-month ones):" | tee -a "$report"
  node "$cache/check.mjs" "$out/ours/current" "$out/duckdb" "$out/pandas" | tee -a "$report"
else
  echo "no DuckDB: headline check skipped (check.mjs reads the tables with DuckDB)" | tee -a "$report"
fi
echo "written to $report"
