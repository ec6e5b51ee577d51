/*
 * UTF-8 and the GPT-2 byte <-> unicode table, with llama.cpp's exact conventions (the test vectors
 * depend on them): an invalid byte becomes U+FFFD and decoding goes on at the next byte.
 */
#include "tokenizer/tok_impl.h"

uint32_t tok_utf8_next(const char *str, size_t len, size_t *off) {
    const unsigned char *s = (const unsigned char *)str + *off;
    size_t left = len - *off;
    uint32_t c = s[0];
    if (!(c & 0x80)) {
        *off += 1;
        return c;
    }
    /* Like llama.cpp, the lead byte says how many continuation bytes to check; overlong forms
     * are accepted (and re-encoded shortest later), a stray continuation byte is invalid. */
    if ((c & 0x40) && !(c & 0x20)) {
        if (left >= 2 && (s[1] & 0xc0) == 0x80) {
            *off += 2;
            return ((c & 0x1f) << 6) | (s[1] & 0x3f);
        }
    } else if ((c & 0x40) && !(c & 0x10)) {
        if (left >= 3 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80) {
            *off += 3;
            return ((c & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
        }
    } else if ((c & 0x40) && !(c & 0x08)) {
        if (left >= 4 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80) {
            uint32_t r = ((c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3f) << 12) |
                         ((uint32_t)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
            /* llama.cpp would throw re-encoding a code point past U+10FFFF; we call it invalid. */
            if (r <= 0x10ffff) {
                *off += 4;
                return r;
            }
        }
    }
    *off += 1;
    return 0xfffd;
}

int tok_utf8_put(uint32_t c, char *out) {
    unsigned char *o = (unsigned char *)out;
    if (c < 0x80) {
        o[0] = (unsigned char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (unsigned char)(0xc0 | (c >> 6));
        o[1] = (unsigned char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (unsigned char)(0xe0 | (c >> 12));
        o[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
        o[2] = (unsigned char)(0x80 | (c & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | ((c >> 18) & 0x07));
    o[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
    o[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
    o[3] = (unsigned char)(0x80 | (c & 0x3f));
    return 4;
}

bool tok_is_whitespace(uint32_t c) {
    if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0d);
    switch (c) {
    case 0x85: case 0xa0: case 0x1680: case 0x2028: case 0x2029: case 0x202f: case 0x205f:
    case 0x3000:
        return true;
    default:
        return c >= 0x2000 && c <= 0x200a;
    }
}

/* Bytes that GPT-2 keeps as their own code point: printable Latin-1 except space and soft hyphen. */
static bool byte_is_self(unsigned b) {
    return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
}

uint32_t tok_byte_to_cpt(uint8_t b) {
    /* The others are numbered from 256 in byte order: 0x00-0x20, 0x7f-0xa0, 0xad. */
    if (byte_is_self(b)) return b;
    if (b <= 0x20) return 256u + b;
    if (b <= 0xa0) return 256u + 33 + (b - 0x7fu);
    return 256u + 67; /* 0xad */
}

int tok_cpt_to_byte(uint32_t c) {
    if (c < 256) return byte_is_self(c) ? (int)c : -1;
    if (c < 256 + 33) return (int)(c - 256);
    if (c < 256 + 67) return (int)(0x7f + (c - 256 - 33));
    if (c == 256 + 67) return 0xad;
    return -1;
}
