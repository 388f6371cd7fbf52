#!/usr/bin/env bash
# make bench: generate a big shop (CUSTOMERS, ORDERS; RFC 3339 timestamps with +03:00
# offsets), then run on the same files, each under /usr/bin/time -v:
#   lowerbound-spine  cmd/lowerbound -spine: the spine work as one plain-Go pass, one core
#   spine             bin/nightly with scripts/bench-spine.yaml: customer metrics, period
#                     metrics with CRR and churn, cohorts, RFM over all history, k-means K=4
#                     with 10 restarts; orders and spend only, no audiences, report or CLV
#   lowerbound        cmd/lowerbound: the full nightly computation as one plain-Go pass
#   pipeline          the full nightly run: + customers (contact hashing), order lines,
#                     smart segments, CLV, audiences (dry run), report
# and print wall, CPU (user+sys) and peak RSS of each, and the pipeline / lower-bound ratios
# of the spine and of the full run. RUNS=3 repeats each (interleaved) and reports medians.
# Figures go to out/bench/bench-<orders>.txt too.
set -euo pipefail
cd "$(dirname "$0")/.."
customers=${1:-200000}
orders=${2:-1000000}
runs=${RUNS:-1}
data=data/bench-${orders}
config=${CONFIG:-pipelines/nightly/sample-config.yaml}
mkdir -p out/bench
if [ ! -f "$data/orders.csv" ] || [ ! -f "$data/.utc_offset_0300" ]; then
  go run ./cmd/gensample -out "$data" -customers "$customers" -orders "$orders" -utc_offset +03:00
  touch "$data/.utc_offset_0300"
fi
go build -o bin/lowerbound ./cmd/lowerbound
[ -x bin/nightly ] || go build -o bin/nightly ./pipelines/nightly
report=out/bench/bench-${orders}.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

measure() { # name, command...: appends "wall cpu rssMB" to $tmp/<name>
  local name=$1; shift
  /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$@" >"$tmp/out" 2>&1 || { cat "$tmp/out" >&2; return 1; }
  awk '{printf "%.2f %.2f %d\n", $1, $2 + $3, $4 / 1024}' "$tmp/time" >>"$tmp/$name"
  grep -h 'lowerbound:' "$tmp/out" >"$tmp/$name.note" || true
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
col() { awk -v c="$2" '{print $c}' "$tmp/$1" | median; }

{
  echo "bench $(date -u +%F) — $orders orders, $customers customers — $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GB RAM, $(go version | awk '{print $3}'), medians of $runs run(s)"
  wc -c "$data"/*.csv | tail -1 | awk '{printf "input: %.0f MB of CSV\n", $1/1048576}'
} | tee "$report"
spine=(--orders="$data/orders.csv" --spend="$data/spend.csv" --config=scripts/bench-spine.yaml)
full=(--orders="$data/orders.csv" --customers="$data/customers.csv" --order_lines="$data/order_lines.csv" --spend="$data/spend.csv" --config="$config")
for _ in $(seq "$runs"); do
  measure lowerbound-spine bin/lowerbound -spine "${spine[@]}" --output=out/bench/lowerbound-spine
  measure spine bin/nightly "${spine[@]}" --output=out/bench/spine --state_dir= --audiences=off --report=false ${BENCH_FLAGS:-}
  measure lowerbound bin/lowerbound "${full[@]}" --output=out/bench/lowerbound
  rm -rf out/bench/state
  measure pipeline bin/nightly "${full[@]}" --output=out/bench/pipeline --state_dir=out/bench/state --audiences=dry_run ${BENCH_FLAGS:-}
done
for name in lowerbound-spine spine lowerbound pipeline; do
  printf '%-17s wall %6.2f s  CPU %6.2f s  peak RSS %6d MB\n' "$name" "$(col $name 1)" "$(col $name 2)" "$(col $name 3)" | tee -a "$report"
  cat "$tmp/$name.note" | tee -a "$report"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo "spine / lowerbound-spine: wall $(ratio "$(col spine 1)" "$(col lowerbound-spine 1)")x, CPU $(ratio "$(col spine 2)" "$(col lowerbound-spine 2)")x" | tee -a "$report"
echo "pipeline / lowerbound:    wall $(ratio "$(col pipeline 1)" "$(col lowerbound 1)")x, CPU $(ratio "$(col pipeline 2)" "$(col lowerbound 2)")x" | tee -a "$report"
echo "written to $report"
