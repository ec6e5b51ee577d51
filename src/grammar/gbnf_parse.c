/*
 * GBNF text -> gx_grammar, by recursive descent, with llama.cpp's layout rules so grammars written
 * for llama.cpp parse the same here:
 *   - a rule is `name ::= alternatives` and ends at the end of its line;
 *   - newlines may appear after `::=`, after `|`, and anywhere inside ( ) -- nowhere else;
 *   - `#` starts a comment that runs to the end of the line.
 * Every error names the line and column (1-based, columns count bytes) and what was expected.
 * The grammar is over Unicode scalar values: literals and classes are decoded (strict UTF-8,
 * escapes \xHH \uHHHH \UHHHHHHHH name code points, not bytes) and re-encoded as UTF-8.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grammar/grm_internal.h"

typedef struct {
    const uint8_t *s;
    size_t n, pos;
    gx_grammar *g;
    cirrus_map names;      /* name -> rule index + 1 */
    cirrus_err *err;
    cirrus_status st;      /* first error, sticky */
    int depth;
    size_t lc_pos, lc_line_start; /* line/column cache: positions are asked for mostly in order */
    uint32_t lc_line;
} ps;

static void line_col(ps *p, size_t pos, uint32_t *line, uint32_t *col) {
    if (pos < p->lc_pos) p->lc_pos = 0, p->lc_line = 1, p->lc_line_start = 0;
    for (size_t i = p->lc_pos; i < pos && i < p->n; i++)
        if (p->s[i] == '\n') p->lc_line++, p->lc_line_start = i + 1;
    p->lc_pos = pos;
    *line = p->lc_line;
    *col = (uint32_t)(pos - p->lc_line_start + 1);
}

__attribute__((format(printf, 3, 4))) static gx *fail(ps *p, size_t pos, const char *fmt, ...) {
    if (p->st != CIRRUS_OK) return NULL;
    uint32_t line, col;
    line_col(p, pos, &line, &col);
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    p->st = cirrus_errf(p->err, CIRRUS_ERR_FORMAT, "grammar:%u:%u: %s", line, col, why);
    return NULL;
}

static gx *oom(ps *p) {
    if (p->st == CIRRUS_OK) p->st = cirrus_errf(p->err, CIRRUS_ERR_NOMEM, "grammar: out of memory");
    return NULL;
}

static int peek(const ps *p, size_t k) { return p->pos + k < p->n ? p->s[p->pos + k] : -1; }

/* Spaces, tabs, comments; newlines (and \r) too where the layout allows them. */
static void skip_space(ps *p, bool newline_ok) {
    while (p->pos < p->n) {
        uint8_t c = p->s[p->pos];
        if (c == ' ' || c == '\t') p->pos++;
        else if (c == '#') {
            while (p->pos < p->n && p->s[p->pos] != '\n') p->pos++;
        } else if (newline_ok && (c == '\n' || c == '\r')) p->pos++;
        else break;
    }
}

static bool is_name_char(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Shows a byte in an error message. */
static const char *show(int c, char buf[8]) {
    if (c < 0) return "end of text";
    if (c == '\n') return "end of line";
    if (c >= 0x20 && c < 0x7f) snprintf(buf, 8, "'%c'", c);
    else snprintf(buf, 8, "0x%02X", (unsigned)c & 0xFFu); /* c is a byte here */
    return buf;
}

static gx *node(ps *p, gx_kind k, size_t pos) {
    gx *x = cirrus_arena_alloc(&p->g->arena, sizeof *x);
    if (!x) return oom(p);
    x->kind = k;
    line_col(p, pos, &x->line, &x->col);
    return x;
}

/* The index of rule `name`, creating an undefined entry (positioned at pos) on first sight. */
static int64_t rule_index(ps *p, const char *name, size_t len, size_t pos) {
    char key[128];
    if (len >= sizeof key) {
        fail(p, pos, "rule name longer than %zu bytes", sizeof key - 1);
        return -1;
    }
    memcpy(key, name, len);
    key[len] = 0;
    void *hit = cirrus_map_get(&p->names, key);
    if (hit) return (int64_t)(uintptr_t)hit - 1;
    gx_grammar *g = p->g;
    if (g->n_rules >= GRM_MAX_RULES) {
        fail(p, pos, "more than %d rules", GRM_MAX_RULES);
        return -1;
    }
    if (g->n_rules == g->cap_rules) {
        uint32_t cap = g->cap_rules ? g->cap_rules * 2 : 32;
        gx_rule *r = realloc(g->rules, cap * sizeof *r);
        if (!r) return oom(p), -1;
        g->rules = r, g->cap_rules = cap;
    }
    char *nm = cirrus_arena_strndup(&g->arena, name, len);
    if (!nm) return oom(p), -1;
    gx_rule *r = &g->rules[g->n_rules];
    memset(r, 0, sizeof *r);
    r->name = nm;
    line_col(p, pos, &r->line, &r->col);
    if (cirrus_map_put(&p->names, nm, (void *)(uintptr_t)(g->n_rules + 1), NULL) != CIRRUS_OK) return oom(p), -1;
    return g->n_rules++;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* One character of a literal or class: an escape or a UTF-8 encoded scalar. false on error. */
static bool parse_char(ps *p, uint32_t *cp) {
    size_t at = p->pos;
    if (p->pos >= p->n) return fail(p, at, "unexpected end of text"), false;
    uint8_t c = p->s[p->pos];
    if (c != '\\') {
        int k = grm_utf8_decode(p->s + p->pos, p->n - p->pos, cp);
        if (k == 0) return fail(p, at, "invalid UTF-8 in the grammar text"), false;
        p->pos += (size_t)k;
        return true;
    }
    int e = peek(p, 1);
    int digits = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
    if (digits) {
        uint32_t v = 0;
        for (int i = 0; i < digits; i++) {
            int h = hexval(peek(p, 2 + (size_t)i));
            if (h < 0) return fail(p, at, "\\%c needs %d hex digits", e, digits), false;
            v = v << 4 | (uint32_t)h;
        }
        if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
            return fail(p, at, "\\%c%0*X is not a Unicode scalar value", e, digits, v), false;
        p->pos += 2 + (size_t)digits;
        *cp = v;
        return true;
    }
    switch (e) {
    case 't': *cp = '\t'; break;
    case 'n': *cp = '\n'; break;
    case 'r': *cp = '\r'; break;
    case '0': *cp = 0; break;
    case '\\': case '"': case '\'': case '[': case ']': case '-': case '^': case '/': case '.':
        *cp = (uint32_t)e;
        break;
    default: {
        char b[8];
        return fail(p, at, "unknown escape '\\' followed by %s", show(e, b)), false;
    }
    }
    p->pos += 2;
    return true;
}

static gx *parse_literal(ps *p) {
    size_t at = p->pos++;
    CIRRUS_VEC(uint8_t) b = {0};
    while (p->st == CIRRUS_OK) {
        if (p->pos >= p->n) {
            fail(p, at, "string literal never closed");
            break;
        }
        if (p->s[p->pos] == '"') {
            p->pos++;
            break;
        }
        uint32_t cp;
        if (!parse_char(p, &cp)) break;
        uint8_t enc[4];
        int k = grm_utf8_encode(cp, enc);
        for (int i = 0; i < k; i++)
            if (cirrus_vec_push(&b, GRM_MAX_TEXT * 4u, enc[i])) oom(p);
    }
    gx *x = NULL;
    if (p->st == CIRRUS_OK && (x = node(p, b.n ? GX_LIT : GX_EMPTY, at)) && b.n) {
        uint8_t *copy = cirrus_arena_alloc(&p->g->arena, b.n);
        if (!copy) x = oom(p);
        else {
            memcpy(copy, b.v, b.n);
            x->u.lit.b = copy;
            x->u.lit.n = (uint32_t)b.n;
        }
    }
    free(b.v);
    return x;
}

static int cmp_u32pair(const void *a, const void *b) {
    const uint32_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0;
}

/* ranges (n pairs) -> sorted, merged, optionally complemented within the scalar values, minus the
 * surrogates; into the arena. */
static gx *make_class(ps *p, size_t at, uint32_t *r, size_t n, bool negate) {
    if (n > 1) qsort(r, n, 2 * sizeof *r, cmp_u32pair);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && r[2 * i] <= r[2 * (k - 1) + 1] + 1) {
            if (r[2 * i + 1] > r[2 * (k - 1) + 1]) r[2 * (k - 1) + 1] = r[2 * i + 1];
        } else {
            r[2 * k] = r[2 * i], r[2 * k + 1] = r[2 * i + 1];
            k++;
        }
    }
    /* the complement has at most k + 1 pairs, and removing the surrogates adds at most one */
    uint32_t *out = cirrus_arena_alloc(&p->g->arena, (k + 2) * 2 * sizeof *out);
    if (!out) return oom(p);
    size_t m = 0;
    uint32_t *src = r, nsrc = (uint32_t)k;
    uint32_t *neg = NULL;
    if (negate) {
        neg = malloc((2 * k + 2) * sizeof *neg);
        if (!neg) return oom(p);
        uint32_t next = 0;
        size_t j = 0;
        for (size_t i = 0; i < k; i++) {
            if (r[2 * i] > next) neg[2 * j] = next, neg[2 * j + 1] = r[2 * i] - 1, j++;
            next = r[2 * i + 1] + 1;
        }
        if (next <= 0x10FFFF) neg[2 * j] = next, neg[2 * j + 1] = 0x10FFFF, j++;
        src = neg, nsrc = (uint32_t)j;
    }
    for (uint32_t i = 0; i < nsrc; i++) {
        uint32_t lo = src[2 * i], hi = src[2 * i + 1];
        if (hi < 0xD800 || lo > 0xDFFF) {
            out[2 * m] = lo, out[2 * m + 1] = hi, m++;
            continue;
        }
        if (lo < 0xD800) out[2 * m] = lo, out[2 * m + 1] = 0xD7FF, m++;
        if (hi > 0xDFFF) out[2 * m] = 0xE000, out[2 * m + 1] = hi, m++;
    }
    free(neg);
    if (m == 0) return fail(p, at, "character class matches no character");
    gx *x = node(p, GX_CLASS, at);
    if (!x) return NULL;
    x->u.cls.r = out;
    x->u.cls.n = (uint32_t)m;
    return x;
}

static gx *parse_class(ps *p) {
    size_t at = p->pos++;
    bool negate = false;
    if (peek(p, 0) == '^') negate = true, p->pos++;
    CIRRUS_VEC(uint32_t) r = {0};
    while (p->st == CIRRUS_OK) {
        if (p->pos >= p->n) {
            fail(p, at, "character class never closed (expected ']')");
            break;
        }
        if (p->s[p->pos] == ']') {
            p->pos++;
            break;
        }
        size_t cat = p->pos;
        uint32_t lo, hi;
        if (!parse_char(p, &lo)) break;
        hi = lo;
        if (peek(p, 0) == '-' && peek(p, 1) != ']' && peek(p, 1) >= 0) {
            p->pos++;
            if (!parse_char(p, &hi)) break;
            if (hi < lo) {
                fail(p, cat, "character range U+%04X-U+%04X is backwards", lo, hi);
                break;
            }
        }
        if (cirrus_vec_push(&r, GRM_MAX_TEXT, lo) || cirrus_vec_push(&r, GRM_MAX_TEXT, hi)) oom(p);
    }
    gx *x = NULL;
    if (p->st == CIRRUS_OK) {
        if (r.n == 0 && !negate) fail(p, at, "empty character class '[]' matches nothing");
        else x = make_class(p, at, r.v, r.n / 2, negate);
    }
    free(r.v);
    return x;
}

static gx *make_list(ps *p, gx_kind k, size_t at, gx **items, size_t n) {
    if (n == 0) return node(p, GX_EMPTY, at);
    if (n == 1) return items[0];
    gx *x = node(p, k, at);
    if (!x) return NULL;
    x->u.list.k = cirrus_arena_alloc(&p->g->arena, n * sizeof *items);
    if (!x->u.list.k) return oom(p);
    memcpy(x->u.list.k, items, n * sizeof *items);
    x->u.list.n = (uint32_t)n;
    return x;
}

/* An unsigned decimal for {m,n}; false (with an error) when missing or too large. */
static bool parse_count(ps *p, uint32_t *v) {
    size_t at = p->pos;
    uint64_t x = 0;
    int digits = 0;
    while (peek(p, 0) >= '0' && peek(p, 0) <= '9') {
        x = x * 10 + (uint64_t)(p->s[p->pos++] - '0');
        if (x > GRM_MAX_REPEAT) return fail(p, at, "repetition count above %d", GRM_MAX_REPEAT), false;
        digits++;
    }
    if (!digits) return fail(p, at, "expected a number in '{m,n}'"), false;
    *v = (uint32_t)x;
    return true;
}

static gx *make_rep(ps *p, gx *k, size_t at, uint32_t min, uint32_t max) {
    gx *x = node(p, GX_REP, at);
    if (!x) return NULL;
    x->u.rep.k = k, x->u.rep.min = min, x->u.rep.max = max;
    return x;
}

/* The repetition after an item, if any: * + ? {m} {m,} {m,n} {,n}. */
static gx *parse_postfix(ps *p, gx *item, bool *more) {
    size_t at = p->pos;
    int c = peek(p, 0);
    *more = true;
    if (c == '*') return p->pos++, make_rep(p, item, at, 0, GX_INF);
    if (c == '+') return p->pos++, make_rep(p, item, at, 1, GX_INF);
    if (c == '?') return p->pos++, make_rep(p, item, at, 0, 1);
    if (c != '{') return *more = false, item;
    p->pos++;
    skip_space(p, false);
    uint32_t min = 0, max;
    if (peek(p, 0) != ',' && !parse_count(p, &min)) return NULL;
    skip_space(p, false);
    if (peek(p, 0) == '}') {
        max = min;
    } else if (peek(p, 0) == ',') {
        p->pos++;
        skip_space(p, false);
        if (peek(p, 0) == '}') max = GX_INF;
        else if (!parse_count(p, &max)) return NULL;
        skip_space(p, false);
    } else {
        char b[8];
        return fail(p, p->pos, "expected ',' or '}' in a repetition, found %s", show(peek(p, 0), b));
    }
    if (peek(p, 0) != '}') {
        char b[8];
        return fail(p, p->pos, "expected '}' to close the repetition, found %s", show(peek(p, 0), b));
    }
    p->pos++;
    if (max != GX_INF && max < min) return fail(p, at, "repetition {%u,%u}: the maximum is below the minimum", min, max);
    return make_rep(p, item, at, min, max);
}

static gx *parse_alts(ps *p, bool nested);

static gx *parse_item(ps *p, bool nested, bool *none) {
    *none = false;
    int c = peek(p, 0);
    size_t at = p->pos;
    if (c == '"') return parse_literal(p);
    if (c == '[') return parse_class(p);
    if (c == '.') {
        p->pos++;
        uint32_t all[2] = {0, 0x10FFFF};
        return make_class(p, at, all, 1, false);
    }
    if (c == '(') {
        if (++p->depth > GRM_MAX_DEPTH) return fail(p, at, "groups nested deeper than %d", GRM_MAX_DEPTH);
        p->pos++;
        skip_space(p, true);
        gx *x = parse_alts(p, true);
        if (!x) return NULL;
        skip_space(p, true);
        if (peek(p, 0) != ')') {
            char b[8];
            uint32_t l, co;
            line_col(p, at, &l, &co);
            return fail(p, p->pos, "expected ')' to close the group opened at %u:%u, found %s", l, co,
                        show(peek(p, 0), b));
        }
        p->pos++;
        p->depth--;
        return x;
    }
    if (c == '<' || (c == '!' && peek(p, 1) == '<'))
        return fail(p, at, "token references ('<...>', '<[id]>') are not supported");
    if (is_name_char(c)) {
        size_t start = p->pos;
        while (is_name_char(peek(p, 0))) p->pos++;
        size_t end = p->pos;
        skip_space(p, nested);
        if (peek(p, 0) == ':' && peek(p, 1) == ':' && peek(p, 2) == '=')
            return fail(p, start, "'%.*s ::=' inside a rule: is a ')' missing, or a newline?",
                        (int)(end - start > 64 ? 64 : end - start), (const char *)p->s + start);
        int64_t r = rule_index(p, (const char *)p->s + start, end - start, start);
        if (r < 0) return NULL;
        gx *x = node(p, GX_REF, start);
        if (x) x->u.ref = (uint32_t)r;
        return x;
    }
    *none = true;
    return NULL;
}

static gx *parse_seq(ps *p, bool nested) {
    CIRRUS_VEC(gx *) items = {0};
    size_t at = p->pos;
    gx *x = NULL;
    int n_post = 0;
    for (;;) {
        skip_space(p, nested);
        int c = peek(p, 0);
        if (c == '*' || c == '+' || c == '?' || c == '{') {
            if (!items.n) {
                fail(p, p->pos, "'%c' with nothing before it to repeat", c);
                break;
            }
            /* A cap on x***...: every walk over the tree recurses once per operator. */
            if (++n_post > 4) {
                fail(p, p->pos, "more than 4 repetition operators in a row");
                break;
            }
            bool more;
            gx *r = parse_postfix(p, items.v[items.n - 1], &more);
            if (!r) break;
            items.v[items.n - 1] = r;
            continue;
        }
        bool none;
        n_post = 0;
        gx *it = parse_item(p, nested, &none);
        if (none) {
            x = make_list(p, GX_SEQ, at, items.v, items.n);
            break;
        }
        if (!it) break;
        if (cirrus_vec_push(&items, GRM_MAX_TEXT, it)) {
            oom(p);
            break;
        }
    }
    free(items.v);
    return p->st == CIRRUS_OK ? x : NULL;
}

static gx *parse_alts(ps *p, bool nested) {
    CIRRUS_VEC(gx *) alts = {0};
    size_t at = p->pos;
    gx *x = NULL;
    for (;;) {
        gx *s = parse_seq(p, nested);
        if (!s) break;
        if (cirrus_vec_push(&alts, GRM_MAX_TEXT, s)) {
            oom(p);
            break;
        }
        skip_space(p, nested);
        if (peek(p, 0) != '|') {
            x = make_list(p, GX_ALT, at, alts.v, alts.n);
            break;
        }
        p->pos++;
        skip_space(p, true);
    }
    free(alts.v);
    return p->st == CIRRUS_OK ? x : NULL;
}

static void parse_rule(ps *p) {
    size_t at = p->pos;
    char b[8];
    if (!is_name_char(peek(p, 0))) {
        fail(p, at, "expected a rule name, found %s", show(peek(p, 0), b));
        return;
    }
    while (is_name_char(peek(p, 0))) p->pos++;
    size_t name_end = p->pos;
    skip_space(p, false);
    if (!(peek(p, 0) == ':' && peek(p, 1) == ':' && peek(p, 2) == '=')) {
        fail(p, p->pos, "expected '::=' after the rule name '%.*s', found %s",
             (int)(name_end - at > 64 ? 64 : name_end - at), (const char *)p->s + at, show(peek(p, 0), b));
        return;
    }
    int64_t r = rule_index(p, (const char *)p->s + at, name_end - at, at);
    if (r < 0) return;
    gx_rule *rule = &p->g->rules[r];
    if (rule->body) {
        fail(p, at, "rule '%s' is defined twice (first at %u:%u)", rule->name, rule->line, rule->col);
        return;
    }
    line_col(p, at, &rule->line, &rule->col);
    p->pos += 3;
    skip_space(p, true);
    gx *body = parse_alts(p, false);
    if (!body) return;
    p->g->rules[r].body = body; /* rules may have moved (realloc) while parsing the body */
    skip_space(p, false);
    int c = peek(p, 0);
    if (c == '\r') c = peek(p, 1);
    if (c != '\n' && c != -1) {
        if (c == ')') fail(p, p->pos, "unmatched ')'");
        else fail(p, p->pos, "unexpected %s (a rule ends at the end of its line)", show(c, b));
    }
}

void grm_gx_free(gx_grammar *g) {
    cirrus_arena_free(&g->arena);
    free(g->rules);
    memset(g, 0, sizeof *g);
}

cirrus_status grm_parse_gbnf(const char *text, size_t len, const char *root, gx_grammar *out, cirrus_err *err) {
    memset(out, 0, sizeof *out);
    if (!text) return cirrus_errf(err, CIRRUS_ERR_INVALID, "grammar: missing");
    if (len > GRM_MAX_TEXT) return cirrus_errf(err, CIRRUS_ERR_RANGE, "grammar: %zu bytes, more than %u", len, GRM_MAX_TEXT);
    cirrus_arena_init(&out->arena, 64u * GRM_MAX_TEXT);
    ps p = {.s = (const uint8_t *)text, .n = len, .g = out, .err = err, .lc_line = 1};
    cirrus_map_init(&p.names, &cirrus_map_str, GRM_MAX_RULES);
    skip_space(&p, true);
    while (p.st == CIRRUS_OK && p.pos < p.n) {
        parse_rule(&p);
        skip_space(&p, true);
    }
    for (uint32_t i = 0; p.st == CIRRUS_OK && i < out->n_rules; i++)
        if (!out->rules[i].body)
            p.st = cirrus_errf(err, CIRRUS_ERR_FORMAT, "grammar:%u:%u: undefined rule '%s'", out->rules[i].line,
                               out->rules[i].col, out->rules[i].name);
    if (p.st == CIRRUS_OK) {
        const char *rn = root ? root : "root";
        void *hit = cirrus_map_get(&p.names, rn);
        if (!hit) p.st = cirrus_errf(err, CIRRUS_ERR_FORMAT, "grammar:1:1: no rule named '%.64s' (the start rule)", rn);
        else out->root = (uint32_t)((uintptr_t)hit - 1);
    }
    cirrus_map_free(&p.names);
    if (p.st != CIRRUS_OK) grm_gx_free(out);
    return p.st;
}
