/*
 * Seeding the demo market. Everything goes through the control plane's public functions — the
 * same tenancy, billing and ledger code that serves real traffic — so the demo's invoices and
 * reports are computed exactly as a real month's would be.
 *
 * Simulated usage is written as one record per tenant, model and day (a daily aggregate: the
 * history would otherwise be millions of rows for no extra insight), admitted at noon UTC of that
 * day, rated with the price version in effect then, and marked simulated.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "billing/billing.h"
#include "demo/demo.h"
#include "ledger/ledger.h"
#include "tenancy/tenancy.h"

#define MONTHS 6
#define USD(x) ((int64_t)((x) * 1000000.0 + 0.5))

typedef struct {
    const char *name, *industry, *region, *about;
    store_plan_kind plan;
    double fee, commit_min, discount_pct; /* fee / commit in currency per month */
    int64_t reserved_tpm, priority;
    /* revenue per month, oldest first, in thousands of currency units */
    double revenue_k[MONTHS];
    double pro_share; /* share of revenue on cirrus-pro (the rest on cirrus-mini) */
    int live;         /* live streams in the demo's minute of traffic; 0: none */
} tenant_spec;

/* The five named customers. Monthly totals grow ~4% a month; the video platform stays near a
 * quarter; the coding assistant drops 45% in the last month. */
static const tenant_spec k_major[] = {
    {"clipstream", "media", "us-west", "short-video platform: captions, titles, recommendations",
     STORE_PLAN_COMMITTED, 0, 40000, 10, 0, 4, {38, 40, 42, 43.5, 45, 47}, 0.7, 4},
    {"shopwise", "retail", "eu-central", "online retailer: product recommendations and search",
     STORE_PLAN_PAYG, 0, 0, 0, 0, 2, {21, 23, 25, 27, 29, 31}, 0.4, 2},
    {"ledgerly", "finance", "us-east", "tax and finance software: advice from customer ledgers",
     STORE_PLAN_COMMITTED, 0, 20000, 5, 0, 3, {22, 22.5, 23, 24, 24.5, 25}, 0.8, 2},
    {"nordai", "ai-services", "eu-north", "regional AI partner reselling capacity to Nordic firms",
     STORE_PLAN_RESERVED, 6000, 0, 0, 20000, 3, {16, 17, 18.5, 19.5, 20.5, 21.5}, 0.5, 1},
    {"codepilot", "software", "us-west", "coding-assistant product for developers",
     STORE_PLAN_PAYG, 0, 0, 0, 0, 2, {17, 18, 19, 20, 20.5, 11}, 0.6, 1},
};

/* The long tail: 22 small tenants, 0.6k..6k a month each. */
static const char *const k_tail[] = {
    "atlas-legal", "brightdesk", "cardiolab", "dataforge", "edumate", "fieldsense", "greenroute",
    "helio-health", "inkwell", "jobmatch", "kitchenai", "lumen-ads", "medscribe", "novabank",
    "orbit-travel", "pixelcraft", "quantfolio", "retailbot", "safeclaims", "tutorly", "urbanplan",
    "voicely",
};
static const char *const k_tail_industry[] = {"legal", "software", "health", "software", "education",
                                              "agriculture", "logistics", "health", "media", "hr",
                                              "consumer", "advertising", "health", "finance", "travel",
                                              "media", "finance", "retail", "insurance", "education",
                                              "public-sector", "software"};
static const char *const k_regions[] = {"us-east", "us-west", "eu-central", "eu-north", "ap-south", "sa-east"};

/* Deterministic noise: the same seed gives the same demo everywhere. */
static double noise(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0; /* [0, 1) */
}

/* ---- keys file ------------------------------------------------------------------------------ */

static cirrus_status save_keys(const char *path, const demo_seed_result *r, cirrus_err *err) {
    json_t *o = json_object(), *live = json_array();
    json_object_set_new(o, "admin_key", json_string(r->admin_key));
    for (int i = 0; i < r->n_live; i++) {
        json_t *t = json_object();
        json_object_set_new(t, "tenant", json_string(r->live[i].tenant));
        json_object_set_new(t, "key", json_string(r->live[i].key));
        json_object_set_new(t, "concurrency", json_integer(r->live[i].concurrency));
        json_array_append_new(live, t);
    }
    json_object_set_new(o, "live", live);
    char *text = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    if (!text) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "demo: out of memory");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    cirrus_status st = CIRRUS_OK;
    if (!f || chmod(tmp, 0600) != 0 || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0)
        st = cirrus_errf(err, CIRRUS_ERR_IO, "demo: cannot write %s: %s", path, strerror(errno));
    free(text);
    return st;
}

static cirrus_status load_keys(const char *path, demo_seed_result *r, cirrus_err *err) {
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    if (!o)
        return cirrus_errf(err, CIRRUS_ERR_FORMAT,
                           "demo: the database is seeded but its keys file %s is unreadable (%s); "
                           "remove the demo folder to start over", path, je.text);
    const char *admin = json_string_value(json_object_get(o, "admin_key"));
    json_t *live = json_object_get(o, "live");
    cirrus_status st = CIRRUS_OK;
    if (!admin || strlen(admin) >= DEMO_KEY_MAX || !json_is_array(live)) {
        st = cirrus_errf(err, CIRRUS_ERR_FORMAT, "demo: %s: admin_key or live missing", path);
        goto done;
    }
    snprintf(r->admin_key, sizeof r->admin_key, "%s", admin);
    r->n_live = 0;
    for (size_t i = 0; i < json_array_size(live) && r->n_live < DEMO_MAX_LIVE; i++) {
        json_t *t = json_array_get(live, i);
        const char *name = json_string_value(json_object_get(t, "tenant"));
        const char *key = json_string_value(json_object_get(t, "key"));
        json_int_t conc = json_integer_value(json_object_get(t, "concurrency"));
        if (!name || !key || strlen(name) >= sizeof r->live[0].tenant || strlen(key) >= DEMO_KEY_MAX || conc < 1 ||
            conc > 64) {
            st = cirrus_errf(err, CIRRUS_ERR_FORMAT, "demo: %s: live[%zu] malformed", path, i);
            goto done;
        }
        demo_live_tenant *lt = &r->live[r->n_live++];
        snprintf(lt->tenant, sizeof lt->tenant, "%s", name);
        snprintf(lt->key, sizeof lt->key, "%s", key);
        lt->concurrency = (int)conc;
    }
done:
    json_decref(o);
    return st;
}

/* ---- seeding -------------------------------------------------------------------------------- */

static cirrus_status make_tenant(store *s, const char *name, const char *industry, const char *region,
                                 const char *about, store_plan *plan, int64_t *tenant_id, cirrus_err *err) {
    char meta[512];
    json_t *m = json_pack("{s:s, s:b}", "description", about, "demo", 1);
    char *mt = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    if (!mt) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "demo: out of memory");
    snprintf(meta, sizeof meta, "%s", mt);
    free(mt);
    store_tenant t;
    cirrus_status st = tenancy_tenant_create(s, name, industry, region, meta, &t, err);
    if (st) return st;
    *tenant_id = t.id;
    return plan ? tenancy_plan_set(s, name, plan, err) : CIRRUS_OK;
}

typedef struct {
    ledger *l;
    const billing_prices *prices;
    int64_t tenant_id;
    const char *tenant;
    int64_t records, revenue;
} sim_ctx;

/* One day's aggregate of a tenant on one model: tokens sized so the day costs about `target`. */
static cirrus_status sim_day(sim_ctx *c, const char *model, int64_t day_noon_s, double target, uint64_t *rng,
                             cirrus_err *err) {
    const store_price *p = billing_price_at(c->prices, model, day_noon_s);
    if (!p) return cirrus_errf(err, CIRRUS_ERR_INTERNAL, "demo: no price for %s", model);
    /* a request mix of 3 prompt tokens per completion token, 20-40% of the prompt cached */
    double cached_frac = 0.2 + 0.2 * noise(rng);
    double per_token = (0.75 * ((1 - cached_frac) * (double)p->input + cached_frac * (double)p->cached_input) +
                        0.25 * (double)p->output) / 1e6; /* micro-units per token */
    double tokens = target / per_token;
    billing_tokens bt = {.prompt = (int64_t)(0.75 * tokens)};
    bt.cached = (int64_t)(cached_frac * (double)bt.prompt);
    bt.completion = (int64_t)(0.25 * tokens);
    billing_cost cost;
    cirrus_status st = billing_rate(p, &bt, &cost, err);
    if (st) return st;
    char rid[96];
    snprintf(rid, sizeof rid, "sim-%s-%lld-%s", c->tenant, (long long)(day_noon_s / 86400), model);
    ledger_open_args a = {.request_id = rid, .tenant_id = c->tenant_id, .key_id = 0, .model = model,
                          .price_id = p->id, .prompt_tokens = bt.prompt, .reserved = 0,
                          .t_admit = day_noon_s * 1000000, .simulated = true};
    ledger_rec *rec;
    if ((st = ledger_open(c->l, &a, &rec, err))) return st;
    ledger_tokens lt = {bt.prompt, bt.cached, bt.completion};
    ledger_cost lc = {cost.input, cost.cached, cost.output, cost.total};
    ledger_settle(c->l, rec, &lt, &lc, LEDGER_OK);
    c->records++;
    c->revenue += cost.total;
    return CIRRUS_OK;
}

/* Writes a tenant's months: revenue_k[m] thousands in month m (oldest first), spread over its days
 * with +-15% daily noise and a weekday/weekend rhythm. */
static cirrus_status sim_months(sim_ctx *c, const double *revenue_k, double pro_share, int64_t first_from,
                                uint64_t *rng, cirrus_err *err) {
    int64_t from = first_from;
    for (int m = 0; m < MONTHS; m++) {
        int64_t mfrom, mto;
        billing_month_bounds(from, &mfrom, &mto);
        int days = (int)((mto - mfrom) / 86400);
        double per_day = revenue_k[m] * 1000.0 * BILLING_MICROS / days;
        for (int d = 0; d < days; d++) {
            int64_t noon = mfrom + (int64_t)d * 86400 + 43200;
            int weekday = (int)(((noon / 86400) + 4) % 7); /* 1970-01-01 was a Thursday */
            double rhythm = weekday == 0 || weekday == 6 ? 0.75 : 1.1;
            double target = per_day * rhythm * (0.85 + 0.3 * noise(rng));
            cirrus_status st;
            if (pro_share > 0 && (st = sim_day(c, "cirrus-pro", noon, target * pro_share, rng, err))) return st;
            if (pro_share < 1 && (st = sim_day(c, DEMO_LIVE_MODEL, noon, target * (1 - pro_share), rng, err)))
                return st;
        }
        from = mto;
    }
    return CIRRUS_OK;
}

static void plan_from_spec(const tenant_spec *t, int64_t from, store_plan *p) {
    tenancy_plan_default(p);
    p->effective_from = from;
    p->kind = t->plan;
    p->fee = USD(t->fee);
    p->commit_min = USD(t->commit_min);
    p->discount_bp = (int64_t)(t->discount_pct * 100);
    p->reserved_tpm = t->reserved_tpm;
    p->priority = t->priority;
    /* a soft alert at 110% of the latest month's run rate; no hard cap on the named customers */
    p->budget_soft = USD(t->revenue_k[MONTHS - 1] * 1000 * 1.1);
}

static cirrus_status seed_fresh(store *s, ledger *l, const char *keys_path, int64_t now_s, demo_seed_result *r,
                                cirrus_err *err) {
    int64_t cur_from, cur_to;
    billing_month_bounds(now_s, &cur_from, &cur_to);
    /* the first of six whole months before the current one */
    int64_t first = cur_from;
    for (int m = 0; m < MONTHS; m++) {
        int64_t f, t;
        billing_month_bounds(first - 1, &f, &t);
        first = f;
    }
    r->first_month_from = first;
    cirrus_status st;
    store_price pr;
    /* prices per 1M tokens: input / cached input / output */
    if ((st = billing_price_set(s, "cirrus-pro", first, USD(3.00), USD(1.50), USD(12.00), &pr, err)) ||
        (st = billing_price_set(s, DEMO_LIVE_MODEL, first, USD(0.50), USD(0.25), USD(1.50), &pr, err)))
        return st;
    billing_prices *prices = NULL;
    if ((st = billing_prices_load(s, &prices, err))) return st;

    uint64_t rng = 20240601;
    int64_t tid;
    char key[TENANCY_KEY_LEN + 1];
    store_key k;
    /* the provider's own operators: the console's admin key */
    if ((st = make_tenant(s, "operator", "provider", "global", "the provider's own operations team", NULL, &tid, err)) ||
        (st = tenancy_key_create(s, "operator", STORE_SCOPE_ADMIN, 0, key, &k, err)))
        goto done;
    snprintf(r->admin_key, sizeof r->admin_key, "%s", key);
    r->n_tenants = 0;
    for (size_t i = 0; i < sizeof k_major / sizeof k_major[0]; i++) {
        const tenant_spec *t = &k_major[i];
        store_plan p;
        plan_from_spec(t, first, &p);
        if ((st = make_tenant(s, t->name, t->industry, t->region, t->about, &p, &tid, err))) goto done;
        r->n_tenants++;
        sim_ctx c = {.l = l, .prices = prices, .tenant_id = tid, .tenant = t->name};
        if ((st = sim_months(&c, t->revenue_k, t->pro_share, first, &rng, err))) goto done;
        r->sim_records += c.records;
        r->sim_revenue += c.revenue;
        if (t->live && r->n_live < DEMO_MAX_LIVE) {
            if ((st = tenancy_key_create(s, t->name, STORE_SCOPE_INFERENCE, 0, key, &k, err))) goto done;
            demo_live_tenant *lt = &r->live[r->n_live++];
            snprintf(lt->tenant, sizeof lt->tenant, "%s", t->name);
            snprintf(lt->key, sizeof lt->key, "%s", key);
            lt->concurrency = t->live;
        }
    }
    for (size_t i = 0; i < sizeof k_tail / sizeof k_tail[0]; i++) {
        tenant_spec t = {.name = k_tail[i], .industry = k_tail_industry[i], .region = k_regions[i % 6],
                         .about = "small customer", .priority = 1, .pro_share = 0.3};
        /* a Pareto-ish tail: 6k down to ~0.6k a month, some growing, some shrinking */
        double base = 6.0 / (1.0 + 0.45 * (double)i), trend = 0.9 + 0.25 * noise(&rng);
        for (int m = 0; m < MONTHS; m++) t.revenue_k[m] = base * (0.8 + 0.1 * m * trend);
        t.plan = i % 5 == 0 ? STORE_PLAN_COMMITTED : STORE_PLAN_PAYG;
        t.commit_min = t.plan == STORE_PLAN_COMMITTED ? base * 800 : 0;
        t.discount_pct = t.plan == STORE_PLAN_COMMITTED ? 3 : 0;
        store_plan p;
        plan_from_spec(&t, first, &p);
        if (i % 4 == 1) p.budget_hard = USD(t.revenue_k[MONTHS - 1] * 1000 * 1.5); /* capped spenders */
        if ((st = make_tenant(s, t.name, t.industry, t.region, t.about, &p, &tid, err))) goto done;
        r->n_tenants++;
        sim_ctx c = {.l = l, .prices = prices, .tenant_id = tid, .tenant = t.name};
        if ((st = sim_months(&c, t.revenue_k, t.pro_share, first, &rng, err))) goto done;
        r->sim_records += c.records;
        r->sim_revenue += c.revenue;
        if (i < 2 && r->n_live < DEMO_MAX_LIVE) { /* two small tenants join the live minute */
            if ((st = tenancy_key_create(s, t.name, STORE_SCOPE_INFERENCE, 0, key, &k, err))) goto done;
            demo_live_tenant *lt = &r->live[r->n_live++];
            snprintf(lt->tenant, sizeof lt->tenant, "%s", t.name);
            snprintf(lt->key, sizeof lt->key, "%s", key);
            lt->concurrency = 1;
        }
    }
    if ((st = save_keys(keys_path, r, err))) goto done;
    char when[32];
    billing_format_time(now_s, when);
    st = store_meta_set(s, "demo.seeded_at", when, err);
done:
    billing_prices_free(prices);
    return st;
}

cirrus_status demo_seed(const char *db_path, const char *keys_path, int64_t now_s, demo_seed_result *out,
                        cirrus_err *err) {
    memset(out, 0, sizeof *out);
    tenancy_config cfg = {.db = db_path, .refresh_ms = -1};
    tenancy *tn = NULL;
    ledger_recovery rec;
    cirrus_status st = tenancy_open(&cfg, &tn, &rec, err);
    if (st) return st;
    store *s = tenancy_store(tn);
    char seeded[64];
    cirrus_err e2;
    if (store_meta_get(s, "demo.seeded_at", seeded, sizeof seeded, &e2) == CIRRUS_OK) {
        out->already_seeded = true;
        st = load_keys(keys_path, out, err);
    } else {
        st = seed_fresh(s, tenancy_ledger(tn), keys_path, now_s, out, err);
        if (!st) st = ledger_flush(tenancy_ledger(tn), 60000);
        if (st && !err->msg[0]) cirrus_errf(err, st, "demo: the ledger did not flush");
    }
    tenancy_close(tn);
    return st;
}
