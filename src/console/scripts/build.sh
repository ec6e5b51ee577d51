#!/usr/bin/env bash
# Builds the console and writes the embedded asset table. Run by CMake (console.cmake) when a
# console source changed:  build.sh DIST_DIR OUT.c
# npm ci runs only when package-lock.json is newer than the installed tree, so a rebuild after a
# source edit costs a type check and a vite build (seconds), not a download.
set -euo pipefail
cd "$(dirname "$0")/.."
DIST=$1
OUT=$2

# Two build trees (say build/ and build-asan/) share this node_modules: take turns installing it.
exec 9>"node_modules.lock"
command -v flock >/dev/null && flock 9
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent typecheck
npx --no-install vite build --outDir "$DIST" --emptyOutDir --logLevel warn
node scripts/embed.mjs "$DIST" "$OUT"
