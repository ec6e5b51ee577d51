/*
 * Requests: validation and copy at submit, the per-request event ring, polling, cancellation and
 * the reference count the owner and the engine share.
 *
 * The ring is the only path from the engine to the owner. It never blocks the engine: it starts
 * small and doubles when the owner lags, up to the most events the request can produce
 * (n_choices * (max_tokens + 2): a token event per token plus a final event, plus one more when a
 * final flush overflows an event's text). Growth is rare (a consumer that keeps up never causes
 * it), so the steady-state step allocates nothing. If growth fails the request is cancelled and
 * the owner reads ERROR finals synthesized by sched_poll, keeping invariant 5.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched/sched_impl.h"

#define RING_INIT 32

static void req_destroy(sched_req *r) {
    for (int32_t i = 0; i < r->n_choices; i++) smp_chain_free(r->ch[i].chain);
    free(r->ring);
    free(r->prompt);
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_destroy(&r->notify_mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}

void sched_req_release(sched_req *r) {
    pthread_mutex_lock(&r->mu);
    int left = --r->refs;
    pthread_mutex_unlock(&r->mu);
    if (left == 0) req_destroy(r);
}

bool sched_req_owner_gone(sched_req *r) {
    pthread_mutex_lock(&r->mu);
    bool g = r->owner_gone;
    pthread_mutex_unlock(&r->mu);
    return g;
}

void sched_req_notify(sched_req *r) {
    if (!r->notify) return;
    pthread_mutex_lock(&r->notify_mu);
    if (!r->owner_gone) r->notify(r->notify_arg);
    pthread_mutex_unlock(&r->notify_mu);
}

/* Doubles the ring, keeping order. Under r->mu. */
static bool ring_grow(sched_req *r) {
    if (r->ring_cap >= r->ring_max) return false;
    uint32_t cap = r->ring_cap * 2 > r->ring_max ? r->ring_max : r->ring_cap * 2;
    sched_event *n = malloc((size_t)cap * sizeof *n);
    if (!n) return false;
    for (uint32_t i = 0; i < r->ring_count; i++) n[i] = r->ring[(r->ring_head + i) % r->ring_cap];
    free(r->ring);
    r->ring = n;
    r->ring_cap = cap;
    r->ring_head = 0;
    return true;
}

void sched_req_push(sched_req *r, const sched_event *ev) {
    pthread_mutex_lock(&r->mu);
    if (!r->owner_gone && !r->ev_lost) {
        if (r->ring_count == r->ring_cap && !ring_grow(r)) {
            r->ev_lost = true;
            atomic_store(&r->cancel, true); /* the engine drops it at the next step */
        } else {
            r->ring[(r->ring_head + r->ring_count) % r->ring_cap] = *ev;
            r->ring_count++;
        }
        pthread_cond_broadcast(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
}

/* ---- submit ------------------------------------------------------------------------------ */

static cirrus_status check_params(const sched *s, const sched_req_params *p, cirrus_err *err) {
    if (!memchr(p->tenant, 0, SCHED_TENANT_MAX))
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "tenant: longer than %d bytes", SCHED_TENANT_MAX - 1);
    if (p->weight > SCHED_WEIGHT_MAX)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "weight: %u, at most %d", p->weight, SCHED_WEIGHT_MAX);
    if (p->n_prompt < 1 || !p->prompt)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "prompt: empty");
    if (p->n_prompt > s->p.n_ctx)
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "prompt: %d tokens, the context holds %d", p->n_prompt,
                           s->p.n_ctx);
    for (int32_t i = 0; i < p->n_prompt; i++)
        if (p->prompt[i] < 0 || p->prompt[i] >= s->n_vocab)
            return cirrus_errf(err, CIRRUS_ERR_INVALID, "prompt[%d]: token id %d outside [0, %d)", i, p->prompt[i],
                               s->n_vocab);
    if (p->max_tokens < 1) return cirrus_errf(err, CIRRUS_ERR_INVALID, "max_tokens: %d, must be >= 1", p->max_tokens);
    if ((int64_t)p->n_prompt + p->max_tokens > s->p.n_ctx)
        return cirrus_errf(err, CIRRUS_ERR_RANGE,
                           "max_tokens: prompt (%d tokens) + max_tokens (%d) exceeds the context of %d tokens",
                           p->n_prompt, p->max_tokens, s->p.n_ctx);
    if (p->n_choices < 1 || p->n_choices > SCHED_MAX_CHOICES)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "n: %d, must be 1..%d", p->n_choices, SCHED_MAX_CHOICES);
    if (p->n_choices > s->p.n_slots)
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "n: %d choices, the server runs %d sequences at once",
                           p->n_choices, s->p.n_slots);
    if (p->n_logprobs < -1 || p->n_logprobs > SMP_MAX_TOP_LOGPROBS)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "top_logprobs: %d, must be 0..%d", p->n_logprobs,
                           SMP_MAX_TOP_LOGPROBS);
    return smp_params_check(&p->sampling, s->n_vocab, err);
}

cirrus_status sched_submit(sched *s, const sched_req_params *p, sched_req **out, cirrus_err *err) {
    *out = NULL;
    cirrus_status st = check_params(s, p, err);
    if (st) return st;
    sched_req *r = calloc(1, sizeof *r + (size_t)p->n_choices * sizeof(sched_choice));
    if (!r) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "request: out of memory");
    r->s = s;
    r->n_prompt = p->n_prompt;
    r->max_tokens = p->max_tokens;
    r->n_choices = p->n_choices;
    r->n_logprobs = p->n_logprobs;
    r->n_stops = p->n_stops;
    r->notify = p->notify;
    r->notify_arg = p->notify_arg;
    r->cost = (uint64_t)p->n_prompt + (uint64_t)p->max_tokens * (uint64_t)p->n_choices;
    r->refs = 2;
    r->n_live = p->n_choices;
    atomic_init(&r->cancel, false);
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->notify_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* poll deadlines on cirrus_now_ns's clock */
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    for (int32_t i = 0; i < r->n_choices; i++) r->ch[i].slot = -1;

    r->prompt = malloc((size_t)p->n_prompt * sizeof(int32_t));
    r->ring_max = (uint32_t)p->n_choices * ((uint32_t)p->max_tokens + 2u);
    r->ring_cap = r->ring_max < RING_INIT ? r->ring_max : RING_INIT;
    r->ring = malloc((size_t)r->ring_cap * sizeof(sched_event));
    if (!r->prompt || !r->ring) {
        req_destroy(r);
        return cirrus_errf(err, CIRRUS_ERR_NOMEM, "request: out of memory");
    }
    memcpy(r->prompt, p->prompt, (size_t)p->n_prompt * sizeof(int32_t));
    for (int32_t i = 0; i < r->n_choices; i++) {
        sched_choice *c = &r->ch[i];
        smp_params sp = p->sampling;
        sp.seed += (uint64_t)i; /* choice i is a different draw, reproducible from the seed */
        if (smp_chain_new(&sp, s->n_vocab, &c->chain) != CIRRUS_OK) {
            req_destroy(r);
            return cirrus_errf(err, CIRRUS_ERR_NOMEM, "request: out of memory for the sampler");
        }
        if (p->choice_proc) {
            smp_proc cp = {0};
            st = p->choice_proc(p->choice_proc_arg, i, &cp, err);
            if (st == CIRRUS_OK && smp_chain_add(c->chain, &cp) != CIRRUS_OK) {
                if (cp.free) cp.free(&cp);
                st = cirrus_errf(err, CIRRUS_ERR_FULL, "request: too many sampler processors");
            }
            if (st) {
                req_destroy(r);
                return st;
            }
        }
        for (int32_t k = 0; k < p->n_procs && k < 2; k++) {
            if (p->procs[k].free) {
                req_destroy(r);
                return cirrus_errf(err, CIRRUS_ERR_INVALID, "request: procs[%d] must be borrowed (free == NULL)", k);
            }
            if (smp_chain_add(c->chain, &p->procs[k]) != CIRRUS_OK) {
                req_destroy(r);
                return cirrus_errf(err, CIRRUS_ERR_FULL, "request: too many sampler processors");
            }
        }
        tok_stream_init(&c->ts);
        st = smp_stop_init(&c->stop, p->stops, p->n_stops, err);
        if (st) {
            req_destroy(r);
            return st;
        }
    }

    uint64_t now = cirrus_now_ns();
    r->usage.prompt_tokens = 0; /* counted as prefill processes them (sched_usage) */
    r->usage.t_submit_ns = now;
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        st = cirrus_errf(err, CIRRUS_ERR_FULL, "scheduler: shutting down, not accepting requests");
    } else if (s->n_queued >= s->p.max_queue) {
        st = cirrus_errf(err, CIRRUS_ERR_FULL, "queue: %d requests already waiting", s->n_queued);
    } else {
        r->tenant = sched_tenant_get(s, p->tenant[0] ? p->tenant : "default", now);
        if (!r->tenant) st = cirrus_errf(err, CIRRUS_ERR_FULL, "tenants: table of %d is full", SCHED_TENANTS_MAX);
    }
    if (st) {
        pthread_mutex_unlock(&s->mu);
        req_destroy(r);
        return st;
    }
    r->tenant->weight = p->weight ? p->weight : 1;
    r->tenant->reserved_tpm = p->reserved_tpm;
    sched_queue_push(s, r);
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    *out = r;
    return CIRRUS_OK;
}

/* ---- owner side --------------------------------------------------------------------------- */

int sched_poll(sched_req *r, sched_event *ev, int timeout_ms) {
    uint32_t all = (r->n_choices >= 32 ? 0xffffffffu : (1u << r->n_choices) - 1u);
    struct timespec dl = {0, 0};
    if (timeout_ms > 0) {
        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_sec += timeout_ms / 1000;
        dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&r->mu);
    int rc;
    for (;;) {
        if (r->ring_count > 0) {
            *ev = r->ring[r->ring_head];
            r->ring_head = (r->ring_head + 1) % r->ring_cap;
            r->ring_count--;
            if (ev->finish != SCHED_FINISH_NONE) r->final_read |= 1u << ev->choice;
            rc = 1;
            break;
        }
        if (r->ev_lost && r->final_read != all) { /* invariant 5 even when the ring failed */
            int32_t c = 0;
            while (r->final_read & (1u << c)) c++;
            memset(ev, 0, sizeof *ev);
            ev->choice = c;
            ev->token = -1;
            ev->finish = SCHED_FINISH_ERROR;
            r->final_read |= 1u << c;
            rc = 1;
            break;
        }
        if (r->final_read == all) {
            rc = -1;
            break;
        }
        if (timeout_ms == 0) {
            rc = 0;
            break;
        }
        if (timeout_ms < 0) {
            pthread_cond_wait(&r->cv, &r->mu);
        } else if (pthread_cond_timedwait(&r->cv, &r->mu, &dl) == ETIMEDOUT) {
            timeout_ms = 0; /* one last look, then report the timeout */
        }
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

void sched_cancel(sched_req *r) {
    if (!r || atomic_exchange(&r->cancel, true)) return;
    sched *s = r->s;
    pthread_mutex_lock(&s->mu);
    s->n_cancel_pending++;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void sched_req_usage(const sched_req *r, sched_usage *u) {
    sched_req *m = (sched_req *)r; /* the lock is not part of the value */
    pthread_mutex_lock(&m->mu);
    *u = m->usage;
    pthread_mutex_unlock(&m->mu);
}

void sched_req_free(sched_req *r) {
    if (!r) return;
    pthread_mutex_lock(&r->notify_mu); /* waits out a notify() in progress */
    pthread_mutex_lock(&r->mu);
    r->owner_gone = true;
    bool engine_holds = r->refs > 1;
    pthread_mutex_unlock(&r->mu);
    pthread_mutex_unlock(&r->notify_mu);
    if (engine_holds) sched_cancel(r);
    sched_req_release(r);
}
