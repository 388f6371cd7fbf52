#!/bin/sh
# boot-wrapper.sh: the --environment_type=PROCESS command for the portable test. It runs the
# Go SDK's boot program ($BEAM_BOOT, built from github.com/apache/beam/sdks/v2/go/container),
# which fetches the staged worker binary from the job server and starts it as the SDK harness —
# the same path as a Flink/Spark worker with DOCKER or PROCESS environments.
#
# Why a wrapper: prism (v2.77.0) starts PROCESS workers without a shell and passes
# --id='ID' with the single quotes inside the argument; boot then asks for a worker id that
# includes the quotes and prism refuses it ("not registered in worker pool"). Strip them.
set -eu
: "${BEAM_BOOT:?set BEAM_BOOT to the Go SDK boot binary}"
n=$#
while [ "$n" -gt 0 ]; do
	a=$1
	shift
	case $a in
	--id=\'*\')
		a=${a#--id=\'}
		a="--id=${a%\'}"
		;;
	esac
	set -- "$@" "$a"
	n=$((n - 1))
done
exec "$BEAM_BOOT" "$@"
