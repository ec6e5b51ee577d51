/*
 * Counters and histograms for /metrics (Prometheus text format 0.0.4).
 *
 * Every counter is an atomic, so the request path never takes a lock to count; only the first
 * request of a new tenant takes tenants_mu to claim a row. The series that name a tenant (the
 * cirrus_tenant_* families) are printed only for readers allowed to see every tenant (api.h). Tenant rows are bounded (MET_TENANTS);
 * past that, tenants share the row "_other" so a flood of names cannot grow memory.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"

static const int k_status[MET_STATUS_SLOTS] = {200, 400, 401, 403, 404, 405, 413, 429, 500, 503, 431, 0};
#define STATUS_OTHER (MET_STATUS_SLOTS - 1)

/* Upper bounds in seconds: first tokens and whole requests take 10 ms to a minute on CPU, a
 * decode step 1 ms (tiny models) to a few seconds (a loaded 7B). */
static const double k_slow_le[MET_BUCKETS] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
static const double k_fast_le[MET_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

void met_init(api_metrics *m) {
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->tenants_mu, NULL);
    m->ttft.le = k_slow_le;
    m->queue.le = k_slow_le;
    m->duration.le = k_slow_le;
    m->itl.le = k_fast_le;
}

void met_destroy(api_metrics *m) { pthread_mutex_destroy(&m->tenants_mu); }

void met_request(api_metrics *m, api_endpoint ep, int status) {
    int slot = STATUS_OTHER;
    for (int i = 0; i < STATUS_OTHER; i++)
        if (k_status[i] == status) slot = i;
    atomic_fetch_add(&m->requests[ep][slot], 1);
}

void met_observe(met_hist *h, uint64_t ns) {
    double s = (double)ns / 1e9;
    for (int i = 0; i < MET_BUCKETS; i++)
        if (s <= h->le[i]) {
            atomic_fetch_add(&h->bucket[i], 1);
            break;
        }
    atomic_fetch_add(&h->count, 1);
    atomic_fetch_add(&h->sum_us, ns / 1000);
}

static met_tenant *tenant_row(api_metrics *m, const char *name) {
    int n = atomic_load(&m->n_tenants);
    for (int i = 0; i < n; i++)
        if (!strcmp(m->tenants[i].name, name)) return &m->tenants[i];
    pthread_mutex_lock(&m->tenants_mu);
    n = atomic_load(&m->n_tenants);
    met_tenant *row = NULL;
    for (int i = 0; i < n && !row; i++)
        if (!strcmp(m->tenants[i].name, name)) row = &m->tenants[i];
    if (!row) {
        if (n < MET_TENANTS - 1) {
            row = &m->tenants[n];
            snprintf(row->name, sizeof row->name, "%s", name);
            atomic_store(&m->n_tenants, n + 1); /* published after the name is written */
        } else {
            row = &m->tenants[MET_TENANTS - 1];
            if (!row->name[0]) snprintf(row->name, sizeof row->name, "_other");
        }
    }
    pthread_mutex_unlock(&m->tenants_mu);
    return row;
}

void met_tokens(api_metrics *m, const char *tenant, uint64_t prompt, uint64_t cached, uint64_t completion) {
    atomic_fetch_add(&m->prompt_tokens, prompt);
    atomic_fetch_add(&m->cached_tokens, cached);
    atomic_fetch_add(&m->completion_tokens, completion);
    met_tenant *t = tenant_row(m, tenant && *tenant ? tenant : "default");
    atomic_fetch_add(&t->requests, 1);
    atomic_fetch_add(&t->prompt_tokens, prompt);
    atomic_fetch_add(&t->cached_tokens, cached);
    atomic_fetch_add(&t->completion_tokens, completion);
}

/* ---- text format ------------------------------------------------------------------------------ */

static void pf(jw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pf(jw *w, const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0) jw_raw(w, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* Label values may hold any UTF-8; the format escapes \, " and newline. */
static void label(char *out, size_t cap, const char *s) {
    size_t o = 0;
    for (; *s && o + 3 < cap; s++) {
        if (*s == '\\' || *s == '"') out[o++] = '\\', out[o++] = *s;
        else if (*s == '\n') out[o++] = '\\', out[o++] = 'n';
        else out[o++] = *s;
    }
    out[o] = 0;
}

static void hist(jw *w, const char *name, const char *help, const met_hist *h) {
    pf(w, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (int i = 0; i < MET_BUCKETS; i++) {
        cum += atomic_load(&h->bucket[i]);
        pf(w, "%s_bucket{le=\"%g\"} %llu\n", name, h->le[i], (unsigned long long)cum);
    }
    uint64_t count = atomic_load(&h->count);
    pf(w, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)count);
    pf(w, "%s_sum %.6f\n%s_count %llu\n", name, (double)atomic_load(&h->sum_us) / 1e6, name, (unsigned long long)count);
}

static void counter(jw *w, const char *name, const char *help, uint64_t v) {
    pf(w, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, (unsigned long long)v);
}

cirrus_status api_metrics_text(api *a, bool tenants, char **out, size_t *len) {
    api_metrics *m = &a->met;
    jw w;
    jw_init(&w, 8u << 20);
    pf(&w, "# HELP cirrus_requests_total HTTP requests answered, by endpoint and status.\n"
           "# TYPE cirrus_requests_total counter\n");
    for (int e = 0; e < EP_COUNT; e++)
        for (int s = 0; s <= STATUS_OTHER; s++) {
            uint64_t v = atomic_load(&m->requests[e][s]);
            if (!v) continue;
            if (s == STATUS_OTHER) pf(&w, "cirrus_requests_total{endpoint=\"%s\",status=\"other\"} %llu\n", api_eps[e].metric, (unsigned long long)v);
            else pf(&w, "cirrus_requests_total{endpoint=\"%s\",status=\"%d\"} %llu\n", api_eps[e].metric, k_status[s], (unsigned long long)v);
        }
    pf(&w, "# HELP cirrus_requests_in_flight Generation requests between arrival and done.\n"
           "# TYPE cirrus_requests_in_flight gauge\ncirrus_requests_in_flight %lld\n",
       (long long)atomic_load(&m->inflight));
    counter(&w, "cirrus_prompt_tokens_total", "Prompt tokens of finished requests.", atomic_load(&m->prompt_tokens));
    counter(&w, "cirrus_cached_prompt_tokens_total", "Prompt tokens served from the prefix cache.", atomic_load(&m->cached_tokens));
    counter(&w, "cirrus_completion_tokens_total", "Generated tokens of finished requests.", atomic_load(&m->completion_tokens));
    hist(&w, "cirrus_time_to_first_token_seconds", "From arrival to the first generated token.", &m->ttft);
    hist(&w, "cirrus_inter_token_latency_seconds", "Between consecutive tokens of a stream, as the connection saw them.", &m->itl);
    hist(&w, "cirrus_queue_time_seconds", "From submit to admission into a KV slot.", &m->queue);
    hist(&w, "cirrus_request_duration_seconds", "From arrival to the last byte of generation requests.", &m->duration);

    static const char *const gauges[][2] = {
        {"cirrus_queue_depth", "Requests waiting for a KV slot."},
        {"cirrus_running_requests", "Requests holding KV slots."},
        {"cirrus_kv_slots_used", "KV cache slots in use."},
        {"cirrus_kv_slots_total", "KV cache slots."},
        {"cirrus_kv_cache_used_bytes", "KV cache bytes in use."},
        {"cirrus_kv_cache_total_bytes", "KV cache bytes."},
    };
    int nm = atomic_load(&a->n_models);
    sched_stats st[API_MAX_MODELS];
    for (int i = 0; i < nm; i++) sched_get_stats(a->models[i].m.engine, &st[i]);
    for (size_t g = 0; g < sizeof gauges / sizeof gauges[0]; g++) {
        pf(&w, "# HELP %s %s\n# TYPE %s gauge\n", gauges[g][0], gauges[g][1], gauges[g][0]);
        for (int i = 0; i < nm; i++) {
            char lm[2 * API_MODEL_NAME_MAX];
            label(lm, sizeof lm, a->models[i].name);
            unsigned long long v = g == 0 ? (unsigned long long)st[i].queued
                                 : g == 1 ? (unsigned long long)st[i].running
                                 : g == 2 ? (unsigned long long)st[i].slots_used
                                 : g == 3 ? (unsigned long long)st[i].slots_total
                                 : g == 4 ? (unsigned long long)st[i].kv_bytes_used
                                          : (unsigned long long)st[i].kv_bytes_total;
            pf(&w, "%s{model=\"%s\"} %llu\n", gauges[g][0], lm, v);
        }
    }
    pf(&w, "# HELP cirrus_engine_tokens_generated_total Tokens the engine generated (cancelled requests included).\n"
           "# TYPE cirrus_engine_tokens_generated_total counter\n");
    for (int i = 0; i < nm; i++) {
        char lm[2 * API_MODEL_NAME_MAX];
        label(lm, sizeof lm, a->models[i].name);
        pf(&w, "cirrus_engine_tokens_generated_total{model=\"%s\"} %llu\n", lm, (unsigned long long)st[i].tokens_generated);
    }

    if (!tenants) goto done; /* what follows names tenants (api.h: who may read it) */

    /* the engines' view per tenant: who waits, who runs (fairness at a glance) */
    static const char *const tg[][2] = {
        {"cirrus_tenant_queued_requests", "Requests of the tenant waiting for a KV slot."},
        {"cirrus_tenant_running_requests", "Requests of the tenant holding KV slots."},
        {"cirrus_tenant_slots_held", "KV slots the tenant holds."},
    };
    sched_tenant_stats *ts = malloc(SCHED_TENANTS_MAX * sizeof *ts);
    for (size_t g = 0; ts && g < 3; g++) {
        pf(&w, "# HELP %s %s\n# TYPE %s gauge\n", tg[g][0], tg[g][1], tg[g][0]);
        for (int i = 0; i < nm; i++) {
            int32_t n = sched_get_tenant_stats(a->models[i].m.engine, ts, SCHED_TENANTS_MAX);
            if (n > SCHED_TENANTS_MAX) n = SCHED_TENANTS_MAX;
            char lm[2 * API_MODEL_NAME_MAX];
            label(lm, sizeof lm, a->models[i].name);
            for (int32_t j = 0; j < n; j++) {
                char lt[2 * API_TENANT_MAX];
                label(lt, sizeof lt, ts[j].tenant);
                long long v = g == 0 ? ts[j].queued : g == 1 ? ts[j].running : ts[j].slots_held;
                pf(&w, "%s{model=\"%s\",tenant=\"%s\"} %lld\n", tg[g][0], lm, lt, v);
            }
        }
    }
    free(ts);

    static const char *const tc[][2] = {
        {"cirrus_tenant_requests_total", "Finished generation requests per tenant."},
        {"cirrus_tenant_prompt_tokens_total", "Prompt tokens per tenant."},
        {"cirrus_tenant_cached_tokens_total", "Prompt tokens from the prefix cache per tenant."},
        {"cirrus_tenant_completion_tokens_total", "Generated tokens per tenant."},
    };
    int nt = atomic_load(&m->n_tenants);
    bool other = m->tenants[MET_TENANTS - 1].name[0] != 0;
    for (size_t c = 0; c < 4; c++) {
        pf(&w, "# HELP %s %s\n# TYPE %s counter\n", tc[c][0], tc[c][1], tc[c][0]);
        for (int i = 0; i < MET_TENANTS; i++) {
            if (i >= nt && !(i == MET_TENANTS - 1 && other)) continue;
            const met_tenant *t = &m->tenants[i];
            char lt[2 * API_TENANT_MAX];
            label(lt, sizeof lt, t->name);
            uint64_t v = c == 0 ? atomic_load(&t->requests) : c == 1 ? atomic_load(&t->prompt_tokens)
                       : c == 2 ? atomic_load(&t->cached_tokens) : atomic_load(&t->completion_tokens);
            pf(&w, "%s{tenant=\"%s\"} %llu\n", tc[c][0], lt, (unsigned long long)v);
        }
    }
done:
    if (jw_failed(&w)) {
        jw_free(&w);
        return CIRRUS_ERR_NOMEM;
    }
    *out = cirrus_buf_take(&w.b, len);
    if (!*out) return CIRRUS_ERR_NOMEM;
    return CIRRUS_OK;
}
