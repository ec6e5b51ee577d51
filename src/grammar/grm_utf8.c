/*
 * UTF-8 for the grammar: strict decoding of the grammar text, encoding, and the byte-level form of
 * a range of scalar values, which is what lets character classes live in a byte automaton (and so
 * lets a token end in the middle of a character).
 *
 * A range [lo, hi] of scalars of one encoded length is split until each piece is a product of
 * byte ranges: for every continuation position either the two ends agree on the bytes before it,
 * or the piece covers that position's whole 0x80..0xBF. E.g. U+0080..U+07FF is [C2-DF][80-BF],
 * while U+0100..U+0234 becomes [C4-C7][80-BF] | [C8][80-B4].
 */
#include "grammar/grm_internal.h"

int grm_utf8_encode(uint32_t cp, uint8_t out[4]) {
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | cp >> 6);
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | cp >> 12);
        out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | cp >> 18);
    out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

int grm_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp) {
    if (n == 0) return 0;
    uint8_t c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (len == 0 || c > 0xF4 || (size_t)len > n) return 0;
    uint32_t v = c & (0x7F >> len);
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3F);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

static void split(uint32_t a, uint32_t b, int len, grm_utf8_emit emit, void *ctx) {
    for (int i = 1; i < len; i++) {
        uint32_t m = (1u << (6 * i)) - 1;
        if ((a & ~m) == (b & ~m)) continue;
        if (a & m) {
            split(a, a | m, len, emit, ctx);
            split((a | m) + 1, b, len, emit, ctx);
            return;
        }
        if ((b & m) != m) {
            split(a, (b & ~m) - 1, len, emit, ctx);
            split(b & ~m, b, len, emit, ctx);
            return;
        }
    }
    uint8_t ea[4], eb[4], seq[4][2];
    grm_utf8_encode(a, ea);
    grm_utf8_encode(b, eb);
    for (int k = 0; k < len; k++) seq[k][0] = ea[k], seq[k][1] = eb[k];
    emit(ctx, (const uint8_t(*)[2])seq, len);
}

void grm_utf8_ranges(uint32_t lo, uint32_t hi, grm_utf8_emit emit, void *ctx) {
    static const uint32_t first[4] = {0, 0x80, 0x800, 0x10000}, last[4] = {0x7F, 0x7FF, 0xFFFF, 0x10FFFF};
    for (int len = 1; len <= 4; len++) {
        uint32_t a = lo > first[len - 1] ? lo : first[len - 1], b = hi < last[len - 1] ? hi : last[len - 1];
        if (a <= b) split(a, b, len, emit, ctx);
    }
}
