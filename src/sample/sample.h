/*
 * sample — turning a row of logits into the next token.
 *
 * A sampler is a chain: logit processors run in order over a candidate array (id, logit), then a
 * final selection step picks one id. Processors are open: later modules (the watermark of the
 * protection issue) add their own through smp_chain_add() without touching this module.
 *
 * Built-in order (what llama.cpp and the OpenAI API users expect):
 *   logit_bias -> repetition / presence / frequency penalties -> [custom processors]
 *   -> greedy, or: top-k -> top-p -> min-p -> temperature -> seeded draw
 * Logprobs are computed from the model's raw distribution (before bias, penalties and the
 * watermark): what the API returns must not reveal the processors (extraction guard), and is what
 * the model "believes".
 *
 * Determinism: the same seed, logits and history give the same ids.
 */
#ifndef CIRRUS_SAMPLE_H
#define CIRRUS_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

typedef struct {
    int32_t id;
    float logit;
} smp_cand;

typedef struct {
    smp_cand *data;
    size_t n;
    bool sorted; /* descending by logit */
} smp_cands;

/* Tokens seen so far in this sequence (prompt + generated), for penalties and processors that
 * look back (the watermark hashes the previous h tokens). */
typedef struct {
    const int32_t *ids;
    size_t n;
    size_t n_prompt; /* ids[0..n_prompt) are the prompt */
} smp_history;

/* A custom processor. apply() may change logits, drop candidates (shrink n) or reorder (then clear
 * sorted). state is owned by the processor; free() (may be NULL) releases it with the chain. */
typedef struct smp_proc {
    const char *name;
    void (*apply)(struct smp_proc *p, smp_cands *c, const smp_history *h);
    void (*free)(struct smp_proc *p);
    void *state;
} smp_proc;

typedef struct {
    int32_t id;
    float bias; /* added to the logit; -100 or less bans the token (OpenAI semantics) */
} smp_bias;

typedef struct {
    float temperature;        /* 0 => greedy. default 0.8 */
    int32_t top_k;            /* <= 0 => off. default 40 */
    float top_p;              /* >= 1 => off. default 0.95 */
    float min_p;              /* <= 0 => off. default 0.05 */
    float repeat_penalty;     /* 1 => off. llama.cpp's multiplicative penalty */
    int32_t repeat_last_n;    /* window for all penalties; -1 => whole history, 0 => off */
    float presence_penalty;   /* OpenAI: -2..2, subtract if the token occurred */
    float frequency_penalty;  /* OpenAI: -2..2, subtract count * penalty */
    bool penalize_prompt;     /* OpenAI penalises generated tokens only (false); llama.cpp all */
    uint64_t seed;
    const smp_bias *bias;     /* copied at chain creation */
    size_t n_bias;
} smp_params;

void smp_params_default(smp_params *p);
/* Range-checks every field (for user input): names the bad one in err. */
cirrus_status smp_params_check(const smp_params *p, int32_t n_vocab, cirrus_err *err);

typedef struct smp_chain smp_chain;

cirrus_status smp_chain_new(const smp_params *p, int32_t n_vocab, smp_chain **out);
void smp_chain_free(smp_chain *c);
/* Appends a custom processor, run after the penalties and before truncation / selection. On
 * success the chain takes ownership (proc->free runs at smp_chain_free); on failure (CIRRUS_ERR_FULL
 * past SMP_MAX_PROCS, CIRRUS_ERR_INVALID without apply) the caller keeps it. */
#define SMP_MAX_PROCS 8
cirrus_status smp_chain_add(smp_chain *c, const smp_proc *proc);

/* Top-N logprobs of one step. */
#define SMP_MAX_TOP_LOGPROBS 20
typedef struct {
    int32_t id;
    float logprob;              /* of the chosen token, in the raw distribution */
    int32_t n_top;
    int32_t top_ids[SMP_MAX_TOP_LOGPROBS];
    float top_logprobs[SMP_MAX_TOP_LOGPROBS];
} smp_logprobs;

/*
 * Picks the next token from logits (n_vocab floats, not modified). h may be NULL (no history;
 * processors then see an empty one). If lp is non-NULL and
 * n_logprobs >= 0, fills it (n_logprobs alternatives, capped at SMP_MAX_TOP_LOGPROBS).
 * Allocation-free: the candidate buffer is owned by the chain.
 * If bias, penalties and processors leave no candidate with a finite logit (a request that bans
 * every token), it returns the argmax of the raw logits rather than an invalid id.
 */
int32_t smp_sample(smp_chain *c, const float *logits, const smp_history *h, int n_logprobs,
                   smp_logprobs *lp);

/*
 * Debug / test hook: the candidates the last smp_sample() chose among, in the chain's buffer
 * (valid until the next call). After sampling: what survived top-k / top-p / min-p (logits before
 * the temperature, which the draw applies). After greedy: what survived the custom processors.
 * 0 if the last call fell back (every candidate removed) or nothing was sampled yet.
 */
size_t smp_chain_last_cands(const smp_chain *c, const smp_cand **out);

/* ---- stop sequences ------------------------------------------------------------------------ */

/*
 * Matches stop strings on streamed text. Text is pushed as it is produced; the matcher releases
 * only what can no longer be the start of a stop string, so a client never sees part of a stop
 * sequence. Up to 4 stop strings (OpenAI's limit), each up to 256 bytes.
 */
#define SMP_MAX_STOPS 4
#define SMP_MAX_STOP_LEN 256
typedef struct {
    char stops[SMP_MAX_STOPS][SMP_MAX_STOP_LEN + 1];
    size_t stop_len[SMP_MAX_STOPS];
    int n_stops;
    char held[SMP_MAX_STOP_LEN];
    size_t n_held;
    bool stopped;
} smp_stop;

cirrus_status smp_stop_init(smp_stop *s, const char *const *stops, int n, cirrus_err *err);
/* Feeds text; writes releasable text to out (cap >= len + SMP_MAX_STOP_LEN suffices) and returns
 * its length. Sets s->stopped when a stop string completes (the stop string itself is never
 * released, nor anything after it). */
size_t smp_stop_push(smp_stop *s, const char *text, size_t len, char *out, size_t cap);
/* At the end of generation (not stopped): releases what was held. */
size_t smp_stop_flush(smp_stop *s, char *out, size_t cap);

#endif
