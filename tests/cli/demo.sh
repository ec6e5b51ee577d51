#!/usr/bin/env bash
# cirrus demo from nothing: seeds the market, serves, drives live traffic, prints the concentration
# report with the video platform flagged as a major customer and HHI classified, and the console
# answers at the printed URL while it keeps serving. A second run reuses the folder.
set -uo pipefail
BIN=${CIRRUS_BIN:?}
dir=$(mktemp -d); out="$dir/demo.out"
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
fail=0
"$BIN" demo --dir "$dir/d" --port 0 --duration 4 >"$out" 2>"$dir/demo.err" &
pid=$!
for _ in $(seq 1 600); do grep -q "serving until interrupted" "$out" && break; kill -0 $pid 2>/dev/null || break; sleep 0.2; done
grep -q "serving until interrupted" "$out" || { echo "FAIL demo did not reach serving"; cat "$out" "$dir/demo.err"; exit 1; }
grep -Eq "major customers \(>= 10% of revenue\):.*clipstream" "$out" || { echo "FAIL video platform not a major customer"; fail=1; }
grep -Eq "^HHI [0-9.]+ \((un|moderately |highly )concentrated\)" "$out" || { echo "FAIL HHI not classified"; fail=1; }
url=$(sed -n 's/^== console: \(http[^ ]*\)$/\1/p' "$out")
key=$(sed -n 's/^   sign in with the admin key: \(sk-cirrus-[A-Za-z0-9_-]*\)$/\1/p' "$out")
[ -n "$url" ] && [ -n "$key" ] || { echo "FAIL no console URL or key printed"; fail=1; }
# 200 with the built console; 503 "console not built" where the build had no Node.js
code=$(curl -sL -o /dev/null -w '%{http_code}' "$url")
case "$code" in 200|503) ;; *) echo "FAIL console answered $code"; fail=1 ;; esac
base=${url%/console}
# live traffic went through the control plane: the usage is in the ledger, not simulated
usage=$("$BIN" usage --db "$dir/d/cirrus.db" --tenant clipstream --json 2>/dev/null)
live=$(echo "$usage" | grep -o '"requests":[0-9]*' | head -1)
[ -n "$live" ] || { echo "FAIL no usage for clipstream"; fail=1; }
# admin key works on the admin API, no key is 401
c1=$(curl -s -o /dev/null -w '%{http_code}' "$base/v1/admin/tenants")
[ "$c1" = 401 ] || { echo "FAIL admin API without key: $c1"; fail=1; }
kill -INT $pid; wait $pid; rc=$?
[ $rc -eq 0 ] || { echo "FAIL demo exit code $rc after SIGINT"; fail=1; }
# second run: reuses the seeded folder
"$BIN" demo --dir "$dir/d" --port 0 --duration 0 --exit >"$out" 2>&1 || { echo "FAIL second run"; cat "$out"; fail=1; }
grep -q "already seeded" "$out" || { echo "FAIL second run re-seeded"; fail=1; }
# the report works on the demo's database afterwards
rep=$("$BIN" report concentration --db "$dir/d/cirrus.db" --json)
echo "$rep" | grep -q '"hhi_band"' || { echo "FAIL report on demo db"; fail=1; }
[ $fail -eq 0 ] && echo "demo.sh: ok"
exit $fail
