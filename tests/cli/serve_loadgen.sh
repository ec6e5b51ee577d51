#!/usr/bin/env bash
# cirrus loadgen against cirrus serve: request counts, per-tenant report, errors by status, and its
# --out records reconcile with the server's access log (same ids, same completion tokens).
source "$(dirname "$0")/serve_common.bash"
cat >"$TMP/config.json" <<'JSON'
{"tenants":[{"name":"ta","keys":["sk-ta-0123456789abcdef"]},{"name":"tb","keys":["sk-tb-0123456789abcdef"]}]}
JSON
start_server --config "$TMP/config.json"

"$CIRRUS_BIN" loadgen --url "$BASE" --tenant ta:sk-ta-0123456789abcdef:3 --tenant tb:sk-tb-0123456789abcdef:1 \
    --requests 12 --max-tokens 8 --json --out "$TMP/records.jsonl" >"$TMP/report.json" 2>"$TMP/lg.err"
check "loadgen exit 0" [ $? = 0 ]
overall=$(tr -d ' \n' <"$TMP/report.json" | sed 's/.*"overall":{\([^}]*\).*/\1/')
check "12 requests overall" has "$overall" '"requests":12,'
check "no errors" has "$overall" '"errors":0,'
check "both tenants reported" grep -q '"name": "tb"' "$TMP/report.json"
check "ttft percentiles" grep -q '"p99":' "$TMP/report.json"
check "12 records" [ "$(wc -l <"$TMP/records.jsonl")" = 12 ]
# every record's id and completion_tokens appear on one access-log line
ok=1
while read -r rec; do
    id=$(printf '%s' "$rec" | sed 's/.*"id":"\([^"]*\)".*/\1/')
    ct=$(printf '%s' "$rec" | sed 's/.*"completion_tokens":\([0-9]*\).*/\1/')
    grep -q "\"id\":\"$id\".*\"completion_tokens\":$ct," "$LOG" || { ok=0; echo "not reconciled: $rec"; }
done <"$TMP/records.jsonl"
check "records reconcile with the access log" [ "$ok" = 1 ]
check "tenants from keys" grep -q '"tenant":"tb"' "$LOG"

# a wrong key: counted as errors by status, not a crash
"$CIRRUS_BIN" loadgen --url "$BASE" --model stories --tenant bad:sk-bad-0123456789abcdef:2 --requests 4 --json >"$TMP/bad.json" 2>"$TMP/bad.err"
check "401s counted by status" grep -q '"401": 4' "$TMP/bad.json"
# duration mode, human report
"$CIRRUS_BIN" loadgen --url "$BASE" --tenant ta:sk-ta-0123456789abcdef:2 --duration 1 --max-tokens 16 >"$TMP/human.txt" 2>&1
check "duration mode report" grep -q '^overall' "$TMP/human.txt"
# never anything but loopback
"$CIRRUS_BIN" loadgen --url "http://192.0.2.1:$PORT" --tenant x::1 --requests 1 >/dev/null 2>"$TMP/nl.err"
check "non-loopback refused" [ $? = 2 ]
check "non-loopback message" grep -q loopback "$TMP/nl.err"
check "no sanitizer report from loadgen" sh -c "! cat '$TMP'/lg.err '$TMP'/bad.err '$TMP'/human.txt | grep -qE 'AddressSanitizer|LeakSanitizer|runtime error'"
stop_server
finish
