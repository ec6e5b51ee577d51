#!/usr/bin/env bash
# Constrained decoding, cirrus beside llama.cpp, on the same model and the same grammar:
#   1. `cirrus grammar bench`: schema compile time, the grammar processor's CPU time per token
#      (first request and warm), decode tokens/s with and without the constraint in pairs;
#   2. llama.cpp's llama-completion without a grammar, with the very GBNF cirrus compiled from the
#      schema (--grammar-file), and with llama.cpp's own JSON-Schema conversion (-jf), in rounds
#      A G J A G J: its "sampling time" per token (which includes its grammar sampler) and its eval
#      tokens/s.
#
#   scripts/bench/grammar_vs_llamacpp.sh --llama-dir "$(scripts/bench/get_llamacpp.sh --with llama-completion)" \
#       --model M.gguf --schema S.json [-n 256] [--rounds 3] [-t 2] [--cirrus build/cirrus]
#
# Prints both tools' lines; nothing is timed as a test. Exit 2 on a missing tool or file.
set -euo pipefail
die() { echo "grammar_vs_llamacpp: $*" >&2; exit 2; }
llama="" model="" schema="" n=256 rounds=3 threads=2 cirrus="$(dirname "$0")/../../build/cirrus"
while [ $# -gt 0 ]; do
  case "$1" in
    --llama-dir) llama=${2:?}; shift ;;
    --model) model=${2:?}; shift ;;
    --schema) schema=${2:?}; shift ;;
    -n) n=${2:?}; shift ;;
    --rounds) rounds=${2:?}; shift ;;
    -t) threads=${2:?}; shift ;;
    --cirrus) cirrus=${2:?}; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (--help lists them)" ;;
  esac
  shift
done
[ -x "$llama/llama-completion" ] || die "--llama-dir must hold llama-completion (get_llamacpp.sh --with llama-completion)"
[ -f "$model" ] && [ -f "$schema" ] || die "--model and --schema must name files"
[ -x "$cirrus" ] || die "no cirrus binary at $cirrus (--cirrus)"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$cirrus" grammar schema "$schema" >"$tmp/g.gbnf"

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $threads threads"
echo "== cirrus $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo '?'): $cirrus grammar bench -m $model --schema $schema -n $n --rounds $rounds -t $threads"
"$cirrus" grammar bench -m "$model" --schema "$schema" -n "$n" --rounds "$rounds" -t "$threads"

echo "== llama.cpp $(git -C "$llama/../.." rev-parse --short HEAD 2>/dev/null || echo '?'): llama-completion -n $n -t $threads --temp 1 (A: no grammar, G: cirrus's GBNF, J: llama.cpp's -jf)"
run() { # label extra-args...: prints "label sampling-ms/token eval-tok/s tokens"
  local label=$1; shift
  "$llama/llama-completion" -m "$model" -p "JSON:" -n "$n" -t "$threads" --temp 1 --seed 1 -c $((n + 64)) -no-cnv \
    --no-warmup "$@" >"$tmp/out" 2>"$tmp/err" </dev/null || { tail -3 "$tmp/err" >&2; die "llama-completion failed ($label)"; }
  local samp runs eval
  samp=$(sed -n 's/.*sampling time = *\([0-9.]*\) ms.*/\1/p' "$tmp/err" | tail -1)
  runs=$(sed -n 's/.*samplers time = *[0-9.]* ms \/ *\([0-9]*\) tokens.*/\1/p' "$tmp/err" | tail -1)
  eval=$(sed -n 's/.* eval time = .* \([0-9.]*\) tokens per second.*/\1/p' "$tmp/err" | grep -v '^$' | tail -1)
  awk -v l="$label" -v s="$samp" -v r="$runs" -v e="$eval" \
    'BEGIN { printf "  %s: sampling %8.1f us/token over %s tokens, eval %7.2f tok/s\n", l, (r > 0 ? 1000 * s / r : 0), r, e }'
}
for r in $(seq "$rounds"); do
  echo " round $r"
  run "A no grammar        "
  run "G cirrus's GBNF     " --grammar-file "$tmp/g.gbnf"
  run "J llama.cpp's -jf   " -jf "$schema"
done
