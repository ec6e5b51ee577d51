#!/usr/bin/env bash
# scripts/bench/vs_llamacpp.sh against stand-ins for llama-bench and llama-batched-bench that print
# their real output formats (llama-bench -o jsonl; llama-batched-bench's table) with known figures:
# the script must pick llama.cpp's numbers out of them, take cirrus's from `cirrus bench --json`,
# form the ratios and judge them against the issue's targets; and fail clearly when a tool is
# missing or an argument is wrong.
set -euo pipefail
BIN=${CIRRUS_BIN:?}; SHARED=${CIRRUS_SHARED:?}
script="$(cd "$(dirname "$0")/../.." && pwd)/scripts/bench/vs_llamacpp.sh"
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fail=0
model="$SHARED/models/stories260K.gguf"

mkdir -p "$dir/llama"
# llama-bench: one JSON object per test, the fields the script reads among the others it prints.
cat >"$dir/llama/llama-bench" <<'EOF'
#!/usr/bin/env bash
p=512 n=128
while [ $# -gt 0 ]; do case "$1" in -p) p=$2; shift ;; -n) n=$2; shift ;; esac; shift; done
echo "{\"build_commit\": \"stub\", \"model_filename\": \"m.gguf\", \"n_threads\": 2, \"flash_attn\": false, \"n_prompt\": $p, \"n_gen\": 0, \"n_depth\": 0, \"avg_ns\": 1, \"stddev_ns\": 0, \"avg_ts\": 1000.5, \"stddev_ts\": 3.1, \"samples_ts\": [ 1000.5 ]}"
echo "{\"build_commit\": \"stub\", \"model_filename\": \"m.gguf\", \"n_threads\": 2, \"flash_attn\": false, \"n_prompt\": 0, \"n_gen\": $n, \"n_depth\": 0, \"avg_ns\": 1, \"stddev_ns\": 0, \"avg_ts\": 400.25, \"stddev_ts\": 1.0, \"samples_ts\": [ 400.25 ]}"
EOF
# llama-batched-bench: its log lines, then the markdown table; S_TG = 100 * B here.
cat >"$dir/llama/llama-batched-bench" <<'EOF'
#!/usr/bin/env bash
pp=128 tg=128 npl=1
while [ $# -gt 0 ]; do case "$1" in -npp) pp=$2; shift ;; -ntg) tg=$2; shift ;; -npl) npl=$2; shift ;; esac; shift; done
echo "main: n_kv_max = 4096, n_batch = 2048, n_ubatch = 512, flash_attn = 0, is_pp_shared = 0, n_threads = 2"
echo
echo "|    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s |      T s |    S t/s |"
echo "|-------|--------|------|--------|----------|----------|----------|----------|----------|----------|"
for b in ${npl//,/ }; do
  printf "| %5d | %6d | %4d | %6d | %8.3f | %8.2f | %8.3f | %8.2f | %8.3f | %8.2f |\n" \
    "$pp" "$tg" "$b" $(( b * (pp + tg) )) 0.5 999.99 1.0 $(( 100 * b )) 1.5 123.45
done
EOF
chmod +x "$dir/llama/llama-bench" "$dir/llama/llama-batched-bench"

args=(--llama-dir "$dir/llama" --models "$model" -p 16 -n 8 --batch 1,16 --batch-prompt 8 --batch-gen 4
      --rounds 2 --reps 1)
out=$(CIRRUS_BIN="$BIN" bash "$script" "${args[@]}" --json 2>"$dir/err") || { cat "$dir/err"; echo "FAIL: the script failed"; exit 1; }
check() { # check NAME JQ-EXPRESSION (must print true)
  if [ "$(jq -r "$2" <<<"$out")" = "true" ]; then echo "ok   $1"; else echo "FAIL $1: $2 on $out"; fail=1; fi
}
check "one file, two rounds" '.files | length == 1 and .[0].rounds == 2 and .[0].file == "'"$model"'"'
check "llama.cpp prefill from llama-bench" '.files[0].figures[] | select(.figure == "prefill") | .llama_cpp == 1000.5'
check "llama.cpp decode from llama-bench" '.files[0].figures[] | select(.figure == "decode") | .llama_cpp == 400.25'
check "llama.cpp batched from the S_TG column" '[.files[0].figures[] | select(.figure | startswith("batched")) | .llama_cpp] == [100, 1600]'
check "cirrus figures measured" '[.files[0].figures[].cirrus | . > 0] | all and length == 4'
check "ratios are cirrus / llama.cpp" '[.files[0].figures[] | ((.ratio - .cirrus / .llama_cpp) | fabs) < 1e-9] | all'
check "targets: 1.5x prefill and 16 sequences, 0.95x decode" \
  '[.files[0].figures[] | .target] == [1.5, 0.95, null, 1.5]'
check "met follows ratio >= target" \
  '[.files[0].figures[] | select(.target != null) | .met == (.ratio >= .target)] | all'
check "no target, no verdict" '[.files[0].figures[] | select(.target == null) | .met == null] | all'
check "cirrus peak RSS reported" '.files[0].peak_rss_mib > 0'

# the human table has the same rows
table=$(CIRRUS_BIN="$BIN" bash "$script" "${args[@]}" --rounds 1 2>/dev/null)
for fig in prefill decode "batched 1" "batched 16"; do
  grep -q "stories260K.gguf *$fig " <<<"$table" || { echo "FAIL table row '$fig':"; echo "$table"; fail=1; }
done
grep -q "1000.5" <<<"$table" || { echo "FAIL table lacks llama.cpp's prefill figure"; fail=1; }
echo "ok   table: $(wc -l <<<"$table") lines"

# what is missing or wrong is said, with exit status 2
expect_fail() { # expect_fail WHAT PATTERN ARGS...
  local what=$1 pat=$2; shift 2
  set +e; msg=$(CIRRUS_BIN="$BIN" PATH="/usr/bin:/bin" bash "$script" "$@" 2>&1 >/dev/null); rc=$?; set -e
  if [ "$rc" -eq 2 ] && grep -q "$pat" <<<"$msg"; then echo "ok   $what: $msg"
  else echo "FAIL $what: rc=$rc msg=$msg"; fail=1; fi
}
expect_fail "no llama.cpp" "llama-bench not found" --models "$model"
expect_fail "empty llama dir" "llama-bench not found in" --llama-dir "$dir" --models "$model"
expect_fail "bad rounds" "rounds must be a positive integer" --llama-dir "$dir/llama" --rounds x
expect_fail "bad batch list" "batch must be a list" --llama-dir "$dir/llama" --batch "1,,4"
expect_fail "unknown argument" "unknown argument" --frobnicate
expect_fail "unreadable model" "cannot read model file" --llama-dir "$dir/llama" --models "$dir/none.gguf"
exit $fail
