/*
 * A checked gx_grammar -> the automaton of grm_grammar: per rule a DFA over byte classes whose
 * edges may also call other rules (a recursive transition network), laid out as one table.
 *
 * 1. Inlining. A rule that is not recursive and is referenced once, or has no unbounded loop
 *    and is small (ws, char, a digit run), is copied into its callers. Calling such a
 *    rule would be the expensive choice: every token longer than one call would leave the callee
 *    with bytes to spare, so its whole trie subtree would depend on the stack (for `char` called
 *    from `string`: the whole vocabulary, at every new string). A rule with a loop referenced
 *    from many places (string, number, an object) stays a call, so its states -- and the token
 *    classes computed for them -- exist once however many callers it has, and only the tokens
 *    that cross its end depend on the caller. Inlining is at most INLINE_DEPTH levels deep
 *    (bounds the recursion below).
 * 2. Thompson NFA per compiled rule. Invariant of build(x, from): it only adds edges out of `from`
 *    and into states it creates, never into `from`; so alternatives can share their start and a
 *    sequence can continue from a loop state without creating paths the text does not have.
 * 3. Byte classes: bytes no edge distinguishes are one class (a JSON grammar has a few dozen), so
 *    the table has n_classes columns instead of 256.
 * 4. Subset construction per rule. Calls are kept as labelled edges (rule, return state); the
 *    nondeterminism between a byte edge and a call that starts with the same byte stays, and the
 *    stack-set engine (grm_pda.c) carries it.
 */
#include <stdlib.h>
#include <string.h>

#include "grammar/grm_internal.h"

#define INLINE_SMALL 64  /* estimated NFA states up to which a loop-free rule is inlined however often used */
#define INLINE_DEPTH 8
#define SIZE_CAP (1u << 30)

enum { E_EPS, E_BYTE, E_CALL };

typedef struct {
    uint32_t to, next, rule; /* rule: compiled index (E_CALL) */
    uint8_t kind, lo, hi;
} nfa_edge;

typedef struct {
    const gx_grammar *gx;
    uint8_t *inl;          /* per gx rule: inline it */
    uint32_t *compiled;    /* per gx rule: compiled index or GRM_NIL */
    CIRRUS_VEC(uint32_t) rules;       /* compiled index -> gx rule */
    CIRRUS_VEC(uint32_t) first;       /* per NFA state: first edge or GRM_NIL */
    CIRRUS_VEC(nfa_edge) edges;
    CIRRUS_VEC(uint32_t) nstart, nend; /* per compiled rule */
    bool bound[257];
    cirrus_err *err;
    cirrus_status st;
} cc;

static uint32_t sat_add(uint32_t a, uint32_t b) { return a > SIZE_CAP - b ? SIZE_CAP : a + b; }
static uint32_t sat_mul(uint32_t a, uint32_t b) { return b && a > SIZE_CAP / b ? SIZE_CAP : a * b; }

static void count_seq(void *ctx, const uint8_t (*seq)[2], int n) {
    (void)seq;
    *(uint32_t *)ctx += (uint32_t)n;
}

/* Estimated NFA states of x, with the inlining decided so far (callees are decided first); *loop
 * is set when x has an unbounded repetition (its own or an inlined callee's). */
static uint32_t est_size(const cc *c, const gx *x, const uint32_t *rsize, const bool *rloop, bool *loop) {
    switch (x->kind) {
    case GX_EMPTY: return 0;
    case GX_LIT: return x->u.lit.n;
    case GX_CLASS: {
        uint32_t n = 1;
        for (uint32_t i = 0; i < x->u.cls.n; i++) grm_utf8_ranges(x->u.cls.r[2 * i], x->u.cls.r[2 * i + 1], count_seq, &n);
        return n;
    }
    case GX_REF: {
        uint32_t r = x->u.ref;
        if (!c->inl[r]) return 1;
        *loop = *loop || rloop[r];
        return rsize[r];
    }
    case GX_SEQ: case GX_ALT: {
        uint32_t s = x->kind == GX_ALT ? 1 : 0;
        for (uint32_t i = 0; i < x->u.list.n; i++) s = sat_add(s, est_size(c, x->u.list.k[i], rsize, rloop, loop));
        return s;
    }
    case GX_REP: {
        uint32_t k = est_size(c, x->u.rep.k, rsize, rloop, loop);
        if (x->u.rep.max == GX_INF) *loop = true;
        uint32_t copies = x->u.rep.max == GX_INF ? (x->u.rep.min ? x->u.rep.min : 1) : x->u.rep.max;
        return sat_add(2, sat_mul(k, copies ? copies : 1));
    }
    }
    return 0;
}

static uint32_t inline_depth(const cc *c, const gx *x, const uint32_t *rdepth) {
    switch (x->kind) {
    case GX_REF: return c->inl[x->u.ref] ? rdepth[x->u.ref] : 0;
    case GX_SEQ: case GX_ALT: {
        uint32_t d = 0;
        for (uint32_t i = 0; i < x->u.list.n; i++) {
            uint32_t e = inline_depth(c, x->u.list.k[i], rdepth);
            if (e > d) d = e;
        }
        return d;
    }
    case GX_REP: return inline_depth(c, x->u.rep.k, rdepth);
    default: return 0;
    }
}

static void count_refs(const gx *x, uint32_t *refs) {
    switch (x->kind) {
    case GX_REF: refs[x->u.ref]++; return;
    case GX_SEQ: case GX_ALT:
        for (uint32_t i = 0; i < x->u.list.n; i++) count_refs(x->u.list.k[i], refs);
        return;
    case GX_REP: count_refs(x->u.rep.k, refs); return;
    default: return;
    }
}

static bool decide_inlining(cc *c, const bool *recursive, const uint32_t *order) {
    uint32_t n = c->gx->n_rules;
    uint32_t *refs = calloc(n, sizeof *refs), *rsize = calloc(n, sizeof *rsize), *rdepth = calloc(n, sizeof *rdepth);
    bool *rloop = calloc(n, sizeof *rloop);
    bool ok = refs && rsize && rdepth && rloop;
    if (ok) {
        for (uint32_t r = 0; r < n; r++) count_refs(c->gx->rules[r].body, refs);
        for (uint32_t i = 0; i < n; i++) { /* callees first: their decisions are known */
            uint32_t r = order[i];
            rsize[r] = est_size(c, c->gx->rules[r].body, rsize, rloop, &rloop[r]);
            rdepth[r] = 1 + inline_depth(c, c->gx->rules[r].body, rdepth);
            c->inl[r] = !recursive[r] && r != c->gx->root && rdepth[r] <= INLINE_DEPTH &&
                        (refs[r] == 1 || (!rloop[r] && rsize[r] <= INLINE_SMALL));
        }
    }
    free(refs), free(rsize), free(rdepth), free(rloop);
    return ok;
}

/* ---- NFA ---------------------------------------------------------------------------------------- */

static uint32_t new_state(cc *c) {
    if (c->st) return 0;
    if (c->first.n >= GRM_MAX_NFA) {
        c->st = cirrus_errf(c->err, CIRRUS_ERR_RANGE,
                            "grammar: more than %u automaton states before determinizing (a repetition count too large?)",
                            GRM_MAX_NFA);
        return 0;
    }
    if (cirrus_vec_push(&c->first, GRM_MAX_NFA, GRM_NIL)) {
        c->st = cirrus_errf(c->err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
        return 0;
    }
    return (uint32_t)c->first.n - 1;
}

static void add_edge(cc *c, uint32_t from, uint32_t to, uint8_t kind, uint8_t lo, uint8_t hi, uint32_t rule) {
    if (c->st) return;
    nfa_edge e = {.to = to, .next = c->first.v[from], .rule = rule, .kind = kind, .lo = lo, .hi = hi};
    if (cirrus_vec_push(&c->edges, 8u * GRM_MAX_NFA, e)) {
        c->st = cirrus_errf(c->err, CIRRUS_ERR_RANGE, "grammar: automaton too large");
        return;
    }
    c->first.v[from] = (uint32_t)c->edges.n - 1;
    if (kind == E_BYTE) c->bound[lo] = c->bound[hi + 1] = true;
}

/* The compiled index of gx rule r, queuing it for compilation on first use. */
static uint32_t compiled_rule(cc *c, uint32_t r) {
    if (c->compiled[r] != GRM_NIL) return c->compiled[r];
    c->compiled[r] = (uint32_t)c->rules.n;
    if (cirrus_vec_push(&c->rules, GRM_MAX_RULES, r)) c->st = cirrus_errf(c->err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
    return c->compiled[r];
}

typedef struct {
    cc *c;
    uint32_t from, to;
} seq_ctx;

static void emit_seq(void *ctx, const uint8_t (*seq)[2], int n) {
    seq_ctx *s = ctx;
    uint32_t at = s->from;
    for (int i = 0; i < n; i++) {
        uint32_t next = i == n - 1 ? s->to : new_state(s->c);
        add_edge(s->c, at, next, E_BYTE, seq[i][0], seq[i][1], 0);
        at = next;
    }
}

static uint32_t build(cc *c, const gx *x, uint32_t from);

static uint32_t build_rep(cc *c, const gx *x, uint32_t from) {
    const gx *k = x->u.rep.k;
    uint32_t cur = from;
    for (uint32_t i = 0; i < x->u.rep.min && !c->st; i++) cur = build(c, k, cur);
    if (x->u.rep.max == GX_INF) {
        /* loop state l: enter, run k from a fresh b, come back to l */
        uint32_t l = new_state(c), b = new_state(c);
        add_edge(c, cur, l, E_EPS, 0, 0, 0);
        add_edge(c, l, b, E_EPS, 0, 0, 0);
        uint32_t kend = build(c, k, b);
        add_edge(c, kend, l, E_EPS, 0, 0, 0);
        return l;
    }
    if (x->u.rep.max == x->u.rep.min) return cur;
    uint32_t e = new_state(c);
    add_edge(c, cur, e, E_EPS, 0, 0, 0);
    for (uint32_t i = x->u.rep.min; i < x->u.rep.max && !c->st; i++) {
        cur = build(c, k, cur);
        add_edge(c, cur, e, E_EPS, 0, 0, 0);
    }
    return e;
}

static uint32_t build(cc *c, const gx *x, uint32_t from) {
    if (c->st) return from;
    switch (x->kind) {
    case GX_EMPTY: return from;
    case GX_LIT: {
        uint32_t at = from;
        for (uint32_t i = 0; i < x->u.lit.n; i++) {
            uint32_t next = new_state(c);
            add_edge(c, at, next, E_BYTE, x->u.lit.b[i], x->u.lit.b[i], 0);
            at = next;
        }
        return at;
    }
    case GX_CLASS: {
        seq_ctx s = {c, from, new_state(c)};
        for (uint32_t i = 0; i < x->u.cls.n && !c->st; i++)
            grm_utf8_ranges(x->u.cls.r[2 * i], x->u.cls.r[2 * i + 1], emit_seq, &s);
        return s.to;
    }
    case GX_REF: {
        uint32_t r = x->u.ref;
        if (c->inl[r]) return build(c, c->gx->rules[r].body, from);
        uint32_t to = new_state(c);
        add_edge(c, from, to, E_CALL, 0, 0, compiled_rule(c, r));
        return to;
    }
    case GX_SEQ: {
        uint32_t at = from;
        for (uint32_t i = 0; i < x->u.list.n && !c->st; i++) at = build(c, x->u.list.k[i], at);
        return at;
    }
    case GX_ALT: {
        uint32_t e = new_state(c);
        for (uint32_t i = 0; i < x->u.list.n && !c->st; i++) {
            uint32_t end = build(c, x->u.list.k[i], from);
            add_edge(c, end, e, E_EPS, 0, 0, 0);
        }
        return e;
    }
    case GX_REP: return build_rep(c, x, from);
    }
    return from;
}

/* ---- subset construction ------------------------------------------------------------------------ */

typedef struct {
    uint32_t n;
    uint32_t id;     /* local DFA state */
    uint32_t v[];    /* sorted NFA states */
} nset;

static uint64_t nset_hash(const void *k) {
    const nset *s = k;
    return cirrus_hash_bytes(s->v, s->n * sizeof *s->v) ^ s->n;
}
static bool nset_eq(const void *a, const void *b) {
    const nset *x = a, *y = b;
    return x->n == y->n && !memcmp(x->v, y->v, x->n * sizeof *x->v);
}
static const cirrus_map_type nset_type = {nset_hash, nset_eq};

typedef struct {
    cc *c;
    cirrus_arena arena;
    cirrus_map ix;
    CIRRUS_VEC(nset *) q;          /* local DFA states in creation order */
    CIRRUS_VEC(uint32_t) stamp;    /* per NFA state */
    uint32_t epoch;
    CIRRUS_VEC(uint32_t) tmp, stk, out;
} dfa_b;

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Epsilon closure of the seeds in d->tmp, interned: returns the local DFA state id. */
static uint32_t close_intern(dfa_b *d) {
    cc *c = d->c;
    if (++d->epoch == 0) {
        memset(d->stamp.v, 0, d->stamp.n * sizeof *d->stamp.v);
        d->epoch = 1;
    }
    d->stk.n = d->out.n = 0;
    for (size_t i = 0; i < d->tmp.n; i++) {
        uint32_t q = d->tmp.v[i];
        if (d->stamp.v[q] == d->epoch) continue;
        d->stamp.v[q] = d->epoch;
        if (cirrus_vec_push(&d->stk, GRM_MAX_NFA, q)) goto nomem;
    }
    while (d->stk.n) {
        uint32_t q = d->stk.v[--d->stk.n];
        if (cirrus_vec_push(&d->out, GRM_MAX_NFA, q)) goto nomem;
        for (uint32_t e = c->first.v[q]; e != GRM_NIL; e = c->edges.v[e].next) {
            const nfa_edge *ed = &c->edges.v[e];
            if (ed->kind != E_EPS || d->stamp.v[ed->to] == d->epoch) continue;
            d->stamp.v[ed->to] = d->epoch;
            if (cirrus_vec_push(&d->stk, GRM_MAX_NFA, ed->to)) goto nomem;
        }
    }
    qsort(d->out.v, d->out.n, sizeof *d->out.v, cmp_u32);
    nset *s = cirrus_arena_alloc(&d->arena, sizeof *s + d->out.n * sizeof *s->v);
    if (!s) goto nomem;
    s->n = (uint32_t)d->out.n;
    memcpy(s->v, d->out.v, d->out.n * sizeof *s->v);
    nset *hit = cirrus_map_get(&d->ix, s);
    if (hit) return hit->id; /* the copy stays in the arena until the rule is done */
    if (d->q.n >= GRM_MAX_DFA) {
        c->st = cirrus_errf(c->err, CIRRUS_ERR_RANGE, "grammar: more than %u automaton states", GRM_MAX_DFA);
        return 0;
    }
    s->id = (uint32_t)d->q.n;
    if (cirrus_vec_push(&d->q, GRM_MAX_DFA, s) || cirrus_map_put(&d->ix, s, s, NULL)) goto nomem;
    return s->id;
nomem:
    c->st = cirrus_errf(c->err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
    return 0;
}

typedef struct {
    uint32_t rule, to;
} call_pair;

static int cmp_call_pair(const void *a, const void *b) {
    const call_pair *x = a, *y = b;
    if (x->rule != y->rule) return x->rule < y->rule ? -1 : 1;
    return x->to < y->to ? -1 : x->to > y->to;
}

/* Appends rule k's DFA to g's tables (global ids from g->n_states on). */
typedef struct {
    CIRRUS_VEC(int32_t) trans;
    CIRRUS_VEC(uint8_t) flags;
    CIRRUS_VEC(uint32_t) call_lo;
    CIRRUS_VEC(grm_call) calls;
} tables;

static void dfa_rule(cc *c, dfa_b *d, uint32_t k, uint32_t ncls, const uint8_t *cls, tables *t, uint32_t *start) {
    uint32_t base = (uint32_t)t->flags.n;
    d->q.n = 0;
    cirrus_map_clear(&d->ix);
    d->tmp.n = 0;
    if (cirrus_vec_push(&d->tmp, GRM_MAX_NFA, c->nstart.v[k])) {
        c->st = cirrus_errf(c->err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
        return;
    }
    *start = base + close_intern(d);
    CIRRUS_VEC(uint32_t) *bucket = calloc(ncls, sizeof *bucket);
    CIRRUS_VEC(call_pair) cp = {0};
    if (!bucket) {
        c->st = cirrus_errf(c->err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
        return;
    }
    uint32_t nend = c->nend.v[k];
    for (size_t qi = 0; qi < d->q.n && !c->st; qi++) {
        if (base + qi >= GRM_MAX_DFA) {
            c->st = cirrus_errf(c->err, CIRRUS_ERR_RANGE, "grammar: more than %u automaton states", GRM_MAX_DFA);
            break;
        }
        const nset *s = d->q.v[qi];
        uint8_t fl = 0;
        for (uint32_t c2 = 0; c2 < ncls; c2++) bucket[c2].n = 0;
        cp.n = 0;
        for (uint32_t i = 0; i < s->n && !c->st; i++) {
            uint32_t q = s->v[i];
            if (q == nend) fl |= GRM_ST_ACCEPT;
            for (uint32_t e = c->first.v[q]; e != GRM_NIL; e = c->edges.v[e].next) {
                const nfa_edge *ed = &c->edges.v[e];
                if (ed->kind == E_BYTE) {
                    for (uint32_t cl = cls[ed->lo]; cl <= cls[ed->hi]; cl++)
                        if (cirrus_vec_push(&bucket[cl], GRM_MAX_NFA, ed->to)) c->st = CIRRUS_ERR_NOMEM;
                } else if (ed->kind == E_CALL) {
                    call_pair p = {ed->rule, ed->to};
                    if (cirrus_vec_push(&cp, GRM_MAX_NFA, p)) c->st = CIRRUS_ERR_NOMEM;
                }
            }
        }
        if (c->st) break;
        /* the row; interning targets may grow d->q (s stays valid: it lives in the arena) */
        if (cirrus_vec_reserve(&t->trans.v, &t->trans.cap, t->trans.n + ncls, sizeof *t->trans.v,
                               (size_t)GRM_MAX_DFA * 256)) {
            c->st = CIRRUS_ERR_NOMEM;
            break;
        }
        int32_t *row = t->trans.v + t->trans.n;
        t->trans.n += ncls;
        /* Classes covered by the same edges get the same bucket, in the same order (the edges are
         * visited in one fixed order): such a class reuses the target computed for the first one.
         * A class like [^"\\] spans dozens of classes with one bucket; this keeps the closures to
         * one per distinct bucket. */
        uint32_t seen[16], n_seen = 0;
        for (uint32_t cl = 0; cl < ncls && !c->st; cl++) {
            row[cl] = -1;
            if (!bucket[cl].n) continue;
            uint32_t j = 0;
            while (j < n_seen && !(bucket[seen[j]].n == bucket[cl].n &&
                                   !memcmp(bucket[seen[j]].v, bucket[cl].v, bucket[cl].n * sizeof *bucket[cl].v)))
                j++;
            if (j < n_seen) {
                row[cl] = row[seen[j]];
                continue;
            }
            if (n_seen < 16) seen[n_seen++] = cl;
            d->tmp.n = 0;
            if (cirrus_vec_reserve(&d->tmp.v, &d->tmp.cap, bucket[cl].n, sizeof *d->tmp.v, GRM_MAX_NFA)) {
                c->st = CIRRUS_ERR_NOMEM;
                break;
            }
            memcpy(d->tmp.v, bucket[cl].v, bucket[cl].n * sizeof *d->tmp.v);
            d->tmp.n = bucket[cl].n;
            row[cl] = (int32_t)(base + close_intern(d));
            fl |= GRM_ST_BYTES;
        }
        if (cirrus_vec_push(&t->call_lo, GRM_MAX_DFA + 1u, (uint32_t)t->calls.n)) c->st = CIRRUS_ERR_NOMEM;
        if (cp.n > 1) qsort(cp.v, cp.n, sizeof *cp.v, cmp_call_pair);
        for (size_t i = 0; i < cp.n && !c->st;) {
            size_t j = i;
            d->tmp.n = 0;
            while (j < cp.n && cp.v[j].rule == cp.v[i].rule) {
                if (cirrus_vec_push(&d->tmp, GRM_MAX_NFA, cp.v[j].to)) c->st = CIRRUS_ERR_NOMEM;
                j++;
            }
            uint32_t id = close_intern(d);
            grm_call call = {cp.v[i].rule, base + id};
            if (cirrus_vec_push(&t->calls, 8u * GRM_MAX_DFA, call)) c->st = CIRRUS_ERR_NOMEM;
            i = j;
        }
        if (cirrus_vec_push(&t->flags, GRM_MAX_DFA, fl)) c->st = CIRRUS_ERR_NOMEM;
    }
    if (c->st == CIRRUS_ERR_NOMEM) cirrus_errf(c->err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
    for (uint32_t c2 = 0; c2 < ncls; c2++) free(bucket[c2].v);
    free(bucket);
    free(cp.v);
}

cirrus_status grm_build(const gx_grammar *gx, const bool *recursive, const uint32_t *order, grm_grammar *g,
                        cirrus_err *err) {
    cc c = {.gx = gx, .err = err};
    c.inl = calloc(gx->n_rules, 1);
    c.compiled = malloc(gx->n_rules * sizeof *c.compiled);
    if (!c.inl || !c.compiled || !decide_inlining(&c, recursive, order)) {
        c.st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
        goto out;
    }
    for (uint32_t r = 0; r < gx->n_rules; r++) c.compiled[r] = GRM_NIL;
    compiled_rule(&c, gx->root);
    for (size_t k = 0; k < c.rules.n && !c.st; k++) { /* grows while the bodies call new rules */
        uint32_t s = new_state(&c);
        uint32_t e = build(&c, gx->rules[c.rules.v[k]].body, s);
        if (cirrus_vec_push(&c.nstart, GRM_MAX_RULES, s) || cirrus_vec_push(&c.nend, GRM_MAX_RULES, e))
            c.st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
    }
    if (c.st) goto out;

    /* byte classes: a new class starts at every edge boundary */
    uint32_t ncls = 0;
    for (int b = 0; b < 256; b++) {
        if (b > 0 && c.bound[b]) ncls++;
        g->cls[b] = (uint8_t)ncls;
    }
    ncls++;
    g->n_classes = ncls;

    dfa_b d = {.c = &c};
    tables t = {0};
    cirrus_arena_init(&d.arena, (size_t)1 << 31);
    cirrus_map_init(&d.ix, &nset_type, GRM_MAX_DFA);
    if (cirrus_vec_reserve(&d.stamp.v, &d.stamp.cap, c.first.n, sizeof *d.stamp.v, GRM_MAX_NFA)) {
        c.st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
    } else {
        d.stamp.n = c.first.n;
        memset(d.stamp.v, 0, d.stamp.n * sizeof *d.stamp.v);
    }
    g->n_rules = (uint32_t)c.rules.n;
    g->rule_start = malloc(g->n_rules * sizeof *g->rule_start);
    if (!g->rule_start && !c.st) c.st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
    for (uint32_t k = 0; k < g->n_rules && !c.st; k++) {
        dfa_rule(&c, &d, k, ncls, g->cls, &t, &g->rule_start[k]);
        cirrus_arena_free(&d.arena); /* the rule's NFA sets are done with */
        cirrus_arena_init(&d.arena, (size_t)1 << 31);
    }
    if (!c.st && cirrus_vec_push(&t.call_lo, GRM_MAX_DFA + 1u, (uint32_t)t.calls.n))
        c.st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
    cirrus_arena_free(&d.arena);
    cirrus_map_free(&d.ix);
    free(d.q.v), free(d.stamp.v), free(d.tmp.v), free(d.stk.v), free(d.out.v);
    if (!c.st) {
        g->n_states = (uint32_t)t.flags.n;
        g->trans = t.trans.v, g->flags = t.flags.v, g->call_lo = t.call_lo.v, g->calls = t.calls.v;
        g->root = 0;
        for (uint32_t s = 0; s < g->n_states; s++)
            if ((g->flags[s] & GRM_ST_ACCEPT) && !(g->flags[s] & GRM_ST_BYTES) && g->call_lo[s] == g->call_lo[s + 1])
                g->flags[s] |= GRM_ST_TAIL;
    } else {
        free(t.trans.v), free(t.flags.v), free(t.call_lo.v), free(t.calls.v);
    }
out:
    free(c.inl), free(c.compiled), free(c.rules.v), free(c.first.v), free(c.edges.v), free(c.nstart.v), free(c.nend.v);
    return c.st;
}
