/*
 * sched — the engine loop for one loaded model: continuous batching over a fixed set of KV slots,
 * chunked prefill interleaved with decoding, per-tenant fair queues, and a per-tenant prefix cache.
 *
 * Threads: sched_new starts one engine thread. Any thread may submit, poll, cancel and free
 * requests; only the engine thread touches the model context. Tokens travel to the request's
 * owner through a per-request event queue (sched_poll), so HTTP threads never run the model.
 *
 * Request states:  QUEUED -> (admitted: KV slot(s) reserved) PREFILL -> DECODE -> DONE
 *                  any state -> DONE(cancelled) on sched_cancel / sched_req_free / shutdown
 *
 * Invariants:
 *  1. A request is admitted only when a free slot exists for each of its choices and
 *     prompt + max_tokens fits n_ctx: generation can never run out of KV memory mid-way.
 *  2. Each engine step runs one forward pass holding the next token of every decoding sequence
 *     that its tenant's fair share allows (all of them when one tenant is active) plus at most
 *     (n_batch - decoding) prompt tokens of prefilling requests, so a long prompt never stalls
 *     running streams for more than one step.
 *  3. Waiting requests are picked by weighted deficit round robin over tenants, counted in tokens
 *     (prompt + max_tokens); a tenant under its reserved tokens-per-minute goes first. While
 *     tenants contend, each holds at most its weighted share of slots and decodes at most its
 *     weighted share of tokens per step (equal tokens/s for equal weights; see sched.c).
 *  4. A prefix cached for tenant A is never reused for tenant B.
 *  5. Every submitted request ends with exactly one final event per choice (finish != NONE).
 *
 * sched knows nothing of SQL or JSON.
 */
#ifndef CIRRUS_SCHED_H
#define CIRRUS_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "core/core.h"
#include "model/model.h"
#include "sample/sample.h"
#include "tokenizer/tokenizer.h"

typedef struct sched sched;
typedef struct sched_req sched_req;

typedef struct {
    const mdl_model *model;  /* borrowed, outlives the scheduler */
    const tok_vocab *vocab;  /* borrowed */
    int32_t n_threads;
    int32_t n_ctx;           /* max positions per sequence */
    int32_t n_slots;         /* sequences resident in the KV cache (KV bytes ~ n_slots * n_ctx) */
    int32_t n_batch;         /* max tokens per forward pass (decode + prefill chunk), e.g. 256;
                              * >= n_slots, so every running sequence fits in one step */
    int32_t max_queue;       /* waiting requests (all tenants) before submit answers FULL; 0: 256 */
    bool prefix_cache;
} sched_params;

#define SCHED_TENANT_MAX 64
#define SCHED_MAX_CHOICES 16
#define SCHED_WEIGHT_MAX 1000
#define SCHED_DEFAULT_QUEUE 256

typedef struct {
    char tenant[SCHED_TENANT_MAX]; /* fairness key; empty = "default" */
    uint32_t weight;               /* DRR weight, 1..SCHED_WEIGHT_MAX; 0 is taken as 1 */
    uint32_t reserved_tpm;         /* tokens/minute served first; 0 = none */
    const int32_t *prompt;         /* copied by submit */
    int32_t n_prompt;
    int32_t max_tokens;            /* per choice */
    int32_t n_choices;             /* 1..SCHED_MAX_CHOICES (OpenAI `n`) */
    smp_params sampling;           /* bias array copied by submit; choice i uses seed + i */
    int32_t n_logprobs;            /* -1: none; 0..SMP_MAX_TOP_LOGPROBS */
    const char *stops[SMP_MAX_STOPS];
    int32_t n_stops;
    /* Called by the engine thread after it pushes events for this request (may be NULL). Must be
     * quick and must not call back into sched except sched_poll-free functions. Never called
     * once sched_req_free has returned (sched_req_free waits for a call in progress, so don't
     * call sched_req_free while holding a lock that notify takes). */
    void (*notify)(void *arg);
    void *notify_arg;
    /* Extra logit processors for every choice's sampler, after the penalties (the provider's
     * watermark). Borrowed: free must be NULL and the state must outlive the request. */
    smp_proc procs[2];
    int32_t n_procs;
    /* A processor with state of its own per sequence (a grammar's matcher: grm_choice_proc in
     * grammar/grammar.h), made once per choice at submit and run before `procs`, so they see only
     * what it allows. The choice's chain owns what it makes (its free runs with the chain). A
     * failure fails the submit with its status and message. NULL: none. */
    cirrus_status (*choice_proc)(void *arg, int32_t choice, smp_proc *out, cirrus_err *err);
    void *choice_proc_arg;
} sched_req_params;

typedef enum {
    SCHED_FINISH_NONE = 0,
    SCHED_FINISH_STOP,      /* EOS/EOT or a stop sequence */
    SCHED_FINISH_LENGTH,    /* max_tokens or context end */
    SCHED_FINISH_CANCELLED,
    SCHED_FINISH_ERROR,
} sched_finish;

#define SCHED_TEXT_MAX 512
typedef struct {
    int32_t choice;
    int32_t token;               /* -1 on a final event that carries no token */
    char text[SCHED_TEXT_MAX];   /* UTF-8 delta: complete characters, stop strings held back */
    uint32_t text_len;
    bool has_logprobs;
    smp_logprobs lp;
    sched_finish finish;         /* != NONE: this choice has ended (text may still carry a flush) */
    uint64_t step;               /* engine step that produced it (sched_stats.steps numbering) */
} sched_event;

typedef struct {
    /* Prompt tokens the engine has processed (cached ones included): 0 while queued -- a request
     * cancelled or dropped there (shutdown) cost nothing and is billed nothing -- growing with
     * each prefill chunk, the whole prompt once its prefill ran. */
    uint32_t prompt_tokens;
    uint32_t cached_tokens;      /* prompt tokens served from the tenant's prefix cache (0 until prefill) */
    uint32_t completion_tokens;  /* all choices; a sampled EOS counts (the model computed it) */
    uint64_t t_submit_ns, t_admit_ns, t_first_token_ns, t_done_ns; /* cirrus_now_ns, 0 if not reached */
} sched_usage;

typedef struct {
    int32_t queued, running, slots_used, slots_total;
    uint64_t kv_bytes_total, kv_bytes_used; /* used: slots held by running requests */
    uint64_t steps, tokens_prefilled, tokens_generated;
    int32_t slots_cached;        /* free slots that keep a tenant's prefix (reclaimed LRU) */
    int32_t tenants;             /* tenants known to the scheduler */
    uint64_t tokens_cached;      /* prompt tokens served from prefix caches */
} sched_stats;

/* Per-tenant counters since the tenant was first seen (for /metrics). The table holds up to
 * SCHED_TENANTS_MAX tenants; an idle tenant may be forgotten (counters restart) when it is full. */
#define SCHED_TENANTS_MAX 1024
typedef struct {
    char tenant[SCHED_TENANT_MAX];
    uint64_t requests, prompt_tokens, cached_tokens, generated_tokens;
    int32_t queued, running;     /* requests */
    int32_t slots_held;
} sched_tenant_stats;

cirrus_status sched_new(const sched_params *p, sched **out, cirrus_err *err);
/* Stops accepting, lets running requests finish until deadline_ns (cirrus_now_ns clock), then
 * cancels the rest; returns when the engine is idle. */
void sched_shutdown(sched *s, uint64_t deadline_ns);
/* Shuts down now if still running. Handles of requests not freed yet stay readable (their final
 * events are queued) and must still be released with sched_req_free. */
void sched_free(sched *s);

/* CIRRUS_ERR_FULL: queue full or shutting down (HTTP 503 + Retry-After).
 * CIRRUS_ERR_RANGE: prompt + max_tokens exceeds n_ctx, or n_choices > slots (HTTP 400).
 * CIRRUS_ERR_INVALID: bad parameters (HTTP 400). err names the field. */
cirrus_status sched_submit(sched *s, const sched_req_params *p, sched_req **out, cirrus_err *err);

/* Waits up to timeout_ms (0 = don't wait, -1 = forever) for the next event.
 * Returns 1 with *ev filled, 0 on timeout, -1 when every choice has ended and all events were read. */
int sched_poll(sched_req *r, sched_event *ev, int timeout_ms);
/* Cancels (idempotent, any thread): the engine drops the request's sequences within one step. */
void sched_cancel(sched_req *r);
void sched_req_usage(const sched_req *r, sched_usage *u);
/* Releases the caller's handle; cancels first if not done. */
void sched_req_free(sched_req *r);

void sched_get_stats(sched *s, sched_stats *out);
/* Fills up to cap entries; returns the number of tenants (may exceed cap). */
int32_t sched_get_tenant_stats(sched *s, sched_tenant_stats *out, int32_t cap);

#endif
