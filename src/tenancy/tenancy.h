/*
 * tenancy — who may call which model, how fast, and up to what spend: tenants, API keys, plans,
 * limits and budgets, and the admission decision taken on every request.
 *
 * ============================ HOW THE API LAYER CALLS THIS ============================
 *
 *   at start:     tenancy_config c = {.db = path};              // opens store + ledger, recovers
 *                 tenancy_open(&c, &tn, &err);
 *   per request (HTTP thread; nothing here waits on disk):
 *     1. parse the body, count prompt tokens, know the effective max_tokens (>= 1)
 *     2. tenancy_admit(tn, bearer, bearer_len, &(tenancy_admit_args){id, model, n_prompt, max_tokens},
 *                      &d, &req)
 *          not admitted: reply d.http_status with OpenAI's error {message: d.message, type: d.type,
 *          code: d.code, param: d.param}; add the x-ratelimit-* headers when d.has_requests /
 *          d.has_tokens (tenancy_format_reset() gives OpenAI's "6m0s" form) and retry-after-ms
 *          (and Retry-After in seconds) when d.retry_after_ms > 0.
 *          admitted: add the same headers; g = tenancy_req_grant(req) has the tenant name,
 *          weight and reserved_tpm for sched_submit.
 *     3. while streaming, after handing tokens to the connection:
 *          tenancy_progress(tn, req, cached_tokens, completion_tokens_so_far)
 *     4. at the end (finished, cancelled by the client, failed):
 *          ticket = tenancy_settle(tn, req, &(tenancy_usage){prompt, cached, completion}, status)
 *        or, if it never reached the engine (queue full: 503): tenancy_release(tn, req, LEDGER_ERROR)
 *          req is gone after this call. For the final chunk to be exact across a crash, send it
 *          once tenancy_is_durable(tn, ticket) (poll from the connection's resume callback, or
 *          block with tenancy_sync: about one group commit, ~1-10 ms).
 *   admin endpoints: tenancy_authenticate(tn, key, len, TENANCY_NEED_ADMIN, &grant, &d); a tenant
 *   key reads only its own usage: compare grant.tenant_id.
 *   at shutdown:  settle every request, then tenancy_close(tn) (flushes the ledger).
 *
 * In the api's terms this replaces api_keyring: api_auth.resolve() becomes tenancy_authenticate,
 * and api_conc_acquire/release become tenancy_admit/tenancy_settle (which also enforce the
 * concurrency limit).
 * =======================================================================================
 *
 * INVARIANTS (state lives in the per-tenant counters of tenancy_admit.c)
 *   T1. spent + reserved <= budget_hard at every instant, for every tenant with a hard budget:
 *       admission reserves the request's worst-case cost (billing_worst_case) under the tenant's
 *       mutex only if it fits; settlement replaces the reservation by the actual cost, which is
 *       never more (completion <= max_tokens, prompt <= admitted prompt, clamped if not).
 *   T2. Every admitted request is settled exactly once (tenancy_settle frees the request), and has
 *       exactly one ledger record (ledger L1).
 *   T3. A key that is revoked, expired, or whose tenant is suspended is refused from the first
 *       admission after the change is visible: at once for changes made through tenancy_store(),
 *       within refresh_ms for changes made by another process (the CLI).
 *   T4. No SQL on the admission path: keys, plans and prices are an in-memory snapshot; the only
 *       write is the ledger's queue.
 *   T5. Secrets (keys, the pepper) are never logged nor put in error messages; keys are kept only
 *       as keyed hashes.
 *
 * API KEYS. "sk-cirrus-" + 12 hex (the prefix: public, for lookup and for people) + "-" + 43
 * base64url characters (32 random bytes from randombytes_buf). Shown once at creation. Stored as
 * BLAKE2b-256(key) keyed with a 32-byte server secret, the pepper. Verification hashes the
 * presented key and compares with sodium_memcmp (constant time); an unknown prefix is hashed and
 * compared against a dummy so timing does not tell known prefixes from unknown ones.
 *   The pepper lives in a key file next to the database (DB.pepper, mode 0600; or the path in
 *   CIRRUS_PEPPER_FILE, which the CLI's --pepper-file sets, and which a PostgreSQL store requires:
 *   a server has no file beside it, and every node must share the one secret), not in the database: a leaked database file or backup then holds hashes
 *   no one can test guesses against. The keys carry 256 bits of entropy, so the pepper is defence
 *   in depth rather than the only protection. The database keeps a check value (a hash of a fixed
 *   string under the pepper) so a wrong or missing key file is reported instead of silently
 *   failing every key.
 */
#ifndef CIRRUS_TENANCY_H
#define CIRRUS_TENANCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "ledger/ledger.h"
#include "store/store.h"

#define TENANCY_KEY_LEN 66 /* strlen("sk-cirrus-") + 12 + 1 + 43 */
#define TENANCY_WEIGHT_MAX 1000

/* ---- administration (CLI and admin API; these take a store, not a running tenancy) ---------- */

/* name: 1..63 of [A-Za-z0-9_.-]; industry/region: printable, < 64 bytes; metadata: a JSON object
 * (NULL: {}), < 2 KiB. */
cirrus_status tenancy_tenant_create(store *s, const char *name, const char *industry, const char *region,
                                    const char *metadata_json, store_tenant *out, cirrus_err *err);
cirrus_status tenancy_tenant_set_suspended(store *s, const char *name, bool suspended, cirrus_err *err);

/* Creates a key; key_out receives the only copy of it (TENANCY_KEY_LEN + 1 bytes). expires_at:
 * unix s, 0 = never. Creates the pepper file on first use. */
cirrus_status tenancy_key_create(store *s, const char *tenant, int scope, int64_t expires_at, char *key_out,
                                 store_key *out, cirrus_err *err);
/* Accepts a prefix or a whole key. */
cirrus_status tenancy_key_revoke(store *s, const char *prefix_or_key, cirrus_err *err);
/* "inference" | "admin" -> STORE_SCOPE_*; 0 if neither */
int tenancy_scope_parse(const char *s);
const char *tenancy_scope_str(int scope);

/* Validates p (ranges, model list JSON) and stores it as the tenant's plan from p->effective_from. */
cirrus_status tenancy_plan_set(store *s, const char *tenant, store_plan *p, cirrus_err *err);
/* The plan in effect at unix second `at` (a default pay-as-you-go plan when none is set). */
cirrus_status tenancy_plan_at(store *s, int64_t tenant_id, int64_t at, store_plan *out, cirrus_err *err);
void tenancy_plan_default(store_plan *p);
/* The plan's top_logprobs cap as a count (store_plan.top_logprobs_cap's encoding undone). */
int32_t tenancy_plan_top_logprobs(const store_plan *p);
const char *tenancy_plan_kind_str(store_plan_kind k);
bool tenancy_plan_kind_parse(const char *s, store_plan_kind *out);

/* The pepper for s (created if absent and create is set). */
cirrus_status tenancy_pepper(store *s, bool create, unsigned char out[32], cirrus_err *err);

/* ---- the running control plane -------------------------------------------------------------- */

typedef struct {
    const char *db;                      /* store location (--db) */
    int64_t (*now_us)(void *ud);         /* wall clock, unix µs: limits, expiry, budget periods; NULL: system */
    void *clock_ud;
    int refresh_ms;                      /* poll for other processes' changes; 0: 500; < 0: never */
    void (*on_commit)(void *ud, uint64_t durable); /* from the ledger's writer (see ledger.h) */
    void *commit_ud;
} tenancy_config;

typedef struct tenancy tenancy;
typedef struct tenancy_req tenancy_req;

cirrus_status tenancy_open(const tenancy_config *cfg, tenancy **out, ledger_recovery *rec, cirrus_err *err);
void tenancy_close(tenancy *t);
/* The admin connection: control-plane writes through it take effect at once (T3). */
store *tenancy_store(tenancy *t);
ledger *tenancy_ledger(tenancy *t);
/* Reloads keys, tenants, plans and prices if the store changed (the poller calls it too). */
cirrus_status tenancy_refresh(tenancy *t, cirrus_err *err);

typedef enum {
    TENANCY_ADMITTED = 0,
    TENANCY_BAD_REQUEST,   /* 400: max_tokens above the plan's limit, malformed arguments */
    TENANCY_UNAUTHORIZED,  /* 401: missing, malformed, unknown, revoked or expired key */
    TENANCY_FORBIDDEN,     /* 403: suspended tenant, wrong scope, model outside the plan or unpriced */
    TENANCY_RATE_LIMITED,  /* 429: requests/min, tokens/min or concurrency */
    TENANCY_QUOTA,         /* 429 insufficient_quota: the hard budget is spent */
    TENANCY_UNAVAILABLE,   /* 503: the ledger cannot take more records (disk trouble) */
} tenancy_verdict;

typedef struct {
    tenancy_verdict verdict;
    int http_status;
    const char *type;    /* OpenAI error type, e.g. "invalid_request_error", "insufficient_quota" */
    const char *code;    /* OpenAI error code, e.g. "invalid_api_key", "rate_limit_exceeded"; may be NULL */
    const char *param;   /* NULL or the offending field ("model", "max_tokens") */
    char message[256];
    /* x-ratelimit-{limit,remaining,reset}-{requests,tokens}: present when the plan sets the limit */
    bool has_requests, has_tokens;
    int64_t limit_requests, remaining_requests, reset_requests_ms;
    int64_t limit_tokens, remaining_tokens, reset_tokens_ms;
    int64_t retry_after_ms; /* > 0 on a rate limit: when this request would pass */
    bool soft_budget_reached; /* spend + reservations crossed the soft alert */
} tenancy_decision;

typedef struct {
    char tenant[STORE_NAME_MAX];
    int64_t tenant_id, key_id;
    int scope;                /* STORE_SCOPE_* */
    uint32_t weight;          /* scheduling weight (plan priority), 1..1000 */
    uint32_t reserved_tpm;    /* tokens/minute the scheduler serves first */
    int64_t ledger_id;        /* the usage record's id (0 from tenancy_authenticate) */
    /* provider protection from the plan (store_plan's no_watermark, top_logprobs_cap) */
    bool watermark;           /* the output watermark applies to this tenant's requests */
    int32_t top_logprobs_cap; /* most alternatives per position, >= 0 (default 5) */
} tenancy_grant;

typedef struct {
    const char *request_id;   /* the id the client sees; <= 95 bytes */
    const char *model;
    int64_t prompt_tokens;    /* >= 0 */
    int64_t max_tokens;       /* >= 1: the most completion tokens this request may produce (all choices) */
} tenancy_admit_args;

typedef struct {
    int64_t prompt, cached, completion; /* what was processed and sent; cached <= prompt */
} tenancy_usage;

enum { TENANCY_NEED_INFERENCE = STORE_SCOPE_INFERENCE, TENANCY_NEED_ADMIN = STORE_SCOPE_ADMIN };

/* Authenticates, authorizes and admits. CIRRUS_OK with *out set iff d->verdict == TENANCY_ADMITTED;
 * otherwise *out is NULL and d says why. Inference needs an inference or admin key. */
cirrus_status tenancy_admit(tenancy *t, const char *key, size_t key_len, const tenancy_admit_args *a,
                            tenancy_decision *d, tenancy_req **out);
const tenancy_grant *tenancy_req_grant(const tenancy_req *r);
void tenancy_progress(tenancy *t, tenancy_req *r, int64_t cached, int64_t completion);
/* Rates the usage with the price version of admission, records it, refunds the unused part of the
 * reservation and the tokens/minute, frees the concurrency slot, frees r. Returns the ledger ticket. */
uint64_t tenancy_settle(tenancy *t, tenancy_req *r, const tenancy_usage *u, ledger_status status);
/* An admitted request that never ran (the engine's queue was full, the prompt failed to encode):
 * its record says 0 tokens with `status` (LEDGER_ERROR usually) and everything held is given back. */
uint64_t tenancy_release(tenancy *t, tenancy_req *r, ledger_status status);
bool tenancy_is_durable(tenancy *t, uint64_t ticket);
cirrus_status tenancy_sync(tenancy *t, uint64_t ticket, int timeout_ms);

/* Key check only (admin endpoints, /v1/models, usage reads): no limits, no record. */
cirrus_status tenancy_authenticate(tenancy *t, const char *key, size_t key_len, int need_scope, tenancy_grant *out,
                                   tenancy_decision *d);

/* Whether GET /v1/models shows model to tenant: its plan in force allows it and it has a price
 * (what tenancy_admit would also require). */
bool tenancy_model_listed(tenancy *t, const char *tenant, const char *model);

/* OpenAI's reset format: 20ms, 1s, 1.5s, 6m0s, 1h2m3s. */
void tenancy_format_reset(int64_t ms, char *buf, size_t cap);

/* Budget state of a tenant in the current period (for the console and alerts). */
typedef struct {
    int64_t period_from;       /* unix s */
    int64_t spent, reserved, budget_hard, budget_soft;
    int64_t inflight;
} tenancy_budget;
cirrus_status tenancy_budget_get(tenancy *t, const char *tenant, tenancy_budget *out, cirrus_err *err);

#endif
