/*
 * guard — protecting the provider's models: the output watermark and its detectors (text,
 * corpus radioactivity, open-model radioactivity), and the extraction guard's pieces that live
 * outside the engine (logit_bias sweep detection, top_logprobs cap).
 *
 * The watermark (docs/protection.md has the plain-words version):
 *   Kirchenbauer et al. 2023 ("A Watermark for Large Language Models"): at each step a keyed
 *   pseudorandom function of the recent tokens marks a fraction gamma of the vocabulary green;
 *   green logits get +delta. Detection counts green tokens and runs a one-sided binomial test.
 *   Seeding is the SelfHash / anchored min-hash scheme of Kirchenbauer et al. 2023b ("On the
 *   Reliability of Watermarks for Large Language Models", their "selfhash" = anchored_minhash_prf
 *   with self-salting): for a candidate w after context x[t-h..t-1],
 *       a     = argmin over {x[t-h], ..., x[t-1], w} of u(.)       u(id) = SipHash-2-4_k1(id)
 *       green = mix_k2(u(a), w) < gamma * 2^64
 *   The seed depends on one anchor token (the min-hash) and on the candidate itself, so it
 *   survives edits of the other context tokens (robustness), differs per candidate (no single
 *   green list per context to learn), and is cheap enough to run over every candidate (see
 *   watermark.c for the speed and security trade-off of the per-candidate mixer).
 *   Note h counts the *previous* tokens; the reference code's context_width counts the candidate
 *   too (its selfhash width 4 = our h 3). Our default h = 4 (window of 5 with the candidate).
 *
 * Detection scores every distinct (anchor, token) pair once. The green bit is a function of
 * exactly that pair, so two positions with the same pair are one coin flip, not two: counting it
 * twice is what makes naive p-values invalid on repetitive text and large corpora (Sander et al.
 * 2024, "Watermarking Makes Language Models Radioactive"). Distinct (context, token) tuples map
 * to fewer distinct pairs; deduplicating on the pair is stricter and exact.
 *
 * guard must not know SQL; the engine modules must not include guard (the api and cli wire it).
 */
#ifndef CIRRUS_GUARD_H
#define CIRRUS_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "sample/sample.h"

/* ---- keys ---------------------------------------------------------------------------------- */

#define GUARD_KEY_BYTES 32

/* The provider's watermark secret. Never printed, logged or returned by an API; wipe when done. */
typedef struct {
    uint8_t bytes[GUARD_KEY_BYTES];
} guard_key;

/* 32 bytes from libsodium's CSPRNG. */
cirrus_status guard_key_generate(guard_key *out, cirrus_err *err);
/* A key file holds the key as 64 hex digits (optionally followed by a newline), or exactly 32 raw
 * bytes. A file readable by group or others is refused (a leaked key lets anyone forge or strip
 * the watermark). */
cirrus_status guard_key_load(const char *path, guard_key *out, cirrus_err *err);
/* Writes the hex form with mode 0600; refuses to replace an existing file unless overwrite. */
cirrus_status guard_key_save(const char *path, const guard_key *k, bool overwrite, cirrus_err *err);
/* Derives a key from a server secret (>= 16 bytes) and a label ("watermark/v1", "plan/pro"...):
 * BLAKE2b keyed with the secret over the label, so one server secret yields independent keys. */
cirrus_status guard_key_derive(const void *secret, size_t len, const char *label, guard_key *out,
                               cirrus_err *err);
void guard_key_wipe(guard_key *k);

/* ---- watermark ----------------------------------------------------------------------------- */

#define GUARD_WM_MAX_H 16

typedef struct {
    float gamma; /* green fraction, (0, 1). default 0.25 */
    float delta; /* added to green logits, [0, 50]. default 2.0 */
    int32_t h;   /* previous tokens hashed, [0, GUARD_WM_MAX_H]. default 4 */
} guard_wm_params;

void guard_wm_params_default(guard_wm_params *p);
cirrus_status guard_wm_params_check(const guard_wm_params *p, cirrus_err *err);

/* A keyed scheme for one vocabulary: immutable after creation, shared by every chain and thread.
 * Holds u(id) for every id (8 bytes each: 1.2 MiB for a 150k vocabulary) so the sampler never
 * runs SipHash per candidate. The key itself is not kept, only subkeys derived from it. */
typedef struct guard_wm guard_wm;

cirrus_status guard_wm_new(const guard_key *k, const guard_wm_params *p, int32_t n_vocab, guard_wm **out,
                           cirrus_err *err);
void guard_wm_free(guard_wm *w);
const guard_wm_params *guard_wm_get_params(const guard_wm *w);
int32_t guard_wm_n_vocab(const guard_wm *w);

/* The reference definition. ctx[0..n_ctx) are the tokens before w; the last h of them are used.
 * Ids outside [0, n_vocab) never anchor and are never green. *anchor (may be NULL) receives the
 * anchor id: (anchor, w) is the pair the green bit is a function of. */
bool guard_wm_green(const guard_wm *w, const int32_t *ctx, size_t n_ctx, int32_t id, int32_t *anchor);

/* The watermark as a sampler processor (smp_chain_add): adds delta to every green candidate.
 * guard_wm_proc borrows w, which must outlive the chain; guard_wm_proc_new builds its own scheme
 * and frees it with the chain. Allocation-free per step; cost is one table load and two 64x64
 * multiplies per candidate (`cirrus guard eval` prints the measured decode overhead). */
void guard_wm_proc(guard_wm *w, smp_proc *out);
cirrus_status guard_wm_proc_new(const guard_key *k, const guard_wm_params *p, int32_t n_vocab, smp_proc *out,
                                cirrus_err *err);

/* ---- detection ------------------------------------------------------------------------------ */

/* How a score becomes a verdict: p_value <= fpr when fpr > 0, else z >= z. */
typedef struct {
    double z;   /* default 4 */
    double fpr; /* 0 => use z */
} guard_verdict;

void guard_verdict_default(guard_verdict *v);

typedef struct {
    uint64_t n_positions; /* positions looked at (those with a full context of h tokens) */
    uint64_t n_scored;    /* distinct (anchor, token) pairs scored */
    uint64_t n_green;
    double gamma;
    double z;        /* (green - gamma T) / sqrt(T gamma (1 - gamma)), T = n_scored; 0 if T = 0 */
    double p_value;  /* exact binomial P(X >= green), X ~ Bin(T, gamma); 1 if T = 0 */
    double log10_p;  /* the same in log10, finite where p_value underflows */
    bool watermarked;
} guard_score;

/*
 * A detector accumulates scored pairs over any number of token sequences, deduplicating across
 * all of them (one text, or a corpus for radioactivity). The set of scored pairs is bounded by
 * GUARD_DET_MAX_PAIRS; past it the add functions return CIRRUS_ERR_FULL.
 */
#define GUARD_DET_MAX_PAIRS (1u << 24)
typedef struct guard_det guard_det;

cirrus_status guard_det_new(const guard_wm *w, guard_det **out);
void guard_det_free(guard_det *d);
/* Scores ids[h..n) of one text (each with its h previous tokens as context). Ids out of the
 * vocabulary are an error (CIRRUS_ERR_RANGE, naming the position). */
cirrus_status guard_det_add(guard_det *d, const int32_t *ids, size_t n, cirrus_err *err);
/*
 * Open-model radioactivity (Sander et al. 2024): pred[t] is a suspect model's top-1 prediction for
 * position t given ids[0..t) of a watermarked text (pred[t] < 0: none). Scores the pair
 * (anchor(ids[t-h..t-1], pred[t]), pred[t]) for t >= h, deduplicated with everything scored
 * before, except pairs that the text itself used at an earlier position: those were chosen by the
 * watermark *because* they are green, and a clean suspect that copies from its context would
 * score them green without having learnt anything from the watermarked data (detect.c).
 */
cirrus_status guard_det_add_pred(guard_det *d, const int32_t *ids, const int32_t *pred, size_t n,
                                 cirrus_err *err);
void guard_det_result(const guard_det *d, const guard_verdict *v, guard_score *out);

/* One text in one call. */
cirrus_status guard_detect(const guard_wm *w, const int32_t *ids, size_t n, const guard_verdict *v,
                           guard_score *out, cirrus_err *err);

/* Fills z, p_value, log10_p and watermarked of s from n_scored, n_green and gamma. */
void guard_score_finish(guard_score *s, const guard_verdict *v);

/* log P(X >= k) for X ~ Binomial(n, p), 0 < p < 1: summed in log space from the pmf at k, so it
 * stays accurate far into the tail (1e-300 and beyond) and for n in the millions. */
double guard_binom_log_sf(uint64_t k, uint64_t n, double p);

/* ---- extraction guard: logit_bias sweeps, top_logprobs ------------------------------------------ */

/*
 * A sweep (Carlini et al. 2024, "Stealing Part of a Production Language Model") biases many
 * different token ids across requests, a few per request, to read the output layer through
 * logprobs. Normal applications bias a small fixed set (ban a few tokens, force a label).
 * The detector counts, per tenant, the distinct token ids biased within a sliding window, and
 * alerts when that count reaches a threshold. Memory is bounded: at most max_ids tracked ids per
 * tenant (counts saturate there) and max_tenants tenants (the least recently active is dropped).
 * Thread-safe.
 */
typedef struct {
    uint64_t window_ns;  /* default 1 hour */
    uint32_t threshold;  /* distinct ids in the window that raise the alert; default 1000 */
    uint32_t max_ids;    /* tracked ids per tenant, >= threshold; default 4 * threshold */
    uint32_t max_tenants; /* default 4096 */
} guard_sweep_params;

typedef struct {
    uint32_t distinct; /* distinct biased ids in the window, after this request */
    bool alert;        /* distinct >= threshold */
    bool new_alert;    /* this request crossed the threshold */
} guard_sweep_result;

typedef struct guard_sweep guard_sweep;

void guard_sweep_params_default(guard_sweep_params *p);
cirrus_status guard_sweep_new(const guard_sweep_params *p, guard_sweep **out, cirrus_err *err);
void guard_sweep_free(guard_sweep *s);
/* Records one request's biased ids (duplicates allowed) at time now_ns (monotonic, per tenant
 * non-decreasing; an earlier time is treated as now). n = 0 just reports. */
cirrus_status guard_sweep_observe(guard_sweep *s, uint64_t tenant, uint64_t now_ns, const int32_t *ids,
                                  size_t n, guard_sweep_result *out);

/* The top_logprobs a request gets: min(requested, cap); cap comes from the plan (default
 * GUARD_TOP_LOGPROBS_CAP, 0 allowed: no alternatives at all). *clipped says the request asked for
 * more (worth a risk feature). */
#define GUARD_TOP_LOGPROBS_CAP 5
int32_t guard_top_logprobs(int32_t requested, int32_t cap, bool *clipped);

/* ---- traffic risk per tenant (risk.c) ---------------------------------------------------------- */

/*
 * Distillation harvesters and extraction probers look different from applications in what they
 * ask, not in any one request: a harvester sends many *diverse* instruction prompts and takes
 * long outputs up to max_tokens; a prober biases ever new token ids and reads logprobs. guard_risk
 * keeps, per tenant, a ring of the last GUARD_RISK_WINDOW request summaries plus 24 hourly volume
 * buckets, and turns them into features in [0, 1], a score 0..100 and the features that drove it
 * (docs/protection.md lists them with their weights). Bounded memory: max_tenants tenants (the
 * least recently seen is dropped), no allocation per request. One mutex per tenant for the
 * request path; a table mutex only to find or create the tenant. Thread-safe.
 * Policies (none/flag/throttle/block) are per tenant, in memory, set by the admin API.
 */
#define GUARD_RISK_WINDOW 256
#define GUARD_RISK_PROMPT_K 64 /* first prompt tokens that enter the MinHash signature */
#define GUARD_RISK_NAME_MAX 64
#define GUARD_RISK_ALERTS 128

typedef enum { GUARD_POLICY_NONE = 0, GUARD_POLICY_FLAG, GUARD_POLICY_THROTTLE, GUARD_POLICY_BLOCK } guard_policy;
const char *guard_policy_str(guard_policy p);
bool guard_policy_parse(const char *s, guard_policy *out);

typedef enum {
    GUARD_RF_DIVERSITY = 0, /* prompts neither near-duplicates nor sharing a template prefix */
    GUARD_RF_BREADTH,       /* distinct topic clusters (MinHash bands) per request */
    GUARD_RF_SATURATION,    /* share of requests that ended at max_tokens ("length") */
    GUARD_RF_OUT_RATIO,     /* output/input tokens (0.8 and above = 1) */
    GUARD_RF_SAMPLING,      /* distinct temperatures and n > 1 */
    GUARD_RF_LOGPROBS,      /* share asking logprobs together with logit_bias, or clipped top_logprobs */
    GUARD_RF_SWEEP,         /* distinct logit_bias ids in the window / sweep threshold */
    GUARD_RF_KEYS,          /* distinct API keys active in the window */
    GUARD_RF_VOLUME,        /* this hour against the tenant's previous hours */
    GUARD_RF_NEW_MODEL,     /* share of requests to a model added less than an hour ago */
    GUARD_RF_COUNT
} guard_risk_feature;
const char *guard_risk_feature_name(guard_risk_feature f);

typedef struct {
    uint32_t min_requests;  /* no score before this many requests in the window; default 50 */
    uint32_t alert_score;   /* score at or above it raises an alert (and flags); default 40 */
    uint32_t max_tenants;   /* default 4096 */
    uint32_t throttle_rpm;  /* a throttled tenant's requests per minute; default 6 */
    uint32_t sweep_threshold; /* distinct biased ids in the window for GUARD_RF_SWEEP = 1; default 200 */
} guard_risk_params;

/* One finished request. Pointers are borrowed for the call. */
typedef struct {
    const char *tenant;
    const char *model;
    int64_t key_id;
    const int32_t *prompt; /* the first n_prompt_ids ids of the prompt (<= GUARD_RISK_PROMPT_K used) */
    size_t n_prompt_ids;
    int64_t prompt_tokens, completion_tokens, max_tokens; /* max_tokens: per choice */
    bool finish_length;    /* any choice ended at max_tokens */
    float temperature;
    int32_t n;
    bool logprobs, top_logprobs_clipped;
    const int32_t *bias_ids;
    size_t n_bias;
} guard_risk_obs;

typedef struct {
    char tenant[GUARD_RISK_NAME_MAX];
    uint32_t score;         /* 0..100 */
    uint32_t n_window;      /* requests in the window */
    uint64_t n_total;
    guard_policy policy;
    bool flagged;           /* score >= alert_score */
    float feature[GUARD_RF_COUNT];
    float contrib[GUARD_RF_COUNT]; /* points each feature added to the score */
    guard_risk_feature top[3];     /* the largest contributions first */
} guard_risk_tenant;

typedef struct {
    uint64_t at_unix_ms;
    char tenant[GUARD_RISK_NAME_MAX];
    uint32_t score;
    char reason[128];
} guard_risk_alert;

typedef struct {
    guard_policy policy;
    bool deny;
    int http_status;       /* 403 block, 429 throttle */
    int64_t retry_after_ms;
} guard_risk_action;

typedef struct guard_risk guard_risk;

void guard_risk_params_default(guard_risk_params *p);
cirrus_status guard_risk_new(const guard_risk_params *p, guard_risk **out, cirrus_err *err);
void guard_risk_free(guard_risk *r);
/* now_ns: monotonic clock; tests pass their own. */
void guard_risk_observe(guard_risk *r, const guard_risk_obs *o, uint64_t now_ns);
/* A model became available (for the burst-after-launch feature). */
void guard_risk_model_added(guard_risk *r, const char *model, uint64_t now_ns);
/* The tenant's policy for one more request: block -> deny 403; throttle -> deny 429 unless the
 * tenant is under throttle_rpm; flag and none admit. */
void guard_risk_admit(guard_risk *r, const char *tenant, uint64_t now_ns, guard_risk_action *out);
cirrus_status guard_risk_set_policy(guard_risk *r, const char *tenant, guard_policy p, cirrus_err *err);
/* Every tracked tenant (up to max), highest score first; returns how many were written. */
size_t guard_risk_report(guard_risk *r, guard_risk_tenant *out, size_t max);
/* The most recent alerts, newest first; returns how many were written. */
size_t guard_risk_alerts(guard_risk *r, guard_risk_alert *out, size_t max);

#endif
