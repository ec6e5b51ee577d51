#!/usr/bin/env bash
# The official OpenAI Node SDK (npm `openai`, pinned in tests/node/package-lock.json) against
# `cirrus serve`: chat and completions streamed and not, models, errors as the SDK's classes.
# Skips (exit 0) only when node or npm is missing.
source "$(dirname "$0")/serve_common.bash"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "SKIP: node/npm not installed; the OpenAI SDK integration test did not run"
    exit 0
fi
NODE_DIR="$(cd "$(dirname "$0")/../node" && pwd)"
# npm ci installs exactly the lockfile; reuse node_modules when the lockfile has not changed
if [ ! -f "$NODE_DIR/node_modules/.package-lock.json" ] || ! cmp -s "$NODE_DIR/package-lock.json" "$NODE_DIR/node_modules/.package-lock.json.src" 2>/dev/null; then
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error) || { echo "FAIL: npm ci"; exit 1; }
    cp "$NODE_DIR/package-lock.json" "$NODE_DIR/node_modules/.package-lock.json.src"
fi
cat >"$TMP/config.json" <<'JSON'
{"tenants":[{"name":"sdk","keys":["sk-sdk-test-0123456789abcdef"]}]}
JSON
start_server --config "$TMP/config.json"
CIRRUS_BASE_URL="$BASE/v1" CIRRUS_KEY="sk-sdk-test-0123456789abcdef" CIRRUS_MODEL=stories \
    timeout 50 node "$NODE_DIR/test.mjs"
rc=$?
CHECKS=$((CHECKS + 1))
[ "$rc" = 0 ] || fail "node test.mjs exited $rc"
stop_server
finish
