#!/usr/bin/env bash
# The grammar engine from the command line, judged by an independent JSON Schema validator (ajv
# + ajv-formats from npm, pinned in tests/schema/package-lock.json):
#  1. seeded random sentences of every schema in tests/data/schemas (a walk of the automaton) all
#     validate; the json_object grammar's sentences are all objects; the validator itself fails
#     on sentences of the wrong schema (a control that it can fail);
#  2. schemas and grammars the engine cannot honour fail with exit 1 and a message that names
#     the keyword and its place, or the line and column;
#  3. end to end on random-weight models (BPE: every schema; SPM: two) through the sample chain
#     and the scheduler, 200 seeded generations per schema -- nested objects, recursion through
#     $defs, recursion to the root with anyOf, oneOf of tagged objects: only the grammar can make these
#     outputs valid, and every one of them is valid and ended by the model (finish "stop"); with
#     json_object every generation that stopped is an object and every other one is reported
#     incomplete (cut by max_tokens: a random model's keys and strings are unbounded).
# Seeds: the sampled sentences take CIRRUS_TEST_SEED, else a random one (printed); the generations
# take CIRRUS_TEST_SEED, else 1: a recursive schema under a random model is a branching process,
# and these seeds are known to end within the token budget. Skips (exit 0) only when node or npm
# is missing.
set -uo pipefail
BIN=${CIRRUS_BIN:?CIRRUS_BIN must name the cirrus binary}
SHARED=${CIRRUS_SHARED:-$(dirname "$0")/../../../shared}
DATA=${CIRRUS_TESTDATA:-$(dirname "$0")/../data}
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "SKIP: node/npm not installed; the schema validator did not run"
    exit 0
fi
NODE_DIR="$(cd "$(dirname "$0")/../schema" && pwd)"
source "$(dirname "$0")/npm_ci.bash"
npm_ci "$NODE_DIR" || exit 1
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
SEED=${CIRRUS_TEST_SEED:-$((RANDOM * 32768 + RANDOM))}
echo "grammar_schema: seed $SEED (CIRRUS_TEST_SEED replays it)"
checks=0 failed=0
ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); failed=$((failed + 1)); echo "FAIL: $*"; }
validate() { (cd "$NODE_DIR" && node validate.mjs "$@"); }

# 1. random sentences
for f in "$DATA"/schemas/*.json; do
    name=$(basename "$f" .json)
    if "$BIN" grammar sample --schema "$f" -n 300 --seed "$SEED" --len 120 >"$TMP/$name.jsonl" 2>"$TMP/err"; then
        if out=$(validate "$f" --min 300 <"$TMP/$name.jsonl"); then ok; else bad "sample $name: $out"; fi
    else
        bad "sample $name: $(cat "$TMP/err")"
    fi
done
"$BIN" grammar sample --json-object -n 300 --seed "$SEED" --len 150 >"$TMP/obj.jsonl" &&
    out=$(validate --kind json-object --min 300 <"$TMP/obj.jsonl") && ok || bad "json-object sample: $out"
"$BIN" grammar sample --schema "$DATA/schemas/person.json" --compact -n 50 --seed "$SEED" >"$TMP/compact.jsonl" &&
    validate "$DATA/schemas/person.json" --min 50 <"$TMP/compact.jsonl" >/dev/null && ok || bad "--compact sentences do not validate"
# the control: sentences of one schema against another must fail
if validate "$DATA/schemas/strings.json" <"$TMP/person.jsonl" >/dev/null; then bad "the validator accepted the wrong schema's sentences"; else ok; fi

# 2. refused with a message naming the keyword / the position
refuse() { # schema-text expected-message
    printf '%s' "$1" >"$TMP/s.json"
    "$BIN" grammar schema "$TMP/s.json" >/dev/null 2>"$TMP/err"; rc=$?
    if [ "$rc" = 1 ] && grep -qF "$2" "$TMP/err"; then ok; else bad "schema $1: exit $rc, '$(cat "$TMP/err")', want '$2'"; fi
}
refuse '{"type":"object","properties":{"zip":{"type":"string","pattern":"^[0-9]{5}$"}}}' "keyword 'pattern' is not supported at /properties/zip"
refuse '{"type":"array","uniqueItems":true}' "keyword 'uniqueItems' is not supported at /"
refuse '{"anyOf":[{"type":"integer"},{"not":{"type":"null"}}]}' "keyword 'not' is not supported at /anyOf/1"
refuse '{"type":"string","format":"email"}' "format 'email' is not supported"
refuse '{"type":"object"' "invalid JSON at line 1"
printf 'root ::= item+\nitem ::= "a" | bogus\n' >"$TMP/g.gbnf"
"$BIN" grammar check "$TMP/g.gbnf" >/dev/null 2>"$TMP/err"
[ $? = 1 ] && grep -qF "grammar:2:16: undefined rule 'bogus'" "$TMP/err" && ok || bad "undefined rule: $(cat "$TMP/err")"
printf 'root ::= (x?)*\nx ::= "a"\n' >"$TMP/g.gbnf"
"$BIN" grammar check "$TMP/g.gbnf" >/dev/null 2>"$TMP/err"
[ $? = 1 ] && grep -qF "grammar:1:14: empty loop" "$TMP/err" && ok || bad "empty loop: $(cat "$TMP/err")"

# 3. end to end on random-weight models. Under a sanitizer build (libasan linked) the forward pass
# is many times slower and the run is there for memory errors, not statistics: 25 generations per
# schema instead of 200.
GEN_SEED=${CIRRUS_TEST_SEED:-1} GEN_N=200
if ldd "$BIN" 2>/dev/null | grep -q libasan; then GEN_N=25; echo "grammar_schema: sanitizer build, $GEN_N generations per schema"; fi
for model in tiny-qwen2-q8_0 tiny-spm-q8_0; do
    m="$SHARED/models/$model.gguf"
    [ -f "$m" ] || { bad "missing $m"; continue; }
    schemas="person tree json_like shapes" # every mode on BPE; the SPM family on two of them (time)
    [ "$model" = tiny-spm-q8_0 ] && schemas="person tree"
    for name in $schemas; do
        f="$DATA/schemas/$name.json"
        if ! "$BIN" grammar gen -m "$m" --schema "$f" -n "$GEN_N" --seed "$GEN_SEED" --max-tokens 1024 >"$TMP/gen.jsonl" 2>"$TMP/err"; then
            bad "gen $model $name: $(cat "$TMP/err")"; continue
        fi
        if out=$(validate "$f" --min "$GEN_N" <"$TMP/gen.jsonl"); then ok; else bad "gen $model $name: $out"; fi
        n_stop=$(grep -c '"finish": "stop", .*"grammar": "complete"' "$TMP/gen.jsonl")
        [ "$n_stop" = "$GEN_N" ] && ok || bad "gen $model $name: $n_stop of $GEN_N ended by the model with a complete value"
    done
    [ "$model" = tiny-qwen2-q8_0 ] || continue
    "$BIN" grammar gen -m "$m" --json-object -n "$GEN_N" --seed "$GEN_SEED" --max-tokens 200 >"$TMP/gen.jsonl" 2>"$TMP/err" || bad "gen json-object: $(cat "$TMP/err")"
    n_all=$(grep -c . "$TMP/gen.jsonl") n_stop=$(grep -c '"finish": "stop"' "$TMP/gen.jsonl")
    n_cut=$(grep -c '"finish": "length", .*"grammar": "incomplete"' "$TMP/gen.jsonl")
    [ "$n_all" = "$GEN_N" ] && [ $((n_stop + n_cut)) = "$GEN_N" ] && ok || bad "json-object $model: $n_stop stopped + $n_cut cut of $n_all"
    if [ "$n_stop" -gt 0 ]; then
        grep '"finish": "stop"' "$TMP/gen.jsonl" | validate --kind json-object --min "$n_stop" >/dev/null && ok || bad "json-object $model: a stopped output is not an object"
    fi
done
echo "grammar_schema: $((checks - failed)) passed, $failed failed"
[ "$failed" = 0 ]
