#!/usr/bin/env bash
# The web console in Debian's chromium (playwright-core, pinned in tests/console/package-lock.json)
# against `cirrus serve --db` on a seeded database: tenants, prices, plans and keys through the CLI,
# six months of usage through the ledger (console_seed, built next to cirrus). tests/console/run.mjs
# signs in, renders every page, creates a tenant in the UI, reads the charts' data, checks that the
# admin API refuses tenant keys (403) and missing keys (401), and writes a screenshot of each page
# to $CIRRUS_ARTIFACTS (default: artifacts/console/ next to the binary).
# Skips (exit 0) only when chromium, node or npm is missing, or the binary was built without the
# console (no node at build time, or -DCIRRUS_CONSOLE=OFF).
source "$(dirname "$0")/serve_common.bash"
CHROMIUM=${CHROMIUM:-$(command -v chromium || true)}
if [ -z "$CHROMIUM" ]; then
    echo "SKIP: chromium is not installed (scripts/install-deps.sh installs it); the console browser test did not run"
    exit 0
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "SKIP: node/npm not installed; the console browser test did not run"
    exit 0
fi
BIN_DIR="$(cd "$(dirname "$CIRRUS_BIN")" && pwd)"
SEED="$BIN_DIR/console_seed"
[ -x "$SEED" ] || { echo "FAIL: $SEED not built"; exit 1; }
ARTIFACTS=${CIRRUS_ARTIFACTS:-$BIN_DIR/artifacts/console}
NODE_DIR="$(cd "$(dirname "$0")/../console" && pwd)"
# npm ci installs exactly the lockfile; reuse node_modules when the lockfile has not changed
if [ ! -f "$NODE_DIR/node_modules/.package-lock.json" ] || ! cmp -s "$NODE_DIR/package-lock.json" "$NODE_DIR/node_modules/.package-lock.json.src" 2>/dev/null; then
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error) || { echo "FAIL: npm ci"; exit 1; }
    cp "$NODE_DIR/package-lock.json" "$NODE_DIR/node_modules/.package-lock.json.src"
fi

# ---- seed: the control plane through its CLI, history through the ledger ----------------------
DB="$TMP/console.db"
cp_cli() { "$CIRRUS_BIN" "$@" --db "$DB" >>"$TMP/seed.log" 2>&1 || { echo "FAIL: cirrus $*"; cat "$TMP/seed.log"; exit 1; }; }
cp_cli tenant create vidstream --industry "Short video" --region US
cp_cli tenant create shopmart --industry Retail --region EU
cp_cli tenant create taxwise --industry "Tax software" --region US
cp_cli tenant create regional-ai --industry "AI partner" --region APAC
cp_cli tenant create codepilot --industry "Developer tools" --region US
for i in 01 02 03 04 05 06 07 08; do cp_cli tenant create "tail-$i" --industry SMB --region EU; done
cp_cli tenant create ops --industry Internal
cp_cli price set --model stories --input 2.00 --cached-input 1.00 --output 6.00 --from 2020-01-01
cp_cli plan set --tenant vidstream --kind committed --commit 5000 --discount-bp 800 --from 2020-01-01
cp_cli plan set --tenant shopmart --kind reserved --fee 1500 --reserved-tpm 20000 --priority 4 --from 2020-01-01
cp_cli plan set --tenant codepilot --soft-budget 3000 --budget 20000 --rpm 600 --from 2020-01-01
ADMIN_KEY=$("$CIRRUS_BIN" key create --tenant ops --scope admin --db "$DB" | tail -n 1)
TENANT_KEY=$("$CIRRUS_BIN" key create --tenant shopmart --db "$DB" | tail -n 1)
cp_cli key create --tenant vidstream
case "$ADMIN_KEY$TENANT_KEY" in sk-cirrus-*sk-cirrus-*) ;; *) echo "FAIL: cirrus key create printed no keys"; exit 1 ;; esac
"$SEED" "$DB" >>"$TMP/seed.log" 2>&1 || { echo "FAIL: console_seed"; cat "$TMP/seed.log"; exit 1; }

start_server --db "$DB"
if [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/console/")" = 503 ]; then
    echo "SKIP: this cirrus was built without the console (no node/npm at build time, or -DCIRRUS_CONSOLE=OFF)"
    stop_server
    exit 0
fi
check "console: index is served with a CSP" bash -c "curl -s -D - -o /dev/null '$BASE/console/' | grep -qi '^content-security-policy:'"
# a little live traffic, so the protection page has a tenant to score and a text to check
for p in "Once upon a time" "The little dog" "A girl named Lily"; do
    post /v1/chat/completions "{\"model\":\"stories\",\"messages\":[{\"role\":\"user\",\"content\":\"$p\"}],\"max_tokens\":48}" \
        -H "Authorization: Bearer $TENANT_KEY"
    check "live request through the control plane ($CODE)" test "$CODE" = 200
done
SAMPLE=$(printf '%s' "$OUT" | sed -n 's/.*"content":"\([^"]*\)".*/\1/p')

rm -rf "$ARTIFACTS"
CONSOLE_BASE="$BASE" ADMIN_KEY="$ADMIN_KEY" TENANT_KEY="$TENANT_KEY" ARTIFACTS="$ARTIFACTS" CHROMIUM="$CHROMIUM" SAMPLE_TEXT="$SAMPLE" \
    timeout 90 node "$NODE_DIR/run.mjs"
rc=$?
CHECKS=$((CHECKS + 1))
[ "$rc" = 0 ] || fail "node run.mjs exited $rc"
echo "screenshots: $ARTIFACTS"
# the keys must never reach the access log or the server's own log
CHECKS=$((CHECKS + 1))
if grep -qF -e "${ADMIN_KEY#sk-cirrus-????????????-}" -e "${TENANT_KEY#sk-cirrus-????????????-}" "$LOG" "$ERR"; then fail "a key's secret part appears in the server's logs"; fi
stop_server
finish
