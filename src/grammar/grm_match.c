/*
 * The matcher: one sequence's position (a stack set) in a grammar, advanced by bytes or tokens,
 * and the masks of what may come next. Single-threaded; many matchers share one grammar.
 *
 * Memory: the engine's tables only grow while a generation runs (invariant 4 of grm_pda.c); past
 * REBASE_NODES nodes, after a token, they are rebuilt holding just the current stacks, so a long
 * generation costs what its current position needs, not what its history touched.
 */
#include <stdlib.h>
#include <string.h>

#include "grammar/grm_internal.h"

#define REBASE_NODES (1u << 18)

struct grm_matcher {
    grm_grammar *g;
    grm_pda pda;
    grm_mask_cache mc;
    int32_t cur, start;
    uint64_t masks, mask_ns;
};

cirrus_status grm_matcher_new(grm_grammar *g, grm_matcher **out, cirrus_err *err) {
    *out = NULL;
    grm_matcher *m = calloc(1, sizeof *m);
    if (!m) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
    cirrus_status st = grm_pda_init(&m->pda, g);
    if (st) {
        free(m);
        return cirrus_errf(err, st, "grammar: out of memory");
    }
    grm_mask_cache_init(&m->mc);
    m->g = grm_retain(g);
    m->start = m->cur = grm_pda_start(&m->pda);
    if (m->cur < 0) {
        grm_matcher_free(m);
        return cirrus_errf(err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
    }
    *out = m;
    return CIRRUS_OK;
}

void grm_matcher_free(grm_matcher *m) {
    if (!m) return;
    grm_pda_free(&m->pda);
    grm_mask_cache_free(&m->mc);
    grm_release(m->g);
    free(m);
}

void grm_matcher_reset(grm_matcher *m) { m->cur = m->start; }

static void maybe_rebase(grm_matcher *m) {
    if (m->pda.nodes.n < REBASE_NODES) return;
    int32_t cur = grm_pda_rebase(&m->pda, m->cur);
    grm_mask_cache_clear(&m->mc);
    /* the start set is rebuilt on the next reset; if rebasing failed the matcher is stuck at a
     * dead set, which refuses everything (fails closed) */
    m->cur = cur < 0 ? GRM_SET_DEAD : cur;
    m->start = grm_pda_start(&m->pda);
    if (m->start < 0) m->start = GRM_SET_DEAD;
}

bool grm_matcher_accept_bytes(grm_matcher *m, const void *bytes, size_t n) {
    const uint8_t *b = bytes;
    int32_t x = m->cur;
    for (size_t i = 0; i < n; i++) {
        x = grm_pda_step(&m->pda, x, b[i]);
        if (x <= GRM_SET_DEAD) return false;
    }
    m->cur = x;
    maybe_rebase(m);
    return true;
}

bool grm_matcher_allows_bytes(grm_matcher *m, const void *bytes, size_t n) {
    const uint8_t *b = bytes;
    int32_t x = m->cur;
    for (size_t i = 0; i < n && x > GRM_SET_DEAD; i++) x = grm_pda_step(&m->pda, x, b[i]);
    return x > GRM_SET_DEAD;
}

bool grm_matcher_accept_token(grm_matcher *m, int32_t id) {
    const grm_vocab *v = m->g->vocab;
    if (!v || id < 0 || id >= v->n_vocab) return false;
    if (v->eog[id]) return grm_matcher_is_complete(m);
    size_t len;
    const uint8_t *b = grm_vocab_piece(v, id, &len);
    return len > 0 && grm_matcher_accept_bytes(m, b, len);
}

bool grm_matcher_is_complete(const grm_matcher *m) { return m->pda.sets.v[m->cur]->complete; }

bool grm_matcher_is_done(const grm_matcher *m) {
    const grm_set *x = m->pda.sets.v[m->cur];
    return x->complete && x->n == 0;
}

cirrus_status grm_matcher_fill_mask(grm_matcher *m, uint64_t *bits) {
    const grm_vocab *v = m->g->vocab;
    if (!v) return CIRRUS_ERR_INVALID;
    uint64_t t0 = cirrus_now_ns();
    memset(bits, 0, v->words * sizeof *bits);
    cirrus_status st = grm_mask_fill(&m->pda, &m->mc, m->cur, bits);
    m->masks++;
    m->mask_ns += cirrus_now_ns() - t0;
    return st;
}

void grm_matcher_get_stats(const grm_matcher *m, grm_matcher_stats *out) {
    out->masks = m->masks;
    out->mask_ns = m->mask_ns;
    out->states_computed = m->mc.c.states_computed;
    out->unc_walks = m->mc.c.unc_walks;
    out->unc_hits = m->mc.c.unc_hits;
    out->nodes = (uint32_t)m->pda.nodes.n;
    out->sets = (uint32_t)m->pda.sets.n;
}
