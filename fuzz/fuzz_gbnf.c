/*
 * libFuzzer target for the GBNF parser and compiler (src/grammar): any text through grm_compile.
 * Checked, beyond no crash / leak / UB: a grammar that compiles yields random sentences that a
 * fresh matcher accepts as complete, the input's own bytes step the matcher without harm, and
 * for a few steps the token mask over a small byte-and-pair vocabulary equals the per-token brute
 * force. A refused grammar has a message.
 *
 *     CC=clang cmake -S . -B build-fuzz -DCIRRUS_FUZZ=ON && cmake --build build-fuzz --target fuzz_gbnf
 *     ./build-fuzz/fuzz_gbnf -max_total_time=60 fuzz/corpus/gbnf
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grammar/grammar.h"

static grm_vocab *g_vocab; /* every byte, a few pairs, one EOG */

static void make_vocab(void) {
    static char pieces[256 + 64][2];
    static const char *ptr[256 + 64 + 1];
    static size_t lens[256 + 64 + 1];
    int n = 0;
    for (int b = 0; b < 256; b++, n++) pieces[n][0] = (char)b, ptr[n] = pieces[n], lens[n] = 1;
    const char *pairs = "abcdefghijklmnopqrstuvwxyz0123456789\"{}[],: \n\\-+.eE";
    for (int i = 0; pairs[i] && n < 256 + 64; i++, n++)
        pieces[n][0] = pairs[i], pieces[n][1] = pairs[(i * 7 + 3) % (int)strlen(pairs)], ptr[n] = pieces[n], lens[n] = 2;
    ptr[n] = "", lens[n] = 0; /* the EOG id */
    int32_t eog = n++;
    cirrus_err err;
    if (grm_vocab_from_pieces(n, ptr, lens, &eog, 1, &g_vocab, &err)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!g_vocab) make_vocab();
    grm_grammar *g = NULL;
    cirrus_err err = {{0}};
    if (grm_compile((const char *)data, size, NULL, g_vocab, &g, &err) != CIRRUS_OK) {
        if (!err.msg[0]) abort(); /* every refusal says why */
        return 0;
    }
    uint64_t seed = size ? data[0] : 0;
    for (int k = 0; k < 3; k++) {
        char *s = NULL;
        size_t n = 0;
        if (grm_sample(g, seed + (uint64_t)k, 48, 0.2, &s, &n, &err) != CIRRUS_OK) break; /* a matcher ceiling */
        grm_matcher *m = NULL;
        if (grm_matcher_new(g, &m, &err) == CIRRUS_OK) {
            if (!grm_matcher_accept_bytes(m, s, n) || !grm_matcher_is_complete(m)) abort(); /* a sample is a sentence */
            grm_matcher_free(m);
        }
        free(s);
    }
    grm_matcher *m = NULL;
    if (grm_matcher_new(g, &m, &err) == CIRRUS_OK) {
        grm_matcher_accept_bytes(m, data, size < 64 ? size : 64);
        int32_t nv = grm_vocab_n(g_vocab);
        uint64_t bits[(256 + 64 + 1 + 63) / 64];
        for (int step = 0; step < 4; step++) {
            if (grm_matcher_fill_mask(m, bits) != CIRRUS_OK) break;
            int32_t pick = -1;
            for (int32_t id = 0; id < nv; id++) {
                size_t len;
                const uint8_t *p = grm_vocab_piece(g_vocab, id, &len);
                bool want = grm_vocab_is_eog(g_vocab, id) ? grm_matcher_is_complete(m) : grm_matcher_allows_bytes(m, p, len);
                bool got = bits[id >> 6] >> (id & 63) & 1;
                if (want != got) abort(); /* the mask is exactly the brute force */
                if (got && !grm_vocab_is_eog(g_vocab, id) && (pick < 0 || (id + step * 31) % 7 == 0)) pick = id;
            }
            if (pick < 0 || !grm_matcher_accept_token(m, pick)) break;
        }
        grm_matcher_free(m);
    }
    grm_release(g);
    return 0;
}
