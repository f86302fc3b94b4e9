#!/usr/bin/env bash
# Benchmark `opsctl dlq redrive`: move N messages (default 100,000) from a DLQ
# back to its source three ways in one run and print messages/s and ratios:
#   naive loop (receive 10, send each, delete each)  - fauxqs
#   opsctl client path                               - fauxqs
#   opsctl native move task                          - local-aws-sqs (fauxqs has none)
#
#   bench/redrive.sh                 # 100k messages
#   N=20000 bench/redrive.sh         # smaller run
#   NATIVE=0 bench/redrive.sh        # skip the native run
#   NAIVE=0 bench/redrive.sh         # skip the naive loop (no ratios; for quick iterations)
#   NATIVE_N=20000 CONCURRENCY=16 bench/redrive.sh
#
# It builds opsctl and the local endpoint, starts the endpoint(s) on loopback,
# and stops them on exit. Needs `make emulators`.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-100000}
NATIVE=${NATIVE:-1}
NATIVE_N=${NATIVE_N:-$N}
CONCURRENCY=${CONCURRENCY:-16}
PORT=${PORT:-4577}
NATIVE_PORT=${NATIVE_PORT:-4578}

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

echo "building opsctl and the local endpoint..." >&2
go build -o "$tmp/opsctl" ./cmd/opsctl
go build -o "$tmp/localaws" ./internal/localaws/cmd/localaws
go build -o "$tmp/bench" ./bench/redrive

wait_up() {
	for _ in $(seq 1 300); do
		curl -fsS "http://127.0.0.1:$1/_localaws/health" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "endpoint on port $1 did not start" >&2
	return 1
}

"$tmp/localaws" -addr "127.0.0.1:$PORT" -emulators sqs -sqs-backend fauxqs >"$tmp/fauxqs.log" 2>&1 &
pids+=($!)
args=(-endpoint "http://127.0.0.1:$PORT" -opsctl "$tmp/opsctl" -n "$N" -concurrency "$CONCURRENCY")
[ "${NAIVE:-1}" = 0 ] && args+=(-skip-naive)
if [ "$NATIVE" = 1 ]; then
	"$tmp/localaws" -addr "127.0.0.1:$NATIVE_PORT" -emulators sqs -sqs-backend local-aws-sqs >"$tmp/las.log" 2>&1 &
	pids+=($!)
	args+=(-native-endpoint "http://127.0.0.1:$NATIVE_PORT" -native-n "$NATIVE_N")
fi
wait_up "$PORT"
[ "$NATIVE" = 1 ] && wait_up "$NATIVE_PORT"

echo "$(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$tmp/bench" "${args[@]}"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
