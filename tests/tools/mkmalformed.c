/*
 * Writes the malformed GGUF files of tests/data/malformed/, one per defect, each named after it.
 * Standalone on purpose (no cirrus code): the bytes are spelled out here so a bug in our writer
 * cannot hide a bug in our reader.
 *
 *     cc -std=c11 -Wall -o /tmp/mkmalformed tests/tools/mkmalformed.c
 *     /tmp/mkmalformed tests/data/malformed
 *
 * tests/unit/test_gguf_malformed.c lists every file with the error it must produce; add a line
 * there when adding a file here.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { T_U8 = 0, T_U32 = 4, T_STR = 8, T_ARR = 9, T_U64 = 10 }; /* gguf value types used here */
enum { F32 = 0, Q8_0 = 8 };                                      /* ggml tensor types used here */

typedef struct {
    uint8_t b[4096];
    size_t n;
} img;

static const char *g_dir;

static void raw(img *m, const void *p, size_t n) {
    if (m->n + n > sizeof m->b) {
        fprintf(stderr, "mkmalformed: image too big\n");
        exit(1);
    }
    memcpy(m->b + m->n, p, n);
    m->n += n;
}
static void le(img *m, uint64_t v, int n) {
    for (int i = 0; i < n; i++) {
        uint8_t c = (uint8_t)(v >> (8 * i));
        raw(m, &c, 1);
    }
}
static void u32(img *m, uint32_t v) { le(m, v, 4); }
static void u64(img *m, uint64_t v) { le(m, v, 8); }
static void str(img *m, const char *s) {
    u64(m, strlen(s));
    raw(m, s, strlen(s));
}
static void hdr(img *m, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    raw(m, "GGUF", 4);
    u32(m, version);
    u64(m, n_tensors);
    u64(m, n_kv);
}
static void kv_str(img *m, const char *k, const char *v) {
    str(m, k);
    u32(m, T_STR);
    str(m, v);
}
static void tinfo(img *m, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                  uint64_t offset) {
    str(m, name);
    u32(m, n_dims);
    for (uint32_t i = 0; i < n_dims; i++) u64(m, ne[i]);
    u32(m, type);
    u64(m, offset);
}
static void pad(img *m, size_t a) {
    while (m->n % a) raw(m, "", 1);
}
static void fill(img *m, size_t n) {
    for (size_t i = 0; i < n; i++) le(m, (uint8_t)(i * 7 + 1), 1);
}

/* Writes the first n bytes of m as <dir>/<name>.gguf. */
static void save_n(const char *name, const img *m, size_t n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.gguf", g_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(m->b, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "mkmalformed: cannot write %s\n", path);
        exit(1);
    }
}
static void save(const char *name, const img *m) { save_n(name, m, m->n); }

static const uint64_t NE_8x2[2] = {8, 2}; /* f32: 64 bytes */

/* A valid file; the marks say where each part starts, for the truncations. */
typedef struct {
    size_t u64_value, tinfo0, data;
} marks;

static void valid(img *m, marks *k) {
    hdr(m, 3, 1, 3);
    kv_str(m, "general.architecture", "llama");
    str(m, "ctx");
    u32(m, T_U64);
    k->u64_value = m->n + 3;
    u64(m, 2048);
    str(m, "tokenizer.ggml.tokens");
    u32(m, T_ARR);
    u32(m, T_STR);
    u64(m, 3);
    str(m, "a");
    str(m, "bc");
    str(m, "def");
    k->tinfo0 = m->n + 10;
    tinfo(m, "w", 2, NE_8x2, F32, 0);
    pad(m, 32);
    k->data = m->n;
    fill(m, 64);
}

/* A file with one kv and the given tensor infos, data section of data_bytes. */
static void one_tensor(const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                       uint64_t offset, size_t data_bytes) {
    img m = {.n = 0};
    hdr(&m, 3, 1, 1);
    kv_str(&m, "general.architecture", "llama");
    tinfo(&m, "w", n_dims, ne, type, offset);
    pad(&m, 32);
    fill(&m, data_bytes);
    save(name, &m);
}

static void with_alignment_kv(const char *name, uint32_t type, uint64_t value) {
    img m = {.n = 0};
    hdr(&m, 3, 1, 1);
    str(&m, "general.alignment");
    u32(&m, type);
    le(&m, value, type == T_U64 ? 8 : 4);
    tinfo(&m, "w", 2, NE_8x2, F32, 0);
    pad(&m, 32);
    fill(&m, 64);
    save(name, &m);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: mkmalformed OUTDIR\n");
        return 2;
    }
    g_dir = argv[1];
    img m = {.n = 0}, x;
    marks k;
    valid(&m, &k);

    /* ---- truncations of the valid file, one per part ---- */
    save_n("empty", &m, 0);
    save_n("truncated_in_magic", &m, 3);
    save_n("truncated_in_header", &m, 12);
    save_n("truncated_in_kv_value", &m, k.u64_value);
    save_n("truncated_in_tensor_info", &m, k.tinfo0);
    save_n("truncated_in_data", &m, k.data + 40);
    /* Early cuts of the file above trip the n_kv plausibility check first (right, but it does not
     * reach the key and array parsers), so these two cut a file with one long kv instead. */
    x = (img){.n = 0};
    hdr(&x, 3, 0, 1);
    size_t key_cut = x.n + 8 + 15;
    str(&x, "tokenizer.ggml.tokens");
    u32(&x, T_ARR);
    u32(&x, T_STR);
    u64(&x, 3);
    str(&x, "alpha-alpha");
    size_t arr_cut = x.n + 8 + 9;
    str(&x, "bravo-bravo-bravo");
    str(&x, "charlie");
    save_n("truncated_in_kv_key", &x, key_cut);
    save_n("truncated_in_string_array", &x, arr_cut);

    /* ---- header ---- */
    x = m;
    memcpy(x.b, "GGML", 4);
    save("bad_magic", &x);
    x = m;
    memcpy(x.b + 4, "\0\0\0\3", 4); /* version 3 written big-endian */
    save("big_endian", &x);
    x = (img){.n = 0};
    raw(&x, "GGUF", 4);
    u32(&x, 1);
    u32(&x, 0); /* v1 had u32 counts */
    u32(&x, 0);
    save("version_1", &x);
    x = m;
    x.b[4] = 99;
    save("version_99", &x);
    x = (img){.n = 0};
    hdr(&x, 3, 0, UINT64_C(1) << 63);
    kv_str(&x, "general.architecture", "llama");
    save("n_kv_absurd", &x);
    x = (img){.n = 0};
    hdr(&x, 3, UINT64_C(1) << 63, 1);
    kv_str(&x, "general.architecture", "llama");
    save("n_tensors_absurd", &x);
    x = (img){.n = 0};
    hdr(&x, 3, UINT64_MAX / 24 + 1, 0); /* * 24 would wrap to a small number */
    fill(&x, 64);
    save("n_tensors_wraps", &x);

    /* ---- metadata ---- */
    x = (img){.n = 0};
    hdr(&x, 3, 0, 1);
    u64(&x, UINT64_C(1) << 40);
    raw(&x, "general.name", 12);
    u32(&x, T_U32);
    u32(&x, 1);
    save("key_length_past_end", &x);
    x = (img){.n = 0};
    hdr(&x, 3, 0, 1);
    str(&x, "general.name");
    u32(&x, T_STR);
    u64(&x, UINT64_MAX); /* + position would wrap */
    raw(&x, "tiny", 4);
    save("string_length_u64_max", &x);
    x = (img){.n = 0};
    hdr(&x, 3, 0, 1);
    str(&x, "a.u32");
    u32(&x, T_ARR);
    u32(&x, T_U32);
    u64(&x, UINT64_C(1) << 62); /* * 4 wraps to 0 */
    u32(&x, 7);
    save("array_length_absurd", &x);
    x = (img){.n = 0};
    hdr(&x, 3, 0, 1);
    str(&x, "tokenizer.ggml.tokens");
    u32(&x, T_ARR);
    u32(&x, T_STR);
    u64(&x, UINT64_C(1) << 61);
    str(&x, "a");
    save("string_array_length_absurd", &x);
    x = (img){.n = 0};
    hdr(&x, 3, 0, 1);
    str(&x, "nest");
    u32(&x, T_ARR);
    for (int i = 0; i < 9; i++) { /* 9 nested levels, the innermost of u8 */
        u32(&x, T_ARR);
        u64(&x, 1);
    }
    u32(&x, T_U8);
    u64(&x, 1);
    raw(&x, "z", 1);
    save("nested_array_too_deep", &x);
    x = (img){.n = 0};
    hdr(&x, 3, 0, 1);
    str(&x, "nest");
    u32(&x, T_ARR);
    u32(&x, T_ARR);
    u64(&x, UINT64_C(1) << 60);
    u32(&x, T_U8);
    u64(&x, 0);
    save("nested_array_length_absurd", &x);
    x = (img){.n = 0};
    hdr(&x, 3, 0, 1);
    str(&x, "k");
    u32(&x, 13);
    u32(&x, 0);
    save("unknown_kv_type", &x);
    x = (img){.n = 0};
    hdr(&x, 3, 0, 1);
    str(&x, "k");
    u32(&x, T_ARR);
    u32(&x, 77);
    u64(&x, 1);
    u32(&x, 0);
    save("unknown_array_element_type", &x);
    x = (img){.n = 0};
    hdr(&x, 3, 0, 2);
    kv_str(&x, "general.architecture", "llama");
    kv_str(&x, "general.architecture", "qwen2");
    save("duplicate_kv_key", &x);
    with_alignment_kv("alignment_zero", T_U32, 0);
    with_alignment_kv("alignment_not_power_of_two", T_U32, 48);
    with_alignment_kv("alignment_wrong_type", T_U64, 32);
    with_alignment_kv("alignment_huge", T_U32, UINT32_C(1) << 31);

    /* ---- tensor infos ---- */
    one_tensor("unknown_tensor_type", 2, NE_8x2, 999, 0, 64);
    uint64_t ne5[5] = {8, 2, 1, 1, 1};
    one_tensor("n_dims_5", 5, ne5, F32, 0, 64);
    uint64_t big[2] = {UINT64_C(1) << 32, UINT64_C(1) << 32};
    one_tensor("dims_product_overflow", 2, big, F32, 0, 64);
    uint64_t neg[2] = {8, UINT64_C(1) << 63};
    one_tensor("dim_negative", 2, neg, F32, 0, 64);
    uint64_t zero_hides[4] = {0, UINT64_C(1) << 32, UINT64_C(1) << 32, 1};
    one_tensor("dims_product_overflow_zero_dim", 4, zero_hides, F32, 0, 64);
    uint64_t ne33[2] = {33, 2};
    one_tensor("not_multiple_of_block_size", 2, ne33, Q8_0, 0, 64);
    uint64_t huge[1] = {UINT64_C(1) << 62}; /* 2^62 f32 = 2^64 bytes */
    one_tensor("byte_size_overflow", 1, huge, F32, 0, 64);
    one_tensor("tensor_offset_past_end", 2, NE_8x2, F32, 1024, 64);
    one_tensor("tensor_offset_overflow", 2, NE_8x2, F32, UINT64_MAX - 31, 64);
    one_tensor("tensor_offset_misaligned", 2, NE_8x2, F32, 4, 96);
    x = (img){.n = 0};
    hdr(&x, 3, 2, 0);
    tinfo(&x, "w", 2, NE_8x2, F32, 0);
    tinfo(&x, "w", 2, NE_8x2, F32, 64);
    pad(&x, 32);
    fill(&x, 128);
    save("duplicate_tensor_name", &x);
    x = (img){.n = 0};
    hdr(&x, 3, 2, 0);
    tinfo(&x, "a", 2, NE_8x2, F32, 0);
    tinfo(&x, "b", 2, NE_8x2, F32, 32);
    pad(&x, 32);
    fill(&x, 128);
    save("overlapping_tensors", &x);
    return 0;
}
