#!/usr/bin/env bash
# Crash consistency end to end: a loadgen run is killed together with the server by SIGKILL at a
# random point, ten times. After a restart (which settles every open record from what was sent),
# the ledger holds exactly one record for every request loadgen saw complete, with the same token
# counts, and no record is left open.
set -uo pipefail
BIN=${CIRRUS_BIN:?}; SHARED=${CIRRUS_SHARED:?}
dir=$(mktemp -d); db="$dir/c.db"
spid=; lpid=
cleanup() { kill -9 $spid $lpid 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
model="$SHARED/models/stories260K.gguf"
"$BIN" tenant create acme --db "$db" >/dev/null || exit 1
"$BIN" price set --db "$db" --model m --input 0.5 --cached-input 0.25 --output 1.5 --from 2020-01-01 >/dev/null || exit 1
key=$("$BIN" key create --db "$db" --tenant acme | tail -1)

start_server() {
  rm -f "$dir/port"
  "$BIN" serve --db "$db" --model "m=$model" --port 0 --ready-file "$dir/port" --access-log off --slots 8 \
    >>"$dir/server.log" 2>&1 &
  spid=$!
  for _ in $(seq 1 300); do [ -s "$dir/port" ] && return 0; sleep 0.05; done
  echo "FAIL server did not start"; cat "$dir/server.log"; exit 1
}

for round in $(seq 1 10); do
  start_server
  port=$(cat "$dir/port")
  "$BIN" loadgen --url "http://127.0.0.1:$port" --tenant "acme:$key:6" --duration 30 --max-tokens 40 \
    --out "$dir/lg.$round.jsonl" >/dev/null 2>&1 &
  lpid=$!
  # kill at a random point after the first request completed (a sanitizer build is slow to start)
  for _ in $(seq 1 400); do [ -s "$dir/lg.$round.jsonl" ] && break; sleep 0.05; done
  sleep "0.$((RANDOM % 9 + 1))"
  kill -9 $spid $lpid 2>/dev/null; wait $spid $lpid 2>/dev/null
done
# a restart recovers every record left open, then a clean stop
start_server
kill -TERM $spid; wait $spid

usage=$("$BIN" usage --db "$db" --tenant acme --json)
fail=0; checked=0
open=$(echo "$usage" | grep -o '"open": *[0-9]*' | head -1 | grep -o '[0-9]*$')
[ "$open" = 0 ] || { echo "FAIL $open records still open after recovery"; fail=1; }
cat "$dir"/lg.*.jsonl 2>/dev/null | grep '"status":200' | grep '}}$' > "$dir/completed"
while IFS= read -r line; do
  id=$(echo "$line" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
  p=$(echo "$line" | sed -n 's/.*"prompt_tokens":\([0-9]*\).*/\1/p')
  c=$(echo "$line" | sed -n 's/.*"completion_tokens":\([0-9]*\).*/\1/p')
  k=$(echo "$line" | sed -n 's/.*"cached_tokens":\([0-9]*\).*/\1/p')
  recs=$(echo "$usage" | grep -c "\"request_id\":\"$id\"")
  if [ "$recs" != 1 ]; then echo "FAIL $id: $recs records (want exactly 1)"; fail=1; continue; fi
  rec=$(echo "$usage" | grep "\"request_id\":\"$id\"")
  echo "$rec" | grep -q "\"prompt_tokens\":$p," && echo "$rec" | grep -q "\"completion_tokens\":$c," \
    && echo "$rec" | grep -q "\"cached_tokens\":$k," && echo "$rec" | grep -q '"state":"settled"' \
    || { echo "FAIL $id: loadgen saw p=$p c=$c cached=$k, ledger: $rec"; fail=1; }
  checked=$((checked + 1))
done < "$dir/completed"
total=$(echo "$usage" | grep -c '"request_id"')
echo "crash_ledger: 10 kills, $checked completed requests checked against $total ledger records"
[ $checked -gt 0 ] || { echo "FAIL no request completed before the kills"; fail=1; }
exit $fail
