#!/usr/bin/env bash
# llama.cpp's tokenizer test vectors: for every $CIRRUS_SHARED/vocab/X.gguf with X.gguf.inp and
# X.gguf.out, `cirrus tokenize -m X.gguf --tests X.gguf.inp` must print X.gguf.out byte for byte
# (exit 0, no sanitizer report). The six vocabularies in shared/ must all be there.
# Env: CIRRUS_BIN (the cirrus binary), CIRRUS_SHARED (the shared/ folder).
set -u
: "${CIRRUS_BIN:?CIRRUS_BIN must point at the cirrus binary}"
: "${CIRRUS_SHARED:?CIRRUS_SHARED must point at the shared/ folder}"

dir="$CIRRUS_SHARED/vocab"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
failures=0
for f in "$dir"/*.gguf; do
    [ -e "$f" ] && [ -e "$f.inp" ] && [ -e "$f.out" ] || continue
    n=$((n + 1))
    name=$(basename "$f" .gguf)
    "$CIRRUS_BIN" tokenize -m "$f" --tests "$f.inp" >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
    why=""
    if [ "$rc" -ne 0 ]; then
        why="exit code $rc"
    elif grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp/err"; then
        why="sanitizer report"
    elif ! cmp -s "$tmp/out" "$f.out"; then
        why="output differs from $(basename "$f.out") on $(diff "$tmp/out" "$f.out" | grep -c '^<') line(s)"
    fi
    if [ -n "$why" ]; then
        failures=$((failures + 1))
        echo "FAIL $name: $why"
        diff "$tmp/out" "$f.out" | head -n 20 | sed 's/^/    /'
        head -n 20 "$tmp/err" | sed 's/^/    stderr: /'
    else
        echo "ok   $name: $(awk 'END { print NR }' "$f.out") strings"
    fi
done

for want in llama-spm phi-3 gpt-2 deepseek-llm falcon mpt; do
    if [ ! -e "$dir/ggml-vocab-$want.gguf.out" ]; then
        failures=$((failures + 1))
        echo "FAIL ggml-vocab-$want: vector files missing from $dir"
    fi
done

echo "$((n - failures < 0 ? 0 : n - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
