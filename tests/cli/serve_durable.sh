#!/usr/bin/env bash
# #18 fault 2: a reply is sent only after its usage record is durable, and no HTTP thread waits on
# the disk meanwhile. The server runs with one HTTP thread over a disk made slow, then failing, by
# an LD_PRELOAD shim (tests/tools/fsync_shim.c; CIRRUS_FSYNC_SHIM names the library):
#   slow:    a whole reply waits for its record; a stream on the same thread flows meanwhile, and
#            its finish_reason comes only after its own record is durable;
#   failing: a whole reply becomes a 503 and a stream an error event without [DONE], since their
#            records cannot be made durable; when the disk comes back the server serves again;
#   slower than the deadline: the reply is refused, then a SIGKILL at once.
# After each SIGKILL and a restart, every reply a client saw complete has its record, settled,
# with the tokens the client was told (today's main told "200" and lost the last one).
source "$(dirname "$0")/serve_common.bash"
: "${CIRRUS_FSYNC_SHIM:?CIRRUS_FSYNC_SHIM must point at libcirrus_fsync_shim.so}"
DB="$TMP/d.db"
CTL="$TMP/fsync.ctl"
: >"$CTL"
cp_cli() { "$CIRRUS_BIN" "$@" --db "$DB" >>"$TMP/seed.log" 2>&1 || { echo "FAIL: cirrus $*"; cat "$TMP/seed.log"; exit 1; }; }
cp_cli tenant create acme
cp_cli price set --model stories --input 1 --cached-input 0.5 --output 2 --from 2020-01-01
KEY=$("$CIRRUS_BIN" key create --tenant acme --db "$DB" | tail -n 1)
AUTH=(-H "Authorization: Bearer $KEY")
ERR="$TMP/server.err"
LOG="$TMP/access.log"

# durable_server TIMEOUT_S SHIM(0|1): cirrus serve on the db, one HTTP thread, the shim preloaded
durable_server() {
    rm -f "$TMP/port"
    local pre=()
    [ "$2" = 1 ] && pre=(LD_PRELOAD="$CIRRUS_FSYNC_SHIM")
    env "${pre[@]}" CIRRUS_FSYNC_CTL="$CTL" ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
        "$CIRRUS_BIN" serve --db "$DB" --model "stories=$MODEL" --port 0 --ready-file "$TMP/port" --ctx 512 --slots 4 \
        --threads 1 --http-threads 1 --durable-timeout "$1" --access-log "$LOG" >>"$ERR" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 400); do [ -s "$TMP/port" ] && break; sleep 0.05; done
    [ -s "$TMP/port" ] || { echo "FAIL: server did not start"; cat "$ERR"; exit 1; }
    BASE="http://127.0.0.1:$(cat "$TMP/port")"
}
crash() { kill -9 "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# stream_lines FILE BODY: a streamed chat, every line stamped with the ms it arrived
stream_lines() {
    curl -sN --max-time 30 -X POST "$BASE/v1/chat/completions" "${AUTH[@]}" -H 'Content-Type: application/json' -d "$2" |
        while IFS= read -r line; do [ -n "$line" ] && printf '%s %s\n' "$(now_ms)" "$line"; done >"$1"
}
# seen_complete ID PROMPT COMPLETION: remembered, to be checked against the ledger after crashes
: >"$TMP/complete"
seen_complete() { echo "$1 $2 $3" >>"$TMP/complete"; }
seen_reply() { # seen_reply JSON: a body or usage chunk the client was given as complete
    seen_complete "$(printf '%s' "$1" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')" "$(field "$1" prompt_tokens)" "$(field "$1" completion_tokens)"
}
lt() { [ -n "$1" ] && [ "$1" -lt "$2" ]; }
ge() { [ -n "$1" ] && [ "$1" -ge "$2" ]; }
field() { printf '%s' "$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" | head -n 1; }

WHOLE='{"model":"stories","messages":[{"role":"user","content":"Once"}],"max_tokens":8,"temperature":0}'
STREAM='{"model":"stories","messages":[{"role":"user","content":"Once"}],"max_tokens":40,"temperature":1,"stream":true,"stream_options":{"include_usage":true},"logit_bias":{"2":-100}}'

# ---- a slow disk: every fsync takes 2.5 s --------------------------------------------------------
durable_server 20 1
post /v1/chat/completions "$WHOLE" "${AUTH[@]}"
check "warm-up reply ($CODE)" [ "$CODE" = 200 ]
seen_reply "$OUT"
echo "delay 2500" >"$CTL"
t0=$(now_ms)
curl -s -o "$TMP/b.body" -w '%{http_code} %{time_total}' -X POST "$BASE/v1/chat/completions" "${AUTH[@]}" \
    -H 'Content-Type: application/json' -d "$WHOLE" >"$TMP/b.code" &
bpid=$!
sleep 0.3 # B has its tokens by now and waits for its record
ts=$(now_ms)
stream_lines "$TMP/c.lines" "$STREAM"
wait "$bpid"
read -r bcode btime <"$TMP/b.code"
B=$(cat "$TMP/b.body")
check "slow disk: the whole reply succeeds ($bcode)" [ "$bcode" = 200 ]
bms=$(awk -v t="$btime" 'BEGIN { printf "%d", t * 1000 }')
check "slow disk: the whole reply waited for its record (${bms} ms)" ge "$bms" 1500
first=$(grep -m1 '"content":"[^"]' "$TMP/c.lines" | cut -d' ' -f1)
last=$(grep '"content":"[^"]' "$TMP/c.lines" | tail -n 1 | cut -d' ' -f1)
fin=$(grep -m1 '"finish_reason":"' "$TMP/c.lines" | cut -d' ' -f1)
check "slow disk: the stream on the same HTTP thread flowed at once ($((${first:-0} - ts)) ms to its first token)" \
    lt "$((${first:-99999999999999} - ts))" 1200
check "slow disk: all its tokens flowed before the first record was durable ($((${last:-0} - ts)) ms)" \
    lt "$((${last:-99999999999999} - ts))" 2000
check "slow disk: finish_reason only after its record was durable ($((${fin:-0} - ${last:-0})) ms after the last token)" \
    ge "$((${fin:-0} - ${last:-0}))" 800
check "slow disk: the stream ends with usage and [DONE]" sh -c "tail -n 2 '$TMP/c.lines' | grep -q '\"usage\":{' && tail -n 1 '$TMP/c.lines' | grep -q '\\[DONE\\]'"
seen_reply "$B"
cu=$(grep '"usage":{' "$TMP/c.lines" | tail -n 1)
seen_reply "$cu"
crash # right after the clients saw both complete

# ---- a failing disk: every fsync fails ----------------------------------------------------------------
: >"$CTL"
durable_server 2 1
post /v1/chat/completions "$WHOLE" "${AUTH[@]}"
check "restarted: serving ($CODE)" [ "$CODE" = 200 ]
seen_reply "$OUT"
echo fail >"$CTL"
post /v1/chat/completions "$WHOLE" "${AUTH[@]}" --max-time 20
check "failing disk: no success for an unrecorded reply ($CODE)" [ "$CODE" = 503 ]
# whatever a client is told succeeded must survive the crash below
[ "$CODE" = 200 ] && seen_reply "$OUT"
check "failing disk: the error says why" has "$OUT" '"code":"usage_not_recorded"'
stream_lines "$TMP/e.lines" "$STREAM"
check "failing disk: the stream ends in an error event" grep -q '"code":"usage_not_recorded"' "$TMP/e.lines"
check "failing disk: ... and no [DONE]" sh -c "! grep -q '\\[DONE\\]' '$TMP/e.lines'"
check "failing disk: ... and no finish_reason" sh -c "! grep -q '\"finish_reason\":\"' '$TMP/e.lines'"
if grep -q '\[DONE\]' "$TMP/e.lines"; then
    eu=$(grep '"usage":{' "$TMP/e.lines" | tail -n 1)
    seen_reply "$eu"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE/health")
check "failing disk: /health still answers ($code)" [ "$code" = 200 ]
: >"$CTL" # the disk comes back: the ledger's retries land, and replies succeed again
post /v1/chat/completions "$WHOLE" "${AUTH[@]}" --max-time 20
check "disk back: the server serves again ($CODE)" [ "$CODE" = 200 ]
seen_reply "$OUT"
# Slower than the deadline (6 s per fsync, 2 s to wait): the reply is refused, and the SIGKILL that
# follows at once finds its settle still queued in memory -- the record a client told "200" would
# have lost. (A failed fsync leaves SQLite's written pages in the page cache, which a SIGKILL does
# not lose; a queued write is what it loses.)
echo "delay 6000" >"$CTL"
post /v1/chat/completions "$WHOLE" "${AUTH[@]}" --max-time 20
check "disk slower than the deadline: no success ($CODE)" [ "$CODE" = 503 ]
[ "$CODE" = 200 ] && seen_reply "$OUT"
crash

# ---- after the crashes: every reply a client saw complete is in the ledger, exactly ----------------
: >"$CTL"
durable_server 2 0
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
SERVER_PID=""
usage=$("$CIRRUS_BIN" usage --db "$DB" --tenant acme --json)
n=0
while read -r id p c; do
    n=$((n + 1))
    rec=$(printf '%s\n' "$usage" | grep "\"request_id\":\"$id\"")
    check "ledger: $id (seen complete) has one record" [ "$(printf '%s\n' "$rec" | grep -c .)" = 1 ]
    check "ledger: $id settled with p=$p c=$c" sh -c "printf '%s' '$rec' | grep -q '\"prompt_tokens\":$p,' &&
        printf '%s' '$rec' | grep -q '\"completion_tokens\":$c,' && printf '%s' '$rec' | grep -q '\"state\":\"settled\"'"
done <"$TMP/complete"
check "the five replies that succeeded were checked ($n)" [ "$n" -ge 5 ]
if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$ERR"; then fail "sanitizer report in server stderr"; fi
finish
