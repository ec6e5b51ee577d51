/* The bounded JSON writer used for every response body. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"

/* ---- JSON writer ------------------------------------------------------------------------------ */

void jw_init(jw *w, size_t max) {
    memset(w, 0, sizeof *w);
    w->max = max;
}

void jw_free(jw *w) {
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}

void jw_reset(jw *w) {
    w->len = 0;
    w->failed = false;
    w->depth = 0;
    w->after_key = false;
    if (w->buf) w->buf[0] = 0;
}

static bool reserve(jw *w, size_t n) {
    if (w->failed) return false;
    if (n > w->max || w->len > w->max - n) {
        w->failed = true;
        return false;
    }
    if (w->len + n + 1 <= w->cap) return true;
    size_t cap = w->cap ? w->cap : 512;
    while (cap < w->len + n + 1) cap *= 2;
    if (cap > w->max + 1) cap = w->max + 1;
    char *b = realloc(w->buf, cap);
    if (!b) {
        w->failed = true;
        return false;
    }
    w->buf = b;
    w->cap = cap;
    return true;
}

void jw_raw(jw *w, const char *s, size_t n) {
    if (!reserve(w, n)) return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = 0;
}

char *jw_extend(jw *w, size_t n) {
    if (!reserve(w, n)) return NULL;
    char *p = w->buf + w->len;
    w->len += n;
    w->buf[w->len] = 0;
    return p;
}

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
    if (w->depth == JW_DEPTH) {
        w->failed = true;
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
