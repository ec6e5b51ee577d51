/*
 * Tenants and fairness: the tenant table, per-tenant FIFO queues, the deficit round robin that
 * picks whom to admit, slot shares by weighted water-filling, reservations over a 60 s window, and
 * the per-step decode grants by virtual time. The policy as a whole is described in sched.c.
 */
#include <string.h>

#include "sched/sched_impl.h"

/* ---- tenant table ------------------------------------------------------------------------- */

static bool tenant_idle(const sched_tenant *t, uint64_t now) {
    return t->n_queued == 0 && t->n_running == 0 && t->n_cached == 0 && now - t->last_done_ns > SCHED_GRACE_NS;
}

sched_tenant *sched_tenant_get(sched *s, const char *name, uint64_t now) {
    sched_tenant *victim = NULL;
    for (int32_t i = 0; i < s->n_tenants; i++) {
        sched_tenant *t = &s->tenants[i];
        if (strcmp(t->name, name) == 0) {
            t->last_seen_ns = now;
            return t;
        }
        if (tenant_idle(t, now) && (!victim || t->last_seen_ns < victim->last_seen_ns)) victim = t;
    }
    sched_tenant *t = s->n_tenants < SCHED_TENANTS_MAX ? &s->tenants[s->n_tenants++] : victim;
    if (!t) return NULL;
    /* A forgotten tenant's counters restart: the table is bounded, an idle tenant costs nothing. */
    memset(t, 0, sizeof *t);
    t->used = true;
    strncpy(t->name, name, SCHED_TENANT_MAX - 1);
    t->weight = 1;
    t->last_seen_ns = now;
    return t;
}

/* ---- reservations ------------------------------------------------------------------------- */

void sched_tenant_serve(sched_tenant *t, uint64_t now, uint32_t tokens) {
    uint64_t sec = now / 1000000000ull;
    uint32_t i = (uint32_t)(sec % SCHED_WINDOW_S);
    if (t->win_sec[i] != sec) {
        t->win_sec[i] = sec;
        t->win[i] = 0;
    }
    t->win[i] += tokens;
}

/* Tokens served in the last SCHED_WINDOW_S seconds. */
static uint64_t served_recently(const sched_tenant *t, uint64_t now) {
    uint64_t sec = now / 1000000000ull, served = 0;
    for (int i = 0; i < SCHED_WINDOW_S; i++)
        if (t->win_sec[i] + SCHED_WINDOW_S > sec) served += t->win[i];
    return served;
}

bool sched_tenant_under_reservation(const sched_tenant *t, uint64_t now) {
    return t->reserved_tpm > 0 && served_recently(t, now) < t->reserved_tpm;
}

/* ---- queues ------------------------------------------------------------------------------- */

void sched_queue_push(sched *s, sched_req *r) {
    sched_tenant *t = r->tenant;
    r->q_next = NULL;
    if (t->q_tail) t->q_tail->q_next = r;
    else t->q_head = r;
    t->q_tail = r;
    t->n_queued++;
    t->queued_slots += r->n_choices;
    s->n_queued++;
}

void sched_queue_remove(sched *s, sched_req *r) {
    sched_tenant *t = r->tenant;
    sched_req **pp = &t->q_head, *prev = NULL;
    while (*pp && *pp != r) {
        prev = *pp;
        pp = &(*pp)->q_next;
    }
    if (!*pp) return;
    *pp = r->q_next;
    if (t->q_tail == r) t->q_tail = prev;
    r->q_next = NULL;
    t->n_queued--;
    t->queued_slots -= r->n_choices;
    s->n_queued--;
    if (t->n_queued == 0) t->deficit = 0; /* DRR: an emptied queue banks no credit */
}

/*
 * Slot shares by weighted water-filling over demand: a tenant's demand is the slots it holds plus
 * the slots its queue needs, plus, during SCHED_GRACE_NS after its last request ended, the slots
 * that request held (a client that sends one request after another is between two of them for a
 * moment; without the grace, another tenant's backlog would take its slot and it would wait for
 * a whole request of someone else). Tenants wanting less than the fair level get what they want;
 * the rest split what remains by weight, and leftovers from rounding go to the first in line.
 */
static void compute_shares(sched *s, uint64_t now) {
    int32_t remaining = s->p.n_slots, n_open = 0;
    uint64_t w_open = 0;
    for (int32_t i = 0; i < s->n_tenants; i++) {
        sched_tenant *t = &s->tenants[i];
        int32_t d = t->n_held + t->queued_slots;
        if (d == 0 && now - t->last_done_ns < SCHED_GRACE_NS) d = t->last_choices;
        t->demand = d;
        t->share = 0;
        t->share_open = d > 0;
        if (d > 0) {
            s->open[n_open++] = i;
            w_open += t->weight;
        }
    }
    /* Settle every tenant whose demand is within the fair level; that raises the level for the
     * rest, so repeat until nobody settles. */
    for (bool changed = true; changed && n_open > 0;) {
        changed = false;
        for (int32_t k = 0; k < n_open;) {
            sched_tenant *t = &s->tenants[s->open[k]];
            if ((uint64_t)t->demand * w_open > (uint64_t)remaining * t->weight) {
                k++;
                continue;
            }
            t->share = t->demand;
            t->share_open = false;
            remaining -= t->demand;
            w_open -= t->weight;
            s->open[k] = s->open[--n_open];
            changed = true;
        }
    }
    if (n_open == 0) return;
    int32_t left = remaining;
    for (int32_t k = 0; k < n_open; k++) {
        sched_tenant *t = &s->tenants[s->open[k]];
        t->share = (int32_t)((uint64_t)remaining * t->weight / w_open);
        left -= t->share;
    }
    /* rounding leftovers, one each, from the round-robin position on */
    for (int32_t k = 0; left > 0; k = (k + 1) % s->n_tenants) {
        sched_tenant *t = &s->tenants[(s->rr + k) % s->n_tenants];
        if (!t->share_open) continue;
        t->share++;
        left--;
    }
}

/* May t admit its queue head now, share-wise? A tenant holding nothing always may: that keeps
 * every tenant moving and means the engine is never idle with a queue. */
static bool within_share(const sched_tenant *t) {
    return t->n_held == 0 || t->n_held + t->q_head->n_choices <= t->share;
}

static void dequeue_head(sched *s, sched_tenant *t) { sched_queue_remove(s, t->q_head); }

/*
 * The next request to admit. Reservations first: among tenants below their reserved tokens per
 * minute, the one furthest below. Then deficit round robin over the tenants within their share:
 * each visit adds quantum * weight tokens to a tenant's deficit until it covers its head's cost
 * (prompt + n * max_tokens). Rather than looping visit by visit, it computes how many full rounds
 * each tenant needs: the winner is the first, in round-robin order from rr, of those needing the
 * fewest, and every tenant gets the credit those rounds would have given it. The result is what
 * the visit-by-visit loop gives.
 * When the winner's request does not fit in the free slots, the credit is kept and rr stays on it,
 * so it wins again as soon as enough slots are free (a request needing several slots is never
 * overtaken forever by single-slot ones).
 */
sched_req *sched_queue_pick(sched *s, uint64_t now, int32_t n_free) {
    if (s->n_queued == 0 || s->n_tenants == 0) return NULL;
    sched_tenant *best = NULL;
    double best_ratio = 0;
    for (int32_t i = 0; i < s->n_tenants; i++) {
        sched_tenant *t = &s->tenants[i];
        if (!t->q_head || !sched_tenant_under_reservation(t, now)) continue;
        double ratio = (double)served_recently(t, now) / (double)t->reserved_tpm;
        if (!best || ratio < best_ratio) {
            best = t;
            best_ratio = ratio;
        }
    }
    if (best) {
        if (best->q_head->n_choices > n_free) return NULL;
        sched_req *r = best->q_head;
        dequeue_head(s, best);
        return r;
    }

    compute_shares(s, now);
    int32_t n = s->n_tenants, win = -1;
    uint64_t win_rounds = 0;
    for (int32_t k = 0; k < n; k++) {
        sched_tenant *t = &s->tenants[(s->rr + k) % n];
        if (!t->q_head || !within_share(t)) continue;
        uint64_t q = (uint64_t)SCHED_QUANTUM * t->weight;
        uint64_t cost = t->q_head->cost;
        uint64_t rounds = t->deficit >= cost ? 0 : (cost - t->deficit + q - 1) / q;
        if (win < 0 || rounds < win_rounds) {
            win = k;
            win_rounds = rounds;
        }
    }
    if (win < 0) return NULL;
    for (int32_t k = 0; k < n; k++) {
        sched_tenant *t = &s->tenants[(s->rr + k) % n];
        if (!t->q_head || !within_share(t)) continue;
        uint64_t q = (uint64_t)SCHED_QUANTUM * t->weight;
        /* visited win_rounds full rounds, plus once more in the winning round if before it */
        t->deficit += q * (win_rounds + (k < win ? 1 : 0));
    }
    s->rr = (s->rr + win) % n;
    sched_tenant *t = &s->tenants[s->rr];
    if (t->q_head->n_choices > n_free) return NULL;
    sched_req *r = t->q_head;
    t->deficit -= r->cost;
    dequeue_head(s, t);
    return r;
}

/* ---- per-step decode grants ---------------------------------------------------------------- */

/*
 * Virtual time (tokens generated / weight) decides how many of its decode-ready sequences each
 * tenant runs this step. L is the lowest virtual time any tenant reaches if it runs all its ready
 * sequences; every tenant runs as many as keep it at or below L. So the tenant that can use the
 * least (one stream: one token per step) sets the pace, and a tenant with eight streams runs one
 * per step too: equal tokens per step for equal weights, in proportion to weight otherwise. The
 * pace-setter always runs all of its sequences, so every step makes progress.
 * A tenant that comes back within SCHED_GRACE_NS (a client between two requests) keeps its place
 * but no further than SCHED_IDLE_CREDIT tokens behind the others: enough to make up for what they
 * ran during its gap, never enough to starve them. A new tenant, or one back after a longer
 * absence, starts level with the others: banked credit would not make it faster (one stream runs
 * one token per step at most), it would only stall everybody else. Tenants under their reservation
 * are not held back and do not set the pace.
 */
void sched_fair_grants(sched *s, int32_t n_act, uint64_t now) {
    if (n_act == 1) {
        s->act[0]->n_grant = s->act[0]->n_ready;
        return;
    }
    uint64_t vmin = UINT64_MAX, vmin_all = UINT64_MAX;
    for (int32_t i = 0; i < n_act; i++) {
        sched_tenant *t = s->act[i];
        if (t->vt < vmin_all) vmin_all = t->vt;
        if (t->ready_step + 1 == s->step && t->vt < vmin) vmin = t->vt;
    }
    if (vmin == UINT64_MAX) vmin = vmin_all; /* nobody was running: all start from here */
    uint64_t lim = UINT64_MAX;
    for (int32_t i = 0; i < n_act; i++) {
        sched_tenant *t = s->act[i];
        uint64_t unit = SCHED_VT_ONE / t->w_step;
        /* Service within a reservation is owed, not a fair share spent: no payback after it. */
        if (t->reserved_now && t->vt > vmin) t->vt = vmin;
        if (t->ready_step + 1 != s->step) {
            uint64_t credit = now - t->ready_ns < SCHED_GRACE_NS ? (uint64_t)SCHED_IDLE_CREDIT * unit : 0;
            uint64_t floor = vmin > credit ? vmin - credit : 0;
            if (t->vt < floor) t->vt = floor;
        }
        uint64_t reach = t->vt + (uint64_t)t->n_ready * unit;
        if (!t->reserved_now && reach < lim) lim = reach;
    }
    for (int32_t i = 0; i < n_act; i++) {
        sched_tenant *t = s->act[i];
        if (t->reserved_now || lim == UINT64_MAX) {
            t->n_grant = t->n_ready;
            continue;
        }
        uint64_t unit = SCHED_VT_ONE / t->w_step;
        uint64_t g = t->vt >= lim ? 0 : (lim - t->vt) / unit;
        t->n_grant = g > (uint64_t)t->n_ready ? t->n_ready : (int32_t)g;
    }
}
