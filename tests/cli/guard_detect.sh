#!/usr/bin/env bash
# The watermark end to end through the cirrus binary: keygen, watermarked and plain generation,
# `detect text` (ids and re-tokenized text, --json fields), `detect corpus`, `detect model`, key
# file hygiene (mode, no overwrite, never printed), usage errors.
# Env: CIRRUS_BIN (the cirrus binary).
set -u
: "${CIRRUS_BIN:?CIRRUS_BIN must point at the cirrus binary}"
C="$CIRRUS_BIN"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
ok() { echo "ok   $*"; }
# json FIELD FILE: a field of the first JSON line
json() { jq -r ".$1" <"$2" | head -n 1; }

"$C" model synth --shape tiny --type q8_0 --out "$tmp/tiny.gguf" >/dev/null 2>&1 || { echo "FAIL synth"; exit 1; }
M="$tmp/tiny.gguf"

# ---- keys ----
"$C" guard keygen --out "$tmp/k" 2>"$tmp/err" && [ "$(stat -c %a "$tmp/k")" = 600 ] && ok "keygen writes a 0600 key" || fail "keygen"
key=$(tr -d '\n' <"$tmp/k")
[ ${#key} -eq 64 ] && ok "key file holds 64 hex digits" || fail "key length ${#key}"
if "$C" guard keygen --out "$tmp/k" 2>"$tmp/err"; then fail "keygen replaced an existing key"; else ok "keygen refuses to replace a key"; fi
cp "$tmp/k" "$tmp/k2" && chmod 644 "$tmp/k2"
"$C" detect text -m "$M" --key "$tmp/k2" "$tmp/k" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "chmod 600" "$tmp/err" && ok "a world-readable key is refused" || fail "open key accepted"

# The rest uses a fixed key, so every run scores the same texts the same way (a fresh key per run
# would make each check a coin with a tiny but real chance of failing).
rm -f "$tmp/k"
printf '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n' >"$tmp/k"
chmod 600 "$tmp/k"
key=$(tr -d '\n' <"$tmp/k")

# ---- generation ----
"$C" guard gen -m "$M" --key "$tmp/k" -n 200 --temp 1 --seed 11 --ignore-eos --ids >"$tmp/wm.ids" 2>"$tmp/gen.err" || fail "gen ids"
"$C" guard gen -m "$M" --key "$tmp/k" -n 200 --temp 1 --seed 11 --ignore-eos >"$tmp/wm.txt" 2>>"$tmp/gen.err" || fail "gen text"
"$C" guard gen -m "$M" --no-watermark -n 200 --temp 1 --seed 11 --ignore-eos --ids >"$tmp/plain.ids" 2>>"$tmp/gen.err" || fail "gen plain"
"$C" guard gen -m "$M" --no-watermark -n 200 --temp 1 --seed 11 --ignore-eos >"$tmp/plain.txt" 2>>"$tmp/gen.err" || fail "gen plain text"
[ "$(wc -w <"$tmp/wm.ids")" -eq 200 ] && ok "gen --ids prints 200 ids" || fail "gen printed $(wc -w <"$tmp/wm.ids") ids"
cmp -s "$tmp/wm.ids" "$tmp/plain.ids" && fail "the watermark changed nothing" || ok "the watermark changes the draws"

# ---- detect text ----
"$C" detect text -m "$M" --key "$tmp/k" --ids --json "$tmp/wm.ids" >"$tmp/d1" 2>"$tmp/err" || fail "detect wm ids: $(cat "$tmp/err")"
for f in scored_tokens green_tokens z p_value watermarked; do
    [ "$(json $f "$tmp/d1")" != null ] || fail "--json lacks $f"
done
[ "$(json watermarked "$tmp/d1")" = true ] && ok "watermarked ids detected (z $(json z "$tmp/d1"))" || fail "watermarked ids missed: $(cat "$tmp/d1")"
"$C" detect text -m "$M" --key "$tmp/k" --ids --json "$tmp/plain.ids" >"$tmp/d2" || fail "detect plain ids"
[ "$(json watermarked "$tmp/d2")" = false ] && ok "plain ids not flagged (z $(json z "$tmp/d2"))" || fail "plain ids flagged: $(cat "$tmp/d2")"
"$C" detect text -m "$M" --key "$tmp/k" --json "$tmp/wm.txt" "$tmp/plain.txt" >"$tmp/d3" || fail "detect text"
[ "$(sed -n 1p "$tmp/d3" | jq -r .watermarked)" = true ] && [ "$(sed -n 2p "$tmp/d3" | jq -r .watermarked)" = false ] &&
    ok "re-tokenized text: watermarked detected, plain not" || fail "re-tokenized text: $(cat "$tmp/d3")"
"$C" detect text -m "$M" --key "$tmp/k" --ids --json --fpr 1e-4 "$tmp/wm.ids" >"$tmp/d4" || fail "detect --fpr"
[ "$(json fpr "$tmp/d4")" != null ] && [ "$(json watermarked "$tmp/d4")" = true ] && ok "--fpr verdict" || fail "--fpr: $(cat "$tmp/d4")"
"$C" guard keygen --out "$tmp/other" 2>/dev/null
"$C" detect text -m "$M" --key "$tmp/other" --ids --json "$tmp/wm.ids" >"$tmp/d5" || fail "detect other key"
[ "$(json watermarked "$tmp/d5")" = false ] && ok "another key sees no watermark" || fail "other key: $(cat "$tmp/d5")"
"$C" detect text -m "$M" --key "$tmp/k" --ids --json --gamma 0.5 "$tmp/wm.ids" >"$tmp/d6" || fail "detect --gamma"
[ "$(json gamma "$tmp/d6")" = 0.5 ] && ok "--gamma is used" || fail "--gamma: $(cat "$tmp/d6")"

# ---- corpus and model ----
for i in 1 2 3; do "$C" guard gen -m "$M" --key "$tmp/k" -n 100 --temp 1 --seed $((20 + i)) --ignore-eos --ids >"$tmp/c$i.ids" 2>/dev/null; done
"$C" detect corpus -m "$M" --key "$tmp/k" --ids --json "$tmp"/c*.ids "$tmp/c1.ids" >"$tmp/d7" || fail "detect corpus"
[ "$(json watermarked "$tmp/d7")" = true ] && ok "corpus detected ($(json scored_tokens "$tmp/d7") pairs)" || fail "corpus: $(cat "$tmp/d7")"
"$C" detect corpus -m "$M" --key "$tmp/k" --ids --json "$tmp"/c*.ids >"$tmp/d8"
[ "$(json scored_tokens "$tmp/d7")" = "$(json scored_tokens "$tmp/d8")" ] && ok "a repeated file adds no scored pair" ||
    fail "dedup across files: $(json scored_tokens "$tmp/d7") vs $(json scored_tokens "$tmp/d8")"
"$C" detect model "$M" --key "$tmp/k" --ids --json --texts "$tmp/wm.ids" "$tmp"/c*.ids >"$tmp/d9" 2>"$tmp/err" || fail "detect model: $(cat "$tmp/err")"
[ "$(json watermarked "$tmp/d9")" = false ] && ok "a clean model is not flagged (z $(json z "$tmp/d9"))" || fail "clean model: $(cat "$tmp/d9")"

# ---- errors and hygiene ----
"$C" detect text -m "$M" "$tmp/wm.txt" >/dev/null 2>&1; [ $? -eq 2 ] && ok "missing --key is a usage error" || fail "missing --key"
"$C" detect bogus >/dev/null 2>&1; [ $? -eq 2 ] && ok "unknown subcommand is a usage error" || fail "unknown subcommand"
echo "1 2 99999999" >"$tmp/bad.ids"
"$C" detect text -m "$M" --key "$tmp/k" --ids "$tmp/bad.ids" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "not a token id" "$tmp/err" && ok "bad ids are named" || fail "bad ids: $(cat "$tmp/err")"
if cat "$tmp"/d* "$tmp/gen.err" "$tmp/err" | grep -qi "$key"; then fail "the key appears in an output"; else ok "the key is never printed"; fi
if cat "$tmp"/d* "$tmp"/*.err | grep -qE 'AddressSanitizer|LeakSanitizer|runtime error'; then fail "sanitizer report"; fi

[ $failures -eq 0 ] && echo "guard_detect: all passed" || echo "guard_detect: $failures failed"
[ $failures -eq 0 ]
