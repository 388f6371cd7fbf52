#!/usr/bin/env bash
# portable-test.sh: run the nightly pipeline on the sample data on the in-process prism
# runner and submitted through the portable (universal) runner to a standalone prism job
# server (LOOPBACK workers, and with WORKER_BINARY also PROCESS workers running the staged
# worker binary), and check every run wrote the same tables and summary counts.
# This is the cheapest proof that the pipeline is portable: the universal runner
# serialises the graph, ships it over the Job API and runs the SDK harness as an external
# worker, exactly as on Flink, Spark or Dataflow.
#
# Usage: scripts/portable-test.sh            (or: make test-portable)
# Environment:
#   PRISM=bin/prism            standalone prism job server (built when missing)
#   NIGHTLY=bin/nightly        pipeline binary (rebuilt from ./pipelines/nightly unless NIGHTLY_PREBUILT=1)
#   SAMPLE=data/sample         orders.csv, customers.csv, order_lines.csv, spend.csv (make sample)
#   CONFIG=pipelines/nightly/sample-config.yaml
#   RUN_DATE=YYYY-MM-DD        pinned run date (default: the pipeline's own default, the same for both runs)
#   INPROC_DIR=DIR             reuse an existing in-process output (e.g. out from make run) instead of running again
#   NETNS=auto|1|0             run the job server and both pipelines in a private network namespace
#                              with loopback only (auto: when `unshare -rn` works). prism listens on
#                              all interfaces (":port"), so this is what keeps it off the network.
#   KEEP=1                     keep the temporary directory even on PASS
#   EXTRA_ARGS="..."           more flags for both runs
#   WORKER_BINARY=PATH        also run with --environment_type=PROCESS: the job server starts the Go
#                              SDK boot program (BEAM_BOOT) which fetches this staged, static
#                              linux/amd64 binary and runs it as the SDK harness — the worker-binary
#                              path of Flink/Spark/Dataflow (make test-portable sets both)
#   BEAM_BOOT=PATH             boot binary (go build github.com/apache/beam/sdks/v2/go/container)
#   RUN_TIMEOUT=600            seconds allowed for each pipeline run (a stuck job server fails the test)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
PRISM=${PRISM:-bin/prism}
NIGHTLY=${NIGHTLY:-bin/nightly}
SAMPLE=${SAMPLE:-data/sample}
CONFIG=${CONFIG:-pipelines/nightly/sample-config.yaml}
NETNS=${NETNS:-auto}
COMPARE=${COMPARE:-bin/portable-compare}
GO=${GO:-go}
RUN_TIMEOUT=${RUN_TIMEOUT:-600}

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "portable-test: $*" >&2; }
fail() {
	echo "portable-test: FAIL ($*) — logs and outputs kept in ${WORK:-?}"
	exit 1
}

# ---- inside the network namespace: bring loopback up, then continue below ----
if [[ ${PORTABLE_IN_NETNS:-} == 1 ]]; then
	ip link set lo up 2>/dev/null || { say "cannot bring up lo inside the namespace"; exit 1; }
fi

if [[ ${PORTABLE_IN_NETNS:-} != 1 ]]; then
	T0=$(now)
	# ---- build (outside any namespace: the Go module proxy may be needed) ----
	if [[ ! -x $PRISM ]]; then
		say "building $PRISM (Beam's standalone prism job server, once)"
		mkdir -p "$(dirname "$PRISM")"
		$GO build -o "$PRISM" github.com/apache/beam/sdks/v2/go/cmd/prism
	fi
	if [[ ${NIGHTLY_PREBUILT:-} != 1 ]]; then
		say "building $NIGHTLY"
		mkdir -p "$(dirname "$NIGHTLY")"
		$GO build -o "$NIGHTLY" ./pipelines/nightly
	fi
	$GO build -o "$COMPARE" ./deploy/portable/compare
	[[ -f $SAMPLE/orders.csv ]] || { say "no $SAMPLE/orders.csv: run 'make sample' first"; exit 2; }
	export PORTABLE_BUILD_S=$(secs "$T0" "$(now)")

	use_ns=0
	case $NETNS in
	1) use_ns=1 ;;
	auto) if unshare -rn true 2>/dev/null && command -v ip >/dev/null; then use_ns=1; fi ;;
	esac
	if [[ $use_ns == 1 ]]; then
		say "running inside a private network namespace (loopback only)"
		PORTABLE_IN_NETNS=1 exec unshare -rn "$0" "$@"
	fi
	say "WARNING: no private network namespace; prism's job server listens on all interfaces of this host while the test runs"
fi

# ---- run ----
if [[ -n ${WORKER_BINARY:-} ]]; then
	[[ -x $WORKER_BINARY && -x ${BEAM_BOOT:-} ]] || { echo "portable-test: FAIL (WORKER_BINARY=$WORKER_BINARY needs an executable BEAM_BOOT)"; exit 1; }
	WORKER_BINARY=$(readlink -f "$WORKER_BINARY")
	export BEAM_BOOT=$(readlink -f "$BEAM_BOOT") # read by boot-wrapper.sh, which prism starts
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/portable-test.XXXXXX")
touch "$WORK/.start"
PRISM_PID=
cleanup() {
	local rc=$?
	if [[ -n $PRISM_PID ]]; then
		kill -- -"$PRISM_PID" 2>/dev/null || true # the whole group: prism and its workers
		wait "$PRISM_PID" 2>/dev/null || true
		pkill -KILL -g "$PRISM_PID" 2>/dev/null || true
	fi
	# The Go SDK's boot program (PROCESS workers) copies the staged worker binary (~250 MB)
	# to /tmp/bin*/worker (a fixed /tmp, not $TMPDIR) and never removes it: remove the
	# copies this run made, so repeated CI runs do not fill the disk.
	if [[ -n ${WORKER_BINARY:-} ]]; then
		find /tmp -maxdepth 1 -type d -name 'bin*' -newer "$WORK/.start" 2>/dev/null | while read -r d; do
			if [[ -f $d/worker ]] && cmp -s "$d/worker" "$WORKER_BINARY"; then rm -rf "$d"; fi
		done
	fi
	if [[ $rc == 0 && ${KEEP:-} != 1 ]]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The pipeline's own flags, added only when the binary knows them (it grows over time).
FLAGS=$("$NIGHTLY" --help_beam 2>&1 || true)
has_flag() { grep -Eq -- "^[[:space:]]*-{1,2}$1([[:space:]=]|$)" <<<"$FLAGS"; }
common=(--orders="$SAMPLE/orders.csv")
for in in customers order_lines spend; do
	[[ -f $SAMPLE/$in.csv ]] && common+=(--"$in"="$SAMPLE/$in.csv")
done
[[ -f $CONFIG ]] && common+=(--config="$CONFIG")
[[ -n ${RUN_DATE:-} ]] && common+=(--run_date="$RUN_DATE")
# Audiences go to files, never to a platform: both runs must be side-effect free.
has_flag audiences && common+=(--audiences=dry_run)
# shellcheck disable=SC2206
[[ -n ${EXTRA_ARGS:-} ]] && common+=($EXTRA_ARGS)

# Each run keeps its own audience state: the second run must not diff against the first.
state_of() { has_flag state_dir && echo "--state_dir=$WORK/$1-state"; }

# 1. In-process prism (the default runner).
T1=$(now)
if [[ -n ${INPROC_DIR:-} ]]; then
	INPROC=$INPROC_DIR
	say "reusing in-process output $INPROC"
else
	INPROC=$WORK/inproc
	say "run 1/3: in-process prism -> $INPROC"
	# shellcheck disable=SC2046
	timeout "$RUN_TIMEOUT" "$NIGHTLY" "${common[@]}" $(state_of inproc) --output="$INPROC" >"$WORK/inproc.log" 2>&1 ||
		{ tail -n 30 "$WORK/inproc.log" >&2; fail "in-process run failed (see $WORK/inproc.log)"; }
fi
INPROC_S=$(secs "$T1" "$(now)")

# 2. Standalone prism job server on a kernel-chosen loopback port. --job_port=0 makes the
# kernel pick a free port (no probe-then-bind race); prism logs the port once it listens.
T2=$(now)
# setsid: prism leads its own process group, so the cleanup can stop it together with the
# PROCESS-mode SDK workers it starts (they outlive prism otherwise).
setsid "$PRISM" --job_port=0 --serve_http=false --idle_shutdown_timeout=15m --log_kind=text \
	>"$WORK/prism.log" 2>&1 &
PRISM_PID=$!
PORT=
for _ in $(seq 1 200); do
	PORT=$(grep -oE 'Serving JobManagement.*endpoint=[^ ]*:[0-9]+' "$WORK/prism.log" 2>/dev/null | grep -oE '[0-9]+$' | head -n1 || true)
	[[ -n $PORT ]] && break
	kill -0 "$PRISM_PID" 2>/dev/null || { cat "$WORK/prism.log" >&2; fail "prism job server exited at start"; }
	sleep 0.05
done
[[ -n $PORT ]] || { cat "$WORK/prism.log" >&2; fail "prism job server did not report its port within 10s"; }
for _ in $(seq 1 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
	sleep 0.05
done
(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || fail "prism job server does not accept on 127.0.0.1:$PORT"
say "prism job server on 127.0.0.1:$PORT (pid $PRISM_PID)"
JS_S=$(secs "$T2" "$(now)")

T3=$(now)
PORTABLE=$WORK/portable
say "run 2/3: universal runner via 127.0.0.1:$PORT (LOOPBACK workers) -> $PORTABLE"
# shellcheck disable=SC2046
timeout "$RUN_TIMEOUT" "$NIGHTLY" "${common[@]}" $(state_of portable) --output="$PORTABLE" \
	--runner=universal --endpoint="127.0.0.1:$PORT" --environment_type=LOOPBACK \
	>"$WORK/portable.log" 2>&1 ||
	{ tail -n 30 "$WORK/portable.log" >&2; fail "universal-runner run failed (see $WORK/portable.log, $WORK/prism.log)"; }
PORTABLE_S=$(secs "$T3" "$(now)")

# 2b. PROCESS workers: the staged worker binary, started by the SDK's boot program.
PROCESS_S=
if [[ -n ${WORKER_BINARY:-} ]]; then
	T5=$(now)
	PROCESS_OUT=$WORK/process
	say "run 3/3: universal runner, PROCESS workers running $WORKER_BINARY -> $PROCESS_OUT"
	# shellcheck disable=SC2046
	timeout "$RUN_TIMEOUT" "$NIGHTLY" "${common[@]}" $(state_of process) --output="$PROCESS_OUT" \
		--runner=universal --endpoint="127.0.0.1:$PORT" --environment_type=PROCESS \
		--environment_config="{\"command\":\"$ROOT/deploy/portable/boot-wrapper.sh\"}" \
		--worker_binary="$WORKER_BINARY" >"$WORK/process.log" 2>&1 ||
		{ tail -n 30 "$WORK/process.log" >&2; fail "PROCESS-environment run failed (see $WORK/process.log, $WORK/prism.log)"; }
	PROCESS_S=$(secs "$T5" "$(now)")
fi

# 3. Compare the published runs (<output>/current; an output of an older binary as it is).
pub() { if [[ -e $1/current ]]; then echo "$1/current"; else echo "$1"; fi; }
INPROC=$(pub "$INPROC")
PORTABLE=$(pub "$PORTABLE")
[[ -n $PROCESS_S ]] && PROCESS_OUT=$(pub "$PROCESS_OUT")
T4=$(now)
if ! "$COMPARE" "$INPROC" "$PORTABLE" | tee "$WORK/compare.txt"; then
	fail "LOOPBACK outputs differ from in-process (see $WORK/compare.txt)"
fi
if [[ -n $PROCESS_S ]] && ! "$COMPARE" "$INPROC" "$PROCESS_OUT" | tee "$WORK/compare-process.txt"; then
	fail "PROCESS outputs differ from in-process (see $WORK/compare-process.txt)"
fi
CMP_S=$(secs "$T4" "$(now)")

what="universal runner (LOOPBACK${PROCESS_S:+ and PROCESS with the worker binary}) on prism job server == in-process prism"
echo "portable-test: PASS — $what" \
	"(build ${PORTABLE_BUILD_S:-0}s, in-process ${INPROC_S}s, job server start ${JS_S}s, loopback ${PORTABLE_S}s${PROCESS_S:+, process ${PROCESS_S}s}, compare ${CMP_S}s)"
