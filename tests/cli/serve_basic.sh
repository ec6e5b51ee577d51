#!/usr/bin/env bash
# cirrus serve, open mode: /health, /v1/models, chat and completions (streamed and not), n,
# logprobs, stop, seeded determinism, usage, /metrics, the access log, and a clean SIGTERM.
source "$(dirname "$0")/serve_common.bash"
start_server --log-prompts --metrics-listen 127.0.0.1:0
check "open mode warns" grep -q "open mode" "$ERR"
MPORT=$(sed -n 's/.*metrics listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$ERR" | head -n 1)
check "the private metrics listener is up (${MPORT:-none})" [ -n "$MPORT" ]

# models
out=$(curl -s "$BASE/v1/models")
check "models list" has "$out" '{"object":"list","data":[{"id":"stories","object":"model","created":'
out=$(curl -s "$BASE/v1/models/stories")
check "models/stories" has "$out" '"id":"stories","object":"model"'

# chat, not streamed
post /v1/chat/completions '{"model":"stories","messages":[{"role":"system","content":"Tell a story."},{"role":"user","content":"Once upon a time"}],"max_tokens":12,"temperature":0}'
out=$OUT
check "chat: 200" [ "$CODE" = 200 ]
check "chat: object" has "$out" '"object":"chat.completion"'
check "chat: id" has "$out" '"id":"chatcmpl-'
check "chat: message" has "$out" '"message":{"role":"assistant","content":"'
check "chat: finish length" has "$out" '"finish_reason":"length"'
check "chat: usage" has "$out" '"completion_tokens":12,'
check "chat: cached_tokens" has "$out" '"prompt_tokens_details":{"cached_tokens":'
check "chat: logprobs null" has "$out" '"logprobs":null'

# chat, streamed with usage
curl -sN -X POST "$BASE/v1/chat/completions" -H 'Content-Type: application/json' \
    -d '{"model":"stories","messages":[{"role":"user","content":"Once upon a time"}],"max_tokens":8,"stream":true,"stream_options":{"include_usage":true}}' \
    -D "$TMP/headers" >"$TMP/sse"
check "stream: content-type" grep -qi '^content-type: text/event-stream' "$TMP/headers"
check "stream: first chunk has the role" grep -q '^data: {"id":"chatcmpl-.*"object":"chat.completion.chunk".*"delta":{"role":"assistant","content":""}' "$TMP/sse"
check "stream: content deltas" grep -q '"delta":{"content":"' "$TMP/sse"
check "stream: finish chunk" grep -q '"delta":{},"logprobs":null,"finish_reason":"length"' "$TMP/sse"
check "stream: usage chunk" grep -q '"choices":\[\],"usage":{"prompt_tokens":[0-9]*,"completion_tokens":8,' "$TMP/sse"
check "stream: ends with [DONE]" [ "$(grep -v '^$' "$TMP/sse" | tail -n 1)" = "data: [DONE]" ]
check "stream: events separated by blank lines" [ "$(grep -c '^data: ' "$TMP/sse")" = "$(grep -c '^$' "$TMP/sse")" ]
check "stream: one id" [ "$(grep -o '"id":"chatcmpl-[A-Za-z0-9]*"' "$TMP/sse" | sort -u | wc -l)" = 1 ]

# completions
post /v1/completions '{"model":"stories","prompt":"Once upon a time","max_tokens":6,"temperature":0}'
out=$OUT
check "completions: 200" [ "$CODE" = 200 ]
check "completions: object" has "$out" '"object":"text_completion"'
check "completions: text" has "$out" '"choices":[{"index":0,"text":"'
check "completions: usage" has "$out" '"completion_tokens":6,'
# the default is sampled (temperature 1, no seed): bar end-of-sequence (stories260K's id 2), or
# ~3% of runs end before the default length
post /v1/completions '{"model":"stories","prompt":"Once upon a time","logit_bias":{"2":-100}}'
out=$OUT
check "completions: max_tokens defaults to 16" has "$out" '"completion_tokens":16,'
curl -sN -X POST "$BASE/v1/completions" -d '{"model":"stories","prompt":"Once","max_tokens":4,"stream":true}' >"$TMP/sse2"
check "completions stream" grep -q '^data: {"id":"cmpl-.*"object":"text_completion".*"text":"' "$TMP/sse2"
check "completions stream: [DONE]" [ "$(grep -v '^$' "$TMP/sse2" | tail -n 1)" = "data: [DONE]" ]

# n, logprobs, seed, stop
post /v1/chat/completions '{"model":"stories","messages":[{"role":"user","content":"Hi"}],"max_tokens":5,"n":3,"seed":7}'
out=$OUT
check "n=3: three choices" [ "$(printf '%s' "$out" | grep -o '"index":[0-9]' | sort -u | wc -l)" = 3 ]
check "n=3: tokens of all choices" has "$out" '"completion_tokens":15,'
post /v1/chat/completions '{"model":"stories","messages":[{"role":"user","content":"Hi"}],"max_tokens":3,"logprobs":true,"top_logprobs":2}'
out=$OUT
check "logprobs: content array" has "$out" '"logprobs":{"content":[{"token":"'
check "logprobs: top_logprobs" has "$out" '"top_logprobs":[{"token":"'
check "logprobs: bytes" has "$out" '"bytes":['
post /v1/completions '{"model":"stories","prompt":"Hi","max_tokens":3,"logprobs":2}'
out=$OUT
check "legacy logprobs" has "$out" '"logprobs":{"tokens":["'
post /v1/chat/completions '{"model":"stories","messages":[{"role":"user","content":"Hi"}],"max_tokens":10,"seed":42,"temperature":1}'
a=$(printf '%s' "$OUT" | sed 's/.*"content":"\([^"]*\)".*/\1/')
post /v1/chat/completions '{"model":"stories","messages":[{"role":"user","content":"Hi"}],"max_tokens":10,"seed":42,"temperature":1}'
b=$(printf '%s' "$OUT" | sed 's/.*"content":"\([^"]*\)".*/\1/')
check "seed: same output" [ "$a" = "$b" ]
post /v1/completions '{"model":"stories","prompt":"Once upon a time","max_tokens":10,"temperature":0}'
greedy=$(printf '%s' "$OUT" | sed 's/.*"text":"\([^"]*\)".*/\1/')
stop=$(printf '%s' "$greedy" | cut -c 4-6)
if [ -n "$stop" ]; then
    post /v1/completions "{\"model\":\"stories\",\"prompt\":\"Once upon a time\",\"max_tokens\":10,\"temperature\":0,\"stop\":[\"$stop\"]}"
out=$OUT
    check "stop: finish_reason stop" has "$out" '"finish_reason":"stop"'
    check "stop: stop string not in text" sh -c "! printf '%s' '$(printf '%s' "$out" | sed 's/.*"text":"\([^"]*\)".*/\1/')' | grep -qF -- '$stop'"
fi

# metrics
m=$(curl -s "$BASE/metrics")
check "metrics: requests by status" has "$m" 'cirrus_requests_total{endpoint="chat_completions",status="200"}'
check "metrics: ttft histogram" has "$m" 'cirrus_time_to_first_token_seconds_bucket{le="+Inf"}'
check "metrics: itl histogram" has "$m" 'cirrus_inter_token_latency_seconds_count'
check "metrics: queue depth" has "$m" 'cirrus_queue_depth{model="stories"} 0'
check "metrics: kv use" has "$m" 'cirrus_kv_cache_total_bytes{model="stories"}'
check "metrics: no tenant series on the public port" sh -c "! printf '%s' '$m' | grep -q 'tenant='"
m=$(curl -s "http://127.0.0.1:$MPORT/metrics")
check "metrics: tenant tokens on the private listener" has "$m" 'cirrus_tenant_completion_tokens_total{tenant="default"}'
check "metrics: ... with the aggregate series too" has "$m" 'cirrus_queue_depth{model="stories"} 0'
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/v1/models")
check "metrics listener serves nothing else ($code)" [ "$code" = 404 ]

# access log: one JSON line per request, with usage; prompts only because of --log-prompts
check "access log: chat line" grep -q '"path":"/v1/chat/completions","status":200,"tenant":"default","model":"stories".*"completion_tokens":12,.*"ttft_ms":' "$LOG"
check "access log: prompt logged with --log-prompts" grep -q '"prompt":".*Once upon a time' "$LOG"

stop_server

# without --log-prompts: no prompt text in the log
start_server
post /v1/chat/completions '{"model":"stories","messages":[{"role":"user","content":"SECRET-PROMPT-TEXT"}],"max_tokens":2}'
check "access log: no prompt text" sh -c "! grep -q SECRET-PROMPT-TEXT '$LOG'"
check "access log: line written" grep -q '"status":200' "$LOG"
stop_server
finish
