/*
 * `cirrus serve`: the OpenAI-compatible server. Wires http -> api -> sched over loaded models.
 *
 * Start-up order: listen first (so /health answers 503 "loading" while weights map), then load
 * each model and start its engine, then mark ready. Shutdown on SIGTERM/SIGINT: stop accepting,
 * refuse new generations (503), let the engines finish or cancel in-flight requests until the
 * deadline, close connections, exit 0.
 *
 * Signals are blocked in every thread and taken synchronously by sigwait in the main thread, so
 * no handler runs in an arbitrary thread and shutdown is ordinary code.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "api/api.h"
#include "guard/guard.h"
#include "cli/cli.h"
#include "http/http.h"
#include "model/model.h"
#include "sched/sched.h"
#include "tenancy/tenancy.h"
#include "tokenizer/tokenizer.h"

#define SERVE_MAX_MODELS API_MAX_MODELS

static const char *usage =
    "usage: cirrus serve --model NAME=PATH.gguf [--model ...] [options]\n"
    "  --host ADDR            listen address (default 127.0.0.1)\n"
    "  --port N               (default 8080; 0 = any free port, printed)\n"
    "  --model NAME=PATH      a model to serve under NAME (repeatable, up to 8)\n"
    "  --config FILE.json     tenants and API keys: {\"tenants\":[{\"name\",\"weight\",\"reserved_tpm\",\n"
    "                         \"max_concurrent\",\"models\",\"keys\":[...]}]}; without keys: open mode\n"
    "  --threads N            engine threads per model (default 2)\n"
    "  --ctx N                positions per sequence (default 2048)\n"
    "  --slots N              sequences in the KV cache per model (default 8)\n"
    "  --batch N              max tokens per forward pass (default 256)\n"
    "  --queue-max N          waiting requests before 503 (default 64)\n"
    "  --no-prefix-cache      do not reuse a tenant's earlier prompt prefixes\n"
    "  --chat-template NAME   override the template (chatml llama2 llama3 mistral phi3 gemma zephyr)\n"
    "  --max-body BYTES       request body limit, 413 above (default 1048576)\n"
    "  --max-connections N    open connections (default 1024)\n"
    "  --per-ip-connections N open connections from one client address (default 64; 0 = no limit,\n"
    "                         e.g. behind a load balancer that is every client's address)\n"
    "  --timeout S            close connections idle this long (default 30)\n"
    "  --header-timeout S     a request's line and headers must arrive within S, however they trickle\n"
    "                         (default 10; on a kept-alive connection, after --timeout of idling)\n"
    "  --body-timeout S       a request body must arrive within S of its headers (default 60)\n"
    "  --http-threads N       HTTP polling threads (default 2)\n"
    "  --metrics-listen ADDR  also serve GET /metrics with every series -- those naming tenants too -- and\n"
    "                         /health on HOST:PORT, without a key (a monitoring network's address); the\n"
    "                         main port's /metrics shows tenants' series only to a provider admin key\n"
    "  --shutdown-deadline S  on SIGTERM, let requests finish this long (default 10)\n"
    "  --db PATH|URI          the control plane's database: a SQLite file, or postgres://USER@HOST:PORT/DB\n"
    "                         (any libpq URI); the admin API (/v1/admin), the console, and the ledger.\n"
    "                         One server owns a database: a second one on it exits 1 naming the first\n"
    "  --pepper-file FILE     the key-hash secret (default DB.pepper; required with a URI, or\n"
    "                         $CIRRUS_PEPPER_FILE)\n"
    "  --durable-timeout S    with --db, a reply waits this long for its usage record to reach the disk;\n"
    "                         past it the client gets an error instead of the reply (default 10)\n"
    "  --access-log FILE      JSON lines (default: stderr; '-' = stdout, 'off' = none)\n"
    "  --log-prompts          debug: access log lines carry the prompt text\n"
    "  --ready-file FILE      write the bound port here once ready (for scripts)\n"
    "  --watermark-key FILE   watermark every output with this key (cirrus guard keygen); with --db and\n"
    "                         no key file, a key is derived from DB.wmkey (a secret created 0600 on first\n"
    "                         start), or with a URI from the key-hash secret, so every node marks alike.\n"
    "                         Plans can turn it off per tenant (cirrus plan set --watermark off)\n"
    "  --no-watermark NAME    do not watermark model NAME (repeatable)\n"
    "  --no-risk              do not score tenants' traffic (docs/protection.md)\n";

typedef struct {
    const char *names[SERVE_MAX_MODELS], *paths[SERVE_MAX_MODELS];
    int n_models;
    const char *config, *access_log, *tmpl, *ready_file, *db, *wm_key, *pepper;
    char metrics_host[256];
    int metrics_port; /* -1: no private metrics listener */
    const char *no_wm[SERVE_MAX_MODELS];
    int n_no_wm;
    bool no_risk;
    http_config http;
    int64_t threads, ctx, slots, batch, queue_max, deadline_s, durable_s;
    bool prefix_cache, log_prompts;
} serve_opts;

/* --metrics-listen HOST:PORT, [V6]:PORT or :PORT (127.0.0.1). */
static bool parse_listen(const char *v, serve_opts *o) {
    const char *colon = strrchr(v, ':');
    int64_t port;
    if (!colon || !cli_parse_i64("--metrics-listen port", colon + 1, 0, 65535, &port)) {
        cli_error("--metrics-listen: expected HOST:PORT, got '%s'", v);
        return false;
    }
    const char *h = v;
    size_t n = (size_t)(colon - v);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') h++, n -= 2;
    if (!n) h = "127.0.0.1", n = strlen(h);
    if (n >= sizeof o->metrics_host) {
        cli_error("--metrics-listen: host too long");
        return false;
    }
    snprintf(o->metrics_host, sizeof o->metrics_host, "%.*s", (int)n, h);
    o->metrics_port = (int)port;
    return true;
}

static int parse_args(int argc, char **argv, serve_opts *o) {
    http_config_default(&o->http);
    o->threads = 2, o->ctx = 2048, o->slots = 8, o->batch = 256, o->queue_max = 64, o->deadline_s = 10, o->durable_s = 10;
    o->prefix_cache = true;
    o->metrics_port = -1;
    const char *v;
    int64_t n;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--host", &v)) { if (!(o->http.host = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--port", &v)) { if (!cli_parse_i64("--port", v, 0, 65535, &n)) return 2; o->http.port = (uint16_t)n; }
        else if (cli_opt(argc, argv, &i, "--model", &v)) {
            if (!v) return 2;
            const char *eq = strchr(v, '=');
            if (!eq || eq == v || !eq[1] || (size_t)(eq - v) >= API_MODEL_NAME_MAX) {
                cli_error("--model: expected NAME=PATH.gguf, got '%s'", v);
                return 2;
            }
            if (o->n_models == SERVE_MAX_MODELS) { cli_error("--model: at most %d models", SERVE_MAX_MODELS); return 2; }
            char *name = strndup(v, (size_t)(eq - v));
            if (!name) return 1;
            o->names[o->n_models] = name;
            o->paths[o->n_models++] = eq + 1;
        }
        else if (cli_opt(argc, argv, &i, "--config", &v)) { if (!(o->config = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--db", &v)) { if (!(o->db = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--pepper-file", &v)) { if (!(o->pepper = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--durable-timeout", &v)) { if (!cli_parse_i64("--durable-timeout", v, 1, 3600, &o->durable_s)) return 2; }
        else if (cli_opt(argc, argv, &i, "--threads", &v)) { if (!cli_parse_i64("--threads", v, 1, 256, &o->threads)) return 2; }
        else if (cli_opt(argc, argv, &i, "--ctx", &v)) { if (!cli_parse_i64("--ctx", v, 16, 1 << 20, &o->ctx)) return 2; }
        else if (cli_opt(argc, argv, &i, "--slots", &v)) { if (!cli_parse_i64("--slots", v, 1, 1024, &o->slots)) return 2; }
        else if (cli_opt(argc, argv, &i, "--batch", &v)) { if (!cli_parse_i64("--batch", v, 1, 1 << 16, &o->batch)) return 2; }
        else if (cli_opt(argc, argv, &i, "--queue-max", &v)) { if (!cli_parse_i64("--queue-max", v, 0, 1 << 20, &o->queue_max)) return 2; }
        else if (cli_opt(argc, argv, &i, "--chat-template", &v)) { if (!(o->tmpl = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--max-body", &v)) { if (!cli_parse_i64("--max-body", v, 1024, 1 << 30, &n)) return 2; o->http.max_body = (size_t)n; }
        else if (cli_opt(argc, argv, &i, "--max-connections", &v)) { if (!cli_parse_i64("--max-connections", v, 1, 1 << 20, &n)) return 2; o->http.max_connections = (uint32_t)n; }
        else if (cli_opt(argc, argv, &i, "--per-ip-connections", &v)) { if (!cli_parse_i64("--per-ip-connections", v, 0, 1 << 20, &n)) return 2; o->http.per_ip_connections = (uint32_t)n; }
        else if (cli_opt(argc, argv, &i, "--timeout", &v)) { if (!cli_parse_i64("--timeout", v, 1, 86400, &n)) return 2; o->http.idle_timeout_s = (uint32_t)n; }
        else if (cli_opt(argc, argv, &i, "--header-timeout", &v)) { if (!cli_parse_i64("--header-timeout", v, 1, 3600, &n)) return 2; o->http.header_timeout_s = (uint32_t)n; }
        else if (cli_opt(argc, argv, &i, "--body-timeout", &v)) { if (!cli_parse_i64("--body-timeout", v, 1, 86400, &n)) return 2; o->http.body_timeout_s = (uint32_t)n; }
        else if (cli_opt(argc, argv, &i, "--metrics-listen", &v)) { if (!v || !parse_listen(v, o)) return 2; }
        else if (cli_opt(argc, argv, &i, "--http-threads", &v)) { if (!cli_parse_i64("--http-threads", v, 1, 64, &n)) return 2; o->http.threads = (uint32_t)n; }
        else if (cli_opt(argc, argv, &i, "--shutdown-deadline", &v)) { if (!cli_parse_i64("--shutdown-deadline", v, 0, 3600, &o->deadline_s)) return 2; }
        else if (cli_opt(argc, argv, &i, "--access-log", &v)) { if (!(o->access_log = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--ready-file", &v)) { if (!(o->ready_file = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--watermark-key", &v)) { if (!(o->wm_key = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--no-watermark", &v)) {
            if (!v) return 2;
            if (o->n_no_wm == SERVE_MAX_MODELS) { cli_error("--no-watermark: at most %d models", SERVE_MAX_MODELS); return 2; }
            o->no_wm[o->n_no_wm++] = v;
        }
        else if (!strcmp(argv[i], "--no-risk")) o->no_risk = true;
        else if (!strcmp(argv[i], "--no-prefix-cache")) o->prefix_cache = false;
        else if (!strcmp(argv[i], "--log-prompts")) o->log_prompts = true;
        else { cli_error("serve: unknown option '%s'", argv[i]); fputs(usage, stderr); return 2; }
    }
    if (!o->n_models) {
        cli_error("serve: at least one --model NAME=PATH.gguf is required");
        fputs(usage, stderr);
        return 2;
    }
    for (int i = 0; i < o->n_models; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(o->names[i], o->names[j])) { cli_error("--model: the name '%s' is used twice", o->names[i]); return 2; }
    return 0;
}

/* Idle keep-alive connections each hold a descriptor: lift the soft limit to what the
 * connection limit needs (plus models, logs and engine pipes), as far as the hard limit allows. */
static void raise_fd_limit(http_config *h) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t want = (rlim_t)h->max_connections + 64;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < want) {
        uint32_t fit = rl.rlim_cur > 128 ? (uint32_t)(rl.rlim_cur - 64) : 64;
        CIRRUS_WARN("open file limit %llu: serving at most %u connections", (unsigned long long)rl.rlim_cur, fit);
        h->max_connections = fit;
    }
}

typedef struct {
    mdl_model *model;
    tok_vocab *vocab;
    sched *engine;
    guard_wm *wm;
} loaded;

/* The serving watermark key: --watermark-key FILE, else (with --db) derived from DB.wmkey, a
 * secret created on first start (mode 0600, like DB.pepper) so a restarted server keeps marking
 * with the same key and old outputs stay detectable. A database server has no file beside it: there
 * the key is derived from the key-hash secret, which every node sharing the database already holds,
 * so all nodes mark alike (a label of its own keeps the two uses apart). Never printed or logged.
 * *have: a key. */
static cirrus_status serve_wm_key(const serve_opts *o, tenancy *tn, guard_key *k, bool *have, cirrus_err *err) {
    *have = false;
    if (o->wm_key) {
        cirrus_status st = guard_key_load(o->wm_key, k, err);
        if (!st) *have = true;
        return st;
    }
    if (!o->db || !tn) return CIRRUS_OK;
    if (store_location_is_url(o->db)) {
        unsigned char pepper[32];
        cirrus_status st = tenancy_pepper(tenancy_store(tn), false, pepper, err);
        if (!st) st = guard_key_derive(pepper, sizeof pepper, "cirrus watermark key, from the key-hash secret, v1", k, err);
        sodium_memzero(pepper, sizeof pepper);
        if (!st) *have = true;
        return st;
    }
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s.wmkey", o->db) >= sizeof path)
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "--db: path too long");
    guard_key secret;
    cirrus_status st = guard_key_load(path, &secret, err);
    if (st == CIRRUS_ERR_NOT_FOUND || (st && access(path, F_OK) != 0)) {
        if ((st = guard_key_generate(&secret, err)) || (st = guard_key_save(path, &secret, false, err))) return st;
        CIRRUS_INFO("watermark: created the server secret %s (mode 0600; back it up with the database)", path);
    } else if (st) {
        return st;
    }
    st = guard_key_derive(secret.bytes, sizeof secret.bytes, "watermark/v1", k, err);
    guard_key_wipe(&secret);
    if (!st) *have = true;
    return st;
}

static cirrus_status load_one(const serve_opts *o, int i, loaded *L, api *a, const guard_key *wk, cirrus_err *err) {
    cirrus_status st = mdl_load(o->paths[i], &L->model, err);
    if (!st) st = tok_load(mdl_get_gguf(L->model), &L->vocab, err);
    if (st) return st;
    const mdl_hparams *hp = mdl_get_hparams(L->model);
    if (tok_n_vocab(L->vocab) > hp->n_vocab)
        return cirrus_errf(err, CIRRUS_ERR_FORMAT, "%s: vocabulary has %d tokens but the model only %d", o->paths[i],
                           tok_n_vocab(L->vocab), hp->n_vocab);
    tok_chat_kind kind = TOK_CHAT_CHATML;
    if (o->tmpl) {
        if (!tok_chat_from_name(o->tmpl, &kind))
            return cirrus_errf(err, CIRRUS_ERR_INVALID, "--chat-template: unknown template '%s'", o->tmpl);
    } else {
        gguf_str t = {0};
        bool have = gguf_get_str(mdl_get_gguf(L->model), "tokenizer.chat_template", &t);
        if (!tok_chat_detect(have ? t.ptr : NULL, have ? t.len : 0, &kind))
            CIRRUS_WARN("model %s: chat template %s; using chatml", o->names[i], have ? "not recognised" : "absent");
    }
    int32_t n_ctx = (int32_t)o->ctx;
    if (hp->n_ctx_train > 0 && n_ctx > hp->n_ctx_train) {
        CIRRUS_WARN("model %s: --ctx %d exceeds its training context %d; using %d", o->names[i], n_ctx, hp->n_ctx_train, hp->n_ctx_train);
        n_ctx = hp->n_ctx_train;
    }
    sched_params sp = {.model = L->model, .vocab = L->vocab, .n_threads = (int32_t)o->threads, .n_ctx = n_ctx,
                       .n_slots = (int32_t)o->slots, .n_batch = (int32_t)o->batch, .max_queue = (int32_t)o->queue_max,
                       .prefix_cache = o->prefix_cache};
    if ((st = sched_new(&sp, &L->engine, err))) return st;
    bool wm = wk != NULL;
    for (int j = 0; j < o->n_no_wm; j++)
        if (!strcmp(o->no_wm[j], o->names[i])) wm = false;
    if (wm) {
        guard_wm_params wp;
        guard_wm_params_default(&wp);
        if ((st = guard_wm_new(wk, &wp, hp->n_vocab, &L->wm, err))) return st;
    }
    api_model am = {.name = o->names[i], .engine = L->engine, .vocab = L->vocab, .chat = kind, .n_ctx = n_ctx, .n_vocab = hp->n_vocab,
                    .watermark = L->wm};
    if ((st = api_add_model(a, &am, err))) return st;
    CIRRUS_INFO("model %s: %s (%s, %d layers, vocab %d), ctx %d x %lld slots, template %s, watermark %s", o->names[i], o->paths[i],
                hp->arch_name, hp->n_layer, hp->n_vocab, n_ctx, (long long)o->slots, tok_chat_name(kind), L->wm ? "on" : "off");
    return CIRRUS_OK;
}

int cmd_serve(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    serve_opts o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc) {
        for (int i = 0; i < o.n_models; i++) free((void *)o.names[i]);
        return rc;
    }
    rc = 1;
    cirrus_err err = {{0}};
    api_keyring *keys = NULL;
    tenancy *tn = NULL;
    api *a = NULL;
    http_server *srv = NULL, *msrv = NULL;
    FILE *log = stderr;
    loaded L[SERVE_MAX_MODELS] = {{0}};
    int n_loaded = 0;
    guard_key wkey = {{0}};
    bool have_wk = false;
    guard_risk *risk = NULL;
    api_commit *commit = NULL;

    /* Block the shutdown signals before any thread exists, so all threads inherit the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN); /* a vanished client must not kill the server */

    if (o.config) {
        char *text = NULL;
        size_t len = 0;
        if (cirrus_read_file(o.config, 16u << 20, &text, &len, &err) || api_keyring_from_json(text, len, &keys, &err)) {
            free(text);
            goto out;
        }
        free(text);
    }
    if (o.db) { /* the control plane: admin API and console now (admission: the control plane's wiring) */
        if (o.pepper) setenv("CIRRUS_PEPPER_FILE", o.pepper, 1);
        /* the ledger's commits wake the replies that wait for their records (api.h) */
        if (api_commit_new(&commit)) goto out;
        tenancy_config tc = {.db = o.db, .on_commit = api_commit_notify, .commit_ud = commit};
        ledger_recovery rec;
        if (tenancy_open(&tc, &tn, &rec, &err)) goto out; /* L7: exits 1 naming the owner if one runs */
        CIRRUS_INFO("control plane: %s (%s)", store_location(tenancy_store(tn)), store_backend(tenancy_store(tn)));
    }
    api_auth auth = api_keyring_auth(keys);
    if (auth.open) {
        CIRRUS_WARN("no API keys configured: open mode, every request is tenant \"default\"");
        if (strcmp(o.http.host, "127.0.0.1") != 0 && strcmp(o.http.host, "localhost") != 0 && strcmp(o.http.host, "::1") != 0)
            CIRRUS_WARN("open mode on %s: anyone who reaches this address can use the models", o.http.host);
    }
    else CIRRUS_INFO("%zu API keys loaded", api_keyring_count(keys));
    if (o.access_log) {
        if (!strcmp(o.access_log, "off")) log = NULL;
        else if (!strcmp(o.access_log, "-")) log = stdout;
        else if (!(log = fopen(o.access_log, "a"))) {
            cirrus_errf(&err, CIRRUS_ERR_IO, "--access-log %s: %s", o.access_log, strerror(errno));
            goto out;
        }
    }
    if (serve_wm_key(&o, tn, &wkey, &have_wk, &err)) goto out;
    if (!have_wk) CIRRUS_WARN("watermark: off (no --watermark-key and no --db)");
    if (!o.no_risk) {
        guard_risk_params rp;
        guard_risk_params_default(&rp);
        if (guard_risk_new(&rp, &risk, &err)) goto out;
    }
    api_config ac = {.auth = auth, .access_log = log, .log_prompts = o.log_prompts, .retry_after_s = 1,
                     .fingerprint = "fp_cirrus", .tenancy = tn, .commit = commit, .risk = risk,
                     .durable_timeout_ms = (uint32_t)(o.durable_s * 1000)};
    if (api_new(&ac, &a, &err)) goto out;
    raise_fd_limit(&o.http);
    if (http_server_start(&o.http, api_handle, a, &srv, &err)) goto out;
    CIRRUS_INFO("listening on http://%s:%u (loading %d model%s)", o.http.host, (unsigned)http_server_port(srv), o.n_models,
                o.n_models > 1 ? "s" : "");
    if (o.metrics_port >= 0) { /* the private listener: small, one thread, no per-address limit */
        http_config mc;
        http_config_default(&mc);
        mc.host = o.metrics_host;
        mc.port = (uint16_t)o.metrics_port;
        mc.threads = 1;
        mc.max_connections = 64;
        mc.per_ip_connections = 0;
        mc.max_body = 1024;
        if (http_server_start(&mc, api_handle_private, a, &msrv, &err)) goto out;
        CIRRUS_INFO("metrics listening on http://%s:%u (every series, no key)", o.metrics_host, (unsigned)http_server_port(msrv));
    }

    for (int i = 0; i < o.n_models; i++, n_loaded++)
        if (load_one(&o, i, &L[i], a, have_wk ? &wkey : NULL, &err)) {
            n_loaded++; /* free what was partly loaded */
            goto out;
        }
    api_set_ready(a, true);
    CIRRUS_INFO("ready on http://%s:%u", o.http.host, (unsigned)http_server_port(srv));
    if (o.ready_file) {
        FILE *f = fopen(o.ready_file, "w");
        if (f) {
            fprintf(f, "%u\n", (unsigned)http_server_port(srv));
            fclose(f);
        }
    }

    int sig = 0;
    while (sigwait(&sigs, &sig) != 0) {}
    CIRRUS_INFO("%s: draining (deadline %llds)", sig == SIGTERM ? "SIGTERM" : "SIGINT", (long long)o.deadline_s);
    rc = 0;

out:
    if (rc) cli_error("%s", err.msg[0] ? err.msg : "out of memory");
    {
        uint64_t deadline = cirrus_now_ns() + (uint64_t)o.deadline_s * 1000000000ull;
        if (a) api_set_draining(a);
        if (srv) http_server_quiesce(srv);
        /* engines finish or cancel their requests; every stream then gets its final events */
        for (int i = 0; i < n_loaded; i++)
            if (L[i].engine) sched_shutdown(L[i].engine, deadline);
        if (srv) http_server_stop(srv, deadline + 2000000000ull);
        if (msrv) http_server_stop(msrv, cirrus_now_ns() + 1000000000ull);
        for (int i = 0; i < n_loaded; i++) {
            sched_free(L[i].engine);
            tok_free(L[i].vocab);
            mdl_free(L[i].model);
        }
    }
    api_free(a); /* stops the admin worker before the control plane closes under it */
    for (int i = 0; i < n_loaded; i++) guard_wm_free(L[i].wm); /* after the api: requests borrow them */
    guard_risk_free(risk);
    guard_key_wipe(&wkey);
    tenancy_close(tn);
    api_commit_free(commit); /* after the ledger's writer, which calls it, is gone */
    api_keyring_free(keys);
    if (log && log != stderr && log != stdout) fclose(log);
    for (int i = 0; i < o.n_models; i++) free((void *)o.names[i]);
    if (!rc) CIRRUS_INFO("stopped");
    return rc;
}
