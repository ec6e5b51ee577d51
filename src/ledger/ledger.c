/*
 * The ledger: records in memory, one queue of writes, one group-commit writer. The invariants
 * (L1-L6) and a record's states are in ledger.h; the comments here say how each is kept.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/ledger.h"

typedef struct {
    int status;
    ledger_tokens t;
    ledger_cost c;
    int64_t t_first, t_end;
} final_counts;

struct ledger_rec {
    store_usage u;                  /* identity, fixed at open: the writer copies it at any time */
    final_counts fin;               /* written by ledger_settle before the SETTLE is queued */
    _Atomic int64_t p_prompt, p_cached, p_completion, p_first; /* progress, written by the owner */
    atomic_bool dirty;              /* a PROGRESS write is queued and not yet built into a batch */
    /* writer thread only */
    bool open_written;              /* its row exists on disk (committed) */
    bool batch_open, batch_settle;  /* scratch while building one transaction */
};

enum { Q_OPEN, Q_PROGRESS, Q_SETTLE };

typedef struct {
    ledger_rec *r;
    uint64_t seq;
    int kind;
} qent;

struct ledger {
    store *st;
    ledger_config cfg;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, durable_cv;
    qent *q;                        /* pending writes, in call order (L4) */
    size_t qn, qcap;
    size_t inflight;                /* taken by the writer, not yet durable */
    uint64_t next_seq;              /* last ticket handed out */
    _Atomic uint64_t durable;       /* every ticket <= durable is on disk (L6) */
    _Atomic int64_t next_id;
    bool stop;
    bool gave_up;                   /* a batch could not be written at shutdown: L6 no longer promised */
    pthread_t writer;
    ledger_stats stats;
    ledger_rec **spare;             /* settled records kept for reuse: no malloc/free per request */
    size_t n_spare;
};

#define SPARE_MAX 16384

static int64_t sys_now_us(void *ud) {
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t now_us(ledger *l) { return l->cfg.now_us(l->cfg.clock_ud); }

/* ---- producers ------------------------------------------------------------------------------ */

/* Caller holds mu. */
static cirrus_status enqueue(ledger *l, ledger_rec *r, int kind, uint64_t *seq) {
    if (l->qn == l->qcap) {
        size_t cap = l->qcap ? l->qcap * 2 : 1024;
        qent *q = realloc(l->q, cap * sizeof *q);
        if (!q) return CIRRUS_ERR_NOMEM;
        l->q = q;
        l->qcap = cap;
    }
    l->q[l->qn++] = (qent){r, ++l->next_seq, kind};
    if (seq) *seq = l->next_seq;
    if (l->qn == 1) pthread_cond_signal(&l->work_cv);
    return CIRRUS_OK;
}

cirrus_status ledger_open(ledger *l, const ledger_open_args *a, ledger_rec **out, cirrus_err *err) {
    *out = NULL;
    if (!a->request_id || strlen(a->request_id) >= STORE_REQID_MAX)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "ledger: request id must be 1..%d bytes", STORE_REQID_MAX - 1);
    if (!a->model || !*a->model || strlen(a->model) >= STORE_MODEL_MAX)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "ledger: model id must be 1..%d bytes", STORE_MODEL_MAX - 1);
    if (a->prompt_tokens < 0 || a->reserved < 0) return cirrus_errf(err, CIRRUS_ERR_INVALID, "ledger: negative prompt or reservation");
    pthread_mutex_lock(&l->mu);
    ledger_rec *r = l->n_spare ? l->spare[--l->n_spare] : NULL;
    pthread_mutex_unlock(&l->mu);
    if (r) memset(r, 0, sizeof *r);
    else if (!(r = calloc(1, sizeof *r))) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "ledger: out of memory");
    store_usage *u = &r->u;
    snprintf(u->request_id, sizeof u->request_id, "%s", a->request_id);
    snprintf(u->model, sizeof u->model, "%s", a->model);
    u->tenant_id = a->tenant_id;
    u->key_id = a->key_id;
    u->price_id = a->price_id;
    u->prompt_tokens = a->prompt_tokens;
    u->reserved = a->reserved;
    u->t_admit = a->t_admit ? a->t_admit : now_us(l);
    u->simulated = a->simulated;
    atomic_store(&r->p_prompt, a->prompt_tokens);
    pthread_mutex_lock(&l->mu);
    cirrus_status st = CIRRUS_OK;
    if (l->stop) st = cirrus_errf(err, CIRRUS_ERR_INVALID, "ledger: shutting down");
    else if (l->qn + l->inflight >= LEDGER_MAX_PENDING)
        st = cirrus_errf(err, CIRRUS_ERR_FULL, "ledger: %zu writes are waiting for the disk; not admitting more", l->qn + l->inflight);
    if (!st) {
        u->id = atomic_fetch_add(&l->next_id, 1) + 1; /* L1: unique by construction */
        st = enqueue(l, r, Q_OPEN, NULL);
        if (st) cirrus_errf(err, st, "ledger: out of memory");
        else l->stats.opened++;
    }
    pthread_mutex_unlock(&l->mu);
    if (st) {
        free(r);
        return st;
    }
    *out = r;
    return CIRRUS_OK;
}

int64_t ledger_rec_id(const ledger_rec *r) { return r->u.id; }

void ledger_progress(ledger *l, ledger_rec *r, const ledger_tokens *t) {
    atomic_store(&r->p_prompt, t->prompt);
    atomic_store(&r->p_cached, t->cached);
    atomic_store(&r->p_completion, t->completion);
    if (t->completion > 0 && atomic_load(&r->p_first) == 0) atomic_store(&r->p_first, now_us(l));
    /* one queued PROGRESS per record and commit: the writer reads the latest counts when it builds */
    if (atomic_exchange(&r->dirty, true)) return;
    pthread_mutex_lock(&l->mu);
    if (enqueue(l, r, Q_PROGRESS, NULL) != CIRRUS_OK) atomic_store(&r->dirty, false); /* the settle still carries the counts */
    pthread_mutex_unlock(&l->mu);
}

uint64_t ledger_settle(ledger *l, ledger_rec *r, const ledger_tokens *t, const ledger_cost *c, ledger_status status) {
    final_counts *f = &r->fin;
    f->status = (int)status;
    f->t = *t;
    f->c = *c;
    f->c.total = c->input + c->cached + c->output;
    f->t_end = now_us(l);
    f->t_first = atomic_load(&r->p_first);
    if (!f->t_first && t->completion > 0) f->t_first = f->t_end;
    uint64_t seq = 0;
    pthread_mutex_lock(&l->mu);
    /* A settle must not be dropped (L1): if the queue cannot grow, wait for the writer to drain it. */
    while (enqueue(l, r, Q_SETTLE, &seq) != CIRRUS_OK) {
        pthread_mutex_unlock(&l->mu);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&l->mu);
    }
    l->stats.settled++;
    pthread_mutex_unlock(&l->mu);
    return seq;
}

bool ledger_is_durable(ledger *l, uint64_t ticket) { return atomic_load(&l->durable) >= ticket; }

cirrus_status ledger_sync(ledger *l, uint64_t ticket, int timeout_ms) {
    if (ledger_is_durable(l, ticket)) return CIRRUS_OK;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    if (timeout_ms >= 0) {
        dl.tv_sec += timeout_ms / 1000;
        dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
        if (dl.tv_nsec >= 1000000000) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000;
        }
    }
    cirrus_status st = CIRRUS_OK;
    pthread_mutex_lock(&l->mu);
    while (atomic_load(&l->durable) < ticket) {
        if (l->gave_up) {
            st = CIRRUS_ERR_IO;
            break;
        }
        if (timeout_ms < 0) pthread_cond_wait(&l->durable_cv, &l->mu);
        else if (pthread_cond_timedwait(&l->durable_cv, &l->mu, &dl) == ETIMEDOUT) {
            st = atomic_load(&l->durable) >= ticket ? CIRRUS_OK : CIRRUS_ERR_FULL;
            break;
        }
    }
    pthread_mutex_unlock(&l->mu);
    return st;
}

cirrus_status ledger_flush(ledger *l, int timeout_ms) {
    pthread_mutex_lock(&l->mu);
    uint64_t t = l->next_seq;
    pthread_mutex_unlock(&l->mu);
    return ledger_sync(l, t, timeout_ms);
}

void ledger_get_stats(ledger *l, ledger_stats *out) {
    pthread_mutex_lock(&l->mu);
    *out = l->stats;
    out->pending = l->qn + l->inflight;
    pthread_mutex_unlock(&l->mu);
}

/* ---- the writer ----------------------------------------------------------------------------- */

typedef struct {
    store_usage_write *w;
    store_usage *u;
    size_t cap;
} scratch;

static bool scratch_fit(scratch *s, size_t n) {
    if (n <= s->cap) return true;
    store_usage_write *w = realloc(s->w, n * sizeof *w);
    if (!w) return false;
    s->w = w;
    store_usage *u = realloc(s->u, n * sizeof *u);
    if (!u) return false;
    s->u = u;
    s->cap = n;
    return true;
}

/* Builds one transaction from entries e[0..n). Decisions use scratch flags only, so a failed
 * commit can be rebuilt from the same entries. Returns the number of writes. */
static size_t build(const qent *e, size_t n, scratch *s) {
    for (size_t i = 0; i < n; i++) {
        e[i].r->batch_open = false;
        e[i].r->batch_settle = false;
    }
    for (size_t i = 0; i < n; i++)
        if (e[i].kind == Q_SETTLE) e[i].r->batch_settle = true;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        ledger_rec *r = e[i].r;
        store_usage *u = &s->u[k];
        switch (e[i].kind) {
        case Q_OPEN:
            if (r->batch_settle) break; /* its SETTLE inserts it settled: one row, written once */
            u = &r->u; /* in place: after ledger_open only the writer writes r->u */
            u->settled = false;
            u->prompt_tokens = atomic_load(&r->p_prompt);
            u->cached_tokens = atomic_load(&r->p_cached);
            u->completion_tokens = atomic_load(&r->p_completion);
            u->t_first = atomic_load(&r->p_first);
            s->w[k++] = (store_usage_write){STORE_UW_OPEN, u};
            r->batch_open = true;
            break;
        case Q_PROGRESS:
            atomic_store(&r->dirty, false); /* before reading: a later call queues a new write */
            if (r->batch_settle) break;
            u->id = r->u.id;
            u->prompt_tokens = atomic_load(&r->p_prompt);
            u->cached_tokens = atomic_load(&r->p_cached);
            u->completion_tokens = atomic_load(&r->p_completion);
            u->t_first = atomic_load(&r->p_first);
            s->w[k++] = (store_usage_write){STORE_UW_PROGRESS, u};
            break;
        case Q_SETTLE:
            u = &r->u;
            u->settled = true;
            u->status = r->fin.status;
            u->prompt_tokens = r->fin.t.prompt;
            u->cached_tokens = r->fin.t.cached;
            u->completion_tokens = r->fin.t.completion;
            u->cost_input = r->fin.c.input;
            u->cost_cached = r->fin.c.cached;
            u->cost_output = r->fin.c.output;
            u->cost = r->fin.c.total;
            u->t_first = r->fin.t_first;
            u->t_end = r->fin.t_end;
            s->w[k++] = (store_usage_write){(r->open_written || r->batch_open) ? STORE_UW_SETTLE : STORE_UW_OPEN, u};
            break;
        }
    }
    return k;
}

/* Writes e[0..n) durably, retrying while the store fails. false: gave up (stopping, disk gone). */
static bool commit(ledger *l, const qent *e, size_t n, scratch *s) {
    if (!scratch_fit(s, n)) {
        CIRRUS_ERROR("ledger: out of memory building a commit of %zu writes", n);
        return false;
    }
    for (int attempt = 0;; attempt++) {
        size_t k = build(e, n, s), skipped = 0;
        cirrus_err err = {{0}};
        struct timespec c0, c1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
        uint64_t t0 = cirrus_now_ns();
        cirrus_status st = store_usage_write_batch(l->st, s->w, k, &skipped, &err);
        double ms = (double)(cirrus_now_ns() - t0) / 1e6;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
        double cpu_ms = (double)(c1.tv_sec - c0.tv_sec) * 1e3 + (double)(c1.tv_nsec - c0.tv_nsec) / 1e6;
        pthread_mutex_lock(&l->mu);
        bool stopping = l->stop;
        if (!st) {
            l->stats.commits++;
            l->stats.rows_written += k;
            l->stats.skipped += skipped;
            l->stats.commit_ms_total += ms;
            l->stats.commit_cpu_ms_total += cpu_ms;
            if (k > l->stats.max_batch) l->stats.max_batch = k;
        } else {
            l->stats.commit_failures++;
        }
        pthread_mutex_unlock(&l->mu);
        if (!st) {
            if (skipped) CIRRUS_ERROR("ledger: %zu writes found no open record (a bug above the ledger)", skipped);
            return true;
        }
        if (attempt % 20 == 0) CIRRUS_ERROR("ledger: commit of %zu writes failed, retrying: %s", k, err.msg);
        if (stopping && attempt >= 50) {
            CIRRUS_ERROR("ledger: giving up on %zu writes at shutdown; their records stay open or absent", k);
            return false;
        }
        struct timespec ts = {0, (attempt < 6 ? (1L << attempt) : 64L) * 10000000L};
        nanosleep(&ts, NULL);
    }
}

static void after_commit(ledger *l, const qent *e, size_t n, bool ok) {
    for (size_t i = 0; i < n; i++) {
        ledger_rec *r = e[i].r;
        if (e[i].kind == Q_OPEN && ok && !r->batch_settle) r->open_written = true;
    }
    /* L3: a settled record has no holder left; keep some for the next ledger_open */
    pthread_mutex_lock(&l->mu);
    for (size_t i = 0; i < n; i++) {
        if (e[i].kind != Q_SETTLE) continue;
        if (l->n_spare < SPARE_MAX) l->spare[l->n_spare++] = e[i].r;
        else free(e[i].r);
    }
    pthread_mutex_unlock(&l->mu);
}

static void *writer_main(void *arg) {
    ledger *l = arg;
    size_t cap = l->cfg.max_batch ? l->cfg.max_batch : 8192;
    scratch s = {0};
    qent *mine = NULL;
    size_t mine_cap = 0;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (l->qn == 0 && !l->stop) pthread_cond_wait(&l->work_cv, &l->mu);
        if (l->qn == 0) break;
        /* swap buffers: producers keep appending to a fresh queue while this batch commits */
        qent *batch = l->q;
        size_t n = l->qn, bcap = l->qcap;
        l->q = mine;
        l->qcap = mine_cap;
        l->qn = 0;
        l->inflight = n;
        pthread_mutex_unlock(&l->mu);
        for (size_t off = 0; off < n; off += cap) {
            size_t m = n - off < cap ? n - off : cap;
            bool ok = commit(l, batch + off, m, &s);
            uint64_t last = batch[off + m - 1].seq;
            after_commit(l, batch + off, m, ok);
            pthread_mutex_lock(&l->mu);
            if (ok) atomic_store(&l->durable, last); /* L6: batches commit in ticket order */
            else l->gave_up = true;                  /* never claim what is not on disk */
            l->inflight -= m;
            pthread_cond_broadcast(&l->durable_cv);
            pthread_mutex_unlock(&l->mu);
            if (l->cfg.on_commit) l->cfg.on_commit(l->cfg.commit_ud, last);
        }
        mine = batch;
        mine_cap = bcap;
        pthread_mutex_lock(&l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    free(mine);
    free(s.w);
    free(s.u);
    return NULL;
}

/* ---- recovery (L5) ---------------------------------------------------------------------------- */

typedef struct {
    store_usage *v;
    size_t n, cap;
    bool oom;
} open_vec;

static int collect_open(void *ud, const store_usage *u) {
    open_vec *o = ud;
    if (o->n == o->cap) {
        size_t c = o->cap ? o->cap * 2 : 64;
        store_usage *v = realloc(o->v, c * sizeof *v);
        if (!v) {
            o->oom = true;
            return 1;
        }
        o->v = v;
        o->cap = c;
    }
    o->v[o->n++] = *u;
    return 0;
}

static cirrus_status recover(ledger *l, ledger_recovery *rep, cirrus_err *err) {
    open_vec o = {0};
    cirrus_status st = store_usage_list_open(l->st, collect_open, &o, err);
    if (!st && o.oom) st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "ledger: out of memory reading open records");
    store_usage_write *w = st || !o.n ? NULL : calloc(o.n, sizeof *w);
    if (!st && o.n && !w) st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "ledger: out of memory");
    int64_t now = now_us(l);
    for (size_t i = 0; !st && i < o.n; i++) {
        store_usage *u = &o.v[i];
        ledger_tokens t = {u->prompt_tokens, u->cached_tokens, u->completion_tokens};
        ledger_cost c = {0};
        if (l->cfg.rate(l->cfg.rate_ud, u->price_id, &t, &c) != CIRRUS_OK) {
            /* the price version is gone (should not happen: prices are never deleted): keep the
             * tokens, bill nothing, and say so */
            CIRRUS_ERROR("ledger: recovered record %lld has no price (version %lld): settled at cost 0", (long long)u->id,
                         (long long)u->price_id);
            memset(&c, 0, sizeof c);
        }
        u->settled = true;
        u->status = STORE_USAGE_CANCELLED;
        u->cost_input = c.input;
        u->cost_cached = c.cached;
        u->cost_output = c.output;
        u->cost = c.input + c.cached + c.output;
        u->t_end = now;
        w[i] = (store_usage_write){STORE_UW_SETTLE, u};
        rep->recovered++;
        rep->recovered_completion_tokens += u->completion_tokens;
        rep->recovered_cost += u->cost;
    }
    size_t skipped = 0;
    if (!st && o.n) st = store_usage_write_batch(l->st, w, o.n, &skipped, err);
    if (!st && o.n)
        CIRRUS_WARN("ledger: recovered %zu open record(s) after an unclean stop: settled as cancelled with their last recorded progress", o.n);
    free(w);
    free(o.v);
    return st;
}

/* ---- life cycle ------------------------------------------------------------------------------- */

cirrus_status ledger_new(store *own, const ledger_config *cfg, ledger **out, ledger_recovery *rep, cirrus_err *err) {
    *out = NULL;
    ledger_recovery dummy;
    if (!rep) rep = &dummy;
    memset(rep, 0, sizeof *rep);
    if (!cfg || !cfg->rate) {
        store_close(own);
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "ledger: a rating function is required (for recovery)");
    }
    ledger *l = calloc(1, sizeof *l);
    if (!l) {
        store_close(own);
        return cirrus_errf(err, CIRRUS_ERR_NOMEM, "ledger: out of memory");
    }
    l->st = own;
    l->cfg = *cfg;
    l->spare = malloc(SPARE_MAX * sizeof *l->spare);
    if (!l->spare) {
        store_close(own);
        free(l);
        return cirrus_errf(err, CIRRUS_ERR_NOMEM, "ledger: out of memory");
    }
    if (!l->cfg.now_us) l->cfg.now_us = sys_now_us;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->work_cv, NULL);
    pthread_cond_init(&l->durable_cv, NULL);
    int64_t max_id = 0;
    cirrus_status st = store_owner_claim(own, NULL, err); /* L7: before anything is read or written */
    if (!st) st = recover(l, rep, err); /* L5: before the first ledger_open */
    if (!st) st = store_usage_max_id(own, &max_id, err);
    if (!st) {
        atomic_store(&l->next_id, max_id);
        if (pthread_create(&l->writer, NULL, writer_main, l) != 0) st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "ledger: cannot start the writer thread");
    }
    if (st) {
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->work_cv);
        pthread_cond_destroy(&l->durable_cv);
        store_close(own);
        free(l->spare);
        free(l);
        return st;
    }
    *out = l;
    return CIRRUS_OK;
}

void ledger_free(ledger *l) {
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    l->stop = true;
    pthread_cond_signal(&l->work_cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->writer, NULL);
    /* records whose owners never settled are not ours to free: their handles leak with a
     * warning, and their rows stay open for the next start's recovery */
    if (l->stats.opened > l->stats.settled)
        CIRRUS_WARN("ledger: closing with %llu record(s) never settled; the next start recovers them",
                    (unsigned long long)(l->stats.opened - l->stats.settled));
    free(l->q);
    for (size_t i = 0; i < l->n_spare; i++) free(l->spare[i]);
    free(l->spare);
    store_close(l->st);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->work_cv);
    pthread_cond_destroy(&l->durable_cv);
    free(l);
}
