/*
 * libFuzzer target for the GGUF reader: parse the input as an image, and when it parses, touch
 * everything the ctx hands out (every kv, every array element down the nesting, every tensor's
 * first and last data byte, lookups by key and name), so ASan/UBSan check each pointer and length
 * the parser produced. A failed parse must leave a one-line message.
 *
 *     CC=clang cmake -S . -B build-fuzz -DCIRRUS_FUZZ=ON && cmake --build build-fuzz --target fuzz_gguf
 *     ./build-fuzz/fuzz_gguf -max_total_time=30 fuzz/corpus/gguf
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"

static volatile uint64_t g_sink; /* keeps the reads from being optimized away */

static uint64_t touch_str(gguf_str s) {
    return s.len ? (uint64_t)(uint8_t)s.ptr[0] + (uint8_t)s.ptr[s.len - 1] + s.len : 0;
}

static uint64_t walk_array(const gguf_array *a) {
    uint64_t h = a->type;
    for (uint64_t i = 0; i < a->n; i++) {
        int64_t v;
        float f;
        gguf_str s;
        if (a->type == GGUF_TYPE_ARRAY) {
            if (a->arrs[i].type != GGUF_TYPE_ARRAY) abort(); /* parser invariant */
            h += walk_array(&a->arrs[i].v.arr);
        } else if (gguf_arr_str(a, i, &s)) {
            h += touch_str(s);
        } else if (gguf_arr_i64(a, i, &v)) {
            h += (uint64_t)v;
        } else if (gguf_arr_f32(a, i, &f)) {
            h += f != f;
        } else if (a->type == GGUF_TYPE_BOOL || a->type == GGUF_TYPE_UINT64) {
            h += ((const uint8_t *)a->raw)[i]; /* within n * size bytes either way */
        }
    }
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gguf_ctx *g = NULL;
    cirrus_err err = {{0}};
    if (gguf_open_mem(data, size, &g, &err) != CIRRUS_OK) {
        if (g != NULL || err.msg[0] == 0 || strchr(err.msg, '\n')) abort();
        return 0;
    }
    uint64_t h = gguf_version(g) + gguf_alignment(g) + gguf_data_offset(g) + gguf_file_size(g);
    char name[128];
    for (uint64_t i = 0; i < gguf_n_kv(g); i++) {
        const gguf_kv *kv = gguf_kv_at(g, i);
        h += touch_str(kv->key);
        const gguf_value *v = &kv->value;
        if (v->type == GGUF_TYPE_STRING) h += touch_str(v->v.str);
        if (v->type == GGUF_TYPE_ARRAY) h += walk_array(&v->v.arr);
        if (kv->key.len < sizeof name && !memchr(kv->key.ptr, 0, kv->key.len)) {
            memcpy(name, kv->key.ptr, kv->key.len);
            name[kv->key.len] = 0;
            if (gguf_find(g, name) != kv) abort(); /* every key is found, and is unique */
            uint32_t u32;
            int32_t i32;
            uint64_t u64;
            float f;
            bool b;
            gguf_str s;
            const gguf_array *a;
            h += gguf_get_u32(g, name, &u32) + gguf_get_i32(g, name, &i32) + gguf_get_u64(g, name, &u64) +
                 gguf_get_f32(g, name, &f) + gguf_get_bool(g, name, &b) + gguf_get_str(g, name, &s) +
                 gguf_get_arr(g, name, &a);
        }
    }
    for (uint64_t i = 0; i < gguf_n_tensors(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        h += touch_str(t->name);
        if (gguf_data_offset(g) + t->offset + t->nbytes > gguf_file_size(g)) abort();
        if (t->nbytes) h += ((const uint8_t *)t->data)[0] + ((const uint8_t *)t->data)[t->nbytes - 1];
        if (t->name.len < sizeof name && !memchr(t->name.ptr, 0, t->name.len)) {
            memcpy(name, t->name.ptr, t->name.len);
            name[t->name.len] = 0;
            if (gguf_find_tensor(g, name) != t) abort();
        }
    }
    h += gguf_find(g, "general.architecture") != NULL;
    h += gguf_find_tensor(g, "token_embd.weight") != NULL;
    g_sink = h;
    gguf_close(g);
    return 0;
}
