#!/usr/bin/env bash
# Durable ledger throughput on both store backends, side by side on this machine (issue #15's
# "durable ledger throughput into PostgreSQL with group commit, goal >= 20,000 records/s"):
# `cirrus ledger-bench` into a fresh SQLite file and into a fresh PostgreSQL database, in
# alternating order for --rounds rounds (SQLite first, then PostgreSQL first, ...), so a slow
# minute of a shared machine lands on both. Each run gets a new store, so no run measures a table
# the previous one grew.
#
#   scripts/bench/ledger_stores.sh [--pg URI] [--records N] [--threads T] [--rounds R]
#
# Without --pg a throwaway PostgreSQL cluster is started (tests/servers/servers.sh: initdb on a
# loopback port, fsync on, synchronous_commit on) and stopped at the end; with --pg URI (a
# maintenance database such as postgres://USER@HOST:PORT/postgres) a database is created per run
# on that server. Prints one line per run and the medians. Exit status 0, 2 when something is
# missing.
set -euo pipefail
die() { echo "ledger_stores: $*" >&2; exit 2; }
BIN=${CIRRUS_BIN:-./build/cirrus}
pg="" records=300000 threads=2 rounds=3
while [ $# -gt 0 ]; do
  case "$1" in
    --pg) pg=${2:?}; shift ;;
    --records) records=${2:?}; shift ;;
    --threads) threads=${2:?}; shift ;;
    --rounds) rounds=${2:?}; shift ;;
    *) die "unknown option $1" ;;
  esac
  shift
done
[ -x "$BIN" ] || die "no cirrus binary at $BIN (CIRRUS_BIN)"
command -v psql >/dev/null || die "psql not found (Debian's postgresql-client)"
work=$(mktemp -d)
chmod 755 "$work" # the postgres user runs the throwaway cluster under it
cleanup() {
  [ -n "${servers:-}" ] && bash "$(dirname "$0")/../../tests/servers/servers.sh" stop "$servers" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
if [ -z "$pg" ]; then
  servers="$work/servers"
  bash "$(dirname "$0")/../../tests/servers/servers.sh" start "$servers" >/dev/null || die "could not start PostgreSQL"
  . "$servers/env"
  pg=$CIRRUS_TEST_PG
fi
base=${pg%/*}
run() { # run sqlite|postgresql N: prints records/s
  local db
  if [ "$1" = sqlite ]; then db="$work/bench-$2.db"
  else
    psql -q -X -v ON_ERROR_STOP=1 "$pg" -c "CREATE DATABASE cirrus_ledger_bench_$$_$2" >/dev/null
    db="$base/cirrus_ledger_bench_$$_$2"
  fi
  "$BIN" ledger-bench --db "$db" --pepper-file "$work/pepper" --requests 20000 --records "$records" --threads "$threads" --json |
    sed -n 's/.*"records_per_s":\([0-9]*\).*/\1/p'
}
declare -a S P
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) = 1 ]; then s=$(run sqlite "$r"); p=$(run postgresql "$r")
  else p=$(run postgresql "$r"); s=$(run sqlite "$r"); fi
  S+=("$s") P+=("$p")
  echo "round $r: sqlite $s records/s, postgresql $p records/s (load $(cut -d' ' -f1 /proc/loadavg))"
done
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; $records records, $threads threads"
echo "median: sqlite $(med "${S[@]}") records/s, postgresql $(med "${P[@]}") records/s (goal for postgresql: 20000)"
