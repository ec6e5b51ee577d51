/*
 * libFuzzer target for the tokenizer: any bytes as user text through tok_encode, then back through
 * tok_piece and the streaming detokenizer. Checked: encoding never fails below the size limit,
 * every id is inside the vocabulary, BOS comes first when asked for, pieces concatenate back to the
 * text when it is valid UTF-8 (SPM may add its one leading space; bytes the vocabulary has no
 * token for aside), and the stream emits only valid UTF-8, never more than its buffer, and the
 * text itself when the pieces gave it back.
 *
 * The first input byte picks the vocabulary (fuzz_vocab.h: SPM and several BPE pre-tokenizers) and
 * the flags (add_special, parse_special); the rest is the text.
 *
 *     CC=clang cmake -S . -B build-fuzz -DCIRRUS_FUZZ=ON && cmake --build build-fuzz --target fuzz_tokenizer
 *     ./build-fuzz/fuzz_tokenizer -max_total_time=60 fuzz/corpus/tokenizer
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_vocab.h"

#define MAX_VOCABS 8

static tok_vocab *g_vocabs[MAX_VOCABS];
static size_t g_n_vocabs;
/* ASCII bytes a vocabulary has no token for (falcon lacks some control bytes): BPE drops them, as
 * llama.cpp does, so a text holding one cannot come back whole. */
static bool g_drops[MAX_VOCABS][128];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    g_n_vocabs = fuzz_vocabs_load(g_vocabs, MAX_VOCABS);
    for (size_t i = 0; i < g_n_vocabs; i++)
        for (int b = 0; b < 128; b++) {
            char c = (char)b, out[64];
            int32_t *ids = NULL;
            size_t n = 0, k = 0;
            cirrus_err err;
            if (tok_encode(g_vocabs[i], &c, 1, false, false, &ids, &n, &err) != CIRRUS_OK) abort();
            for (size_t j = 0; j < n && k < sizeof out; j++)
                k += tok_piece(g_vocabs[i], ids[j], false, out + k, sizeof out - k);
            g_drops[i][b] = !memchr(out, c, k < sizeof out ? k : sizeof out);
            free(ids);
        }
    return 0;
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static bool utf8_valid(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t need = c < 0x80                 ? 1
                      : c >= 0xc2 && c <= 0xdf ? 2
                      : c >= 0xe0 && c <= 0xef ? 3
                      : c >= 0xf0 && c <= 0xf4 ? 4
                                               : 0;
        if (!need || i + need > n) return false;
        unsigned lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80, hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
        for (size_t k = 1; k < need; k++, lo = 0x80, hi = 0xbf)
            if (s[i + k] < lo || s[i + k] > hi) return false;
        i += need;
    }
    return true;
}

static void fail(const char *what, size_t len) {
    fprintf(stderr, "fuzz_tokenizer: %s (text of %zu bytes)\n", what, len);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t vi = (data[0] & 0x0f) % g_n_vocabs;
    const tok_vocab *v = g_vocabs[vi];
    bool add_special = data[0] & 0x10, parse_special = data[0] & 0x20;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    int32_t *ids = NULL;
    size_t n = 0;
    cirrus_err err = {{0}};
    if (tok_encode(v, text, len, add_special, parse_special, &ids, &n, &err) != CIRRUS_OK) {
        fprintf(stderr, "tok_encode: %s\n", err.msg);
        fail("encoding failed", len);
    }
    int32_t nv = tok_n_vocab(v);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= nv || !tok_text(v, ids[i])) fail("id out of the vocabulary", len);
    if (add_special && tok_add_bos(v) && tok_bos(v) >= 0 && (n == 0 || ids[0] != tok_bos(v))) fail("BOS missing", len);

    /* Pieces without specials: control tokens (BOS/EOS, or parsed ones) render as nothing, so
     * without parse_special the concatenation must be the text. Only valid UTF-8 comes back as is,
     * in step with llama.cpp's ids: BPE reads invalid UTF-8 as U+FFFD (unicode_cpts_from_utf8), and
     * SPM cuts symbols by lead byte, so a bad lead byte can take the next space's U+2581 into a
     * byte-fallback symbol, which then renders as U+2581. */
    bool whole = utf8_valid(data + 1, len); /* the text can come back as it is */
    for (size_t i = 0; i < len && whole; i++) whole = data[1 + i] >= 128 || !g_drops[vi][data[1 + i]];
    size_t total = 0, k = 0;
    for (size_t i = 0; i < n; i++) total += tok_piece(v, ids[i], false, NULL, 0);
    char *dec = malloc(total + 1);
    if (!dec) {
        free(ids);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        size_t need = tok_piece(v, ids[i], false, NULL, 0);
        if (tok_piece(v, ids[i], false, dec + k, need) != need) fail("tok_piece length changed", len);
        k += need;
    }
    if (!parse_special && whole) {
        bool same = k == len && !memcmp(dec, text, len);
        bool spm_space =
            tok_get_kind(v) == TOK_KIND_SPM && k == len + 1 && dec[0] == ' ' && !memcmp(dec + 1, text, len);
        if (!same && !spm_space) fail("pieces do not give the text back", len);
    }

    /* Each push gets the room the header promises is enough; the whole output is at most three
     * bytes (U+FFFD) per piece byte. */
    size_t scap = 3 * (tok_max_piece(v) + 4), out_cap = 3 * total + scap + 3, m = 0;
    char *out = malloc(out_cap);
    if (out) {
        tok_stream s;
        tok_stream_init(&s);
        for (size_t i = 0; i < n; i++) {
            size_t w = tok_stream_push(v, &s, ids[i], false, out + m, scap);
            if (w > scap) fail("stream wrote past its buffer", len);
            m += w;
        }
        m += tok_stream_flush(&s, out + m, 3);
        if (!utf8_valid((const unsigned char *)out, m)) fail("stream emitted invalid UTF-8", len);
        if (!parse_special && whole && (m != len || memcmp(out, text, len)))
            fail("stream does not give the valid UTF-8 text back", len);
        free(out);
    }
    free(dec);
    free(ids);
    return 0;
}
