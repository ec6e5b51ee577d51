#!/usr/bin/env bash
# One owner per SQLite store (store.h S4, ledger L7): a second `cirrus serve` on the same file
# exits 1 naming the holder (pid, host, since); the control-plane CLI keeps working while it runs;
# what would recover or write ledger records on that file (ledger-bench, demo) refuses; a SIGKILLed
# owner never blocks the next start; and a cleanly stopped one leaves the file free.
source "$(dirname "$0")/serve_common.bash"
DB="$TMP/owned.db"
c() { "$CIRRUS_BIN" "$@" 2>>"$TMP/cli.err"; }
rc() { c "$@" >/dev/null; echo $?; }

start_server --db "$DB"
check "the owner is named in DB.lock" grep -q "^pid=$SERVER_PID host=" "$DB.lock"

out=$(timeout 30 "$CIRRUS_BIN" serve --port 0 --model "stories=$MODEL" --db "$DB" 2>&1)
check "second server on the file: 1" [ $? = 1 ]
check "names the holder's pid and host" has "$out" "pid $SERVER_PID on host $(hostname) since "
check "one line" [ "$(printf '%s\n' "$out" | grep -c '^cirrus: error: ')" = 1 ]
check "the first one still serves" [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/health")" = 200 ]

# the control plane is not owned
check "tenant create while owned" [ "$(rc tenant create acme --db "$DB")" = 0 ]
check "key create while owned" [ "$(rc key create --tenant acme --db "$DB")" = 0 ]
check "price set while owned" [ "$(rc price set --model stories --input 1 --output 1 --db "$DB")" = 0 ]
check "plan set while owned" [ "$(rc plan set --tenant acme --rpm 10 --db "$DB")" = 0 ]
check "usage while owned" [ "$(rc usage --tenant acme --json --db "$DB")" = 0 ]
check "report while owned" [ "$(rc report concentration --db "$DB" --json)" = 0 ]

# what records usage refuses
out=$("$CIRRUS_BIN" ledger-bench --db "$DB" --requests 10 --records 10 2>&1)
check "ledger-bench on an owned file: 1" [ $? = 1 ]
check "ledger-bench names the owner" has "$out" "pid $SERVER_PID"
out=$(timeout 60 "$CIRRUS_BIN" demo --db "$DB" --dir "$TMP/demo" --model "$MODEL" --duration 0 --exit --port 0 2>&1)
check "demo on an owned file: 1" [ $? = 1 ]
check "demo names the owner" has "$out" "pid $SERVER_PID"
check "demo wrote no usage" [ "$(c usage --tenant acme --json --db "$DB" | grep -c '"request_id"')" = 0 ]

# a killed owner never blocks the next start
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=""
start_server --db "$DB"
check "restart after SIGKILL" [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/health")" = 200 ]
stop_server
check "a clean stop frees the file" [ "$(rc ledger-bench --db "$DB" --requests 10 --records 10)" = 0 ]
finish
