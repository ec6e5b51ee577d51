/*
 * Objects and arrays of a JSON Schema, as grammar.
 *
 * Objects: the listed properties in the schema's order, the required ones always, the optional
 * ones each present or not, then (if additionalProperties allows them) any number of other keys.
 * With p_i the i-th listed property and kv_i its `"key": value`:
 *   first(i) = the members from p_i on when none was written yet
 *            = kv_i after(i+1)                 p_i required
 *            | kv_i after(i+1) | first(i+1)    p_i optional
 *   after(i) = the members from p_i on after at least one: the same with "," before each
 * so a comma is never leading, trailing or doubled, whichever optional members are left out.
 * Other keys are spelled without escapes and never equal a listed name (a trie of the names
 * says which next characters would still spell one): a duplicate key would let a value of the
 * wrong schema override the listed one in most JSON parsers.
 *
 * Arrays: prefixItems (draft 4-7: items as an array) positionally, then the items schema for the
 * rest, with minItems / maxItems counted over both.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grammar/schema_internal.h"

#define MAX_NAME 48

typedef struct {
    const char *name;      /* the key */
    const json_t *schema;  /* NULL: any value (a required key that only additionalProperties covers) */
    bool required;
    char *kv;              /* its `"key": value` as grammar text */
} member;

/* ---- keys that are none of the listed names ------------------------------------------------------ */

typedef struct tnode {
    uint32_t cp;
    bool is_name;
    struct tnode *kids, *next;
} tnode;

static tnode *trie_child(sch *c, tnode *n, uint32_t cp) {
    for (tnode *k = n->kids; k; k = k->next)
        if (k->cp == cp) return k;
    tnode *k = cirrus_arena_alloc(&c->arena, sizeof *k);
    if (!k) return NULL;
    k->cp = cp;
    k->next = n->kids;
    n->kids = k;
    return k;
}

static const char *FREE_CHARS = "[^\"\\\\\\x00-\\x1F]";

/* The rule for "the rest of a key that is not a listed name", from trie node n. */
static const char *notkey_rule(sch *c, const tnode *n, const char *hint) {
    cirrus_buf b;
    cirrus_buf_init(&b, GRM_MAX_TEXT);
    int alts = 0;
    if (!n->is_name) cirrus_buf_adds(&b, "\"\\\"\""), alts++;
    for (const tnode *k = n->kids; k; k = k->next) {
        const char *r = notkey_rule(c, k, hint);
        if (!r) {
            cirrus_buf_free(&b);
            return NULL;
        }
        cirrus_buf_addf(&b, "%s\"\\U%08X\" %s", alts++ ? " | " : "", k->cp, r);
    }
    /* a character that leaves the trie, then anything */
    cirrus_buf_addf(&b, "%s[^\"\\\\\\x00-\\x1F", alts ? " | " : "");
    for (const tnode *k = n->kids; k; k = k->next) cirrus_buf_addf(&b, "\\U%08X", k->cp);
    cirrus_buf_addf(&b, "] %s* \"\\\"\"", FREE_CHARS);
    const char *r = b.fail ? NULL : sch_add_rule(c, hint, cirrus_buf_str(&b));
    if (b.fail) sch_fail(c, CIRRUS_ERR_RANGE, "schema: the grammar would exceed %u bytes", GRM_MAX_TEXT);
    cirrus_buf_free(&b);
    return r;
}

/* A key other than the listed ones (spelled without escapes: then it cannot alias one). */
static const char *other_key(sch *c, const member *m, size_t n, const char *hint) {
    tnode *root = cirrus_arena_alloc(&c->arena, sizeof *root);
    if (!root) return sch_fail(c, CIRRUS_ERR_NOMEM, "schema: out of memory"), NULL;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *s = (const uint8_t *)m[i].name;
        size_t len = strlen(m[i].name);
        bool plain = true;
        for (size_t j = 0; j < len; j++) plain = plain && s[j] >= 0x20 && s[j] != '"' && s[j] != '\\';
        if (!plain) continue; /* needs an escape to be written: an escape-free key never equals it */
        tnode *t = root;
        for (size_t j = 0; j < len && t;) {
            uint32_t cp;
            int k = grm_utf8_decode(s + j, len - j, &cp);
            if (!k) break; /* jansson hands out valid UTF-8 only */
            t = trie_child(c, t, cp);
            j += (size_t)k;
        }
        if (!t) return sch_fail(c, CIRRUS_ERR_NOMEM, "schema: out of memory"), NULL;
        t->is_name = true;
    }
    char h[MAX_NAME + 32];
    snprintf(h, sizeof h, "%.*s-other-key", MAX_NAME - 12, hint);
    const char *rest = notkey_rule(c, root, h);
    if (!rest) return NULL;
    char body[MAX_NAME * 2 + 16];
    snprintf(body, sizeof body, "\"\\\"\" %s", rest);
    return sch_add_rule(c, h, body);
}

/* ---- objects --------------------------------------------------------------------------------------- */

static bool collect(sch *c, const json_t *s, const json_t *extra, const char *hint, member **out, size_t *n_out) {
    const json_t *props = json_object_get(s, "properties"), *req = json_object_get(s, "required");
    if (props && !json_is_object(props)) return sch_fail(c, CIRRUS_ERR_INVALID, "schema: 'properties' must be an object");
    if (req && !json_is_array(req)) return sch_fail(c, CIRRUS_ERR_INVALID, "schema: 'required' must be an array");
    size_t n_req = req ? json_array_size(req) : 0, cap = (props ? json_object_size(props) : 0) + n_req;
    member *m = calloc(cap ? cap : 1, sizeof *m);
    if (!m) return sch_fail(c, CIRRUS_ERR_NOMEM, "schema: out of memory");
    size_t n = 0;
    const char *k;
    json_t *v;
    if (props) json_object_foreach((json_t *)props, k, v) m[n++] = (member){k, v, false, NULL};
    for (size_t i = 0; i < n_req; i++) {
        const json_t *r = json_array_get(req, i);
        if (!json_is_string(r)) {
            free(m);
            return sch_fail(c, CIRRUS_ERR_INVALID, "schema: 'required' must list strings");
        }
        size_t j = 0;
        while (j < n && strcmp(m[j].name, json_string_value(r))) j++;
        if (j == n) { /* required but not listed: additionalProperties says what it holds */
            if (json_is_false(extra)) {
                free(m);
                return sch_fail(c, CIRRUS_ERR_INVALID, "schema: '%.60s' is required but additionalProperties is "
                                "false and properties does not list it", json_string_value(r));
            }
            m[n++] = (member){json_string_value(r), json_is_object(extra) ? extra : NULL, false, NULL};
        }
        m[j].required = true;
    }
    const char *ws = sch_ws(c);
    for (size_t i = 0; i < n && !c->st; i++) {
        char h[MAX_NAME + 32];
        snprintf(h, sizeof h, "%.20s-%.*s", hint, MAX_NAME - 24, m[i].name);
        const char *vr = m[i].schema ? sch_sub_rule(c, m[i].schema, "properties", m[i].name, -1, h)
                                     : sch_prim_name(c, P_VALUE);
        if (!vr) break;
        cirrus_buf b;
        cirrus_buf_init(&b, GRM_MAX_TEXT);
        json_t *key = json_string(m[i].name);
        if (!key || !sch_json_lit(c, &b, key)) sch_fail(c, CIRRUS_ERR_NOMEM, "schema: out of memory");
        json_decref(key);
        cirrus_buf_addf(&b, "%s \":\"%s %s%s", ws, ws, vr, ws);
        m[i].kv = cirrus_buf_take(&b, NULL);
        if (!m[i].kv) sch_fail(c, CIRRUS_ERR_NOMEM, "schema: out of memory");
    }
    *out = m, *n_out = n;
    return !c->st;
}

static void free_members(member *m, size_t n) {
    for (size_t i = 0; m && i < n; i++) free(m[i].kv);
    free(m);
}

/* The rule names of first(i) and after(i) for i in [0, n], built from the end. */
static bool chain(sch *c, const member *m, size_t n, const char *extra_kv, const char *hint, const char **first,
                  const char **after) {
    const char *ws = sch_ws(c);
    cirrus_buf b;
    cirrus_buf_init(&b, GRM_MAX_TEXT);
    for (size_t i = n + 1; i-- > 0 && !c->st;) {
        char h[MAX_NAME + 32];
        /* after(i) */
        cirrus_buf_reset(&b);
        if (i == n) {
            if (extra_kv) cirrus_buf_addf(&b, "( \",\"%s %s )*", ws, extra_kv);
        } else if (m[i].required) {
            cirrus_buf_addf(&b, "\",\"%s %s %s", ws, m[i].kv, after[i + 1]);
        } else {
            cirrus_buf_addf(&b, "( \",\"%s %s )? %s", ws, m[i].kv, after[i + 1]);
        }
        snprintf(h, sizeof h, "%.*s-after-%zu", MAX_NAME - 12, hint, i);
        after[i] = b.len ? sch_add_rule(c, h, cirrus_buf_str(&b)) : "";
        /* first(i) */
        cirrus_buf_reset(&b);
        if (i == n) {
            if (extra_kv) cirrus_buf_addf(&b, "( %s ( \",\"%s %s )* )?", extra_kv, ws, extra_kv);
        } else if (m[i].required) {
            cirrus_buf_addf(&b, "%s %s", m[i].kv, after[i + 1]);
        } else {
            cirrus_buf_addf(&b, "%s %s | %s", m[i].kv, after[i + 1], *first[i + 1] ? first[i + 1] : "\"\"");
        }
        snprintf(h, sizeof h, "%.*s-first-%zu", MAX_NAME - 12, hint, i);
        first[i] = b.len ? sch_add_rule(c, h, cirrus_buf_str(&b)) : "";
        if (b.fail) sch_fail(c, CIRRUS_ERR_RANGE, "schema: the grammar would exceed %u bytes", GRM_MAX_TEXT);
        if (!first[i] || !after[i]) break;
    }
    cirrus_buf_free(&b);
    return !c->st;
}

bool sch_object_body(sch *c, const json_t *s, const char *hint, cirrus_buf *b) {
    const json_t *extra = json_object_get(s, "additionalProperties");
    if (extra && !json_is_boolean(extra) && !json_is_object(extra))
        return sch_fail(c, CIRRUS_ERR_INVALID, "schema: 'additionalProperties' must be a boolean or a schema");
    if (!extra) extra = c->o.additional_default ? json_true() : json_false(); /* singletons: no refcount */
    member *m = NULL;
    size_t n = 0;
    const char **first = NULL, **after = NULL;
    char *extra_kv = NULL;
    bool ok = collect(c, s, extra, hint, &m, &n);
    if (ok && !json_is_false(extra)) {
        const char *ws = sch_ws(c);
        const char *key = n ? other_key(c, m, n, hint) : sch_prim_name(c, P_STRING);
        char h[MAX_NAME + 32];
        snprintf(h, sizeof h, "%.*s-other", MAX_NAME - 8, hint);
        const char *val = json_is_true(extra) ? sch_prim_name(c, P_VALUE)
                                              : sch_sub_rule(c, extra, "additionalProperties", NULL, -1, h);
        cirrus_buf kv;
        cirrus_buf_init(&kv, GRM_MAX_TEXT);
        if (key && val) cirrus_buf_addf(&kv, "%s%s \":\"%s %s%s", key, ws, ws, val, ws);
        extra_kv = key && val ? cirrus_buf_take(&kv, NULL) : NULL;
        cirrus_buf_free(&kv);
        ok = extra_kv != NULL;
        if (!ok) sch_fail(c, CIRRUS_ERR_NOMEM, "schema: out of memory");
    }
    if (ok) {
        first = calloc(n + 1, sizeof *first), after = calloc(n + 1, sizeof *after);
        ok = first && after ? chain(c, m, n, extra_kv, hint, first, after)
                            : sch_fail(c, CIRRUS_ERR_NOMEM, "schema: out of memory");
    }
    if (ok) cirrus_buf_addf(b, "\"{\"%s %s \"}\"", sch_ws(c), *first[0] ? first[0] : "");
    free(first), free(after), free(extra_kv);
    free_members(m, n);
    return ok;
}

/* ---- arrays ------------------------------------------------------------------------------------------ */

static void counted(cirrus_buf *b, int64_t lo, bool has_hi, int64_t hi) {
    if (!has_hi) cirrus_buf_addf(b, "{%" PRId64 ",}", lo);
    else cirrus_buf_addf(b, "{%" PRId64 ",%" PRId64 "}", lo, hi);
}

bool sch_array_body(sch *c, const json_t *s, const char *hint, cirrus_buf *b) {
    const json_t *prefix = json_object_get(s, "prefixItems"), *items = json_object_get(s, "items");
    const json_t *rest = items;
    const char *prefix_key = "prefixItems";
    if (json_is_array(items)) { /* draft 4-7 tuples */
        if (prefix) return sch_fail(c, CIRRUS_ERR_INVALID, "schema: 'items' as an array beside 'prefixItems'");
        prefix = items, prefix_key = "items";
        rest = json_object_get(s, "additionalItems");
    } else if (json_object_get(s, "additionalItems")) {
        return sch_fail(c, CIRRUS_ERR_INVALID, "schema: 'additionalItems' needs 'items' as an array");
    }
    if (prefix && !json_is_array(prefix)) return sch_fail(c, CIRRUS_ERR_INVALID, "schema: 'prefixItems' must be an array");
    bool has_min, has_max;
    int64_t mn = 0, mx = 0;
    if (!sch_get_count(c, s, "minItems", &has_min, &mn) || !sch_get_count(c, s, "maxItems", &has_max, &mx)) return false;
    if (has_max && mx < mn) return sch_fail(c, CIRRUS_ERR_INVALID, "schema: maxItems is below minItems");
    size_t k = prefix ? json_array_size(prefix) : 0;
    if (has_max && (int64_t)k > mx) k = (size_t)mx;
    bool no_rest = json_is_false(rest);
    if (no_rest && mn > (int64_t)k)
        return sch_fail(c, CIRRUS_ERR_INVALID, "schema: minItems %" PRId64 " but only %zu items are allowed", mn, k);
    const char *ws = sch_ws(c);
    const char *r = NULL;
    if (!no_rest) {
        char h[MAX_NAME + 32];
        snprintf(h, sizeof h, "%.*s-item", MAX_NAME - 8, hint);
        r = !rest || json_is_true(rest) ? sch_prim_name(c, P_VALUE)
                                         : sch_sub_rule(c, rest, json_is_array(items) ? "additionalItems" : "items", NULL, -1, h);
        if (!r) return false;
    }
    /* the rest: (rest_lo .. rest_hi) more items after the k positional ones */
    int64_t rest_lo = mn > (int64_t)k ? mn - (int64_t)k : 0, rest_hi = has_max ? mx - (int64_t)k : 0;
    cirrus_buf tail; /* what follows the positional items */
    cirrus_buf_init(&tail, GRM_MAX_TEXT);
    if (k == 0) {
        if (no_rest || (has_max && mx == 0)) {
            cirrus_buf_addf(b, "\"[\"%s \"]\"", ws);
            cirrus_buf_free(&tail);
            return true;
        }
        cirrus_buf_addf(b, "\"[\"%s ", ws);
        if (mn == 0) cirrus_buf_adds(b, "( ");
        cirrus_buf_addf(b, "%s%s ( \",\"%s %s%s )", r, ws, ws, r, ws);
        counted(b, mn > 0 ? mn - 1 : 0, has_max, mx - 1);
        if (mn == 0) cirrus_buf_adds(b, " )?");
        cirrus_buf_adds(b, " \"]\"");
        cirrus_buf_free(&tail);
        return true;
    }
    if (!no_rest && (!has_max || rest_hi > 0)) {
        cirrus_buf_addf(&tail, "( \",\"%s %s%s )", ws, r, ws);
        counted(&tail, rest_lo, has_max, rest_hi);
    }
    /* positional items from the end: item j is optional (with everything after it) when j >= mn */
    for (size_t j = k; j-- > 1 && !c->st;) {
        char h[MAX_NAME + 32];
        snprintf(h, sizeof h, "%.*s-%zu", MAX_NAME - 8, hint, j);
        const char *pj = sch_sub_rule(c, json_array_get(prefix, j), prefix_key, NULL, (long)j, h);
        if (!pj) break;
        cirrus_buf seg;
        cirrus_buf_init(&seg, GRM_MAX_TEXT);
        bool opt = (int64_t)j >= mn;
        cirrus_buf_addf(&seg, "%s\",\"%s %s%s %s%s", opt ? "( " : "", ws, pj, ws, cirrus_buf_str(&tail), opt ? " )?" : "");
        cirrus_buf_free(&tail);
        tail = seg;
    }
    char h[MAX_NAME + 32];
    snprintf(h, sizeof h, "%.*s-0", MAX_NAME - 8, hint);
    const char *p0 = c->st ? NULL : sch_sub_rule(c, json_array_get(prefix, 0), prefix_key, NULL, 0, h);
    if (p0) {
        cirrus_buf_addf(b, "\"[\"%s %s%s%s %s%s \"]\"", ws, mn == 0 ? "( " : "", p0, ws, cirrus_buf_str(&tail),
                        mn == 0 ? " )?" : "");
        if (tail.fail) sch_fail(c, CIRRUS_ERR_RANGE, "schema: the grammar would exceed %u bytes", GRM_MAX_TEXT);
    }
    cirrus_buf_free(&tail);
    return !c->st;
}
