/*
 * Metering glue: the control plane's decisions in OpenAI's terms. When `cirrus serve --db` runs
 * with a tenancy, every generation request is admitted by tenancy_admit (key, scope, model, limits,
 * worst-case budget reservation), its progress is reported as tokens reach the connection, and it
 * is settled exactly once when it ends (tenancy invariants T1/T2, ledger L1).
 */
#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"

void api_error_from_decision(api_error *e, const tenancy_decision *d) {
    memset(e, 0, sizeof *e);
    e->status = d->http_status;
    e->type = d->type ? d->type : "invalid_request_error";
    e->code = d->code;
    snprintf(e->param, sizeof e->param, "%s", d->param ? d->param : "");
    snprintf(e->message, sizeof e->message, "%s", d->message);
    if (d->retry_after_ms > 0) e->retry_after_s = (int)((d->retry_after_ms + 999) / 1000);
}

/* x-ratelimit-{limit,remaining,reset}-{requests,tokens} and retry-after-ms, as OpenAI sends them. */
void api_decision_headers(http_req *r, const tenancy_decision *d) {
    char v[32], reset[32];
    if (d->has_requests) {
        snprintf(v, sizeof v, "%lld", (long long)d->limit_requests);
        http_add_header(r, "x-ratelimit-limit-requests", v);
        snprintf(v, sizeof v, "%lld", (long long)(d->remaining_requests > 0 ? d->remaining_requests : 0));
        http_add_header(r, "x-ratelimit-remaining-requests", v);
        tenancy_format_reset(d->reset_requests_ms, reset, sizeof reset);
        http_add_header(r, "x-ratelimit-reset-requests", reset);
    }
    if (d->has_tokens) {
        snprintf(v, sizeof v, "%lld", (long long)d->limit_tokens);
        http_add_header(r, "x-ratelimit-limit-tokens", v);
        snprintf(v, sizeof v, "%lld", (long long)(d->remaining_tokens > 0 ? d->remaining_tokens : 0));
        http_add_header(r, "x-ratelimit-remaining-tokens", v);
        tenancy_format_reset(d->reset_tokens_ms, reset, sizeof reset);
        http_add_header(r, "x-ratelimit-reset-tokens", reset);
    }
    if (d->retry_after_ms > 0) {
        snprintf(v, sizeof v, "%lld", (long long)d->retry_after_ms);
        http_add_header(r, "retry-after-ms", v);
    }
}

/* The bearer key of a request (not NUL-terminated: *len bytes), or NULL. */
const char *api_bearer(http_req *r, size_t *len) {
    const char *h = http_req_header(r, "Authorization");
    while (h && *h == ' ') h++;
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) return NULL;
    const char *key = h + 7;
    while (*key == ' ') key++;
    size_t n = strlen(key);
    while (n && key[n - 1] == ' ') n--;
    *len = n;
    return key;
}
