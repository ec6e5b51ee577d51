/*
 * Writes the valid seed files of fuzz/corpus/gguf/ with cirrus's own GGUF writer (each well under
 * 20 KB, so the fuzzer can afford to mutate them). The malformed seeds there are copies of a few
 * tests/data/malformed/ files. Seeds have no .gguf suffix: the repository ignores *.gguf outside
 * tests/data.
 *
 *     cc -std=c11 -D_GNU_SOURCE -Isrc tests/tools/mkfuzzseeds.c build/libcirrus_lib.a -lm -lpthread \
 *        $(pkg-config --libs libpcre2-8 jansson) -o /tmp/mkfuzzseeds
 *     /tmp/mkfuzzseeds fuzz/corpus/gguf
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "kernels/kernels.h"

static const char *g_dir;

static void ok(cirrus_status st, const char *what) {
    if (st) {
        fprintf(stderr, "mkfuzzseeds: %s: %s\n", what, cirrus_status_str(st));
        exit(1);
    }
}

static void save(gguf_writer *w, const char *name) {
    char path[1024];
    cirrus_err err = {{0}};
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    if (gguf_writer_write(w, path, &err)) {
        fprintf(stderr, "mkfuzzseeds: %s\n", err.msg);
        exit(1);
    }
    gguf_writer_free(w);
}

static void tensor(gguf_writer *w, const char *name, kn_type t, uint32_t n_dims, uint64_t ne0,
                   uint64_t ne1) {
    uint64_t ne[2] = {ne0, ne1};
    size_t n = kn_row_size(t, (int64_t)ne0) * (n_dims > 1 ? ne1 : 1);
    uint8_t *d = malloc(n);
    for (size_t i = 0; i < n; i++) d[i] = (uint8_t)(i * 13 + 5);
    ok(gguf_w_tensor(w, name, t, n_dims, ne, d, n), name);
    free(d);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: mkfuzzseeds OUTDIR\n");
        return 2;
    }
    g_dir = argv[1];
    gguf_writer *w;

    /* every kv type, nested arrays, no tensors */
    static const int16_t i16s[] = {-3, 4};
    static const uint64_t u64s[] = {1, UINT64_MAX};
    static const double f64s[] = {0.5};
    static const char *const strs[] = {"", "x", "\xe2\x96\x81hello"};
    gguf_str in_strs[2] = {{"ab", 2}, {"", 0}};
    gguf_value inner[2] = {
        {.type = GGUF_TYPE_ARRAY, .v.arr = {.type = GGUF_TYPE_INT16, .n = 2, .raw = i16s}},
        {.type = GGUF_TYPE_ARRAY, .v.arr = {.type = GGUF_TYPE_STRING, .n = 2, .strs = in_strs}},
    };
    gguf_value nested = {.type = GGUF_TYPE_ARRAY, .v.arr = {.type = GGUF_TYPE_ARRAY, .n = 2, .arrs = inner}};
    ok(gguf_writer_new(&w), "new");
    ok(gguf_w_value(w, "u8", &(gguf_value){.type = GGUF_TYPE_UINT8, .v.u64 = 7}), "u8");
    ok(gguf_w_value(w, "i8", &(gguf_value){.type = GGUF_TYPE_INT8, .v.i64 = -7}), "i8");
    ok(gguf_w_value(w, "u16", &(gguf_value){.type = GGUF_TYPE_UINT16, .v.u64 = 700}), "u16");
    ok(gguf_w_value(w, "i16", &(gguf_value){.type = GGUF_TYPE_INT16, .v.i64 = -700}), "i16");
    ok(gguf_w_u32(w, "u32", 70000), "u32");
    ok(gguf_w_i32(w, "i32", -70000), "i32");
    ok(gguf_w_f32(w, "f32", 0.5f), "f32");
    ok(gguf_w_bool(w, "bool", true), "bool");
    ok(gguf_w_str(w, "general.architecture", "llama"), "str");
    ok(gguf_w_u64(w, "u64", 1ull << 40), "u64");
    ok(gguf_w_value(w, "i64", &(gguf_value){.type = GGUF_TYPE_INT64, .v.i64 = -(1ll << 40)}), "i64");
    ok(gguf_w_value(w, "f64", &(gguf_value){.type = GGUF_TYPE_FLOAT64, .v.f64 = 0.25}), "f64");
    ok(gguf_w_arr(w, "a.u64", GGUF_TYPE_UINT64, u64s, 2), "a.u64");
    ok(gguf_w_arr(w, "a.f64", GGUF_TYPE_FLOAT64, f64s, 1), "a.f64");
    ok(gguf_w_arr_str(w, "a.str", strs, 3), "a.str");
    ok(gguf_w_value(w, "a.nested", &nested), "nested");
    save(w, "seed_kv_all_types");

    /* a tiny model: tensors of several types */
    ok(gguf_writer_new(&w), "new");
    ok(gguf_w_str(w, "general.architecture", "llama"), "arch");
    ok(gguf_w_u32(w, "llama.embedding_length", 32), "dim");
    tensor(w, "token_embd.weight", KN_F32, 2, 32, 8);
    tensor(w, "blk.0.attn_norm.weight", KN_F32, 1, 32, 1);
    tensor(w, "blk.0.attn_q.weight", KN_F16, 2, 32, 4);
    tensor(w, "blk.0.ffn_up.weight", KN_Q8_0, 2, 32, 4);
    tensor(w, "blk.0.ffn_down.weight", KN_Q4_K, 2, 256, 1);
    save(w, "seed_tensors");

    /* vocab-like: long string array and parallel numeric arrays */
    ok(gguf_writer_new(&w), "new");
    ok(gguf_w_str(w, "tokenizer.ggml.model", "llama"), "model");
    const char *toks[64];
    char buf[64][8];
    float scores[64];
    int32_t types[64];
    for (int i = 0; i < 64; i++) {
        snprintf(buf[i], sizeof buf[i], "t%d", i);
        toks[i] = buf[i];
        scores[i] = -(float)i;
        types[i] = i < 3 ? 3 : 1;
    }
    ok(gguf_w_arr_str(w, "tokenizer.ggml.tokens", toks, 64), "tokens");
    ok(gguf_w_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores, 64), "scores");
    ok(gguf_w_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, 64), "types");
    ok(gguf_w_u32(w, "tokenizer.ggml.bos_token_id", 1), "bos");
    save(w, "seed_vocab");

    /* non-default alignment */
    ok(gguf_writer_new(&w), "new");
    ok(gguf_w_u32(w, "general.alignment", 64), "alignment");
    tensor(w, "a", KN_F32, 1, 3, 1);
    tensor(w, "b", KN_BF16, 2, 5, 2);
    save(w, "seed_align64");
    return 0;
}
