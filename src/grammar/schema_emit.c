/*
 * The grammar text a JSON Schema compiles to, piece by piece: literals, the shared JSON rules,
 * integer and number ranges, and string formats. Everything here generates only valid JSON, and
 * for each construct only values the schema accepts -- where a grammar cannot say exactly what a
 * keyword means, the compiler (json_schema.c) refuses the keyword instead of approximating it.
 *
 * Whitespace policy: after { [ , : and a key, and after every value (so before , } ]), one
 * space or a newline and at most ws_indent spaces or tabs; none at the start or end of the
 * document, so the grammar is complete the moment the last bracket closes. Numbers have at most
 * 16 integer and 16 fraction digits and a 2-digit exponent (so every number is a finite double): a bounded model cannot loop on digits
 * either.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "grammar/schema_internal.h"

void sch_lit(cirrus_buf *b, const char *s, size_t n) {
    cirrus_buf_addc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            cirrus_buf_addc(b, '\\');
            cirrus_buf_addc(b, (char)ch);
        } else if (ch == '\n') cirrus_buf_adds(b, "\\n");
        else if (ch == '\t') cirrus_buf_adds(b, "\\t");
        else if (ch == '\r') cirrus_buf_adds(b, "\\r");
        else if (ch < 0x20 || ch == 0x7f) cirrus_buf_addf(b, "\\x%02X", ch);
        else cirrus_buf_addc(b, (char)ch); /* UTF-8 goes through as is: the grammar text is UTF-8 */
    }
    cirrus_buf_addc(b, '"');
}

bool sch_json_lit(sch *c, cirrus_buf *b, const json_t *v) {
    char *txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    if (!txt) return sch_fail(c, CIRRUS_ERR_NOMEM, "schema: cannot serialize a value");
    sch_lit(b, txt, strlen(txt));
    free(txt);
    return true;
}

const char *sch_ws(sch *c) {
    if (c->o.ws_indent < 0) return "";
    c->need[P_WS] = true;
    return " ws";
}

static const char *prim_names[P_COUNT] = {"ws", "char", "string", "integer", "number", "boolean",
                                          "null", "value", "object", "array"};

const char *sch_prim_label(sch_prim p) { return prim_names[p]; }

const char *sch_prim_name(sch *c, sch_prim p) {
    c->need[p] = true;
    /* what each one refers to */
    if (p == P_STRING) c->need[P_CHAR] = true;
    if (p == P_VALUE || p == P_OBJECT || p == P_ARRAY) {
        c->need[P_VALUE] = c->need[P_OBJECT] = c->need[P_ARRAY] = c->need[P_STRING] = c->need[P_CHAR] = true;
        c->need[P_NUMBER] = c->need[P_BOOLEAN] = c->need[P_NULL] = true;
        sch_ws(c);
    }
    return prim_names[p];
}

void sch_emit_prims(sch *c) {
    cirrus_buf *b = &c->rules;
    const char *ws = c->o.ws_indent < 0 ? "" : " ws";
    if (c->need[P_WS]) cirrus_buf_addf(b, "ws ::= ( \" \" | \"\\n\" [ \\t]{0,%d} )?\n", c->o.ws_indent);
    if (c->need[P_CHAR])
        cirrus_buf_adds(b, "char ::= [^\"\\\\\\x00-\\x1F] | \"\\\\\" ( [\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4} )\n");
    if (c->need[P_STRING]) cirrus_buf_adds(b, "string ::= \"\\\"\" char* \"\\\"\"\n");
    if (c->need[P_INTEGER]) cirrus_buf_adds(b, "integer ::= \"-\"? ( \"0\" | [1-9] [0-9]{0,15} )\n");
    if (c->need[P_NUMBER])
        cirrus_buf_adds(b, "number ::= \"-\"? ( \"0\" | [1-9] [0-9]{0,15} ) ( \".\" [0-9]{1,16} )? "
                           "( [eE] [-+]? [0-9]{1,2} )?\n");
    if (c->need[P_BOOLEAN]) cirrus_buf_adds(b, "boolean ::= \"true\" | \"false\"\n");
    if (c->need[P_NULL]) cirrus_buf_adds(b, "null ::= \"null\"\n");
    if (c->need[P_VALUE]) {
        cirrus_buf_adds(b, "value ::= object | array | string | number | boolean | null\n");
        cirrus_buf_addf(b, "object ::= \"{\"%s ( string%s \":\"%s value%s ( \",\"%s string%s \":\"%s value%s )* )? \"}\"\n",
                        ws, ws, ws, ws, ws, ws, ws, ws);
        cirrus_buf_addf(b, "array ::= \"[\"%s ( value%s ( \",\"%s value%s )* )? \"]\"\n", ws, ws, ws, ws);
    }
}

/* ---- integer ranges ------------------------------------------------------------------------------ */

/* Digit strings a <= b of the same length n (leading zeros allowed: they are inner positions). */
static void same_len(cirrus_buf *b, const char *lo, const char *hi, size_t n) {
    if (n == 0) return;
    if (!memcmp(lo, hi, n)) {
        cirrus_buf_addf(b, "\"%.*s\"", (int)n, lo);
        return;
    }
    if (lo[0] == hi[0]) {
        cirrus_buf_addf(b, "\"%c\" ", lo[0]);
        same_len(b, lo + 1, hi + 1, n - 1);
        return;
    }
    bool lo_zero = true, hi_nine = true;
    for (size_t i = 1; i < n; i++) lo_zero = lo_zero && lo[i] == '0', hi_nine = hi_nine && hi[i] == '9';
    char first_lo = lo_zero ? lo[0] : (char)(lo[0] + 1), first_hi = hi_nine ? hi[0] : (char)(hi[0] - 1);
    char nines[24], zeros[24];
    memset(nines, '9', n), memset(zeros, '0', n);
    bool any = false;
    cirrus_buf_adds(b, "( ");
    if (!lo_zero) {
        cirrus_buf_addf(b, "\"%c\" ", lo[0]);
        same_len(b, lo + 1, nines, n - 1);
        any = true;
    }
    if (first_lo <= first_hi) {
        if (any) cirrus_buf_adds(b, " | ");
        if (first_lo == first_hi) cirrus_buf_addf(b, "\"%c\"", first_lo);
        else cirrus_buf_addf(b, "[%c-%c]", first_lo, first_hi);
        if (n > 1) cirrus_buf_addf(b, " [0-9]{%zu}", n - 1);
        any = true;
    }
    if (!hi_nine) {
        if (any) cirrus_buf_adds(b, " | ");
        cirrus_buf_addf(b, "\"%c\" ", hi[0]);
        same_len(b, zeros, hi + 1, n - 1);
    }
    cirrus_buf_adds(b, " )");
}

#define OPEN_MAX 9999999999999999LL /* an open end: 16 digits, as the shared integer rule */

/* Magnitudes (no sign) in [a, b], 0 <= a <= b. */
static void mag_range(cirrus_buf *b, int64_t a, int64_t hi) {
    char la[24], lb[24];
    int da = snprintf(la, sizeof la, "%" PRId64, a), db = snprintf(lb, sizeof lb, "%" PRId64, hi);
    cirrus_buf_adds(b, "( ");
    for (int d = da; d <= db; d++) {
        char lo_s[24], hi_s[24];
        if (d == da) memcpy(lo_s, la, (size_t)d);
        else lo_s[0] = '1', memset(lo_s + 1, '0', (size_t)d - 1);
        if (d == db) memcpy(hi_s, lb, (size_t)d);
        else memset(hi_s, '9', (size_t)d);
        if (d > da) cirrus_buf_adds(b, " | ");
        same_len(b, lo_s, hi_s, (size_t)d);
    }
    cirrus_buf_adds(b, " )");
}

static int64_t open_hi(int64_t from) { return from > OPEN_MAX ? INT64_MAX : OPEN_MAX; }

/* Magnitudes for one sign: [a, b] or [a, open). */
static void mag(cirrus_buf *b, int64_t a, bool has_b, int64_t hi) { mag_range(b, a, has_b ? hi : open_hi(a)); }

void sch_int_range(cirrus_buf *b, bool has_lo, int64_t lo, bool has_hi, int64_t hi) {
    /* negative part: values [lo, min(hi, -1)] are "-" then magnitudes [max(1, -hi), -lo] */
    bool neg = !has_lo || lo < 0, pos = !has_hi || hi >= 0;
    cirrus_buf_adds(b, "( ");
    if (neg) {
        int64_t m_lo = has_hi && hi < 0 ? (hi == INT64_MIN ? INT64_MAX : -hi) : 1;
        cirrus_buf_adds(b, "\"-\" ");
        mag(b, m_lo, has_lo, lo == INT64_MIN ? INT64_MAX : -lo);
    }
    if (pos) {
        if (neg) cirrus_buf_adds(b, " | ");
        mag(b, has_lo && lo > 0 ? lo : 0, has_hi, hi);
    }
    cirrus_buf_adds(b, " )");
}

/*
 * One sign of a decimal range: magnitudes y in [a, b] (b open if !has_b). y = I.F: an integer part
 * in [a, b-1] takes any fraction (I + F < b), the integer part b only zeros (y = b exactly).
 */
static void num_mag(cirrus_buf *b, int64_t a, bool has_b, int64_t hi) {
    const char *frac = "( \".\" [0-9]{1,16} )?";
    if (!has_b) {
        mag(b, a, false, 0);
        cirrus_buf_addf(b, " %s", frac);
        return;
    }
    cirrus_buf_adds(b, "( ");
    if (hi > a) {
        mag_range(b, a, hi - 1);
        cirrus_buf_addf(b, " %s | ", frac);
    }
    cirrus_buf_addf(b, "\"%" PRId64 "\" ( \".\" \"0\"{1,16} )? )", hi);
}

void sch_num_range(cirrus_buf *b, bool has_lo, int64_t lo, bool has_hi, int64_t hi) {
    /* negative values -(y) with y in [max(0, -hi), -lo]; non-negative x in [max(0, lo), hi] */
    bool neg = !has_lo || lo < 0, pos = !has_hi || hi >= 0;
    cirrus_buf_adds(b, "( ");
    if (neg) {
        cirrus_buf_adds(b, "\"-\" ");
        num_mag(b, has_hi && hi < 0 ? -hi : 0, has_lo, -lo);
    }
    if (pos) {
        if (neg) cirrus_buf_adds(b, " | ");
        num_mag(b, has_lo && lo > 0 ? lo : 0, has_hi, hi);
    }
    cirrus_buf_adds(b, " )");
}

/* ---- formats --------------------------------------------------------------------------------------- */

/* Days by month, and 29 February only in leap years (divisible by 4, not by 100 unless by 400). */
#define DATE_BODY                                                                                             \
    "( [0-9]{4} \"-\" ( ( \"0\" [13578] | \"1\" [02] ) \"-\" ( \"0\" [1-9] | [12] [0-9] | \"3\" [01] )"      \
    " | ( \"0\" [469] | \"11\" ) \"-\" ( \"0\" [1-9] | [12] [0-9] | \"30\" )"                                  \
    " | \"02-\" ( \"0\" [1-9] | \"1\" [0-9] | \"2\" [0-8] ) )"                                                  \
    " | ( [0-9]{2} ( \"0\" [48] | [2468] [048] | [13579] [26] ) | ( [02468] [048] | [13579] [26] ) \"00\" )"    \
    " \"-02-29\" )"
#define TIME_BODY                                                                                             \
    "( [01] [0-9] | \"2\" [0-3] ) \":\" [0-5] [0-9] \":\" [0-5] [0-9] ( \".\" [0-9]{1,9} )?"                   \
    " ( \"Z\" | [+-] ( [01] [0-9] | \"2\" [0-3] ) \":\" [0-5] [0-9] )"

bool sch_format(cirrus_buf *b, const char *f) {
    if (!strcmp(f, "date")) cirrus_buf_adds(b, "\"\\\"\" " DATE_BODY " \"\\\"\"");
    else if (!strcmp(f, "time")) cirrus_buf_adds(b, "\"\\\"\" " TIME_BODY " \"\\\"\"");
    else if (!strcmp(f, "date-time")) cirrus_buf_adds(b, "\"\\\"\" " DATE_BODY " \"T\" " TIME_BODY " \"\\\"\"");
    else if (!strcmp(f, "uuid"))
        cirrus_buf_adds(b, "\"\\\"\" [0-9a-fA-F]{8} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" "
                           "[0-9a-fA-F]{12} \"\\\"\"");
    else return false;
    return true;
}
