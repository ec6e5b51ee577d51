/* Private to the model module: the bound weights and the context's slabs. */
#ifndef CIRRUS_MODEL_INTERNAL_H
#define CIRRUS_MODEL_INTERNAL_H

#include "model/model.h"

/* A 2-D weight matrix: rows of `cols` elements of `type`, row-major in the mapping, or (packed)
 * copied into kn_pack's layout in the model's packed slab. */
typedef struct {
    const void *data;
    kn_type type;
    bool packed;
    int64_t rows; /* ne[1]: output features */
    int64_t cols; /* ne[0]: input features (row length) */
    size_t row_bytes;
} mdl_weight;

typedef struct {
    float *attn_norm;           /* (C) */
    mdl_weight wq, wk, wv, wo;  /* (H*D, C) (KV*D, C) (KV*D, C) (C, H*D) */
    float *bq, *bk, *bv;        /* qwen2 biases: (H*D) (KV*D) (KV*D), NULL for llama */
    float *ffn_norm;            /* (C) */
    mdl_weight w_gate, w_up;    /* (F, C) */
    mdl_weight w_down;          /* (C, F) */
} mdl_layer;

struct mdl_model {
    gguf_ctx *g;
    mdl_hparams hp;
    mdl_weight tok_embd;    /* (V, C) */
    float *output_norm;     /* (C) */
    mdl_weight output;      /* (V, C): tok_embd when tied */
    float *rope_freqs;      /* (n_rot/2) frequency divisors, NULL unless hp.has_rope_freqs */
    mdl_layer *layers;      /* n_layer */
    float *f32_slab;        /* owns every float* above (norms, biases, rope_freqs) */
    void *packed_slab;      /* owns the data of every packed weight (NULL if none) */
    size_t packed_bytes;    /* its size (cirrus_big_alloc) */
};

#endif
