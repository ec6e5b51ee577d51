/*
 * Replies that wait for their usage record to be durable, without an HTTP thread waiting on disk.
 *
 * A reply that reports success -- a whole body, or a stream's finish_reason, usage and [DONE] --
 * goes out only once the ledger has fsync'd the request's settle: a client that saw a response
 * complete has its record on disk, whatever crashes next (ledger L6). The ledger commits in groups
 * on its own thread and says after each commit what is durable (on_commit); a connection waiting
 * for that sleeps (suspended, no thread) on the waiters list below and is woken by the commit
 * hook, or by its deadline (http_wake_at) when the disk is failing. A reply whose record is not
 * durable by then is not reported as a success: a 503, or an error event and no [DONE].
 *
 * Known limit: the settle that timed out stays in the ledger's queue (the writer retries it), so
 * if the disk recovers later the request is billed although its client got an error. The access
 * log says outcome "not_durable" for exactly those requests; the ledger cannot take a record back
 * (L3), and answering anyway would be worse: that loses records clients saw complete.
 *
 * Lock order: hook->mu, then a call's mu (to wake its connection), then http's. A call leaves the
 * list (unlink) before it is freed, under hook->mu, so the hook never sees a freed call.
 */
#include <stdlib.h>

#include "api/api_call.h"

struct api_commit {
    pthread_mutex_t mu;
    api_call *head; /* calls whose settle is not yet durable */
};

cirrus_status api_commit_new(api_commit **out) {
    *out = calloc(1, sizeof **out);
    if (!*out) return CIRRUS_ERR_NOMEM;
    pthread_mutex_init(&(*out)->mu, NULL);
    return CIRRUS_OK;
}

void api_commit_free(api_commit *h) {
    if (!h) return;
    pthread_mutex_destroy(&h->mu);
    free(h);
}

/* The ledger's writer thread, after a commit: wake every reply that waited for a ticket up to
 * durable. It only wakes; the woken call asks the ledger itself (a commit that failed at shutdown
 * reports its last ticket too, durable or not). */
void api_commit_notify(void *hook, uint64_t durable) {
    api_commit *h = hook;
    pthread_mutex_lock(&h->mu);
    for (api_call *c = h->head; c; c = c->w_next) {
        if (c->ticket > durable) continue;
        pthread_mutex_lock(&c->mu);
        if (c->live) http_wake(c->live);
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_unlock(&h->mu);
}

static void unlink_locked(api_commit *h, api_call *c) {
    if (c->w_prev) c->w_prev->w_next = c->w_next;
    else h->head = c->w_next;
    if (c->w_next) c->w_next->w_prev = c->w_prev;
    c->w_prev = c->w_next = NULL;
    c->w_linked = false;
}

void api_durable_forget(api_call *c) {
    api_commit *h = c->a->cfg.commit;
    if (!h || !c->w_linked) return;
    pthread_mutex_lock(&h->mu);
    if (c->w_linked) unlink_locked(h, c);
    pthread_mutex_unlock(&h->mu);
}

void api_durable_wait(api_call *c, http_req *r, uint64_t ticket) {
    api *a = c->a;
    api_commit *h = a->cfg.commit;
    c->ticket = ticket;
    if (tenancy_is_durable(a->cfg.tenancy, ticket)) {
        c->durability = API_DUR_DONE;
        return;
    }
    c->durability = API_DUR_WAITING;
    c->durable_deadline = cirrus_now_ns() + (uint64_t)a->cfg.durable_timeout_ms * 1000000ull;
    http_wake_at(r, c->durable_deadline);
    pthread_mutex_lock(&h->mu);
    c->w_prev = NULL;
    c->w_next = h->head;
    if (h->head) h->head->w_prev = c;
    h->head = c;
    c->w_linked = true;
    pthread_mutex_unlock(&h->mu);
    /* a commit between the first look and the link found nothing to wake: look again */
    api_durable_check(c);
}

api_durability api_durable_check(api_call *c) {
    if (c->durability != API_DUR_WAITING) return c->durability;
    if (tenancy_is_durable(c->a->cfg.tenancy, c->ticket)) c->durability = API_DUR_DONE;
    else if (cirrus_now_ns() >= c->durable_deadline) {
        c->durability = API_DUR_FAILED;
        CIRRUS_ERROR("api: request %s: its usage record is not durable after %u ms; answering with an error, not the reply",
                     c->id, c->a->cfg.durable_timeout_ms);
    }
    if (c->durability != API_DUR_WAITING) api_durable_forget(c);
    return c->durability;
}
