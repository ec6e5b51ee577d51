/*
 * Ids back to bytes: per-token pieces (llama.cpp's token_to_piece, computed once at load) and a
 * streaming decoder that only ever emits whole, valid UTF-8 characters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_impl.h"

typedef struct {
    char *p;
    size_t n, cap;
} buf;

static bool buf_put(buf *b, const void *s, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + n) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return false;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return true;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* One token's piece, rendered with special tokens shown (tok_piece hides them itself). */
static bool render(const tok_vocab *v, int32_t id, buf *b, bool *bad_byte) {
    const char *t = tok_strtab_str(&v->strs, id);
    size_t n = v->strs.len[id];
    uint16_t a = v->attr[id];
    if (a & (TOK_ATTR_UNKNOWN | TOK_ATTR_CONTROL | TOK_ATTR_USER_DEFINED)) return buf_put(b, t, n);
    if (a & TOK_ATTR_NORMAL) {
        if (v->kind == TOK_KIND_SPM) { /* U+2581 stands for a space */
            for (size_t i = 0; i < n; i++) {
                if (i + 3 <= n && !memcmp(t + i, "\xe2\x96\x81", 3)) {
                    if (!buf_put(b, " ", 1)) return false;
                    i += 2;
                } else if (!buf_put(b, t + i, 1)) {
                    return false;
                }
            }
            return true;
        }
        /* BPE: each code point stands for one byte; one that stands for none is written the way
         * llama.cpp writes it, so output matches byte for byte. */
        for (size_t off = 0; off < n;) {
            uint32_t c = tok_utf8_next(t, n, &off);
            int byte = tok_cpt_to_byte(c);
            if (byte >= 0) {
                unsigned char u = (unsigned char)byte;
                if (!buf_put(b, &u, 1)) return false;
                continue;
            }
            char tmp[64];
            if (!buf_put(b, "[UNK_BYTE_0x", 12)) return false;
            char enc[4];
            int k = tok_utf8_put(c, enc);
            for (int j = 0; j < k; j++) {
                snprintf(tmp, sizeof tmp, "%02x", (unsigned char)enc[j]);
                if (!buf_put(b, tmp, 2)) return false;
            }
            if (!buf_put(b, t, n) || !buf_put(b, "]", 1)) return false;
        }
        return true;
    }
    if (a & TOK_ATTR_BYTE) { /* "<0xNN>": the hex digits at 3..4, as llama.cpp's strtol reads them */
        if (n < 4 || hexval(t[3]) < 0) {
            *bad_byte = true;
            return true;
        }
        int val = hexval(t[3]);
        if (n >= 5 && hexval(t[4]) >= 0) val = val * 16 + hexval(t[4]);
        unsigned char u = (unsigned char)val;
        return buf_put(b, &u, 1);
    }
    return true; /* unused or undefined: renders as nothing */
}

cirrus_status tok_build_pieces(tok_vocab *v, cirrus_err *err) {
    buf b = {0};
    v->piece_off = malloc(((size_t)v->n_vocab + 1) * sizeof *v->piece_off);
    if (!v->piece_off) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
    bool bad = false;
    for (int32_t id = 0; id < v->n_vocab; id++) {
        if (b.n > UINT32_MAX - (1u << 21)) {
            free(b.p);
            return cirrus_errf(err, CIRRUS_ERR_RANGE, "tokenizer.ggml.tokens: pieces exceed 4 GiB");
        }
        v->piece_off[id] = (uint32_t)b.n;
        size_t before = b.n;
        if (!render(v, id, &b, &bad)) {
            free(b.p);
            return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
        }
        if (bad) {
            free(b.p);
            return cirrus_errf(err, CIRRUS_ERR_FORMAT, "tokenizer.ggml.tokens[%d]: byte token '%.32s' is not <0xNN>",
                               id, tok_strtab_str(&v->strs, id));
        }
        if (b.n - before > v->max_piece) v->max_piece = b.n - before;
    }
    v->piece_off[v->n_vocab] = (uint32_t)b.n;
    v->piece_blob = b.p ? b.p : malloc(1);
    return v->piece_blob ? CIRRUS_OK : cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
}

size_t tok_piece(const tok_vocab *v, int32_t id, bool render_special, char *out, size_t cap) {
    if (id < 0 || id >= v->n_vocab) return 0;
    if (!render_special && (v->attr[id] & (TOK_ATTR_UNKNOWN | TOK_ATTR_CONTROL))) return 0;
    size_t n = v->piece_off[id + 1] - v->piece_off[id];
    if (out && cap) memcpy(out, v->piece_blob + v->piece_off[id], n < cap ? n : cap);
    return n;
}

size_t tok_max_piece(const tok_vocab *v) { return v->max_piece; }

/* ---- streaming ------------------------------------------------------------------------------ */

void tok_stream_init(tok_stream *s) {
    memset(s, 0, sizeof *s);
    s->at_start = true;
}

/* Length of the complete, valid UTF-8 sequence at p (strict: no overlongs, surrogates or values
 * past U+10FFFF); 0 if p[0..n) is a valid but unfinished prefix; -k if the first k bytes are an
 * invalid sequence (its maximal valid-looking prefix, which becomes one U+FFFD). */
static int utf8_seq(const unsigned char *p, size_t n) {
    unsigned c = p[0];
    int need;
    unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) need = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else {
        return -1;
    }
    for (int i = 1; i < need; i++) {
        if ((size_t)i >= n) return 0;
        unsigned lo_i = i == 1 ? lo : 0x80, hi_i = i == 1 ? hi : 0xbf;
        if (p[i] < lo_i || p[i] > hi_i) return -i;
    }
    return need;
}

typedef struct {
    char *out;
    size_t cap, n;
} sink;

/* Writes all of s or nothing, so a short buffer never receives half a character. */
static void emit(sink *k, const void *s, size_t n) {
    if (k->n + n > k->cap) {
        k->cap = k->n; /* full: drop this and everything after it */
        return;
    }
    memcpy(k->out + k->n, s, n);
    k->n += n;
}

size_t tok_stream_push(const tok_vocab *v, tok_stream *s, int32_t id, bool render_special, char *out,
                       size_t cap) {
    if (id < 0 || id >= v->n_vocab) return 0;
    if (!render_special && (v->attr[id] & (TOK_ATTR_UNKNOWN | TOK_ATTR_CONTROL))) return 0;
    const unsigned char *piece = (const unsigned char *)v->piece_blob + v->piece_off[id];
    size_t n = v->piece_off[id + 1] - v->piece_off[id];
    if (n == 0) return 0;
    /* The space SPM put before the whole text is not part of it (only the first piece's). */
    if (s->at_start && v->kind == TOK_KIND_SPM && v->add_space_prefix && s->n_pending == 0 && piece[0] == ' ') {
        piece++;
        n--;
    }
    s->at_start = false;
    sink k = {out, cap, 0};
    /* Work on pending + piece; a valid character is copied, an invalid byte becomes U+FFFD, an
     * unfinished character at the very end waits in pending for the next token. */
    unsigned char pend[8];
    size_t np = (size_t)s->n_pending;
    memcpy(pend, s->pending, np);
    size_t total = np + n, i = 0;
    while (i < total) {
        unsigned char w[4];
        size_t avail = 0;
        for (; avail < 4 && i + avail < total; avail++) {
            size_t j = i + avail;
            w[avail] = j < np ? pend[j] : piece[j - np];
        }
        int l = utf8_seq(w, avail);
        if (l == 0) { /* unfinished: keep for later */
            for (size_t j = 0; j < avail; j++) s->pending[j] = (char)w[j];
            s->n_pending = (int)avail;
            return k.n;
        }
        if (l < 0) {
            emit(&k, "\xef\xbf\xbd", 3);
            i += (size_t)-l;
            continue;
        }
        emit(&k, w, (size_t)l);
        i += (size_t)l;
    }
    s->n_pending = 0;
    return k.n;
}

size_t tok_stream_flush(tok_stream *s, char *out, size_t cap) {
    size_t n = 0;
    if (s->n_pending > 0 && cap >= 3) {
        memcpy(out, "\xef\xbf\xbd", 3);
        n = 3;
    }
    s->n_pending = 0;
    return n;
}
