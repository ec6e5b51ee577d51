#!/usr/bin/env bash
# cirrus run: greedy decoding reproduces the reference `generated` ids for every case of every
# model in shared/reference, and the same seed prints the same text twice (different seeds differ).
set -euo pipefail
BIN=${CIRRUS_BIN:?}; SHARED=${CIRRUS_SHARED:?}
fail=0
for ref in "$SHARED"/reference/*.json; do
  name=$(basename "$ref" .json)
  model="$SHARED/models/$name.gguf"
  # Architectures cirrus does not load yet (issue #20: qwen3, gemma3, phi3) are named, not hidden.
  why=$("$BIN" run -m "$model" -p x -n 1 --no-stats 2>&1 >/dev/null) || true
  if grep -q "architecture .* is not supported" <<<"$why"; then
    echo "SKIP $name: $why"
    continue
  fi
  mapfile -t prompts < <(grep -o '"prompt":"[^"]*"' "$ref" | sed 's/^"prompt":"//; s/"$//')
  mapfile -t gens < <(grep -o '"generated":\[[0-9,]*\]' "$ref" | sed 's/^"generated":\[//; s/\]$//; s/,/ /g')
  for i in "${!prompts[@]}"; do
    got=$("$BIN" run -m "$model" -p "${prompts[$i]}" --temp 0 -n 32 --ignore-eos --ids --no-stats)
    # Random-weight models can have near-ties where engines legitimately differ; the reference's
    # top-1 must match wherever it is clear, which test_parity checks logit by logit. Here the
    # trained stories260K model must match exactly, and the others on a common prefix of 8.
    want=${gens[$i]}
    if [ "$name" = stories260K ]; then
      [ "$got" = "$want" ] || { echo "FAIL $name case $i: got '$got' want '$want'"; fail=1; }
    else
      g8=$(echo "$got" | cut -d' ' -f1-8); w8=$(echo "$want" | cut -d' ' -f1-8)
      [ "$g8" = "$w8" ] || { echo "FAIL $name case $i: first 8 ids '$g8' want '$w8'"; fail=1; }
    fi
  done
  echo "ok   $name greedy"
done

m="$SHARED/models/stories260K.gguf"
a=$("$BIN" run -m "$m" -p "Once upon a time" -n 48 --seed 1234 --temp 0.9 --no-stats)
b=$("$BIN" run -m "$m" -p "Once upon a time" -n 48 --seed 1234 --temp 0.9 --no-stats)
c=$("$BIN" run -m "$m" -p "Once upon a time" -n 48 --seed 99 --temp 0.9 --no-stats)
[ "$a" = "$b" ] || { echo "FAIL same seed, different text"; fail=1; }
[ "$a" != "$c" ] || { echo "FAIL different seeds, same text"; fail=1; }
[ -n "$a" ] || { echo "FAIL empty output"; fail=1; }
echo "ok   seeded sampling is deterministic"

# bad input: clear error, exit 1 or 2, never a crash
set +e
"$BIN" run -m /nonexistent.gguf -p hi >/dev/null 2>/tmp/cirrus_run_err.$$; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "cirrus: error:" /tmp/cirrus_run_err.$$ || { echo "FAIL missing model: rc $rc"; fail=1; }
set +e
"$BIN" run -m "$m" -p hi --temp banana >/dev/null 2>/tmp/cirrus_run_err.$$; rc=$?
set -e
[ $rc -eq 2 ] || { echo "FAIL bad --temp: rc $rc"; fail=1; }
rm -f /tmp/cirrus_run_err.$$
exit $fail
