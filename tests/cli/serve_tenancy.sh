#!/usr/bin/env bash
# cirrus serve with a control plane (--db), for what #18 found the API layer leaking or dropping:
#   fault 1:  nothing tenant-specific without a key: /metrics (aggregate series only), /health, the
#             console's files; the series naming tenants for a provider admin key, or on the
#             private --metrics-listen port;
#   fault 9:  a 429 with request and token limits carries all its headers, X-Request-Id included;
#   fault 10: /v1/models lists for each tenant only the models its plan allows;
#   fault 12: text the API returned ("\u0000", U+FFFD) is accepted back, with the same bytes, by
#             chat, completions and POST /v1/admin/watermark/detect.
source "$(dirname "$0")/serve_common.bash"
command -v jq >/dev/null || { echo "FAIL: jq is required"; exit 1; }
DB="$TMP/t.db"
cp_cli() { "$CIRRUS_BIN" "$@" --db "$DB" >>"$TMP/seed.log" 2>&1 || { echo "FAIL: cirrus $*"; cat "$TMP/seed.log"; exit 1; }; }
for t in acme-secret-tenant limited ops; do cp_cli tenant create "$t"; done
for m in stories premium; do cp_cli price set --model "$m" --input 1 --cached-input 0.5 --output 2 --from 2020-01-01; done
cp_cli plan set --tenant acme-secret-tenant --models stories --from 2020-01-01
cp_cli plan set --tenant limited --rpm 1 --tpm 100000 --from 2020-01-01
ACME=$("$CIRRUS_BIN" key create --tenant acme-secret-tenant --db "$DB" | tail -n 1)
LIMITED=$("$CIRRUS_BIN" key create --tenant limited --db "$DB" | tail -n 1)
ADMIN=$("$CIRRUS_BIN" key create --tenant ops --scope admin --db "$DB" | tail -n 1)
start_server --db "$DB" --model "premium=$MODEL" --log-prompts --metrics-listen 127.0.0.1:0
MPORT=$(sed -n 's/.*metrics listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$ERR" | head -n 1)
A=(-H "Authorization: Bearer $ACME")
CHAT='{"model":"stories","messages":[{"role":"user","content":"Once"}],"max_tokens":4}'
post /v1/chat/completions "$CHAT" "${A[@]}"
check "a tenant's request ($CODE)" [ "$CODE" = 200 ]

# ---- fault 1: nothing tenant-specific without a key ------------------------------------------------
m=$(curl -s "$BASE/metrics")
check "metrics without a key: the aggregate series" has "$m" 'cirrus_requests_total{endpoint="chat_completions",status="200"}'
check "metrics without a key: no tenant name, no tenant series" sh -c "! printf '%s' '$m' | grep -qE 'acme-secret-tenant|tenant='"
code=$(curl -s -o "$TMP/m.body" -w '%{http_code}' "$BASE/metrics" "${A[@]}")
check "metrics with a tenant's key: refused ($code)" [ "$code" = 403 ]
check "metrics with a tenant's key: says which key it needs" grep -q 'insufficient_scope' "$TMP/m.body"
m=$(curl -s "$BASE/metrics" -H "Authorization: Bearer $ADMIN")
check "metrics with a provider admin key: the tenants' series" has "$m" 'cirrus_tenant_completion_tokens_total{tenant="acme-secret-tenant"}'
m=$(curl -s "http://127.0.0.1:$MPORT/metrics")
check "metrics on the private listener: the tenants' series" has "$m" 'cirrus_tenant_requests_total{tenant="acme-secret-tenant"}'
for path in /health /console/ /console /console/assets/nothing.js /v1/models; do
    curl -s "$BASE$path" >"$TMP/open.body"
    check "no key: $path names no tenant" sh -c "! grep -q 'acme-secret-tenant' '$TMP/open.body'"
done

# ---- fault 9: no header dropped -------------------------------------------------------------------------
L=(-H "Authorization: Bearer $LIMITED")
post /v1/chat/completions "$CHAT" "${L[@]}"
check "rpm 1: the first request passes ($CODE)" [ "$CODE" = 200 ]
CODE=$(curl -s -o "$TMP/429.body" -D "$TMP/429.h" -w '%{http_code}' -X POST "$BASE/v1/chat/completions" "${L[@]}" \
    -H 'Content-Type: application/json' -d "$CHAT")
check "rpm 1: the second is a 429 ($CODE)" [ "$CODE" = 429 ]
for h in x-ratelimit-limit-requests x-ratelimit-remaining-requests x-ratelimit-reset-requests x-ratelimit-limit-tokens \
    x-ratelimit-remaining-tokens x-ratelimit-reset-tokens retry-after-ms retry-after x-request-id; do
    check "429 carries $h" grep -qi "^$h: " "$TMP/429.h"
done
rid=$(sed -n 's/^[Xx]-[Rr]equest-[Ii]d: \([^[:space:]]*\).*/\1/p' "$TMP/429.h")
check "429's X-Request-Id is its access-log line's id" grep -q "\"id\":\"$rid\".*\"status\":429" "$LOG"

# ---- fault 10: the models a plan allows ----------------------------------------------------------------
out=$(curl -s "$BASE/v1/models" "${A[@]}")
check "acme's plan (stories only) lists stories" [ "$(printf '%s' "$out" | jq -r '[.data[].id] | join(",")')" = stories ]
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/v1/models/premium" "${A[@]}")
check "acme may not see premium: 404 ($code)" [ "$code" = 404 ]
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/v1/models/stories" "${A[@]}")
check "acme sees stories ($code)" [ "$code" = 200 ]
out=$(curl -s "$BASE/v1/models" "${L[@]}")
check "a plan without a model list shows both" [ "$(printf '%s' "$out" | jq -r '[.data[].id] | sort | join(",")')" = premium,stories ]

# ---- fault 12: what the API wrote comes back with the same bytes -------------------------------------------
# logged_prompt_has JSON-STRING: an access-log line's prompt holds exactly these characters
logged_prompt_has() {
    jq -se --argjson t "$1" 'map(select(.prompt != null) | .prompt | explode) | any(. as $p | ($t | explode) as $q |
        [range(0; ($p | length) - ($q | length) + 1)] | any(. as $i | $p[$i:$i + ($q | length)] == $q))' "$LOG" >/dev/null
}
# byte tokens 0x00 (id 3) and a lone 0x80 (id 131): the reply holds "\u0000" and U+FFFD
post /v1/chat/completions '{"model":"stories","messages":[{"role":"user","content":"Once"}],"max_tokens":12,"temperature":1,"seed":7,"logit_bias":{"3":100,"131":100}}' "${A[@]}"
check "a reply with NULs ($CODE)" [ "$CODE" = 200 ]
text=$(printf '%s' "$OUT" | jq -c '.choices[0].message.content') # the JSON string, escapes and all
check "... the API wrote \\u0000 and U+FFFD: $text" sh -c "printf '%s' '$OUT' | jq -e '.choices[0].message.content | explode | index([0]) != null and index([65533]) != null' >/dev/null"
nuls=$(printf '%s' "$text" | jq '[explode[] | select(. == 0)] | length')
post /v1/chat/completions "{\"model\":\"stories\",\"messages\":[{\"role\":\"user\",\"content\":$text}],\"max_tokens\":2}" "${A[@]}"
check "chat takes it back ($CODE)" [ "$CODE" = 200 ]
check "... with the same characters in the prompt it ran" logged_prompt_has "$text"
post /v1/completions "{\"model\":\"stories\",\"prompt\":$text,\"max_tokens\":2}" "${A[@]}"
check "completions take it back ($CODE)" [ "$CODE" = 200 ]
pt=$(printf '%s' "$OUT" | jq '.usage.prompt_tokens')
check "... every NUL a token of the prompt ($pt tokens, $nuls NULs)" [ "${pt:-0}" -gt "${nuls:-99}" ]
post /v1/admin/watermark/detect "{\"model\":\"stories\",\"text\":$text}" -H "Authorization: Bearer $ADMIN"
check "watermark/detect takes it back ($CODE: $(printf '%s' "$OUT" | head -c 120))" [ "$CODE" = 200 ]
check "... and scores its tokens" [ "$(printf '%s' "$OUT" | jq '.positions')" -ge 1 ]
post /v1/chat/completions '{"model":"stories\u0000x","messages":[{"role":"user","content":"Once"}]}' "${A[@]}"
check "a NUL where it cannot mean anything is a 400 naming the field ($CODE)" sh -c "[ '$CODE' = 400 ] && printf '%s' '$OUT' | grep -q '\"param\":\"model\"'"
stop_server
finish
