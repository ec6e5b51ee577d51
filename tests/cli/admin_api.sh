#!/usr/bin/env bash
# The admin API (/v1/admin) over HTTP against `cirrus serve --db`: keys and scopes (401, 403), the
# tenant and key lifecycle (a key shown once, revocation effective at once), usage sums, invoice
# exports byte-identical to `cirrus invoice export`, reports equal to `cirrus report --json`, and
# the request errors (400 unknown field, 404, 405) as OpenAI error objects. No browser needed.
source "$(dirname "$0")/serve_common.bash"
BIN_DIR="$(cd "$(dirname "$CIRRUS_BIN")" && pwd)"
DB="$TMP/admin.db"
cp_cli() { "$CIRRUS_BIN" "$@" --db "$DB" >>"$TMP/seed.log" 2>&1 || { echo "FAIL: cirrus $*"; cat "$TMP/seed.log"; exit 1; }; }
for t in vidstream shopmart taxwise regional-ai codepilot tail-01 tail-02 ops; do cp_cli tenant create "$t"; done
cp_cli price set --model stories --input 2.00 --cached-input 1.00 --output 6.00 --from 2020-01-01
cp_cli plan set --tenant vidstream --kind committed --commit 5000 --discount-bp 800 --from 2020-01-01
ADMIN=$("$CIRRUS_BIN" key create --tenant ops --scope admin --db "$DB" | tail -n 1)
TENANT=$("$CIRRUS_BIN" key create --tenant shopmart --db "$DB" | tail -n 1)
"$BIN_DIR/console_seed" "$DB" >>"$TMP/seed.log" 2>&1 || { echo "FAIL: console_seed"; cat "$TMP/seed.log"; exit 1; }
start_server --db "$DB"
A="$BASE/v1/admin"

# req METHOD PATH [KEY] [BODY]: sets CODE and OUT
req() {
    local method=$1 path=$2 key=${3:-} body=${4:-}
    local args=(-s -o "$TMP/body" -w '%{http_code}' -X "$method")
    [ -n "$key" ] && args+=(-H "Authorization: Bearer $key")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    CODE=$(curl "${args[@]}" "$A$path")
    OUT=$(cat "$TMP/body")
}
is_error() { has "$OUT" '"error":{"message":' && has "$OUT" '"type":' && has "$OUT" '"code":'; }
expect() { # expect WHAT STATUS
    CHECKS=$((CHECKS + 1))
    if [ "$CODE" != "$2" ]; then fail "$1: status $CODE, want $2: $OUT"; fi
}

# ---- who may call what --------------------------------------------------------------------------
req GET /tenants;                       expect "no key" 401; check "no key: OpenAI error" is_error
req GET /tenants "sk-cirrus-000000000000-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; expect "unknown key" 401
req GET /tenants "$TENANT";             expect "tenant key on tenants" 403; check "tenant key: OpenAI error" is_error
check "403 names the scope" has "$OUT" insufficient_scope
req GET /reports/concentration "$TENANT"; expect "tenant key on reports" 403
req GET /usage "$TENANT";               expect "tenant key reads its own usage" 200
check "own usage is shopmart's" has "$OUT" '"tenant":"shopmart"'
req GET "/usage?tenant=vidstream" "$TENANT"; expect "tenant key on another's usage" 403

# ---- tenants and keys ---------------------------------------------------------------------------
req POST /tenants "$ADMIN" '{"name":"newco","industry":"Retail","region":"EU","metadata":{"tier":"gold"}}'
expect "create tenant" 201
check "created tenant echoes its fields" has "$OUT" '"industry":"Retail"'
req POST /tenants "$ADMIN" '{"name":"newco"}';            expect "duplicate tenant" 400
req POST /tenants "$ADMIN" '{"name":"x y"}';              expect "bad tenant name" 400
req POST /tenants "$ADMIN" '{"name":"z","colour":"red"}'; expect "unknown field" 400
check "unknown field is named" has "$OUT" '"param":"colour"'
req POST /tenants "$ADMIN" 'not json';                    expect "malformed body" 400
req GET /tenants/nobody "$ADMIN";                         expect "unknown tenant" 404
req DELETE /tenants "$ADMIN";                             expect "wrong method" 405
req GET /nothing/here "$ADMIN";                           expect "unknown admin path" 404
req POST /tenants/newco/keys "$ADMIN" '{"scope":"inference"}'; expect "create key" 201
NEWKEY=$(printf '%s' "$OUT" | sed -n 's/.*"key":"\(sk-cirrus-[^"]*\)".*/\1/p')
PREFIX=$(printf '%s' "$OUT" | sed -n 's/.*"prefix":"\([0-9a-f]*\)".*/\1/p')
check "the new key is returned once" test -n "$NEWKEY"
req GET /tenants/newco "$ADMIN";                           expect "tenant detail" 200
check "detail lists the key's prefix" has "$OUT" "\"prefix\":\"$PREFIX\""
check "detail never holds the key" bash -c "! printf '%s' '$OUT' | grep -qF '$NEWKEY'"
req GET /usage "$NEWKEY";                                  expect "new key works" 200
req POST "/keys/$PREFIX/revoke" "$ADMIN" '{}';             expect "revoke" 200
req GET /usage "$NEWKEY";                                  expect "revoked key refused at once" 401
req POST /keys/000000000000/revoke "$ADMIN" '{}';          expect "revoke unknown prefix" 404
req POST /tenants/newco/suspend "$ADMIN" '{}';             expect "suspend" 200
check "suspended" has "$OUT" '"status":"suspended"'
req POST /tenants/newco/resume "$ADMIN" '{}';              expect "resume" 200
check "active again" has "$OUT" '"status":"active"'

# ---- usage, invoices, reports: the CLI's numbers ------------------------------------------------
req GET "/usage?by=tenant,model,day&tenant=vidstream" "$ADMIN"; expect "usage by day" 200
check "usage rows carry days" has "$OUT" '"day":"'
req GET "/usage?by=week" "$ADMIN";                         expect "bad grouping" 400
req GET "/usage?from=2020-13" "$ADMIN";                    expect "bad month" 400
MONTH=$(date -u -d "$(date -u +%Y-%m-01) -1 month" +%Y-%m)
req GET "/invoices?month=$MONTH" "$ADMIN";                  expect "invoices of a month" 200
check "invoice list has vidstream" has "$OUT" '"tenant":"vidstream"'
curl -s -H "Authorization: Bearer $ADMIN" "$A/invoices/vidstream/$MONTH?format=csv" >"$TMP/api.csv"
"$CIRRUS_BIN" invoice export --tenant vidstream --month "$MONTH" --csv --db "$DB" >"$TMP/cli.csv"
check "invoice CSV equals cirrus invoice export --csv" cmp -s "$TMP/api.csv" "$TMP/cli.csv"
curl -s -H "Authorization: Bearer $ADMIN" "$A/invoices/vidstream/$MONTH" >"$TMP/api.json"
"$CIRRUS_BIN" invoice export --tenant vidstream --month "$MONTH" --json --db "$DB" >"$TMP/cli.json"
check "invoice JSON equals cirrus invoice export --json" bash -c "diff <(tr -d ' \n' <'$TMP/api.json') <(tr -d ' \n' <'$TMP/cli.json') >/dev/null"
CODE=$(curl -s -D "$TMP/h" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ADMIN" "$A/invoices?month=$MONTH&format=csv")
check "all invoices as a CSV download" grep -qi '^content-disposition: attachment' "$TMP/h"

# the reports: same figures as `cirrus report --json` (the source path differs: the CLI names the file)
for r in revenue concentration forecast alerts; do
    curl -s -H "Authorization: Bearer $ADMIN" "$A/reports/$r?month=$MONTH" | sed 's/"source": *"[^"]*"//' | tr -d ' \n' >"$TMP/api-$r"
    "$CIRRUS_BIN" report "$r" --month "$MONTH" --json --db "$DB" | sed 's/"source": *"[^"]*"//' | tr -d ' \n' >"$TMP/cli-$r"
    check "reports/$r equals cirrus report $r --json" cmp -s "$TMP/api-$r" "$TMP/cli-$r"
done
curl -s -H "Authorization: Bearer $ADMIN" "$A/reports/concentration?whatif=vidstream&cut_pct=50" | tr -d ' \n' >"$TMP/api-wi"
"$CIRRUS_BIN" report concentration --cut vidstream:50 --json --db "$DB" | tr -d ' \n' >"$TMP/cli-wi"
check "what-if equals cirrus report --cut" bash -c "diff <(sed 's/\"source\":\"[^\"]*\"//' '$TMP/api-wi') <(sed 's/\"source\":\"[^\"]*\"//' '$TMP/cli-wi') >/dev/null"
req GET "/reports/concentration?whatif=nobody" "$ADMIN";   expect "what-if on an unknown tenant" 400
req GET "/reports/forecast?level=42" "$ADMIN";             expect "bad forecast level" 400

# keys never reach the logs
CHECKS=$((CHECKS + 1))
if grep -qF -e "${NEWKEY#sk-cirrus-????????????-}" -e "${ADMIN#sk-cirrus-????????????-}" "$LOG" "$ERR"; then fail "a key's secret appears in the server's logs"; fi
stop_server
finish
