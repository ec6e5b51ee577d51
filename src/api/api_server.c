/*
 * The service: the endpoint table and the router over it, the small endpoints (/v1/models,
 * /health, /metrics), the access log and per-tenant concurrency. Endpoints that run on an engine
 * go through the admission pipeline (api_pipeline.c, api_call.h); their output is api_gen.c's.
 *
 * What the router checks, for every row, each answering with its own status:
 *   route (404/405) -> headers (431) -> size (413) -> key (401/403, API_EP_KEY rows) -> the row.
 * Authentication comes before parsing so an anonymous client learns nothing about validation.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/api_call.h" /* the generating endpoints' api_work */

cirrus_status api_new(const api_config *cfg, api **out, cirrus_err *err) {
    *out = NULL;
    if (sodium_init() < 0) return cirrus_errf(err, CIRRUS_ERR_INTERNAL, "libsodium failed to initialise");
    if (!cfg->tenancy && !cfg->auth.open && !cfg->auth.resolve) return cirrus_errf(err, CIRRUS_ERR_INVALID, "api: auth needs resolve() unless open");
    if (cfg->tenancy && !cfg->commit)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "api: a control plane needs its commit hook (api_config.commit), or replies could not wait for their records");
    api *a = calloc(1, sizeof *a);
    if (!a) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
    a->cfg = *cfg;
    if (a->cfg.retry_after_s <= 0) a->cfg.retry_after_s = 1;
    if (!a->cfg.durable_timeout_ms) a->cfg.durable_timeout_ms = 10000;
    pthread_mutex_init(&a->add_mu, NULL);
    pthread_mutex_init(&a->conc_mu, NULL);
    pthread_mutex_init(&a->log_mu, NULL);
    met_init(&a->met);
    cirrus_status st = api_admin_start(a, err);
    if (st) {
        api_free(a);
        return st;
    }
    *out = a;
    return CIRRUS_OK;
}

void api_free(api *a) {
    if (!a) return;
    api_admin_stop(a);
    met_destroy(&a->met);
    pthread_mutex_destroy(&a->add_mu);
    pthread_mutex_destroy(&a->conc_mu);
    pthread_mutex_destroy(&a->log_mu);
    free(a);
}

cirrus_status api_add_model(api *a, const api_model *m, cirrus_err *err) {
    if (!m->name || !*m->name || strlen(m->name) >= API_MODEL_NAME_MAX)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "model name must have 1 to %d characters", API_MODEL_NAME_MAX - 1);
    if (!m->engine || !m->vocab || m->n_ctx < 1 || m->n_vocab < 1)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "model %s: engine, vocabulary and sizes are required", m->name);
    pthread_mutex_lock(&a->add_mu);
    int n = atomic_load(&a->n_models);
    cirrus_status st = CIRRUS_OK;
    for (int i = 0; i < n; i++)
        if (!strcmp(a->models[i].name, m->name)) st = cirrus_errf(err, CIRRUS_ERR_INVALID, "model name '%s' given twice", m->name);
    if (!st && n == API_MAX_MODELS) st = cirrus_errf(err, CIRRUS_ERR_FULL, "at most %d models", API_MAX_MODELS);
    if (!st) {
        api_model_entry *e = &a->models[n];
        e->m = *m;
        snprintf(e->name, sizeof e->name, "%s", m->name);
        e->m.name = e->name;
        int32_t bos = tok_bos(m->vocab), eos = tok_eos(m->vocab);
        e->bos_text = bos >= 0 && tok_text(m->vocab, bos) ? tok_text(m->vocab, bos) : "";
        e->eos_text = eos >= 0 && tok_text(m->vocab, eos) ? tok_text(m->vocab, eos) : "";
        e->created = (int64_t)time(NULL);
        atomic_store(&a->n_models, n + 1); /* publish: readers see a complete entry */
    }
    pthread_mutex_unlock(&a->add_mu);
    return st;
}

void api_set_ready(api *a, bool ready) { atomic_store(&a->ready, ready); }
void api_set_draining(api *a) { atomic_store(&a->draining, true); }

const api_model_entry *api_find_model(api *a, const char *name) {
    int n = atomic_load(&a->n_models);
    for (int i = 0; i < n; i++)
        if (!strcmp(a->models[i].name, name)) return &a->models[i];
    return NULL;
}

/* ---- per-tenant concurrency ------------------------------------------------------------------- */

bool api_conc_acquire(api *a, const api_tenant *t) {
    if (!t->max_concurrent) return true;
    bool ok = false;
    pthread_mutex_lock(&a->conc_mu);
    api_conc *slot = NULL, *free_slot = NULL;
    for (int i = 0; i < API_CONC_SLOTS && !slot; i++) {
        if (!strcmp(a->conc[i].name, t->name)) slot = &a->conc[i];
        else if (!free_slot && a->conc[i].inflight == 0) free_slot = &a->conc[i];
    }
    if (!slot && free_slot) {
        slot = free_slot;
        snprintf(slot->name, sizeof slot->name, "%s", t->name);
    }
    /* no slot left (over 256 limited tenants busy at once): refuse rather than not count */
    if (slot && slot->inflight < (int32_t)t->max_concurrent) {
        slot->inflight++;
        ok = true;
    }
    pthread_mutex_unlock(&a->conc_mu);
    return ok;
}

void api_conc_release(api *a, const char *tenant) {
    pthread_mutex_lock(&a->conc_mu);
    for (int i = 0; i < API_CONC_SLOTS; i++)
        if (a->conc[i].inflight > 0 && !strcmp(a->conc[i].name, tenant)) {
            a->conc[i].inflight--;
            break;
        }
    pthread_mutex_unlock(&a->conc_mu);
}

/* ---- ids, logs, error replies --------------------------------------------------------------- */

void api_make_id(char *out, size_t cap, const char *prefix) {
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    size_t p = (size_t)snprintf(out, cap, "%s", prefix);
    for (int i = 0; i < 24 && p + 1 < cap; i++) out[p++] = abc[randombytes_uniform(sizeof abc - 1)];
    if (p < cap) out[p] = 0;
}

void api_log_request(api *a, api_endpoint ep, const api_log_rec *rec) {
    met_request(&a->met, ep, rec->status);
    if (!a->cfg.access_log) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[96];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    jw w;
    jw_init(&w, 1u << 20);
    jw_obj(&w);
    jw_key(&w, "ts");
    jw_cstr(&w, when);
    jw_key(&w, "id");
    jw_cstr(&w, rec->id);
    jw_key(&w, "method");
    jw_cstr(&w, rec->method);
    jw_key(&w, "path");
    jw_cstr(&w, rec->path);
    jw_key(&w, "status");
    jw_int(&w, rec->status);
    jw_key(&w, "tenant");
    jw_cstr(&w, rec->tenant);
    jw_key(&w, "model");
    jw_cstr(&w, rec->model);
    jw_key(&w, "peer");
    jw_cstr(&w, rec->peer);
    if (api_eps[ep].flags & API_EP_GENERATES) {
        jw_key(&w, "stream");
        jw_bool(&w, rec->stream);
        jw_key(&w, "prompt_tokens");
        jw_int(&w, rec->prompt_tokens);
        jw_key(&w, "cached_tokens");
        jw_int(&w, rec->cached_tokens);
        jw_key(&w, "completion_tokens");
        jw_int(&w, rec->completion_tokens);
        jw_key(&w, "queue_ms");
        jw_num(&w, (double)rec->queue_ns / 1e6);
        jw_key(&w, "ttft_ms");
        jw_num(&w, (double)rec->ttft_ns / 1e6);
    }
    jw_key(&w, "duration_ms");
    jw_num(&w, (double)(rec->end_ns - rec->t_start_ns) / 1e6);
    jw_key(&w, "outcome");
    jw_cstr(&w, rec->outcome ? rec->outcome : "ok");
    if (a->cfg.log_prompts && rec->prompt_text) {
        jw_key(&w, "prompt");
        jw_str(&w, rec->prompt_text, rec->prompt_len); /* by length: it may hold NULs */
    }
    jw_obj_end(&w);
    jw_raw(&w, "\n", 1);
    if (!jw_failed(&w)) {
        pthread_mutex_lock(&a->log_mu);
        fwrite(jw_data(&w), 1, jw_len(&w), a->cfg.access_log);
        fflush(a->cfg.access_log);
        pthread_mutex_unlock(&a->log_mu);
    }
    jw_free(&w);
}

static void log_simple(api *a, http_req *r, api_endpoint ep, const char *id, const char *tenant, const char *model,
                       int status) {
    api_log_rec rec = {.id = id, .method = http_req_method(r), .path = http_req_path(r), .tenant = tenant,
                       .model = model, .peer = http_req_peer(r), .status = status,
                       .t_start_ns = http_req_start_ns(r), .end_ns = cirrus_now_ns()};
    api_log_request(a, ep, &rec);
}

void api_log_simple(api_ctx *x, const char *model, int status) {
    log_simple(x->a, x->r, x->ep, x->id, x->tenant.name[0] ? x->tenant.name : NULL, model, status);
}

void api_reply_error(api *a, http_req *r, api_endpoint ep, const char *id, const char *tenant, const char *model,
                     const api_error *e) {
    char body[1024];
    size_t n = api_error_json(e, body, sizeof body);
    if (n >= sizeof body) n = sizeof body - 1;
    if (e->retry_after_s > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", a->cfg.retry_after_s > e->retry_after_s ? a->cfg.retry_after_s : e->retry_after_s);
        http_add_header(r, "Retry-After", ra);
    }
    http_add_header(r, "X-Request-Id", id);
    http_reply(r, e->status, "application/json", body, n);
    log_simple(a, r, ep, id, tenant, model, e->status);
}

void api_reply_json(api_ctx *x, int status, const jw *w) {
    if (jw_failed(w)) {
        api_error e;
        api_error_make(&e, API_E_INTERNAL, NULL, "The response did not fit in memory.");
        api_reply_error(x->a, x->r, x->ep, x->id, x->tenant.name[0] ? x->tenant.name : NULL, NULL, &e);
        return;
    }
    http_add_header(x->r, "X-Request-Id", x->id);
    http_reply(x->r, status, "application/json", jw_data(w), jw_len(w));
    api_log_simple(x, NULL, status);
}

/* ---- small endpoints ------------------------------------------------------------------------ */

static void models_entry(jw *w, const api_model_entry *m) {
    jw_obj(w);
    jw_key(w, "id");
    jw_cstr(w, m->name);
    jw_key(w, "object");
    jw_cstr(w, "model");
    jw_key(w, "created");
    jw_int(w, m->created);
    jw_key(w, "owned_by");
    jw_cstr(w, "cirrus");
    jw_obj_end(w);
}

/* A tenant sees only the models it may call: the keyring's list, or its plan's (#18, fault 10). */
static bool listed(api *a, const api_tenant *t, const char *model) {
    if (a->cfg.tenancy) return tenancy_model_listed(a->cfg.tenancy, t->name, model);
    return api_tenant_may_use(t, model);
}

static void serve_models(api_ctx *x) {
    api *a = x->a;
    const char *path = http_req_path(x->r);
    const api_tenant *t = &x->tenant;
    jw w;
    jw_init(&w, 1u << 20);
    int n = atomic_load(&a->n_models);
    if (strlen(path) > strlen("/v1/models/")) { /* GET /v1/models/{id} */
        const char *name = path + strlen("/v1/models/");
        const api_model_entry *m = api_find_model(a, name);
        if (!m || !listed(a, t, name)) {
            api_error e;
            api_error_make(&e, API_E_NO_MODEL, "model", "The model '%.200s' does not exist or you do not have access to it.", name);
            api_reply_error(a, x->r, x->ep, x->id, t->name, name, &e);
            jw_free(&w);
            return;
        }
        models_entry(&w, m);
    } else {
        jw_obj(&w);
        jw_key(&w, "object");
        jw_cstr(&w, "list");
        jw_key(&w, "data");
        jw_arr(&w);
        for (int i = 0; i < n; i++)
            if (listed(a, t, a->models[i].name)) models_entry(&w, &a->models[i]);
        jw_arr_end(&w);
        jw_obj_end(&w);
    }
    api_reply_json(x, 200, &w);
    jw_free(&w);
}

static void serve_health(api_ctx *x) {
    api *a = x->a;
    const char *state = atomic_load(&a->draining) ? "draining" : atomic_load(&a->ready) ? "ok" : "loading";
    int status = !strcmp(state, "ok") ? 200 : 503;
    jw w;
    jw_init(&w, 4096);
    jw_obj(&w);
    jw_key(&w, "status");
    jw_cstr(&w, state);
    jw_key(&w, "models");
    jw_int(&w, atomic_load(&a->n_models));
    jw_obj_end(&w);
    if (status == 503) http_add_header(x->r, "Retry-After", "1");
    api_reply_json(x, status, &w);
    jw_free(&w);
}

/* Who may see the series that name tenants on the public listener: a provider administrator.
 * No key at all: the aggregate series, as before keys existed (scrapers keep working); a key that
 * is not an admin key: refused, so a misconfigured scraper learns why it sees less. */
static bool metrics_reader(api_ctx *x, bool *tenants) {
    *tenants = false;
    size_t len = 0;
    const char *key = api_bearer(x->r, &len);
    if (!key) return true;
    api_error e;
    tenancy_grant g;
    tenancy_decision d;
    if (!x->a->cfg.tenancy) {
        api_error_make(&e, API_E_FORBIDDEN, NULL, "Per-tenant metrics need a provider admin key (cirrus serve --db) or the "
                                                  "private listener (--metrics-listen); without a key /metrics shows the aggregate series.");
        e.type = "permission_error"; /* as tenancy words a key without the scope */
        e.code = "insufficient_scope";
    } else if (tenancy_authenticate(x->a->cfg.tenancy, key, len, TENANCY_NEED_ADMIN, &g, &d) != CIRRUS_OK) {
        api_error_from_decision(&e, &d);
    } else {
        *tenants = true;
        return true;
    }
    api_reply_error(x->a, x->r, x->ep, x->id, NULL, NULL, &e);
    return false;
}

static void reply_metrics(api_ctx *x, bool tenants) {
    char *text = NULL;
    size_t len = 0;
    if (api_metrics_text(x->a, tenants, &text, &len)) {
        api_error e;
        api_error_make(&e, API_E_INTERNAL, NULL, "Out of memory formatting metrics.");
        api_reply_error(x->a, x->r, x->ep, x->id, NULL, NULL, &e);
        return;
    }
    http_add_header(x->r, "Cache-Control", "no-store");
    http_reply(x->r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
    api_log_simple(x, NULL, 200);
}

static void serve_metrics(api_ctx *x) {
    bool tenants;
    if (metrics_reader(x, &tenants)) reply_metrics(x, tenants);
}

static void serve_console(api_ctx *x) { api_console_handle(x->a, x->r, x->id); }
static void serve_admin(api_ctx *x) { api_admin_handle(x->a, x->r, x->id); }

/* ---- the endpoint table ---------------------------------------------------------------------- */

const api_ep api_eps[EP_COUNT] = {
    [EP_CHAT] = {"POST", "/v1/chat/completions", API_EP_KEY | API_EP_GENERATES, "chat_completions", "chatcmpl-",
                 .work = &api_work_chat},
    [EP_COMPLETIONS] = {"POST", "/v1/completions", API_EP_KEY | API_EP_GENERATES, "completions", "cmpl-",
                        .work = &api_work_completion},
    [EP_MODELS] = {"GET", "/v1/models", API_EP_KEY | API_EP_ID, "models", "req-", serve_models},
    [EP_HEALTH] = {"GET", "/health", 0, "health", "req-", serve_health},
    [EP_METRICS] = {"GET", "/metrics", 0, "metrics", "req-", serve_metrics},
    /* the admin API checks methods and keys (admin scope) itself: api_admin.c */
    [EP_ADMIN] = {NULL, "/v1/admin/", API_EP_PREFIX, "admin", "req-", serve_admin},
    /* the web console's files; the prefix also matches "/consolefoo", which its handler refuses */
    [EP_CONSOLE] = {"GET", "/console", API_EP_PREFIX, "console", "req-", serve_console},
    [EP_OTHER] = {NULL, NULL, 0, "other", "req-", NULL}, /* what no row matched: 404 */
};

static bool route_matches(const api_ep *e, const char *path) {
    size_t n = strlen(e->path);
    if (e->flags & API_EP_PREFIX) return !strncmp(path, e->path, n);
    if (e->flags & API_EP_ID) return !strncmp(path, e->path, n) && (path[n] == 0 || path[n] == '/');
    return !strcmp(path, e->path);
}

/* ---- the router ------------------------------------------------------------------------------ */

void api_handle(void *app, http_req *r) {
    api_ctx x = {.a = app, .r = r, .ep = EP_OTHER};
    const char *path = http_req_path(r), *method = http_req_method(r);
    for (int i = 0; i < EP_OTHER && x.ep == EP_OTHER; i++)
        if (route_matches(&api_eps[i], path)) x.ep = (api_endpoint)i;
    const api_ep *ep = &api_eps[x.ep];
    api_make_id(x.id, sizeof x.id, ep->id_prefix);
    api_error e;
    if (x.ep == EP_OTHER) {
        api_error_make(&e, API_E_NO_ROUTE, NULL, "Invalid URL (%.16s %.200s)", method, path);
    } else if (ep->method && strcmp(method, ep->method) != 0) {
        http_add_header(r, "Allow", ep->method);
        api_error_make(&e, API_E_METHOD, NULL, "Method %.16s is not allowed on %.200s; use %s.", method, path, ep->method);
    } else if (http_req_headers_overflow(r)) {
        api_error_make(&e, API_E_HEADERS_TOO_LARGE, NULL, "The request headers are larger than this server accepts.");
    } else if (http_req_overflow(r)) {
        api_error_make(&e, API_E_TOO_LARGE, NULL, "The request body is larger than this server accepts.");
    } else {
        if ((ep->flags & API_EP_KEY) && !api_authenticate(&x)) return;
        if (ep->work) api_pipeline_run(&x);
        else ep->serve(&x);
        return;
    }
    api_reply_error(x.a, r, x.ep, x.id, NULL, NULL, &e);
}

void api_handle_private(void *app, http_req *r) {
    api_ctx x = {.a = app, .r = r, .ep = EP_OTHER};
    const char *path = http_req_path(r);
    x.ep = !strcmp(path, "/metrics") ? EP_METRICS : !strcmp(path, "/health") ? EP_HEALTH : EP_OTHER;
    api_make_id(x.id, sizeof x.id, api_eps[x.ep].id_prefix);
    api_error e;
    if (x.ep != EP_OTHER && !strcmp(http_req_method(r), "GET")) {
        if (x.ep == EP_METRICS) reply_metrics(&x, true);
        else serve_health(&x);
        return;
    }
    if (x.ep == EP_OTHER) api_error_make(&e, API_E_NO_ROUTE, NULL, "This listener serves GET /metrics and GET /health only.");
    else api_error_make(&e, API_E_METHOD, NULL, "Method %.16s is not allowed here; use GET.", http_req_method(r));
    api_reply_error(x.a, r, x.ep, x.id, NULL, NULL, &e);
}
