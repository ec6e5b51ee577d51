#!/usr/bin/env bash
# Serving throughput (a benchmark, not a CI test; issue #4's figure): `cirrus serve` with two
# engine threads and 16 slots, then `cirrus loadgen` with 16 streaming clients of one tenant for
# DURATION seconds (default 120), 128 tokens per request. Prints loadgen's JSON report: aggregate
# generated tok/s, TTFT and inter-token p50/p90/p99, errors by status.
#   scripts/bench/serve16.sh MODEL.gguf [DURATION] [STREAMS]
set -euo pipefail
BIN=${CIRRUS_BIN:-./build/cirrus}
model=${1:?usage: serve16.sh MODEL.gguf [DURATION] [STREAMS]}
duration=${2:-120}; streams=${3:-16}
dir=$(mktemp -d); trap 'kill $spid 2>/dev/null; rm -rf "$dir"' EXIT
"$BIN" serve --model "m=$model" --threads 2 --slots "$streams" --ctx 512 --batch 256 --port 0 \
  --ready-file "$dir/port" --access-log off --no-risk >"$dir/log" 2>&1 &
spid=$!
for _ in $(seq 1 600); do [ -s "$dir/port" ] && break; sleep 0.1; done
[ -s "$dir/port" ] || { cat "$dir/log"; echo "serve16: the server did not start"; exit 1; }
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start" >&2
"$BIN" loadgen --url "http://127.0.0.1:$(cat "$dir/port")" --tenant "bench::$streams" --duration "$duration" \
  --max-tokens 128 --json
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at end" >&2
