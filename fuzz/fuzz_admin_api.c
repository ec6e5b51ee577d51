/*
 * libFuzzer target for what the admin API (src/api/api_admin*.c) reads from a request: the JSON
 * bodies of POST tenants, tenants/{name}/keys, risk/policy and watermark/detect, and the query
 * arguments of usage, invoices and the reports. The handlers run as the admin worker runs them,
 * on a job built here, against a real store in a temporary folder; no server, no thread.
 * Checked: every reply is a 2xx or a 4xx/503 whose body is JSON with an "error" object (or, for an
 * export, text); never a 500, which would mean the request broke something inside; and a 201
 * echoes, as read back from the store, every field the body set (no value lost or altered).
 *
 * Input: the first byte picks the endpoint (and, bit 7, a tenant key instead of an admin key for
 * usage); the rest is the body, or for GET endpoints the query arguments, as parse_args reads
 * them (decoded values: URL decoding is the HTTP layer's). invoices/{tenant}/{month} takes its
 * path from the tenant and month arguments. The store starts afresh after 256 creates, so lists
 * stay short and runs fast. Watermark detection uses the first vocabulary of fuzz_vocab.h.
 *
 *     CC=clang cmake -S . -B build-fuzz -DCIRRUS_FUZZ=ON && cmake --build build-fuzz --target fuzz_admin_api
 *     ./build-fuzz/fuzz_admin_api -max_total_time=60 fuzz/corpus/admin_api
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_admin.h"
#include "fuzz_vocab.h"
#include "guard/guard.h"

typedef struct {
    const char *path; /* segments after /v1/admin/ */
    adm_fn fn;
    bool body;
} endpoint;

static const endpoint k_endpoints[] = {
    {"tenants", adm_tenant_create, true},         {"tenants/acme/keys", adm_key_create, true},
    {"risk/policy", adm_risk_policy, true},        {"watermark/detect", adm_watermark_detect, true},
    {"usage", adm_usage, false},                   {"invoices", adm_invoices_list, false},
    {"invoices/*/*", adm_invoice_get, false},      {"reports/revenue", adm_report_revenue, false},
    {"reports/concentration", adm_report_concentration, false},
    {"reports/forecast", adm_report_forecast, false}, {"reports/alerts", adm_report_alerts, false},
};
#define N_ENDPOINTS (sizeof k_endpoints / sizeof *k_endpoints)

static api *g_api;
static store *g_store;
static char g_dir[256], g_db[300];
static int g_created; /* tenants and keys the fuzzer made in this store */

static void rm_dir(void) {
    DIR *d = opendir(g_dir);
    struct dirent *e;
    char p[600];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
}

static void cleanup(void) {
    store_close(g_store);
    rm_dir();
    rmdir(g_dir);
}

/* A fresh store with the one tenant the path-bound endpoints name. */
static void store_fresh(void) {
    cirrus_err err = {{0}};
    store_tenant t;
    store_close(g_store);
    rm_dir();
    if (store_open(g_db, &g_store, &err) || tenancy_tenant_create(g_store, "acme", "", "", NULL, &t, &err)) {
        fprintf(stderr, "fuzz_admin_api: store %s: %s\n", g_db, err.msg);
        exit(1);
    }
    g_created = 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    cirrus_err err = {{0}};
    const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(g_dir, sizeof g_dir, "%s/cirrus-fuzz-admin-XXXXXX", tmp);
    if (!mkdtemp(g_dir)) {
        perror("fuzz_admin_api: mkdtemp");
        exit(1);
    }
    snprintf(g_db, sizeof g_db, "%s/admin.db", g_dir);
    atexit(cleanup);
    store_fresh();

    guard_risk_params rp;
    guard_risk_params_default(&rp);
    api_config cfg = {.auth = {.open = true}};
    if (guard_risk_new(&rp, &cfg.risk, &err) || api_new(&cfg, &g_api, &err)) {
        fprintf(stderr, "fuzz_admin_api: %s\n", err.msg);
        exit(1);
    }
    /* A model for watermark/detect: detection only tokenizes and scores, so the entry needs no
     * engine, which api_add_model would insist on. */
    tok_vocab *v;
    fuzz_vocabs_load(&v, 1);
    guard_key key = {{1, 2, 3}};
    guard_wm_params wp;
    guard_wm_params_default(&wp);
    api_model_entry *me = &g_api->models[0];
    if (guard_wm_new(&key, &wp, tok_n_vocab(v), &me->m.watermark, &err)) {
        fprintf(stderr, "fuzz_admin_api: %s\n", err.msg);
        exit(1);
    }
    me->m.vocab = v;
    me->m.n_vocab = tok_n_vocab(v);
    snprintf(me->name, sizeof me->name, "m");
    atomic_store(&g_api->n_models, 1);
    return 0;
}

/* Arguments as "<id><value>&<id><value>": the first byte of each picks the argument (adm_arg_id,
 * mod the count), so every mutation lands on one; the first of an id wins, as in the HTTP layer.
 * Values are cut to ADM_ARG_LEN as api_admin_handle cuts them. */
static void parse_args(adm_job *j, const char *q, size_t n) {
    for (size_t i = 0; i < n;) {
        size_t e = i;
        while (e < n && q[e] != '&') e++;
        if (e > i) {
            int a = (unsigned char)q[i] % ADM_A_COUNT;
            size_t vlen = e - i - 1;
            if (!j->args[a]) j->args[a] = strndup(q + i + 1, vlen < ADM_ARG_LEN ? vlen : ADM_ARG_LEN);
        }
        i = e + 1;
    }
}

static void set_seg(adm_job *j, const char *path) {
    j->n_seg = 0;
    for (const char *p = path; *p && j->n_seg < ADM_SEGS_MAX;) {
        size_t len = strcspn(p, "/");
        snprintf(j->seg[j->n_seg++], ADM_SEG_LEN, "%.*s", (int)len, p);
        p += len + (p[len] == '/');
    }
}

/* The body field as the reply should echo it: absent, null and "" all read as dflt. */
static json_t *echo(json_t *body, const char *field, json_t *dflt) {
    json_t *v = json_object_get(body, field);
    return !v || json_is_null(v) || (json_is_string(v) && !json_string_length(v)) ? dflt : v;
}

/* Nothing of what a create asked for is lost on the way into the store: the 201 reply (read back
 * from the store) holds the body's values. */
static void check_created(const adm_job *j, json_t *reply) {
    json_t *b = json_loadb(j->body ? j->body : "{}", j->body ? j->body_len : 2, 0, NULL);
    json_t *empty = json_string(""), *none = json_object(), *null = json_null(), *infer = json_string("inference");
    bool same = true;
    if (j->fn == adm_tenant_create) {
        const char *const fields[] = {"name", "industry", "region"};
        for (int i = 0; i < 3; i++)
            same = same && json_equal(echo(b, fields[i], empty), json_object_get(reply, fields[i]));
        same = same && json_equal(echo(b, "metadata", none), json_object_get(reply, "metadata"));
    } else {
        json_t *exp = json_object_get(b, "expires_at");
        same = json_equal(echo(b, "scope", infer), json_object_get(reply, "scope")) &&
               json_equal(json_integer_value(exp) ? exp : null, json_object_get(reply, "expires_at"));
    }
    if (!same) {
        fprintf(stderr, "fuzz_admin_api: created, but the reply differs from the body: %.300s\n", j->out);
        abort();
    }
    json_t *owned[] = {b, empty, none, null, infer};
    for (size_t i = 0; i < sizeof owned / sizeof *owned; i++) json_decref(owned[i]);
}

static void check_reply(const adm_job *j, const endpoint *ep) {
    bool ok = j->status == 200 || j->status == 201 || j->status == 400 || j->status == 403 || j->status == 404 ||
              j->status == 503;
    if (!ok || !j->out || !j->ctype) {
        fprintf(stderr, "fuzz_admin_api: %s answered %d: %.300s\n", ep->path, j->status, j->out ? j->out : "(none)");
        abort();
    }
    if (strcmp(j->ctype, "application/json") != 0) {
        if (j->status != 200) abort(); /* exports are only ever successes */
        return;
    }
    json_error_t je;
    json_t *o = json_loadb(j->out, j->out_len, 0, &je);
    if (!json_is_object(o) || (j->status >= 400 && !json_is_object(json_object_get(o, "error")))) abort();
    if (j->status == 201) check_created(j, o);
    json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const endpoint *ep = &k_endpoints[(data[0] & 0x7f) % N_ENDPOINTS];
    adm_job j = {.a = g_api, .s = g_store, .fn = ep->fn, .id = "fuzz"};
    snprintf(j.who.tenant, sizeof j.who.tenant, "acme");
    j.who.scope = data[0] & 0x80 ? STORE_SCOPE_INFERENCE : STORE_SCOPE_ADMIN;
    set_seg(&j, ep->path);
    const char *rest = (const char *)data + 1;
    size_t n = size - 1;
    if (ep->body) {
        if (n && (j.body = malloc(n + 1))) {
            memcpy(j.body, rest, n);
            j.body[n] = 0;
            j.body_len = n;
        }
    } else {
        parse_args(&j, rest, n);
        if (ep->fn == adm_invoice_get) {
            snprintf(j.seg[1], ADM_SEG_LEN, "%s", j.args[ADM_A_TENANT] ? j.args[ADM_A_TENANT] : "acme");
            snprintf(j.seg[2], ADM_SEG_LEN, "%s", j.args[ADM_A_MONTH] ? j.args[ADM_A_MONTH] : "");
        }
    }
    ep->fn(&j);
    check_reply(&j, ep);
    if (j.status == 201 && ++g_created >= 256) store_fresh();
    for (int i = 0; i < ADM_A_COUNT; i++) free(j.args[i]);
    free(j.body);
    free(j.out);
    return 0;
}
