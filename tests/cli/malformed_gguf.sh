#!/usr/bin/env bash
# Every committed malformed GGUF file must make `cirrus model info` fail cleanly: exit code exactly 1,
# stderr exactly one line "cirrus: error: ...", and no sanitizer report anywhere in the output.
# Env: CIRRUS_BIN (the cirrus binary), CIRRUS_TESTDATA (tests/data).
set -u
: "${CIRRUS_BIN:?CIRRUS_BIN must point at the cirrus binary}"
: "${CIRRUS_TESTDATA:?CIRRUS_TESTDATA must point at tests/data}"

dir="$CIRRUS_TESTDATA/malformed"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
failures=0
for f in "$dir"/*.gguf; do
    [ -e "$f" ] || continue
    n=$((n + 1))
    name=$(basename "$f")
    "$CIRRUS_BIN" model info "$f" >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
    lines=$(awk 'END { print NR }' "$tmp/err") # counts a last line without '\n' too
    first=$(head -n 1 "$tmp/err")
    why=""
    if [ "$rc" -ne 1 ]; then
        why="exit code $rc (want 1)"
    elif [ "$lines" -ne 1 ]; then
        why="stderr has $lines lines (want 1)"
    elif [ "${first#cirrus: error: }" = "$first" ]; then
        why="stderr does not start with 'cirrus: error: '"
    elif cat "$tmp/out" "$tmp/err" | grep -qE 'AddressSanitizer|LeakSanitizer|runtime error'; then
        why="sanitizer report"
    fi
    if [ -n "$why" ]; then
        failures=$((failures + 1))
        echo "FAIL $name: $why"
        sed 's/^/    stderr: /' "$tmp/err" | head -n 20
    else
        echo "ok   $name: $first"
    fi
done

if [ "$n" -lt 20 ]; then
    echo "FAIL: only $n malformed files in $dir (want at least 20)"
    exit 1
fi
echo "malformed_gguf: $n files, $failures failed"
[ "$failures" -eq 0 ]
