#!/usr/bin/env bash
# cirrus model synth: files load in cirrus, with the tensor types and sizes that were asked, and
# the same seed writes the same bytes.
set -euo pipefail
BIN=${CIRRUS_BIN:?}; SHARED=${CIRRUS_SHARED:?}
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fail=0
# type -> what `model info` must list among the tensor types (the 2-D weights' type, plus the
# mixes llama.cpp's recipes give: Q6_K output for q4_0/q4_k, Q6_K v/down layers for *_k_m)
declare -A expect=([f32]="f32" [f16]="f16" [bf16]="bf16" [q8_0]="q8_0" [q4_0]="q4_0 q6_K"
                   [q4_k]="q4_K q6_K" [q4_k_m]="q4_K q6_K" [q5_k]="q5_K q6_K" [q6_k]="q6_K")
for t in f32 f16 bf16 q8_0 q4_0 q4_k q4_k_m q5_k q6_k; do
  f="$dir/tiny-$t.gguf"
  "$BIN" model synth --shape tiny --type "$t" --out "$f" --seed 7 2>/dev/null
  info=$("$BIN" model info "$f")
  types=$(echo "$info" | grep '^tensor types')
  for want in ${expect[$t]}; do
    echo "$types" | grep -q " $want x" || { echo "FAIL $t: '$want' not in: $types"; fail=1; }
  done
  echo "$info" | grep -q "dim 256, layers 4, heads 8, kv heads 4, head dim 32, ffn 768, vocab 2048" \
    || { echo "FAIL $t: dimensions"; echo "$info"; fail=1; }
  out=$("$BIN" run -m "$f" -p "hello" -n 8 --seed 1 --no-stats)
  [ -n "$out" ] || { echo "FAIL $t: no output"; fail=1; }
  echo "ok   synth tiny $t: $types"
done
# tensor data size of q8_0 is what the block layout says: 34 bytes per 32 weights
sz8=$("$BIN" model info "$dir/tiny-q8_0.gguf" | sed -n 's/^tensor types.*q8_0 x\([0-9]*\) (\([0-9.]*\) MiB).*/\2/p')
[ -n "$sz8" ] || { echo "FAIL q8_0 size not reported"; fail=1; }
# determinism
"$BIN" model synth --shape tiny --type q4_0 --out "$dir/again.gguf" --seed 7 2>/dev/null
cmp -s "$dir/tiny-q4_0.gguf" "$dir/again.gguf" || { echo "FAIL same seed wrote different bytes"; fail=1; }
# a donor vocabulary (GPT-2 BPE) and the tokenizer metadata that comes with it
"$BIN" model synth --shape tiny --type q8_0 --out "$dir/bpe.gguf" --vocab-from "$SHARED/models/tiny-gpt2-f32.gguf" 2>/dev/null
"$BIN" model info "$dir/bpe.gguf" | grep -q "tokenizer        bpe pre gpt-2, 50257 tokens" || { echo "FAIL vocab-from"; "$BIN" model info "$dir/bpe.gguf"; fail=1; }
"$BIN" run -m "$dir/bpe.gguf" -p "hello" -n 4 --no-stats >/dev/null
# errors
set +e
"$BIN" model synth --shape nope --type q8_0 --out "$dir/x.gguf" 2>/dev/null; [ $? -eq 1 ] || { echo "FAIL unknown shape"; fail=1; }
"$BIN" model synth --shape tiny --type q3_k --out "$dir/x.gguf" 2>/dev/null; [ $? -eq 2 ] || { echo "FAIL unknown type"; fail=1; }
set -e
exit $fail
