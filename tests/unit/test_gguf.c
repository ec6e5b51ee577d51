/* gguf: writer -> reader round trip of every kv type and several tensor types, typed getters,
 * writer refusals, open errors, and the real files in shared/models and shared/vocab. */
#include <dirent.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "gguf/gguf.h"
#include "kernels/kernels.h"

static char g_tmpdir[256];

static void tmp_path(char *dst, size_t cap, const char *name) {
    snprintf(dst, cap, "%s/%s", g_tmpdir, name);
}

static bool one_line(const cirrus_err *e) { return e->msg[0] && !strchr(e->msg, '\n'); }

/* ---- round trip ---------------------------------------------------------------------------- */

static const uint8_t u8s[] = {0, 1, 255};
static const int8_t i8s[] = {-128, 0, 127};
static const uint16_t u16s[] = {0, 65535};
static const int16_t i16s[] = {-32768, 32767};
static const uint32_t u32s[] = {0, 7, 4294967295u};
static const int32_t i32s[] = {INT32_MIN, -1, INT32_MAX};
static const float f32s[] = {0.5f, -1e30f, 3.25f};
static const bool bools[] = {true, false, true};
static const uint64_t u64s[] = {0, UINT64_MAX};
static const int64_t i64s[] = {INT64_MIN, INT64_MAX};
static const double f64s[] = {1e300, -0.125};
static const char *const strs[] = {"", "hello", "\xe2\x96\x81the", "<0x0A>"};

typedef struct {
    const char *name;
    uint32_t type, n_dims;
    uint64_t ne[4];
    size_t nbytes;
    uint8_t *data;
} tensor_spec;

static tensor_spec g_tensors[] = {
    {"token_embd.weight", KN_F32, 2, {8, 3, 1, 1}, 0, NULL},
    {"blk.0.attn_q.weight", KN_F16, 2, {16, 2, 1, 1}, 0, NULL},
    {"blk.0.ffn_up.weight", KN_Q8_0, 2, {64, 2, 1, 1}, 0, NULL},
    {"blk.0.ffn_down.weight", KN_Q4_K, 2, {256, 3, 1, 1}, 0, NULL},
    {"four_d", KN_F32, 4, {2, 3, 2, 2}, 0, NULL},
    {"iq_unsupported_but_known", KN_IQ2_XXS, 1, {256, 1, 1, 1}, 0, NULL},
};
#define N_TENSORS (sizeof g_tensors / sizeof g_tensors[0])

static void fill_tensors(void) {
    for (size_t i = 0; i < N_TENSORS; i++) {
        tensor_spec *t = &g_tensors[i];
        t->nbytes = kn_row_size((kn_type)t->type, (int64_t)t->ne[0]) * t->ne[1] * t->ne[2] * t->ne[3];
        t->data = malloc(t->nbytes);
        for (size_t k = 0; k < t->nbytes; k++) t->data[k] = (uint8_t)(k * 31 + i * 7 + 1);
    }
}

/* arr<arr<i32>>, arr<arr<str>>, arr<arr<arr<u8>>> built from gguf_value trees. */
static gguf_value g_inner_i32[2], g_inner_str[2], g_lvl2[1], g_lvl1[1];
static gguf_str g_inner_strs[3];

static void build_nested(void) {
    g_inner_i32[0] = (gguf_value){.type = GGUF_TYPE_ARRAY,
                                  .v.arr = {.type = GGUF_TYPE_INT32, .n = 3, .raw = i32s}};
    g_inner_i32[1] = (gguf_value){.type = GGUF_TYPE_ARRAY,
                                  .v.arr = {.type = GGUF_TYPE_INT32, .n = 0, .raw = NULL}};
    g_inner_strs[0] = (gguf_str){"a", 1};
    g_inner_strs[1] = (gguf_str){"", 0};
    g_inner_strs[2] = (gguf_str){"xyz", 3};
    g_inner_str[0] = (gguf_value){.type = GGUF_TYPE_ARRAY,
                                  .v.arr = {.type = GGUF_TYPE_STRING, .n = 3, .strs = g_inner_strs}};
    g_inner_str[1] = (gguf_value){.type = GGUF_TYPE_ARRAY,
                                  .v.arr = {.type = GGUF_TYPE_STRING, .n = 1, .strs = g_inner_strs + 2}};
    g_lvl2[0] = (gguf_value){.type = GGUF_TYPE_ARRAY,
                             .v.arr = {.type = GGUF_TYPE_UINT8, .n = 3, .raw = u8s}};
    g_lvl1[0] = (gguf_value){.type = GGUF_TYPE_ARRAY,
                             .v.arr = {.type = GGUF_TYPE_ARRAY, .n = 1, .arrs = g_lvl2}};
}

static gguf_writer *make_writer(uint32_t alignment) {
    gguf_writer *w;
    CHECK(gguf_writer_new(&w) == CIRRUS_OK);
    CHECK(gguf_w_str(w, "general.architecture", "llama") == CIRRUS_OK);
    if (alignment) CHECK(gguf_w_u32(w, "general.alignment", alignment) == CIRRUS_OK);
    CHECK(gguf_w_value(w, "t.u8", &(gguf_value){.type = GGUF_TYPE_UINT8, .v.u64 = 200}) == CIRRUS_OK);
    CHECK(gguf_w_value(w, "t.i8", &(gguf_value){.type = GGUF_TYPE_INT8, .v.i64 = -100}) == CIRRUS_OK);
    CHECK(gguf_w_value(w, "t.u16", &(gguf_value){.type = GGUF_TYPE_UINT16, .v.u64 = 60000}) == CIRRUS_OK);
    CHECK(gguf_w_value(w, "t.i16", &(gguf_value){.type = GGUF_TYPE_INT16, .v.i64 = -30000}) == CIRRUS_OK);
    CHECK(gguf_w_u32(w, "t.u32", 4000000000u) == CIRRUS_OK);
    CHECK(gguf_w_i32(w, "t.i32", -2000000000) == CIRRUS_OK);
    CHECK(gguf_w_f32(w, "t.f32", 1.5f) == CIRRUS_OK);
    CHECK(gguf_w_bool(w, "t.bool", true) == CIRRUS_OK);
    CHECK(gguf_w_str(w, "t.str", "caf\xc3\xa9") == CIRRUS_OK);
    CHECK(gguf_w_u64(w, "t.u64", UINT64_MAX) == CIRRUS_OK);
    CHECK(gguf_w_value(w, "t.i64", &(gguf_value){.type = GGUF_TYPE_INT64, .v.i64 = INT64_MIN}) == CIRRUS_OK);
    CHECK(gguf_w_value(w, "t.f64", &(gguf_value){.type = GGUF_TYPE_FLOAT64, .v.f64 = -2.5e-300}) == CIRRUS_OK);
    CHECK(gguf_w_arr(w, "a.u8", GGUF_TYPE_UINT8, u8s, 3) == CIRRUS_OK);
    CHECK(gguf_w_arr(w, "a.i8", GGUF_TYPE_INT8, i8s, 3) == CIRRUS_OK);
    CHECK(gguf_w_arr(w, "a.u16", GGUF_TYPE_UINT16, u16s, 2) == CIRRUS_OK);
    CHECK(gguf_w_arr(w, "a.i16", GGUF_TYPE_INT16, i16s, 2) == CIRRUS_OK);
    CHECK(gguf_w_arr(w, "a.u32", GGUF_TYPE_UINT32, u32s, 3) == CIRRUS_OK);
    CHECK(gguf_w_arr(w, "a.i32", GGUF_TYPE_INT32, i32s, 3) == CIRRUS_OK);
    CHECK(gguf_w_arr(w, "a.f32", GGUF_TYPE_FLOAT32, f32s, 3) == CIRRUS_OK);
    CHECK(gguf_w_arr(w, "a.bool", GGUF_TYPE_BOOL, bools, 3) == CIRRUS_OK);
    CHECK(gguf_w_arr(w, "a.u64", GGUF_TYPE_UINT64, u64s, 2) == CIRRUS_OK);
    CHECK(gguf_w_arr(w, "a.i64", GGUF_TYPE_INT64, i64s, 2) == CIRRUS_OK);
    CHECK(gguf_w_arr(w, "a.f64", GGUF_TYPE_FLOAT64, f64s, 2) == CIRRUS_OK);
    CHECK(gguf_w_arr(w, "a.empty", GGUF_TYPE_UINT32, NULL, 0) == CIRRUS_OK);
    CHECK(gguf_w_arr_str(w, "a.str", strs, 4) == CIRRUS_OK);
    gguf_value v = {.type = GGUF_TYPE_ARRAY, .v.arr = {.type = GGUF_TYPE_ARRAY, .n = 2, .arrs = g_inner_i32}};
    CHECK(gguf_w_value(w, "n.i32", &v) == CIRRUS_OK);
    v.v.arr.arrs = g_inner_str;
    CHECK(gguf_w_value(w, "n.str", &v) == CIRRUS_OK);
    v.v.arr.n = 1;
    v.v.arr.arrs = g_lvl1;
    CHECK(gguf_w_value(w, "n.three", &v) == CIRRUS_OK);
    for (size_t i = 0; i < N_TENSORS; i++) {
        tensor_spec *t = &g_tensors[i];
        CHECK_MSG(gguf_w_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->nbytes) == CIRRUS_OK,
                  "%s", t->name);
    }
    return w;
}

static bool raw_eq(const gguf_array *a, gguf_type t, const void *want, uint64_t n, size_t esz) {
    return a->type == t && a->n == n && (n == 0 || !memcmp(a->raw, want, n * esz));
}

static void check_contents(const gguf_ctx *g, uint32_t alignment) {
    uint64_t al = alignment ? alignment : GGUF_DEFAULT_ALIGNMENT;
    CHECK(gguf_version(g) == 3);
    CHECK(gguf_alignment(g) == al);
    CHECK(gguf_data_offset(g) % al == 0);
    CHECK(gguf_n_kv(g) == 29u + (alignment ? 1 : 0));
    /* keys come back in insertion order */
    CHECK(gguf_str_eq(gguf_kv_at(g, 0)->key, "general.architecture"));
    CHECK(gguf_str_eq(gguf_kv_at(g, gguf_n_kv(g) - 1)->key, "n.three"));
    CHECK(gguf_kv_at(g, gguf_n_kv(g)) == NULL);
    for (uint64_t i = 0; i < gguf_n_kv(g); i++) {
        const gguf_kv *kv = gguf_kv_at(g, i);
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)kv->key.len, kv->key.ptr);
        CHECK_MSG(gguf_find(g, key) == kv, "%s", key);
    }
    CHECK(gguf_find(g, "nope") == NULL);
    CHECK(gguf_find(g, "t.u") == NULL);

    gguf_str s;
    CHECK(gguf_get_str(g, "general.architecture", &s) && gguf_str_eq(s, "llama"));
    CHECK(gguf_get_str(g, "t.str", &s) && gguf_str_eq(s, "caf\xc3\xa9"));
    const gguf_kv *kv;
    CHECK((kv = gguf_find(g, "t.u8")) && kv->value.type == GGUF_TYPE_UINT8 && kv->value.v.u64 == 200);
    CHECK((kv = gguf_find(g, "t.i8")) && kv->value.type == GGUF_TYPE_INT8 && kv->value.v.i64 == -100);
    CHECK((kv = gguf_find(g, "t.u16")) && kv->value.type == GGUF_TYPE_UINT16 && kv->value.v.u64 == 60000);
    CHECK((kv = gguf_find(g, "t.i16")) && kv->value.type == GGUF_TYPE_INT16 && kv->value.v.i64 == -30000);
    CHECK((kv = gguf_find(g, "t.i64")) && kv->value.type == GGUF_TYPE_INT64 && kv->value.v.i64 == INT64_MIN);
    CHECK((kv = gguf_find(g, "t.f64")) && kv->value.type == GGUF_TYPE_FLOAT64 && kv->value.v.f64 == -2.5e-300);

    /* typed getters and their conversions */
    uint32_t u32;
    int32_t i32;
    uint64_t u64;
    float f;
    bool b;
    CHECK(gguf_get_u32(g, "t.u32", &u32) && u32 == 4000000000u);
    CHECK(gguf_get_u32(g, "t.u8", &u32) && u32 == 200);
    CHECK(!gguf_get_u32(g, "t.i8", &u32));  /* negative */
    CHECK(!gguf_get_u32(g, "t.u64", &u32)); /* too big */
    CHECK(!gguf_get_u32(g, "t.str", &u32));
    CHECK(!gguf_get_u32(g, "missing", &u32));
    CHECK(gguf_get_i32(g, "t.i32", &i32) && i32 == -2000000000);
    CHECK(gguf_get_i32(g, "t.i8", &i32) && i32 == -100);
    CHECK(!gguf_get_i32(g, "t.u32", &i32));
    CHECK(!gguf_get_i32(g, "t.i64", &i32));
    CHECK(gguf_get_u64(g, "t.u64", &u64) && u64 == UINT64_MAX);
    CHECK(gguf_get_u64(g, "t.u16", &u64) && u64 == 60000);
    CHECK(!gguf_get_u64(g, "t.i16", &u64));
    CHECK(gguf_get_f32(g, "t.f32", &f) && f == 1.5f);
    CHECK(gguf_get_f32(g, "t.f64", &f));
    CHECK(!gguf_get_f32(g, "t.u32", &f));
    CHECK(gguf_get_bool(g, "t.bool", &b) && b);
    CHECK(!gguf_get_bool(g, "t.u8", &b));
    CHECK(!gguf_get_str(g, "t.u8", &s));

    const gguf_array *a;
    CHECK(gguf_get_arr(g, "a.u8", &a) && raw_eq(a, GGUF_TYPE_UINT8, u8s, 3, 1));
    CHECK(gguf_get_arr(g, "a.i8", &a) && raw_eq(a, GGUF_TYPE_INT8, i8s, 3, 1));
    CHECK(gguf_get_arr(g, "a.u16", &a) && raw_eq(a, GGUF_TYPE_UINT16, u16s, 2, 2));
    CHECK(gguf_get_arr(g, "a.i16", &a) && raw_eq(a, GGUF_TYPE_INT16, i16s, 2, 2));
    CHECK(gguf_get_arr(g, "a.u32", &a) && raw_eq(a, GGUF_TYPE_UINT32, u32s, 3, 4));
    CHECK(gguf_get_arr(g, "a.i32", &a) && raw_eq(a, GGUF_TYPE_INT32, i32s, 3, 4));
    CHECK(gguf_get_arr(g, "a.f32", &a) && raw_eq(a, GGUF_TYPE_FLOAT32, f32s, 3, 4));
    CHECK(gguf_get_arr(g, "a.u64", &a) && raw_eq(a, GGUF_TYPE_UINT64, u64s, 2, 8));
    CHECK(gguf_get_arr(g, "a.i64", &a) && raw_eq(a, GGUF_TYPE_INT64, i64s, 2, 8));
    CHECK(gguf_get_arr(g, "a.f64", &a) && raw_eq(a, GGUF_TYPE_FLOAT64, f64s, 2, 8));
    CHECK(gguf_get_arr(g, "a.empty", &a) && a->type == GGUF_TYPE_UINT32 && a->n == 0);
    CHECK(gguf_get_arr(g, "a.bool", &a) && a->type == GGUF_TYPE_BOOL && a->n == 3 &&
          ((const uint8_t *)a->raw)[0] == 1 && ((const uint8_t *)a->raw)[1] == 0);
    CHECK(!gguf_get_arr(g, "t.u8", &a));

    int64_t x;
    CHECK(gguf_get_arr(g, "a.i8", &a) && gguf_arr_i64(a, 0, &x) && x == -128);
    CHECK(gguf_get_arr(g, "a.u32", &a) && gguf_arr_i64(a, 2, &x) && x == 4294967295ll);
    CHECK(!gguf_arr_i64(a, 3, &x)); /* out of range index */
    CHECK(gguf_get_arr(g, "a.i64", &a) && gguf_arr_i64(a, 0, &x) && x == INT64_MIN);
    CHECK(gguf_get_arr(g, "a.u64", &a) && !gguf_arr_i64(a, 1, &x)); /* > INT64_MAX */
    CHECK(gguf_get_arr(g, "a.f32", &a) && gguf_arr_f32(a, 1, &f) && f == -1e30f && !gguf_arr_i64(a, 0, &x));
    CHECK(gguf_get_arr(g, "a.f64", &a) && gguf_arr_f32(a, 1, &f) && f == -0.125f);
    CHECK(gguf_get_arr(g, "a.str", &a) && a->type == GGUF_TYPE_STRING && a->n == 4);
    for (uint64_t i = 0; i < 4; i++) CHECK(gguf_arr_str(a, i, &s) && gguf_str_eq(s, strs[i]));
    CHECK(!gguf_arr_str(a, 4, &s) && !gguf_arr_f32(a, 0, &f));

    /* nested arrays */
    CHECK(gguf_get_arr(g, "n.i32", &a) && a->type == GGUF_TYPE_ARRAY && a->n == 2);
    if (a->type == GGUF_TYPE_ARRAY && a->n == 2) {
        CHECK(a->arrs[0].type == GGUF_TYPE_ARRAY && raw_eq(&a->arrs[0].v.arr, GGUF_TYPE_INT32, i32s, 3, 4));
        CHECK(raw_eq(&a->arrs[1].v.arr, GGUF_TYPE_INT32, NULL, 0, 4));
    }
    CHECK(gguf_get_arr(g, "n.str", &a) && a->type == GGUF_TYPE_ARRAY && a->n == 2);
    if (a->type == GGUF_TYPE_ARRAY && a->n == 2) {
        const gguf_array *in = &a->arrs[0].v.arr;
        CHECK(in->type == GGUF_TYPE_STRING && in->n == 3);
        CHECK(gguf_arr_str(in, 0, &s) && gguf_str_eq(s, "a"));
        CHECK(gguf_arr_str(in, 1, &s) && gguf_str_eq(s, ""));
        CHECK(gguf_arr_str(&a->arrs[1].v.arr, 0, &s) && gguf_str_eq(s, "xyz"));
    }
    CHECK(gguf_get_arr(g, "n.three", &a) && a->type == GGUF_TYPE_ARRAY && a->n == 1);
    if (a->type == GGUF_TYPE_ARRAY && a->n == 1) {
        const gguf_array *l1 = &a->arrs[0].v.arr;
        CHECK(l1->type == GGUF_TYPE_ARRAY && l1->n == 1);
        if (l1->type == GGUF_TYPE_ARRAY && l1->n == 1)
            CHECK(raw_eq(&l1->arrs[0].v.arr, GGUF_TYPE_UINT8, u8s, 3, 1));
    }

    /* tensors */
    CHECK(gguf_n_tensors(g) == N_TENSORS);
    CHECK(gguf_tensor_at(g, N_TENSORS) == NULL);
    for (size_t i = 0; i < N_TENSORS; i++) {
        const tensor_spec *ts = &g_tensors[i];
        const gguf_tensor *t = gguf_tensor_at(g, i);
        CHECK(t && gguf_find_tensor(g, ts->name) == t);
        if (!t) continue;
        CHECK(gguf_str_eq(t->name, ts->name));
        CHECK(t->n_dims == ts->n_dims && t->type == ts->type && t->nbytes == ts->nbytes);
        for (int j = 0; j < 4; j++) CHECK(t->ne[j] == ts->ne[j]);
        CHECK(t->offset % al == 0);
        CHECK((const uint8_t *)t->data == (const uint8_t *)gguf_kv_at(g, 0)->key.ptr - 24 - 8 +
                                               gguf_data_offset(g) + t->offset);
        CHECK(!memcmp(t->data, ts->data, ts->nbytes));
    }
    CHECK(gguf_find_tensor(g, "token_embd") == NULL);
    CHECK(gguf_find_tensor(g, "") == NULL);
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

static void test_round_trip(uint32_t alignment) {
    char path[512], tmp[520];
    tmp_path(path, sizeof path, alignment ? "rt_aligned.gguf" : "rt.gguf");
    gguf_writer *w = make_writer(alignment);
    cirrus_err err = {{0}};
    CHECK_MSG(gguf_writer_write(w, path, &err) == CIRRUS_OK, "%s", err.msg);
    gguf_writer_free(w);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(access(tmp, F_OK) != 0); /* renamed away */

    gguf_ctx *g = NULL;
    CHECK_MSG(gguf_open(path, &g, &err) == CIRRUS_OK, "%s", err.msg);
    if (g) {
        check_contents(g, alignment);
        /* the image ends with the padded last tensor */
        CHECK(gguf_file_size(g) % (alignment ? alignment : 32) == 0);
        gguf_close(g);
    }
    size_t len = 0;
    uint8_t *buf = slurp(path, &len);
    CHECK(buf != NULL);
    g = NULL;
    CHECK_MSG(gguf_open_mem(buf, len, &g, &err) == CIRRUS_OK, "%s", err.msg);
    if (g) {
        check_contents(g, alignment);
        gguf_close(g);
    }
    /* v2 differs from v3 only in what v3 allows (big-endian files), so the same bytes read as v2 */
    if (buf && len > 8) {
        buf[4] = 2;
        CHECK_MSG(gguf_open_mem(buf, len, &g, &err) == CIRRUS_OK, "%s", err.msg);
        if (g) {
            CHECK(gguf_version(g) == 2);
            gguf_close(g);
        }
    }
    free(buf);
    unlink(path);
}

/* ---- writer refusals and open errors ------------------------------------------------------- */

static void test_writer_refusals(void) {
    gguf_writer *w;
    CHECK(gguf_writer_new(&w) == CIRRUS_OK);
    CHECK(gguf_w_u32(w, "k", 1) == CIRRUS_OK);
    CHECK(gguf_w_str(w, "k", "again") == CIRRUS_ERR_INVALID);
    CHECK(gguf_w_u64(w, "general.alignment", 64) == CIRRUS_ERR_INVALID);
    CHECK(gguf_w_u32(w, "general.alignment", 48) == CIRRUS_ERR_INVALID);
    CHECK(gguf_w_u32(w, "general.alignment", 0) == CIRRUS_ERR_INVALID);
    CHECK(gguf_w_arr(w, "s", GGUF_TYPE_STRING, strs, 1) == CIRRUS_ERR_INVALID);
    CHECK(gguf_w_value(w, "u8", &(gguf_value){.type = GGUF_TYPE_UINT8, .v.u64 = 256}) == CIRRUS_ERR_INVALID);
    CHECK(gguf_w_value(w, "i16", &(gguf_value){.type = GGUF_TYPE_INT16, .v.i64 = -32769}) == CIRRUS_ERR_INVALID);
    CHECK(gguf_w_value(w, "bad", &(gguf_value){.type = GGUF_TYPE_COUNT}) == CIRRUS_ERR_INVALID);

    /* nesting: 8 levels are written, 9 are refused */
    gguf_value lv[10];
    lv[9] = (gguf_value){.type = GGUF_TYPE_ARRAY, .v.arr = {.type = GGUF_TYPE_UINT8, .n = 3, .raw = u8s}};
    for (int i = 8; i >= 0; i--)
        lv[i] = (gguf_value){.type = GGUF_TYPE_ARRAY, .v.arr = {.type = GGUF_TYPE_ARRAY, .n = 1, .arrs = &lv[i + 1]}};
    CHECK(gguf_w_value(w, "deep9", &lv[1]) == CIRRUS_ERR_INVALID);
    CHECK(gguf_w_value(w, "deep8", &lv[2]) == CIRRUS_OK);

    float data[64] = {0};
    uint64_t ne[2] = {8, 2};
    CHECK(gguf_w_tensor(w, "t", KN_F32, 2, ne, data, 64) == CIRRUS_OK);
    CHECK(gguf_w_tensor(w, "t", KN_F32, 2, ne, data, 64) == CIRRUS_ERR_INVALID);   /* duplicate */
    CHECK(gguf_w_tensor(w, "u", KN_F32, 2, ne, data, 60) == CIRRUS_ERR_INVALID);   /* size */
    CHECK(gguf_w_tensor(w, "u", KN_Q8_0, 2, ne, data, 68) == CIRRUS_ERR_INVALID);  /* block */
    CHECK(gguf_w_tensor(w, "u", 999, 2, ne, data, 64) == CIRRUS_ERR_INVALID);      /* type */
    CHECK(gguf_w_tensor(w, "u", KN_F32, 5, ne, data, 64) == CIRRUS_ERR_INVALID);   /* dims */

    /* the deep but legal value reads back */
    char path[512];
    tmp_path(path, sizeof path, "deep.gguf");
    cirrus_err err = {{0}};
    CHECK_MSG(gguf_writer_write(w, path, &err) == CIRRUS_OK, "%s", err.msg);
    gguf_ctx *g = NULL;
    CHECK_MSG(gguf_open(path, &g, &err) == CIRRUS_OK, "%s", err.msg);
    if (g) {
        const gguf_array *a;
        CHECK(gguf_get_arr(g, "deep8", &a));
        int depth = 1;
        while (a->type == GGUF_TYPE_ARRAY && a->n == 1) {
            a = &a->arrs[0].v.arr;
            depth++;
        }
        CHECK(depth == 8 && raw_eq(a, GGUF_TYPE_UINT8, u8s, 3, 1));
        gguf_close(g);
    }
    unlink(path);

    /* failed write: the directory does not exist */
    err.msg[0] = 0;
    CHECK(gguf_writer_write(w, "/nonexistent-cirrus-dir/x.gguf", &err) == CIRRUS_ERR_IO);
    CHECK_MSG(one_line(&err) && strstr(err.msg, "nonexistent-cirrus-dir"), "%s", err.msg);
    gguf_writer_free(w);

    /* an empty writer makes a valid, empty file */
    CHECK(gguf_writer_new(&w) == CIRRUS_OK);
    tmp_path(path, sizeof path, "empty_writer.gguf");
    CHECK_MSG(gguf_writer_write(w, path, &err) == CIRRUS_OK, "%s", err.msg);
    gguf_writer_free(w);
    CHECK_MSG(gguf_open(path, &g, &err) == CIRRUS_OK, "%s", err.msg);
    if (g) {
        CHECK(gguf_n_kv(g) == 0 && gguf_n_tensors(g) == 0 && gguf_find(g, "x") == NULL);
        CHECK(gguf_find_tensor(g, "x") == NULL);
        gguf_close(g);
    }
    unlink(path);
}

static void test_open_errors(void) {
    gguf_ctx *g = (gguf_ctx *)&g; /* must be reset to NULL on failure */
    cirrus_err err = {{0}};
    CHECK(gguf_open(g_tmpdir, &g, &err) == CIRRUS_ERR_IO && g == NULL);
    CHECK_MSG(one_line(&err) && strstr(err.msg, "directory"), "%s", err.msg);
    CHECK(gguf_open("/nonexistent-cirrus/model.gguf", &g, &err) == CIRRUS_ERR_IO);
    CHECK_MSG(one_line(&err) && strstr(err.msg, "No such file"), "%s", err.msg);
    char path[512];
    tmp_path(path, sizeof path, "empty.gguf");
    FILE *f = fopen(path, "wb");
    if (f) fclose(f);
    CHECK(gguf_open(path, &g, &err) == CIRRUS_ERR_FORMAT);
    CHECK_MSG(one_line(&err) && strstr(err.msg, "empty"), "%s", err.msg);
    unlink(path);
    CHECK(gguf_open("/dev/null", &g, &err) == CIRRUS_ERR_IO);
    CHECK_MSG(one_line(&err) && strstr(err.msg, "regular"), "%s", err.msg);
    CHECK(gguf_open_mem("", 0, &g, &err) == CIRRUS_ERR_FORMAT && g == NULL);
    CHECK(one_line(&err));
}

/* ---- real files ----------------------------------------------------------------------------- */

/* Facts every valid file must satisfy, whatever produced it. */
static void check_invariants(const char *path, const gguf_ctx *g) {
    CHECK_MSG(gguf_version(g) == 2 || gguf_version(g) == 3, "%s", path);
    for (uint64_t i = 0; i < gguf_n_kv(g); i++) {
        const gguf_kv *kv = gguf_kv_at(g, i);
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)kv->key.len, kv->key.ptr);
        CHECK_MSG(gguf_find(g, key) == kv, "%s: %s", path, key);
    }
    for (uint64_t i = 0; i < gguf_n_tensors(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
        CHECK_MSG(gguf_find_tensor(g, name) == t, "%s: %s", path, name);
        uint64_t rows = t->ne[1] * t->ne[2] * t->ne[3];
        CHECK(t->nbytes == kn_row_size((kn_type)t->type, (int64_t)t->ne[0]) * rows);
        CHECK(gguf_data_offset(g) + t->offset + t->nbytes <= gguf_file_size(g));
    }
    CHECK(gguf_data_offset(g) % gguf_alignment(g) == 0);
}

static int test_real_dir(const char *sub) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", check_shared_dir(), sub);
    DIR *d = opendir(dir);
    CHECK_MSG(d != NULL, "cannot open %s", dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 5, ".gguf")) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        gguf_ctx *g = NULL;
        cirrus_err err = {{0}};
        CHECK_MSG(gguf_open(path, &g, &err) == CIRRUS_OK, "%s: %s", path, err.msg);
        if (!g) continue;
        n++;
        check_invariants(path, g);
        gguf_str arch;
        CHECK_MSG(gguf_get_str(g, "general.architecture", &arch) && arch.len > 0, "%s", path);
        const gguf_array *toks;
        CHECK_MSG(gguf_get_arr(g, "tokenizer.ggml.tokens", &toks) && toks->type == GGUF_TYPE_STRING &&
                      toks->n > 0,
                  "%s", path);
        if (!strcmp(sub, "models")) {
            CHECK_MSG(gguf_version(g) == 3, "%s", path);
            CHECK_MSG(gguf_n_tensors(g) > 0 && gguf_find_tensor(g, "token_embd.weight"), "%s", path);
        }
        if (!strcmp(e->d_name, "stories260K.gguf")) {
            CHECK(gguf_str_eq(arch, "llama"));
            const gguf_tensor *t = gguf_find_tensor(g, "token_embd.weight");
            CHECK(t && t->n_dims == 2 && t->ne[0] == 64 && t->ne[1] == 512 && t->type == KN_F32);
            CHECK(toks->n == 512);
            gguf_str s;
            CHECK(gguf_arr_str(toks, 3, &s) && gguf_str_eq(s, "<0x00>"));
            uint32_t ctx;
            CHECK(gguf_get_u32(g, "llama.embedding_length", &ctx) && ctx == 64);
            CHECK(gguf_get_u32(g, "llama.block_count", &ctx) && ctx == 5);
        }
        if (!strcmp(e->d_name, "tiny-qwen2-f32.gguf")) {
            CHECK(gguf_str_eq(arch, "qwen2"));
            CHECK(gguf_find_tensor(g, "output.weight") == NULL); /* tied embeddings */
        }
        if (!strcmp(e->d_name, "tiny-gpt2-f32.gguf")) CHECK(toks->n == 50257);
        gguf_close(g);
    }
    closedir(d);
    return n;
}

int main(void) {
    snprintf(g_tmpdir, sizeof g_tmpdir, "%s/cirrus-test-gguf-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(g_tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    fill_tensors();
    build_nested();
    test_round_trip(0);
    test_round_trip(64);
    test_writer_refusals();
    test_open_errors();
    CHECK(test_real_dir("models") >= 10);
    CHECK(test_real_dir("vocab") >= 6);
    for (size_t i = 0; i < N_TENSORS; i++) free(g_tensors[i].data);
    rmdir(g_tmpdir);
    return check_done("test_gguf");
}
