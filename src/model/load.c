/*
 * Loading: read hyperparameters from GGUF metadata, bind every tensor by name, and check each
 * tensor's shape and type against the hyperparameters before the forward pass may touch it. The
 * forward pass then trusts these shapes; nothing read from the file reaches it unchecked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

typedef struct {
    mdl_model *m;
    cirrus_err *err;
    float *slab;     /* bump allocator over m->f32_slab */
    size_t slab_used, slab_cap;
} loader;

static bool get_arch_u32(const gguf_ctx *g, const char *arch, const char *suffix, uint32_t *out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    return gguf_get_u32(g, key, out);
}

static bool get_arch_f32(const gguf_ctx *g, const char *arch, const char *suffix, float *out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    return gguf_get_f32(g, key, out);
}

static cirrus_status need_u32(loader *L, const char *suffix, uint32_t lo, uint32_t hi, int32_t *out) {
    uint32_t v;
    if (!get_arch_u32(L->m->g, L->m->hp.arch_name, suffix, &v))
        return cirrus_errf(L->err, CIRRUS_ERR_FORMAT, "model: metadata %s.%s missing or not an integer",
                           L->m->hp.arch_name, suffix);
    if (v < lo || v > hi)
        return cirrus_errf(L->err, CIRRUS_ERR_RANGE, "model: %s.%s = %u outside [%u, %u]",
                           L->m->hp.arch_name, suffix, v, lo, hi);
    *out = (int32_t)v;
    return CIRRUS_OK;
}

/* Binds a 2-D matrix `name` of shape (cols = ne0, rows = ne1). */
static cirrus_status bind_matrix(loader *L, const char *name, int64_t cols, int64_t rows, bool optional,
                                 mdl_weight *w) {
    const gguf_tensor *t = gguf_find_tensor(L->m->g, name);
    memset(w, 0, sizeof *w);
    if (!t) {
        if (optional) return CIRRUS_OK;
        return cirrus_errf(L->err, CIRRUS_ERR_FORMAT, "model: tensor '%s' missing", name);
    }
    const kn_traits *tr = kn_type_traits(t->type);
    if (!tr || !tr->supported)
        return cirrus_errf(L->err, CIRRUS_ERR_UNSUPPORTED, "model: tensor '%s' has unsupported type %s",
                           name, tr ? tr->name : "unknown");
    uint64_t ne2 = t->n_dims > 2 ? t->ne[2] : 1, ne3 = t->n_dims > 3 ? t->ne[3] : 1;
    if (t->n_dims < 1 || t->ne[0] != (uint64_t)cols || (t->n_dims > 1 ? t->ne[1] : 1) != (uint64_t)rows ||
        ne2 != 1 || ne3 != 1)
        return cirrus_errf(L->err, CIRRUS_ERR_FORMAT,
                           "model: tensor '%s' has shape [%llu, %llu], expected [%lld, %lld]", name,
                           (unsigned long long)t->ne[0], (unsigned long long)(t->n_dims > 1 ? t->ne[1] : 1),
                           (long long)cols, (long long)rows);
    w->data = t->data;
    w->type = (kn_type)t->type;
    w->rows = rows;
    w->cols = cols;
    w->row_bytes = kn_row_size(w->type, cols);
    if (w->row_bytes == 0 || w->row_bytes * (uint64_t)rows != t->nbytes)
        return cirrus_errf(L->err, CIRRUS_ERR_FORMAT, "model: tensor '%s' size does not match its shape", name);
    return CIRRUS_OK;
}

/* Binds a 1-D vector of n elements, converted to f32 into the slab. */
static cirrus_status bind_vector(loader *L, const char *name, int64_t n, bool optional, float **out) {
    *out = NULL;
    mdl_weight w;
    cirrus_status st = bind_matrix(L, name, n, 1, optional, &w);
    if (st != CIRRUS_OK || !w.data) return st;
    if (L->slab_used + (size_t)n > L->slab_cap)
        return cirrus_errf(L->err, CIRRUS_ERR_INTERNAL, "model: vector slab too small at '%s'", name);
    float *dst = L->slab + L->slab_used;
    L->slab_used += (size_t)n;
    kn_dequantize_row(w.type, w.data, dst, n);
    *out = dst;
    return CIRRUS_OK;
}

static cirrus_status read_hparams(loader *L) {
    mdl_model *m = L->m;
    mdl_hparams *hp = &m->hp;
    gguf_str arch;
    if (!gguf_get_str(m->g, "general.architecture", &arch))
        return cirrus_errf(L->err, CIRRUS_ERR_FORMAT, "model: general.architecture missing");
    if (arch.len >= sizeof hp->arch_name) arch.len = sizeof hp->arch_name - 1;
    memcpy(hp->arch_name, arch.ptr, arch.len);
    hp->arch_name[arch.len] = 0;
    for (size_t i = 0; i < arch.len; i++)
        if ((unsigned char)hp->arch_name[i] < 0x20 || (unsigned char)hp->arch_name[i] > 0x7e) hp->arch_name[i] = '?';
    if (!strcmp(hp->arch_name, "llama")) {
        hp->arch = MDL_ARCH_LLAMA;
        hp->rope_kind = MDL_ROPE_NORM;
    } else if (!strcmp(hp->arch_name, "qwen2")) {
        hp->arch = MDL_ARCH_QWEN2;
        hp->rope_kind = MDL_ROPE_NEOX;
        hp->has_qkv_bias = true;
    } else {
        return cirrus_errf(L->err, CIRRUS_ERR_UNSUPPORTED,
                           "model: architecture '%s' is not supported (supported: llama, qwen2)", hp->arch_name);
    }
    gguf_str name;
    if (gguf_get_str(m->g, "general.name", &name)) {
        size_t n = name.len < sizeof hp->name - 1 ? name.len : sizeof hp->name - 1;
        memcpy(hp->name, name.ptr, n);
        hp->name[n] = 0;
    }

    cirrus_status st;
    if ((st = need_u32(L, "embedding_length", 1, 1 << 16, &hp->n_embd)) ||
        (st = need_u32(L, "block_count", 1, 1024, &hp->n_layer)) ||
        (st = need_u32(L, "feed_forward_length", 1, 1 << 20, &hp->n_ff)) ||
        (st = need_u32(L, "attention.head_count", 1, 1024, &hp->n_head)))
        return st;
    uint32_t v;
    hp->n_head_kv = hp->n_head;
    if (get_arch_u32(m->g, hp->arch_name, "attention.head_count_kv", &v)) hp->n_head_kv = (int32_t)v;
    if (hp->n_head_kv < 1 || hp->n_head % hp->n_head_kv != 0)
        return cirrus_errf(L->err, CIRRUS_ERR_RANGE, "model: head_count_kv %d does not divide head_count %d",
                           hp->n_head_kv, hp->n_head);
    hp->head_dim = hp->n_embd / hp->n_head;
    if (get_arch_u32(m->g, hp->arch_name, "attention.key_length", &v)) hp->head_dim = (int32_t)v;
    if (hp->head_dim < 2 || hp->head_dim > 1024 || hp->head_dim % 2)
        return cirrus_errf(L->err, CIRRUS_ERR_RANGE, "model: head dimension %d unsupported", hp->head_dim);
    hp->n_ctx_train = 2048;
    if (get_arch_u32(m->g, hp->arch_name, "context_length", &v)) hp->n_ctx_train = v > (1u << 24) ? 1 << 24 : (int32_t)v;
    hp->n_rot = hp->head_dim;
    if (get_arch_u32(m->g, hp->arch_name, "rope.dimension_count", &v)) hp->n_rot = (int32_t)v;
    if (hp->n_rot < 2 || hp->n_rot > hp->head_dim || hp->n_rot % 2)
        return cirrus_errf(L->err, CIRRUS_ERR_RANGE, "model: rope.dimension_count %d invalid for head dim %d",
                           hp->n_rot, hp->head_dim);
    hp->norm_eps = 1e-5f;
    get_arch_f32(m->g, hp->arch_name, "attention.layer_norm_rms_epsilon", &hp->norm_eps);
    if (!(hp->norm_eps > 0 && hp->norm_eps < 1))
        return cirrus_errf(L->err, CIRRUS_ERR_RANGE, "model: layer_norm_rms_epsilon %g invalid", (double)hp->norm_eps);
    hp->rope_base = 10000.0f;
    get_arch_f32(m->g, hp->arch_name, "rope.freq_base", &hp->rope_base);
    if (!(hp->rope_base > 1))
        return cirrus_errf(L->err, CIRRUS_ERR_RANGE, "model: rope.freq_base %g invalid", (double)hp->rope_base);
    hp->rope_freq_scale = 1.0f;
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", hp->arch_name);
    gguf_str stype;
    if (gguf_get_str(m->g, key, &stype) && gguf_str_eq(stype, "linear")) {
        float factor = 1;
        if (get_arch_f32(m->g, hp->arch_name, "rope.scaling.factor", &factor) && factor > 0)
            hp->rope_freq_scale = 1.0f / factor;
    } else if (get_arch_f32(m->g, hp->arch_name, "rope.scale_linear", &hp->rope_freq_scale)) {
        if (!(hp->rope_freq_scale > 0)) hp->rope_freq_scale = 1.0f;
        hp->rope_freq_scale = 1.0f / hp->rope_freq_scale;
    }
    return CIRRUS_OK;
}

/*
 * Copies the matrices the kernels have a packed layout for (kn_pack) into one slab and drops the
 * file's pages of each one copied, so resident memory stays about the file's size. Token
 * embeddings stay as they are (the forward pass reads their rows), and so does a tied output.
 * Packing is an optimisation: if the slab cannot be mapped the model runs from the file's layout
 * (the slab's pages are only committed as they are written, so with overcommit a real shortage
 * shows up later, as it would for the KV cache).
 */
static void pack_weights(mdl_model *m) {
    enum { PER_LAYER = 7 };
    const int n = m->hp.n_layer * PER_LAYER + 1;
    mdl_weight **all = malloc(sizeof *all * (size_t)n);
    const void **src = malloc(sizeof *src * (size_t)n);
    if (!all || !src) goto out;
    int k = 0;
    for (int il = 0; il < m->hp.n_layer; il++) {
        mdl_layer *l = &m->layers[il];
        mdl_weight *w[PER_LAYER] = {&l->wq, &l->wk, &l->wv, &l->wo, &l->w_gate, &l->w_up, &l->w_down};
        for (int i = 0; i < PER_LAYER; i++) all[k++] = w[i];
    }
    if (!m->hp.tied_embeddings) all[k++] = &m->output;
    size_t total = 0;
    for (int i = 0; i < k; i++) total += (kn_pack_size(all[i]->type, all[i]->rows, all[i]->cols) + 63) / 64 * 64;
    if (total == 0) goto out;
    m->packed_slab = cirrus_big_alloc(total);
    if (!m->packed_slab) {
        CIRRUS_WARN("model: no memory to repack %zu MiB of weights; running from the file's layout", total >> 20);
        goto out;
    }
    m->packed_bytes = total;
    size_t off = 0;
    for (int i = 0; i < k; i++) {
        mdl_weight *w = all[i];
        src[i] = NULL;
        const size_t sz = kn_pack_size(w->type, w->rows, w->cols);
        if (!sz) continue;
        uint8_t *dst = (uint8_t *)m->packed_slab + off;
        kn_pack(w->type, w->data, w->rows, w->cols, dst);
        gguf_drop_pages(m->g, w->data, sz); /* now, so the file's copy never adds to the peak */
        src[i] = w->data;
        w->data = dst;
        w->packed = true;
        off += (sz + 63) / 64 * 64;
    }
    /* and again: reading the next tensor may have faulted the edge of a dropped one back in */
    for (int i = 0; i < k; i++)
        if (src[i]) gguf_drop_pages(m->g, src[i], kn_row_size(all[i]->type, all[i]->cols) * (size_t)all[i]->rows);
out:
    free(all);
    free(src);
}

static cirrus_status bind_layer(loader *L, int il) {
    const mdl_hparams *hp = &L->m->hp;
    mdl_layer *l = &L->m->layers[il];
    int64_t C = hp->n_embd, QD = (int64_t)hp->n_head * hp->head_dim, KVD = (int64_t)hp->n_head_kv * hp->head_dim,
            F = hp->n_ff;
    char name[96];
    cirrus_status st;
#define T(suffix) (snprintf(name, sizeof name, "blk.%d." suffix, il), name)
    if ((st = bind_vector(L, T("attn_norm.weight"), C, false, &l->attn_norm)) ||
        (st = bind_matrix(L, T("attn_q.weight"), C, QD, false, &l->wq)) ||
        (st = bind_matrix(L, T("attn_k.weight"), C, KVD, false, &l->wk)) ||
        (st = bind_matrix(L, T("attn_v.weight"), C, KVD, false, &l->wv)) ||
        (st = bind_matrix(L, T("attn_output.weight"), QD, C, false, &l->wo)) ||
        (st = bind_vector(L, T("ffn_norm.weight"), C, false, &l->ffn_norm)) ||
        (st = bind_matrix(L, T("ffn_gate.weight"), C, F, false, &l->w_gate)) ||
        (st = bind_matrix(L, T("ffn_up.weight"), C, F, false, &l->w_up)) ||
        (st = bind_matrix(L, T("ffn_down.weight"), F, C, false, &l->w_down)))
        return st;
    bool opt = hp->arch != MDL_ARCH_QWEN2;
    if ((st = bind_vector(L, T("attn_q.bias"), QD, opt, &l->bq)) ||
        (st = bind_vector(L, T("attn_k.bias"), KVD, opt, &l->bk)) ||
        (st = bind_vector(L, T("attn_v.bias"), KVD, opt, &l->bv)))
        return st;
#undef T
    return CIRRUS_OK;
}

static cirrus_status load(const char *path, bool pack, mdl_model **out, cirrus_err *err) {
    mdl_model *m = calloc(1, sizeof *m);
    if (!m) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "model: out of memory");
    loader L = {.m = m, .err = err};
    cirrus_status st = gguf_open(path, &m->g, err);
    if (st) goto fail;
    if ((st = read_hparams(&L))) goto fail;
    mdl_hparams *hp = &m->hp;

    const gguf_tensor *te = gguf_find_tensor(m->g, "token_embd.weight");
    if (!te || te->n_dims < 2 || te->ne[1] < 1 || te->ne[1] > (1u << 24)) {
        st = cirrus_errf(err, CIRRUS_ERR_FORMAT, "model: tensor 'token_embd.weight' missing or not 2-D");
        goto fail;
    }
    hp->n_vocab = (int32_t)te->ne[1];

    int64_t C = hp->n_embd, QD = (int64_t)hp->n_head * hp->head_dim, KVD = (int64_t)hp->n_head_kv * hp->head_dim;
    /* Vectors: 2 norms per layer + biases + output norm + rope factors. */
    L.slab_cap = (size_t)hp->n_layer * (size_t)(2 * C + QD + 2 * KVD) + (size_t)C + (size_t)hp->n_rot;
    m->f32_slab = L.slab = cirrus_alloc_aligned(L.slab_cap, sizeof(float));
    m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers);
    if (!m->f32_slab || !m->layers) {
        st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "model: out of memory");
        goto fail;
    }
    if ((st = bind_matrix(&L, "token_embd.weight", C, hp->n_vocab, false, &m->tok_embd)) ||
        (st = bind_vector(&L, "output_norm.weight", C, false, &m->output_norm)) ||
        (st = bind_matrix(&L, "output.weight", C, hp->n_vocab, true, &m->output)))
        goto fail;
    if (!m->output.data) {
        hp->tied_embeddings = true;
        m->output = m->tok_embd;
    }
    if ((st = bind_vector(&L, "rope_freqs.weight", hp->n_rot / 2, true, &m->rope_freqs))) goto fail;
    hp->has_rope_freqs = m->rope_freqs != NULL;
    for (int il = 0; il < hp->n_layer; il++)
        if ((st = bind_layer(&L, il))) goto fail;
    if (pack) pack_weights(m);
    *out = m;
    return CIRRUS_OK;
fail:
    mdl_free(m);
    return st;
}

cirrus_status mdl_load(const char *path, mdl_model **out, cirrus_err *err) { return load(path, true, out, err); }

cirrus_status mdl_load_info(const char *path, mdl_model **out, cirrus_err *err) {
    return load(path, false, out, err);
}

void mdl_free(mdl_model *m) {
    if (!m) return;
    gguf_close(m->g);
    cirrus_big_free(m->packed_slab, m->packed_bytes);
    cirrus_free_aligned(m->f32_slab);
    free(m->layers);
    free(m);
}

const mdl_hparams *mdl_get_hparams(const mdl_model *m) { return &m->hp; }
const gguf_ctx *mdl_get_gguf(const mdl_model *m) { return m->g; }

uint64_t mdl_weight_bytes(const mdl_model *m) {
    const mdl_weight *all[9];
    uint64_t total = m->tok_embd.row_bytes; /* one embedding row per token */
    for (int il = 0; il < m->hp.n_layer; il++) {
        const mdl_layer *l = &m->layers[il];
        all[0] = &l->wq, all[1] = &l->wk, all[2] = &l->wv, all[3] = &l->wo;
        all[4] = &l->w_gate, all[5] = &l->w_up, all[6] = &l->w_down;
        for (int i = 0; i < 7; i++) total += all[i]->row_bytes * (uint64_t)all[i]->rows;
    }
    total += m->output.row_bytes * (uint64_t)m->output.rows;
    return total;
}
