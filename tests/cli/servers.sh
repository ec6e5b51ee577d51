#!/usr/bin/env bash
# The test servers themselves (tests/servers/servers.sh, started by the CTest fixture): PostgreSQL
# takes a fresh database per caller and enforces what the store relies on from it; Redis hands out
# distinct db numbers. Uses CIRRUS_TEST_SERVERS through tests/servers/lib.bash.
set -euo pipefail
. "$(dirname "$0")/../servers/lib.bash"
servers_load
fail=0
a=$(pg_new_db smoke_a) b=$(pg_new_db smoke_b)
[ "$a" != "$b" ] || { echo "FAIL two callers got one database"; fail=1; }
psql -q -X -v ON_ERROR_STOP=1 "$a" -c "CREATE TABLE t(x int)" -c "INSERT INTO t VALUES (1)"
[ "$(psql -X -tA "$b" -c "SELECT count(*) FROM pg_tables WHERE tablename = 't'")" = 0 ] ||
    { echo "FAIL databases are not separate"; fail=1; }
[ "$(psql -X -tA "$a" -c "SHOW fsync")" = on ] || { echo "FAIL fsync is off"; fail=1; }
echo "ok   PostgreSQL: separate databases, fsync on"
r1=$(redis_new_db) r2=$(redis_new_db)
[ "$r1" != "$r2" ] || { echo "FAIL two callers got one Redis db"; fail=1; }
redis-cli -u "$r1" SET k v >/dev/null
[ -z "$(redis-cli -u "$r2" GET k)" ] || { echo "FAIL Redis dbs are not separate"; fail=1; }
echo "ok   Redis: separate dbs"
exit $fail
