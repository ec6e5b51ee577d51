# Sourced by shell tests that need PostgreSQL or Redis (tests/servers/servers.sh started them: the
# CTest fixture `servers`). Each call hands the test something of its own, so tests that run in
# parallel never share a database or a Redis db number.
#
#   servers_load            reads $CIRRUS_TEST_SERVERS/env (exits 1 with a message when absent)
#   pg_new_db NAME          creates a fresh database; prints its libpq URI
#   redis_new_db            prints a redis:// URI with a db number no other test got
: "${CIRRUS_TEST_SERVERS:?CIRRUS_TEST_SERVERS must name the folder tests/servers/servers.sh start wrote}"

servers_load() {
    [ -f "$CIRRUS_TEST_SERVERS/env" ] || { echo "FAIL: no servers env in $CIRRUS_TEST_SERVERS (run the servers_start fixture)"; exit 1; }
    # shellcheck disable=SC1091
    . "$CIRRUS_TEST_SERVERS/env"
}

pg_new_db() {
    local name="t_${1//[^A-Za-z0-9_]/_}_$$_$RANDOM"
    psql -q -X -v ON_ERROR_STOP=1 "$CIRRUS_TEST_PG" -c "CREATE DATABASE $name" >/dev/null || {
        echo "FAIL: could not create database $name" >&2; return 1; }
    echo "postgres://cirrus@127.0.0.1:$CIRRUS_TEST_PG_PORT/$name"
}

redis_new_db() {
    # db 0 keeps the counter; numbers wrap within the server's 4096 databases
    local n
    n=$(redis-cli -p "$CIRRUS_TEST_REDIS_PORT" -n 0 INCR cirrus-test:next-db) || return 1
    n=$((n % 4095 + 1))
    redis-cli -p "$CIRRUS_TEST_REDIS_PORT" -n "$n" FLUSHDB >/dev/null || return 1
    echo "redis://127.0.0.1:$CIRRUS_TEST_REDIS_PORT/$n"
}
