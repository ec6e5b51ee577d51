/*
 * JSON Schema -> GBNF internals: the compiler's state (json_schema.c) and the pieces of grammar
 * text it is built from (schema_emit.c: literals, integer and number ranges, formats, the shared
 * JSON rules).
 */
#ifndef CIRRUS_GRM_SCHEMA_INTERNAL_H
#define CIRRUS_GRM_SCHEMA_INTERNAL_H

#include "grammar/grm_internal.h"

#define SCH_MAX_DEPTH 64       /* nesting of subschemas the walk follows */
#define SCH_MAX_PTR 512        /* bytes of JSON pointer kept for messages */

/* The shared rules, emitted once each at the end when used. */
typedef enum { P_WS, P_CHAR, P_STRING, P_INTEGER, P_NUMBER, P_BOOLEAN, P_NULL, P_VALUE, P_OBJECT, P_ARRAY, P_COUNT } sch_prim;

typedef struct {
    const json_t *doc;
    grm_schema_opts o;
    cirrus_buf rules;          /* `name ::= body` lines emitted so far */
    cirrus_map by_body;        /* body text -> rule name: equal subschemas share a rule */
    cirrus_map names;          /* rule names taken */
    cirrus_map by_ref;         /* $ref text -> rule name (named before its body: recursion) */
    cirrus_arena arena;        /* every string the maps hold */
    bool need[P_COUNT];
    char ptr[SCH_MAX_PTR];     /* JSON pointer of the subschema being compiled */
    size_t ptr_len;
    int depth;
    cirrus_err *err;
    cirrus_status st;          /* first error, sticky */
} sch;

/* Fails with a message that ends "at <pointer>" (sticky: the first error wins). Returns false. */
bool sch_fail(sch *c, cirrus_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The name of a shared rule (marks it needed). */
const char *sch_prim_name(sch *c, sch_prim p);
/* " ws" when the whitespace policy allows any, else "". */
const char *sch_ws(sch *c);

/* Rules (json_schema.c). add_rule: the rule for a body, shared with an equal body compiled
 * before; sub_rule: the rule of subschema s found under key (then name, then index i when >= 0)
 * of the current one; NULL on error. */
const char *sch_fresh_name(sch *c, const char *hint);
void sch_emit_rule(sch *c, const char *name, const char *body);
const char *sch_add_rule(sch *c, const char *hint, const char *body);
const char *sch_sub_rule(sch *c, const json_t *s, const char *key, const char *name, long i, const char *hint);
bool sch_get_count(sch *c, const json_t *s, const char *key, bool *has, int64_t *out);
/* Objects and arrays (schema_struct.c). */
bool sch_object_body(sch *c, const json_t *s, const char *hint, cirrus_buf *b);
bool sch_array_body(sch *c, const json_t *s, const char *hint, cirrus_buf *b);

/* A shared rule's name, not marking it needed. */
const char *sch_prim_label(sch_prim p);
/* A GBNF string literal of bytes s[0..n). */
void sch_lit(cirrus_buf *b, const char *s, size_t n);
/* A literal of a JSON value's compact serialization. false when jansson cannot serialize it. */
bool sch_json_lit(sch *c, cirrus_buf *b, const json_t *v);

/* Integers in [lo, hi]; has_lo / has_hi false for an open end (then at most 16 digits there). */
void sch_int_range(cirrus_buf *b, bool has_lo, int64_t lo, bool has_hi, int64_t hi);
/* Decimal numbers (no exponent) in [lo, hi] with integer bounds, same open-end convention. */
void sch_num_range(cirrus_buf *b, bool has_lo, int64_t lo, bool has_hi, int64_t hi);
/* The body of a string format ("date", "time", "date-time", "uuid"); false when unknown. */
bool sch_format(cirrus_buf *b, const char *format);
/* Appends the shared rules that were used, after the schema's own. */
void sch_emit_prims(sch *c);

#endif
