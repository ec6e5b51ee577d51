/*
 * Every store backend as a test configuration: a test written once against store.h runs its
 * cases on a SQLite file and on a PostgreSQL database (tests/unit/servers.h), as SQLite runs its
 * own suite under permutations. CIRRUS_TEST_BACKENDS=sqlite (or postgresql) narrows a run by hand;
 * a test run without the servers fixture fails rather than silently testing one backend.
 *
 *   tb_backends(names)       the backends this run covers (their names, count returned)
 *   tb_fresh(&t, name, what) a new, empty store location of that backend: a file in a new folder,
 *                            or a new schema (search_path in the URI) in the one database this
 *                            test process creates: CREATE SCHEMA takes milliseconds where CREATE
 *                            DATABASE takes a large part of a second
 *   tb_raw(&t, sql)          SQL straight to the database, past the store (to attack the schema)
 *   tb_remove(&t)            deletes a SQLite store (file and sidecars); databases stay
 */
#ifndef CIRRUS_TEST_STORE_BACKENDS_H
#define CIRRUS_TEST_STORE_BACKENDS_H

#include <ctype.h>
#include <errno.h> /* program_invocation_short_name */
#include <sqlite3.h>
#include <stdbool.h>

#include "servers.h"

typedef struct {
    const char *backend;  /* "sqlite" | "postgresql" */
    char loc[512];        /* what store_open takes */
    char dir[256];        /* sqlite: the temp folder holding the file */
    char err[512];        /* tb_raw's last error */
} tb_store;

static inline bool tb_is_pg(const tb_store *t) { return !strcmp(t->backend, "postgresql"); }

static inline int tb_backends(const char *names[2]) {
    const char *only = getenv("CIRRUS_TEST_BACKENDS");
    int n = 0;
    if (!only || !*only || strstr(only, "sqlite")) names[n++] = "sqlite";
    if (!only || !*only || strstr(only, "postgresql")) {
        if (servers_load()) return -1;
        names[n++] = "postgresql";
    }
    return n;
}

static inline int tb_fresh(tb_store *t, const char *backend, const char *what) {
    memset(t, 0, sizeof *t);
    t->backend = backend;
    if (!strcmp(backend, "sqlite")) {
        const char *tmp = getenv("TMPDIR");
        snprintf(t->dir, sizeof t->dir, "%s/cirrus-%.40s-XXXXXX", tmp && *tmp ? tmp : "/tmp", what);
        if (!mkdtemp(t->dir)) return -1;
        snprintf(t->loc, sizeof t->loc, "%s/test.db", t->dir);
        return 0;
    }
    static char db[400];
    static int seq;
    if (!db[0] && servers_pg_new_db(program_invocation_short_name, db, sizeof db)) return -1;
    char schema[64], sql[128];
    int k = snprintf(schema, sizeof schema, "s%d_%.40s", ++seq, what);
    for (int i = 0; i < k; i++)
        if (!isalnum((unsigned char)schema[i])) schema[i] = '_';
        else schema[i] = (char)tolower((unsigned char)schema[i]);
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s", schema); /* [a-z0-9_] by construction */
    PGconn *c = PQconnectdb(db);
    PGresult *r = PQexec(c, sql);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc) fprintf(stderr, "tb_fresh: %s: %s%s", sql, PQresultErrorMessage(r), PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    snprintf(t->loc, sizeof t->loc, "%s?options=-csearch_path%%3D%s", db, schema);
    return rc;
}

/* A connection of the test's own to t's database, quiet about notices ("truncate cascades"). */
static inline PGconn *tb_pg_connect(const tb_store *t) {
    PGconn *c = PQconnectdb(t->loc);
    if (PQstatus(c) == CONNECTION_OK) PQclear(PQexec(c, "SET client_min_messages = warning"));
    return c;
}

static inline int tb_raw(const tb_store *t, const char *sql) {
    tb_store *m = (tb_store *)t;
    m->err[0] = 0;
    if (!tb_is_pg(t)) {
        sqlite3 *db;
        if (sqlite3_open(t->loc, &db) != SQLITE_OK) return -1;
        sqlite3_busy_timeout(db, 5000);
        sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL); /* as the store's own connections */
        char *msg = NULL;
        int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
        if (msg) snprintf(m->err, sizeof m->err, "%s", msg);
        sqlite3_free(msg);
        sqlite3_close(db);
        return rc;
    }
    PGconn *c = tb_pg_connect(t);
    int rc = -1;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, sql);
        ExecStatusType es = PQresultStatus(r);
        rc = es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK ? 0 : 1;
        if (rc) snprintf(m->err, sizeof m->err, "%s", PQresultErrorMessage(r));
        PQclear(r);
    } else {
        snprintf(m->err, sizeof m->err, "%s", PQerrorMessage(c));
    }
    PQfinish(c);
    return rc;
}

/* The first column of the first row of a query, as text ("" when none); 0 on success. */
static inline int tb_raw_value(const tb_store *t, const char *sql, char *out, size_t cap) {
    out[0] = 0;
    if (!tb_is_pg(t)) {
        sqlite3 *db;
        sqlite3_stmt *st = NULL;
        int rc = -1;
        if (sqlite3_open(t->loc, &db) != SQLITE_OK) return -1;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
            int s = sqlite3_step(st);
            if (s == SQLITE_ROW && sqlite3_column_text(st, 0)) snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
            rc = s == SQLITE_ROW || s == SQLITE_DONE ? 0 : -1;
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        return rc;
    }
    PGconn *c = tb_pg_connect(t);
    int rc = -1;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            if (PQntuples(r) > 0) snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
            rc = 0;
        }
        PQclear(r);
    }
    PQfinish(c);
    return rc;
}

static inline void tb_remove(tb_store *t) {
    if (tb_is_pg(t)) return; /* see servers_pg_new_db: the fixture throws the cluster away */
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
    if (t->dir[0] && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", t->dir);
}

#endif
