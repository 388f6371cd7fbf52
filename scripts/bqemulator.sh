#!/usr/bin/env bash
# bqemulator.sh: build, start and stop the BigQuery emulator (goccy/bigquery-emulator,
# pinned in tools/bqemulator/go.mod) for the BigQuery integration tests.
#
#   scripts/bqemulator.sh build        build the binary once into $BQEMU_BIN (cached)
#   scripts/bqemulator.sh test [pkgs]  build if missing, run the -tags bqemulator tests
#                                      with BQ_EMULATOR_BIN set: every test starts its own
#                                      emulator on free loopback ports and stops it
#   scripts/bqemulator.sh run          start one on free ports in the foreground and print
#                                      BQ_EMULATOR_HOST=...; stopped by a trap on exit
#
# The emulator listens on 127.0.0.1 only. Building it takes ~4 min and ~6 GB of memory on
# 2 cores (one large generated package); the binary (~270 MB) is never committed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BQEMU_BIN="${BQEMU_BIN:-$ROOT/.cache/bqemulator/bigquery-emulator}"
BQEMU_PROJECT="${BQEMU_PROJECT:-test}"

build() {
	if [[ -x "$BQEMU_BIN" ]]; then
		return 0
	fi
	mkdir -p "$(dirname "$BQEMU_BIN")"
	echo "bqemulator: building $BQEMU_BIN (cold: ~4 min, ~6 GB memory)..." >&2
	local start=$SECONDS
	(cd "$ROOT/tools/bqemulator" &&
		go build -o "$BQEMU_BIN.tmp" github.com/goccy/bigquery-emulator/cmd/bigquery-emulator)
	mv "$BQEMU_BIN.tmp" "$BQEMU_BIN"
	echo "bqemulator: built in $((SECONDS - start)) s" >&2
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 30000))
		if port_free "$p"; then
			echo "$p"
			return 0
		fi
	done
	echo "bqemulator: no free loopback port found" >&2
	return 1
}

EMU_PID=""
stop() {
	if [[ -n "$EMU_PID" ]] && kill -0 "$EMU_PID" 2>/dev/null; then
		kill "$EMU_PID" 2>/dev/null || true
		wait "$EMU_PID" 2>/dev/null || true
	fi
	EMU_PID=""
}

# start launches the emulator in the background and sets HTTP_PORT, GRPC_PORT, EMU_PID.
start() {
	HTTP_PORT="$(free_port)"
	GRPC_PORT="$(free_port)"
	while [[ "$GRPC_PORT" == "$HTTP_PORT" ]]; do GRPC_PORT="$(free_port)"; done
	LOG="$(dirname "$BQEMU_BIN")/emulator.log"
	"$BQEMU_BIN" --project="$BQEMU_PROJECT" --host=127.0.0.1 --port="$HTTP_PORT" \
		--grpc-port="$GRPC_PORT" --log-level=warn >"$LOG" 2>&1 &
	EMU_PID=$!
	for _ in $(seq 1 300); do
		if ! kill -0 "$EMU_PID" 2>/dev/null; then
			echo "bqemulator: emulator exited at start; log:" >&2
			cat "$LOG" >&2
			return 1
		fi
		if ! port_free "$HTTP_PORT" && ! port_free "$GRPC_PORT"; then
			echo "bqemulator: listening on 127.0.0.1:$HTTP_PORT (REST) and 127.0.0.1:$GRPC_PORT (gRPC), pid $EMU_PID" >&2
			return 0
		fi
		sleep 0.1
	done
	echo "bqemulator: emulator did not listen within 30 s; log:" >&2
	cat "$LOG" >&2
	return 1
}

cmd="${1:-test}"
shift || true
case "$cmd" in
build)
	build
	;;
test)
	build
	pkgs=("$@")
	if [[ ${#pkgs[@]} -eq 0 ]]; then pkgs=(./sinks/bigquery/...); fi
	cd "$ROOT"
	# Each test starts an emulator of its own from BQ_EMULATOR_BIN on free 127.0.0.1
	# ports and kills it at cleanup (sinks/bigquery/bqtest): tests stay isolated, since
	# one emulator mixes up same-named tables of different datasets.
	BQ_EMULATOR_BIN="$BQEMU_BIN" BQ_EMULATOR_PROJECT="$BQEMU_PROJECT" \
		go test -tags bqemulator -count=1 ${BQ_TEST_FLAGS:-} "${pkgs[@]}"
	;;
run)
	build
	trap stop EXIT INT TERM
	start
	echo "export BQ_EMULATOR_HOST=127.0.0.1:$HTTP_PORT BQ_EMULATOR_GRPC_HOST=127.0.0.1:$GRPC_PORT BQ_EMULATOR_PROJECT=$BQEMU_PROJECT"
	wait "$EMU_PID"
	;;
*)
	echo "usage: $0 build|test [packages]|run" >&2
	exit 2
	;;
esac
