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
source "$(dirname "$0")/npm_ci.bash"
npm_ci "$NODE_DIR" || exit 1
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
