#!/usr/bin/env bash
# The real PostgreSQL and Redis servers the tests run against (no mocks of either).
#
#   tests/servers/servers.sh start DIR   start a throwaway PostgreSQL cluster and a redis-server on
#                                        free loopback ports, data under DIR; write DIR/env
#   tests/servers/servers.sh stop DIR    stop both and remove DIR
#
# CTest runs `start` as the fixture test servers_start and `stop` as servers_stop (CMakeLists.txt),
# so `ctest -R test_x` on a test that needs the servers brings them up and down around it. Tests
# read DIR/env (its path is in CIRRUS_TEST_SERVERS) through tests/servers/lib.bash (shell) or
# tests/unit/servers.h (C), which hand each test its own database and Redis db number, so tests
# run in parallel without seeing each other.
#
# PostgreSQL refuses to run as root: as root the cluster is created and run as the `postgres` user
# (Debian's package creates it). Binaries come from Debian's postgresql package
# (/usr/lib/postgresql/*/bin) and redis-server; scripts/install-deps.sh installs both.
set -euo pipefail

die() { echo "servers: $*" >&2; exit 1; }

cmd=${1:-} dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: servers.sh start|stop DIR"

pgbin=""
for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_ctl" ] && pgbin=$d; done

as_pg() { # runs a command as the cluster's owner
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 40000))
        port_free "$p" && { echo "$p"; return 0; }
    done
    die "no free loopback port found"
}

stop_all() {
    [ -d "$dir" ] || return 0
    local rpid
    rpid=$(cat "$dir/redis.pid" 2>/dev/null || true)
    if [ -n "$rpid" ]; then
        kill "$rpid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$rpid" 2>/dev/null || break; sleep 0.05; done
    fi
    if [ -n "$pgbin" ] && [ -f "$dir/pg/postmaster.pid" ]; then
        as_pg "$pgbin/pg_ctl" -D "$dir/pg" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

case "$cmd" in
start)
    [ -n "$pgbin" ] || die "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin): run scripts/install-deps.sh"
    command -v redis-server >/dev/null || die "redis-server not found: run scripts/install-deps.sh"
    stop_all
    mkdir -p "$dir"
    chmod 755 "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
    as_pg "$pgbin/initdb" -D "$dir/pg" -U cirrus --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    started=""
    for _ in 1 2 3 4 5; do
        pgport=$(pick_port)
        # fsync stays on: the ledger's durability is what several tests check. Small shared
        # buffers and few connections keep a 2-core CI machine responsive.
        if as_pg "$pgbin/pg_ctl" -D "$dir/pg" -l "$dir/pg.log" -w -t 60 \
            -o "-p $pgport -c listen_addresses=127.0.0.1 -k $dir -c max_connections=200 -c shared_buffers=32MB" \
            start >/dev/null 2>&1; then started=1; break; fi
    done
    [ -n "$started" ] || { cat "$dir/pg.log" >&2 2>/dev/null; die "PostgreSQL did not start"; }
    started=""
    for _ in 1 2 3 4 5; do
        rport=$(pick_port)
        redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --databases 4096 \
            --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" >/dev/null 2>&1 || continue
        for _ in $(seq 1 100); do
            [ "$(redis-cli -p "$rport" ping 2>/dev/null)" = PONG ] && { started=1; break; }
            sleep 0.05
        done
        [ -n "$started" ] && break
    done
    [ -n "$started" ] || { cat "$dir/redis.log" >&2 2>/dev/null; die "redis-server did not start"; }
    cat >"$dir/env" <<EOF
CIRRUS_TEST_PG=postgres://cirrus@127.0.0.1:$pgport/postgres
CIRRUS_TEST_PG_PORT=$pgport
CIRRUS_TEST_REDIS=redis://127.0.0.1:$rport
CIRRUS_TEST_REDIS_PORT=$rport
EOF
    echo "servers: PostgreSQL on 127.0.0.1:$pgport, Redis on 127.0.0.1:$rport (data in $dir)"
    ;;
stop)
    stop_all
    echo "servers: stopped"
    ;;
*) die "unknown command '$cmd' (start|stop)" ;;
esac
