/* The bounded JSON writer used for every response body. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"

/* ---- JSON writer ------------------------------------------------------------------------------
 * The bytes live in core's bounded buffer: its first failed growth (past max, or out of memory)
 * is sticky, so every later call is a no-op and a writer of many pieces checks once at the end. */

void jw_init(jw *w, size_t max) {
    memset(w, 0, sizeof *w);
    cirrus_buf_init(&w->b, max);
}

void jw_free(jw *w) { cirrus_buf_free(&w->b); }

void jw_reset(jw *w) {
    cirrus_buf_reset(&w->b);
    w->depth = 0;
    w->after_key = false;
}

void jw_raw(jw *w, const char *s, size_t n) { cirrus_buf_add(&w->b, s, n); }

char *jw_extend(jw *w, size_t n) { return cirrus_buf_extend(&w->b, n); }

/* Separator before a value or a key at the current nesting level. */
static void sep(jw *w) {
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth > 0) {
        if (!w->first[w->depth - 1]) jw_raw(w, ",", 1);
        w->first[w->depth - 1] = false;
    }
}

static void open(jw *w, char c) {
    sep(w);
    jw_raw(w, &c, 1);
    if (w->depth == JW_DEPTH) { /* deeper than the nesting state holds: fail like a full buffer */
        if (!w->b.fail) w->b.fail = CIRRUS_ERR_FULL;
        return;
    }
    w->first[w->depth++] = true;
}

static void close_(jw *w, char c) {
    if (w->depth > 0) w->depth--;
    jw_raw(w, &c, 1);
}

void jw_obj(jw *w) { open(w, '{'); }
void jw_obj_end(jw *w) { close_(w, '}'); }
void jw_arr(jw *w) { open(w, '['); }
void jw_arr_end(jw *w) { close_(w, ']'); }

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if the bytes there do not start one
 * (overlongs, surrogates and code points past U+10FFFF included). */
static size_t utf8_seq(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    return len;
}

void jw_str_body(jw *w, const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t run = i; /* copy runs of bytes that need no escaping in one go */
        while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\') run++;
        if (run > i) {
            jw_raw(w, s + i, run - i);
            i = run;
            continue;
        }
        unsigned c = p[i];
        char esc[8];
        if (c == '"') jw_raw(w, "\\\"", 2);
        else if (c == '\\') jw_raw(w, "\\\\", 2);
        else if (c == '\n') jw_raw(w, "\\n", 2);
        else if (c == '\r') jw_raw(w, "\\r", 2);
        else if (c == '\t') jw_raw(w, "\\t", 2);
        else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            jw_raw(w, esc, 6);
        } else {
            size_t l = utf8_seq(p + i, n - i);
            if (l == 0) {
                jw_raw(w, "\\ufffd", 6);
                i++;
                continue;
            }
            jw_raw(w, s + i, l);
            i += l;
            continue;
        }
        i++;
    }
}

void jw_key(jw *w, const char *k) {
    sep(w);
    jw_raw(w, "\"", 1);
    jw_str_body(w, k, strlen(k));
    jw_raw(w, "\":", 2);
    w->after_key = true;
}

void jw_str(jw *w, const char *s, size_t n) {
    sep(w);
    jw_raw(w, "\"", 1);
    jw_str_body(w, s, n);
    jw_raw(w, "\"", 1);
}

void jw_cstr(jw *w, const char *s) {
    if (!s) jw_null(w);
    else jw_str(w, s, strlen(s));
}

void jw_int(jw *w, int64_t v) {
    char b[32];
    int n = snprintf(b, sizeof b, "%lld", (long long)v);
    sep(w);
    jw_raw(w, b, (size_t)n);
}

void jw_num(jw *w, double v) {
    char b[48];
    if (!isfinite(v)) v = -9999.0;
    int n = snprintf(b, sizeof b, "%.9g", v);
    /* %g may print "1e-05" (valid JSON) but never "inf"/"nan" here */
    sep(w);
    jw_raw(w, b, (size_t)n);
}

void jw_bool(jw *w, bool v) {
    sep(w);
    jw_raw(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(jw *w) {
    sep(w);
    jw_raw(w, "null", 4);
}
