/*
 * The stack-set engine: where in the grammar an output prefix can be, as a set of stacks, and a
 * lazy DFA over such sets.
 *
 * A stack is a chain of hash-consed nodes (state, parent): the top node's state is the position in
 * the innermost rule, each parent's state is where its rule resumes when the call below returns.
 * Hash-consing makes equal stacks the same node id, so a set of stacks is a sorted array of ids,
 * and sets are interned too. Stepping a set by a byte class is memoized in the set (next[]), so
 * after warm-up a byte costs one array load -- what makes the trie walks of grm_mask.c cheap.
 *
 * Invariants:
 *  1. A set holds only nodes whose state has byte edges ("closed": every call reachable without
 *     consuming a byte was pushed, every accepting top popped); `complete` records a pop past the
 *     bottom. A set is alive iff it has members or is complete; GRM_SET_DEAD (id 0) is the one
 *     dead set.
 *  2. Closure terminates: grm_check rejects left recursion, so a chain of pushes without a byte
 *     is at most one per rule; pops only go to existing nodes; every node is visited once per
 *     closure (epoch stamps).
 *  3. Tail calls push no frame (a call whose return state is accepting with no edges): right
 *     recursion (ws ::= " " ws | "") keeps the stack depth constant.
 *  4. Node and set ids are only ever appended until grm_pda_clear: ids held by callers stay valid.
 */
#include <stdlib.h>
#include <string.h>

#include "grammar/grm_internal.h"

#define PDA_MAX_NODES (1u << 21)
#define PDA_MAX_SETS (1u << 20)
#define PDA_MAX_ARENA ((size_t)256 << 20)

static uint64_t set_hash(const void *k) {
    const grm_set *s = k;
    return cirrus_hash_bytes(s->m, s->n * sizeof *s->m) ^ (s->complete ? 0x9e3779b97f4a7c15ull : 0);
}
static bool set_eq(const void *a, const void *b) {
    const grm_set *x = a, *y = b;
    return x->n == y->n && x->complete == y->complete && (x->n == 0 || !memcmp(x->m, y->m, x->n * sizeof *x->m));
}
static const cirrus_map_type set_type = {set_hash, set_eq};

static int32_t fail(grm_pda *p, cirrus_status st) {
    if (!p->fail) p->fail = st;
    return -1;
}

/* The id of node (state, parent), created on first sight; GRM_NIL on a ceiling. */
static uint32_t cons(grm_pda *p, uint32_t state, uint32_t parent) {
    uint64_t key = (uint64_t)state << 32 | parent;
    void *hit = cirrus_map_get(&p->node_ix, CIRRUS_MAP_U64(key));
    if (hit) return (uint32_t)((uintptr_t)hit - 1);
    if (p->nodes.n >= PDA_MAX_NODES) return fail(p, CIRRUS_ERR_FULL), GRM_NIL;
    grm_node nd = {state, parent};
    uint32_t id = (uint32_t)p->nodes.n;
    if (cirrus_vec_push(&p->nodes, PDA_MAX_NODES, nd) || cirrus_vec_push(&p->stamp, PDA_MAX_NODES, 0u) ||
        cirrus_map_put(&p->node_ix, CIRRUS_MAP_U64(key), (void *)(uintptr_t)(id + 1), NULL)) {
        fail(p, CIRRUS_ERR_NOMEM);
        return GRM_NIL;
    }
    return id;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void sort_u32(uint32_t *v, size_t n) {
    if (n > 16) {
        qsort(v, n, sizeof *v, cmp_u32);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        uint32_t x = v[i];
        size_t j = i;
        while (j && v[j - 1] > x) v[j] = v[j - 1], j--;
        v[j] = x;
    }
}

/* Interns (members m[0..n), sorted, unique; complete): returns the set id or -1. */
static int32_t intern(grm_pda *p, uint32_t *m, size_t n, bool complete) {
    grm_set key = {.m = m, .n = (uint32_t)n, .complete = complete};
    void *hit = cirrus_map_get(&p->set_ix, &key);
    if (hit) return (int32_t)((uintptr_t)hit - 1);
    if (p->sets.n >= PDA_MAX_SETS) return fail(p, CIRRUS_ERR_FULL);
    uint32_t ncls = p->g->n_classes;
    grm_set *s = cirrus_arena_alloc(&p->arena, sizeof *s);
    uint32_t *mm = n ? cirrus_arena_alloc(&p->arena, n * sizeof *mm) : NULL;
    int32_t *next = cirrus_arena_alloc(&p->arena, ncls * sizeof *next);
    if (!s || (n && !mm) || !next) return fail(p, CIRRUS_ERR_FULL);
    if (n) memcpy(mm, m, n * sizeof *mm);
    for (uint32_t c = 0; c < ncls; c++) next[c] = -2;
    s->m = mm, s->n = (uint32_t)n, s->complete = complete, s->next = next;
    int32_t id = (int32_t)p->sets.n;
    if (cirrus_vec_push(&p->sets, PDA_MAX_SETS, s) || cirrus_map_put(&p->set_ix, s, (void *)(uintptr_t)(id + 1), NULL))
        return fail(p, CIRRUS_ERR_NOMEM);
    return id;
}

static void new_epoch(grm_pda *p) {
    if (++p->epoch == 0) {
        memset(p->stamp.v, 0, p->stamp.n * sizeof *p->stamp.v);
        p->epoch = 1;
    }
    p->work.n = p->out.n = 0;
}

static void push(grm_pda *p, uint32_t node) {
    if (node == GRM_NIL || p->stamp.v[node] == p->epoch) return;
    p->stamp.v[node] = p->epoch;
    if (cirrus_vec_push(&p->work, PDA_MAX_NODES, node)) fail(p, CIRRUS_ERR_NOMEM);
}

/* Closes the pushed nodes into p->out (invariant 1); returns whether a pop passed the bottom. */
static bool closure(grm_pda *p) {
    const grm_grammar *g = p->g;
    bool complete = false;
    while (p->work.n && !p->fail) {
        uint32_t k = p->work.v[--p->work.n];
        uint32_t s = p->nodes.v[k].state, par = p->nodes.v[k].parent;
        uint8_t fl = g->flags[s];
        if ((fl & GRM_ST_BYTES) && cirrus_vec_push(&p->out, PDA_MAX_NODES, k)) fail(p, CIRRUS_ERR_NOMEM);
        if (fl & GRM_ST_ACCEPT) {
            if (par == GRM_NIL) complete = true;
            else push(p, par);
        }
        for (uint32_t i = g->call_lo[s]; i < g->call_lo[s + 1]; i++) {
            const grm_call *c = &g->calls[i];
            uint32_t frame = (g->flags[c->ret] & GRM_ST_TAIL) ? par : cons(p, c->ret, par);
            if (frame == GRM_NIL && !(g->flags[c->ret] & GRM_ST_TAIL)) break; /* ceiling: p->fail is set */
            push(p, cons(p, g->rule_start[c->rule], frame));
        }
    }
    return complete;
}

static int32_t finish(grm_pda *p, bool complete) {
    if (p->fail) return -1;
    sort_u32(p->out.v, p->out.n);
    return intern(p, p->out.v, p->out.n, complete);
}

cirrus_status grm_pda_init(grm_pda *p, const grm_grammar *g) {
    memset(p, 0, sizeof *p);
    p->g = g;
    cirrus_map_init(&p->node_ix, &cirrus_map_u64, PDA_MAX_NODES);
    cirrus_map_init(&p->set_ix, &set_type, PDA_MAX_SETS);
    cirrus_arena_init(&p->arena, PDA_MAX_ARENA);
    if (intern(p, NULL, 0, false) != GRM_SET_DEAD) {
        cirrus_status st = p->fail ? p->fail : CIRRUS_ERR_INTERNAL;
        grm_pda_free(p);
        return st;
    }
    return CIRRUS_OK;
}

void grm_pda_free(grm_pda *p) {
    free(p->nodes.v);
    free(p->sets.v);
    free(p->stamp.v);
    free(p->work.v);
    free(p->out.v);
    cirrus_map_free(&p->node_ix);
    cirrus_map_free(&p->set_ix);
    cirrus_arena_free(&p->arena);
    memset(p, 0, sizeof *p);
}

void grm_pda_clear(grm_pda *p) {
    p->nodes.n = p->sets.n = p->stamp.n = 0;
    cirrus_map_clear(&p->node_ix);
    cirrus_map_clear(&p->set_ix);
    cirrus_arena_free(&p->arena);
    cirrus_arena_init(&p->arena, PDA_MAX_ARENA);
    p->fail = CIRRUS_OK;
    intern(p, NULL, 0, false); /* GRM_SET_DEAD again; cannot fail with empty tables */
}

int32_t grm_pda_start(grm_pda *p) {
    new_epoch(p);
    push(p, cons(p, p->g->rule_start[p->g->root], GRM_NIL));
    bool complete = closure(p);
    return finish(p, complete);
}

int32_t grm_pda_node_set(grm_pda *p, uint32_t node) {
    if (p->fail) return -1;
    uint32_t m = node;
    return intern(p, &m, 1, false);
}

int32_t grm_pda_state_set(grm_pda *p, uint32_t state) {
    uint32_t n = cons(p, state, GRM_NIL);
    return n == GRM_NIL ? -1 : grm_pda_node_set(p, n);
}

int32_t grm_pda_step(grm_pda *p, int32_t set, uint8_t b) {
    const grm_grammar *g = p->g;
    uint32_t c = g->cls[b];
    grm_set *x = p->sets.v[set]; /* lives in the arena: stays put while sets grows */
    int32_t memo = x->next[c];
    if (memo != -2) return memo;
    if (p->fail) return -1;
    new_epoch(p);
    for (uint32_t i = 0; i < x->n; i++) {
        grm_node nd = p->nodes.v[x->m[i]];
        int32_t t = g->trans[(size_t)nd.state * g->n_classes + c];
        if (t >= 0) push(p, cons(p, (uint32_t)t, nd.parent));
    }
    bool complete = closure(p);
    int32_t id = finish(p, complete);
    if (id >= 0) x->next[c] = id;
    return id;
}

uint32_t grm_pda_dist_with(grm_pda *p, int32_t set, const uint32_t *dist) {
    const grm_set *x = p->sets.v[set];
    if (x->complete) return 0;
    uint64_t best = UINT32_MAX;
    for (uint32_t i = 0; i < x->n; i++) {
        uint64_t d = 0;
        for (uint32_t k = x->m[i]; k != GRM_NIL && d < best; k = p->nodes.v[k].parent) d += dist[p->nodes.v[k].state];
        if (d < best) best = d;
    }
    return (uint32_t)best;
}

/* For a long generation whose old sets and nodes are no longer reachable. */
int32_t grm_pda_rebase(grm_pda *p, int32_t set) {
    const grm_set *x = p->sets.v[set];
    bool complete = x->complete;
    /* each stack as its states, bottom first, after a length */
    CIRRUS_VEC(uint32_t) flat = {0};
    for (uint32_t i = 0; i < x->n; i++) {
        size_t at = flat.n;
        if (cirrus_vec_push(&flat, PDA_MAX_NODES * 4u, 0u)) goto nomem;
        uint32_t len = 0;
        for (uint32_t k = x->m[i]; k != GRM_NIL; k = p->nodes.v[k].parent, len++)
            if (cirrus_vec_push(&flat, PDA_MAX_NODES * 4u, p->nodes.v[k].state)) goto nomem;
        flat.v[at] = len;
        for (uint32_t a = 0; a < len / 2; a++) { /* top-first -> bottom-first */
            uint32_t t = flat.v[at + 1 + a];
            flat.v[at + 1 + a] = flat.v[at + len - a];
            flat.v[at + len - a] = t;
        }
    }
    grm_pda_clear(p);
    new_epoch(p);
    for (size_t at = 0; at < flat.n;) {
        uint32_t len = flat.v[at++], parent = GRM_NIL;
        for (uint32_t a = 0; a < len; a++) parent = cons(p, flat.v[at + a], parent);
        at += len;
        if (parent == GRM_NIL || cirrus_vec_push(&p->out, PDA_MAX_NODES, parent)) goto nomem;
    }
    free(flat.v);
    return finish(p, complete);
nomem:
    free(flat.v);
    return fail(p, CIRRUS_ERR_NOMEM);
}
