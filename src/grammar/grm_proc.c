/*
 * The grammar as a logit processor of the sample chain (sample.h), modelled on the watermark's
 * (guard/watermark.c): state owned by the processor, nothing for the caller to do after a draw.
 *
 * Following the output: the chain hands every processor the sequence's history, whose ids past
 * n_prompt are what this sequence generated. Before masking, the processor feeds the matcher the
 * generated ids it has not seen yet, so it is in step whichever engine drives the chain (sched,
 * `cirrus run`) and however many tokens a step produced. A history shorter than what was fed (the
 * caller restarted the sequence) resets the matcher and replays it.
 *
 * Failing closed: an id the grammar refuses can only reach the history through the chain's last
 * resort (every candidate banned: it takes the raw argmax) or a caller that skips the chain. Then
 * the output is no longer in the language, and the processor allows only end-of-generation from
 * there on, so the sequence ends at once and grm_proc_status says why.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "grammar/grm_internal.h"

typedef struct {
    grm_matcher *m;
    const grm_vocab *v;
    size_t n_fed;
    bool failed;
    uint64_t *bits;   /* (words) */
    uint32_t words;
} proc_state;

static void sync_history(proc_state *ps, const smp_history *h) {
    size_t start = h->n_prompt < h->n ? h->n_prompt : h->n, n_gen = h->ids ? h->n - start : 0;
    if (n_gen < ps->n_fed) {
        grm_matcher_reset(ps->m);
        ps->n_fed = 0;
        ps->failed = false;
    }
    for (; ps->n_fed < n_gen; ps->n_fed++)
        if (!ps->failed && !grm_matcher_accept_token(ps->m, h->ids[start + ps->n_fed])) ps->failed = true;
}

/* Whether the ids whose bit equals `set` (allowed ones, or with set false the banned ones) sit at
 * their own index (sample.c's invariant 1 holds when nothing was banned; processors that only
 * change logits keep it). Checked, not assumed: after a reordering another id would be kept or
 * banned instead. */
static bool at_home(const smp_cands *c, const uint64_t *bits, uint32_t words, bool set) {
    size_t n = c->n;
    for (uint32_t w = 0; w < words; w++) {
        uint64_t m = set ? bits[w] : ~bits[w];
        if (w == words - 1 && n % 64) m &= (1ull << (n % 64)) - 1;
        for (; m; m &= m - 1) {
            size_t id = (size_t)w * 64 + (size_t)__builtin_ctzll(m);
            if (c->data[id].id != (int32_t)id) return false;
        }
    }
    return true;
}

static void proc_apply(smp_proc *p, smp_cands *c, const smp_history *h) {
    proc_state *ps = p->state;
    sync_history(ps, h);
    const grm_vocab *v = ps->v;
    if (ps->failed || grm_matcher_fill_mask(ps->m, ps->bits) != CIRRUS_OK) {
        /* fail closed: end-of-generation only */
        ps->failed = true;
        memset(ps->bits, 0, ps->words * sizeof *ps->bits);
        for (int32_t k = 0; k < v->n_eog; k++) ps->bits[v->eog_ids[k] >> 6] |= 1ull << (v->eog_ids[k] & 63);
    }
    const uint64_t *bits = ps->bits;
    size_t k = 0;
    size_t allowed = 0;
    if (c->n == (size_t)v->n_vocab)
        for (uint32_t w = 0; w < ps->words; w++) allowed += (size_t)__builtin_popcountll(bits[w]);
    if (c->n == (size_t)v->n_vocab && allowed * 2 > c->n && at_home(c, bits, ps->words, false)) {
        /* Most are allowed (inside a string): ban the few others with -inf and leave the compaction
         * to the chain's tidy() pass after every processor: O(words + banned). */
        for (uint32_t w = 0; w < ps->words; w++) {
            uint64_t m = ~bits[w];
            if (w == ps->words - 1 && c->n % 64) m &= (1ull << (c->n % 64)) - 1;
            for (; m; m &= m - 1) c->data[(size_t)w * 64 + (size_t)__builtin_ctzll(m)].logit = -INFINITY;
        }
        return;
    }
    if (c->n == (size_t)v->n_vocab && allowed * 2 <= c->n && at_home(c, bits, ps->words, true)) {
        /* Few are allowed: gather the set bits, O(words + allowed); writing index k <= id keeps the
         * in-place compaction safe. */
        for (uint32_t w = 0; w < ps->words; w++)
            for (uint64_t m = bits[w]; m; m &= m - 1) c->data[k++] = c->data[(size_t)w * 64 + (size_t)__builtin_ctzll(m)];
    } else {
        for (size_t i = 0; i < c->n; i++) {
            int32_t id = c->data[i].id;
            if ((uint32_t)id < (uint32_t)v->n_vocab && (bits[id >> 6] >> (id & 63) & 1)) c->data[k++] = c->data[i];
        }
    }
    c->n = k; /* the order is kept, so `sorted` stays true if it was */
}

static void proc_free(smp_proc *p) {
    proc_state *ps = p->state;
    if (!ps) return;
    grm_matcher_free(ps->m);
    free(ps->bits);
    free(ps);
    p->state = NULL;
}

cirrus_status grm_proc_new(grm_grammar *g, smp_proc *out, cirrus_err *err) {
    memset(out, 0, sizeof *out);
    if (!g || !g->vocab) return cirrus_errf(err, CIRRUS_ERR_INVALID, "grammar: compiled without a vocabulary");
    proc_state *ps = calloc(1, sizeof *ps);
    if (!ps) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
    ps->v = g->vocab;
    ps->words = g->vocab->words;
    ps->bits = malloc(ps->words * sizeof *ps->bits);
    cirrus_status st = ps->bits ? grm_matcher_new(g, &ps->m, err) : cirrus_errf(err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
    if (st) {
        free(ps->bits);
        free(ps);
        return st;
    }
    out->name = "grammar";
    out->apply = proc_apply;
    out->free = proc_free;
    out->state = ps;
    return CIRRUS_OK;
}

grm_proc_state grm_proc_status(const smp_proc *p) {
    const proc_state *ps = p->state;
    if (ps->failed) return GRM_PROC_FAILED;
    return grm_matcher_is_complete(ps->m) ? GRM_PROC_COMPLETE : GRM_PROC_OPEN;
}

void grm_proc_stats(const smp_proc *p, grm_matcher_stats *out) { grm_matcher_get_stats(((const proc_state *)p->state)->m, out); }

cirrus_status grm_choice_proc(void *arg, int32_t choice, smp_proc *out, cirrus_err *err) {
    (void)choice;
    return grm_proc_new(arg, out, err);
}
