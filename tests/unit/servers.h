/*
 * The C counterpart of tests/servers/lib.bash, for unit tests that need the real PostgreSQL and
 * Redis servers tests/servers/servers.sh started (the CTest fixture `servers`). Each call hands the
 * test something of its own, so tests that run in parallel never share a database or a Redis db.
 *
 *   servers_load()                 reads $CIRRUS_TEST_SERVERS/env (a message and -1 when absent)
 *   servers_pg_new_db(NAME, ...)   creates a fresh database; gives its libpq URI (databases are
 *                                  not dropped: DROP DATABASE checkpoints, ~1 s each, and the
 *                                  whole cluster is thrown away when the fixture stops)
 *   servers_redis_new_db(...)      gives a redis:// URI with a db number no other caller got
 *
 * CMake starts the fixture for a test whose own .c file mentions CIRRUS_TEST_SERVERS (it does not
 * look into headers): a test that includes this header must name that variable in its source.
 */
#ifndef CIRRUS_TEST_SERVERS_H
#define CIRRUS_TEST_SERVERS_H

#include <arpa/inet.h>
#include <ctype.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char servers_pg_admin[600]; /* the maintenance database's URI */
static int servers_pg_port, servers_redis_port;

static inline int servers_load(void) {
    const char *dir = getenv("CIRRUS_TEST_SERVERS");
    char path[1024], line[600];
    snprintf(path, sizeof path, "%s/env", dir ? dir : "");
    FILE *f = dir && *dir ? fopen(path, "r") : NULL;
    if (!f) {
        fprintf(stderr, "FAIL: no servers env in '%s' (CIRRUS_TEST_SERVERS; run the servers_start fixture: ctest -R ...)\n",
                dir ? dir : "");
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, "CIRRUS_TEST_PG=", 15)) snprintf(servers_pg_admin, sizeof servers_pg_admin, "%s", line + 15);
        else if (!strncmp(line, "CIRRUS_TEST_PG_PORT=", 20)) servers_pg_port = atoi(line + 20);
        else if (!strncmp(line, "CIRRUS_TEST_REDIS_PORT=", 23)) servers_redis_port = atoi(line + 23);
    }
    fclose(f);
    if (!servers_pg_admin[0] || !servers_pg_port || !servers_redis_port) {
        fprintf(stderr, "FAIL: %s is incomplete\n", path);
        return -1;
    }
    return 0;
}

/* Runs one statement on the maintenance database; 0 on success (prints the error otherwise). */
static inline int servers_pg_admin_exec(const char *sql) {
    PGconn *c = PQconnectdb(servers_pg_admin);
    int rc = -1;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, sql);
        rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
        if (rc) fprintf(stderr, "servers: %s: %s", sql, PQresultErrorMessage(r));
        PQclear(r);
    } else {
        fprintf(stderr, "servers: %s", PQerrorMessage(c));
    }
    PQfinish(c);
    return rc;
}

/* A fresh database "t_NAME_PID_N"; its URI into uri. 0 on success. */
static inline int servers_pg_new_db(const char *name, char *uri, size_t cap) {
    static int seq;
    char db[64], sql[128];
    int k = snprintf(db, sizeof db, "t_%.30s", name);
    for (int i = 2; i < k; i++)
        if (!isalnum((unsigned char)db[i])) db[i] = '_';
        else db[i] = (char)tolower((unsigned char)db[i]);
    snprintf(db + k, sizeof db - (size_t)k, "_%d_%d", (int)getpid(), ++seq);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db); /* the name is [a-z0-9_] by construction */
    if (servers_pg_admin_exec(sql)) return -1;
    snprintf(uri, cap, "postgres://cirrus@127.0.0.1:%d/%s", servers_pg_port, db);
    return 0;
}

/* One command over RESP; the reply's first line into out. 0 on success. */
static inline int servers_redis_cmd(int fd, const char *const *argv, int argc, char *out, size_t cap) {
    char buf[512];
    int n = snprintf(buf, sizeof buf, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) n += snprintf(buf + n, sizeof buf - (size_t)n, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
    if (write(fd, buf, (size_t)n) != n) return -1;
    size_t k = 0;
    while (k + 1 < cap) { /* one line is all these replies are */
        if (read(fd, out + k, 1) != 1) return -1;
        if (out[k++] == '\n') break;
    }
    out[k] = 0;
    return out[0] == '-' ? -1 : 0;
}

/* db 0 keeps the counter; numbers wrap within the server's 4096 databases (as lib.bash does). */
static inline int servers_redis_new_db(char *uri, size_t cap) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)servers_redis_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char reply[64], num[16];
    int rc = -1;
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        const char *incr[] = {"INCR", "cirrus-test:next-db"};
        if (servers_redis_cmd(fd, incr, 2, reply, sizeof reply) == 0 && reply[0] == ':') {
            snprintf(num, sizeof num, "%ld", atol(reply + 1) % 4095 + 1);
            const char *sel[] = {"SELECT", num}, *flush[] = {"FLUSHDB"};
            if (servers_redis_cmd(fd, sel, 2, reply, sizeof reply) == 0 && servers_redis_cmd(fd, flush, 1, reply, sizeof reply) == 0) {
                snprintf(uri, cap, "redis://127.0.0.1:%d/%s", servers_redis_port, num);
                rc = 0;
            }
        }
    }
    if (fd >= 0) close(fd);
    if (rc) fprintf(stderr, "servers: could not get a Redis db on port %d\n", servers_redis_port);
    return rc;
}

#endif
