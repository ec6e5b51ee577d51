/*
 * Opening and closing the control plane, and keeping its snapshot fresh (T3).
 *
 * Open order matters: the snapshot (for prices) before the ledger, because ledger recovery rates
 * the records it settles; the ledger before the budget counters, because the counters start from
 * the month's settled cost, and recovery is what settles the leftovers of a crash.
 */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tenancy/tenancy_internal.h"

static int64_t sys_now_us(void *ud) {
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

store *tenancy_store(tenancy *t) { return t->admin; }
ledger *tenancy_ledger(tenancy *t) { return t->led; }

cirrus_status tenancy_refresh(tenancy *t, cirrus_err *err) {
    pthread_mutex_lock(&t->refresh_mu);
    int64_t gen = 0;
    cirrus_status st = store_config_gen(t->admin, &gen, err);
    if (!st && (!t->snap || gen != t->snap->gen)) {
        tn_snap *fresh = NULL;
        st = tn_snap_load(t->admin, &t->states, &t->states_mu, &fresh, err);
        if (!st) {
            pthread_rwlock_wrlock(&t->snap_lock);
            tn_snap *old = t->snap;
            t->snap = fresh;
            pthread_rwlock_unlock(&t->snap_lock);
            tn_snap_free(old); /* no reader holds it: they all hold the lock we just had */
        }
    }
    pthread_mutex_unlock(&t->refresh_mu);
    return st;
}

/* store_on_change: a write through tenancy_store() is visible to the next admission. */
static void on_change(void *ud) {
    tenancy *t = ud;
    cirrus_err err = {{0}};
    if (tenancy_refresh(t, &err) != CIRRUS_OK) CIRRUS_WARN("tenancy: refresh after a change failed: %s", err.msg);
}

static void *poller_main(void *arg) {
    tenancy *t = arg;
    int ms = t->cfg.refresh_ms;
    int failures = 0;
    pthread_mutex_lock(&t->poll_mu);
    while (!t->stop) {
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += ms / 1000;
        dl.tv_nsec += (long)(ms % 1000) * 1000000;
        if (dl.tv_nsec >= 1000000000) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000;
        }
        while (!t->stop && pthread_cond_timedwait(&t->poll_cv, &t->poll_mu, &dl) != ETIMEDOUT) {
        }
        if (t->stop) break;
        pthread_mutex_unlock(&t->poll_mu);
        cirrus_err err = {{0}};
        if (tenancy_refresh(t, &err) != CIRRUS_OK) {
            if (failures++ % 100 == 0) CIRRUS_WARN("tenancy: cannot refresh keys and plans (serving the last good copy): %s", err.msg);
        } else {
            failures = 0;
        }
        pthread_mutex_lock(&t->poll_mu);
    }
    pthread_mutex_unlock(&t->poll_mu);
    return NULL;
}

/* The ledger's rating function for recovered records: the price version they were admitted with. */
static cirrus_status rate_recovered(void *ud, int64_t price_id, const ledger_tokens *tk, ledger_cost *out) {
    tenancy *t = ud;
    const store_price *p = billing_price_by_id(t->snap->prices, price_id);
    if (!p) return CIRRUS_ERR_NOT_FOUND;
    billing_tokens bt = {tk->prompt, tk->cached, tk->completion};
    billing_cost c;
    cirrus_status st = billing_rate(p, &bt, &c, NULL);
    if (st) return st;
    *out = (ledger_cost){c.input, c.cached, c.output, c.total};
    return CIRRUS_OK;
}

typedef struct {
    tenancy *t;
    int64_t from;
} spent_ctx;

static int set_spent(void *ud, const store_usage_sum *r) {
    spent_ctx *x = ud;
    for (tn_state *s = x->t->states; s; s = s->next)
        if (s->tenant_id == r->tenant_id) {
            s->spent = r->cost;
            break;
        }
    return 0;
}

void tenancy_close(tenancy *t) {
    if (!t) return;
    if (t->poller_running) {
        pthread_mutex_lock(&t->poll_mu);
        t->stop = true;
        pthread_cond_signal(&t->poll_cv);
        pthread_mutex_unlock(&t->poll_mu);
        pthread_join(t->poller, NULL);
    }
    ledger_free(t->led);
    if (t->admin) {
        store_on_change(t->admin, NULL, NULL);
        store_close(t->admin);
    }
    tn_snap_free(t->snap);
    for (tn_state *s = t->states, *n; s; s = n) {
        n = s->next;
        pthread_mutex_destroy(&s->mu);
        free(s);
    }
    sodium_memzero(t->pepper, sizeof t->pepper);
    pthread_rwlock_destroy(&t->snap_lock);
    pthread_mutex_destroy(&t->refresh_mu);
    pthread_mutex_destroy(&t->states_mu);
    pthread_mutex_destroy(&t->poll_mu);
    pthread_cond_destroy(&t->poll_cv);
    free(t);
}

cirrus_status tenancy_open(const tenancy_config *cfg, tenancy **out, ledger_recovery *rec, cirrus_err *err) {
    *out = NULL;
    tenancy *t = calloc(1, sizeof *t);
    if (!t) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "tenancy: out of memory");
    t->cfg = *cfg;
    if (!t->cfg.now_us) t->cfg.now_us = sys_now_us;
    if (t->cfg.refresh_ms == 0) t->cfg.refresh_ms = 500;
    /* the refresh thread writes a new snapshot while HTTP threads read: prefer the writer, or a
     * steady stream of admissions could hold off a revocation */
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&t->snap_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&t->refresh_mu, NULL);
    pthread_mutex_init(&t->states_mu, NULL);
    pthread_mutex_init(&t->poll_mu, NULL);
    pthread_cond_init(&t->poll_cv, NULL);

    cirrus_status st = store_open(cfg->db, &t->admin, err);
    if (!st) st = tenancy_pepper(t->admin, true, t->pepper, err);
    if (!st) {
        randombytes_buf(t->dummy_hash, sizeof t->dummy_hash);
        st = tenancy_refresh(t, err);
    }
    store *own = NULL;
    if (!st) st = store_reopen(t->admin, &own, err);
    if (!st) {
        ledger_config lc = {.rate = rate_recovered, .rate_ud = t, .now_us = t->cfg.now_us, .clock_ud = t->cfg.clock_ud,
                            .on_commit = cfg->on_commit, .commit_ud = cfg->commit_ud};
        st = ledger_new(own, &lc, &t->led, rec, err); /* takes own, even on failure */
    }
    if (!st) {
        int64_t now_s = t->cfg.now_us(t->cfg.clock_ud) / 1000000, from, to;
        billing_month_bounds(now_s, &from, &to);
        for (tn_state *s = t->states; s; s = s->next) s->period_from = from;
        spent_ctx x = {t, from};
        st = store_usage_sum_by(t->admin, 0, from * 1000000, to * 1000000, STORE_BY_TENANT, set_spent, &x, err);
    }
    if (st) {
        tenancy_close(t);
        return st;
    }
    store_on_change(t->admin, on_change, t);
    if (t->cfg.refresh_ms > 0) {
        if (pthread_create(&t->poller, NULL, poller_main, t) == 0) t->poller_running = true;
        else CIRRUS_WARN("tenancy: cannot start the refresh thread; changes by other processes need a restart");
    }
    *out = t;
    return CIRRUS_OK;
}
