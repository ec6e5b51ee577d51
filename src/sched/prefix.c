/*
 * KV slots and the per-tenant prefix cache.
 *
 * A slot is free (no running request) or held. A free slot either is clean or keeps the KV of the
 * tokens toks[0, n_kv) of the request that last held it, tagged with that request's tenant: a
 * cache entry. Entries are matched only against requests of the same tenant (invariant 4) and are
 * reclaimed least recently freed first when a request needs slots and no clean one is left, so
 * the cache costs no capacity: a free slot is a free slot.
 *
 * A new request's first choice starts from the longest prefix of its prompt found in
 *   - a free entry of its tenant: the request takes the slot over (no copy; the tail after the
 *     common prefix is simply overwritten), or
 *   - a slot of its tenant that is running right now (n concurrent requests sharing a system
 *     prompt): the prefix is copied with mdl_seq_copy into the slot the request gets. Positions
 *     below a running sequence's n_kv never change, so the copy is consistent.
 * The reuse is capped at n_prompt - 1: the last prompt token must run through the model to give
 * the logits of the first generated token.
 */
#include <string.h>

#include "sched/sched_impl.h"

int32_t sched_slots_free(const sched *s) { return s->p.n_slots - s->slots_used; }

static int32_t common_prefix(const int32_t *a, int32_t na, const int32_t *b, int32_t nb) {
    int32_t n = na < nb ? na : nb, i = 0;
    while (i < n && a[i] == b[i]) i++;
    return i;
}

/* A free slot for a choice that brings no prefix: a clean one, else the least recently freed
 * cache entry (evicted). */
static sched_slot *take_any(sched *s) {
    sched_slot *best = NULL;
    for (int32_t i = 0; i < s->p.n_slots; i++) {
        sched_slot *sl = &s->slots[i];
        if (sl->req) continue;
        if (!sl->cache_tenant) return sl;
        if (!best || sl->lru < best->lru) best = sl;
    }
    return best;
}

static void hold(sched *s, sched_slot *sl, sched_req *r, int32_t choice) {
    if (sl->cache_tenant) {
        sl->cache_tenant->n_cached--;
        s->slots_cached--;
        sl->cache_tenant = NULL;
    }
    sl->req = r;
    sl->choice = choice;
    sl->last_decode_step = 0;
    r->ch[choice].slot = sl->id;
    s->slots_used++;
}

int32_t sched_slots_assign(sched *s, sched_req *r) {
    sched_slot *from_free = NULL, *from_busy = NULL;
    int32_t best = 0, cap = r->n_prompt - 1;
    if (s->p.prefix_cache) {
        for (int32_t i = 0; i < s->p.n_slots; i++) {
            sched_slot *sl = &s->slots[i];
            sched_tenant *owner = sl->req ? sl->req->tenant : sl->cache_tenant;
            if (owner != r->tenant || sl->n_kv == 0) continue; /* invariant 4 */
            int32_t n = common_prefix(sl->toks, sl->n_kv, r->prompt, cap);
            /* Prefer taking a free entry over copying from a running slot at equal length. */
            if (n > best || (n == best && n > 0 && !sl->req && from_busy)) {
                best = n;
                from_free = sl->req ? NULL : sl;
                from_busy = sl->req ? sl : NULL;
            }
        }
    }
    sched_slot *first = from_free ? from_free : take_any(s);
    hold(s, first, r, 0);
    if (from_busy) { /* copied before the next forward pass, outside the lock (sched.c) */
        s->copies[s->n_copies++] = (sched_copy){from_busy->id, first->id, best};
        memcpy(first->toks, from_busy->toks, (size_t)best * sizeof(int32_t));
    }
    first->n_kv = best;
    memcpy(first->toks + best, r->prompt + best, (size_t)(r->n_prompt - best) * sizeof(int32_t));
    /* Other choices get the prompt's KV copied in when its prefill completes. */
    for (int32_t c = 1; c < r->n_choices; c++) {
        sched_slot *sl = take_any(s);
        hold(s, sl, r, c);
        sl->n_kv = 0;
        memcpy(sl->toks, r->prompt, (size_t)r->n_prompt * sizeof(int32_t));
    }
    r->tenant->n_held += r->n_choices;
    return best;
}

void sched_slots_release(sched *s, sched_req *r, bool keep) {
    for (int32_t c = 0; c < r->n_choices; c++) {
        if (r->ch[c].slot < 0) continue;
        sched_slot *sl = &s->slots[r->ch[c].slot];
        r->ch[c].slot = -1;
        sl->req = NULL;
        s->slots_used--;
        if (keep && s->p.prefix_cache && sl->n_kv > 0) {
            sl->cache_tenant = r->tenant;
            sl->lru = ++s->lru_clock;
            r->tenant->n_cached++;
            s->slots_cached++;
        } else {
            sl->n_kv = 0;
        }
    }
    r->tenant->n_held -= r->n_choices;
}
