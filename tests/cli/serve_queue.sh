#!/usr/bin/env bash
# #18 faults 4 and 5 (the API's part): a request whose client has gone while it is still queued is
# cancelled there -- its concurrency slot and budget reservation given back at once, not when it
# would have reached the engine -- and billed nothing; a request dropped from the queue at
# shutdown is billed nothing either: a prompt is billed once its prefill ran.
#
# One KV slot, held by a long stream (tiny-gpt2: ~2000 tokens take seconds), so everything after
# it waits in the queue. The plan allows 3 requests at once: the holder and two more.
source "$(dirname "$0")/serve_common.bash"
command -v jq >/dev/null || { echo "FAIL: jq is required"; exit 1; }
GPT2="$CIRRUS_SHARED/models/tiny-gpt2-f32.gguf"
DB="$TMP/q.db"
cp_cli() { "$CIRRUS_BIN" "$@" --db "$DB" >>"$TMP/seed.log" 2>&1 || { echo "FAIL: cirrus $*"; cat "$TMP/seed.log"; exit 1; }; }
cp_cli tenant create acme
cp_cli price set --model g --input 1 --cached-input 0.5 --output 2 --from 2020-01-01
cp_cli plan set --tenant acme --max-concurrent 3 --from 2020-01-01
KEY=$("$CIRRUS_BIN" key create --tenant acme --db "$DB" | tail -n 1)
AUTH=(-H "Authorization: Bearer $KEY" -H 'Content-Type: application/json')
ERR="$TMP/server.err"
LOG="$TMP/access.log"

queue_server() {
    rm -f "$TMP/port"
    "$CIRRUS_BIN" serve --db "$DB" --model "g=$GPT2" --port 0 --ready-file "$TMP/port" --ctx 2048 --slots 1 --threads 1 \
        --access-log "$LOG" --shutdown-deadline 1 >>"$ERR" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 400); do [ -s "$TMP/port" ] && break; sleep 0.05; done
    [ -s "$TMP/port" ] || { echo "FAIL: server did not start"; cat "$ERR"; exit 1; }
    BASE="http://127.0.0.1:$(cat "$TMP/port")"
}
# The slot holder: ~2000 tokens that cannot end early (end-of-text banned).
LONG='{"model":"g","prompt":"Once","max_tokens":2000,"temperature":1,"stream":true,"logit_bias":{"50256":-100}}'
SHORT='{"model":"g","prompt":"Once upon a time","max_tokens":4}'
SHORT_STREAM='{"model":"g","prompt":"Once upon a time","max_tokens":4,"stream":true}'
hold_slot() { # hold_slot NAME: starts the long stream, returns once its tokens flow
    curl -sN -X POST "$BASE/v1/completions" "${AUTH[@]}" -d "$LONG" >"$TMP/$1.out" &
    HOLDER=$!
    for _ in $(seq 1 200); do grep -q '"text"' "$TMP/$1.out" 2>/dev/null && return 0; sleep 0.05; done
    fail "the slot holder never streamed"
}
# log_of ID-PREFIX-FREE: the access log line of the request whose body or events carried this id
line_where() { grep -F "$1" "$LOG" | tail -n 1; }
wait_lines() { # wait_lines N MAX_S: until the access log has N lines
    for _ in $(seq 1 $(($2 * 20))); do [ "$(wc -l <"$LOG")" -ge "$1" ] && return 0; sleep 0.05; done
    return 1
}

queue_server
hold_slot a
n0=$(wc -l <"$LOG")
t0=$(date +%s%N)
# B (whole reply) and C (stream) wait in the queue behind the holder; their clients give up
curl -s -o /dev/null --max-time 0.4 -X POST "$BASE/v1/completions" "${AUTH[@]}" -d "$SHORT"
curl -sN -o /dev/null --max-time 0.4 -X POST "$BASE/v1/completions" "${AUTH[@]}" -d "$SHORT_STREAM"
check "both abandoned requests leave the queue while the slot is still held" wait_lines $((n0 + 2)) 2
gone_ms=$((($(date +%s%N) - t0) / 1000000))
check "... within about a second of their clients leaving (${gone_ms} ms after the first)" [ "$gone_ms" -lt 2500 ]
tail -n +$((n0 + 1)) "$LOG" >"$TMP/abandoned"
check "... logged as client_gone" [ "$(grep -c '"outcome":"client_gone"' "$TMP/abandoned")" = 2 ]
check "... with no tokens processed" [ "$(grep -c '"prompt_tokens":0,"cached_tokens":0,"completion_tokens":0' "$TMP/abandoned")" = 2 ]
# both their concurrency slots are free again: two more requests are admitted (and queued), not
# refused -- holder + 2 is the plan's 3
dpids=()
for d in 1 2; do
    curl -s -o /dev/null -w '%{http_code}' --max-time 1 -X POST "$BASE/v1/completions" "${AUTH[@]}" -d "$SHORT" >"$TMP/d$d.code" &
    dpids+=($!)
done
wait "${dpids[@]}"
codes="$(cat "$TMP/d1.code") $(cat "$TMP/d2.code")" # 000: admitted, still queued when the client left
check "the plan's concurrency was given back: both admitted, none 429 ($codes)" [ "$codes" = "000 000" ]
check "the holder was still running throughout" kill -0 "$HOLDER"
kill "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null
idle=0 # the holder and the two (gone from the queue, or admitted as the holder left) end
for _ in $(seq 1 200); do
    curl -s "$BASE/metrics" | grep -q '^cirrus_requests_in_flight 0$' && { idle=1; break; }
    sleep 0.05
done
check "nothing left in flight" [ "$idle" = 1 ]

# shutdown: E waits in the queue (its client stays), the holder runs; SIGTERM with a 1 s deadline
# drops E from the queue and cuts the holder
post /v1/completions "$SHORT" "${AUTH[@]}" # the engine is free again: a normal request
check "served after the holder left ($CODE)" [ "$CODE" = 200 ]
hold_slot a2
curl -s -o "$TMP/e.out" -D "$TMP/e.h" --max-time 10 -X POST "$BASE/v1/completions" "${AUTH[@]}" -d "$SHORT" &
epid=$!
sleep 0.3
kill -TERM "$SERVER_PID"
wait "$epid"
wait "$SERVER_PID"
SERVER_PID=""
kill "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null
eid=$(sed -n 's/^[Xx]-[Rr]equest-[Ii]d: \([^[:space:]]*\).*/\1/p' "$TMP/e.h")
check "the queued request was answered at shutdown ($(head -c 80 "$TMP/e.out"))" grep -q '"error"' "$TMP/e.out"

usage=$("$CIRRUS_BIN" usage --db "$DB" --tenant acme --json)
zero() { # zero REQUEST_ID: one settled record, no tokens, no cost
    printf '%s' "$usage" | jq -e --arg id "$1" \
        '[.records[] | select(.request_id == $id)] | length == 1 and .[0].state == "settled" and .[0].prompt_tokens == 0
         and .[0].completion_tokens == 0 and .[0].cost_micros == 0' >/dev/null
}
for id in $(jq -r 'select(.outcome == "client_gone" and .path == "/v1/completions" and .completion_tokens == 0) | .id' "$LOG"); do
    check "abandoned while queued, billed nothing: $id" zero "$id"
done
check "dropped from the queue at shutdown, billed nothing: ${eid:-?}" zero "$eid"
held=$(printf '%s' "$usage" | jq '[.records[] | select(.prompt_tokens > 0 and .completion_tokens > 4)] | length')
check "the cut holders were billed their prompt and what they were sent ($held records)" [ "$held" = 2 ]
finish
