#!/usr/bin/env bash
# make bench: generate a big shop (CUSTOMERS, ORDERS), run the plain-Go lower bound and the
# Beam pipeline (prism) on the same files, and print wall time and peak RSS of each:
#   lowerbound  cmd/lowerbound: the full computation as one plain-Go pass, one goroutine
#   spine       the pipeline with metrics, cohorts, churn and RFM only (scripts/bench-spine.yaml)
#   pipeline    the full nightly run: + k-means, smart segments, CLV, audiences (dry run), report
# Figures go to out/bench/bench-<orders>.txt too.
set -euo pipefail
cd "$(dirname "$0")/.."
customers=${1:-200000}
orders=${2:-1000000}
data=data/bench-${orders}
config=${CONFIG:-pipelines/nightly/sample-config.yaml}
mkdir -p out/bench
if [ ! -f "$data/orders.csv" ]; then
  go run ./cmd/gensample -out "$data" -customers "$customers" -orders "$orders"
fi
go build -o bin/lowerbound ./cmd/lowerbound
[ -x bin/nightly ] || go build -o bin/nightly ./pipelines/nightly
inputs=(--orders="$data/orders.csv" --customers="$data/customers.csv" --order_lines="$data/order_lines.csv" --spend="$data/spend.csv" --config="$config")
report=out/bench/bench-${orders}.txt

measure() { # name, command...
  local name=$1; shift
  local tf; tf=$(mktemp)
  /usr/bin/time -v "$@" >"$tf.out" 2>"$tf" || { cat "$tf" "$tf.out" >&2; return 1; }
  local wall rss
  wall=$(grep 'Elapsed (wall clock)' "$tf" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$tf" | awk '{print $NF}')
  printf '%-12s wall %-9s peak RSS %6d MB\n' "$name" "$wall" $((rss / 1024)) | tee -a "$report"
  grep -h 'lowerbound:' "$tf.out" | tee -a "$report" || true
  rm -f "$tf" "$tf.out"
}

{
  echo "bench $(date -u +%F) — $orders orders, $customers customers — $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GB RAM, $(go version | awk '{print $3}')"
  wc -c "$data"/*.csv | tail -1 | awk '{printf "input: %.0f MB of CSV\n", $1/1048576}'
} | tee "$report"
measure lowerbound bin/lowerbound "${inputs[@]}" --output=out/bench/lowerbound
spine=(--orders="$data/orders.csv" --customers="$data/customers.csv" --spend="$data/spend.csv" --config=scripts/bench-spine.yaml)
measure spine bin/nightly "${spine[@]}" --output=out/bench/spine --state_dir= --audiences=off ${BENCH_FLAGS:-}
rm -rf out/bench/state
measure pipeline bin/nightly "${inputs[@]}" --output=out/bench/pipeline --state_dir=out/bench/state --audiences=dry_run ${BENCH_FLAGS:-}
grep -h '"duration_s"' out/bench/pipeline/current/run_summary.json | sed 's/^ */pipeline run_summary: /' | tee -a "$report"
echo "written to $report"
