/*
 * tenancy against a real SQLite file: tenant and key life cycle, every admission refusal with its
 * status, type, code and rate-limit values, limits that reset with (injected) time, revocation on
 * the next request (in process and from another connection), the hard budget under 200
 * concurrent admissions, and secrets kept out of logs and error messages.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "billing/billing.h"
#include "check.h"
#include "tenancy/tenancy.h"

static char g_dir[256], g_db[300];
static _Atomic int64_t g_now; /* unix µs */

static int64_t fake_now(void *ud) {
    (void)ud;
    return atomic_load(&g_now);
}
static void advance_ms(int64_t ms) { atomic_fetch_add(&g_now, ms * 1000); }

/* Every message a caller could show: collected and grepped for secrets at the end (T5). */
static char *g_said;
static size_t g_said_len;
static void said(const char *s) {
    size_t n = strlen(s);
    g_said = realloc(g_said, g_said_len + n + 2);
    memcpy(g_said + g_said_len, s, n);
    g_said_len += n;
    g_said[g_said_len++] = '\n';
    g_said[g_said_len] = 0;
}

static char g_keys[16][TENANCY_KEY_LEN + 1];
static int g_n_keys;

static const char *new_key(store *s, const char *tenant, int scope, int64_t expires) {
    cirrus_err err = {{0}};
    char *k = g_keys[g_n_keys];
    if (tenancy_key_create(s, tenant, scope, expires, k, NULL, &err) != CIRRUS_OK) {
        fprintf(stderr, "key create: %s\n", err.msg);
        exit(2);
    }
    g_n_keys++;
    return k;
}

static tenancy *open_tn(int refresh_ms) {
    tenancy_config c = {.db = g_db, .now_us = fake_now, .refresh_ms = refresh_ms};
    tenancy *t = NULL;
    cirrus_err err = {{0}};
    if (tenancy_open(&c, &t, NULL, &err) != CIRRUS_OK) {
        fprintf(stderr, "tenancy_open: %s\n", err.msg);
        exit(2);
    }
    return t;
}

static int g_req_seq;
static tenancy_req *admit(tenancy *t, const char *key, const char *model, int64_t prompt, int64_t max, tenancy_decision *d) {
    char id[32];
    snprintf(id, sizeof id, "req-%d", ++g_req_seq);
    tenancy_admit_args a = {.request_id = id, .model = model, .prompt_tokens = prompt, .max_tokens = max};
    tenancy_req *r = NULL;
    CHECK(tenancy_admit(t, key, key ? strlen(key) : 0, &a, d, &r) == CIRRUS_OK);
    CHECK((r != NULL) == (d->verdict == TENANCY_ADMITTED));
    if (d->verdict != TENANCY_ADMITTED) said(d->message);
    return r;
}

static void settle(tenancy *t, tenancy_req *r, int64_t prompt, int64_t completion) {
    tenancy_usage u = {prompt, 0, completion};
    tenancy_settle(t, r, &u, LEDGER_OK);
}

static void set_plan(store *s, const char *tenant, store_plan p) {
    cirrus_err err = {{0}};
    if (tenancy_plan_set(s, tenant, &p, &err) != CIRRUS_OK) {
        fprintf(stderr, "plan set: %s\n", err.msg);
        exit(2);
    }
}

static void setup(void) {
    store *s;
    cirrus_err err = {{0}};
    CHECK(store_open(g_db, &s, &err) == CIRRUS_OK);
    CHECK(tenancy_tenant_create(s, "acme", "retail", "eu-west", "{\"tier\":\"gold\"}", NULL, &err) == CIRRUS_OK);
    CHECK(tenancy_tenant_create(s, "acme", NULL, NULL, NULL, NULL, &err) == CIRRUS_ERR_INVALID);
    said(err.msg);
    CHECK(tenancy_tenant_create(s, "bad name!", NULL, NULL, NULL, NULL, &err) == CIRRUS_ERR_INVALID);
    CHECK(tenancy_tenant_create(s, "meta", NULL, NULL, "[1,2]", NULL, &err) == CIRRUS_ERR_INVALID);
    CHECK(tenancy_tenant_create(s, "tight", NULL, NULL, NULL, NULL, &err) == CIRRUS_OK);
    CHECK(tenancy_tenant_create(s, "limits", NULL, NULL, NULL, NULL, &err) == CIRRUS_OK);
    store_tenant t;
    CHECK(store_tenant_get(s, "acme", &t, &err) == CIRRUS_OK && !strcmp(t.industry, "retail") && !strcmp(t.metadata, "{\"tier\":\"gold\"}"));
    /* 1 micro-unit per input token, 0.5 per cached, 2 per output token; prices from 2025-01-01 */
    int64_t jan;
    CHECK(billing_parse_date("--from", "2025-01-01", &jan, &err) == CIRRUS_OK);
    CHECK(billing_price_set(s, "m", jan, 1000000, 500000, 2000000, NULL, &err) == CIRRUS_OK);
    CHECK(billing_price_set(s, "m2", jan, 1000000, 500000, 2000000, NULL, &err) == CIRRUS_OK);
    CHECK(billing_price_set(s, "m", jan, 1, 1, 1, NULL, &err) == CIRRUS_ERR_INVALID); /* versions, not edits */
    store_close(s);
}

static void test_keys(void) {
    store *s;
    cirrus_err err = {{0}};
    CHECK(store_open(g_db, &s, &err) == CIRRUS_OK);
    const char *k1 = new_key(s, "acme", STORE_SCOPE_INFERENCE, 0);
    const char *kadm = new_key(s, "acme", STORE_SCOPE_ADMIN, 0);
    CHECK(strlen(k1) == TENANCY_KEY_LEN && !strncmp(k1, "sk-cirrus-", 10) && k1[22] == '-');
    CHECK(strcmp(k1, kadm) != 0);
    CHECK(tenancy_key_create(s, "nobody", STORE_SCOPE_INFERENCE, 0, g_keys[15], NULL, &err) == CIRRUS_ERR_NOT_FOUND);
    said(err.msg);
    tenancy *t = open_tn(-1);
    tenancy_decision d;
    tenancy_req *r = admit(t, k1, "m", 10, 10, &d);
    CHECK(r && !strcmp(tenancy_req_grant(r)->tenant, "acme") && tenancy_req_grant(r)->weight == 1 && tenancy_req_grant(r)->ledger_id > 0);
    if (r) settle(t, r, 10, 5);

    /* 401s */
    char wrong[TENANCY_KEY_LEN + 1];
    memcpy(wrong, k1, sizeof wrong);
    wrong[TENANCY_KEY_LEN - 1] = wrong[TENANCY_KEY_LEN - 1] == 'A' ? 'B' : 'A';
    CHECK(!admit(t, wrong, "m", 1, 1, &d) && d.http_status == 401 && d.code && !strcmp(d.code, "invalid_api_key"));
    CHECK(!admit(t, "sk-nonsense", "m", 1, 1, &d) && d.http_status == 401);
    CHECK(!admit(t, "", "m", 1, 1, &d) && d.http_status == 401 && d.code == NULL);
    memcpy(wrong, k1, sizeof wrong);
    wrong[12] = wrong[12] == 'a' ? 'b' : 'a'; /* unknown prefix */
    CHECK(!admit(t, wrong, "m", 1, 1, &d) && d.http_status == 401);

    /* scopes */
    tenancy_grant g;
    CHECK(tenancy_authenticate(t, k1, strlen(k1), TENANCY_NEED_ADMIN, &g, &d) != CIRRUS_OK && d.http_status == 403 &&
          !strcmp(d.code, "insufficient_scope"));
    said(d.message);
    CHECK(tenancy_authenticate(t, kadm, strlen(kadm), TENANCY_NEED_ADMIN, &g, &d) == CIRRUS_OK && g.scope == STORE_SCOPE_ADMIN);
    r = admit(t, kadm, "m", 1, 1, &d); /* admin keys may also call models */
    CHECK(r != NULL);
    if (r) settle(t, r, 1, 1);

    /* revocation through the running control plane: effective on the very next admission */
    char prefix[13];
    memcpy(prefix, k1 + 10, 12);
    prefix[12] = 0;
    CHECK(tenancy_key_revoke(tenancy_store(t), prefix, &err) == CIRRUS_OK);
    CHECK(!admit(t, k1, "m", 1, 1, &d) && d.http_status == 401 && strstr(d.message, "revoked"));
    CHECK(tenancy_key_revoke(tenancy_store(t), "zzzzzzzzzzzz", &err) == CIRRUS_ERR_INVALID);
    said(err.msg);

    /* another process (the CLI): a new key works and a revocation bites after the refresh */
    const char *k2 = new_key(s, "acme", STORE_SCOPE_INFERENCE, 0);
    CHECK(!admit(t, k2, "m", 1, 1, &d) && d.http_status == 401); /* not seen yet: refresh_ms < 0 */
    CHECK(tenancy_refresh(t, &err) == CIRRUS_OK);
    r = admit(t, k2, "m", 1, 1, &d);
    CHECK(r != NULL);
    if (r) settle(t, r, 1, 1);
    CHECK(tenancy_key_revoke(s, k2, &err) == CIRRUS_OK); /* a whole key is accepted, by its prefix */
    CHECK(tenancy_refresh(t, &err) == CIRRUS_OK);
    CHECK(!admit(t, k2, "m", 1, 1, &d) && d.http_status == 401);
    CHECK(tenancy_key_revoke(s, "000000000000", &err) == CIRRUS_ERR_NOT_FOUND);
    said(err.msg);

    /* expiry, by the injected clock */
    int64_t now_s = atomic_load(&g_now) / 1000000;
    const char *k3 = new_key(tenancy_store(t), "acme", STORE_SCOPE_INFERENCE, now_s + 60);
    r = admit(t, k3, "m", 1, 1, &d);
    CHECK(r != NULL);
    if (r) settle(t, r, 1, 1);
    advance_ms(61000);
    CHECK(!admit(t, k3, "m", 1, 1, &d) && d.http_status == 401 && strstr(d.message, "expired"));

    /* suspension */
    const char *k4 = new_key(tenancy_store(t), "acme", STORE_SCOPE_INFERENCE, 0);
    CHECK(tenancy_tenant_set_suspended(tenancy_store(t), "acme", true, &err) == CIRRUS_OK);
    CHECK(!admit(t, k4, "m", 1, 1, &d) && d.http_status == 403 && !strcmp(d.code, "account_suspended"));
    CHECK(tenancy_tenant_set_suspended(tenancy_store(t), "acme", false, &err) == CIRRUS_OK);
    r = admit(t, k4, "m", 1, 1, &d);
    CHECK(r != NULL);
    if (r) settle(t, r, 1, 1);
    tenancy_close(t);
    store_close(s);
}

static void test_limits(void) {
    store *s;
    cirrus_err err = {{0}};
    CHECK(store_open(g_db, &s, &err) == CIRRUS_OK);
    const char *k = new_key(s, "limits", STORE_SCOPE_INFERENCE, 0);
    store_plan p;
    tenancy_plan_default(&p);
    p.rpm = 3;
    p.max_tokens = 500;
    snprintf(p.models, sizeof p.models, "[\"m\"]");
    set_plan(s, "limits", p);
    tenancy *t = open_tn(-1);
    tenancy_decision d;

    CHECK(!admit(t, k, "m2", 1, 1, &d) && d.http_status == 403 && !strcmp(d.code, "model_not_allowed") && !strcmp(d.param, "model"));
    CHECK(!admit(t, k, "m", 1, 501, &d) && d.http_status == 400 && !strcmp(d.param, "max_tokens"));
    CHECK(!admit(t, k, "m", 1, 0, &d) && d.http_status == 400);

    /* requests per minute: 3, then 429 with the time until one more fits (60 s / 3) */
    for (int i = 0; i < 3; i++) {
        tenancy_req *r = admit(t, k, "m", 1, 1, &d);
        CHECK(r && d.has_requests && d.limit_requests == 3 && d.remaining_requests == 2 - i);
        if (r) settle(t, r, 1, 1);
    }
    CHECK(d.reset_requests_ms == 60000);
    CHECK(!admit(t, k, "m", 1, 1, &d) && d.http_status == 429 && !strcmp(d.type, "requests") && !strcmp(d.code, "rate_limit_exceeded"));
    CHECK_MSG(d.retry_after_ms == 20000, "retry_after_ms %lld", (long long)d.retry_after_ms);
    CHECK(d.remaining_requests == 0 && d.reset_requests_ms == 60000 && !d.has_tokens);
    advance_ms(19999);
    CHECK(!admit(t, k, "m", 1, 1, &d) && d.retry_after_ms == 1);
    advance_ms(1);
    tenancy_req *r = admit(t, k, "m", 1, 1, &d); /* one request earned back */
    CHECK(r && d.remaining_requests == 0);
    if (r) settle(t, r, 1, 1);
    advance_ms(60000); /* a full minute: the whole allowance is back */
    r = admit(t, k, "m", 1, 1, &d);
    CHECK(r && d.remaining_requests == 2);
    if (r) settle(t, r, 1, 1);

    /* tokens per minute: prompt + max_tokens at admission, unused completion refunded */
    tenancy_plan_default(&p);
    p.tpm = 1000;
    p.effective_from = atomic_load(&g_now) / 1000000;
    set_plan(tenancy_store(t), "limits", p);
    tenancy_req *a = admit(t, k, "m", 100, 400, &d);
    CHECK(a && d.has_tokens && d.limit_tokens == 1000 && d.remaining_tokens == 500 && !d.has_requests);
    tenancy_req *b = admit(t, k, "m", 100, 400, &d);
    CHECK(b && d.remaining_tokens == 0 && d.reset_tokens_ms == 60000);
    CHECK(!admit(t, k, "m", 100, 400, &d) && d.http_status == 429 && !strcmp(d.type, "tokens"));
    CHECK_MSG(d.retry_after_ms == 30000, "retry_after_ms %lld", (long long)d.retry_after_ms);
    if (a) settle(t, a, 100, 100); /* 300 tokens never generated come back */
    r = admit(t, k, "m", 100, 200, &d);
    CHECK(r && d.remaining_tokens == 0);
    if (r) settle(t, r, 100, 200);
    if (b) settle(t, b, 100, 400);
    CHECK(!admit(t, k, "m", 900, 200, &d) && d.http_status == 429 && d.retry_after_ms == 0 && strstr(d.message, "too large"));

    /* concurrency */
    advance_ms(120000);
    tenancy_plan_default(&p);
    p.max_concurrent = 2;
    p.effective_from = atomic_load(&g_now) / 1000000;
    set_plan(tenancy_store(t), "limits", p);
    tenancy_req *c1 = admit(t, k, "m", 1, 1, &d), *c2 = admit(t, k, "m", 1, 1, &d);
    CHECK(c1 && c2);
    CHECK(!admit(t, k, "m", 1, 1, &d) && d.http_status == 429 && !strcmp(d.code, "concurrency_limit_exceeded") && d.retry_after_ms > 0);
    if (c1) tenancy_release(t, c1, LEDGER_ERROR); /* never ran: its slot comes back */
    r = admit(t, k, "m", 1, 1, &d);
    CHECK(r != NULL);
    if (r) settle(t, r, 1, 0);
    if (c2) settle(t, c2, 1, 1);

    /* budget: 1 micro per input token, 2 per output; worst case of (10, 10) = 10 + 1 + 20 = 31 */
    /* spend from the earlier tests of this month counts: the budget is 100 above it */
    tenancy_budget bg;
    CHECK(tenancy_budget_get(t, "limits", &bg, &err) == CIRRUS_OK);
    int64_t before = bg.spent;
    tenancy_plan_default(&p);
    p.budget_hard = before + 100;
    p.budget_soft = before + 50;
    p.effective_from = atomic_load(&g_now) / 1000000;
    set_plan(tenancy_store(t), "limits", p);
    CHECK(tenancy_budget_get(t, "limits", &bg, &err) == CIRRUS_OK);
    CHECK(bg.reserved == 0 && bg.inflight == 0 && bg.budget_hard == before + 100 && bg.spent == before);
    int admitted = 0;
    for (int i = 0; i < 10; i++) {
        r = admit(t, k, "m", 10, 10, &d);
        if (!r) break;
        admitted++;
        settle(t, r, 10, 10);
    }
    CHECK(d.http_status == 429 && !strcmp(d.type, "insufficient_quota") && !strcmp(d.code, "insufficient_quota"));
    CHECK(tenancy_budget_get(t, "limits", &bg, &err) == CIRRUS_OK);
    CHECK_MSG(admitted == 3 && bg.spent == before + admitted * 30, "spent %lld before %lld admitted %d", (long long)bg.spent,
              (long long)before, admitted);
    CHECK(bg.spent + 31 > before + 100); /* refused only when the worst case no longer fits */
    tenancy_close(t);

    /* a restart starts from the ledger: the same spend, still refusing */
    t = open_tn(-1);
    CHECK(tenancy_budget_get(t, "limits", &bg, &err) == CIRRUS_OK && bg.spent == before + admitted * 30);
    CHECK(!admit(t, k, "m", 10, 10, &d) && d.verdict == TENANCY_QUOTA);
    /* next month: a fresh budget */
    advance_ms(40LL * 86400 * 1000);
    r = admit(t, k, "m", 10, 10, &d);
    CHECK(r != NULL);
    if (r) settle(t, r, 10, 10);
    tenancy_close(t);
    store_close(s);

    char b1[32];
    tenancy_format_reset(20000, b1, sizeof b1);
    CHECK(!strcmp(b1, "20s"));
    tenancy_format_reset(1500, b1, sizeof b1);
    CHECK(!strcmp(b1, "1.5s"));
    tenancy_format_reset(360000, b1, sizeof b1);
    CHECK(!strcmp(b1, "6m0s"));
    tenancy_format_reset(20, b1, sizeof b1);
    CHECK(!strcmp(b1, "20ms"));
    tenancy_format_reset(3723000, b1, sizeof b1);
    CHECK(!strcmp(b1, "1h2m3s"));
}

/* ---- 200 concurrent admissions against a small hard budget -------------------------------------- */

typedef struct {
    tenancy *t;
    const char *key;
    pthread_barrier_t *go;
    int id, admitted, refused_quota, refused_other;
} worker;

static void *budget_worker(void *p) {
    worker *w = p;
    pthread_barrier_wait(w->go);
    unsigned seed = (unsigned)w->id * 2654435761u;
    for (int i = 0; i < 5; i++) {
        char id[32];
        snprintf(id, sizeof id, "conc-%d-%d", w->id, i);
        tenancy_admit_args a = {.request_id = id, .model = "m", .prompt_tokens = 100, .max_tokens = 100};
        tenancy_decision d;
        tenancy_req *r = NULL;
        tenancy_admit(w->t, w->key, strlen(w->key), &a, &d, &r);
        if (!r) {
            if (d.verdict == TENANCY_QUOTA) w->refused_quota++;
            else w->refused_other++;
            continue;
        }
        w->admitted++;
        if (rand_r(&seed) % 2) usleep(rand_r(&seed) % 500);
        tenancy_usage u = {100, rand_r(&seed) % 101, rand_r(&seed) % 101};
        tenancy_settle(w->t, r, &u, LEDGER_OK);
    }
    return NULL;
}

static int sum_cost(void *ud, const store_usage_sum *r) {
    *(int64_t *)ud = r->cost;
    return 1;
}

static void test_budget_concurrency(void) {
    store *s;
    cirrus_err err = {{0}};
    CHECK(store_open(g_db, &s, &err) == CIRRUS_OK);
    const char *k = new_key(s, "tight", STORE_SCOPE_INFERENCE, 0);
    store_plan p;
    tenancy_plan_default(&p);
    enum { WORST = 100 + 1 + 200, BUDGET = 40 * WORST };
    p.budget_hard = BUDGET;
    set_plan(s, "tight", p);
    store_tenant tt;
    CHECK(store_tenant_get(s, "tight", &tt, &err) == CIRRUS_OK);
    tenancy *t = open_tn(-1);
    enum { N = 200 };
    pthread_t th[N];
    worker w[N];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, N);
    for (int i = 0; i < N; i++) {
        w[i] = (worker){.t = t, .key = k, .go = &go, .id = i};
        pthread_create(&th[i], NULL, budget_worker, &w[i]);
    }
    int admitted = 0, quota = 0, other = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        admitted += w[i].admitted;
        quota += w[i].refused_quota;
        other += w[i].refused_other;
    }
    pthread_barrier_destroy(&go);
    tenancy_budget bg;
    CHECK(tenancy_budget_get(t, "tight", &bg, &err) == CIRRUS_OK);
    CHECK(ledger_flush(tenancy_ledger(t), 30000) == CIRRUS_OK);
    int64_t ledger_cost = -1, from, to;
    billing_month_bounds(atomic_load(&g_now) / 1000000, &from, &to);
    CHECK(store_usage_sum_by(s, tt.id, from * 1000000, to * 1000000, 0, sum_cost, &ledger_cost, &err) == CIRRUS_OK);
    printf("budget: %d admitted, %d refused insufficient_quota, %d other; spent %lld of %d (ledger %lld)\n", admitted, quota, other,
           (long long)bg.spent, BUDGET, (long long)ledger_cost);
    CHECK(admitted >= 40 && quota > 0 && other == 0);
    CHECK(admitted + quota == N * 5);
    CHECK(bg.spent == ledger_cost && ledger_cost <= BUDGET && ledger_cost > 0);
    CHECK(bg.reserved == 0 && bg.inflight == 0);
    tenancy_close(t);
    store_close(s);
}

/* ---- secrets ----------------------------------------------------------------------------------- */

static bool contains(const char *hay, size_t n, const char *needle) {
    size_t k = strlen(needle);
    for (size_t i = 0; k && i + k <= n; i++)
        if (!memcmp(hay + i, needle, k)) return true;
    return false;
}

static void test_secrets(const char *stderr_path) {
    cirrus_err err = {{0}};
    /* a wrong pepper file must be reported without showing either pepper */
    char other[320];
    snprintf(other, sizeof other, "%s/other.pepper", g_dir);
    FILE *f = fopen(other, "w");
    fputs("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", f);
    fclose(f);
    setenv("CIRRUS_PEPPER_FILE", other, 1);
    tenancy_config c = {.db = g_db, .now_us = fake_now, .refresh_ms = -1};
    tenancy *t = NULL;
    CHECK(tenancy_open(&c, &t, NULL, &err) != CIRRUS_OK && strstr(err.msg, "does not belong"));
    said(err.msg);
    unsetenv("CIRRUS_PEPPER_FILE");

    fflush(stderr);
    char pepper_path[320], pepper[80] = "";
    snprintf(pepper_path, sizeof pepper_path, "%s.pepper", g_db);
    f = fopen(pepper_path, "r");
    CHECK(f && fgets(pepper, sizeof pepper, f));
    if (f) fclose(f);
    pepper[64] = 0;
    size_t n = 0;
    char *log = NULL;
    cirrus_read_file(stderr_path, 1 << 24, &log, &n, NULL);
    CHECK(strlen(pepper) == 64);
    CHECK(g_n_keys > 5 && log != NULL && n > 0); /* the log did capture warnings */
    int leaks = 0;
    for (int i = 0; i < g_n_keys; i++) {
        const char *secret = g_keys[i] + 23; /* the part after the prefix */
        if (contains(log, n, g_keys[i]) || contains(log, n, secret) || contains(g_said, g_said_len, secret)) leaks++;
    }
    CHECK_MSG(leaks == 0, "%d keys appear in logs or messages", leaks);
    CHECK(!contains(log, n, pepper) && !contains(g_said, g_said_len, pepper));
    CHECK(!contains(g_said, g_said_len, "00112233445566778899aabbccddeeff"));
    free(log);
}

int main(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/cirrus-tenancy-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir)) return 2;
    snprintf(g_db, sizeof g_db, "%s/test.db", g_dir);
    int64_t t0;
    billing_parse_date("now", "2025-03-10T12:00:00Z", &t0, NULL);
    atomic_store(&g_now, t0 * 1000000);

    /* everything the library logs goes to a file the secrets test greps */
    char errlog[320];
    snprintf(errlog, sizeof errlog, "%s/stderr.log", g_dir);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(errlog, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);

    setup();
    test_keys();
    test_limits();
    test_budget_concurrency();
    test_secrets(errlog);

    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *f = fopen(errlog, "r"); /* show what was captured: failures print there too */
    char line[512];
    while (f && fgets(line, sizeof line, f)) fputs(line, stderr);
    if (f) fclose(f);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
    free(g_said);
    return check_done("test_tenancy");
}
