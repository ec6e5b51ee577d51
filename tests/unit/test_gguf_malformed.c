/*
 * gguf reader against hostile input:
 *  - every committed file in tests/data/malformed/ fails with the status and the one-line message
 *    listed below (and the list and the folder agree, so a new file needs a line here);
 *  - every truncation (0..len-1 bytes) of a valid image fails cleanly, each from an exact-size heap
 *    copy so ASan sees any read past the end;
 *  - every byte of a valid image, flipped a few ways, either parses (and then every accessor walks
 *    the result) or fails with one line.
 */
#include <dirent.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "gguf/gguf.h"
#include "kernels/kernels.h"

typedef struct {
    const char *file;
    cirrus_status st;
    const char *substr; /* must appear in the message */
} expectation;

static const expectation g_expect[] = {
    {"alignment_huge", CIRRUS_ERR_FORMAT, "section at 2147483648) runs past the end of the file"},
    {"alignment_not_power_of_two", CIRRUS_ERR_FORMAT, "'general.alignment' at offset 53: alignment 48 is not a power of two"},
    {"alignment_wrong_type", CIRRUS_ERR_FORMAT, "'general.alignment' at offset 53: must be of type u32, is u64"},
    {"alignment_zero", CIRRUS_ERR_FORMAT, "alignment 0 is not a power of two"},
    {"array_length_absurd", CIRRUS_ERR_RANGE, "'a.u32' array length at offset 45: 4611686018427387904 elements of u32 cannot fit"},
    {"bad_magic", CIRRUS_ERR_FORMAT, "magic at offset 0: not a GGUF file"},
    {"big_endian", CIRRUS_ERR_UNSUPPORTED, "version at offset 4: big-endian"},
    {"byte_size_overflow", CIRRUS_ERR_RANGE, "tensor 'w' (#0) at offset 82: byte size overflows"},
    {"dim_negative", CIRRUS_ERR_RANGE, "at offset 90: ne[1] = 9223372036854775808 is negative"},
    {"dims_product_overflow", CIRRUS_ERR_RANGE, "tensor 'w' (#0) at offset 82: dims product overflows"},
    {"dims_product_overflow_zero_dim", CIRRUS_ERR_RANGE, "dims product overflows"},
    {"duplicate_kv_key", CIRRUS_ERR_FORMAT, "kv #1 'general.architecture' key at offset 69: duplicate key (first at kv #0)"},
    {"duplicate_tensor_name", CIRRUS_ERR_FORMAT, "tensor 'w' (#1) name at offset 65: duplicate tensor name"},
    {"empty", CIRRUS_ERR_FORMAT, "is empty"},
    {"key_length_past_end", CIRRUS_ERR_FORMAT, "kv #0 key at offset 24: string length 1099511627776 exceeds"},
    {"n_dims_5", CIRRUS_ERR_FORMAT, "n_dims at offset 78: 5 dims (at most 4)"},
    {"n_kv_absurd", CIRRUS_ERR_RANGE, "n_kv at offset 16: 9223372036854775808 key/value pairs cannot fit"},
    {"n_tensors_absurd", CIRRUS_ERR_RANGE, "n_tensors at offset 8: 9223372036854775808 tensor infos cannot fit"},
    {"n_tensors_wraps", CIRRUS_ERR_RANGE, "n_tensors at offset 8"},
    {"nested_array_length_absurd", CIRRUS_ERR_RANGE, "'nest' array length at offset 44"},
    {"nested_array_too_deep", CIRRUS_ERR_RANGE, "'nest' array element type at offset 124: arrays nested deeper than 8"},
    {"not_multiple_of_block_size", CIRRUS_ERR_FORMAT, "ne[0] = 33 is not a multiple of the q8_0 block size 32"},
    {"overlapping_tensors", CIRRUS_ERR_FORMAT, "tensor 'b' (#1) data offset at offset 98: data overlaps tensor 'a' (#0)"},
    {"string_array_length_absurd", CIRRUS_ERR_RANGE, "'tokenizer.ggml.tokens' array length at offset 61"},
    {"string_length_u64_max", CIRRUS_ERR_FORMAT, "'general.name' value at offset 48: string length 18446744073709551615"},
    {"tensor_offset_misaligned", CIRRUS_ERR_FORMAT, "data offset at offset 102: 4 is not a multiple of the alignment 32"},
    {"tensor_offset_overflow", CIRRUS_ERR_FORMAT, "data offset at offset 102: data (offset 18446744073709551584"},
    {"tensor_offset_past_end", CIRRUS_ERR_FORMAT, "data (offset 1024, 64 bytes, section at 128) runs past the end"},
    {"truncated_in_data", CIRRUS_ERR_FORMAT, "runs past the end of the file (264 bytes)"},
    {"truncated_in_header", CIRRUS_ERR_FORMAT, "n_tensors at offset 8: file truncated"},
    {"truncated_in_kv_key", CIRRUS_ERR_FORMAT, "kv #0 key at offset 24: string length 21 exceeds the 15 bytes left"},
    {"truncated_in_kv_value", CIRRUS_ERR_FORMAT, "kv #1 'ctx' value at offset 84: file truncated"},
    {"truncated_in_magic", CIRRUS_ERR_FORMAT, "magic at offset 0: file truncated"},
    {"truncated_in_string_array", CIRRUS_ERR_FORMAT, "string #1 at offset 88: string length 17 exceeds the 9 bytes left"},
    {"truncated_in_tensor_info", CIRRUS_ERR_FORMAT, "tensor 'w' (#0) n_dims at offset 176: file truncated"},
    {"unknown_array_element_type", CIRRUS_ERR_FORMAT, "array element type at offset 37: unknown type 77"},
    {"unknown_kv_type", CIRRUS_ERR_FORMAT, "kv #0 'k' type at offset 33: unknown value type 13"},
    {"unknown_tensor_type", CIRRUS_ERR_UNSUPPORTED, "tensor 'w' (#0) type at offset 98: unknown tensor type id 999"},
    {"version_1", CIRRUS_ERR_UNSUPPORTED, "version at offset 4: GGUF version 1"},
    {"version_99", CIRRUS_ERR_UNSUPPORTED, "version 99 is not supported"},
};
#define N_EXPECT (sizeof g_expect / sizeof g_expect[0])

static bool good_msg(const cirrus_err *e) {
    return !strncmp(e->msg, "gguf: ", 6) && strlen(e->msg) > 6 && !strchr(e->msg, '\n');
}

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    *len = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return buf;
}

static void test_committed_files(void) {
    const char *td = getenv("CIRRUS_TESTDATA");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/malformed", td ? td : "tests/data");
    bool seen[N_EXPECT] = {false};
    DIR *d = opendir(dir);
    CHECK_MSG(d != NULL, "cannot open %s", dir);
    if (!d) return;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 5, ".gguf")) continue;
        n++;
        const expectation *x = NULL;
        for (size_t i = 0; i < N_EXPECT; i++)
            if (strlen(g_expect[i].file) == l - 5 && !strncmp(g_expect[i].file, e->d_name, l - 5)) {
                x = &g_expect[i];
                seen[i] = true;
            }
        CHECK_MSG(x != NULL, "%s has no expectation in test_gguf_malformed.c", e->d_name);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        gguf_ctx *g = NULL;
        cirrus_err err = {{0}};
        cirrus_status st = gguf_open(path, &g, &err);
        CHECK_MSG(st != CIRRUS_OK && g == NULL, "%s opened", e->d_name);
        if (g) gguf_close(g);
        CHECK_MSG(good_msg(&err), "%s: bad message '%s'", e->d_name, err.msg);
        if (x) {
            CHECK_MSG(st == x->st, "%s: status %s, want %s (%s)", e->d_name, cirrus_status_str(st),
                      cirrus_status_str(x->st), err.msg);
            CHECK_MSG(strstr(err.msg, x->substr) != NULL, "%s: '%s' lacks '%s'", e->d_name,
                      err.msg, x->substr);
        }
        /* the buffer path must agree with the file path */
        size_t len = 0;
        uint8_t *buf = slurp(path, &len);
        cirrus_err err2 = {{0}};
        CHECK(gguf_open_mem(buf, len, &g, &err2) == st && g == NULL);
        if (len) CHECK_MSG(!strcmp(err.msg, err2.msg), "%s: '%s' vs '%s'", e->d_name, err.msg, err2.msg);
        free(buf);
    }
    closedir(d);
    CHECK_MSG(n >= 20, "only %d malformed files", n);
    for (size_t i = 0; i < N_EXPECT; i++) CHECK_MSG(seen[i], "%s.gguf missing", g_expect[i].file);
}

/* Touches everything a parsed ctx hands out, so ASan checks every pointer the parser made. */
static uint64_t walk_array(const gguf_array *a, int depth) {
    uint64_t h = a->n;
    size_t esz = a->type == GGUF_TYPE_STRING || a->type == GGUF_TYPE_ARRAY ? 0 : 1;
    for (uint64_t i = 0; i < a->n; i++) {
        gguf_str s;
        int64_t v;
        float f;
        if (a->type == GGUF_TYPE_ARRAY) h += walk_array(&a->arrs[i].v.arr, depth + 1);
        else if (gguf_arr_str(a, i, &s)) h += s.len ? (uint8_t)s.ptr[0] + (uint8_t)s.ptr[s.len - 1] : 0;
        else if (gguf_arr_i64(a, i, &v)) h += (uint64_t)v;
        else if (gguf_arr_f32(a, i, &f)) h += f > 0;
        else if (esz) h += ((const uint8_t *)a->raw)[i];
    }
    return h + (uint64_t)depth;
}

static uint64_t walk(const gguf_ctx *g) {
    uint64_t h = gguf_version(g) + gguf_alignment(g) + gguf_data_offset(g);
    for (uint64_t i = 0; i < gguf_n_kv(g); i++) {
        const gguf_kv *kv = gguf_kv_at(g, i);
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(kv->key.len < 63 ? kv->key.len : 63), kv->key.ptr);
        const gguf_kv *f = gguf_find(g, key);
        CHECK(f != NULL || strlen(key) != kv->key.len || kv->key.len >= 63);
        if (kv->value.type == GGUF_TYPE_ARRAY) h += walk_array(&kv->value.v.arr, 1);
        if (kv->value.type == GGUF_TYPE_STRING && kv->value.v.str.len)
            h += (uint8_t)kv->value.v.str.ptr[kv->value.v.str.len - 1];
        uint32_t u;
        gguf_str s;
        h += gguf_get_u32(g, key, &u) ? u : 0;
        h += gguf_get_str(g, key, &s) ? s.len : 0;
    }
    for (uint64_t i = 0; i < gguf_n_tensors(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        CHECK(gguf_data_offset(g) + t->offset + t->nbytes <= gguf_file_size(g));
        if (t->nbytes) h += ((const uint8_t *)t->data)[0] + ((const uint8_t *)t->data)[t->nbytes - 1];
        if (t->name.len) h += (uint8_t)t->name.ptr[t->name.len - 1];
    }
    h += gguf_find_tensor(g, "w") != NULL;
    return h;
}

/* A valid image covering every part of the format; its last tensor's size is a multiple of the
 * alignment, so there is no trailing padding and every strict prefix is invalid. */
static uint8_t *valid_image(size_t *len) {
    char path[256];
    snprintf(path, sizeof path, "%s/cirrus-malformed-%d.gguf", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid());
    gguf_writer *w;
    CHECK(gguf_writer_new(&w) == CIRRUS_OK);
    static const char *const toks[] = {"<unk>", "a", "", "\xe2\x96\x81the"};
    static const int32_t i32s[] = {-1, 2, 3};
    static const double f64s[] = {0.5, -2};
    gguf_value inner[2] = {
        {.type = GGUF_TYPE_ARRAY, .v.arr = {.type = GGUF_TYPE_INT32, .n = 3, .raw = i32s}},
        {.type = GGUF_TYPE_ARRAY, .v.arr = {.type = GGUF_TYPE_FLOAT64, .n = 2, .raw = f64s}},
    };
    gguf_value nested = {.type = GGUF_TYPE_ARRAY, .v.arr = {.type = GGUF_TYPE_ARRAY, .n = 2, .arrs = inner}};
    CHECK(gguf_w_str(w, "general.architecture", "llama") == CIRRUS_OK);
    CHECK(gguf_w_u32(w, "general.alignment", 32) == CIRRUS_OK);
    CHECK(gguf_w_f32(w, "f", 0.25f) == CIRRUS_OK);
    CHECK(gguf_w_bool(w, "b", true) == CIRRUS_OK);
    CHECK(gguf_w_arr_str(w, "tokenizer.ggml.tokens", toks, 4) == CIRRUS_OK);
    CHECK(gguf_w_arr(w, "i", GGUF_TYPE_INT32, i32s, 3) == CIRRUS_OK);
    CHECK(gguf_w_value(w, "nested", &nested) == CIRRUS_OK);
    uint8_t data[2 * 34 * 2] = {0};
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)i;
    uint64_t ne_q[2] = {64, 2}, ne_f[1] = {8};
    CHECK(gguf_w_tensor(w, "q", KN_Q8_0, 2, ne_q, data, 136) == CIRRUS_OK);
    CHECK(gguf_w_tensor(w, "w", KN_F32, 1, ne_f, data, 32) == CIRRUS_OK);
    cirrus_err err = {{0}};
    CHECK_MSG(gguf_writer_write(w, path, &err) == CIRRUS_OK, "%s", err.msg);
    gguf_writer_free(w);
    uint8_t *buf = slurp(path, len);
    unlink(path);
    return buf;
}

static void test_truncations(const uint8_t *img, size_t len) {
    gguf_ctx *g = NULL;
    cirrus_err err = {{0}};
    CHECK_MSG(gguf_open_mem(img, len, &g, &err) == CIRRUS_OK, "%s", err.msg);
    if (!g) return;
    /* the precondition of "every prefix fails": the last tensor ends the file */
    const gguf_tensor *last = gguf_tensor_at(g, gguf_n_tensors(g) - 1);
    CHECK(gguf_data_offset(g) + last->offset + last->nbytes == len);
    walk(g);
    gguf_close(g);
    int bad = 0;
    for (size_t n = 0; n < len; n++) {
        uint8_t *cut = malloc(n ? n : 1); /* exact size: ASan flags any read past n */
        memcpy(cut, img, n);
        err.msg[0] = 0;
        cirrus_status st = gguf_open_mem(cut, n, &g, &err);
        if (st == CIRRUS_OK || g != NULL || !good_msg(&err)) {
            if (bad++ < 5) CHECK_MSG(false, "prefix of %zu bytes: status %d, '%s'", n, st, err.msg);
            if (g) gguf_close(g);
        }
        free(cut);
    }
    CHECK_MSG(bad == 0, "%d of %zu prefixes misbehaved", bad, len);
}

static void test_mutations(const uint8_t *img, size_t len) {
    int ok = 0, failed = 0;
    uint8_t *m = malloc(len);
    for (size_t i = 0; i < len; i++) {
        const uint8_t vals[] = {0x00, 0xff, (uint8_t)(img[i] ^ 0x01), (uint8_t)(img[i] ^ 0x80), 0x7f};
        for (size_t k = 0; k < sizeof vals; k++) {
            memcpy(m, img, len);
            m[i] = vals[k];
            gguf_ctx *g = NULL;
            cirrus_err err = {{0}};
            if (gguf_open_mem(m, len, &g, &err) == CIRRUS_OK) {
                walk(g);
                gguf_close(g);
                ok++;
            } else {
                CHECK_MSG(g == NULL && good_msg(&err), "byte %zu = %02x: '%s'", i, vals[k], err.msg);
                failed++;
            }
        }
    }
    free(m);
    printf("mutations: %d parsed, %d refused\n", ok, failed);
    CHECK(ok > 0 && failed > 0);
}

int main(void) {
    test_committed_files();
    size_t len = 0;
    uint8_t *img = valid_image(&len);
    CHECK(img != NULL && len > 200);
    if (img) {
        test_truncations(img, len);
        test_mutations(img, len);
    }
    free(img);
    return check_done("test_gguf_malformed");
}
