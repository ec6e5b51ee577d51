#!/usr/bin/env bash
# cirrus report over a ledger export: every report in --json (and CSV for one), key figures checked
# against awk's own computation from the same file (HHI as 10,000·Σr²/T², shares, what-if) or
# against values worked out by hand in the comments below. Edge cases: ties in rank, a share of
# exactly 20% and a fall of exactly 30% (no alert), one tenant, a month with no data.
set -euo pipefail
BIN=${CIRRUS_BIN:?}
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fail=0
ok()   { echo "ok   $*"; }
bad()  { echo "FAIL $*"; fail=1; }
# top-level JSON field (reports print one key per line, two-space indent at the top level)
top()  { sed -n "s/^  \"$1\": \(.*\)$/\1/p" "$2" | sed 's/,$//' | head -1; }
want() { # want NAME GOT EXPECTED
  if [ "$2" == "$3" ]; then ok "$1 = $2"; else bad "$1: got '$2', want '$3'"; fi
}

# Revenue in micro-units by month (totals 90, 105, 120 million: an exact line for the forecast).
#   Jan: video 30, retail 20, taxco 20, partner 10, coder 10
#   Feb: video 28, retail 20, taxco 25, partner 12, coder 20
#   Mar: video 30, retail 24 (exactly 20%), taxco 15 (-40%), partner 15 (ties taxco), coder 14
#        (exactly -30%), tail1..tail6 3 each, tail7 4 (new tenants: one month of history)
# Tokens are revenue/10, so token falls mirror revenue falls. partner's soft budget is 14 million.
cat > "$dir/rows" <<'EOF'
2024-01 video 30 committed
2024-01 retail 20 payg
2024-01 taxco 20 payg
2024-01 partner 10 reserved
2024-01 coder 10 payg
2024-02 video 28 committed
2024-02 retail 20 payg
2024-02 taxco 25 payg
2024-02 partner 12 reserved
2024-02 coder 20 payg
2024-03 video 30 committed
2024-03 retail 24 payg
2024-03 taxco 15 payg
2024-03 partner 15 reserved
2024-03 coder 14 payg
2024-03 tail1 3 payg
2024-03 tail2 3 payg
2024-03 tail3 3 payg
2024-03 tail4 3 payg
2024-03 tail5 3 payg
2024-03 tail6 3 payg
2024-03 tail7 4 payg
EOF
# Split each month's revenue over two records (one day-dated) so the sums are exercised.
{
  echo "tenant,plan,model,period,revenue,prompt_tokens,completion_tokens,requests,soft_budget"
  awk '{ r = $3 * 1000000; a = int(r / 3); t = r / 10; ta = int(t / 3);
         printf "%s,%s,m-large,%s-07,%d,%d,0,1,\n", $2, $4, $1, a, ta;
         printf "%s,%s,m-small,%s,%d,%d,0,2,\n", $2, $4, $1, r - a, t - ta }' "$dir/rows"
  echo "partner,,,,,,,,14000000"
} > "$dir/ledger.csv"

# ---- concentration, March -------------------------------------------------------------------
"$BIN" report concentration --ledger "$dir/ledger.csv" --month 2024-03 --json > "$dir/c.json"
read -r T HHI TOP1 TOP5 < <(awk '$1 == "2024-03" { r[$2] += $3 * 1e6; t += $3 * 1e6 }
  END { for (k in r) { s += r[k] * r[k]; v[++n] = r[k] }
        for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j] > v[j-1]; j--) { x = v[j]; v[j] = v[j-1]; v[j-1] = x }
        printf "%d %.2f %.6f %.6f\n", t, 10000 * s / (t * t), v[1] / t, (v[1]+v[2]+v[3]+v[4]+v[5]) / t }' "$dir/rows")
want "total_revenue" "$(top total_revenue "$dir/c.json")" "$T"
want "hhi" "$(top hhi "$dir/c.json")" "$HHI"
want "hhi_band" "$(top hhi_band "$dir/c.json")" '"moderately concentrated"'
want "top1_share" "$(top top1_share "$dir/c.json")" "$(printf '%s' "$TOP1" | sed 's/0*$//')"
want "top5_share" "$(top top5_share "$dir/c.json")" "$TOP5"
# major customers (>= 10%): ranked, and the tie partner/taxco at 15 million goes by name
majors=$(sed -n '/^  "major_customers": \[/,/^  \]/p' "$dir/c.json" | grep -o '"[a-z0-9]*"' | tr -d '"' | tr '\n' ' ')
want "major_customers" "$majors" "video retail partner taxco coder "
order=$(grep -o '"name": "[a-z0-9]*"' "$dir/c.json" | head -12 | sed 's/.*: "\(.*\)"/\1/' | tr '\n' ' ')
want "rank order" "$order" "video retail partner taxco coder tail7 tail1 tail2 tail3 tail4 tail5 tail6 "
# the trend row for March says the band changed (February was highly concentrated)
grep -q '"hhi_band_changed": true' "$dir/c.json" && ok "trend: band change flagged" || bad "trend: band change"

# CSV: a header row and one row per tenant
"$BIN" report concentration --ledger "$dir/ledger.csv" --month 2024-03 --csv > "$dir/c.csv"
want "csv header" "$(head -1 "$dir/c.csv")" "scenario,rank,tenant,plan,revenue,share,cumulative_share,major"
want "csv rows" "$(tail -n +2 "$dir/c.csv" | wc -l)" "12"
want "csv first" "$(sed -n 2p "$dir/c.csv")" "actual,1,video,committed,30000000,0.250000,0.250000,true"

# ---- what-if ----------------------------------------------------------------------------------
"$BIN" report concentration --ledger "$dir/ledger.csv" --month 2024-03 --without video --json > "$dir/w.json"
WHHI=$(awk '$1 == "2024-03" && $2 != "video" { r[$2] += $3 * 1e6; t += $3 * 1e6 }
  END { for (k in r) s += r[k] * r[k]; printf "%.2f\n", 10000 * s / (t * t) }' "$dir/rows")
want "without video: revenue_after" "$(sed -n 's/^    "revenue_after": \(.*\),$/\1/p' "$dir/w.json")" "90000000"
want "without video: hhi after" "$(sed -n '/"after": {/,/}/p' "$dir/w.json" | sed -n 's/.*"hhi": \(.*\),$/\1/p')" "$WHHI"
"$BIN" report concentration --ledger "$dir/ledger.csv" --month 2024-03 --cut video:30 --json > "$dir/w2.json"
want "cut video 30%" "$(sed -n 's/^    "tenant_revenue_after": \(.*\),$/\1/p' "$dir/w2.json")" "21000000"

# ---- revenue -----------------------------------------------------------------------------------
"$BIN" report revenue --ledger "$dir/ledger.csv" --from 2024-03-01 --to 2024-03-31 --json > "$dir/r.json"
want "march growth" "$(sed -n 's/^      "growth": \(.*\),$/\1/p' "$dir/r.json" | head -1)" "0.142857"  # 120/105 - 1
want "march tokens" "$(sed -n '/"months"/,$p' "$dir/r.json" | sed -n 's/^      "tokens": \(.*\),$/\1/p' | head -1)" "12000000"
"$BIN" report revenue --ledger "$dir/ledger.csv" --csv > "$dir/r.csv"
grep -q '^2024-03,tenant,taxco,15000000,0.125000,-0.400000,' "$dir/r.csv" && ok "revenue csv: taxco -40%" \
  || bad "revenue csv: taxco row"

# ---- forecast: totals 90, 105, 120 million are a line, so April..June are exact ------------------
"$BIN" report forecast --ledger "$dir/ledger.csv" --from 2024-01-01 --to 2024-03-31 --json > "$dir/f.json"
pts=$(sed -n '/^  "total": {/,/^  }/p' "$dir/f.json" | grep -E '"(revenue|lower|upper)"' | sed 's/.*: \([0-9]*\).*/\1/' | tr '\n' ' ')
want "total forecast (point lower upper) x3" "$pts" "135000000 135000000 135000000 150000000 150000000 150000000 165000000 165000000 165000000 "
want "total method" "$(sed -n '/^  "total": {/,/^  }/p' "$dir/f.json" | sed -n 's/.*"method": "\(.*\)",/\1/p')" "ols-linear-trend"
grep -A3 '"name": "tail7"' "$dir/f.json" | grep -q '"method": "naive"' && ok "tail7: naive (one month)" || bad "tail7 method"
grep -A5 '"name": "tail7"' "$dir/f.json" | grep -q '"short_history": true' && ok "tail7: short history flagged" || bad "tail7 short_history"

# ---- alerts, March: band high -> moderate, video above 20% (retail at exactly 20% is not), taxco
# revenue and tokens -40% (coder's exact -30% is not), partner's soft budget reached ----------------
"$BIN" report alerts --ledger "$dir/ledger.csv" --month 2024-03 --json > "$dir/a.json"
kinds=$(grep -E '^      "(kind|tenant)"' "$dir/a.json" | sed 's/.*: //; s/[",]//g' | paste -sd' ')
want "march alerts" "$kinds" "hhi_band null share video revenue_drop taxco tokens_drop taxco soft_budget partner"
"$BIN" report alerts --ledger "$dir/ledger.csv" --month 2024-03 --share-threshold 19.99 --drop 29.99 --json > "$dir/a2.json"
grep -q '"tenant": "retail"' "$dir/a2.json" && ok "threshold 19.99%: retail fires" || bad "retail at 19.99%"
grep -q '"tenant": "coder"' "$dir/a2.json" && ok "drop 29.99%: coder fires" || bad "coder at 29.99%"

# ---- edge cases ---------------------------------------------------------------------------------
echo '{"tenant":"solo","period":"2024-03-02","revenue":5}' > "$dir/one.jsonl"
"$BIN" report concentration --ledger "$dir/one.jsonl" --json > "$dir/one.json"
want "one tenant: hhi" "$(top hhi "$dir/one.json")" "10000.0"
want "one tenant: gini" "$(top gini "$dir/one.json")" "0.0"
want "one tenant: band" "$(top hhi_band "$dir/one.json")" '"highly concentrated"'
"$BIN" report concentration --ledger "$dir/ledger.csv" --month 2024-05 --json > "$dir/empty.json"
want "empty month: hhi" "$(top hhi "$dir/empty.json")" "null"
want "empty month: band" "$(top hhi_band "$dir/empty.json")" '"undefined"'
grep -q 'shares, HHI and Gini are undefined' "$dir/empty.json" && ok "empty month: note" || bad "empty month note"

# ---- errors --------------------------------------------------------------------------------------
set +e
"$BIN" report concentration --ledger "$dir/ledger.csv" --month 2024-13 >/dev/null 2>&1; want "bad --month exit" "$?" "2"
"$BIN" report concentration --month 2024-03 >/dev/null 2>&1; want "no source exit" "$?" "2"
printf 'tenant,period,revenue\nx,2024-03,-4\n' > "$dir/neg.csv"
msg=$("$BIN" report revenue --ledger "$dir/neg.csv" 2>&1 >/dev/null); rc=$?
want "negative revenue exit" "$rc" "1"
case "$msg" in *"line 2: revenue is negative"*) ok "error names line and field";; *) bad "error message: $msg";; esac
"$BIN" report concentration --ledger "$dir/ledger.csv" --without nobody >/dev/null 2>&1; want "unknown what-if tenant exit" "$?" "1"
set -e
exit $fail
