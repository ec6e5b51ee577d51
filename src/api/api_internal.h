/* Private to src/api: the service struct, the JSON writer, the endpoint table, metrics and the
 * entry points shared between the api_*.c files (the admission pipeline's own state: api_call.h). */
#ifndef CIRRUS_API_INTERNAL_H
#define CIRRUS_API_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "api/api.h"
#include "tenancy/tenancy.h"

/* ---- JSON writer (api_json.c) ----------------------------------------------------------------
 * Appends to core's bounded buffer (cirrus_buf): never past max, and after a failed growth every
 * call is a no-op and jw_failed() is true, so callers check once at the end. Commas are inserted
 * by nesting state. Strings are escaped and made valid UTF-8 (bad bytes become U+FFFD): model
 * output may hold byte tokens that do not form characters. */
#define JW_DEPTH 16
typedef struct {
    cirrus_buf b;        /* the bytes (b.p NULL until the first write: read them with jw_data) */
    int depth;
    bool first[JW_DEPTH];
    bool after_key;
} jw;

static inline bool jw_failed(const jw *w) { return w->b.fail != CIRRUS_OK; }
static inline const char *jw_data(const jw *w) { return cirrus_buf_str(&w->b); }
static inline size_t jw_len(const jw *w) { return w->b.len; }
void jw_init(jw *w, size_t max);
void jw_free(jw *w);
void jw_reset(jw *w);                               /* empty, keeps the buffer */
void jw_raw(jw *w, const char *s, size_t n);        /* no separator logic */
char *jw_extend(jw *w, size_t n);                   /* n raw bytes to fill in place; NULL past max */
void jw_obj(jw *w);
void jw_obj_end(jw *w);
void jw_arr(jw *w);
void jw_arr_end(jw *w);
void jw_key(jw *w, const char *k);
void jw_str(jw *w, const char *s, size_t n);
void jw_cstr(jw *w, const char *s);                 /* NULL => null */
void jw_int(jw *w, int64_t v);
void jw_num(jw *w, double v);                       /* non-finite => -9999 (OpenAI's -inf) */
void jw_bool(jw *w, bool v);
void jw_null(jw *w);
/* Writes the escaped string body (no quotes) of s into w: for keys built from data. */
void jw_str_body(jw *w, const char *s, size_t n);

/* ---- the endpoint table (api_server.c) --------------------------------------------------------
 * Every endpoint is one row of api_eps[], indexed by api_endpoint (Redis's command table): the
 * router, the metrics, the access log and the admission pipeline all read the row, so a new
 * endpoint is a row -- and, when it runs on an engine, an api_work (api_call.h) -- not another
 * copy of the request path. The rows are listed in api_server.c. */
typedef enum { EP_CHAT, EP_COMPLETIONS, EP_MODELS, EP_HEALTH, EP_METRICS, EP_ADMIN, EP_CONSOLE, EP_OTHER, EP_COUNT } api_endpoint;

enum {
    API_EP_PREFIX = 1u << 0,    /* path is a prefix: "/console" also matches "/console/app.js" */
    API_EP_ID = 1u << 1,        /* path, or path + "/ID" (GET /v1/models/ID) */
    API_EP_KEY = 1u << 2,       /* an inference key, checked before a byte of the body is parsed (401) */
    API_EP_GENERATES = 1u << 3, /* decodes tokens on an engine: admitted with its max_tokens, streamable */
};

typedef struct api_ctx api_ctx;
typedef struct api_work api_work; /* api_call.h */

typedef struct {
    const char *method;         /* NULL: the handler checks (the admin API routes on its own) */
    const char *path;
    unsigned flags;             /* API_EP_* */
    const char *metric;         /* cirrus_requests_total{endpoint="..."} */
    const char *id_prefix;      /* the request id (X-Request-Id, the reply's "id") starts with it */
    void (*serve)(api_ctx *x);  /* answers the request itself (NULL when work is set) */
    const api_work *work;       /* goes through the admission pipeline: parser, input, formatter */
} api_ep;

extern const api_ep api_eps[EP_COUNT];

/* One request as the router hands it to an endpoint (api_handle). */
struct api_ctx {
    struct api *a;
    http_req *r;
    api_endpoint ep;
    char id[48];
    api_tenant tenant;          /* the key's tenant, for API_EP_KEY rows */
};

/* ---- metrics (api_metrics.c) ------------------------------------------------------------------ */

#define MET_TENANTS 256
#define MET_STATUS_SLOTS 12

typedef struct {
    char name[API_TENANT_MAX];
    _Atomic uint64_t requests, prompt_tokens, cached_tokens, completion_tokens;
} met_tenant;

#define MET_BUCKETS 12
typedef struct {
    const double *le; /* MET_BUCKETS upper bounds in seconds */
    _Atomic uint64_t count, sum_us;
    _Atomic uint64_t bucket[MET_BUCKETS]; /* non-cumulative; summed when printed */
} met_hist;

typedef struct {
    _Atomic uint64_t requests[EP_COUNT][MET_STATUS_SLOTS];
    _Atomic uint64_t prompt_tokens, cached_tokens, completion_tokens;
    _Atomic int64_t inflight;
    met_hist ttft, itl, queue, duration;
    pthread_mutex_t tenants_mu; /* guards adding a tenant row; counters are atomic */
    met_tenant tenants[MET_TENANTS];
    _Atomic int n_tenants;
} api_metrics;

void met_init(api_metrics *m);
void met_destroy(api_metrics *m);
void met_request(api_metrics *m, api_endpoint ep, int status);
void met_observe(met_hist *h, uint64_t ns);
void met_tokens(api_metrics *m, const char *tenant, uint64_t prompt, uint64_t cached, uint64_t completion);

/* ---- the service ------------------------------------------------------------------------------- */

typedef struct {
    api_model m;
    char name[API_MODEL_NAME_MAX];
    const char *bos_text, *eos_text;
    int64_t created;
} api_model_entry;

/* In-flight generation requests per tenant, for max_concurrent (429). */
#define API_CONC_SLOTS 256
typedef struct {
    char name[API_TENANT_MAX];
    int32_t inflight;
} api_conc;

struct api {
    api_config cfg;
    api_model_entry models[API_MAX_MODELS];
    _Atomic int n_models; /* entries below n_models are complete and immutable */
    pthread_mutex_t add_mu;
    atomic_bool ready, draining;
    api_metrics met;
    pthread_mutex_t conc_mu;
    api_conc conc[API_CONC_SLOTS];
    pthread_mutex_t log_mu;
    struct adm_state *admin;   /* the admin API's worker (api_admin.c); NULL without a control plane */
};

const api_model_entry *api_find_model(api *a, const char *name);
/* Reserves a concurrency slot for t (false: over max_concurrent); api_conc_release undoes it. */
bool api_conc_acquire(api *a, const api_tenant *t);
void api_conc_release(api *a, const char *tenant);

/* One access-log line and the request metrics, for every request. */
typedef struct {
    const char *id, *method, *path, *tenant, *model, *peer, *outcome, *prompt_text;
    size_t prompt_len;          /* prompt_text's bytes */
    int status;
    bool stream;
    uint32_t prompt_tokens, cached_tokens, completion_tokens;
    uint64_t t_start_ns, queue_ns, ttft_ns, end_ns;
} api_log_rec;
void api_log_request(api *a, api_endpoint ep, const api_log_rec *rec);

/* Replies with e (and logs it). */
void api_reply_error(api *a, http_req *r, api_endpoint ep, const char *id, const char *tenant,
                     const char *model, const api_error *e);
/* "chatcmpl-" + 24 random characters. */
void api_make_id(char *out, size_t cap, const char *prefix);

/* Replies with a finished JSON body (w: a 500 instead if it failed) and logs it. */
void api_reply_json(api_ctx *x, int status, const jw *w);
/* The log line and metrics of a request answered by api_ctx's endpoint itself. */
void api_log_simple(api_ctx *x, const char *model, int status);

/* api_pipeline.c: the key check of API_EP_KEY rows (false: it answered 401/403), and the admission
 * pipeline that runs every row with an api_work. */
bool api_authenticate(api_ctx *x);
/* The keyring's model list for t allows model (a control plane's plans are tenancy's to check). */
bool api_tenant_may_use(const api_tenant *t, const char *model);
void api_pipeline_run(api_ctx *x);

/* api_console.c: GET /console[/...], the embedded web console (no key needed: it holds no data). */
void api_console_handle(api *a, http_req *r, const char *id);

/* api_admin.c: /v1/admin/..., run on the admin worker thread (started by api_new when the config
 * has a control plane, stopped by api_free). */
cirrus_status api_admin_start(api *a, cirrus_err *err);
void api_admin_stop(api *a);
void api_admin_handle(api *a, http_req *r, const char *id);

/* ---- metering (api_meter.c): the control plane's decisions in OpenAI's terms ------------------ */
void api_error_from_decision(api_error *e, const tenancy_decision *d);
void api_decision_headers(http_req *r, const tenancy_decision *d);
const char *api_bearer(http_req *r, size_t *len);

#endif
