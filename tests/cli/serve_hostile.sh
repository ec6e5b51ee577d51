#!/usr/bin/env bash
# The hostile-HTTP part of #18's fault suite (tests/node/hostile.mjs does the attacking): slowloris
# heads and bodies, 1,000 idle connections, one address past its connection limit, clients vanishing
# while queued and while streaming, oversized and malformed requests -- with /health answering
# within 1 s throughout and resident memory back near its baseline afterwards. Bounded (~30 s) and
# deterministic in what it checks; the server's defaults are the product's except the deadlines,
# shortened to keep the run short. Skips (exit 0) only when node is missing.
source "$(dirname "$0")/serve_common.bash"
if ! command -v node >/dev/null; then
    echo "SKIP: node not installed; the hostile-HTTP suite did not run"
    exit 0
fi
ulimit -n 8192 2>/dev/null || ulimit -n 4096 2>/dev/null || true
GPT2="$CIRRUS_SHARED/models/tiny-gpt2-f32.gguf" # slow enough for one long stream to hold the slot
ERR="$TMP/server.err"
LOG="$TMP/access.log"
"$CIRRUS_BIN" serve --model "g=$GPT2" --port 0 --ready-file "$TMP/port" --ctx 2048 --slots 1 --threads 1 \
    --max-connections 1200 --header-timeout 2 --body-timeout 2 --timeout 5 --max-body 65536 \
    --access-log "$LOG" >"$TMP/server.out" 2>"$ERR" &
SERVER_PID=$!
for _ in $(seq 1 400); do [ -s "$TMP/port" ] && break; sleep 0.05; done
[ -s "$TMP/port" ] || { echo "FAIL: server did not start"; cat "$ERR"; exit 1; }
BASE="http://127.0.0.1:$(cat "$TMP/port")"
for _ in $(seq 1 200); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/health")" = 200 ] && break; sleep 0.05; done
# ASan's quarantine keeps freed memory resident: the memory check needs the optimised build
rss_check=1
if ldd "$CIRRUS_BIN" 2>/dev/null | grep -q libasan; then rss_check=0; fi
PORT=$(cat "$TMP/port") SERVER_PID=$SERVER_PID ACCESS_LOG="$LOG" MODEL=g HEADER_TIMEOUT_S=2 BODY_TIMEOUT_S=2 PER_IP=64 \
    MAX_BODY=65536 RSS_CHECK=$rss_check timeout 120 node "$(dirname "$0")/../node/hostile.mjs"
rc=$?
CHECKS=$((CHECKS + 1))
[ "$rc" = 0 ] || fail "hostile.mjs exited $rc"
stop_server
finish
