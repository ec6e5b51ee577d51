/*
 * The admin API: /v1/admin/... for the web console, scripts and `cirrus report`'s numbers over HTTP.
 * Every endpoint needs an admin-scope key (a tenant's inference key gets 403, no key 401, both as
 * OpenAI error objects); the one exception is usage, where a tenant key reads its own and nothing
 * else. Bodies and replies are JSON unless format=csv asks for an export.
 *
 *   GET  tenants                          list (plan in force, live key count)
 *   POST tenants                          {"name","industry","region","metadata":{}} -> 201 tenant
 *   GET  tenants/{name}                   tenant + plan history + keys (prefixes only)
 *   POST tenants/{name}/suspend|resume    -> tenant
 *   GET  tenants/{name}/keys              keys (prefixes only)
 *   POST tenants/{name}/keys              {"scope":"inference"|"admin","expires_at":unix_s} -> 201
 *                                         with "key": the only time the key is ever shown
 *   GET  keys                             every tenant's keys (prefixes only)
 *   POST keys/{prefix}/revoke, DELETE keys/{prefix}
 *   GET  usage?tenant=&from=&to=&by=tenant,model,day
 *   GET  invoices?month=YYYY-MM[&format=csv]          every tenant's invoice of the month
 *   GET  invoices/{tenant}/{month}[?format=json|csv]  billing's export, as `cirrus invoice export`
 *   GET  reports/revenue|concentration|forecast|alerts?from=&to=|month=  (what-if: whatif=T&cut_pct=P;
 *        forecast: horizon, level; alerts: share_pct, large_pct, drop_pct, hhi_band=0)
 *   GET  risk, POST risk/policy, POST watermark/detect     protection (api_admin_risk.c)
 *
 * Money is integer micro-units throughout, as in `cirrus report --json` and billing's exports.
 * Threads: see api_admin.h (the polling thread authenticates; one worker does the rest).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analytics/analytics.h"
#include "api/api_admin.h"

#define ADM_QUEUE_MAX 64 /* waiting jobs before 503: people click, scripts should not flood */

struct adm_state {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    adm_job *head, *tail;
    int queued;
    bool stopping;
};

static const char *const k_arg_names[ADM_A_COUNT] = {
    [ADM_A_FROM] = "from", [ADM_A_TO] = "to", [ADM_A_MONTH] = "month", [ADM_A_TENANT] = "tenant",
    [ADM_A_BY] = "by", [ADM_A_FORMAT] = "format", [ADM_A_WHATIF] = "whatif", [ADM_A_CUT] = "cut_pct",
    [ADM_A_HORIZON] = "horizon", [ADM_A_LEVEL] = "level", [ADM_A_SHARE] = "share_pct",
    [ADM_A_LARGE] = "large_pct", [ADM_A_DROP] = "drop_pct", [ADM_A_HHI_BAND] = "hhi_band",
    [ADM_A_EXCL_SIM] = "exclude_simulated",
};

/* ---- routes ------------------------------------------------------------------------------------ */

typedef struct {
    const char *method;
    const char *pattern;   /* segments after /v1/admin/, '*' matches one */
    adm_fn fn;
    bool tenant_key_ok;    /* a tenant (inference) key may call it, for its own data */
} adm_route;

static const adm_route k_routes[] = {
    {"GET", "tenants", adm_tenants_list, false},
    {"POST", "tenants", adm_tenant_create, false},
    {"GET", "tenants/*", adm_tenant_get, false},
    {"POST", "tenants/*/suspend", adm_tenant_suspend, false},
    {"POST", "tenants/*/resume", adm_tenant_resume, false},
    {"GET", "tenants/*/keys", adm_keys_list, false},
    {"POST", "tenants/*/keys", adm_key_create, false},
    {"GET", "keys", adm_keys_list, false},
    {"POST", "keys/*/revoke", adm_key_revoke, false},
    {"DELETE", "keys/*", adm_key_revoke, false},
    {"GET", "usage", adm_usage, true},
    {"GET", "invoices", adm_invoices_list, false},
    {"GET", "invoices/*/*", adm_invoice_get, false},
    {"GET", "reports/revenue", adm_report_revenue, false},
    {"GET", "reports/concentration", adm_report_concentration, false},
    {"GET", "reports/forecast", adm_report_forecast, false},
    {"GET", "reports/alerts", adm_report_alerts, false},
    {"GET", "risk", adm_risk_get, false},
    {"POST", "risk/policy", adm_risk_policy, false},
    {"POST", "watermark/detect", adm_watermark_detect, false},
};

/* Splits rel ("tenants/acme/keys") into segments; false when there are too many or one is too long
 * or empty (a doubled slash). */
static bool split(const char *rel, char seg[ADM_SEGS_MAX][ADM_SEG_LEN], int *n) {
    *n = 0;
    if (!*rel) return true;
    while (*rel) {
        const char *e = strchr(rel, '/');
        size_t len = e ? (size_t)(e - rel) : strlen(rel);
        if (len == 0 && !e) break;
        if (len == 0 || len >= ADM_SEG_LEN || *n == ADM_SEGS_MAX) return false;
        memcpy(seg[*n], rel, len);
        seg[(*n)++][len] = 0;
        if (!e) break;
        rel = e + 1;
    }
    return true;
}

static bool pattern_match(const char *pattern, char seg[ADM_SEGS_MAX][ADM_SEG_LEN], int n) {
    char p[ADM_SEGS_MAX][ADM_SEG_LEN];
    int np;
    if (!split(pattern, p, &np) || np != n) return false;
    for (int i = 0; i < n; i++)
        if (strcmp(p[i], "*") != 0 && strcmp(p[i], seg[i]) != 0) return false;
    return true;
}

/* ---- replies (worker side) ---------------------------------------------------------------------- */

const char *adm_arg(const adm_job *j, adm_arg_id id) { return (unsigned)id < ADM_A_COUNT ? j->args[id] : NULL; }

static void set_out(adm_job *j, int status, const char *ctype, char *out) {
    free(j->out);
    j->status = status;
    j->ctype = ctype;
    j->out = out;
    j->out_len = out ? strlen(out) : 0;
}

void adm_error(adm_job *j, api_err_kind kind, const char *param, const char *fmt, ...) {
    api_error e;
    char msg[sizeof e.message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    api_error_make(&e, kind, param, "%s", msg);
    char buf[1024];
    size_t n = api_error_json(&e, buf, sizeof buf);
    if (n >= sizeof buf) n = sizeof buf - 1;
    char *out = strndup(buf, n);
    set_out(j, e.status, "application/json", out);
    j->disposition[0] = 0;
}

void adm_forbidden(adm_job *j, const char *param, const char *msg) {
    api_error e;
    api_error_make(&e, API_E_FORBIDDEN, param, "%s", msg);
    e.type = "permission_error";
    e.code = "insufficient_scope";
    char buf[1024];
    size_t n = api_error_json(&e, buf, sizeof buf);
    set_out(j, 403, "application/json", strndup(buf, n < sizeof buf ? n : sizeof buf - 1));
}

void adm_json(adm_job *j, int status, json_t *o) {
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    json_decref(o);
    if (!s) {
        adm_error(j, API_E_INTERNAL, NULL, "Out of memory formatting the reply.");
        return;
    }
    set_out(j, status, "application/json", s);
}

void adm_text(adm_job *j, const char *ctype, char *text, const char *filename) {
    if (!text) {
        adm_error(j, API_E_INTERNAL, NULL, "Out of memory formatting the reply.");
        return;
    }
    set_out(j, 200, ctype, text);
    /* names come from tenant names and months, both already limited to [A-Za-z0-9_.-] */
    if (filename) snprintf(j->disposition, sizeof j->disposition, "attachment; filename=\"%s\"", filename);
}

void adm_fail(adm_job *j, cirrus_status st, const cirrus_err *err) {
    const char *msg = err && err->msg[0] ? err->msg : "The request failed.";
    switch (st) {
    case CIRRUS_ERR_NOT_FOUND: adm_error(j, API_E_NO_ROUTE, NULL, "%s", msg); break;
    case CIRRUS_ERR_INVALID:
    case CIRRUS_ERR_RANGE:
    case CIRRUS_ERR_FORMAT:
    case CIRRUS_ERR_UNSUPPORTED: adm_error(j, API_E_INVALID, NULL, "%s", msg); break;
    case CIRRUS_ERR_FULL: adm_error(j, API_E_OVERLOADED, NULL, "%s", msg); break;
    default:
        /* internal details (SQL, paths) stay in the server log, not in the reply */
        CIRRUS_WARN("admin %s: %s", j->id, msg);
        adm_error(j, API_E_INTERNAL, NULL, "The server failed to complete the request (id %s).", j->id);
        break;
    }
}

bool adm_period_days(adm_job *j, int64_t *from_day, int64_t *to_day) {
    *from_day = *to_day = INT64_MIN;
    const char *month = adm_arg(j, ADM_A_MONTH), *from = adm_arg(j, ADM_A_FROM), *to = adm_arg(j, ADM_A_TO);
    int32_t m;
    if (month && *month) {
        if ((from && *from) || (to && *to)) {
            adm_error(j, API_E_INVALID, "month", "month excludes from and to.");
            return false;
        }
        if (!an_month_parse(month, &m)) {
            adm_error(j, API_E_INVALID, "month", "month must be YYYY-MM.");
            return false;
        }
        *from_day = an_month_first_day(m);
        *to_day = *from_day + an_month_days(m) - 1;
        return true;
    }
    if (from && *from) {
        if (an_month_parse(from, &m)) *from_day = an_month_first_day(m);
        else if (!an_day_parse(from, from_day)) {
            adm_error(j, API_E_INVALID, "from", "from must be YYYY-MM or YYYY-MM-DD.");
            return false;
        }
    }
    if (to && *to) {
        if (an_month_parse(to, &m)) *to_day = an_month_first_day(m) + an_month_days(m) - 1;
        else if (!an_day_parse(to, to_day)) {
            adm_error(j, API_E_INVALID, "to", "to must be YYYY-MM or YYYY-MM-DD.");
            return false;
        }
    }
    if (*from_day != INT64_MIN && *to_day != INT64_MIN && *to_day < *from_day) {
        adm_error(j, API_E_INVALID, "to", "to is before from.");
        return false;
    }
    return true;
}

/* ---- jobs ---------------------------------------------------------------------------------------- */

static void job_free(adm_job *j) {
    for (int i = 0; i < ADM_A_COUNT; i++) free(j->args[i]);
    free(j->body);
    free(j->out);
    free(j);
}

static void admin_log(api *a, http_req *r, const char *id, const char *tenant, int status) {
    api_log_rec rec = {.id = id, .method = http_req_method(r), .path = http_req_path(r), .tenant = tenant,
                       .peer = http_req_peer(r), .status = status, .t_start_ns = http_req_start_ns(r),
                       .end_ns = cirrus_now_ns()};
    api_log_request(a, EP_ADMIN, &rec);
}

/* On the polling thread, after the worker's wake: send what it made. */
static void job_resume(void *ud, http_req *r) {
    adm_job *j = ud;
    if (!j->out) adm_error(j, API_E_INTERNAL, NULL, "The request produced no reply.");
    http_add_header(r, "X-Request-Id", j->id);
    http_add_header(r, "Cache-Control", "no-store");
    if (j->disposition[0]) http_add_header(r, "Content-Disposition", j->disposition);
    http_reply(r, j->status, j->ctype, j->out, j->out_len);
    admin_log(j->a, r, j->id, j->who.tenant, j->status);
}

static void job_done(void *ud, http_req *r, const http_done_info *info) {
    (void)r;
    (void)info;
    adm_job *j = ud;
    struct adm_state *st = j->a->admin;
    pthread_mutex_lock(&st->mu);
    j->req_done = true; /* no wake from here on */
    bool free_it = j->worked;
    pthread_mutex_unlock(&st->mu);
    if (free_it) job_free(j);
}

static void *worker(void *arg) {
    api *a = arg;
    struct adm_state *st = a->admin;
    for (;;) {
        pthread_mutex_lock(&st->mu);
        while (!st->head && !st->stopping) pthread_cond_wait(&st->cv, &st->mu);
        adm_job *j = st->head;
        if (!j) { /* stopping and nothing left */
            pthread_mutex_unlock(&st->mu);
            return NULL;
        }
        st->head = j->next;
        if (!st->head) st->tail = NULL;
        st->queued--;
        bool gone = j->req_done;
        pthread_mutex_unlock(&st->mu);
        if (!gone) j->fn(j); /* a request whose client left (or a server stopping) is not run */
        pthread_mutex_lock(&st->mu);
        j->worked = true;
        bool free_it = j->req_done;
        if (!free_it) http_wake(j->r);
        pthread_mutex_unlock(&st->mu);
        if (free_it) job_free(j);
    }
}

cirrus_status api_admin_start(api *a, cirrus_err *err) {
    if (!a->cfg.tenancy) return CIRRUS_OK; /* no control plane: the admin API answers 503 */
    struct adm_state *st = calloc(1, sizeof *st);
    if (!st) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    a->admin = st;
    if (pthread_create(&st->thread, NULL, worker, a) != 0) {
        pthread_mutex_destroy(&st->mu);
        pthread_cond_destroy(&st->cv);
        free(st);
        a->admin = NULL;
        return cirrus_errf(err, CIRRUS_ERR_INTERNAL, "admin API: cannot start its thread");
    }
    return CIRRUS_OK;
}

/* After http_server_stop: every request is done, so queued jobs are only freed. */
void api_admin_stop(api *a) {
    struct adm_state *st = a->admin;
    if (!st) return;
    pthread_mutex_lock(&st->mu);
    st->stopping = true;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    pthread_join(st->thread, NULL);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
    free(st);
    a->admin = NULL;
}

/* ---- the handler (polling thread) ------------------------------------------------------------------ */

static void reply_now(api *a, http_req *r, const char *id, api_err_kind kind, const char *msg) {
    api_error e;
    api_error_make(&e, kind, NULL, "%s", msg);
    api_reply_error(a, r, EP_ADMIN, id, NULL, NULL, &e);
}

void api_admin_handle(api *a, http_req *r, const char *id) {
    const char *path = http_req_path(r), *method = http_req_method(r);
    char seg[ADM_SEGS_MAX][ADM_SEG_LEN];
    int n = 0;
    const adm_route *route = NULL, *other_method = NULL;
    if (split(path + strlen("/v1/admin/"), seg, &n))
        for (size_t i = 0; i < sizeof k_routes / sizeof k_routes[0]; i++)
            if (pattern_match(k_routes[i].pattern, seg, n)) {
                if (!strcmp(k_routes[i].method, method)) route = &k_routes[i];
                else if (!other_method) other_method = &k_routes[i];
            }

    /* The key comes first, as for every endpoint: an anonymous client learns nothing else. */
    const char *h = http_req_header(r, "Authorization");
    while (h && *h == ' ') h++;
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
        reply_now(a, r, id, API_E_NO_KEY,
                  "You didn't provide an API key. You need to provide your API key in an Authorization header using "
                  "Bearer auth (i.e. Authorization: Bearer YOUR_KEY).");
        return;
    }
    tenancy *tn = a->cfg.tenancy;
    if (!tn || !a->admin) {
        reply_now(a, r, id, API_E_OVERLOADED, "The admin API needs the control plane: start cirrus serve with --db PATH.");
        return;
    }
    const char *key = h + 7;
    while (*key == ' ') key++;
    size_t klen = strlen(key);
    while (klen && key[klen - 1] == ' ') klen--;
    tenancy_grant who;
    tenancy_decision d;
    int need = route && route->tenant_key_ok ? TENANCY_NEED_INFERENCE : TENANCY_NEED_ADMIN;
    if (tenancy_authenticate(tn, key, klen, need, &who, &d) != CIRRUS_OK) {
        api_error e;
        /* tenancy's verdicts carry OpenAI's status, type and code; the message never holds the key */
        api_error_make(&e, d.http_status == 403 ? API_E_FORBIDDEN : API_E_BAD_KEY, NULL, "%s",
                       d.message[0] ? d.message : "Incorrect API key provided.");
        if (d.http_status == 401 || d.http_status == 403) {
            e.status = d.http_status;
            if (d.type) e.type = d.type;
            e.code = d.code;
        }
        api_reply_error(a, r, EP_ADMIN, id, NULL, NULL, &e);
        return;
    }
    if (!route) {
        api_error e;
        if (other_method) {
            http_add_header(r, "Allow", other_method->method);
            api_error_make(&e, API_E_METHOD, NULL, "Method %.16s is not allowed on %.200s.", method, path);
        } else {
            api_error_make(&e, API_E_NO_ROUTE, NULL, "Invalid URL (%.16s %.200s)", method, path);
        }
        api_reply_error(a, r, EP_ADMIN, id, who.tenant, NULL, &e);
        return;
    }

    adm_job *j = calloc(1, sizeof *j);
    bool ok = j != NULL;
    if (ok) {
        j->a = a;
        snprintf(j->id, sizeof j->id, "%s", id);
        memcpy(j->seg, seg, sizeof seg);
        j->n_seg = n;
        j->who = who;
        j->tn = tn;
        j->s = tenancy_store(tn);
        j->fn = route->fn;
        j->r = r;
        for (int i = 0; i < ADM_A_COUNT && ok; i++) {
            const char *v = http_req_arg(r, k_arg_names[i]);
            if (v && !(j->args[i] = strndup(v, ADM_ARG_LEN))) ok = false;
        }
        size_t blen;
        const char *body = http_req_body(r, &blen);
        if (ok && body && blen) {
            if ((j->body = malloc(blen + 1))) {
                memcpy(j->body, body, blen);
                j->body[blen] = 0;
                j->body_len = blen;
            } else ok = false;
        }
    }
    if (!ok) {
        if (j) job_free(j);
        reply_now(a, r, id, API_E_INTERNAL, "Out of memory.");
        return;
    }
    struct adm_state *st = a->admin;
    pthread_mutex_lock(&st->mu);
    bool full = st->queued >= ADM_QUEUE_MAX || st->stopping;
    if (!full) {
        if (st->tail) st->tail->next = j;
        else st->head = j;
        st->tail = j;
        st->queued++;
        /* defer and hook done before the worker can see the job: it may finish at once */
        http_defer(r, job_resume, j);
        http_on_done(r, job_done, j);
        pthread_cond_signal(&st->cv);
    }
    pthread_mutex_unlock(&st->mu);
    if (full) {
        job_free(j);
        reply_now(a, r, id, API_E_OVERLOADED, "Too many admin requests are waiting; retry shortly.");
    }
}
