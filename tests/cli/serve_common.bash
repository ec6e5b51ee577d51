# Sourced by tests/cli/serve_*.sh (not a test itself: CTest runs tests/cli/*.sh only).
# Starts `cirrus serve` on a free loopback port with the stories260K model, waits for /health,
# and kills the server when the test exits, whatever happens.
# Env: CIRRUS_BIN, CIRRUS_SHARED. Needs curl.
set -u
: "${CIRRUS_BIN:?CIRRUS_BIN must point at the cirrus binary}"
: "${CIRRUS_SHARED:?CIRRUS_SHARED must point at the shared/ folder}"
MODEL="$CIRRUS_SHARED/models/stories260K.gguf"
TMP=$(mktemp -d)
SERVER_PID=""
FAILS=0
CHECKS=0

cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -9 "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

if ! command -v curl >/dev/null; then
    echo "FAIL: curl is required"
    exit 1
fi

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
check() { # check "description" command...
    local what=$1
    shift
    CHECKS=$((CHECKS + 1))
    if ! "$@"; then fail "$what"; fi
}

# start_server [extra serve flags...]: sets PORT, BASE, LOG (access log), ERR (stderr)
start_server() {
    ERR="$TMP/server.err"
    LOG="$TMP/access.log"
    "$CIRRUS_BIN" serve --host 127.0.0.1 --port 0 --model "stories=$MODEL" --ctx 512 --slots 4 --threads 1 \
        --access-log "$LOG" "$@" >"$TMP/server.out" 2>"$ERR" &
    SERVER_PID=$!
    PORT=""
    for _ in $(seq 1 200); do
        PORT=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$ERR" | head -n 1)
        [ -n "$PORT" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$PORT" ]; then
        echo "FAIL: server did not start"
        cat "$ERR"
        exit 1
    fi
    BASE="http://127.0.0.1:$PORT"
    for _ in $(seq 1 400); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/health")" = 200 ] && return 0
        sleep 0.05
    done
    echo "FAIL: /health never became 200"
    cat "$ERR"
    exit 1
}

# stop_server: SIGTERM, expect exit 0 within 15 s
stop_server() {
    kill -TERM "$SERVER_PID"
    local rc=""
    for _ in $(seq 1 300); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            wait "$SERVER_PID"
            rc=$?
            break
        fi
        sleep 0.05
    done
    CHECKS=$((CHECKS + 1))
    if [ "$rc" != 0 ]; then fail "SIGTERM: server exit code '${rc:-still running}' (want 0)"; fi
    SERVER_PID=""
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$ERR"; then
        fail "sanitizer report in server stderr"
        cat "$ERR"
    fi
}

# post PATH BODY [curl args...]: sets OUT (the body) and CODE (the status)
post() {
    local path=$1 body=$2
    shift 2
    CODE=$(curl -s -o "$TMP/body" -w '%{http_code}' -X POST "$BASE$path" -H 'Content-Type: application/json' \
        --data-binary "$body" "$@")
    OUT=$(cat "$TMP/body")
}

# has FILE-OR-STRING PATTERN: grep -q on a string
has() { printf '%s' "$1" | grep -qF -- "$2"; }

finish() {
    echo "$(basename "$0"): $CHECKS checks, $FAILS failed"
    [ "$FAILS" -eq 0 ]
}
