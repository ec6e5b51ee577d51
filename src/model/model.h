/*
 * model — transformer architectures over GGUF weights: binding tensors, the batched forward pass,
 * the KV cache, and synthesizing random-weight models of real shapes.
 *
 * Supported: `llama` (Llama 2/3.x incl. llama3 rope scaling via rope_freqs, Mistral, TinyLlama;
 * GQA/MQA; tied embeddings when output.weight is absent) and `qwen2` (QKV biases, NEOX rope).
 * Anything else is refused by name at load.
 *
 * A model is immutable after load and may be shared by several contexts. A context (mdl_ctx) owns
 * the KV cache for n_seq sequences of n_ctx positions each, the activation slabs for batches of up
 * to n_batch tokens, and a thread pool. Nothing is allocated inside mdl_forward.
 */
#ifndef CIRRUS_MODEL_H
#define CIRRUS_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/core.h"
#include "gguf/gguf.h"
#include "kernels/kernels.h"

typedef enum { MDL_ARCH_LLAMA, MDL_ARCH_QWEN2 } mdl_arch;
typedef enum { MDL_ROPE_NORM, MDL_ROPE_NEOX } mdl_rope_kind;

typedef struct {
    mdl_arch arch;
    char arch_name[32];
    char name[128];       /* general.name, may be empty */
    int32_t n_vocab;
    int32_t n_embd;       /* C: model width */
    int32_t n_layer;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t head_dim;     /* n_embd / n_head unless the file says otherwise */
    int32_t n_ff;
    int32_t n_ctx_train;
    int32_t n_rot;        /* rope dimensions per head */
    float norm_eps;
    float rope_base;
    float rope_freq_scale; /* 1 / linear scaling factor */
    mdl_rope_kind rope_kind;
    bool tied_embeddings;
    bool has_qkv_bias;
    bool has_rope_freqs;   /* llama3-style per-dimension frequency factors */
} mdl_hparams;

typedef struct mdl_model mdl_model;

cirrus_status mdl_load(const char *path, mdl_model **out, cirrus_err *err);
/* As mdl_load, with every check, but without preparing the weights for the forward pass (no
 * repacking, kernels_impl.h): for callers that only read shapes and metadata (`cirrus model
 * info`). The forward pass works on such a model too, from the file's layout. */
cirrus_status mdl_load_info(const char *path, mdl_model **out, cirrus_err *err);
void mdl_free(mdl_model *m);
const mdl_hparams *mdl_get_hparams(const mdl_model *m);
const gguf_ctx *mdl_get_gguf(const mdl_model *m);
/* Bytes of weights read per token in decode (every matrix once + one embedding row). */
uint64_t mdl_weight_bytes(const mdl_model *m);

/* ---- inference context ------------------------------------------------------------------- */

typedef struct {
    int32_t n_ctx;    /* positions per sequence */
    int32_t n_seq;    /* sequences (KV slots) */
    int32_t n_batch;  /* max tokens per mdl_forward call */
    int32_t n_out;    /* max rows of logits per call (0: n_seq); each row costs n_vocab floats */
    int32_t n_threads;
} mdl_ctx_params;

typedef struct mdl_ctx mdl_ctx;

cirrus_status mdl_ctx_new(const mdl_model *m, const mdl_ctx_params *p, mdl_ctx **out, cirrus_err *err);
void mdl_ctx_free(mdl_ctx *c);
const mdl_ctx_params *mdl_ctx_get_params(const mdl_ctx *c);
/* Bytes of KV cache this context holds. */
uint64_t mdl_ctx_kv_bytes(const mdl_ctx *c);

/*
 * One forward pass over n tokens (1 <= n <= n_batch). Token i is at position pos[i] of sequence
 * seq[i]; its K/V are written to that slot before attention, so a token attends to positions
 * [0, pos[i]] of its sequence — earlier calls' tokens and earlier tokens of this batch alike. The
 * caller keeps positions of a sequence contiguous from 0.
 * want[i] (NULL = only the last token) selects the tokens whose logits are computed; *logits then
 * points to n_out rows of n_vocab floats, owned by the context and valid until the next call.
 */
typedef struct {
    int32_t n;
    const int32_t *tokens;
    const int32_t *pos;
    const int32_t *seq;
    const bool *want;
} mdl_batch;

cirrus_status mdl_forward(mdl_ctx *c, const mdl_batch *b, const float **logits, int32_t *n_out,
                          cirrus_err *err);

/* Copies positions [0, n_pos) of sequence src into dst (prefix reuse, n > 1 completions). */
void mdl_seq_copy(mdl_ctx *c, int32_t src, int32_t dst, int32_t n_pos);

/* ---- synthesis ---------------------------------------------------------------------------- */

typedef struct {
    const char *shape;      /* "tiny", "tinyllama-1.1b", "llama-3.2-1b", "qwen2.5-0.5b" */
    kn_type type;           /* F32, F16, BF16, Q8_0, Q4_0, Q4_K (=Q4_K_M mix if mostly_q4_k_m), Q5_K, Q6_K */
    bool k_m_mix;           /* llama.cpp's Q4_K_M / Q5_K_M recipe: Q6_K for output and some v/down */
    const char *vocab_from; /* copy tokenizer.* metadata from this GGUF, or NULL */
    uint64_t seed;
    int32_t n_threads;
} mdl_synth_params;

/* Names of the built-in shapes, NULL-terminated. */
const char *const *mdl_synth_shapes(void);
cirrus_status mdl_synth(const mdl_synth_params *p, const char *out_path, cirrus_err *err);

#endif
