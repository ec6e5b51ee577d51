#!/usr/bin/env bash
# The control plane's CLI end to end on a real database: tenant, key, price, plan, usage and
# invoice commands, their exit codes (0 done, 1 refused input, 2 usage error), the forms scripts
# rely on (the new key alone on the last line of stdout; usage --json totals), invoices that
# reconcile with the ledger and do not change once closed, and no secret in any output or log.
# On a SQLite file by default; control_plane_pg.sh runs the same checks with CP_DB set to a
# PostgreSQL URI and the key-hash secret in CIRRUS_PEPPER_FILE.
set -u
BIN=${CIRRUS_BIN:?CIRRUS_BIN must point at the cirrus binary}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
DB=${CP_DB:-$TMP/cp.db}
PEPPER_FILE=${CIRRUS_PEPPER_FILE:-$DB.pepper}
ERR="$TMP/stderr.log" # every command's stderr, grepped for secrets at the end
FAILS=0
CHECKS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
check() { local what=$1; shift; CHECKS=$((CHECKS + 1)); if ! "$@"; then fail "$what"; fi; }
c() { "$BIN" "$@" 2>>"$ERR"; } # run cirrus, stderr to the log
rc() { c "$@" >/dev/null; echo $?; }
has() { case "$1" in *"$2"*) return 0 ;; esac; return 1; }
matches() { [[ "$1" =~ $2 ]]; }

# tenants
check "tenant create" [ "$(rc tenant create acme --industry retail --region eu-west --metadata '{"tier":"gold"}' --db "$DB")" = 0 ]
case "$DB" in postgres*://*) ;; *) check "database created on first use" [ -f "$DB" ] ;; esac
check "duplicate tenant: 1" [ "$(rc tenant create acme --db "$DB")" = 1 ]
check "bad tenant name: 1" [ "$(rc tenant create 'no spaces' --db "$DB")" = 1 ]
check "bad metadata: 1" [ "$(rc tenant create meta --metadata '[1]' --db "$DB")" = 1 ]
check "missing --db: 2" [ "$(rc tenant create other)" = 2 ]
check "unknown option: 2" [ "$(rc tenant create other --colour red --db "$DB")" = 2 ]
check "unknown subcommand: 2" [ "$(rc tenant destroy acme --db "$DB")" = 2 ]
check "one-line error" [ "$(tail -n 1 "$ERR" | grep -c '^cirrus: error: ')" = 1 ]
check "tenant --help: 0" [ "$(rc tenant --help)" = 0 ]
for cmd in key price plan usage invoice ledger-bench; do
    check "$cmd --help" has "$(c $cmd --help)" "usage: cirrus $cmd"
done
c tenant create beta --db "$DB" >/dev/null
out=$(c tenant list --json --db "$DB")
check "tenant list" has "$out" '"name": "acme"'
check "tenant list metadata" has "$out" '"tier": "gold"'
check "suspend" [ "$(rc tenant suspend beta --db "$DB")" = 0 ]
check "suspended shows" has "$(c tenant show beta --db "$DB")" "SUSPENDED"
check "resume" [ "$(rc tenant resume beta --db "$DB")" = 0 ]
check "show unknown: 1" [ "$(rc tenant show nobody --db "$DB")" = 1 ]

# keys: the key alone on the last line, never shown again
out=$(c key create --tenant acme --db "$DB")
check "key create: 0" [ $? = 0 ]
KEY1=$(printf '%s\n' "$out" | tail -n 1)
check "key format" matches "$KEY1" '^sk-cirrus-[0-9a-f]{12}-[A-Za-z0-9_-]{43}$'
check "key only on the last line" [ "$(printf '%s\n' "$out" | grep -c -- "${KEY1:23}")" = 1 ]
KEY2=$(c key create --tenant acme --scope admin --expires 2099-01-01 --db "$DB" | tail -n 1)
check "admin key format" matches "$KEY2" '^sk-cirrus-[0-9a-f]{12}-[A-Za-z0-9_-]{43}$'
check "key for unknown tenant: 1" [ "$(rc key create --tenant nobody --db "$DB")" = 1 ]
check "bad scope: 2" [ "$(rc key create --tenant acme --scope root --db "$DB")" = 2 ]
check "past expiry: 1" [ "$(rc key create --tenant acme --expires 2001-01-01 --db "$DB")" = 1 ]
list=$(c key list --db "$DB")
check "key list shows prefixes" has "$list" "${KEY1:10:12}"
check "key list shows no secret" [ "$(printf '%s' "$list" | grep -c -- "${KEY1:23}")" = 0 ]
check "revoke by whole key" [ "$(rc key revoke "$KEY1" --db "$DB")" = 0 ]
check "revoked shows" has "$(c key list --tenant acme --json --db "$DB")" '"status": "revoked"'
check "revoke unknown prefix: 1" [ "$(rc key revoke 0123456789ab --db "$DB")" = 1 ]
check "revoke garbage: 1" [ "$(rc key revoke sk-cirrus-notakey --db "$DB")" = 1 ]
check "pepper file is private" [ "$(stat -c %a "$PEPPER_FILE")" = 600 ]

# prices and plans
check "price set" [ "$(rc price set --model m --input 0.15 --cached-input 0.075 --output 0.60 --from 2024-01-01 --db "$DB")" = 0 ]
check "price set micro-units" [ "$(rc price set --model m --input 200000u --output 800000u --from 2024-06-01 --db "$DB")" = 0 ]
check "same date again: 1" [ "$(rc price set --model m --input 1 --output 1 --from 2024-06-01 --db "$DB")" = 1 ]
check "seven decimals: 1" [ "$(rc price set --model m --input 0.1234567 --output 1 --db "$DB")" = 1 ]
check "negative: 1" [ "$(rc price set --model m --input -1 --output 1 --db "$DB")" = 1 ]
check "bad date: 1" [ "$(rc price set --model m --input 1 --output 1 --from 2024-02-30 --db "$DB")" = 1 ]
out=$(c price list --json --db "$DB")
check "price list exact" has "$out" '"input_micros": 150000'
check "price list versions" has "$out" '"output_micros": 800000'
check "plan set" [ "$(rc plan set --tenant acme --kind committed --commit 100 --discount-bp 1000 --rpm 60 --budget 500 --from 2024-01-01 --db "$DB")" = 0 ]
check "plan: reserved needs tpm: 1" [ "$(rc plan set --tenant acme --kind reserved --from 2024-02-01 --db "$DB")" = 1 ]
check "plan set reserved" [ "$(rc plan set --tenant acme --kind reserved --reserved-tpm 10000 --fee 300 --priority 5 --from 2024-01-16 --db "$DB")" = 0 ]
check "plan: bad kind: 2" [ "$(rc plan set --tenant acme --kind free --db "$DB")" = 2 ]
out=$(c plan show --tenant acme --json --db "$DB")
check "plan versions" has "$out" '"kind": "committed"'
check "plan keeps limits across kinds" has "$out" '"rpm": 60'

# invoices: a past month closes, twice to the same bytes; the current one does not
check "credit" [ "$(rc invoice credit --tenant acme --month 2024-01 --amount 2.5 --memo "outage" --db "$DB")" = 0 ]
c invoice close --tenant acme --month 2024-01 --json --db "$DB" >"$TMP/inv1.json"
check "close: 0" [ $? = 0 ]
c invoice close --tenant acme --month 2024-01 --json --db "$DB" >"$TMP/inv2.json"
check "close twice: same invoice" cmp -s "$TMP/inv1.json" "$TMP/inv2.json"
check "closed" grep -q '"status": "closed"' "$TMP/inv1.json"
# 2024-01: committed (min 100, prorated 15/31) then reserved (300, prorated 16/31), credit 2.5, no usage
# 100*15/31 = 48.387096.77 -> 48.387097; 300*16/31 = 154.838709.67 -> 154.838710; total 200.725807
check "invoice total" grep -q '"total_micros": 200725807' "$TMP/inv1.json"
c plan set --tenant acme --fee 999 --from 2024-01-20 --db "$DB" >/dev/null
check "closed invoice unchanged by a later plan" cmp -s "$TMP/inv1.json" <(c invoice export --tenant acme --month 2024-01 --json --db "$DB")
check "credit on closed month: 1" [ "$(rc invoice credit --tenant acme --month 2024-01 --amount 1 --db "$DB")" = 1 ]
csv=$(c invoice export --tenant acme --month 2024-01 --csv --db "$DB")
check "csv header" has "$csv" "tenant,month,status,kind,model"
check "csv total row" has "$csv" '"acme",2024-01,closed,total,"",0,,1,200725807,200725807,200.725807'
MONTH=$(date -u +%Y-%m)
check "current month does not close: 1" [ "$(rc invoice close --tenant acme --month "$MONTH" --db "$DB")" = 1 ]
check "bad month: 1" [ "$(rc invoice draft --tenant acme --month 2024-13 --db "$DB")" = 1 ]
check "json and csv: 2" [ "$(rc invoice draft --tenant acme --month 2024-01 --json --csv --db "$DB")" = 2 ]

# usage from real admissions (ledger-bench drives tenancy_admit/settle and the ledger)
check "ledger-bench" [ "$(rc ledger-bench --db "$DB" --requests 400 --records 600)" = 0 ]
U=$(c usage --tenant bench --json --db "$DB")
check "usage: 0" [ $? = 0 ]
n_records=$(printf '%s\n' "$U" | grep -c '"request_id"')
total_requests=$(printf '%s\n' "$U" | grep -m1 -o '"requests": [0-9]*' | grep -o '[0-9]*$')
total_cost=$(printf '%s\n' "$U" | grep -m1 -o '"cost_micros": [0-9]*' | grep -o '[0-9]*$')
sum_cost=$(printf '%s\n' "$U" | grep -o '"cost_micros":[0-9]*' | awk -F: '{s += $2} END {print s + 0}')
check "usage: every record listed ($n_records of $total_requests)" [ "$n_records" = "$total_requests" ]
check "usage: 3000 records (2000 warm-up + 400 + 600)" [ "$total_requests" = 3000 ]
check "usage: totals equal the records ($total_cost vs $sum_cost)" [ "$total_cost" = "$sum_cost" ]
check "usage: settled" [ "$(printf '%s\n' "$U" | grep -c '"state":"open"')" = 0 ]
check "usage by model" has "$(c usage --tenant bench --by model --json --db "$DB")" '"model": "bench-model"'
check "usage by day" has "$(c usage --tenant bench --by day --db "$DB")" "$(date -u +%Y-%m-%d)"
check "usage: bad --by: 2" [ "$(rc usage --tenant bench --by hour --db "$DB")" = 2 ]
inv=$(c invoice draft --tenant bench --month "$MONTH" --json --db "$DB")
check "draft invoice equals the ledger" has "$inv" "\"total_micros\": $total_cost"

# secrets: no key and no pepper in anything printed to stderr, nor in lists
PEPPER=$(head -c 64 "$PEPPER_FILE")
check "pepper is 64 hex" matches "$PEPPER" '^[0-9a-f]{64}$'
c key list --json --db "$DB" >>"$TMP/lists"
c tenant show acme --json --db "$DB" >>"$TMP/lists"
c invoice export --tenant acme --month 2024-01 --json --db "$DB" >>"$TMP/lists"
for s in "${KEY1:23}" "${KEY2:23}" "$PEPPER"; do
    check "secret not in stderr" [ "$(grep -c -- "$s" "$ERR")" = 0 ]
    check "secret not in listings" [ "$(grep -c -- "$s" "$TMP/lists")" = 0 ]
done
check "stderr captured something" [ -s "$ERR" ]

echo "control_plane: $CHECKS checks, $FAILS failed"
[ "$FAILS" = 0 ]
