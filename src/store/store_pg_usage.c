/*
 * The usage table on PostgreSQL: the ledger's group commit and the reads over it.
 *
 * A batch is one transaction and, past its BEGIN, one round trip: the writes are grouped into a
 * few set-based statements (INSERT ... SELECT FROM unnest($1::bigint[], ...) for OPEN, UPDATE ...
 * FROM unnest(...) for PROGRESS and SETTLE), each taking one array per column, sent in a libpq
 * pipeline together with the COMMIT. Thousands of records cost a handful of statements and one
 * WAL flush, not one statement (and one network round trip) each.
 *
 * Order. store_usage_write_batch applies writes in order; writes to different records commute, so
 * only each record's own order matters. A write's ROUND is how many earlier writes in the batch
 * name the same record; the statements run round by round (OPEN, PROGRESS, SETTLE within one), so
 * a record's OPEN, PROGRESS and SETTLE in one batch are applied in that order while every record
 * appears at most once per statement. The ledger's batches are almost always one round.
 *
 * As on SQLite, PROGRESS and SETTLE only touch open rows (`AND u.state = 0`, and the S1 trigger
 * behind it); those that find none are counted in *skipped, from the rows each UPDATE reports.
 *
 * A lost COMMIT reply. If the connection drops after the COMMIT was sent, the batch may or may not
 * be on disk. The transaction's id (taken at BEGIN) answers it on a new connection: committed is
 * OK, aborted is IO (the ledger retries, nothing was applied). If the server cannot be asked yet,
 * the batch is IO and remembered (xid, and a hash of its kinds and record ids); the ledger retries
 * the same batch, and that call asks first: committed and the same batch means it is already on
 * disk and is not applied again (its OPENs would collide), so a blip never wedges the writer.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_pg.h"

#define USAGE_COLS                                                                                        \
    "id, request_id, tenant_id, key_id, model, state, status, prompt_tokens, cached_tokens, completion_tokens," \
    " price_id, cost_input, cost_cached, cost_output, cost, reserved, t_admit, t_first, t_end, simulated"

static const char *const k_status[] = {"ok", "length", "cancelled", "error"};
static int status_ok(int s) { return s >= 0 && s < 4; }

/* ---- array parameters: {1,2,3} and {"a","b\"c"} in PostgreSQL's array text form ---------------- */

static void arr_start(cirrus_buf *b) {
    cirrus_buf_reset(b);
    cirrus_buf_addc(b, '{');
}
static void arr_sep(cirrus_buf *b) {
    if (b->len > 1) cirrus_buf_addc(b, ',');
}
static void arr_i64(cirrus_buf *b, int64_t v) {
    char tmp[24], *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0) *--p = '-';
    arr_sep(b);
    cirrus_buf_add(b, p, (size_t)(tmp + sizeof tmp - p));
}
/* Quoted, with " and \ escaped: any bytes but NUL (which a C string cannot hold) survive. */
static void arr_text(cirrus_buf *b, const char *s) {
    arr_sep(b);
    size_t n = strlen(s);
    char *d = cirrus_buf_extend(b, 2 * n + 2);
    if (!d) return; /* sticky failure: checked once per statement */
    char *o = d;
    *o++ = '"';
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\') *o++ = '\\';
        *o++ = *p;
    }
    *o++ = '"';
    b->len -= (size_t)(2 * n + 2 - (size_t)(o - d)); /* give back what escaping did not use */
    b->p[b->len] = 0;
}
static void arr_null(cirrus_buf *b) {
    arr_sep(b);
    cirrus_buf_adds(b, "NULL");
}

/* ---- the three statements ------------------------------------------------------------------------ */

static const char k_open_sql[] =
    "INSERT INTO usage(" USAGE_COLS ") SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::text[],"
    " $6::int[], $7::text[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[],"
    " $14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[], $18::bigint[], $19::bigint[], $20::int[])";
static const char k_progress_sql[] =
    "UPDATE usage u SET prompt_tokens = v.p, cached_tokens = v.c, completion_tokens = v.n, t_first = v.f"
    " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) AS v(id, p, c, n, f)"
    " WHERE u.id = v.id AND u.state = 0";
static const char k_settle_sql[] =
    "UPDATE usage u SET state = 1, status = v.status, prompt_tokens = v.p, cached_tokens = v.c, completion_tokens = v.n,"
    " price_id = v.price, cost_input = v.ci, cost_cached = v.cc, cost_output = v.co, cost = v.cost, t_first = v.f, t_end = v.e"
    " FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],"
    " $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[])"
    " AS v(id, status, p, c, n, price, ci, cc, co, cost, f, e) WHERE u.id = v.id AND u.state = 0";

static const char *const k_sql[] = {k_open_sql, k_progress_sql, k_settle_sql};
static const int k_ncols[] = {20, 5, 12};

/* Appends write u of kind to the statement's column arrays. */
static void add_row(cirrus_buf *c, store_uw_kind kind, const store_usage *u) {
    if (kind == STORE_UW_OPEN) {
        arr_i64(&c[0], u->id);
        arr_text(&c[1], u->request_id);
        arr_i64(&c[2], u->tenant_id);
        arr_i64(&c[3], u->key_id);
        arr_text(&c[4], u->model);
        arr_i64(&c[5], u->settled ? 1 : 0);
        if (u->settled && status_ok(u->status)) arr_text(&c[6], k_status[u->status]);
        else arr_null(&c[6]);
        int64_t v[] = {u->prompt_tokens, u->cached_tokens, u->completion_tokens, u->price_id, u->cost_input,
                       u->cost_cached, u->cost_output, u->cost, u->reserved, u->t_admit, u->t_first, u->t_end};
        for (int i = 0; i < 12; i++) arr_i64(&c[7 + i], v[i]);
        arr_i64(&c[19], u->simulated ? 1 : 0);
    } else if (kind == STORE_UW_PROGRESS) {
        int64_t v[] = {u->id, u->prompt_tokens, u->cached_tokens, u->completion_tokens, u->t_first};
        for (int i = 0; i < 5; i++) arr_i64(&c[i], v[i]);
    } else {
        arr_i64(&c[0], u->id);
        arr_text(&c[1], k_status[status_ok(u->status) ? u->status : STORE_USAGE_ERROR]);
        int64_t v[] = {u->prompt_tokens, u->cached_tokens, u->completion_tokens, u->price_id, u->cost_input,
                       u->cost_cached, u->cost_output, u->cost, u->t_first, u->t_end};
        for (int i = 0; i < 10; i++) arr_i64(&c[2 + i], v[i]);
    }
}

/* ---- the batch ----------------------------------------------------------------------------------- */

/* Which batch this is, for recognising a retry of it: its kinds and record ids (FNV-1a). */
static uint64_t batch_hash(const store_usage_write *w, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL ^ n;
    for (size_t i = 0; i < n; i++) {
        uint64_t x[2] = {(uint64_t)w[i].kind, (uint64_t)w[i].u->id};
        const unsigned char *p = (const unsigned char *)x;
        for (size_t j = 0; j < sizeof x; j++) h = (h ^ p[j]) * 0x100000001b3ULL;
    }
    return h;
}

/* round[i] = how many earlier writes name w[i]'s record; returns the number of rounds (0: OOM). */
static unsigned compute_rounds(const store_usage_write *w, size_t n, unsigned *round) {
    cirrus_map seen; /* record id -> writes seen so far (absent: none) */
    cirrus_map_init(&seen, &cirrus_map_u64, n + 1);
    unsigned rounds = 1;
    for (size_t i = 0; i < n; i++) {
        const void *key = CIRRUS_MAP_U64((uint64_t)w[i].u->id);
        round[i] = (unsigned)(uintptr_t)cirrus_map_get(&seen, key);
        if (cirrus_map_put(&seen, key, (void *)(uintptr_t)(round[i] + 1), NULL)) {
            cirrus_map_free(&seen);
            return 0;
        }
        if (round[i] + 1 > rounds) rounds = round[i] + 1;
    }
    cirrus_map_free(&seen);
    return rounds;
}

typedef struct {
    int kind;
    size_t rows;
} group;

/* Sends the batch's statements and COMMIT as one pipeline and reads every result. *committed: the
 * server answered COMMIT. *lost: the connection dropped before all answers came. */
static cirrus_status pipeline(pg_store *q, const store_usage_write *w, size_t n, const unsigned *round, unsigned rounds,
                              size_t *skipped, bool *committed, bool *lost, cirrus_err *err) {
    const char *names[3];
    cirrus_status st = CIRRUS_OK;
    for (int k = 0; k < 3 && !st; k++) st = pg_prepare(q, k_sql[k], &names[k], err);
    if (st) return st;
    group *g = calloc((size_t)rounds * 3, sizeof *g);
    if (!g) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "store: out of memory");
    size_t ng = 0;
    if (!PQenterPipelineMode(q->conn)) st = pg_fail(q, err, CIRRUS_ERR_IO, "store: writing usage", PQerrorMessage(q->conn));
    for (unsigned r = 0; r < rounds && !st; r++)
        for (int k = 0; k < 3 && !st; k++) {
            cirrus_buf *c = q->cols;
            for (int j = 0; j < k_ncols[k]; j++) arr_start(&c[j]);
            size_t rows = 0;
            for (size_t i = 0; i < n; i++)
                if (round[i] == r && (int)w[i].kind == k) {
                    add_row(c, w[i].kind, w[i].u);
                    rows++;
                }
            if (!rows) continue;
            const char *v[PG_USAGE_COLS];
            for (int j = 0; j < k_ncols[k]; j++) {
                cirrus_buf_addc(&c[j], '}');
                if (c[j].fail) st = cirrus_errf(err, c[j].fail, "store: a usage batch of %zu writes is too large to send", n);
                v[j] = cirrus_buf_str(&c[j]);
            }
            if (!st && !PQsendQueryPrepared(q->conn, names[k], k_ncols[k], v, NULL, NULL, 0))
                st = pg_fail(q, err, CIRRUS_ERR_IO, "store: writing usage", PQerrorMessage(q->conn));
            g[ng++] = (group){k, rows};
        }
    if (!st && !PQsendQueryParams(q->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0))
        st = pg_fail(q, err, CIRRUS_ERR_IO, "store: writing usage", PQerrorMessage(q->conn));
    bool synced = false;
    if (st) { /* half a pipeline is on its way: ending the session is what rolls it back cleanly */
        PQfinish(q->conn);
        q->conn = NULL;
    } else if (PQpipelineSync(q->conn)) {
        /* results arrive in order: each statement's (then a NULL), COMMIT's, then the sync point;
         * after an error the rest are PIPELINE_ABORTED */
        size_t qi = 0;
        while (!synced) {
            PGresult *r = PQgetResult(q->conn);
            if (!r) {
                if (pg_lost(q)) break;
                qi++;
                continue;
            }
            ExecStatusType es = PQresultStatus(r);
            if (es == PGRES_PIPELINE_SYNC) {
                synced = true;
            } else if (es == PGRES_COMMAND_OK) {
                if (qi < ng && g[qi].kind != STORE_UW_OPEN) {
                    size_t changed = (size_t)strtoull(PQcmdTuples(r), NULL, 10);
                    *skipped += g[qi].rows > changed ? g[qi].rows - changed : 0;
                } else if (qi == ng) {
                    *committed = !strcmp(PQcmdStatus(r), "COMMIT");
                }
            } else if (es != PGRES_PIPELINE_ABORTED && !st) {
                const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
                st = pg_fail(q, err, CIRRUS_ERR_IO, "store: writing usage", m ? m : PQerrorMessage(q->conn));
            }
            PQclear(r);
            if (pg_lost(q)) break;
        }
    } else {
        st = pg_fail(q, err, CIRRUS_ERR_IO, "store: writing usage", PQerrorMessage(q->conn));
    }
    free(g);
    *lost = pg_lost(q) || !synced;
    if (!*lost) PQexitPipelineMode(q->conn);
    if (!st && !*committed) st = cirrus_errf(err, CIRRUS_ERR_IO, "store: writing usage: the server did not commit the batch");
    return st;
}

cirrus_status pgu_write_batch(store *s, const store_usage_write *w, size_t n, size_t *skipped, cirrus_err *err) {
    pg_store *q = (pg_store *)s;
    *skipped = 0;
    unsigned *round = malloc(n * sizeof *round);
    if (!round) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "store: out of memory");
    unsigned rounds = compute_rounds(w, n, round);
    if (!rounds) {
        free(round);
        return cirrus_errf(err, CIRRUS_ERR_NOMEM, "store: out of memory");
    }
    uint64_t hash = batch_hash(w, n);
    pthread_mutex_lock(&q->mu);
    cirrus_status st = CIRRUS_OK;
    if (q->pending_xid) { /* a batch whose COMMIT reply was lost: what became of it? */
        int state;
        st = pg_resolve(q, q->pending_xid, &state, err);
        if (!st && state < 0) st = cirrus_errf(err, CIRRUS_ERR_IO, "store: %s: an earlier commit is still unresolved", q->base.location);
        if (!st) {
            bool same = state == 1 && q->pending_hash == hash;
            q->pending_xid = 0;
            if (same) { /* already on disk: this is its retry */
                pthread_mutex_unlock(&q->mu);
                free(round);
                return CIRRUS_OK;
            }
        }
    }
    if (!st) st = pg_begin(q, err);
    if (st) {
        pthread_mutex_unlock(&q->mu);
        free(round);
        return st;
    }
    uint64_t xid = q->xid;
    bool committed = false, lost = false;
    st = pipeline(q, w, n, round, rounds, skipped, &committed, &lost, err);
    free(round);
    if (!st && pg_fault_take(q, STORE_PG_FAULT_COMMIT_REPLY)) { /* committed; the reply "never arrived" */
        PQfinish(q->conn);
        q->conn = NULL;
        lost = true;
    }
    q->in_tx = false;
    if (!lost) {
        if (st) pg_rollback(q);
    } else {
        int state = -1;
        cirrus_err e2 = {{0}};
        if (pg_resolve(q, xid, &state, &e2)) state = -1;
        if (state == 1) {
            st = CIRRUS_OK;
        } else if (state == 0) {
            if (!st) st = cirrus_errf(err, CIRRUS_ERR_IO, "store: the connection to %s dropped; the usage batch was not applied",
                                      q->base.location);
        } else {
            q->pending_xid = xid;
            q->pending_hash = hash;
            st = cirrus_errf(err, CIRRUS_ERR_IO, "store: the connection to %s dropped while committing usage; the outcome is "
                             "asked again on the next write", q->base.location);
        }
    }
    pthread_mutex_unlock(&q->mu);
    return st;
}

/* ---- reads ----------------------------------------------------------------------------------------- */

cirrus_status pgu_max_id(store *s, int64_t *out, cirrus_err *err) {
    pg_store *q = (pg_store *)s;
    PGresult *r;
    pthread_mutex_lock(&q->mu);
    cirrus_status st = pg_exec(q, "SELECT coalesce(max(id), 0) FROM usage", NULL, &r, "store: reading usage", NULL, err);
    if (!st) {
        *out = pg_i64(r, 0, 0);
        PQclear(r);
    }
    pthread_mutex_unlock(&q->mu);
    return st;
}

static int usage_row(const PGresult *r, void *cb, void *ud) {
    store_usage u;
    memset(&u, 0, sizeof u);
    u.id = pg_i64(r, 0, 0);
    pg_text(r, 0, 1, u.request_id, sizeof u.request_id);
    u.tenant_id = pg_i64(r, 0, 2);
    u.key_id = pg_i64(r, 0, 3);
    pg_text(r, 0, 4, u.model, sizeof u.model);
    u.settled = pg_i64(r, 0, 5) == 1;
    u.status = STORE_USAGE_OK;
    for (int i = 0; !PQgetisnull(r, 0, 6) && i < 4; i++)
        if (!strcmp(PQgetvalue(r, 0, 6), k_status[i])) u.status = i;
    int64_t *v[] = {&u.prompt_tokens, &u.cached_tokens, &u.completion_tokens, &u.price_id, &u.cost_input,
                    &u.cost_cached, &u.cost_output, &u.cost, &u.reserved, &u.t_admit, &u.t_first, &u.t_end};
    for (int i = 0; i < 12; i++) *v[i] = pg_i64(r, 0, 7 + i);
    u.simulated = pg_i64(r, 0, 19) != 0;
    return ((store_usage_cb)cb)(ud, &u);
}

cirrus_status pgu_list(store *s, bool open_only, int64_t id, int64_t tenant_id, int64_t from_us, int64_t to_us,
                       store_usage_cb cb, void *ud, cirrus_err *err) {
    pg_store *q = (pg_store *)s;
    pg_params p = {0};
    const char *sql;
    if (open_only) {
        sql = "SELECT " USAGE_COLS " FROM usage WHERE state = 0 ORDER BY id";
    } else if (id) {
        sql = "SELECT " USAGE_COLS " FROM usage WHERE id = $1";
        pg_p_i64(&p, id);
    } else {
        sql = tenant_id ? "SELECT " USAGE_COLS " FROM usage WHERE tenant_id = $3 AND t_admit >= $1 AND t_admit < $2 ORDER BY t_admit, id"
                        : "SELECT " USAGE_COLS " FROM usage WHERE t_admit >= $1 AND t_admit < $2 ORDER BY t_admit, id";
        pg_p_i64(&p, from_us);
        pg_p_i64(&p, to_us);
        if (tenant_id) pg_p_i64(&p, tenant_id);
    }
    pthread_mutex_lock(&q->mu);
    cirrus_status st = pg_each(q, sql, &p, usage_row, (void *)cb, ud, "store: reading usage", err);
    pthread_mutex_unlock(&q->mu);
    return st;
}

static int sum_row(const PGresult *r, void *cb, void *ud) {
    store_usage_sum x;
    memset(&x, 0, sizeof x);
    x.tenant_id = pg_i64(r, 0, 0);
    pg_text(r, 0, 1, x.model, sizeof x.model);
    x.price_id = pg_i64(r, 0, 2);
    x.day = pg_i64(r, 0, 3);
    int64_t *v[] = {&x.requests, &x.open, &x.prompt_tokens, &x.cached_tokens, &x.completion_tokens, &x.cost_input,
                    &x.cost_cached, &x.cost_output, &x.cost, &x.reserved_open};
    for (int i = 0; i < 10; i++) *v[i] = pg_i64(r, 0, 4 + i);
    return ((store_sum_cb)cb)(ud, &x);
}

/* The SQL is assembled from fixed fragments chosen by bits of `by`: no caller text enters it. Each
 * of the 32 shapes is prepared once per connection like any other statement. */
cirrus_status pgu_sum_by(store *s, int64_t tenant_id, int64_t from_us, int64_t to_us, int by, store_sum_cb cb,
                         void *ud, cirrus_err *err) {
    pg_store *q = (pg_store *)s;
    char sql[1400], group[64];
    const char *key[4];
    store_sum_keys(by, key, group, sizeof group);
    snprintf(sql, sizeof sql,
             "SELECT %s, %s, %s, %s, count(*), count(*) FILTER (WHERE state = 0), coalesce(sum(prompt_tokens), 0)::bigint,"
             " coalesce(sum(cached_tokens), 0)::bigint, coalesce(sum(completion_tokens), 0)::bigint,"
             " coalesce(sum(cost_input), 0)::bigint, coalesce(sum(cost_cached), 0)::bigint, coalesce(sum(cost_output), 0)::bigint,"
             " coalesce(sum(cost), 0)::bigint, coalesce(sum(reserved) FILTER (WHERE state = 0), 0)::bigint"
             " FROM usage WHERE %s t_admit >= $1 AND t_admit < $2%s",
             key[0], key[1], key[2], key[3], tenant_id ? "tenant_id = $3 AND" : "", group);
    pg_params p = {0};
    pg_p_i64(&p, from_us);
    pg_p_i64(&p, to_us);
    if (tenant_id) pg_p_i64(&p, tenant_id);
    pthread_mutex_lock(&q->mu);
    cirrus_status st = pg_each(q, sql, &p, sum_row, (void *)cb, ud, "store: summing usage", err);
    pthread_mutex_unlock(&q->mu);
    return st;
}
