#!/usr/bin/env bash
# The control plane on PostgreSQL (the CIRRUS_TEST_SERVERS fixture: a real server, a database of
# this test's own): every check of control_plane.sh with --db postgres://..., the key-hash secret
# that a database server has no file beside (an error naming --pepper-file without one; the
# option and CIRRUS_PEPPER_FILE with one), then `cirrus serve --db URI`: a request with a key is
# metered into PostgreSQL, a second server on the same database exits 1 naming the first while the
# CLI keeps working, a SIGKILLed server does not block the next, and `cirrus demo --db URI` seeds
# the market into PostgreSQL for `cirrus report`.
source "$(dirname "$0")/serve_common.bash"
source "$(dirname "$0")/../servers/lib.bash"
servers_load
DB=$(pg_new_db control_plane) || { echo "FAIL: no database"; exit 1; }
PEPPER_FILE="$TMP/cluster.pepper"

# 1. control_plane.sh's checks, on this database
if CP_DB="$DB" CIRRUS_PEPPER_FILE="$PEPPER_FILE" bash "$(dirname "$0")/control_plane.sh" >"$TMP/cp.out" 2>&1; then
    echo "ok   control_plane.sh on PostgreSQL: $(tail -n 1 "$TMP/cp.out")"
    CHECKS=$((CHECKS + 1))
else
    cat "$TMP/cp.out"
    fail "control_plane.sh on PostgreSQL"
fi

# 2. the key-hash secret: required with a URI, by option or variable
c() { "$CIRRUS_BIN" "$@" 2>>"$TMP/cli.err"; }
out=$(env -u CIRRUS_PEPPER_FILE "$CIRRUS_BIN" key create --tenant acme --db "$DB" 2>&1)
check "no pepper file with a URI: 1" [ $? = 1 ]
check "the error names --pepper-file" has "$out" "--pepper-file"
KEY=$(c key create --tenant acme --db "$DB" --pepper-file "$PEPPER_FILE" | tail -n 1)
matches() { [[ "$1" =~ $2 ]]; }
check "--pepper-file: key created" matches "$KEY" '^sk-cirrus-[0-9a-f]{12}-' 
printf '%064d\n' 7 >"$TMP/other.pepper"
out=$("$CIRRUS_BIN" key create --tenant acme --db "$DB" --pepper-file "$TMP/other.pepper" 2>&1)
check "a different secret is refused" has "$out" "does not belong"

# 3. serve on PostgreSQL: a metered request
c price set --model stories --input 1 --output 2 --from 2020-01-01 --db "$DB" >/dev/null
c tenant create meter --db "$DB" >/dev/null
MKEY=$(CIRRUS_PEPPER_FILE="$PEPPER_FILE" c key create --tenant meter --db "$DB" | tail -n 1)
start_server --db "$DB" --pepper-file "$PEPPER_FILE"
check "serve names the backend" grep -q "control plane: postgres://.*(postgresql)" "$ERR"
post /v1/chat/completions '{"model":"stories","messages":[{"role":"user","content":"Once"}],"max_tokens":8}' \
    -H "Authorization: Bearer $MKEY"
check "completion with a key: 200 ($CODE)" [ "$CODE" = 200 ]
completion=$(printf '%s' "$OUT" | grep -o '"completion_tokens":[0-9]*' | grep -o '[0-9]*$')
U=""
for _ in $(seq 1 50); do # the record is durable before the reply; the CLI reads it at once
    U=$(c usage --tenant meter --json --db "$DB")
    has "$U" '"requests": 1' && break
    sleep 0.1
done
check "the request is metered in PostgreSQL" has "$U" '"requests": 1'
check "with the tokens the client got ($completion)" has "$U" "\"completion_tokens\": $completion"

# 4. one owner: a second server refuses, naming the first; the CLI works meanwhile
out=$(timeout 30 "$CIRRUS_BIN" serve --port 0 --model "stories=$MODEL" --db "$DB" --pepper-file "$PEPPER_FILE" 2>&1)
check "second server on the database: 1" [ $? = 1 ]
check "names the holder's pid" has "$out" "pid $SERVER_PID on host $(hostname)"
check "tenant create while owned" [ "$(c tenant create during --db "$DB" >/dev/null; echo $?)" = 0 ]
check "plan set while owned" [ "$(c plan set --tenant during --rpm 5 --db "$DB" >/dev/null; echo $?)" = 0 ]
out=$("$CIRRUS_BIN" ledger-bench --db "$DB" --pepper-file "$PEPPER_FILE" --requests 10 --records 10 2>&1)
check "ledger-bench on an owned database: 1" [ $? = 1 ]
check "ledger-bench names the owner" has "$out" "owned by another running cirrus"
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=""
start_server --db "$DB" --pepper-file "$PEPPER_FILE" # a SIGKILLed owner does not block the next
check "restart after SIGKILL" [ -n "$SERVER_PID" ]
stop_server

# 5. cirrus demo --db URI seeds the market into PostgreSQL
DEMO_DB=$(pg_new_db demo) || { echo "FAIL: no database"; exit 1; }
timeout 300 "$CIRRUS_BIN" demo --db "$DEMO_DB" --dir "$TMP/demo" --model "$MODEL" --port 0 --duration 1 --threads 1 --exit \
    >"$TMP/demo.out" 2>&1
check "demo --db URI: 0" [ $? = 0 ]
check "demo kept the secret in its folder" [ "$(stat -c %a "$TMP/demo/cirrus.pepper")" = 600 ]
rep=$(c report concentration --db "$DEMO_DB" --json)
check "the report reads the market from PostgreSQL" has "$rep" '"hhi_band"'
check "with the demo's tenants" has "$rep" '"name": "clipstream"'
[ "$FAILS" = 0 ] || { cat "$TMP/demo.out"; tail -n 20 "$TMP/demo/server.log" 2>/dev/null; }
finish
