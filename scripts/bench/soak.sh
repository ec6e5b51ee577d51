#!/usr/bin/env bash
# Memory soak (a benchmark, not a CI test): start `cirrus serve`, note its resident memory once it
# is warm, drive it with loadgen for DURATION seconds (default 600), let it go idle, and check that
# resident memory is back within TOLERANCE_MIB (default 16) of the warm baseline.
#   scripts/bench/soak.sh MODEL.gguf [DURATION] [TOLERANCE_MIB]
set -euo pipefail
BIN=${CIRRUS_BIN:-./build/cirrus}
model=${1:?usage: soak.sh MODEL.gguf [DURATION] [TOLERANCE_MIB]}
duration=${2:-600}; tol=${3:-16}
dir=$(mktemp -d); trap 'kill $spid 2>/dev/null; rm -rf "$dir"' EXIT
rss() { awk '/^VmRSS/ {print int($2/1024)}' /proc/$1/status; }
"$BIN" serve --model "m=$model" --port 0 --ready-file "$dir/port" --access-log off --slots 16 >"$dir/log" 2>&1 &
spid=$!
for _ in $(seq 1 600); do [ -s "$dir/port" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$dir/port")"
# warm-up: every code path and buffer the soak will use, then the baseline
"$BIN" loadgen --url "$url" --tenant a::8 --tenant b::4 --duration 20 --max-tokens 64 >/dev/null
sleep 2; base=$(rss $spid)
echo "baseline RSS after warm-up: ${base} MiB"
"$BIN" loadgen --url "$url" --tenant a::8 --tenant b::4 --tenant c::2 --duration "$duration" --max-tokens 128 --json \
  > "$dir/soak.json"
sleep 5; after=$(rss $spid)
echo "RSS after ${duration} s of load and 5 s idle: ${after} MiB (baseline ${base} MiB, tolerance ${tol} MiB)"
grep -o '"requests": *[0-9]*' "$dir/soak.json" | head -1 | sed 's/^/requests served: /'
[ $((after - base)) -le "$tol" ] && echo "soak: ok" || { echo "soak: FAIL, memory grew by $((after - base)) MiB"; exit 1; }
