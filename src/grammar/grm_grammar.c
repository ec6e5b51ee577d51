/*
 * A compiled grammar's life: GBNF text -> parse -> checks -> automaton, bound to a vocabulary,
 * shared by reference count (a server keeps one per schema and model and hands it to every
 * request that uses it, so the per-state token classes computed for one request serve the next).
 */
#include <stdlib.h>
#include <string.h>

#include "grammar/grm_internal.h"

static void grammar_free(grm_grammar *g) {
    grm_mask_states_free(g);
    free(g->trans), free(g->flags), free(g->call_lo), free(g->calls), free(g->rule_start);
    free(g);
}

cirrus_status grm_compile(const char *gbnf, size_t len, const char *root, const grm_vocab *v, grm_grammar **out,
                          cirrus_err *err) {
    *out = NULL;
    gx_grammar gx;
    cirrus_status st = grm_parse_gbnf(gbnf, len, root, &gx, err);
    if (st) return st;
    bool *nullable = malloc(gx.n_rules * sizeof *nullable), *recursive = malloc(gx.n_rules * sizeof *recursive);
    uint32_t *order = malloc(gx.n_rules * sizeof *order);
    grm_grammar *g = calloc(1, sizeof *g);
    if (!nullable || !recursive || !order || !g) {
        st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
        goto out;
    }
    st = grm_check(&gx, nullable, recursive, order, err);
    if (!st) st = grm_build(&gx, recursive, order, g, err);
    if (!st) {
        atomic_init(&g->refs, 1);
        g->vocab = v;
        atomic_init(&g->states_cached, 0);
        atomic_init(&g->cache_bytes, 0);
        g->cache = calloc(g->n_states, sizeof *g->cache);
        if (!g->cache) st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
        else
            for (uint32_t s = 0; s < g->n_states; s++) atomic_init(&g->cache[s], NULL);
    }
out:
    free(nullable), free(recursive), free(order);
    grm_gx_free(&gx);
    if (st) {
        if (g) grammar_free(g);
        return st;
    }
    *out = g;
    return CIRRUS_OK;
}

grm_grammar *grm_retain(grm_grammar *g) {
    if (g) atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
    return g;
}

void grm_release(grm_grammar *g) {
    if (g && atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) == 1) grammar_free(g);
}

const grm_vocab *grm_grammar_vocab(const grm_grammar *g) { return g->vocab; }

void grm_grammar_get_stats(const grm_grammar *g, grm_grammar_stats *out) {
    out->n_rules = g->n_rules;
    out->n_states = g->n_states;
    out->n_classes = g->n_classes;
    out->states_cached = atomic_load(&((grm_grammar *)g)->states_cached);
    out->cache_bytes = atomic_load(&((grm_grammar *)g)->cache_bytes);
}
