#!/usr/bin/env bash
# cirrus serve with tenants and keys: 401/403/404/405/400/413/429 in OpenAI's error format,
# tenants taken from the key, and per-tenant token counters.
source "$(dirname "$0")/serve_common.bash"
cat >"$TMP/config.json" <<'JSON'
{"tenants":[
  {"name":"acme","weight":2,"keys":["sk-acme-0123456789abcdef"]},
  {"name":"small","max_concurrent":1,"keys":["sk-small-0123456789abcdef"]},
  {"name":"other","models":["not-stories"],"keys":["sk-other-0123456789abcdef"]}
]}
JSON
start_server --config "$TMP/config.json" --max-body 4096 --metrics-listen 127.0.0.1:0
MPORT=$(sed -n 's/.*metrics listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$ERR" | head -n 1)
ACME=(-H "Authorization: Bearer sk-acme-0123456789abcdef")
CHAT='{"model":"stories","messages":[{"role":"user","content":"Once"}],"max_tokens":4}'
is_error() { # is_error STATUS CODE-OR-null
    [ "$CODE" = "$1" ] && has "$OUT" '{"error":{"message":"' && has "$OUT" "\"code\":$2}}"
}

check "keys loaded" grep -q "3 API keys loaded" "$ERR"
post /v1/chat/completions "$CHAT"
check "401 without a key" is_error 401 null
post /v1/chat/completions "$CHAT" -H "Authorization: Bearer sk-nope-0123456789abcdef"
check "401 wrong key" is_error 401 '"invalid_api_key"'
check "401 does not echo the key" sh -c "! printf '%s' '$OUT' | grep -q sk-nope"
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/v1/models")
check "401 on /v1/models" [ "$code" = 401 ]
post /v1/chat/completions "$CHAT" "${ACME[@]}"
check "200 with a key" [ "$CODE" = 200 ]
post /v1/chat/completions "$CHAT" -H "Authorization: Bearer sk-other-0123456789abcdef"
check "403 model not permitted" is_error 403 '"model_not_permitted"'
out=$(curl -s "$BASE/v1/models" -H "Authorization: Bearer sk-other-0123456789abcdef")
check "models list hides forbidden models" [ "$out" = '{"object":"list","data":[]}' ]
post /v1/chat/completions '{"model":"gpt-5","messages":[{"role":"user","content":"x"}]}' "${ACME[@]}"
check "404 unknown model" is_error 404 '"model_not_found"'
check "404 names the param" has "$OUT" '"param":"model"'
post /v1/embeddings '{}' "${ACME[@]}"
check "404 unknown route" is_error 404 null
code=$(curl -s -o "$TMP/b" -w '%{http_code}' -D "$TMP/h" "$BASE/v1/chat/completions" "${ACME[@]}")
check "405 GET on chat" [ "$code" = 405 ]
check "405 Allow: POST" grep -qi '^allow: POST' "$TMP/h"
post /v1/chat/completions '{"model":"stories","messages":[{"role":"user","content":"x"}' "${ACME[@]}"
check "400 malformed JSON" is_error 400 null
post /v1/chat/completions '{"model":"stories","messages":[{"role":"user","content":"x"}],"max_tokens":"ten"}' "${ACME[@]}"
check "400 wrong type" is_error 400 null
check "400 wrong type names the field" has "$OUT" '"param":"max_tokens"'
post /v1/chat/completions '{"model":"stories","messages":[{"role":"user","content":"x"}],"frobnicate":true}' "${ACME[@]}"
check "400 unknown field" is_error 400 '"unknown_parameter"'
check "400 unknown field named" has "$OUT" '"param":"frobnicate"'
post /v1/chat/completions '{"model":"stories","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]}' "${ACME[@]}"
check "400 unsupported field" is_error 400 '"unsupported_parameter"'
post /v1/chat/completions '{"model":"stories","messages":[{"role":"user","content":"x"}],"logit_bias":{"99999":5}}' "${ACME[@]}"
check "400 logit_bias outside the vocabulary" is_error 400 null
check "400 logit_bias named" has "$OUT" '"param":"logit_bias"'
post /v1/chat/completions '{"model":"stories","messages":[{"role":"user","content":"x"}],"max_tokens":100000}' "${ACME[@]}"
check "400 context_length_exceeded" is_error 400 '"context_length_exceeded"'
big=$(head -c 5000 /dev/zero | tr '\0' 'a')
post /v1/chat/completions "{\"model\":\"stories\",\"messages\":[{\"role\":\"user\",\"content\":\"$big\"}]}" "${ACME[@]}"
check "413 oversized body" is_error 413 '"request_too_large"'
post /v1/chat/completions "$CHAT" "${ACME[@]}"
check "still serving after the errors" [ "$CODE" = 200 ]

# 429: tenant "small" may run one request at a time; six at once -> some 429 with Retry-After
pids=()
for i in 1 2 3 4 5 6; do
    curl -s -o "$TMP/c$i" -D "$TMP/ch$i" -w '%{http_code}' -X POST "$BASE/v1/chat/completions" \
        -H "Authorization: Bearer sk-small-0123456789abcdef" \
        -d '{"model":"stories","messages":[{"role":"user","content":"Once"}],"max_tokens":400,"stream":true}' >"$TMP/code$i" &
    pids+=($!)
done
wait "${pids[@]}" # not a bare wait: the server is a child too
n200=$(cat "$TMP"/code? | grep -o 200 | wc -l)
n429=$(cat "$TMP"/code? | grep -o 429 | wc -l)
check "429: one request ran ($n200)" [ "$n200" -ge 1 ]
check "429: others refused ($n429)" [ "$n429" -ge 1 ]
check "429: Retry-After" sh -c "grep -qi '^retry-after: [0-9]' '$TMP'/ch?"
check "429: rate_limit_exceeded" sh -c "grep -q '\"code\":\"rate_limit_exceeded\"' '$TMP'/c?"

# tenants come from the key: counters per tenant, on the private listener only
m=$(curl -s "$BASE/metrics")
check "public metrics: no tenant names" sh -c "! printf '%s' '$m' | grep -qE 'acme|small|tenant='"
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/metrics" "${ACME[@]}")
check "public metrics: a tenant's key does not unlock them ($code)" [ "$code" = 403 ]
m=$(curl -s "http://127.0.0.1:$MPORT/metrics")
check "metrics: acme counted" has "$m" 'cirrus_tenant_completion_tokens_total{tenant="acme"} '
check "metrics: small counted" has "$m" 'cirrus_tenant_requests_total{tenant="small"} '
check "metrics: 401s counted" has "$m" 'cirrus_requests_total{endpoint="chat_completions",status="401"} 2'
check "access log: tenant from key" grep -q '"status":200,"tenant":"acme","model":"stories"' "$LOG"
check "access log: no key text" sh -c "! grep -q 'sk-' '$LOG'"
stop_server
finish
