/*
 * `cirrus loadgen`: plays several tenants against a cirrus (or any OpenAI-compatible) server, each
 * with a fixed number of concurrent streaming chat completions, and reports per tenant and overall:
 * requests, generated tokens per second, time to first token and inter-token latency percentiles,
 * errors by HTTP status. --out writes one JSON line per completed request (id, usage) so other
 * tests can reconcile the server's accounting against what clients saw.
 *
 * One thread drives every connection through libcurl's multi interface: latency is measured at
 * the moment a chunk arrives, without thread scheduling in between. It only ever targets loopback
 * addresses: it is a benchmark, not a way to load someone else's service.
 *
 * Tokens in a --duration window: completed requests count their usage.completion_tokens; requests
 * cut at the deadline count the content chunks they received (one per token, give or take held-back
 * stop text), so a tenant's share is measured over the same window for everyone.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/core.h"

static const char *usage =
    "usage: cirrus loadgen --url http://127.0.0.1:PORT --tenant NAME:KEY:CONCURRENCY [...] [options]\n"
    "  --tenant NAME:KEY:N    a tenant with API key KEY (may be empty) and N concurrent streams (repeatable)\n"
    "  --duration S           run for S seconds (default 10), cutting requests still running\n"
    "  --requests N           instead: run until N requests (all tenants) completed\n"
    "  --model NAME           model to ask for (default: the first of GET /v1/models)\n"
    "  --max-tokens N         per request (default 64)\n"
    "  --prompt TEXT          user message (default: a short story opening)\n"
    "  --temperature T        (default 1.0)\n"
    "  --timeout S            per request (default 120)\n"
    "  --json                 print the report as JSON\n"
    "  --out FILE             one JSON line per completed request: id, tenant, status, usage, latency\n";

#define LG_MAX_TENANTS 32
#define LG_MAX_STREAMS 4096

typedef struct {
    double *v;
    size_t n, cap;
} samples;

static void push(samples *s, double x) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        double *v = realloc(s->v, cap * sizeof *v);
        if (!v) return; /* drop the sample rather than abort a benchmark */
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = x;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void sort_samples(samples *s) {
    if (s->n) qsort(s->v, s->n, sizeof *s->v, cmp_d); /* v is NULL when empty: qsort(NULL) is UB */
}

/* Nearest-rank percentile of sorted samples; 0 when empty. */
static double pct(const samples *s, double p) {
    if (!s->n) return 0;
    size_t i = (size_t)(p / 100.0 * (double)s->n + 0.999999);
    if (i < 1) i = 1;
    if (i > s->n) i = s->n;
    return s->v[i - 1];
}

typedef struct {
    char name[64];
    char auth[600];
    int conc;
    uint64_t requests, errors, tokens;
    int status[8][2]; /* (status, count) */
    int n_status;
    samples ttft, itl;
} tenant;

typedef struct {
    tenant *t;
    CURL *h;
    struct curl_slist *hdr;
    char line[64 * 1024];
    size_t line_len;
    char body_err[512];
    size_t err_len;
    uint64_t t0, t_last;
    bool got_first, done_marker, has_usage, active;
    double ttft_ms;
    uint32_t chunks;
    json_int_t prompt_tokens, completion_tokens, cached_tokens;
    char id[96];
} stream;

typedef struct {
    const char *url, *model, *prompt, *out_path;
    tenant tenants[LG_MAX_TENANTS];
    int n_tenants;
    double duration_s, temperature;
    int64_t requests, max_tokens, timeout_s;
    bool json, by_requests;
    char body[8192];
    char endpoint[512];
    FILE *out;
} lg;

static void count_status(tenant *t, int status) {
    for (int i = 0; i < t->n_status; i++)
        if (t->status[i][0] == status) {
            t->status[i][1]++;
            return;
        }
    if (t->n_status < 8) {
        t->status[t->n_status][0] = status;
        t->status[t->n_status][1] = 1;
        t->n_status++;
    }
}

/* One SSE "data:" payload. */
static void on_data(stream *s, const char *d, size_t n) {
    if (n == 6 && !memcmp(d, "[DONE]", 6)) {
        s->done_marker = true;
        return;
    }
    json_t *j = json_loadb(d, n, 0, NULL);
    if (!j) return;
    const char *id = json_string_value(json_object_get(j, "id"));
    if (id && !s->id[0]) snprintf(s->id, sizeof s->id, "%s", id);
    const json_t *u = json_object_get(j, "usage");
    if (json_is_object(u)) {
        s->has_usage = true;
        s->prompt_tokens = json_integer_value(json_object_get(u, "prompt_tokens"));
        s->completion_tokens = json_integer_value(json_object_get(u, "completion_tokens"));
        s->cached_tokens = json_integer_value(json_object_get(json_object_get(u, "prompt_tokens_details"), "cached_tokens"));
    }
    const json_t *ch = json_array_get(json_object_get(j, "choices"), 0);
    const json_t *content = json_object_get(json_object_get(ch, "delta"), "content");
    if (!content) content = json_object_get(ch, "text");
    bool lp = json_is_object(json_object_get(ch, "logprobs"));
    if ((json_is_string(content) && json_string_length(content) > 0) || lp) {
        uint64_t now = cirrus_now_ns();
        if (!s->got_first) {
            s->ttft_ms = (double)(now - s->t0) / 1e6;
            push(&s->t->ttft, s->ttft_ms);
            s->got_first = true;
        } else {
            push(&s->t->itl, (double)(now - s->t_last) / 1e6);
        }
        s->t_last = now;
        s->chunks++;
    }
    json_decref(j);
}

static size_t on_write(char *p, size_t sz, size_t nm, void *ud) {
    stream *s = ud;
    size_t n = sz * nm;
    long code = 0;
    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200) { /* an error body: keep its start for the report */
        size_t room = sizeof s->body_err - 1 - s->err_len;
        memcpy(s->body_err + s->err_len, p, n < room ? n : room);
        s->err_len += n < room ? n : room;
        s->body_err[s->err_len] = 0;
        return n;
    }
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\n') {
            size_t len = s->line_len;
            if (len && s->line[len - 1] == '\r') len--;
            if (len >= 5 && !memcmp(s->line, "data:", 5)) {
                size_t o = 5;
                if (o < len && s->line[o] == ' ') o++;
                on_data(s, s->line + o, len - o);
            }
            s->line_len = 0;
        } else if (s->line_len < sizeof s->line - 1) {
            s->line[s->line_len++] = c;
        }
    }
    return n;
}

static bool start(lg *L, CURLM *m, stream *s) {
    if (!s->h && !(s->h = curl_easy_init())) return false;
    curl_easy_reset(s->h);
    s->line_len = s->err_len = 0;
    s->body_err[0] = 0;
    s->got_first = s->done_marker = s->has_usage = false;
    s->ttft_ms = -1;
    s->chunks = 0;
    s->prompt_tokens = s->completion_tokens = s->cached_tokens = 0;
    s->id[0] = 0;
    if (!s->hdr) {
        s->hdr = curl_slist_append(NULL, "Content-Type: application/json");
        if (s->t->auth[0]) s->hdr = curl_slist_append(s->hdr, s->t->auth);
    }
    curl_easy_setopt(s->h, CURLOPT_URL, L->endpoint);
    curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, s->hdr);
    curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, L->body);
    curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->h, CURLOPT_PRIVATE, s);
    curl_easy_setopt(s->h, CURLOPT_TIMEOUT, (long)L->timeout_s);
    curl_easy_setopt(s->h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(s->h, CURLOPT_NOSIGNAL, 1L);
    s->t0 = cirrus_now_ns();
    s->active = curl_multi_add_handle(m, s->h) == CURLM_OK;
    return s->active;
}

/* A finished transfer: account it and write its record. */
static void finish(lg *L, stream *s, CURLcode cc) {
    long code = 0;
    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
    tenant *t = s->t;
    s->active = false;
    if (cc != CURLE_OK && code == 200) code = 0; /* cut mid-stream */
    if (code == 200 && s->done_marker) {
        t->requests++;
        t->tokens += s->has_usage ? (uint64_t)s->completion_tokens : s->chunks;
    } else {
        t->errors++;
        t->tokens += s->chunks;
        count_status(t, (int)code);
        if (!L->json && t->errors <= 3)
            fprintf(stderr, "loadgen: %s: status %ld%s%s %s\n", t->name, code, cc != CURLE_OK ? ": " : "",
                    cc != CURLE_OK ? curl_easy_strerror(cc) : "", s->body_err);
    }
    if (L->out) {
        json_t *r = json_pack("{s:s, s:s, s:i, s:f, s:f}", "id", s->id, "tenant", t->name, "status", (int)code,
                              "ttft_ms", s->ttft_ms, "duration_ms", (double)(cirrus_now_ns() - s->t0) / 1e6);
        if (r && s->has_usage)
            json_object_set_new(r, "usage", json_pack("{s:I, s:I, s:I, s:{s:I}}", "prompt_tokens", s->prompt_tokens,
                                                      "completion_tokens", s->completion_tokens, "total_tokens",
                                                      s->prompt_tokens + s->completion_tokens, "prompt_tokens_details",
                                                      "cached_tokens", s->cached_tokens));
        if (r) {
            char *line = json_dumps(r, JSON_COMPACT | JSON_REAL_PRECISION(6));
            if (line) fprintf(L->out, "%s\n", line);
            free(line);
            json_decref(r);
        }
    }
}

/* ---- set-up ----------------------------------------------------------------------------------- */

static bool loopback_only(const char *url) {
    CURLU *u = curl_url();
    char *host = NULL, *scheme = NULL;
    bool ok = false;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK && curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK) {
        struct in_addr a4;
        struct in6_addr a6;
        char h[256];
        snprintf(h, sizeof h, "%s", host);
        size_t n = strlen(h);
        if (n > 2 && h[0] == '[' && h[n - 1] == ']') {
            memmove(h, h + 1, n - 2);
            h[n - 2] = 0;
        }
        if (!strcmp(h, "localhost")) ok = true;
        else if (inet_pton(AF_INET, h, &a4) == 1) ok = (ntohl(a4.s_addr) >> 24) == 127;
        else if (inet_pton(AF_INET6, h, &a6) == 1) ok = IN6_IS_ADDR_LOOPBACK(&a6);
        if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) ok = false;
    }
    curl_free(host);
    curl_free(scheme);
    curl_url_cleanup(u);
    return ok;
}

static size_t grow_sink(char *p, size_t sz, size_t nm, void *ud) {
    char **b = ud;
    size_t old = *b ? strlen(*b) : 0, n = sz * nm;
    if (old + n > (1u << 20)) return 0;
    char *nb = realloc(*b, old + n + 1);
    if (!nb) return 0;
    memcpy(nb + old, p, n);
    nb[old + n] = 0;
    *b = nb;
    return n;
}

/* The first model the server lists, for the first tenant. */
static bool first_model(lg *L, char *out, size_t cap) {
    char url[600];
    snprintf(url, sizeof url, "%s/v1/models", L->url);
    CURL *h = curl_easy_init();
    char *body = NULL;
    struct curl_slist *hdr = L->tenants[0].auth[0] ? curl_slist_append(NULL, L->tenants[0].auth) : NULL;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, grow_sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    bool ok = false;
    if (curl_easy_perform(h) == CURLE_OK && body) {
        json_t *j = json_loads(body, 0, NULL);
        const char *id = json_string_value(json_object_get(json_array_get(json_object_get(j, "data"), 0), "id"));
        if (id) {
            snprintf(out, cap, "%s", id);
            ok = true;
        }
        json_decref(j);
    }
    free(body);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return ok;
}

static int parse_args(int argc, char **argv, lg *L) {
    const char *v;
    int64_t n;
    L->duration_s = 10, L->max_tokens = 64, L->timeout_s = 120, L->temperature = 1.0;
    L->prompt = "Once upon a time, in a small village by the sea, there lived";
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--url", &v)) { if (!(L->url = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--tenant", &v)) {
            if (!v) return 2;
            const char *c1 = strchr(v, ':'), *c2 = c1 ? strrchr(v, ':') : NULL;
            if (!c1 || c2 == c1 || c1 == v || (size_t)(c1 - v) >= 64 || (size_t)(c2 - c1 - 1) > 512) {
                cli_error("--tenant: expected NAME:KEY:CONCURRENCY, got '%s'", v);
                return 2;
            }
            if (L->n_tenants == LG_MAX_TENANTS) { cli_error("--tenant: at most %d tenants", LG_MAX_TENANTS); return 2; }
            tenant *t = &L->tenants[L->n_tenants++];
            snprintf(t->name, sizeof t->name, "%.*s", (int)(c1 - v), v);
            if (c2 > c1 + 1) snprintf(t->auth, sizeof t->auth, "Authorization: Bearer %.*s", (int)(c2 - c1 - 1), c1 + 1);
            if (!cli_parse_i64("--tenant concurrency", c2 + 1, 1, 1024, &n)) return 2;
            t->conc = (int)n;
        }
        else if (cli_opt(argc, argv, &i, "--duration", &v)) { float d; if (!cli_parse_f32("--duration", v, 0.1f, 1e6f, &d)) return 2; L->duration_s = d; }
        else if (cli_opt(argc, argv, &i, "--requests", &v)) { if (!cli_parse_i64("--requests", v, 1, 1 << 30, &L->requests)) return 2; L->by_requests = true; }
        else if (cli_opt(argc, argv, &i, "--model", &v)) { if (!(L->model = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--max-tokens", &v)) { if (!cli_parse_i64("--max-tokens", v, 1, 1 << 20, &L->max_tokens)) return 2; }
        else if (cli_opt(argc, argv, &i, "--prompt", &v)) { if (!(L->prompt = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--temperature", &v)) { float t; if (!cli_parse_f32("--temperature", v, 0, 2, &t)) return 2; L->temperature = t; }
        else if (cli_opt(argc, argv, &i, "--timeout", &v)) { if (!cli_parse_i64("--timeout", v, 1, 86400, &L->timeout_s)) return 2; }
        else if (cli_opt(argc, argv, &i, "--out", &v)) { if (!(L->out_path = v)) return 2; }
        else if (!strcmp(argv[i], "--json")) L->json = true;
        else { cli_error("loadgen: unknown option '%s'", argv[i]); fputs(usage, stderr); return 2; }
    }
    if (!L->url || !L->n_tenants) {
        cli_error("loadgen: --url and at least one --tenant are required");
        fputs(usage, stderr);
        return 2;
    }
    if (strlen(L->url) > 400 || !loopback_only(L->url)) {
        cli_error("loadgen: --url must be an http URL on a loopback address (127.0.0.0/8, ::1, localhost)");
        return 2;
    }
    return 0;
}

/* ---- report ---------------------------------------------------------------------------------- */

static void merge(samples *dst, const samples *src) {
    for (size_t i = 0; i < src->n; i++) push(dst, src->v[i]);
}

static json_t *lat_json(const samples *s) {
    return json_pack("{s:f, s:f, s:f, s:I}", "p50", pct(s, 50), "p90", pct(s, 90), "p99", pct(s, 99), "n", (json_int_t)s->n);
}

static void report(lg *L, double wall) {
    tenant all = {.conc = 0};
    snprintf(all.name, sizeof all.name, "overall");
    for (int i = 0; i < L->n_tenants; i++) {
        tenant *t = &L->tenants[i];
        sort_samples(&t->ttft);
        sort_samples(&t->itl);
        all.conc += t->conc;
        all.requests += t->requests;
        all.errors += t->errors;
        all.tokens += t->tokens;
        merge(&all.ttft, &t->ttft);
        merge(&all.itl, &t->itl);
        for (int k = 0; k < t->n_status; k++)
            for (int c = 0; c < t->status[k][1]; c++) count_status(&all, t->status[k][0]);
    }
    sort_samples(&all.ttft);
    sort_samples(&all.itl);
    if (L->json) {
        json_t *root = json_pack("{s:f, s:s, s:I}", "duration_s", wall, "model", L->model, "max_tokens", (json_int_t)L->max_tokens);
        json_t *arr = json_array();
        for (int i = 0; i <= L->n_tenants; i++) {
            tenant *t = i < L->n_tenants ? &L->tenants[i] : &all;
            json_t *errs = json_object();
            for (int k = 0; k < t->n_status; k++) {
                char key[16];
                snprintf(key, sizeof key, "%d", t->status[k][0]);
                json_object_set_new(errs, key, json_integer(t->status[k][1]));
            }
            json_t *o = json_pack("{s:s, s:i, s:I, s:I, s:o, s:I, s:f, s:f, s:o, s:o}", "name", t->name, "concurrency", t->conc,
                                  "requests", (json_int_t)t->requests, "errors", (json_int_t)t->errors, "errors_by_status", errs,
                                  "tokens", (json_int_t)t->tokens, "tok_per_s", (double)t->tokens / wall, "share",
                                  all.tokens ? (double)t->tokens / (double)all.tokens : 0.0, "ttft_ms", lat_json(&t->ttft),
                                  "itl_ms", lat_json(&t->itl));
            if (i < L->n_tenants) json_array_append_new(arr, o);
            else json_object_set_new(root, "overall", o);
        }
        json_object_set_new(root, "tenants", arr);
        char *s = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
        if (s) puts(s);
        free(s);
        json_decref(root);
    } else {
        printf("loadgen: %s, model %s, %.1f s, max_tokens %lld\n", L->url, L->model, wall, (long long)L->max_tokens);
        printf("%-16s %5s %9s %7s %9s %9s %6s | %-26s | %-26s\n", "tenant", "conc", "requests", "errors", "tokens", "tok/s",
               "share", "ttft p50/p90/p99 ms", "itl p50/p90/p99 ms");
        for (int i = 0; i <= L->n_tenants; i++) {
            tenant *t = i < L->n_tenants ? &L->tenants[i] : &all;
            printf("%-16s %5d %9llu %7llu %9llu %9.1f %5.1f%% | %8.1f %8.1f %8.1f | %8.2f %8.2f %8.2f\n", t->name, t->conc,
                   (unsigned long long)t->requests, (unsigned long long)t->errors, (unsigned long long)t->tokens,
                   (double)t->tokens / wall, all.tokens ? 100.0 * (double)t->tokens / (double)all.tokens : 0.0,
                   pct(&t->ttft, 50), pct(&t->ttft, 90), pct(&t->ttft, 99), pct(&t->itl, 50), pct(&t->itl, 90), pct(&t->itl, 99));
        }
        if (all.n_status) {
            printf("errors by status:");
            for (int k = 0; k < all.n_status; k++) printf(" %d: %d", all.status[k][0], all.status[k][1]);
            printf("   (0 = transport error or cut at the deadline)\n");
        }
    }
    free(all.ttft.v);
    free(all.itl.v);
}

int cmd_loadgen(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    static lg L;
    memset(&L, 0, sizeof L);
    int rc = parse_args(argc, argv, &L);
    if (rc) return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    static char model[256];
    if (!L.model) {
        if (!first_model(&L, model, sizeof model)) {
            cli_error("loadgen: GET %s/v1/models gave no model (server down, or --tenant key wrong?)", L.url);
            curl_global_cleanup();
            return 1;
        }
        L.model = model;
    }
    snprintf(L.endpoint, sizeof L.endpoint, "%s/v1/chat/completions", L.url);
    json_t *body = json_pack("{s:s, s:[{s:s, s:s}], s:I, s:f, s:b, s:{s:b}}", "model", L.model, "messages", "role", "user",
                             "content", L.prompt, "max_tokens", (json_int_t)L.max_tokens, "temperature", L.temperature,
                             "stream", 1, "stream_options", "include_usage", 1);
    char *bs = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!bs || strlen(bs) >= sizeof L.body) {
        cli_error("loadgen: --prompt is too long (at most ~8 KiB)");
        free(bs);
        curl_global_cleanup();
        return 2;
    }
    snprintf(L.body, sizeof L.body, "%s", bs);
    free(bs);
    if (L.out_path && !(L.out = fopen(L.out_path, "w"))) {
        cli_error("loadgen: cannot write %s", L.out_path);
        curl_global_cleanup();
        return 1;
    }

    int n_streams = 0;
    for (int i = 0; i < L.n_tenants; i++) n_streams += L.tenants[i].conc;
    if (n_streams > LG_MAX_STREAMS) {
        cli_error("loadgen: at most %d concurrent streams in all", LG_MAX_STREAMS);
        return 2;
    }
    stream *S = calloc((size_t)n_streams, sizeof *S);
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)n_streams);
    int k = 0, active = 0;
    int64_t started = 0;
    for (int i = 0; i < L.n_tenants; i++)
        for (int c = 0; c < L.tenants[i].conc; c++, k++) {
            S[k].t = &L.tenants[i];
            if (L.by_requests && started >= L.requests) continue;
            if (start(&L, m, &S[k])) active++, started++;
        }
    uint64_t t0 = cirrus_now_ns(), deadline = t0 + (uint64_t)(L.duration_s * 1e9);
    while (active > 0) {
        int running = 0;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int q;
        while ((msg = curl_multi_info_read(m, &q))) {
            if (msg->msg != CURLMSG_DONE) continue;
            stream *s = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            CURLcode cc = msg->data.result;
            curl_multi_remove_handle(m, s->h);
            active--;
            finish(&L, s, cc);
            bool more = L.by_requests ? started < L.requests : cirrus_now_ns() < deadline;
            if (more && start(&L, m, s)) active++, started++;
        }
        if (!L.by_requests && cirrus_now_ns() >= deadline) break;
        curl_multi_poll(m, NULL, 0, 50, NULL);
    }
    double wall = (double)(cirrus_now_ns() - t0) / 1e9;
    /* requests cut at the deadline: their streamed tokens count, they are not errors */
    for (int i = 0; i < n_streams; i++) {
        if (S[i].active) S[i].t->tokens += S[i].chunks;
        if (!S[i].h) continue;
        if (S[i].active) curl_multi_remove_handle(m, S[i].h);
        curl_easy_cleanup(S[i].h);
        curl_slist_free_all(S[i].hdr);
    }
    report(&L, wall);
    for (int i = 0; i < L.n_tenants; i++) {
        free(L.tenants[i].ttft.v);
        free(L.tenants[i].itl.v);
    }
    curl_multi_cleanup(m);
    free(S);
    if (L.out) fclose(L.out);
    curl_global_cleanup();
    return 0;
}
