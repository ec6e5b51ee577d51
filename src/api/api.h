/*
 * api — the OpenAI-compatible endpoints over http and sched.
 *
 *   POST /v1/chat/completions   POST /v1/completions   GET /v1/models[/ID]   GET /health   GET /metrics
 *
 * Without a key, a client learns nothing tenant-specific: /health says whether the server is up,
 * /metrics shows only aggregate series, the console's files are the same for everyone.
 *
 * Every endpoint is one row of a table (api_internal.h, api_server.c): path, method, whether it
 * needs a key, its metric name and id prefix, and either its handler or -- for the endpoints that
 * run on an engine -- its parser, input and formatter. Those all pass through one admission
 * pipeline (api_call.h): auth -> parse -> model -> input -> admit -> risk -> policy -> submit ->
 * run -> settle. Bodies are parsed and validated into api_gen_req (every field range-checked;
 * unknown fields are a 400 that names them). Errors of every kind pass through one table
 * (api_error_make) that gives the HTTP status and OpenAI's error object
 * {"error":{"message","type","param","code"}}.
 *
 * Threads: api_handle runs on http's polling threads and never blocks: tokens arrive from the
 * engine thread through sched's per-request queue, whose notify callback wakes the connection.
 * api knows nothing of SQL.
 */
#ifndef CIRRUS_API_H
#define CIRRUS_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/core.h"
#include "http/http.h"
#include "sample/sample.h"
#include "sched/sched.h"
#include "tokenizer/tokenizer.h"

/* ---- errors: the one mapping to HTTP status + OpenAI error JSON ---------------------------- */

typedef enum {
    API_E_INVALID,         /* 400 invalid_request_error: malformed JSON, wrong type, bad value */
    API_E_UNKNOWN_FIELD,   /* 400 invalid_request_error: a field we do not know */
    API_E_UNSUPPORTED,     /* 400 invalid_request_error: a field we know but do not implement */
    API_E_CONTEXT,         /* 400 invalid_request_error, code context_length_exceeded */
    API_E_NO_KEY,          /* 401: no Authorization header */
    API_E_BAD_KEY,         /* 401 invalid_api_key */
    API_E_FORBIDDEN,       /* 403: the tenant may not use this model */
    API_E_NO_ROUTE,        /* 404: unknown URL */
    API_E_NO_MODEL,        /* 404 model_not_found */
    API_E_METHOD,          /* 405 */
    API_E_TOO_LARGE,       /* 413 */
    API_E_HEADERS_TOO_LARGE, /* 431 */
    API_E_RATE_LIMIT,      /* 429 rate_limit_exceeded (Retry-After) */
    API_E_INTERNAL,        /* 500 server_error */
    API_E_OVERLOADED,      /* 503: queue full or shutting down (Retry-After) */
    API_E_LOADING,         /* 503: models still loading (Retry-After) */
    API_E_KIND_COUNT
} api_err_kind;

typedef struct {
    int status;          /* HTTP status */
    const char *type;    /* OpenAI error type */
    const char *code;    /* NULL => JSON null */
    char param[96];      /* "" => JSON null; the offending field, e.g. "messages[1].role" */
    char message[384];
    int retry_after_s;   /* > 0: send Retry-After */
} api_error;

/* Fills e for kind; fmt is the message. Returns the cirrus_status that fits the kind. */
cirrus_status api_error_make(api_error *e, api_err_kind kind, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The kind a module status maps to (sched_submit, tokenizer, sampling checks). */
api_err_kind api_err_kind_of(cirrus_status st);
/* {"error":{...}} into buf (at most cap bytes, NUL-terminated); returns the length it needs. */
size_t api_error_json(const api_error *e, char *buf, size_t cap);

/* ---- request parsing (also the fuzz targets' entry points) -------------------------------- */


typedef enum { API_CHAT, API_COMPLETION } api_gen_kind;

#define API_MODEL_NAME_MAX 128
#define API_MAX_MESSAGES 2048
#define API_MAX_BIAS 1024
#define API_MAX_CHOICES SCHED_MAX_CHOICES
#define API_MAX_TOKENS_LIMIT (1 << 20)

typedef struct {
    api_gen_kind kind;
    char model[API_MODEL_NAME_MAX];
    /* chat */
    tok_chat_msg *msgs;        /* roles normalised to system/user/assistant */
    size_t *msg_lens;          /* bytes of each content: it may hold NULs ("\u0000") */
    size_t n_msgs;
    /* completion: text, or token ids */
    const char *prompt;
    size_t prompt_len;
    int32_t *prompt_ids;
    size_t n_prompt_ids;
    bool stream, include_usage;
    int32_t max_tokens;        /* -1: not given */
    int32_t n;                 /* choices */
    smp_params sp;             /* OpenAI defaults; bias points into the arena */
    bool seed_set;
    const char *stops[SMP_MAX_STOPS];
    int n_stops;
    bool logprobs;
    int32_t top_logprobs;      /* alternatives per position (chat top_logprobs, legacy logprobs=N) */
    bool echo;                 /* completions only; accepted only when false */
    cirrus_arena arena;
} api_gen_req;

/* Parse and validate a body (up to the point a model is needed: vocabulary ranges come later).
 * On failure e says why (status 400) and out holds nothing to free; on success free out with
 * api_gen_req_free. */
cirrus_status api_parse_chat(const char *body, size_t len, api_gen_req *out, api_error *e);
cirrus_status api_parse_completion(const char *body, size_t len, api_gen_req *out, api_error *e);
void api_gen_req_free(api_gen_req *r);

/* ---- tenants and keys --------------------------------------------------------------------- */

#define API_TENANT_MAX SCHED_TENANT_MAX
#define API_TENANT_MODELS_MAX 16

typedef struct {
    char name[API_TENANT_MAX];
    uint32_t weight;          /* >= 1: share under contention */
    uint32_t reserved_tpm;    /* tokens/minute served first */
    uint32_t max_concurrent;  /* 0: unlimited; more in flight -> 429 */
    int n_models;             /* 0: every model */
    char models[API_TENANT_MODELS_MAX][API_MODEL_NAME_MAX];
} api_tenant;

/*
 * The seam between the API and whoever owns keys: today a config file (api_keyring), later the
 * control plane's database. resolve() maps a presented bearer key to its tenant: CIRRUS_OK, or
 * CIRRUS_ERR_NOT_FOUND for an unknown key (401). It runs on HTTP threads: thread-safe, quick, and
 * never waiting on disk (a cache in front of a database). open: no keys exist, every request is
 * tenant "default".
 */
typedef struct {
    cirrus_status (*resolve)(void *ud, const char *key, size_t len, api_tenant *out);
    void *ud;
    bool open;
} api_auth;

/* Keys from the config file: {"tenants":[{"name":"acme","weight":1,"reserved_tpm":0,
 * "max_concurrent":0,"models":["m"],"keys":["sk-..."]}]}. Only hashes of keys are kept; lookups
 * compare hashes in constant time. Other top-level fields are left for other modules. */
typedef struct api_keyring api_keyring;
cirrus_status api_keyring_from_json(const char *text, size_t len, api_keyring **out, cirrus_err *err);
size_t api_keyring_count(const api_keyring *k); /* keys */
api_auth api_keyring_auth(api_keyring *k);      /* open when the keyring holds no keys */
void api_keyring_free(api_keyring *k);

/* ---- the service ------------------------------------------------------------------------- */

#define API_MAX_MODELS 8

typedef struct {
    const char *name;          /* the id clients send as "model" (copied) */
    sched *engine;             /* borrowed; outlives the api */
    const tok_vocab *vocab;    /* borrowed */
    tok_chat_kind chat;
    int32_t n_ctx;             /* per sequence, as sched was built with */
    int32_t n_vocab;           /* logits width (model's) */
    /* The output watermark for this model's vocabulary (guard.h), borrowed, outlives the api;
     * NULL: this model's outputs are not watermarked (no key, or --no-watermark NAME). Added to
     * every request unless the tenant's plan turns it off. */
    struct guard_wm *watermark;
} api_model;

/*
 * Where the ledger's group commits reach the replies waiting on them: a reply that reports success
 * is sent only once its usage record is durable, and no HTTP thread waits for the disk meanwhile
 * (api_durable.c). The control plane opens before the api, so the hook is its own object: create it
 * first, give it to both (tenancy_config.on_commit = api_commit_notify, .commit_ud = hook;
 * api_config.commit = hook), free it after both are closed.
 */
typedef struct api_commit api_commit;
cirrus_status api_commit_new(api_commit **out);
void api_commit_notify(void *hook, uint64_t durable); /* the ledger writer's on_commit */
void api_commit_free(api_commit *h);

typedef struct {
    api_auth auth;
    FILE *access_log;          /* one JSON line per request; NULL: none */
    bool log_prompts;          /* debug: the access log carries prompt text */
    int retry_after_s;         /* Retry-After on 503/429 */
    const char *fingerprint;   /* system_fingerprint; NULL: omitted */
    /* The control plane, for the admin API under /v1/admin (borrowed; outlives the api). NULL:
     * no --db, and the admin API answers 503. */
    struct tenancy *tenancy;
    api_commit *commit;        /* required with a tenancy: its ledger's commits wake waiting replies */
    uint32_t durable_timeout_ms; /* a reply waits this long for its record, then fails; 0: 10000 */
    /* Traffic risk scoring and policies (guard.h guard_risk), borrowed; NULL: none. Every finished
     * generation request is observed; the tenant's policy is applied before admission. */
    struct guard_risk *risk;
} api_config;

typedef struct api api;

cirrus_status api_new(const api_config *cfg, api **out, cirrus_err *err);
/* Registers a loaded model. Safe while serving (requests see it once added). */
cirrus_status api_add_model(api *a, const api_model *m, cirrus_err *err);
/* /health answers 503 until ready. */
void api_set_ready(api *a, bool ready);
/* Shutting down: new generation requests get 503; /health says draining. */
void api_set_draining(api *a);
void api_free(api *a);

/* The http_handler: app is the api. */
void api_handle(void *app, http_req *r);

/* Prometheus text for /metrics into a malloc'ed NUL-terminated buffer (tests read it too).
 * tenants: include the series that name tenants (cirrus_tenant_*: their names, request and token
 * totals, queues). GET /metrics without a key gets only the aggregate series; with a provider
 * admin key, or on the private listener (api_handle_private, `cirrus serve --metrics-listen`),
 * everything. */
cirrus_status api_metrics_text(api *a, bool tenants, char **out, size_t *len);

/* The http_handler of the private listener (--metrics-listen ADDR): GET /metrics with every series,
 * GET /health; nothing else, and no key (bind it where only the monitoring network reaches). */
void api_handle_private(void *app, http_req *r);

#endif
