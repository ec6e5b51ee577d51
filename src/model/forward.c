/*
 * The batched forward pass of the llama family (llama, qwen2).
 *
 * Glossary (shapes in comments use these letters):
 *   T  tokens in this batch          C  model width (n_embd)
 *   H  query heads                   KV key/value heads (H % KV == 0; GQA when KV < H)
 *   D  head dimension                F  feed-forward width
 *   V  vocabulary size               P  positions per sequence in the KV cache (n_ctx)
 *
 * Per layer:   xb = rmsnorm(x) * attn_norm
 *              q, k, v = xb Wq^T (+bq), xb Wk^T (+bk), xb Wv^T (+bv);  rope(q), rope(k)
 *              cache[seq][pos] = k, v;  att = softmax(q k^T / sqrt(D)) v  over [0, pos]
 *              x += att Wo^T
 *              xb = rmsnorm(x) * ffn_norm;  x += (silu(xb Wgate^T) * xb Wup^T) Wdown^T
 * Then logits = rmsnorm(x) * output_norm  Wout^T  for the wanted rows only.
 *
 * The KV cache is F16 (as llama.cpp's default), laid out [layer][seq][pos][KV*D]. Attention is a
 * single pass with an online softmax (running max and sum), so it reads each cached K and V row
 * once and needs no score buffer however long the context.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

struct mdl_ctx {
    const mdl_model *m;
    mdl_ctx_params p;
    cirrus_pool *pool;
    uint16_t *k_cache, *v_cache; /* (L, S, P, KV*D) f16 */
    size_t kv_seq_stride;        /* elements per (layer, seq) slab: P * KV*D */
    float *x, *xb;               /* (T, C) */
    float *q, *att;              /* (T, H*D) */
    float *k, *v;                /* (T, KV*D) */
    float *hb, *hb2;             /* (T, F) */
    float *rope_cs;              /* (T, n_rot/2, 2) cos, sin for this batch's positions */
    float *xo;                   /* (n_out, C) rows whose logits are wanted */
    float *logits;               /* (n_out, V) */
    int32_t *out_rows;           /* (n_batch) */
};

const mdl_ctx_params *mdl_ctx_get_params(const mdl_ctx *c) { return &c->p; }

uint64_t mdl_ctx_kv_bytes(const mdl_ctx *c) {
    return 2ull * (uint64_t)c->m->hp.n_layer * (uint64_t)c->p.n_seq * c->kv_seq_stride * sizeof(uint16_t);
}

cirrus_status mdl_ctx_new(const mdl_model *m, const mdl_ctx_params *pp, mdl_ctx **out, cirrus_err *err) {
    const mdl_hparams *hp = &m->hp;
    mdl_ctx_params p = *pp;
    if (p.n_ctx < 1 || p.n_ctx > (1 << 22) || p.n_seq < 1 || p.n_seq > 4096 || p.n_batch < 1 ||
        p.n_batch > 65536 || p.n_threads < 1 || p.n_threads > 256 || p.n_out < 0)
        return cirrus_errf(err, CIRRUS_ERR_INVALID,
                           "model: context parameters out of range (ctx %d, seq %d, batch %d, threads %d)",
                           p.n_ctx, p.n_seq, p.n_batch, p.n_threads);
    if (p.n_out == 0) p.n_out = p.n_seq;
    if (p.n_out > p.n_batch) p.n_out = p.n_batch;
    mdl_ctx *c = calloc(1, sizeof *c);
    if (!c) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "model: out of memory");
    c->m = m;
    c->p = p;
    size_t T = (size_t)p.n_batch, C = (size_t)hp->n_embd, QD = (size_t)hp->n_head * hp->head_dim,
           KVD = (size_t)hp->n_head_kv * hp->head_dim, F = (size_t)hp->n_ff, V = (size_t)hp->n_vocab;
    c->kv_seq_stride = (size_t)p.n_ctx * KVD;
    size_t kv_elems = (size_t)hp->n_layer * (size_t)p.n_seq * c->kv_seq_stride;
    c->k_cache = cirrus_alloc_aligned(kv_elems, sizeof(uint16_t));
    c->v_cache = cirrus_alloc_aligned(kv_elems, sizeof(uint16_t));
    c->x = cirrus_alloc_aligned(T * C, sizeof(float));
    c->xb = cirrus_alloc_aligned(T * C, sizeof(float));
    c->q = cirrus_alloc_aligned(T * QD, sizeof(float));
    c->att = cirrus_alloc_aligned(T * QD, sizeof(float));
    c->k = cirrus_alloc_aligned(T * KVD, sizeof(float));
    c->v = cirrus_alloc_aligned(T * KVD, sizeof(float));
    c->hb = cirrus_alloc_aligned(T * F, sizeof(float));
    c->hb2 = cirrus_alloc_aligned(T * F, sizeof(float));
    c->rope_cs = cirrus_alloc_aligned(T * (size_t)hp->n_rot, sizeof(float));
    c->xo = cirrus_alloc_aligned((size_t)p.n_out * C, sizeof(float));
    c->logits = cirrus_alloc_aligned((size_t)p.n_out * V, sizeof(float));
    c->out_rows = calloc(T, sizeof(int32_t));
    cirrus_status st = cirrus_pool_new(p.n_threads, &c->pool);
    if (st || !c->k_cache || !c->v_cache || !c->x || !c->xb || !c->q || !c->att || !c->k || !c->v || !c->hb ||
        !c->hb2 || !c->rope_cs || !c->xo || !c->logits || !c->out_rows) {
        mdl_ctx_free(c);
        return cirrus_errf(err, CIRRUS_ERR_NOMEM, "model: cannot allocate context (KV cache %.1f MiB)",
                           2.0 * (double)kv_elems * 2 / (1 << 20));
    }
    *out = c;
    return CIRRUS_OK;
}

void mdl_ctx_free(mdl_ctx *c) {
    if (!c) return;
    cirrus_pool_free(c->pool);
    void *bufs[] = {c->k_cache, c->v_cache, c->x, c->xb, c->q, c->att, c->k, c->v, c->hb, c->hb2,
                    c->rope_cs, c->xo, c->logits};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) cirrus_free_aligned(bufs[i]);
    free(c->out_rows);
    free(c);
}

/* ---- small steps ------------------------------------------------------------------------- */

/* out = x / rms(x) * w, row by row. (T, C) */
static void rmsnorm(float *out, const float *x, const float *w, int64_t T, int64_t C, float eps) {
    for (int64_t t = 0; t < T; t++) {
        const float *xr = x + t * C;
        float *o = out + t * C;
        /* float products summed in double, then float mean and scale: ggml's rms_norm, bit for bit */
        double ss = 0;
        for (int64_t i = 0; i < C; i++) ss += (double)(xr[i] * xr[i]);
        const float mean = (float)(ss / (double)C);
        const float scale = 1.0f / sqrtf(mean + eps);
        for (int64_t i = 0; i < C; i++) o[i] = xr[i] * scale * w[i];
    }
}

static void add_bias(float *y, const float *b, int64_t T, int64_t N) {
    if (!b) return;
    for (int64_t t = 0; t < T; t++)
        for (int64_t i = 0; i < N; i++) y[t * N + i] += b[i];
}

/* Rotates the first n_rot dims of each of n_heads heads of each row. NORM pairs (2i, 2i+1);
 * NEOX pairs (i, i + n_rot/2). cs: (T, n_rot/2, 2). */
static void rope(float *x, const float *cs, int64_t T, int n_heads, int D, int n_rot, mdl_rope_kind kind) {
    int half = n_rot / 2;
    for (int64_t t = 0; t < T; t++) {
        const float *cst = cs + t * n_rot;
        for (int h = 0; h < n_heads; h++) {
            float *v = x + (t * n_heads + h) * D;
            for (int i = 0; i < half; i++) {
                float c = cst[2 * i], s = cst[2 * i + 1];
                int a = kind == MDL_ROPE_NEOX ? i : 2 * i;
                int b = kind == MDL_ROPE_NEOX ? i + half : 2 * i + 1;
                float x0 = v[a], x1 = v[b];
                v[a] = x0 * c - x1 * s;
                v[b] = x0 * s + x1 * c;
            }
        }
    }
}

typedef struct {
    float *g;
    const float *u;
    int64_t n;
} swiglu_job;

#define SWIGLU_CHUNK 4096 /* elements per pool task: a few microseconds of expf */

static void swiglu_task(void *arg, int64_t task, int ith) {
    (void)ith;
    const swiglu_job *j = arg;
    const int64_t i0 = task * SWIGLU_CHUNK, i1 = i0 + SWIGLU_CHUNK < j->n ? i0 + SWIGLU_CHUNK : j->n;
    for (int64_t i = i0; i < i1; i++) j->g[i] = j->g[i] / (1.0f + expf(-j->g[i])) * j->u[i];
}

/* g = silu(g) * u, elementwise, on the pool: in a 512-token prefill it is millions of expf. */
static void swiglu(mdl_ctx *c, float *g, const float *u, int64_t n) {
    swiglu_job j = {g, u, n};
    cirrus_pool_run(c->pool, swiglu_task, &j, (n + SWIGLU_CHUNK - 1) / SWIGLU_CHUNK);
}

static kn_matrix as_matrix(const mdl_weight *w) {
    return (kn_matrix){.type = w->type, .packed = w->packed, .data = w->data, .rows = w->rows, .cols = w->cols};
}

static void matmul(mdl_ctx *c, const mdl_weight *w, const float *x, int64_t T, float *y) {
    const kn_matrix m = as_matrix(w);
    kn_matmul_n(c->pool, 1, &m, x, T, &y);
}

/* n (<= 3) matrices that read the same input in one call: x is quantized once and one pool run
 * does them all; y[i] = x . w[i]^T. */
static void matmul_n(mdl_ctx *c, int n, const mdl_weight *const w[], float *const y[], const float *x, int64_t T) {
    kn_matrix m[3];
    for (int i = 0; i < n; i++) m[i] = as_matrix(w[i]);
    kn_matmul_n(c->pool, n, m, x, T, y);
}

/* ---- attention --------------------------------------------------------------------------- */

typedef struct {
    mdl_ctx *c;
    const mdl_batch *b;
    int layer;
} attn_job;

/*
 * One (token, KV head) pair: the query heads that share the KV head attend over positions
 * [0, pos] of the token's sequence, with llama.cpp's CPU flash-attention numerics (kn_attn_f16),
 * because matching its logits is the contract (shared/reference).
 */
static void attn_task(void *arg, int64_t task, int ith) {
    (void)ith;
    attn_job *j = arg;
    mdl_ctx *c = j->c;
    const mdl_hparams *hp = &c->m->hp;
    const int H = hp->n_head, KV = hp->n_head_kv, D = hp->head_dim, G = H / KV;
    const int64_t t = task / KV;
    const int kvh = (int)(task % KV);
    const size_t slab = ((size_t)j->layer * c->p.n_seq + (size_t)j->b->seq[t]) * c->kv_seq_stride;
    const int64_t q0 = (t * H + (int64_t)kvh * G) * D; /* heads kvh*G .. kvh*G+G-1 */
    kn_attn_f16(c->q + q0, G, c->k_cache + slab + (size_t)kvh * D, c->v_cache + slab + (size_t)kvh * D,
                (size_t)KV * D, (int64_t)j->b->pos[t] + 1, D, 1.0f / sqrtf((float)D), c->att + q0);
}

/* ---- the pass ---------------------------------------------------------------------------- */

static cirrus_status check_batch(const mdl_ctx *c, const mdl_batch *b, cirrus_err *err) {
    if (b->n < 1 || b->n > c->p.n_batch)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "model: batch of %d tokens (max %d)", b->n, c->p.n_batch);
    int32_t n_out = 0;
    for (int32_t i = 0; i < b->n; i++) {
        if (b->tokens[i] < 0 || b->tokens[i] >= c->m->hp.n_vocab)
            return cirrus_errf(err, CIRRUS_ERR_RANGE, "model: token id %d out of range [0, %d)", b->tokens[i],
                               c->m->hp.n_vocab);
        if (b->pos[i] < 0 || b->pos[i] >= c->p.n_ctx)
            return cirrus_errf(err, CIRRUS_ERR_FULL, "model: position %d outside the context of %d", b->pos[i],
                               c->p.n_ctx);
        if (b->seq[i] < 0 || b->seq[i] >= c->p.n_seq)
            return cirrus_errf(err, CIRRUS_ERR_RANGE, "model: sequence %d out of range [0, %d)", b->seq[i],
                               c->p.n_seq);
        n_out += b->want ? b->want[i] : (i == b->n - 1);
    }
    if (n_out > c->p.n_out)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "model: %d logit rows wanted (max %d)", n_out, c->p.n_out);
    return CIRRUS_OK;
}

cirrus_status mdl_forward(mdl_ctx *c, const mdl_batch *b, const float **logits, int32_t *n_out,
                          cirrus_err *err) {
    cirrus_status st = check_batch(c, b, err);
    if (st) return st;
    const mdl_model *m = c->m;
    const mdl_hparams *hp = &m->hp;
    const int64_t T = b->n, C = hp->n_embd, H = hp->n_head, KV = hp->n_head_kv, D = hp->head_dim,
                  QD = H * D, KVD = KV * D, F = hp->n_ff, V = hp->n_vocab;

    /* x = embeddings (T, C) */
    for (int64_t t = 0; t < T; t++)
        kn_dequantize_row(m->tok_embd.type, (const char *)m->tok_embd.data + (size_t)b->tokens[t] * m->tok_embd.row_bytes,
                          c->x + t * C, C);
    /* rope angles for this batch's positions, shared by every layer. Computed in float by repeated
     * multiplication exactly as ggml's rope cache does: the angle's last bits decide rounding of
     * quantized activations downstream, and matching llama.cpp's logits is the contract. */
    const float theta_scale = powf(hp->rope_base, -2.0f / (float)hp->n_rot);
    for (int64_t t = 0; t < T; t++) {
        float theta = (float)b->pos[t];
        for (int i = 0; i < hp->n_rot / 2; i++) {
            float ti = hp->rope_freq_scale * (m->rope_freqs ? theta / m->rope_freqs[i] : theta);
            c->rope_cs[t * hp->n_rot + 2 * i] = cosf(ti);
            c->rope_cs[t * hp->n_rot + 2 * i + 1] = sinf(ti);
            theta *= theta_scale;
        }
    }

    for (int il = 0; il < hp->n_layer; il++) {
        const mdl_layer *l = &m->layers[il];
        rmsnorm(c->xb, c->x, l->attn_norm, T, C, hp->norm_eps);
        matmul_n(c, 3, (const mdl_weight *const[]){&l->wq, &l->wk, &l->wv}, (float *const[]){c->q, c->k, c->v},
                 c->xb, T); /* (T, QD) (T, KVD) (T, KVD) */
        add_bias(c->q, l->bq, T, QD);
        add_bias(c->k, l->bk, T, KVD);
        add_bias(c->v, l->bv, T, KVD);
        rope(c->q, c->rope_cs, T, (int)H, (int)D, hp->n_rot, hp->rope_kind);
        rope(c->k, c->rope_cs, T, (int)KV, (int)D, hp->n_rot, hp->rope_kind);
        for (int64_t t = 0; t < T; t++) {
            size_t off = ((size_t)il * c->p.n_seq + (size_t)b->seq[t]) * c->kv_seq_stride + (size_t)b->pos[t] * KVD;
            for (int64_t i = 0; i < KVD; i++) {
                c->k_cache[off + i] = kn_f32_to_f16(c->k[t * KVD + i]);
                c->v_cache[off + i] = kn_f32_to_f16(c->v[t * KVD + i]);
            }
        }
        attn_job job = {c, b, il};
        cirrus_pool_run(c->pool, attn_task, &job, T * KV); /* att (T, QD) */
        matmul(c, &l->wo, c->att, T, c->xb);              /* (T, C) */
        for (int64_t i = 0; i < T * C; i++) c->x[i] += c->xb[i];

        rmsnorm(c->xb, c->x, l->ffn_norm, T, C, hp->norm_eps);
        matmul_n(c, 2, (const mdl_weight *const[]){&l->w_gate, &l->w_up}, (float *const[]){c->hb, c->hb2}, c->xb,
                 T); /* (T, F) each */
        swiglu(c, c->hb, c->hb2, T * F);
        matmul(c, &l->w_down, c->hb, T, c->xb); /* (T, C) */
        for (int64_t i = 0; i < T * C; i++) c->x[i] += c->xb[i];
    }

    int32_t n = 0;
    for (int32_t i = 0; i < b->n; i++)
        if (b->want ? b->want[i] : i == b->n - 1) c->out_rows[n++] = i;
    for (int32_t r = 0; r < n; r++) memcpy(c->xb + (int64_t)r * C, c->x + (int64_t)c->out_rows[r] * C, sizeof(float) * (size_t)C);
    rmsnorm(c->xo, c->xb, m->output_norm, n, C, hp->norm_eps);
    if (n > 0) matmul(c, &m->output, c->xo, n, c->logits); /* (n, V) */
    (void)V;
    *logits = c->logits;
    *n_out = n;
    return CIRRUS_OK;
}

void mdl_seq_copy(mdl_ctx *c, int32_t src, int32_t dst, int32_t n_pos) {
    if (src == dst || src < 0 || dst < 0 || src >= c->p.n_seq || dst >= c->p.n_seq || n_pos <= 0) return;
    if (n_pos > c->p.n_ctx) n_pos = c->p.n_ctx;
    size_t KVD = (size_t)c->m->hp.n_head_kv * c->m->hp.head_dim;
    for (int il = 0; il < c->m->hp.n_layer; il++) {
        size_t so = ((size_t)il * c->p.n_seq + (size_t)src) * c->kv_seq_stride;
        size_t d = ((size_t)il * c->p.n_seq + (size_t)dst) * c->kv_seq_stride;
        memcpy(c->k_cache + d, c->k_cache + so, (size_t)n_pos * KVD * sizeof(uint16_t));
        memcpy(c->v_cache + d, c->v_cache + so, (size_t)n_pos * KVD * sizeof(uint16_t));
    }
}
