/* guard_risk (risk.c): features and score on synthetic request streams, explanations, alerts,
 * policies at admission, and the memory bounds (ring, tenants, alerts). No server, no model. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "guard/guard.h"

#define SEC 1000000000ull

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static guard_risk *mk(uint32_t max_tenants) {
    guard_risk_params p;
    guard_risk_params_default(&p);
    p.max_tenants = max_tenants;
    guard_risk *r = NULL;
    cirrus_err err = {{0}};
    CHECK(guard_risk_new(&p, &r, &err) == CIRRUS_OK);
    return r;
}

static bool find(guard_risk *r, const char *tenant, guard_risk_tenant *out) {
    guard_risk_tenant all[64];
    size_t n = guard_risk_report(r, all, 64);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(all[i].tenant, tenant)) {
            *out = all[i];
            return true;
        }
    return false;
}

static bool in_top(const guard_risk_tenant *t, guard_risk_feature f) {
    for (int k = 0; k < 3; k++)
        if (t->top[k] == f && t->contrib[f] > 0) return true;
    return false;
}

typedef enum { S_DIVERSE_NORMAL, S_TEMPLATED, S_HARVEST, S_SWEEP } stream;

/* One synthetic request of the given stream, i-th of its tenant. */
static void run_stream(guard_risk *r, const char *tenant, stream s, int n_req, uint64_t seed) {
    uint64_t rng = seed;
    for (int i = 0; i < n_req; i++) {
        int32_t prompt[40], bias[4];
        size_t np = 0, nb = 0;
        guard_risk_obs o = {.tenant = tenant, .model = "m", .key_id = 1, .temperature = 0.7f, .n = 1};
        switch (s) {
        case S_DIVERSE_NORMAL: /* varied questions, short answers that end on their own */
        case S_HARVEST:        /* varied instructions, answers cut at max_tokens, longer than the prompt */
            np = 24;
            for (size_t k = 0; k < np; k++) prompt[k] = (int32_t)(splitmix(&rng) % 30000);
            o.prompt_tokens = 30;
            o.max_tokens = s == S_HARVEST ? 512 : 256;
            o.completion_tokens = s == S_HARVEST ? 512 : 20 + (int64_t)(splitmix(&rng) % 40);
            o.finish_length = s == S_HARVEST;
            break;
        case S_TEMPLATED: /* one template, a word or two filled in; long answers at max_tokens */
            np = 40;
            for (size_t k = 0; k < np; k++) prompt[k] = (int32_t)(100 + k);
            prompt[20] = (int32_t)(1000 + i % 3);
            o.prompt_tokens = 40;
            o.max_tokens = 400;
            o.completion_tokens = 400;
            o.finish_length = true;
            break;
        case S_SWEEP: /* the same prompt, one token, logprobs, four new biased ids per request */
            np = 5;
            for (size_t k = 0; k < np; k++) prompt[k] = (int32_t)(7 + k);
            o.prompt_tokens = 5;
            o.max_tokens = 1;
            o.completion_tokens = 1;
            o.finish_length = true;
            o.logprobs = true;
            for (int k = 0; k < 4; k++) bias[nb++] = 3 + 4 * i + k;
            break;
        }
        o.prompt = prompt;
        o.n_prompt_ids = np;
        o.bias_ids = nb ? bias : NULL;
        o.n_bias = nb;
        guard_risk_observe(r, &o, (uint64_t)(i + 1) * SEC);
    }
}

static void test_streams(void) {
    guard_risk *r = mk(16);
    if (!r) return;
    guard_risk_tenant t;

    /* nothing scored before min_requests */
    run_stream(r, "harvest", S_HARVEST, 49, 1);
    CHECK(find(r, "harvest", &t) && t.score == 0 && !t.flagged && t.n_window == 49);

    run_stream(r, "normal", S_DIVERSE_NORMAL, 300, 2);
    CHECK(find(r, "normal", &t));
    CHECK_MSG(t.feature[GUARD_RF_DIVERSITY] > 0.9f, "diversity %g", t.feature[GUARD_RF_DIVERSITY]);
    CHECK_MSG(t.feature[GUARD_RF_SATURATION] == 0.0f, "saturation %g", t.feature[GUARD_RF_SATURATION]);
    CHECK_MSG(t.score < 20 && !t.flagged, "diverse normal score %u", t.score);

    run_stream(r, "templ", S_TEMPLATED, 300, 3);
    CHECK(find(r, "templ", &t));
    CHECK_MSG(t.feature[GUARD_RF_DIVERSITY] < 0.05f, "templated diversity %g", t.feature[GUARD_RF_DIVERSITY]);
    CHECK(t.feature[GUARD_RF_SATURATION] > 0.99f && t.feature[GUARD_RF_OUT_RATIO] > 0.99f);
    CHECK_MSG(t.score < 20 && !t.flagged, "templated score %u: near-duplicates are applications", t.score);

    run_stream(r, "harvest", S_HARVEST, 300, 4);
    CHECK(find(r, "harvest", &t));
    CHECK(t.n_window == GUARD_RISK_WINDOW && t.n_total == 349);
    CHECK(t.feature[GUARD_RF_DIVERSITY] > 0.9f && t.feature[GUARD_RF_SATURATION] > 0.99f &&
          t.feature[GUARD_RF_OUT_RATIO] > 0.99f);
    CHECK_MSG(t.score >= 60 && t.flagged, "harvester score %u", t.score);
    CHECK(in_top(&t, GUARD_RF_DIVERSITY) && in_top(&t, GUARD_RF_SATURATION) && in_top(&t, GUARD_RF_OUT_RATIO));

    run_stream(r, "prober", S_SWEEP, 120, 5);
    CHECK(find(r, "prober", &t));
    CHECK(t.feature[GUARD_RF_SWEEP] > 0.99f && t.feature[GUARD_RF_LOGPROBS] > 0.99f);
    CHECK_MSG(t.flagged && t.score >= 60, "prober score %u", t.score);
    CHECK(t.top[0] == GUARD_RF_SWEEP && in_top(&t, GUARD_RF_LOGPROBS));
    CHECK(t.feature[GUARD_RF_DIVERSITY] < 0.05f); /* the same prompt every time */

    /* report: highest score first; alerts: one per attacker, newest first, with the reason */
    guard_risk_tenant all[16];
    size_t n = guard_risk_report(r, all, 16);
    CHECK(n == 4);
    for (size_t i = 1; i < n; i++) CHECK(all[i - 1].score >= all[i].score);
    guard_risk_alert al[8];
    size_t na = guard_risk_alerts(r, al, 8);
    CHECK(na == 2);
    if (na == 2) {
        CHECK(!strcmp(al[0].tenant, "prober") && strstr(al[0].reason, "logit_bias_sweep"));
        CHECK(!strcmp(al[1].tenant, "harvest") && strstr(al[1].reason, "max_tokens_saturation"));
        CHECK(al[0].score >= 40 && al[0].at_unix_ms > 0);
    }
    CHECK(!strcmp(guard_risk_feature_name(GUARD_RF_SWEEP), "logit_bias_sweep"));
    guard_risk_free(r);
}

static void test_policies(void) {
    guard_risk *r = mk(8);
    if (!r) return;
    cirrus_err err = {{0}};
    guard_risk_action a;
    guard_risk_admit(r, "t", SEC, &a);
    CHECK(!a.deny && a.policy == GUARD_POLICY_NONE);
    CHECK(guard_risk_set_policy(r, "t", GUARD_POLICY_FLAG, &err) == CIRRUS_OK);
    guard_risk_admit(r, "t", SEC, &a);
    CHECK(!a.deny && a.policy == GUARD_POLICY_FLAG);
    guard_risk_tenant t;
    CHECK(find(r, "t", &t) && t.flagged && t.policy == GUARD_POLICY_FLAG); /* flagged by hand */

    CHECK(guard_risk_set_policy(r, "t", GUARD_POLICY_BLOCK, &err) == CIRRUS_OK);
    guard_risk_admit(r, "t", SEC, &a);
    CHECK(a.deny && a.http_status == 403);

    CHECK(guard_risk_set_policy(r, "t", GUARD_POLICY_THROTTLE, &err) == CIRRUS_OK);
    int ok = 0, denied = 0;
    for (int i = 0; i < 10; i++) {
        guard_risk_admit(r, "t", 100 * SEC + (uint64_t)i * SEC, &a);
        if (a.deny) {
            denied++;
            CHECK(a.http_status == 429 && a.retry_after_ms > 0 && a.retry_after_ms <= 60000);
        } else ok++;
    }
    CHECK_MSG(ok == 6 && denied == 4, "throttle: %d admitted, %d denied", ok, denied);
    guard_risk_admit(r, "t", 161 * SEC, &a); /* the next minute */
    CHECK(!a.deny);
    guard_risk_admit(r, "other", 161 * SEC, &a); /* policies are per tenant */
    CHECK(!a.deny && a.policy == GUARD_POLICY_NONE);

    CHECK(guard_risk_set_policy(r, "t", GUARD_POLICY_NONE, &err) == CIRRUS_OK);
    guard_risk_admit(r, "t", 162 * SEC, &a);
    CHECK(!a.deny);

    /* names and parsing */
    guard_policy p;
    CHECK(guard_policy_parse("throttle", &p) && p == GUARD_POLICY_THROTTLE);
    CHECK(!guard_policy_parse("ban", &p) && !guard_policy_parse(NULL, &p));
    CHECK(!strcmp(guard_policy_str(GUARD_POLICY_BLOCK), "block"));
    char longname[GUARD_RISK_NAME_MAX + 8];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    CHECK(guard_risk_set_policy(r, longname, GUARD_POLICY_BLOCK, &err) == CIRRUS_ERR_INVALID);
    CHECK(guard_risk_set_policy(r, "", GUARD_POLICY_BLOCK, &err) == CIRRUS_ERR_INVALID);
    CHECK(guard_risk_set_policy(r, "t", (guard_policy)9, &err) == CIRRUS_ERR_INVALID);
    guard_risk_free(r);

    /* invalid parameters */
    guard_risk_params bad;
    guard_risk_params_default(&bad);
    bad.max_tenants = 0;
    guard_risk *x = NULL;
    CHECK(guard_risk_new(&bad, &x, &err) == CIRRUS_ERR_INVALID && !x);
    guard_risk_params_default(&bad);
    bad.alert_score = 101;
    CHECK(guard_risk_new(&bad, &x, &err) == CIRRUS_ERR_INVALID && !x);
}

static void test_bounds(void) {
    /* tenants: at most max_tenants tracked, the least recently seen recycled */
    guard_risk_params p;
    guard_risk_params_default(&p);
    p.max_tenants = 4;
    p.min_requests = 1;
    p.alert_score = 0; /* every tenant is flagged at its first request: one alert each */
    guard_risk *r = NULL;
    cirrus_err err = {{0}};
    CHECK(guard_risk_new(&p, &r, &err) == CIRRUS_OK);
    if (!r) return;
    int32_t ids[3] = {1, 2, 3};
    for (int i = 0; i < 300; i++) {
        char name[32];
        snprintf(name, sizeof name, "tenant-%d", i);
        guard_risk_obs o = {.tenant = name, .model = "m", .prompt = ids, .n_prompt_ids = 3, .prompt_tokens = 3,
                            .completion_tokens = 1, .max_tokens = 16, .n = 1};
        guard_risk_observe(r, &o, (uint64_t)(i + 1) * SEC);
    }
    guard_risk_tenant all[16];
    size_t n = guard_risk_report(r, all, 16);
    CHECK(n == 4);
    bool newest = false;
    for (size_t i = 0; i < n; i++) newest |= !strcmp(all[i].tenant, "tenant-299");
    CHECK(newest);
    guard_risk_alert al[GUARD_RISK_ALERTS + 10];
    size_t na = guard_risk_alerts(r, al, GUARD_RISK_ALERTS + 10);
    CHECK(na == GUARD_RISK_ALERTS);
    CHECK(na && !strcmp(al[0].tenant, "tenant-299"));
    CHECK(guard_risk_alerts(r, al, 3) == 3);
    /* the ring: 1,000 requests of one tenant keep GUARD_RISK_WINDOW in the window */
    for (int i = 0; i < 1000; i++) {
        guard_risk_obs o = {.tenant = "big", .model = "m", .prompt = ids, .n_prompt_ids = 3, .prompt_tokens = 3,
                            .completion_tokens = 1, .max_tokens = 16, .n = 1};
        guard_risk_observe(r, &o, 1000 * SEC + (uint64_t)i);
    }
    guard_risk_tenant t;
    CHECK(find(r, "big", &t) && t.n_window == GUARD_RISK_WINDOW && t.n_total == 1000);
    /* NULL risk and NULL tenant are no-ops */
    guard_risk_action a;
    guard_risk_admit(NULL, "x", 1, &a);
    CHECK(!a.deny);
    guard_risk_free(r);
    guard_risk_free(NULL);
}

/* ---- many HTTP threads at once: observe, admit and report on a table that keeps recycling ---- */

#define CC_THREADS 4
#define CC_ROUNDS 400

typedef struct {
    guard_risk *r;
    int id;
} cc_arg;

static void *cc_main(void *arg) {
    const cc_arg *a = arg;
    int32_t ids[3] = {1, 2, 3};
    for (int i = 0; i < CC_ROUNDS; i++) {
        char name[32];
        snprintf(name, sizeof name, "cc-%d-%d", a->id, i % 3); /* 12 names for 4 slots: recycling */
        uint64_t now = (uint64_t)(i + 1) * SEC + (uint64_t)a->id;
        guard_risk_action act;
        guard_risk_admit(a->r, name, now, &act);
        guard_risk_obs o = {.tenant = name, .model = "m", .prompt = ids, .n_prompt_ids = 3, .prompt_tokens = 3,
                            .completion_tokens = 1, .max_tokens = 16, .n = 1};
        guard_risk_observe(a->r, &o, now);
        if (i % 16 == 0) {
            guard_risk_tenant all[8];
            guard_risk_report(a->r, all, 8);
        }
    }
    return NULL;
}

/* R3: the slot search reads last_seen under the table mutex while other threads observe their own
 * slots; a build with -fsanitize=thread reports any field of the table written outside it. Here,
 * without a sanitizer: the table stays within its bound and no request is counted twice. */
static void test_concurrent(void) {
    guard_risk *r = mk(4);
    if (!r) return;
    pthread_t th[CC_THREADS];
    cc_arg args[CC_THREADS];
    int started = 0;
    for (int i = 0; i < CC_THREADS; i++) {
        args[i] = (cc_arg){r, i};
        if (pthread_create(&th[i], NULL, cc_main, &args[i]) == 0) started++;
        else break;
    }
    CHECK(started == CC_THREADS);
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    guard_risk_tenant all[8];
    size_t n = guard_risk_report(r, all, 8);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) total += all[i].n_total;
    CHECK_MSG(n == 4, "%zu tenants tracked (want 4)", n);
    CHECK_MSG(total > 0 && total <= (uint64_t)started * CC_ROUNDS, "%llu requests in the table",
              (unsigned long long)total);
    guard_risk_free(r);
}

int main(void) {
    test_streams();
    test_policies();
    test_bounds();
    test_concurrent();
    return check_done("test_guard_risk");
}
