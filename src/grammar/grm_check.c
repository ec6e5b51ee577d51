/*
 * What makes a parsed grammar unusable for decoding, found before anything is compiled:
 *  - a rule that can never finish (every way through it refers back to itself, e.g. a ::= "x" a):
 *    a model inside it could generate forever and never be complete;
 *  - left recursion (a rule that can reach itself before consuming a byte, e.g. a ::= a "x" |
 *    "y", also through rules that can be empty): the stack machine would push without end;
 *  - an empty loop (x* or x+ or x{m,} where x can match nothing): harmless to the automaton but
 *    always a mistake in the grammar, and the llama.cpp sampler hangs on it.
 * Besides the errors it reports which rules are nullable (can match the empty string) and which
 * are recursive (on a cycle of references; never inlined by the compiler).
 */
#include <stdlib.h>
#include <string.h>

#include "grammar/grm_internal.h"

static bool x_nullable(const gx *x, const bool *rule_null) {
    switch (x->kind) {
    case GX_EMPTY: return true;
    case GX_LIT: case GX_CLASS: return false;
    case GX_REF: return rule_null[x->u.ref];
    case GX_SEQ:
        for (uint32_t i = 0; i < x->u.list.n; i++)
            if (!x_nullable(x->u.list.k[i], rule_null)) return false;
        return true;
    case GX_ALT:
        for (uint32_t i = 0; i < x->u.list.n; i++)
            if (x_nullable(x->u.list.k[i], rule_null)) return true;
        return false;
    case GX_REP: return x->u.rep.min == 0 || x_nullable(x->u.rep.k, rule_null);
    }
    return false;
}

/* Can derive some finite byte string, given which rules can. */
static bool x_productive(const gx *x, const bool *prod) {
    switch (x->kind) {
    case GX_EMPTY: case GX_LIT: case GX_CLASS: return true;
    case GX_REF: return prod[x->u.ref];
    case GX_SEQ:
        for (uint32_t i = 0; i < x->u.list.n; i++)
            if (!x_productive(x->u.list.k[i], prod)) return false;
        return true;
    case GX_ALT:
        for (uint32_t i = 0; i < x->u.list.n; i++)
            if (x_productive(x->u.list.k[i], prod)) return true;
        return false;
    case GX_REP: return x->u.rep.min == 0 || x_productive(x->u.rep.k, prod);
    }
    return false;
}

/* Calls f(ctx, rule) for the rules x may call first (before consuming a byte) when left is set,
 * or for every rule x refers to. */
static void x_refs(const gx *x, const bool *rule_null, bool left, void (*f)(void *, uint32_t), void *ctx) {
    switch (x->kind) {
    case GX_EMPTY: case GX_LIT: case GX_CLASS: return;
    case GX_REF: f(ctx, x->u.ref); return;
    case GX_SEQ:
        for (uint32_t i = 0; i < x->u.list.n; i++) {
            x_refs(x->u.list.k[i], rule_null, left, f, ctx);
            if (left && !x_nullable(x->u.list.k[i], rule_null)) return;
        }
        return;
    case GX_ALT:
        for (uint32_t i = 0; i < x->u.list.n; i++) x_refs(x->u.list.k[i], rule_null, left, f, ctx);
        return;
    case GX_REP:
        if (x->u.rep.max > 0) x_refs(x->u.rep.k, rule_null, left, f, ctx);
        return;
    }
}

static const gx *find_empty_loop(const gx *x, const bool *rule_null) {
    switch (x->kind) {
    case GX_EMPTY: case GX_LIT: case GX_CLASS: case GX_REF: return NULL;
    case GX_SEQ: case GX_ALT:
        for (uint32_t i = 0; i < x->u.list.n; i++) {
            const gx *e = find_empty_loop(x->u.list.k[i], rule_null);
            if (e) return e;
        }
        return NULL;
    case GX_REP:
        if (x->u.rep.max == GX_INF && x_nullable(x->u.rep.k, rule_null)) return x;
        return find_empty_loop(x->u.rep.k, rule_null);
    }
    return NULL;
}

/* ---- reference graphs: adjacency lists, cycles -------------------------------------------------- */

typedef struct {
    uint32_t *lo;  /* (n + 1) */
    uint32_t *to;
} graph;

typedef struct {
    CIRRUS_VEC(uint32_t) to;
    bool fail;
} collect;

static void collect_ref(void *ctx, uint32_t r) {
    collect *c = ctx;
    if (cirrus_vec_push(&c->to, 1u << 26, r)) c->fail = true;
}

static bool build_graph(const gx_grammar *g, const bool *rule_null, bool left, graph *out) {
    collect c = {0};
    out->lo = malloc((g->n_rules + 1) * sizeof *out->lo);
    if (!out->lo) return false;
    for (uint32_t r = 0; r < g->n_rules; r++) {
        out->lo[r] = (uint32_t)c.to.n;
        x_refs(g->rules[r].body, rule_null, left, collect_ref, &c);
    }
    out->lo[g->n_rules] = (uint32_t)c.to.n;
    out->to = c.to.v;
    if (c.fail) {
        free(out->lo);
        free(out->to);
        return false;
    }
    return true;
}

static void graph_free(graph *gr) {
    free(gr->lo);
    free(gr->to);
}

/*
 * Tarjan's strongly connected components, iteratively (a chain of 8192 rules must not overflow
 * the stack). on_cycle[r] is set for every rule on a cycle (an SCC of two or more, or a self
 * edge). If order is given it receives every rule in the order their components complete: a rule
 * comes after every rule it can reach outside its own component (callees first).
 */
static bool find_cycles(const graph *gr, uint32_t n, bool *on_cycle, uint32_t *order) {
    uint32_t *index = malloc(n * sizeof *index), *low = malloc(n * sizeof *low), *stk = malloc(n * sizeof *stk);
    uint32_t *call = malloc(n * sizeof *call), *edge = malloc(n * sizeof *edge);
    bool *on_stk = calloc(n, sizeof *on_stk);
    bool ok = index && low && stk && call && edge && on_stk;
    if (ok) {
        for (uint32_t i = 0; i < n; i++) index[i] = GRM_NIL;
        uint32_t next = 0, sp = 0, n_order = 0;
        for (uint32_t root = 0; root < n; root++) {
            if (index[root] != GRM_NIL) continue;
            uint32_t cp = 0;
            call[cp] = root, edge[cp] = gr->lo[root], cp++;
            index[root] = low[root] = next++;
            stk[sp++] = root, on_stk[root] = true;
            while (cp) {
                uint32_t v = call[cp - 1];
                if (edge[cp - 1] < gr->lo[v + 1]) {
                    uint32_t w = gr->to[edge[cp - 1]++];
                    if (w == v) on_cycle[v] = true;
                    if (index[w] == GRM_NIL) {
                        index[w] = low[w] = next++;
                        stk[sp++] = w, on_stk[w] = true;
                        call[cp] = w, edge[cp] = gr->lo[w], cp++;
                    } else if (on_stk[w] && index[w] < low[v]) {
                        low[v] = index[w];
                    }
                    continue;
                }
                cp--;
                if (cp && low[v] < low[call[cp - 1]]) low[call[cp - 1]] = low[v];
                if (low[v] == index[v]) {
                    uint32_t size = 0, w;
                    uint32_t top = sp;
                    do {
                        w = stk[--sp];
                        on_stk[w] = false;
                        size++;
                    } while (w != v);
                    for (uint32_t i = sp; i < top; i++) {
                        if (size > 1) on_cycle[stk[i]] = true;
                        if (order) order[n_order++] = stk[i];
                    }
                }
            }
        }
    }
    free(index), free(low), free(stk), free(call), free(edge), free(on_stk);
    return ok;
}

/* A path r -> ... -> r through rules on a left-recursive cycle, for the message. */
static size_t cycle_path(const graph *gr, const bool *on_cycle, uint32_t r, uint32_t n, uint32_t *path, size_t cap) {
    /* BFS from r's successors back to r, over cycle members only. */
    uint32_t *prev = malloc(n * sizeof *prev), *queue = malloc(n * sizeof *queue);
    size_t len = 0;
    if (prev && queue) {
        for (uint32_t i = 0; i < n; i++) prev[i] = GRM_NIL;
        uint32_t qh = 0, qt = 0;
        bool found = false;
        for (uint32_t e = gr->lo[r]; e < gr->lo[r + 1] && !found; e++) {
            uint32_t w = gr->to[e];
            if (w == r) found = true, prev[r] = r;
            else if (on_cycle[w] && prev[w] == GRM_NIL) prev[w] = r, queue[qt++] = w;
        }
        while (!found && qh < qt) {
            uint32_t v = queue[qh++];
            for (uint32_t e = gr->lo[v]; e < gr->lo[v + 1]; e++) {
                uint32_t w = gr->to[e];
                if (w == r) {
                    prev[r] = v;
                    found = true;
                    break;
                }
                if (on_cycle[w] && prev[w] == GRM_NIL) prev[w] = v, queue[qt++] = w;
            }
        }
        if (found) {
            /* walk back from r to r, then reverse */
            uint32_t v = r;
            do {
                if (len < cap) path[len++] = v;
                v = prev[v];
            } while (v != r && len < cap);
            if (len < cap) path[len++] = r;
            for (size_t i = 0; i < len / 2; i++) {
                uint32_t t = path[i];
                path[i] = path[len - 1 - i];
                path[len - 1 - i] = t;
            }
        }
    }
    free(prev);
    free(queue);
    return len;
}

typedef struct {
    const bool *prod;
    uint32_t r;
} first_ref;

static void find_unproductive(void *ctx, uint32_t r) {
    first_ref *f = ctx;
    if (f->r == GRM_NIL && !f->prod[r]) f->r = r;
}

cirrus_status grm_check(const gx_grammar *g, bool *nullable, bool *recursive, uint32_t *order, cirrus_err *err) {
    uint32_t n = g->n_rules;
    memset(nullable, 0, n * sizeof *nullable);
    memset(recursive, 0, n * sizeof *recursive);
    for (bool changed = true; changed;) {
        changed = false;
        for (uint32_t r = 0; r < n; r++)
            if (!nullable[r] && x_nullable(g->rules[r].body, nullable)) nullable[r] = changed = true;
    }
    bool *prod = calloc(n, sizeof *prod);
    if (!prod) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
    for (bool changed = true; changed;) {
        changed = false;
        for (uint32_t r = 0; r < n; r++)
            if (!prod[r] && x_productive(g->rules[r].body, prod)) prod[r] = changed = true;
    }
    cirrus_status st = CIRRUS_OK;
    for (uint32_t r = 0; r < n && !st; r++) {
        if (prod[r]) continue;
        /* name the rule where it goes round: follow unfinishable references until one repeats */
        bool *seen = calloc(n, sizeof *seen);
        uint32_t at = r;
        while (seen && !seen[at]) {
            seen[at] = true;
            first_ref ctx = {prod, GRM_NIL};
            x_refs(g->rules[at].body, nullable, false, find_unproductive, &ctx);
            if (ctx.r == GRM_NIL) break;
            at = ctx.r;
        }
        free(seen);
        st = cirrus_errf(err, CIRRUS_ERR_FORMAT,
                         "grammar:%u:%u: rule '%s' can never finish: every way through it refers back to itself",
                         g->rules[at].line, g->rules[at].col, g->rules[at].name);
    }
    free(prod);
    for (uint32_t r = 0; r < n && !st; r++) {
        const gx *e = find_empty_loop(g->rules[r].body, nullable);
        if (e)
            st = cirrus_errf(err, CIRRUS_ERR_FORMAT,
                             "grammar:%u:%u: empty loop in rule '%s': the repeated part can match the empty string",
                             e->line, e->col, g->rules[r].name);
    }
    if (st) return st;

    graph left, all;
    bool *left_cycle = calloc(n, sizeof *left_cycle);
    if (!left_cycle || !build_graph(g, nullable, true, &left)) {
        free(left_cycle);
        return cirrus_errf(err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
    }
    if (!find_cycles(&left, n, left_cycle, NULL)) st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
    for (uint32_t r = 0; r < n && !st; r++) {
        if (!left_cycle[r]) continue;
        uint32_t path[8];
        size_t len = cycle_path(&left, left_cycle, r, n, path, 8);
        char msg[160] = "";
        size_t off = 0;
        for (size_t i = 0; i < len && off < sizeof msg - 40; i++) {
            int w = snprintf(msg + off, sizeof msg - off, "%s%.24s", i ? " -> " : "", g->rules[path[i]].name);
            if (w > 0) off += (size_t)w;
        }
        if (len == 8 && off < sizeof msg - 8) snprintf(msg + off, sizeof msg - off, " ...");
        st = cirrus_errf(err, CIRRUS_ERR_FORMAT, "grammar:%u:%u: left recursion in rule '%s' (%s): rewrite it to "
                         "recurse on the right", g->rules[r].line, g->rules[r].col, g->rules[r].name, msg);
    }
    graph_free(&left);
    free(left_cycle);
    if (st) return st;

    if (!build_graph(g, nullable, false, &all)) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
    if (!find_cycles(&all, n, recursive, order)) st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
    graph_free(&all);
    return st;
}
