/*
 * JSON Schema -> GBNF. One rule per subschema (named after where it sits: root-address-city),
 * equal subschemas sharing one rule, $ref targets named before their bodies are compiled so that
 * recursion is a rule calling itself.
 *
 * What "compiles" means here: every sentence of the grammar is an instance the schema accepts.
 * Where a schema allows more than one spelling (key order, optional members, whitespace) the
 * grammar picks a subset -- properties in the schema's order, additional properties after them --
 * which is still only valid instances. A keyword whose meaning a grammar cannot carry, or that is
 * not implemented, is refused by name (CIRRUS_ERR_UNSUPPORTED), never dropped: dropping it would
 * let invalid output through (llama.cpp's #24097).
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "grammar/schema_internal.h"

#define MAX_NAME 48

/* Keywords that constrain nothing (annotations, containers of definitions). */
static const char *const ignored[] = {"title", "description", "default", "examples", "$schema", "$id", "$comment",
                                      "deprecated", "readOnly", "writeOnly", "$defs", "definitions", "$anchor",
                                      "contentMediaType", "contentEncoding", "discriminator", NULL};
/* Standard validation keywords this compiler does not carry (refused by name). */
static const char *const refused[] = {"multipleOf", "pattern", "uniqueItems", "contains", "minContains",
                                      "maxContains", "minProperties", "maxProperties", "dependentRequired",
                                      "dependentSchemas", "dependencies", "patternProperties", "propertyNames",
                                      "if", "then", "else", "not", "unevaluatedItems", "unevaluatedProperties",
                                      "$dynamicRef", "$recursiveRef", "contentSchema", NULL};
/* The ones it does. */
static const char *const known[] = {"type", "enum", "const", "properties", "required", "additionalProperties",
                                    "items", "prefixItems", "additionalItems", "minItems", "maxItems", "minimum",
                                    "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
                                    "format", "anyOf", "oneOf", "allOf", "$ref", NULL};

static bool in_list(const char *const *l, const char *k) {
    for (; *l; l++)
        if (!strcmp(*l, k)) return true;
    return false;
}

bool sch_fail(sch *c, cirrus_status st, const char *fmt, ...) {
    if (c->st) return false;
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    c->st = cirrus_errf(c->err, st, "%s at %s", why, c->ptr_len ? c->ptr : "/");
    return false;
}

/* ---- the JSON pointer of the current subschema, for messages ------------------------------------ */

static size_t ptr_push(sch *c, const char *seg) {
    size_t at = c->ptr_len;
    if (c->ptr_len + 1 < SCH_MAX_PTR) c->ptr[c->ptr_len++] = '/';
    for (const char *s = seg; *s && c->ptr_len + 2 < SCH_MAX_PTR; s++) {
        if (*s == '~' || *s == '/') {
            c->ptr[c->ptr_len++] = '~';
            c->ptr[c->ptr_len++] = *s == '~' ? '0' : '1';
        } else c->ptr[c->ptr_len++] = *s;
    }
    c->ptr[c->ptr_len] = 0;
    return at;
}

static size_t ptr_push_i(sch *c, size_t i) {
    char b[24];
    snprintf(b, sizeof b, "%zu", i);
    return ptr_push(c, b);
}

static void ptr_pop(sch *c, size_t at) {
    c->ptr_len = at;
    c->ptr[at] = 0;
}

/* ---- rules ------------------------------------------------------------------------------------- */

/* A fresh rule name from a hint: [a-z0-9-], unique (a numeric suffix when taken). */
const char *sch_fresh_name(sch *c, const char *hint) {
    char base[MAX_NAME + 1];
    size_t n = 0;
    for (const char *s = hint; *s && n < MAX_NAME - 8; s++) {
        char ch = *s;
        if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))) ch = '-';
        if (ch == '-' && (n == 0 || base[n - 1] == '-')) continue;
        base[n++] = ch;
    }
    while (n && base[n - 1] == '-') n--;
    if (!n) memcpy(base, "r", 1), n = 1;
    base[n] = 0;
    char name[MAX_NAME + 16];
    snprintf(name, sizeof name, "%s", base);
    for (int k = 2; cirrus_map_get(&c->names, name) || !strcmp(name, "root"); k++) snprintf(name, sizeof name, "%s-%d", base, k);
    char *keep = cirrus_arena_strndup(&c->arena, name, strlen(name));
    if (!keep || cirrus_map_put(&c->names, keep, keep, NULL)) {
        sch_fail(c, CIRRUS_ERR_FULL, "schema: too many rules");
        return NULL;
    }
    return keep;
}

void sch_emit_rule(sch *c, const char *name, const char *body) {
    cirrus_buf_addf(&c->rules, "%s ::= %s\n", name, body);
}

/* The rule for body: an existing rule with the same body, or a new one named from hint. */
const char *sch_add_rule(sch *c, const char *hint, const char *body) {
    const char *hit = cirrus_map_get(&c->by_body, body);
    if (hit) return hit;
    const char *name = sch_fresh_name(c, hint);
    char *keep = name ? cirrus_arena_strndup(&c->arena, body, strlen(body)) : NULL;
    if (!keep || cirrus_map_put(&c->by_body, keep, (void *)name, NULL)) {
        sch_fail(c, CIRRUS_ERR_FULL, "schema: too many rules");
        return NULL;
    }
    sch_emit_rule(c, name, body);
    return name;
}

static bool body(sch *c, const json_t *s, const char *hint, cirrus_buf *b);

/* The rule for subschema s (NULL on error). */
static const char *rule_for(sch *c, const json_t *s, const char *hint) {
    if (++c->depth > SCH_MAX_DEPTH) {
        sch_fail(c, CIRRUS_ERR_RANGE, "schema: nested deeper than %d", SCH_MAX_DEPTH);
        c->depth--;
        return NULL;
    }
    cirrus_buf b;
    cirrus_buf_init(&b, GRM_MAX_TEXT);
    const char *name = NULL;
    if (body(c, s, hint, &b)) {
        if (b.fail) sch_fail(c, CIRRUS_ERR_RANGE, "schema: the grammar would exceed %u bytes", GRM_MAX_TEXT);
        else name = sch_add_rule(c, hint, cirrus_buf_str(&b));
    }
    cirrus_buf_free(&b);
    c->depth--;
    return name;
}

const char *sch_sub_rule(sch *c, const json_t *s, const char *key, const char *name, long i, const char *hint) {
    size_t at = ptr_push(c, key);
    if (name) ptr_push(c, name);
    if (i >= 0) ptr_push_i(c, (size_t)i);
    const char *r = rule_for(c, s, hint);
    ptr_pop(c, at);
    return r;
}

/* ---- $ref ---------------------------------------------------------------------------------------- */

static const json_t *resolve(sch *c, const char *ref) {
    if (ref[0] != '#') {
        sch_fail(c, CIRRUS_ERR_UNSUPPORTED, "schema: $ref '%.80s' is not supported (only references into this "
                 "document, starting with '#')", ref);
        return NULL;
    }
    const json_t *at = c->doc;
    const char *p = ref + 1;
    while (*p == '/') {
        p++;
        char seg[256];
        size_t n = 0;
        for (; *p && *p != '/'; p++) {
            char ch = *p;
            if (ch == '~' && (p[1] == '0' || p[1] == '1')) ch = *++p == '0' ? '~' : '/';
            else if (ch == '%' && p[1] && p[2]) { /* URI fragment escapes */
                unsigned v;
                if (sscanf(p + 1, "%2x", &v) == 1) ch = (char)v, p += 2;
            }
            if (n + 1 < sizeof seg) seg[n++] = ch;
        }
        seg[n] = 0;
        if (json_is_object(at)) at = json_object_get(at, seg);
        else if (json_is_array(at)) {
            char *end;
            unsigned long k = strtoul(seg, &end, 10);
            at = *seg && !*end ? json_array_get(at, k) : NULL;
        } else at = NULL;
        if (!at) {
            sch_fail(c, CIRRUS_ERR_INVALID, "schema: $ref '%.80s' points at nothing", ref);
            return NULL;
        }
    }
    if (*p) {
        sch_fail(c, CIRRUS_ERR_UNSUPPORTED, "schema: $ref '%.80s': only JSON pointers are supported", ref);
        return NULL;
    }
    return at;
}

static const char *ref_rule(sch *c, const char *ref) {
    const char *hit = cirrus_map_get(&c->by_ref, ref);
    if (hit) return hit;
    const json_t *target = resolve(c, ref);
    if (!target) return NULL;
    const char *last = strrchr(ref, '/');
    const char *name = sch_fresh_name(c, last && last[1] ? last + 1 : "ref-root");
    char *key = name ? cirrus_arena_strndup(&c->arena, ref, strlen(ref)) : NULL;
    if (!key || cirrus_map_put(&c->by_ref, key, (void *)name, NULL)) {
        sch_fail(c, CIRRUS_ERR_FULL, "schema: too many rules");
        return NULL;
    }
    /* the target's own rule, then name ::= it (the compiler inlines that); messages inside name
     * the target's pointer */
    char saved[SCH_MAX_PTR];
    size_t saved_len = c->ptr_len;
    memcpy(saved, c->ptr, saved_len + 1);
    snprintf(c->ptr, SCH_MAX_PTR, "%s", ref + 1);
    c->ptr_len = strlen(c->ptr);
    const char *inner = rule_for(c, target, name);
    memcpy(c->ptr, saved, saved_len + 1);
    c->ptr_len = saved_len;
    if (!inner) return NULL;
    sch_emit_rule(c, name, inner);
    return name;
}

/* ---- keyword checks ---------------------------------------------------------------------------- */

static bool check_keywords(sch *c, const json_t *s) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)s, k, v) {
        if (in_list(known, k) || in_list(ignored, k) || !strncmp(k, "x-", 2)) continue;
        if (in_list(refused, k)) return sch_fail(c, CIRRUS_ERR_UNSUPPORTED, "schema: keyword '%s' is not supported", k);
        /* not a JSON Schema keyword at all: like every validator, take it as an annotation */
    }
    return true;
}

bool sch_get_count(sch *c, const json_t *s, const char *key, bool *has, int64_t *out) {
    const json_t *v = json_object_get(s, key);
    *has = v != NULL;
    if (!v) return true;
    double d = json_is_integer(v) ? (double)json_integer_value(v) : json_is_real(v) ? json_real_value(v) : -1;
    if (!json_is_number(v) || d < 0 || d != floor(d) || d > GRM_MAX_REPEAT)
        return sch_fail(c, CIRRUS_ERR_INVALID, "schema: '%s' must be a non-negative integer up to %d", key, GRM_MAX_REPEAT);
    *out = (int64_t)d;
    return true;
}

/* An integer-valued bound (integer type: any number, rounded inward later; else exact integers). */
static bool get_bound(sch *c, const json_t *s, const char *key, bool want_int, bool *has, double *out) {
    const json_t *v = json_object_get(s, key);
    *has = false;
    if (!v) return true;
    if (json_is_boolean(v)) /* draft 4: exclusiveMinimum: true modifies minimum */
        return sch_fail(c, CIRRUS_ERR_UNSUPPORTED, "schema: boolean '%s' (draft 4) is not supported", key);
    if (!json_is_number(v)) return sch_fail(c, CIRRUS_ERR_INVALID, "schema: '%s' must be a number", key);
    double d = json_number_value(v);
    if (!isfinite(d) || fabs(d) > 9.2e18) return sch_fail(c, CIRRUS_ERR_RANGE, "schema: '%s' out of range", key);
    if (!want_int && d != floor(d))
        return sch_fail(c, CIRRUS_ERR_UNSUPPORTED, "schema: '%s' %g: non-integer bounds on numbers are not supported",
                        key, d);
    *has = true;
    *out = d;
    return true;
}

/* ---- the types ------------------------------------------------------------------------------------ */

static bool string_body(sch *c, const json_t *s, cirrus_buf *b) {
    bool has_min, has_max;
    int64_t mn = 0, mx = 0;
    if (!sch_get_count(c, s, "minLength", &has_min, &mn) || !sch_get_count(c, s, "maxLength", &has_max, &mx)) return false;
    const json_t *f = json_object_get(s, "format");
    if (f) {
        if (!json_is_string(f)) return sch_fail(c, CIRRUS_ERR_INVALID, "schema: 'format' must be a string");
        if (has_min || has_max)
            return sch_fail(c, CIRRUS_ERR_UNSUPPORTED, "schema: '%s' together with 'format' is not supported",
                            has_min ? "minLength" : "maxLength");
        if (!sch_format(b, json_string_value(f)))
            return sch_fail(c, CIRRUS_ERR_UNSUPPORTED, "schema: format '%.40s' is not supported (date, time, "
                            "date-time, uuid are)", json_string_value(f));
        return true;
    }
    if (!has_min && !has_max) {
        cirrus_buf_adds(b, sch_prim_name(c, P_STRING));
        return true;
    }
    if (has_max && mx < mn) return sch_fail(c, CIRRUS_ERR_INVALID, "schema: maxLength is below minLength");
    const char *ch = sch_prim_name(c, P_CHAR);
    if (has_max) cirrus_buf_addf(b, "\"\\\"\" %s{%" PRId64 ",%" PRId64 "} \"\\\"\"", ch, mn, mx);
    else cirrus_buf_addf(b, "\"\\\"\" %s{%" PRId64 ",} \"\\\"\"", ch, mn);
    return true;
}

static bool number_body(sch *c, const json_t *s, bool integer, cirrus_buf *b) {
    bool h_min, h_max, h_xmin, h_xmax;
    double mn = 0, mx = 0, xmn = 0, xmx = 0;
    if (!get_bound(c, s, "minimum", integer, &h_min, &mn) || !get_bound(c, s, "maximum", integer, &h_max, &mx) ||
        !get_bound(c, s, "exclusiveMinimum", integer, &h_xmin, &xmn) ||
        !get_bound(c, s, "exclusiveMaximum", integer, &h_xmax, &xmx))
        return false;
    if (!integer && (h_xmin || h_xmax))
        return sch_fail(c, CIRRUS_ERR_UNSUPPORTED, "schema: '%s' on a number is not supported (on an integer it is)",
                        h_xmin ? "exclusiveMinimum" : "exclusiveMaximum");
    if (!h_min && !h_max && !h_xmin && !h_xmax) {
        cirrus_buf_adds(b, sch_prim_name(c, integer ? P_INTEGER : P_NUMBER));
        return true;
    }
    /* the tightest integer bounds: x >= ceil(min), x > xmin => x >= floor(xmin) + 1 */
    bool has_lo = h_min || h_xmin, has_hi = h_max || h_xmax;
    double lo = -INFINITY, hi = INFINITY;
    if (h_min) lo = ceil(mn);
    if (h_xmin && floor(xmn) + 1 > lo) lo = floor(xmn) + 1;
    if (h_max) hi = floor(mx);
    if (h_xmax && ceil(xmx) - 1 < hi) hi = ceil(xmx) - 1;
    if (has_lo && has_hi && lo > hi) return sch_fail(c, CIRRUS_ERR_INVALID, "schema: no number lies within the bounds");
    int64_t ilo = has_lo ? (int64_t)lo : 0, ihi = has_hi ? (int64_t)hi : 0; /* |bounds| < 9.2e18: exact */
    if (integer) sch_int_range(b, has_lo, ilo, has_hi, ihi);
    else sch_num_range(b, has_lo, ilo, has_hi, ihi);
    return true;
}


static bool type_body(sch *c, const json_t *s, const char *type, const char *hint, cirrus_buf *b) {
    if (!strcmp(type, "string")) return string_body(c, s, b);
    if (!strcmp(type, "integer")) return number_body(c, s, true, b);
    if (!strcmp(type, "number")) return number_body(c, s, false, b);
    if (!strcmp(type, "boolean")) return cirrus_buf_adds(b, sch_prim_name(c, P_BOOLEAN)), true;
    if (!strcmp(type, "null")) return cirrus_buf_adds(b, sch_prim_name(c, P_NULL)), true;
    if (!strcmp(type, "object")) return sch_object_body(c, s, hint, b);
    if (!strcmp(type, "array")) return sch_array_body(c, s, hint, b);
    return sch_fail(c, CIRRUS_ERR_INVALID, "schema: unknown type '%.40s'", type);
}

/* The JSON type of a value, as `type` names it. */
static bool value_has_type(const json_t *v, const char *t) {
    if (!strcmp(t, "string")) return json_is_string(v);
    if (!strcmp(t, "integer"))
        return json_is_integer(v) || (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)));
    if (!strcmp(t, "number")) return json_is_number(v);
    if (!strcmp(t, "boolean")) return json_is_boolean(v);
    if (!strcmp(t, "null")) return json_is_null(v);
    if (!strcmp(t, "object")) return json_is_object(v);
    if (!strcmp(t, "array")) return json_is_array(v);
    return false;
}

static bool value_allowed(const json_t *v, const json_t *type) {
    if (!type) return true;
    if (json_is_string(type)) return value_has_type(v, json_string_value(type));
    size_t i;
    json_t *t;
    json_array_foreach(type, i, t) if (json_is_string(t) && value_has_type(v, json_string_value(t))) return true;
    return false;
}

/* enum / const: the listed values that also have an allowed type; any other constraint beside
 * them is refused (whether each value meets it is not checked here). */
static bool enum_body(sch *c, const json_t *s, cirrus_buf *b) {
    static const char *const siblings[] = {"minLength", "maxLength", "format", "minimum", "maximum",
                                           "exclusiveMinimum", "exclusiveMaximum", "properties", "required",
                                           "additionalProperties", "items", "prefixItems", "minItems", "maxItems",
                                           "anyOf", "oneOf", "allOf", "$ref", NULL};
    for (const char *const *k = siblings; *k; k++)
        if (json_object_get(s, *k))
            return sch_fail(c, CIRRUS_ERR_UNSUPPORTED, "schema: keyword '%s' beside enum/const is not supported", *k);
    const json_t *type = json_object_get(s, "type"), *cst = json_object_get(s, "const"), *en = json_object_get(s, "enum");
    if (en && !json_is_array(en)) return sch_fail(c, CIRRUS_ERR_INVALID, "schema: 'enum' must be an array");
    size_t n = 0;
    cirrus_buf_adds(b, "( ");
    if (cst) {
        if (en) { /* both: the const, if the enum lists it */
            bool listed = false;
            size_t i;
            json_t *v;
            json_array_foreach(en, i, v) listed = listed || json_equal((json_t *)v, (json_t *)cst);
            if (!listed) return sch_fail(c, CIRRUS_ERR_INVALID, "schema: 'const' is not among the 'enum' values");
        }
        if (value_allowed(cst, type)) {
            if (!sch_json_lit(c, b, cst)) return false;
            n++;
        }
    } else {
        size_t i;
        json_t *v;
        json_array_foreach(en, i, v) {
            if (!value_allowed(v, type)) continue;
            if (n++) cirrus_buf_adds(b, " | ");
            if (!sch_json_lit(c, b, v)) return false;
        }
    }
    cirrus_buf_adds(b, " )");
    if (!n) return sch_fail(c, CIRRUS_ERR_INVALID, "schema: no value of the enum/const has an allowed type");
    return true;
}

/* anyOf / oneOf: alternatives. oneOf is compiled as anyOf: a grammar cannot enforce "exactly
 * one"; a value that matches two branches of a oneOf is then possible (the schema author's
 * branches are usually disjoint). */
static bool alt_body(sch *c, const json_t *s, const char *key, const char *hint, cirrus_buf *b) {
    static const char *const siblings[] = {"type", "properties", "required", "additionalProperties", "items",
                                           "prefixItems", "minItems", "maxItems", "minLength", "maxLength", "format",
                                           "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", NULL};
    for (const char *const *k = siblings; *k; k++)
        if (json_object_get(s, *k))
            return sch_fail(c, CIRRUS_ERR_UNSUPPORTED, "schema: keyword '%s' beside '%s' is not supported", *k, key);
    const json_t *l = json_object_get(s, key);
    if (!json_is_array(l) || json_array_size(l) == 0)
        return sch_fail(c, CIRRUS_ERR_INVALID, "schema: '%s' must be a non-empty array", key);
    cirrus_buf_adds(b, "( ");
    size_t i;
    json_t *v;
    json_array_foreach(l, i, v) {
        char h[MAX_NAME + 32];
        snprintf(h, sizeof h, "%.*s-%zu", MAX_NAME - 8, hint, i);
        const char *r = sch_sub_rule(c, v, key, NULL, (long)i, h);
        if (!r) return false;
        cirrus_buf_addf(b, "%s%s", i ? " | " : "", r);
    }
    cirrus_buf_adds(b, " )");
    return true;
}

static bool body(sch *c, const json_t *s, const char *hint, cirrus_buf *b) {
    if (json_is_true(s)) return cirrus_buf_adds(b, sch_prim_name(c, P_VALUE)), true;
    if (json_is_false(s)) return sch_fail(c, CIRRUS_ERR_UNSUPPORTED, "schema: 'false' matches no value");
    if (!json_is_object(s)) return sch_fail(c, CIRRUS_ERR_INVALID, "schema: a schema must be an object or a boolean");
    if (!check_keywords(c, s)) return false;
    const json_t *ref = json_object_get(s, "$ref");
    if (ref) {
        if (!json_is_string(ref)) return sch_fail(c, CIRRUS_ERR_INVALID, "schema: '$ref' must be a string");
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)s, k, v) if (strcmp(k, "$ref") && in_list(known, k)) return sch_fail(
            c, CIRRUS_ERR_UNSUPPORTED, "schema: keyword '%s' beside '$ref' is not supported", k);
        const char *r = ref_rule(c, json_string_value(ref));
        return r && (cirrus_buf_adds(b, r), true);
    }
    const json_t *all = json_object_get(s, "allOf");
    if (all) {
        if (!json_is_array(all) || json_array_size(all) != 1 || json_object_size(s) > 1 + (json_object_get(s, "description") != NULL))
            return sch_fail(c, CIRRUS_ERR_UNSUPPORTED, "schema: keyword 'allOf' is supported only with one schema "
                            "and nothing beside it");
        const char *r = sch_sub_rule(c, json_array_get(all, 0), "allOf", NULL, 0, hint);
        return r && (cirrus_buf_adds(b, r), true);
    }
    if (json_object_get(s, "enum") || json_object_get(s, "const")) return enum_body(c, s, b);
    if (json_object_get(s, "anyOf")) {
        if (json_object_get(s, "oneOf"))
            return sch_fail(c, CIRRUS_ERR_UNSUPPORTED, "schema: keyword 'oneOf' beside 'anyOf' is not supported");
        return alt_body(c, s, "anyOf", hint, b);
    }
    if (json_object_get(s, "oneOf")) return alt_body(c, s, "oneOf", hint, b);

    const json_t *type = json_object_get(s, "type");
    if (!type) { /* no type: the one the keywords present imply, or any value */
        static const char *const obj[] = {"properties", "required", "additionalProperties", NULL};
        static const char *const arr[] = {"items", "prefixItems", "minItems", "maxItems", "additionalItems", NULL};
        static const char *const str[] = {"minLength", "maxLength", "format", NULL};
        static const char *const num[] = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", NULL};
        const char *implied = NULL;
        for (const char *const *k = obj; *k && !implied; k++) if (json_object_get(s, *k)) implied = "object";
        for (const char *const *k = arr; *k && !implied; k++) if (json_object_get(s, *k)) implied = "array";
        for (const char *const *k = str; *k && !implied; k++) if (json_object_get(s, *k)) implied = "string";
        for (const char *const *k = num; *k && !implied; k++) if (json_object_get(s, *k)) implied = "number";
        if (!implied) return cirrus_buf_adds(b, sch_prim_name(c, P_VALUE)), true;
        return type_body(c, s, implied, hint, b);
    }
    if (json_is_string(type)) return type_body(c, s, json_string_value(type), hint, b);
    if (!json_is_array(type) || json_array_size(type) == 0)
        return sch_fail(c, CIRRUS_ERR_INVALID, "schema: 'type' must be a string or a non-empty array of strings");
    cirrus_buf_adds(b, "( ");
    size_t i;
    json_t *t;
    json_array_foreach(type, i, t) {
        if (!json_is_string(t)) return sch_fail(c, CIRRUS_ERR_INVALID, "schema: 'type' lists a non-string");
        char h[MAX_NAME + 32];
        snprintf(h, sizeof h, "%.*s-%s", MAX_NAME - 8, hint, json_string_value(t));
        cirrus_buf alt;
        cirrus_buf_init(&alt, GRM_MAX_TEXT);
        bool ok = type_body(c, s, json_string_value(t), h, &alt);
        const char *r = ok && !alt.fail ? sch_add_rule(c, h, cirrus_buf_str(&alt)) : NULL;
        cirrus_buf_free(&alt);
        if (!r) return sch_fail(c, CIRRUS_ERR_RANGE, "schema: the grammar would exceed %u bytes", GRM_MAX_TEXT);
        cirrus_buf_addf(b, "%s%s", i ? " | " : "", r);
    }
    cirrus_buf_adds(b, " )");
    return true;
}

/* ---- entry points ---------------------------------------------------------------------------------- */

void grm_schema_opts_default(grm_schema_opts *o) {
    o->ws_indent = 20;
    o->additional_default = true;
}

static void sch_init(sch *c, const json_t *doc, const grm_schema_opts *o, cirrus_err *err) {
    memset(c, 0, sizeof *c);
    c->doc = doc;
    if (o) c->o = *o;
    else grm_schema_opts_default(&c->o);
    if (c->o.ws_indent > 64) c->o.ws_indent = 64;
    c->err = err;
    cirrus_buf_init(&c->rules, GRM_MAX_TEXT);
    cirrus_map_init(&c->by_body, &cirrus_map_str, GRM_MAX_RULES);
    cirrus_map_init(&c->names, &cirrus_map_str, GRM_MAX_RULES);
    cirrus_map_init(&c->by_ref, &cirrus_map_str, GRM_MAX_RULES);
    cirrus_arena_init(&c->arena, (size_t)64 << 20);
    /* the shared rules' names are taken */
    for (int p = 0; p < P_COUNT; p++) cirrus_map_put(&c->names, sch_prim_label((sch_prim)p), (void *)sch_prim_label((sch_prim)p), NULL);
}

static cirrus_status sch_finish(sch *c, const char *top, char **gbnf) {
    if (!c->st && top) {
        cirrus_buf_addf(&c->rules, "root ::= %s\n", top);
        sch_emit_prims(c);
        if (c->rules.fail) c->st = cirrus_errf(c->err, CIRRUS_ERR_RANGE, "schema: the grammar would exceed %u bytes", GRM_MAX_TEXT);
        else if (!(*gbnf = cirrus_buf_take(&c->rules, NULL))) c->st = cirrus_errf(c->err, CIRRUS_ERR_NOMEM, "schema: out of memory");
    }
    cirrus_buf_free(&c->rules);
    cirrus_map_free(&c->by_body);
    cirrus_map_free(&c->names);
    cirrus_map_free(&c->by_ref);
    cirrus_arena_free(&c->arena);
    return c->st;
}

cirrus_status grm_schema_to_gbnf(const json_t *schema, const grm_schema_opts *o, char **gbnf, cirrus_err *err) {
    *gbnf = NULL;
    if (!schema) return cirrus_errf(err, CIRRUS_ERR_INVALID, "schema: missing");
    sch c;
    sch_init(&c, schema, o, err);
    const char *top = rule_for(&c, schema, "root");
    return sch_finish(&c, top, gbnf);
}

cirrus_status grm_schema_text_to_gbnf(const char *text, size_t len, const grm_schema_opts *o, char **gbnf,
                                      cirrus_err *err) {
    *gbnf = NULL;
    json_error_t je;
    json_t *doc = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "schema: invalid JSON at line %d column %d: %s", je.line, je.column,
                           je.text);
    cirrus_status st = grm_schema_to_gbnf(doc, o, gbnf, err);
    json_decref(doc);
    return st;
}

cirrus_status grm_json_object_gbnf(const grm_schema_opts *o, char **gbnf, cirrus_err *err) {
    *gbnf = NULL;
    sch c;
    sch_init(&c, NULL, o, err);
    return sch_finish(&c, sch_prim_name(&c, P_OBJECT), gbnf);
}
