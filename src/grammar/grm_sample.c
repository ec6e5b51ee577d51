/*
 * Random sentences of a grammar, for testing the compiler against independent validators: a
 * seeded walk of the automaton, byte by byte, that is sure to end.
 *
 * Up to the soft length every allowed byte is equally likely (so rare branches -- escapes,
 * multi-byte characters, optional members -- all get exercised); past it, each step takes a byte
 * on a shortest way to completion. Shortest ways come from per-state distances: the fewest bytes
 * from a state to the end of its rule, where a call costs its rule's shortest sentence. A stack's
 * distance is the sum over its frames, and some byte always lowers it by one, so the walk ends
 * within that many bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "grammar/grm_internal.h"

#define INF UINT32_MAX

static uint32_t *state_dists(const grm_grammar *g) {
    uint32_t *dist = malloc(g->n_states * sizeof *dist);
    if (!dist) return NULL;
    for (uint32_t s = 0; s < g->n_states; s++) dist[s] = (g->flags[s] & GRM_ST_ACCEPT) ? 0 : INF;
    for (bool changed = true; changed;) { /* Bellman-Ford; states are in creation order, so go backwards */
        changed = false;
        for (uint32_t s = g->n_states; s-- > 0;) {
            uint64_t best = dist[s];
            const int32_t *row = g->trans + (size_t)s * g->n_classes;
            for (uint32_t c = 0; c < g->n_classes; c++)
                if (row[c] >= 0 && dist[row[c]] != INF && 1ull + dist[row[c]] < best) best = 1ull + dist[row[c]];
            for (uint32_t i = g->call_lo[s]; i < g->call_lo[s + 1]; i++) {
                uint32_t m = dist[g->rule_start[g->calls[i].rule]], r = dist[g->calls[i].ret];
                if (m != INF && r != INF && (uint64_t)m + r < best) best = (uint64_t)m + r;
            }
            if (best < dist[s]) dist[s] = (uint32_t)best, changed = true;
        }
    }
    return dist;
}

static uint64_t next_rand(uint64_t *s) { /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

cirrus_status grm_sample(grm_grammar *g, uint64_t seed, size_t soft_len, double p_end, char **out, size_t *len,
                         cirrus_err *err) {
    *out = NULL;
    *len = 0;
    uint32_t *dist = state_dists(g);
    grm_pda p;
    cirrus_buf b;
    cirrus_buf_init(&b, (size_t)1 << 26);
    if (!dist || grm_pda_init(&p, g) != CIRRUS_OK) {
        free(dist);
        return cirrus_errf(err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
    }
    uint8_t members[256][256];  /* class -> its bytes */
    uint32_t n_members[256] = {0};
    for (int c = 0; c < 256; c++) members[g->cls[c]][n_members[g->cls[c]]++] = (uint8_t)c;
    int32_t next_set[256];
    uint32_t weight[256];
    cirrus_status st = CIRRUS_OK;
    int32_t x = grm_pda_start(&p);
    uint64_t rng = seed;
    while (x >= 0) {
        uint32_t total = 0, best = INF;
        for (uint32_t c = 0; c < g->n_classes; c++) {
            int32_t y = grm_pda_step(&p, x, members[c][0]);
            next_set[c] = y;
            weight[c] = 0;
            if (y <= GRM_SET_DEAD) continue;
            weight[c] = n_members[c];
            total += n_members[c];
            uint32_t d = grm_pda_dist_with(&p, y, dist);
            if (d < best) best = d;
        }
        if (p.fail) break;
        bool complete = grm_pda_set(&p, x)->complete;
        if (total == 0) break; /* done: complete with nothing after */
        if (complete && (b.len >= soft_len || (double)(next_rand(&rng) >> 11) * 0x1p-53 < p_end)) break;
        uint32_t pick_c = 0;
        if (b.len < soft_len) {
            uint32_t r = (uint32_t)(next_rand(&rng) % total);
            for (pick_c = 0; pick_c < g->n_classes; pick_c++) {
                if (r < weight[pick_c]) break;
                r -= weight[pick_c];
            }
        } else {
            uint32_t n_best = 0, r;
            for (uint32_t c = 0; c < g->n_classes; c++)
                if (weight[c] && grm_pda_dist_with(&p, next_set[c], dist) == best) n_best++;
            r = (uint32_t)(next_rand(&rng) % n_best);
            for (pick_c = 0; pick_c < g->n_classes; pick_c++)
                if (weight[pick_c] && grm_pda_dist_with(&p, next_set[pick_c], dist) == best && r-- == 0) break;
        }
        uint8_t byte = members[pick_c][next_rand(&rng) % n_members[pick_c]];
        if (cirrus_buf_addc(&b, (char)byte)) break;
        x = next_set[pick_c];
    }
    if (p.fail || x < 0) st = cirrus_errf(err, CIRRUS_ERR_FULL, "grammar: sampling ran past the matcher's limits");
    else if (b.fail) st = cirrus_errf(err, b.fail, "grammar: sample longer than %zu bytes", b.max);
    grm_pda_free(&p);
    free(dist);
    if (st) {
        cirrus_buf_free(&b);
        return st;
    }
    *out = cirrus_buf_take(&b, len);
    return *out ? CIRRUS_OK : cirrus_errf(err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
}
