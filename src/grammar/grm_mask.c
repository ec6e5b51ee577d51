/*
 * Token masks: which vocabulary ids can come next from a set of stacks.
 *
 * Per DFA state s, once per grammar (and so per vocabulary), the trie is walked from the unclosed
 * set {(s, bottom)} -- s's own byte edges first, then whatever the bytes lead to. Each token is
 *   accepted    its bytes end somewhere alive without ever needing what lies below s: allowed
 *               whatever the real stack is;
 *   rejected    it dies without ever having left s's rule: allowed under no stack;
 *   dependent   it died after the rule below s could have returned with bytes still to read:
 *               the answer depends on the real stack.
 * Rejected tokens are dropped whole subtrees at a time; dependent ones are recorded by the trie
 * node where they died (its whole subtree is dependent, invariant of the walk below), so the list
 * is short even when most of the vocabulary sits in it.
 *
 * At run time the mask of a set is the union over its members (stacks) of the member's state's
 * accepted tokens plus what a walk of just the dependent subtrees from the member's real stack
 * allows. That walk visits only the dependent subtrees and their ancestors, and is cached per
 * stack node: a JSON string's content state is the same node for every character of the string,
 * so its dependent walk (the tokens that close the string and run on into the next key) runs
 * once per string position in the document, not once per token.
 *
 * This is the split xgrammar calls context-independent / context-dependent tokens, computed lazily
 * (a state's classes are computed the first time a generation reaches it, never for states no
 * generation reaches: no compile-time cliff like vLLM's #12122) over llguidance's flat trie.
 */
#include <stdlib.h>
#include <string.h>

#include "grammar/grm_internal.h"

typedef struct {
    uint32_t n;
    int32_t ids[];
} unc_hit;

void grm_mask_cache_init(grm_mask_cache *mc) {
    memset(mc, 0, sizeof *mc);
    cirrus_map_init(&mc->unc, &cirrus_map_u64, 1u << 20);
    cirrus_arena_init(&mc->arena, (size_t)128 << 20);
}

void grm_mask_cache_free(grm_mask_cache *mc) {
    cirrus_map_free(&mc->unc);
    cirrus_arena_free(&mc->arena);
}

void grm_mask_cache_clear(grm_mask_cache *mc) {
    cirrus_map_clear(&mc->unc);
    cirrus_arena_free(&mc->arena);
    cirrus_arena_init(&mc->arena, (size_t)128 << 20);
}

static void cache_free(grm_state_cache *e) {
    if (!e) return;
    free(e->acc_ids), free(e->acc_bits), free(e->unc_nodes);
    free(e);
}

void grm_mask_states_free(grm_grammar *g) {
    if (!g->cache) return;
    for (uint32_t s = 0; s < g->n_states; s++) cache_free(atomic_load(&g->cache[s]));
    free(g->cache);
    g->cache = NULL;
}

typedef CIRRUS_VEC(int32_t) ids_vec;
typedef CIRRUS_VEC(uint32_t) u32_vec;
typedef CIRRUS_VEC(int32_t) set_path;

/*
 * Walks trie nodes [lo, hi) -- a whole subtree, or the whole trie from 1 -- given the set before
 * lo in setd[depth[lo] - 1], pushing the ids of tokens that end alive to acc. setd[d] is the set
 * after the first d bytes of the current path. With exitd (the per-state walk), exitd[d] says the
 * bottom rule could have returned at some prefix of length <= d, and a subtree that dies after
 * such a prefix goes to unc (dependent) instead of being dropped (rejected).
 */
static bool trie_walk(grm_pda *p, int32_t *setd, bool *exitd, uint32_t lo, uint32_t hi, ids_vec *acc, u32_vec *unc) {
    const grm_vocab *v = p->g->vocab;
    for (uint32_t i = lo; i < hi;) {
        uint32_t d = v->depth[i];
        int32_t y = grm_pda_step(p, setd[d - 1], v->byte[i]);
        if (y < 0) return false;
        if (y == GRM_SET_DEAD) {
            if (exitd && exitd[d - 1] && cirrus_vec_push(unc, v->n_nodes, i)) return false;
            i = v->end[i];
            continue;
        }
        setd[d] = y;
        if (exitd) exitd[d] = exitd[d - 1] || grm_pda_set(p, y)->complete;
        for (uint32_t k = 0; k < v->n_end[i]; k++)
            if (cirrus_vec_push(acc, (size_t)v->n_vocab, v->sorted[v->sub[i] + k])) return false;
        i++;
    }
    return true;
}

static const grm_state_cache *compute_state(grm_pda *p, uint32_t s) {
    const grm_vocab *v = p->g->vocab;
    int32_t *setd = malloc((v->max_depth + 1) * sizeof *setd);
    bool *exitd = malloc(v->max_depth + 1);
    ids_vec acc = {0};
    u32_vec unc = {0};
    grm_state_cache *e = NULL;
    bool ok = setd && exitd;
    if (ok) {
        setd[0] = grm_pda_state_set(p, s);
        exitd[0] = false;
        ok = setd[0] >= 0 && trie_walk(p, setd, exitd, 1, v->n_nodes, &acc, &unc);
    }
    if (ok && (e = calloc(1, sizeof *e))) {
        e->n_acc = (uint32_t)acc.n;
        e->n_unc = (uint32_t)unc.n;
        e->unc_nodes = unc.v, unc.v = NULL;
        /* a list costs 4 bytes an id, a bitset n_vocab / 8 bytes */
        if (acc.n * 32 > (size_t)v->n_vocab) {
            e->acc_bits = calloc(v->words, sizeof *e->acc_bits);
            if (e->acc_bits)
                for (size_t k = 0; k < acc.n; k++) e->acc_bits[acc.v[k] >> 6] |= 1ull << (acc.v[k] & 63);
            e->bytes = v->words * sizeof *e->acc_bits;
            ok = e->acc_bits != NULL;
        } else {
            e->acc_ids = acc.v, acc.v = NULL;
            e->bytes = e->n_acc * sizeof *e->acc_ids;
        }
        e->bytes += sizeof *e + e->n_unc * sizeof *e->unc_nodes;
        if (!ok) cache_free(e), e = NULL;
    }
    free(setd), free(exitd), free(acc.v), free(unc.v);
    return e;
}

const grm_state_cache *grm_mask_state(grm_pda *p, grm_mask_counters *c, uint32_t s) {
    grm_grammar *g = (grm_grammar *)p->g; /* the cache is the one mutable, atomically published part */
    grm_state_cache *e = atomic_load_explicit(&g->cache[s], memory_order_acquire);
    if (e) return e;
    grm_state_cache *mine = (grm_state_cache *)compute_state(p, s);
    if (!mine) return NULL;
    c->states_computed++;
    grm_state_cache *expected = NULL;
    if (!atomic_compare_exchange_strong_explicit(&g->cache[s], &expected, mine, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        cache_free(mine); /* another thread published the same result first */
        return expected;
    }
    atomic_fetch_add(&g->states_cached, 1);
    atomic_fetch_add(&g->cache_bytes, mine->bytes);
    return mine;
}

/* The dependent subtrees of e walked from the real stack `node`: ids allowed, into out. Only the
 * dependent subtrees and their ancestors are visited. */
static bool walk_dependent(grm_pda *p, uint32_t node, const grm_state_cache *e, ids_vec *out) {
    const grm_vocab *v = p->g->vocab;
    int32_t *setd = malloc((v->max_depth + 1) * sizeof *setd);
    if (!setd) return false;
    bool ok = (setd[0] = grm_pda_node_set(p, node)) >= 0;
    uint32_t ui = 0;
    for (uint32_t i = 1; ok && i < v->n_nodes && ui < e->n_unc;) {
        uint32_t u = e->unc_nodes[ui];
        if (u >= v->end[i]) { /* nothing dependent below i */
            i = v->end[i];
        } else if (u == i) {
            ok = trie_walk(p, setd, NULL, u, v->end[u], out, NULL);
            i = v->end[u];
            ui++;
        } else { /* an ancestor: its own tokens were decided per state, only its set is needed */
            int32_t y = grm_pda_step(p, setd[v->depth[i] - 1], v->byte[i]);
            if (y < 0) ok = false;
            else if (y == GRM_SET_DEAD) {
                while (ui < e->n_unc && e->unc_nodes[ui] < v->end[i]) ui++;
                i = v->end[i];
            } else {
                setd[v->depth[i]] = y;
                i++;
            }
        }
    }
    free(setd);
    return ok;
}

static inline void set_bit(uint64_t *bits, int32_t id) { bits[id >> 6] |= 1ull << (id & 63); }

cirrus_status grm_mask_fill(grm_pda *p, grm_mask_cache *mc, int32_t set, uint64_t *bits) {
    const grm_grammar *g = p->g;
    const grm_vocab *v = g->vocab;
    const grm_set *x = grm_pda_set(p, set);
    uint32_t last_state = GRM_NIL;
    for (uint32_t i = 0; i < x->n; i++) {
        uint32_t node = x->m[i], s = p->nodes.v[node].state;
        const grm_state_cache *e = grm_mask_state(p, &mc->c, s);
        if (!e) return p->fail ? p->fail : CIRRUS_ERR_NOMEM;
        if (s != last_state) { /* the same state under other stacks adds nothing accepted */
            if (e->acc_bits)
                for (uint32_t w = 0; w < v->words; w++) bits[w] |= e->acc_bits[w];
            else
                for (uint32_t k = 0; k < e->n_acc; k++) set_bit(bits, e->acc_ids[k]);
            last_state = s;
        }
        if (!e->n_unc) continue;
        const unc_hit *hit = cirrus_map_get(&mc->unc, CIRRUS_MAP_U64(node));
        if (hit) {
            mc->c.unc_hits++;
        } else {
            ids_vec ids = {0};
            if (!walk_dependent(p, node, e, &ids)) {
                free(ids.v);
                return p->fail ? p->fail : CIRRUS_ERR_NOMEM;
            }
            mc->c.unc_walks++;
            unc_hit *h = cirrus_arena_alloc(&mc->arena, sizeof *h + ids.n * sizeof *h->ids);
            if (h) {
                h->n = (uint32_t)ids.n;
                if (ids.n) memcpy(h->ids, ids.v, ids.n * sizeof *h->ids);
                if (cirrus_map_put(&mc->unc, CIRRUS_MAP_U64(node), h, NULL)) h = NULL;
            }
            if (!h) { /* the cache is full: use the result once */
                for (size_t k = 0; k < ids.n; k++) set_bit(bits, ids.v[k]);
                free(ids.v);
                continue;
            }
            free(ids.v);
            hit = h;
        }
        for (uint32_t k = 0; k < hit->n; k++) set_bit(bits, hit->ids[k]);
    }
    if (x->complete)
        for (int32_t k = 0; k < v->n_eog; k++) set_bit(bits, v->eog_ids[k]);
    return CIRRUS_OK;
}
