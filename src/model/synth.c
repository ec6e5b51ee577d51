/*
 * Synthesizing random-weight models of real shapes, so benchmarks, tests and the demo get
 * realistic files with no download. The tensor names, metadata and type choices follow what
 * llama.cpp's converter and quantizer write, so llama.cpp loads these files too (which is how the
 * benchmarks compare the two engines on the same bytes).
 *
 * Weights are uniform in [-a, a] from a seeded generator (same seed, same file); norms are 1.
 * Without --vocab-from the vocabulary is SPM, byte-level: <unk> <s> </s>, the 256 byte tokens
 * <0x00>..<0xFF>, two chatml control tokens, then letter pieces ("▁a", "a", "▁ab", ...) by
 * decreasing score until the shape's vocabulary size is reached.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

typedef struct {
    const char *name;
    const char *arch;
    int n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx;
    float rope_base, norm_eps;
    bool tied;
    bool llama3_rope; /* llama3 frequency factors: factor 32, low 1, high 4, original ctx 8192 */
} shape;

static const shape g_shapes[] = {
    {"tiny", "llama", 256, 4, 8, 4, 768, 2048, 2048, 10000.0f, 1e-5f, false, false},
    {"tinyllama-1.1b", "llama", 2048, 22, 32, 4, 5632, 32000, 2048, 10000.0f, 1e-5f, false, false},
    {"llama-3.2-1b", "llama", 2048, 16, 32, 8, 8192, 128256, 131072, 500000.0f, 1e-5f, true, true},
    {"qwen2.5-0.5b", "qwen2", 896, 24, 14, 2, 4864, 151936, 32768, 1000000.0f, 1e-6f, true, false},
};

static const char *const g_shape_names[] = {"tiny", "tinyllama-1.1b", "llama-3.2-1b", "qwen2.5-0.5b", NULL};

const char *const *mdl_synth_shapes(void) { return g_shape_names; }

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* ---- weights ------------------------------------------------------------------------------ */

typedef struct {
    kn_type type;
    int64_t cols;
    float amp;
    uint64_t seed; /* per tensor; row r uses seed ^ r so rows are independent of threading */
    uint8_t *out;
    size_t row_bytes;
    int64_t rows_per_task, rows;
} fill_job;

static void fill_task(void *arg, int64_t task, int ith) {
    (void)ith;
    fill_job *j = arg;
    float row[16384];
    int64_t r0 = task * j->rows_per_task, r1 = r0 + j->rows_per_task;
    if (r1 > j->rows) r1 = j->rows;
    for (int64_t r = r0; r < r1; r++) {
        uint64_t s = j->seed ^ ((uint64_t)r * 0xD1B54A32D192ED03ull);
        for (int64_t i = 0; i < j->cols; i++) {
            double u = (double)(splitmix64(&s) >> 11) * (1.0 / 9007199254740992.0); /* [0,1) */
            row[i] = (float)((2.0 * u - 1.0) * j->amp);
        }
        kn_quantize_row(j->type, row, j->out + (size_t)r * j->row_bytes, j->cols);
    }
}

typedef struct {
    gguf_writer *w;
    cirrus_pool *pool;
    uint64_t seed;
    int tensor_no;
} synth_ctx;

static cirrus_status add_matrix(synth_ctx *S, const char *name, kn_type type, int64_t cols, int64_t rows,
                                float amp, cirrus_err *err) {
    if (cols > 16384) return cirrus_errf(err, CIRRUS_ERR_INTERNAL, "synth: row of %lld too long", (long long)cols);
    size_t rb = kn_row_size(type, cols);
    if (rb == 0) return cirrus_errf(err, CIRRUS_ERR_INTERNAL, "synth: %s: bad row for type", name);
    uint8_t *buf = malloc(rb * (size_t)rows);
    if (!buf) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "synth: out of memory for %s", name);
    fill_job j = {type, cols, amp, S->seed * 0x9E3779B97F4A7C15ull + (uint64_t)(++S->tensor_no), buf, rb, 16, rows};
    cirrus_pool_run(S->pool, fill_task, &j, (rows + j.rows_per_task - 1) / j.rows_per_task);
    uint64_t ne[2] = {(uint64_t)cols, (uint64_t)rows};
    cirrus_status st = gguf_w_tensor(S->w, name, type, rows == 1 ? 1 : 2, ne, buf, rb * (size_t)rows);
    free(buf);
    if (st) return cirrus_errf(err, st, "synth: cannot add tensor %s", name);
    return CIRRUS_OK;
}

static cirrus_status add_vector(synth_ctx *S, const char *name, const float *v, int64_t n, cirrus_err *err) {
    uint64_t ne[1] = {(uint64_t)n};
    cirrus_status st = gguf_w_tensor(S->w, name, KN_F32, 1, ne, v, sizeof(float) * (size_t)n);
    if (st) return cirrus_errf(err, st, "synth: cannot add tensor %s", name);
    return CIRRUS_OK;
}

static cirrus_status add_const_vector(synth_ctx *S, const char *name, float value, int64_t n, cirrus_err *err) {
    float *v = malloc(sizeof(float) * (size_t)n);
    if (!v) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "synth: out of memory");
    for (int64_t i = 0; i < n; i++) v[i] = value;
    cirrus_status st = add_vector(S, name, v, n, err);
    free(v);
    return st;
}

/* Type of a tensor under the requested file type, as llama.cpp's quantizer chooses. */
static kn_type pick_type(const mdl_synth_params *p, const char *role, int layer, int n_layer, int64_t cols) {
    kn_type t = p->type;
    bool more_bits = layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
    if (!strcmp(role, "output")) {
        if (t == KN_Q4_0 || t == KN_Q4_K || t == KN_Q5_K) t = KN_Q6_K;
    } else if (p->k_m_mix && (!strcmp(role, "attn_v") || !strcmp(role, "ffn_down")) && more_bits) {
        t = KN_Q6_K;
    }
    /* K-quants need rows of 256; llama.cpp falls back to a 32-block type there. */
    const kn_traits *tr = kn_type_traits((uint32_t)t);
    if (cols % tr->blck_size != 0) t = KN_Q8_0;
    if (cols % kn_type_traits((uint32_t)t)->blck_size != 0) t = KN_F16;
    return t;
}

/* ---- vocabulary -------------------------------------------------------------------------- */

static cirrus_status write_byte_vocab(gguf_writer *w, int n_vocab, cirrus_err *err) {
    char **toks = calloc((size_t)n_vocab, sizeof *toks);
    float *scores = calloc((size_t)n_vocab, sizeof *scores);
    int32_t *types = calloc((size_t)n_vocab, sizeof *types);
    char *pool = malloc((size_t)n_vocab * 16);
    cirrus_status st = CIRRUS_OK;
    if (!toks || !scores || !types || !pool) {
        st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "synth: out of memory for the vocabulary");
        goto done;
    }
    char *wp = pool;
    int n = 0;
#define ADD(str, score, type)                                     \
    do {                                                          \
        size_t l_ = strlen(str);                                  \
        memcpy(wp, str, l_ + 1);                                  \
        toks[n] = wp, scores[n] = (score), types[n] = (type);     \
        wp += l_ + 1, n++;                                        \
    } while (0)
    ADD("<unk>", 0.0f, 2);
    ADD("<s>", 0.0f, 3);
    ADD("</s>", 0.0f, 3);
    for (int b = 0; b < 256 && n < n_vocab; b++) {
        char s[8];
        snprintf(s, sizeof s, "<0x%02X>", b);
        ADD(s, 0.0f, 6);
    }
    if (n < n_vocab) ADD("<|im_start|>", 0.0f, 3);
    if (n < n_vocab) ADD("<|im_end|>", 0.0f, 3);
    if (n < n_vocab) ADD("\xe2\x96\x81", -1.0f, 1); /* "▁" alone */
    /* letter pieces of length 1, 2, 3, 4: "▁" + s then s, scores decreasing */
    for (int len = 1; len <= 4 && n < n_vocab; len++) {
        long count = 1;
        for (int i = 0; i < len; i++) count *= 26;
        for (long k = 0; k < count && n < n_vocab; k++) {
            char s[16] = "\xe2\x96\x81";
            long v = k;
            for (int i = len - 1; i >= 0; i--, v /= 26) s[3 + i] = (char)('a' + v % 26);
            s[3 + len] = 0;
            ADD(s, -(float)n, 1);
            if (n < n_vocab) ADD(s + 3, -(float)n, 1);
        }
    }
#undef ADD
    if ((st = gguf_w_str(w, "tokenizer.ggml.model", "llama")) ||
        (st = gguf_w_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)toks, (uint64_t)n)) ||
        (st = gguf_w_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores, (uint64_t)n)) ||
        (st = gguf_w_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, (uint64_t)n)) ||
        (st = gguf_w_u32(w, "tokenizer.ggml.unknown_token_id", 0)) ||
        (st = gguf_w_u32(w, "tokenizer.ggml.bos_token_id", 1)) ||
        (st = gguf_w_u32(w, "tokenizer.ggml.eos_token_id", 2)) ||
        (st = gguf_w_u32(w, "tokenizer.ggml.eot_token_id", 260)) ||
        (st = gguf_w_bool(w, "tokenizer.ggml.add_bos_token", true)) ||
        (st = gguf_w_bool(w, "tokenizer.ggml.add_eos_token", false)) ||
        (st = gguf_w_str(w, "tokenizer.chat_template",
                         "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
                         "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
                         "{{ '<|im_start|>assistant\\n' }}{% endif %}")))
        st = cirrus_errf(err, st, "synth: cannot write the vocabulary");
done:
    free(toks);
    free(scores);
    free(types);
    free(pool);
    return st;
}

/* Copies every tokenizer.* key of V into w; returns the vocabulary size. */
static cirrus_status copy_vocab(gguf_writer *w, const char *path, int *n_vocab, cirrus_err *err) {
    gguf_ctx *g = NULL;
    cirrus_status st = gguf_open(path, &g, err);
    if (st) return st;
    const gguf_array *toks;
    if (!gguf_get_arr(g, "tokenizer.ggml.tokens", &toks) || toks->type != GGUF_TYPE_STRING || toks->n < 4 ||
        toks->n > (1u << 24)) {
        gguf_close(g);
        return cirrus_errf(err, CIRRUS_ERR_FORMAT, "synth: %s has no usable tokenizer.ggml.tokens", path);
    }
    *n_vocab = (int)toks->n;
    for (uint64_t i = 0; i < gguf_n_kv(g) && !st; i++) {
        const gguf_kv *kv = gguf_kv_at(g, i);
        if (kv->key.len < 10 || memcmp(kv->key.ptr, "tokenizer.", 10) != 0) continue;
        char key[256];
        if (kv->key.len >= sizeof key) continue;
        memcpy(key, kv->key.ptr, kv->key.len);
        key[kv->key.len] = 0;
        const gguf_value *v = &kv->value;
        switch (v->type) {
        case GGUF_TYPE_UINT8: case GGUF_TYPE_UINT16: case GGUF_TYPE_UINT32:
            st = gguf_w_u32(w, key, (uint32_t)v->v.u64);
            break;
        case GGUF_TYPE_UINT64: st = gguf_w_u64(w, key, v->v.u64); break;
        case GGUF_TYPE_INT8: case GGUF_TYPE_INT16: case GGUF_TYPE_INT32: case GGUF_TYPE_INT64:
            st = gguf_w_i32(w, key, (int32_t)v->v.i64);
            break;
        case GGUF_TYPE_FLOAT32: case GGUF_TYPE_FLOAT64: st = gguf_w_f32(w, key, (float)v->v.f64); break;
        case GGUF_TYPE_BOOL: st = gguf_w_bool(w, key, v->v.b); break;
        case GGUF_TYPE_STRING: {
            char *s = strndup(v->v.str.ptr, v->v.str.len);
            st = s ? gguf_w_str(w, key, s) : CIRRUS_ERR_NOMEM;
            free(s);
            break;
        }
        case GGUF_TYPE_ARRAY: {
            const gguf_array *a = &v->v.arr;
            if (a->type == GGUF_TYPE_STRING) {
                char **strs = calloc(a->n ? a->n : 1, sizeof *strs);
                if (!strs) { st = CIRRUS_ERR_NOMEM; break; }
                for (uint64_t k = 0; k < a->n && !st; k++)
                    if (!(strs[k] = strndup(a->strs[k].ptr, a->strs[k].len))) st = CIRRUS_ERR_NOMEM;
                if (!st) st = gguf_w_arr_str(w, key, (const char *const *)strs, a->n);
                for (uint64_t k = 0; k < a->n; k++) free(strs[k]);
                free(strs);
            } else if (a->type != GGUF_TYPE_ARRAY) {
                st = gguf_w_arr(w, key, a->type, a->raw, a->n);
            }
            break;
        }
        default: break;
        }
    }
    gguf_close(g);
    if (st) return cirrus_errf(err, st, "synth: cannot copy the vocabulary of %s", path);
    return CIRRUS_OK;
}

/* ---- the model ---------------------------------------------------------------------------- */

static cirrus_status write_metadata(gguf_writer *w, const shape *s, int n_vocab) {
    char key[128], name[96];
    cirrus_status st;
    snprintf(name, sizeof name, "cirrus synth %s", s->name);
#define K(suffix) (snprintf(key, sizeof key, "%s." suffix, s->arch), key)
    if ((st = gguf_w_str(w, "general.architecture", s->arch)) || (st = gguf_w_str(w, "general.name", name)) ||
        (st = gguf_w_u32(w, "general.alignment", 32)) ||
        (st = gguf_w_u32(w, K("context_length"), (uint32_t)s->n_ctx)) ||
        (st = gguf_w_u32(w, K("embedding_length"), (uint32_t)s->n_embd)) ||
        (st = gguf_w_u32(w, K("block_count"), (uint32_t)s->n_layer)) ||
        (st = gguf_w_u32(w, K("feed_forward_length"), (uint32_t)s->n_ff)) ||
        (st = gguf_w_u32(w, K("attention.head_count"), (uint32_t)s->n_head)) ||
        (st = gguf_w_u32(w, K("attention.head_count_kv"), (uint32_t)s->n_head_kv)) ||
        (st = gguf_w_f32(w, K("attention.layer_norm_rms_epsilon"), s->norm_eps)) ||
        (st = gguf_w_f32(w, K("rope.freq_base"), s->rope_base)) ||
        (st = gguf_w_u32(w, K("rope.dimension_count"), (uint32_t)(s->n_embd / s->n_head))) ||
        (st = gguf_w_u32(w, K("vocab_size"), (uint32_t)n_vocab)))
        return st;
#undef K
    return CIRRUS_OK;
}

/* llama3 rope frequency factors, as the converter computes them for Llama 3.1 / 3.2. */
static void llama3_rope_factors(float *out, int n_rot, float base) {
    const double factor = 32, low = 1, high = 4, old_ctx = 8192;
    const double low_wavelen = old_ctx / low, high_wavelen = old_ctx / high;
    for (int i = 0; i < n_rot / 2; i++) {
        double freq = 1.0 / pow(base, 2.0 * i / n_rot), wavelen = 2 * M_PI / freq;
        if (wavelen < high_wavelen) out[i] = 1.0f;
        else if (wavelen > low_wavelen) out[i] = (float)factor;
        else {
            double smooth = (old_ctx / wavelen - low) / (high - low);
            out[i] = (float)(1.0 / ((1 - smooth) / factor + smooth));
        }
    }
}

cirrus_status mdl_synth(const mdl_synth_params *p, const char *out_path, cirrus_err *err) {
    const shape *s = NULL;
    for (size_t i = 0; i < sizeof g_shapes / sizeof g_shapes[0]; i++)
        if (!strcmp(g_shapes[i].name, p->shape)) s = &g_shapes[i];
    if (!s) return cirrus_errf(err, CIRRUS_ERR_INVALID, "synth: unknown shape '%s'", p->shape);
    switch (p->type) {
    case KN_F32: case KN_F16: case KN_BF16: case KN_Q8_0: case KN_Q4_0: case KN_Q4_K: case KN_Q5_K: case KN_Q6_K: break;
    default: return cirrus_errf(err, CIRRUS_ERR_INVALID, "synth: cannot write type %d", p->type);
    }
    synth_ctx S = {0};
    S.seed = p->seed;
    cirrus_status st = gguf_writer_new(&S.w);
    if (st) return cirrus_errf(err, st, "synth: out of memory");
    if ((st = cirrus_pool_new(p->n_threads > 0 ? p->n_threads : 1, &S.pool))) {
        gguf_writer_free(S.w);
        return cirrus_errf(err, st, "synth: cannot start threads");
    }
    int n_vocab = s->n_vocab;
    if (p->vocab_from) {
        /* the metadata (written first) needs n_vocab, which the donor file decides */
        gguf_writer *vw = NULL;
        if ((st = gguf_writer_new(&vw))) goto done;
        st = copy_vocab(vw, p->vocab_from, &n_vocab, err);
        gguf_writer_free(vw);
        if (st) goto done;
    }
    if ((st = write_metadata(S.w, s, n_vocab)) ||
        (st = p->vocab_from ? copy_vocab(S.w, p->vocab_from, &n_vocab, err) : write_byte_vocab(S.w, n_vocab, err)))
        goto done;

    const int64_t C = s->n_embd, D = s->n_embd / s->n_head, QD = (int64_t)s->n_head * D,
                  KVD = (int64_t)s->n_head_kv * D, F = s->n_ff;
    const float amp_c = (float)(sqrt(3.0) / sqrt((double)C)), amp_f = (float)(sqrt(3.0) / sqrt((double)F));
    const int L = s->n_layer;
    if ((st = add_matrix(&S, "token_embd.weight", pick_type(p, "token_embd", 0, L, C), C, n_vocab, 1.0f, err)) ||
        (st = add_const_vector(&S, "output_norm.weight", 1.0f, C, err)))
        goto done;
    if (!s->tied && (st = add_matrix(&S, "output.weight", pick_type(p, "output", 0, L, C), C, n_vocab, amp_c, err)))
        goto done;
    if (s->llama3_rope) {
        float f[512];
        llama3_rope_factors(f, (int)D, s->rope_base);
        if ((st = add_vector(&S, "rope_freqs.weight", f, D / 2, err))) goto done;
    }
    for (int il = 0; il < L && !st; il++) {
        char n[96];
#define N(suffix) (snprintf(n, sizeof n, "blk.%d." suffix, il), n)
        if ((st = add_const_vector(&S, N("attn_norm.weight"), 1.0f, C, err)) ||
            (st = add_matrix(&S, N("attn_q.weight"), pick_type(p, "attn_q", il, L, C), C, QD, amp_c, err)) ||
            (st = add_matrix(&S, N("attn_k.weight"), pick_type(p, "attn_k", il, L, C), C, KVD, amp_c, err)) ||
            (st = add_matrix(&S, N("attn_v.weight"), pick_type(p, "attn_v", il, L, C), C, KVD, amp_c, err)) ||
            (st = add_matrix(&S, N("attn_output.weight"), pick_type(p, "attn_output", il, L, QD), QD, C, amp_c, err)) ||
            (st = add_const_vector(&S, N("ffn_norm.weight"), 1.0f, C, err)) ||
            (st = add_matrix(&S, N("ffn_gate.weight"), pick_type(p, "ffn_gate", il, L, C), C, F, amp_c, err)) ||
            (st = add_matrix(&S, N("ffn_up.weight"), pick_type(p, "ffn_up", il, L, C), C, F, amp_c, err)) ||
            (st = add_matrix(&S, N("ffn_down.weight"), pick_type(p, "ffn_down", il, L, F), F, C, amp_f, err)))
            break;
        if (!strcmp(s->arch, "qwen2") &&
            ((st = add_matrix(&S, N("attn_q.bias"), KN_F32, QD, 1, 0.1f, err)) ||
             (st = add_matrix(&S, N("attn_k.bias"), KN_F32, KVD, 1, 0.1f, err)) ||
             (st = add_matrix(&S, N("attn_v.bias"), KN_F32, KVD, 1, 0.1f, err))))
            break;
#undef N
    }
    if (!st) st = gguf_writer_write(S.w, out_path, err);
done:
    cirrus_pool_free(S.pool);
    gguf_writer_free(S.w);
    return st;
}
