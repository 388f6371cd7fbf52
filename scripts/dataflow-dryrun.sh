#!/usr/bin/env bash
# dataflow-dryrun.sh: build the nightly pipeline's Dataflow job offline — graph
# construction, coder checks, translation to the Dataflow v1b3 Job — without credentials,
# network or submission. Beam's Dataflow runner does this for --dry_run=true: it logs the
# portable pipeline proto and the Job it would have submitted, then returns.
#
# What works offline (checked against Beam v2.77.0's runners/dataflow):
#   - --project, --region and --staging_location must be given (no lookups happen); the
#     values are only written into the Job.
#   - The runner probes the staging/temp buckets' soft-delete policy with a GCS client.
#     With no credentials that client fails at once and the runner logs a warning; with
#     credentials but no network it retries without end. So this script points
#     GOOGLE_APPLICATION_CREDENTIALS at a missing file (which also stops the client from
#     probing the GCE metadata server) and, where `unshare -rn` works, runs in a private
#     network namespace so nothing can leave the machine.
#   - Inputs are globbed by the pipeline while it builds the graph, so they must be local
#     files here (the sample); gs:// inputs need credentials. The graph does not depend on
#     the input paths.
#   - --worker_binary is not read in a dry run; it is passed so the Job shows it.
# What it does not check: staging, IAM, quotas, the worker image, or anything at run time.
#
# Usage: scripts/dataflow-dryrun.sh [extra nightly flags]   (or: make dataflow-dryrun)
# Environment: NIGHTLY (default bin/nightly; built unless NIGHTLY_PREBUILT=1), SAMPLE,
# CONFIG, PROJECT, REGION, BUCKET, OUT_DIR (where the job log and summary go), KEEP=1 (keep
# them after a PASS).
set -euo pipefail

cd "$(dirname "$0")/.."
NIGHTLY=${NIGHTLY:-bin/nightly}
SAMPLE=${SAMPLE:-data/sample}
CONFIG=${CONFIG:-pipelines/nightly/sample-config.yaml}
PROJECT=${PROJECT:-audiencesync-dryrun}
REGION=${REGION:-europe-west1}
BUCKET=${BUCKET:-audiencesync-dryrun-staging}
OUT_DIR=${OUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/dataflow-dryrun.XXXXXX")}
GO=${GO:-go}

say() { echo "dataflow-dryrun: $*" >&2; }

if [[ ${DRYRUN_IN_NETNS:-} == 1 ]]; then
	ip link set lo up 2>/dev/null || true
else
	if [[ ${NIGHTLY_PREBUILT:-} != 1 ]]; then
		say "building $NIGHTLY"
		mkdir -p "$(dirname "$NIGHTLY")"
		$GO build -o "$NIGHTLY" ./pipelines/nightly
	fi
	[[ -f $SAMPLE/orders.csv ]] || { say "no $SAMPLE/orders.csv: run 'make sample' first"; exit 2; }
	if unshare -rn true 2>/dev/null && command -v ip >/dev/null; then
		say "running in a private network namespace (no network at all)"
		DRYRUN_IN_NETNS=1 OUT_DIR=$OUT_DIR exec unshare -rn "$0" "$@"
	fi
	say "no network namespace available: relying on the missing credentials to stay offline"
fi

args=(--orders="$SAMPLE/orders.csv")
for in in customers order_lines spend; do
	[[ -f $SAMPLE/$in.csv ]] && args+=(--"$in"="$SAMPLE/$in.csv")
done
[[ -f $CONFIG ]] && args+=(--config="$CONFIG")
# The runner's info logs carry the dry-run report; the pipeline hides them unless --verbose.
FLAGS=$("$NIGHTLY" --help_beam 2>&1 || true) # captured first: grep -q would SIGPIPE it under pipefail
if grep -Eq -- '^[[:space:]]*-{1,2}verbose([[:space:]=]|$)' <<<"$FLAGS"; then
	args+=(--verbose=true)
fi

mkdir -p "$OUT_DIR/gcloud"
LOG=$OUT_DIR/dryrun.log
set +e
env GOOGLE_APPLICATION_CREDENTIALS=/nonexistent/audiencesync-offline.json \
	CLOUDSDK_CONFIG="$OUT_DIR/gcloud" \
	timeout 300 "$NIGHTLY" "${args[@]}" \
	--runner=dataflow --dry_run=true \
	--project="$PROJECT" --region="$REGION" \
	--staging_location="gs://$BUCKET/staging" --temp_location="gs://$BUCKET/tmp" \
	--worker_binary="$(readlink -f "$NIGHTLY")" \
	--output="$OUT_DIR/out" "$@" >"$LOG" 2>&1
rc=$?
set -e

if [[ $rc != 0 ]] || ! grep -q "Dry-run: not submitting job!" "$LOG"; then
	tail -n 30 "$LOG" >&2
	echo "dataflow-dryrun: FAIL (exit $rc) — full log: $LOG"
	exit 1
fi
transforms=$(grep -o 'unique_name:' "$LOG" | wc -l | tr -d ' ')
if [[ ${KEEP:-} == 1 ]]; then
	echo "dataflow-dryrun: PASS — Dataflow job built offline, $transforms transforms in the pipeline proto, not submitted (log with the Job JSON: $LOG)"
else
	rm -rf "$OUT_DIR"
	echo "dataflow-dryrun: PASS — Dataflow job built offline, $transforms transforms in the pipeline proto, not submitted (KEEP=1 keeps the log with the Job JSON)"
fi
