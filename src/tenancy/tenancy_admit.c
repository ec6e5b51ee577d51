/*
 * The running control plane: authentication, admission, settlement (invariants T1-T5 in
 * tenancy.h).
 *
 * The admission path, and what it costs:
 *   hash the presented key (BLAKE2b, ~0.3 µs)  -> snapshot read lock -> key by prefix (hash table)
 *   -> tenant, plan version, price version (in memory) -> the tenant's mutex: rate limits,
 *   concurrency, budget, all decided and applied together -> ledger_open (a queue push).
 * No SQL and no disk wait (T4). The tenant mutex is what makes the budget exact under
 * concurrency (T1): check-and-reserve is one critical section.
 *
 * Rate limits are GCRA (the generic cell rate algorithm, i.e. a token bucket kept as one time
 * stamp): a limit of L per minute is an emission interval I = ceil(60 s / L) and a burst
 * tolerance tau = L * I, so a tenant can use its whole minute's allowance at once and then earns
 * it back continuously. The tokens bucket charges prompt + max_tokens at admission (OpenAI's
 * rule) and gets the unused completion tokens back at settlement.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tenancy/tenancy_internal.h"

struct tenancy_req {
    tenancy_grant g;
    tn_state *state;
    ledger_rec *rec;
    store_price price;            /* the version in effect at admission */
    int64_t prompt, max_tokens, worst, period_from;
    int64_t tok_interval;         /* ns per token of the tokens/min limit at admission; 0: none */
};

/* ---- GCRA ------------------------------------------------------------------------------------- */

typedef struct {
    int64_t limit, interval, tau; /* per minute; ns; ns */
} gcra;

static gcra gcra_of(int64_t limit_per_min) {
    gcra g = {limit_per_min, 0, 0};
    if (limit_per_min > 0) {
        g.interval = (60000000000LL + limit_per_min - 1) / limit_per_min;
        g.tau = g.interval * limit_per_min;
    }
    return g;
}

/* true: n units fit at `now`; *tat becomes the new arrival time. false: *retry_ns says when. */
static bool gcra_take(const gcra *g, int64_t *tat, int64_t now, int64_t n, int64_t *retry_ns) {
    if (n > g->limit) { /* can never fit */
        *retry_ns = 0;
        return false;
    }
    int64_t base = *tat > now ? *tat : now, nt = base + n * g->interval;
    if (nt - now > g->tau) {
        *retry_ns = nt - g->tau - now;
        return false;
    }
    *tat = nt;
    return true;
}

static void gcra_report(const gcra *g, int64_t tat, int64_t now, int64_t *remaining, int64_t *reset_ms) {
    int64_t used = tat > now ? tat - now : 0;
    *remaining = (g->tau - used) / g->interval;
    if (*remaining < 0) *remaining = 0;
    *reset_ms = (used + 999999) / 1000000;
}

void tenancy_format_reset(int64_t ms, char *buf, size_t cap) {
    if (ms < 0) ms = 0;
    if (ms < 1000) {
        snprintf(buf, cap, "%lldms", (long long)ms);
    } else if (ms < 60000) {
        if (ms % 1000) snprintf(buf, cap, "%lld.%03llds", (long long)(ms / 1000), (long long)(ms % 1000));
        else snprintf(buf, cap, "%llds", (long long)(ms / 1000));
        /* trim trailing zeros of the fraction: 1.500s -> 1.5s */
        char *dot = strchr(buf, '.');
        if (dot) {
            char *s = buf + strlen(buf) - 1; /* the 's' */
            char *e = s - 1;
            while (e > dot && *e == '0') e--;
            if (e == dot) e--;
            e[1] = 's';
            e[2] = 0;
        }
    } else {
        int64_t s = ms / 1000, h = s / 3600, m = s / 60 % 60;
        if (h) snprintf(buf, cap, "%lldh%lldm%llds", (long long)h, (long long)m, (long long)(s % 60));
        else snprintf(buf, cap, "%lldm%llds", (long long)m, (long long)(s % 60));
    }
}

/* ---- decisions -------------------------------------------------------------------------------- */

static cirrus_status deny(tenancy_decision *d, tenancy_verdict v, const char *type, const char *code, const char *param,
                          const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static cirrus_status deny(tenancy_decision *d, tenancy_verdict v, const char *type, const char *code, const char *param,
                          const char *fmt, ...) {
    static const int status[] = {200, 400, 401, 403, 429, 429, 503};
    d->verdict = v;
    d->http_status = status[v];
    d->type = type;
    d->code = code;
    d->param = param;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->message, sizeof d->message, fmt, ap);
    va_end(ap);
    return CIRRUS_OK;
}

/* Key -> key record and tenant, under the snapshot lock. Fills d on refusal (T3, T5). */
static bool authenticate(tenancy *t, const tn_snap *sn, const char *key, size_t len, int64_t now_s, int need,
                         const tn_key **ko, const tn_tenant **to, tenancy_decision *d) {
    if (!key || len == 0) {
        deny(d, TENANCY_UNAUTHORIZED, "invalid_request_error", NULL, NULL,
             "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth "
             "(i.e. Authorization: Bearer YOUR_KEY).");
        return false;
    }
    char prefix[STORE_PREFIX_LEN + 1] = "000000000000";
    bool well_formed = tn_key_split(key, len, prefix);
    const tn_key *k = well_formed ? tn_snap_find_key(sn, prefix) : NULL;
    /* always hash and compare, so an unknown prefix costs what a known one does */
    unsigned char h[STORE_HASH_LEN];
    tn_key_hash(t->pepper, key, len > 512 ? 512 : len, h);
    bool match = sodium_memcmp(h, k ? k->k.hash : t->dummy_hash, STORE_HASH_LEN) == 0 && k;
    sodium_memzero(h, sizeof h);
    if (!match || k->tenant == SIZE_MAX) {
        deny(d, TENANCY_UNAUTHORIZED, "invalid_request_error", "invalid_api_key", NULL,
             "Incorrect API key provided. You can find your API keys with `cirrus key list` or ask your administrator.");
        return false;
    }
    if (k->k.revoked_at) {
        deny(d, TENANCY_UNAUTHORIZED, "invalid_request_error", "invalid_api_key", NULL, "This API key (sk-cirrus-%s-...) has been revoked.", k->k.prefix);
        return false;
    }
    if (k->k.expires_at && k->k.expires_at <= now_s) {
        deny(d, TENANCY_UNAUTHORIZED, "invalid_request_error", "invalid_api_key", NULL, "This API key (sk-cirrus-%s-...) has expired.", k->k.prefix);
        return false;
    }
    const tn_tenant *tt = &sn->tenants[k->tenant];
    if (tt->suspended) {
        deny(d, TENANCY_FORBIDDEN, "permission_error", "account_suspended", NULL, "The account '%s' is suspended. Contact the provider.", tt->name);
        return false;
    }
    if (need == STORE_SCOPE_ADMIN && k->k.scope != STORE_SCOPE_ADMIN) {
        deny(d, TENANCY_FORBIDDEN, "permission_error", "insufficient_scope", NULL, "This API key has scope 'inference'; this operation needs an 'admin' key.");
        return false;
    }
    *ko = k;
    *to = tt;
    return true;
}

static void fill_grant(tenancy_grant *g, const tn_key *k, const tn_tenant *tt, const tn_plan *p) {
    memset(g, 0, sizeof *g);
    memcpy(g->tenant, tt->name, sizeof g->tenant);
    g->tenant_id = tt->id;
    g->key_id = k->k.id;
    g->scope = k->k.scope;
    g->weight = (uint32_t)(p->p.priority >= 1 && p->p.priority <= TENANCY_WEIGHT_MAX ? p->p.priority : 1);
    g->reserved_tpm = (uint32_t)(p->p.kind == STORE_PLAN_RESERVED ? p->p.reserved_tpm : 0);
    g->watermark = !p->p.no_watermark;
    g->top_logprobs_cap = tenancy_plan_top_logprobs(&p->p);
}

static bool model_allowed(const tn_plan *p, const char *model) {
    if (p->n_models < 0) return false;
    if (p->n_models == 0) return true;
    for (int i = 0; i < p->n_models; i++)
        if (!strcmp(p->models[i], model)) return true;
    return false;
}

/* New month: the budget starts again. Reservations of requests still running stay counted until
 * they settle (conservative: never lets a new month over-commit). */
static void roll_period(tn_state *s, int64_t month_from) {
    if (s->period_from == month_from) return;
    s->period_from = month_from;
    s->spent = 0;
    s->soft_alerted = false;
}

cirrus_status tenancy_admit(tenancy *t, const char *key, size_t key_len, const tenancy_admit_args *a, tenancy_decision *d,
                            tenancy_req **out) {
    *out = NULL;
    memset(d, 0, sizeof *d);
    if (!a || !a->model || !*a->model || !a->request_id || !*a->request_id)
        return deny(d, TENANCY_BAD_REQUEST, "invalid_request_error", NULL, "model", "A model and a request id are required.");
    if (a->prompt_tokens < 0 || a->max_tokens < 1 || a->prompt_tokens > BILLING_TOKENS_MAX || a->max_tokens > BILLING_TOKENS_MAX)
        return deny(d, TENANCY_BAD_REQUEST, "invalid_request_error", NULL, "max_tokens", "max_tokens must be at least 1.");
    int64_t now_us = t->cfg.now_us(t->cfg.clock_ud), now_s = now_us / 1000000, now_ns = now_us * 1000;
    int64_t month_from, month_to;
    billing_month_bounds(now_s, &month_from, &month_to);

    tenancy_req *r = calloc(1, sizeof *r);
    if (!r) return deny(d, TENANCY_UNAVAILABLE, "server_error", NULL, NULL, "Out of memory.");
    pthread_rwlock_rdlock(&t->snap_lock);
    const tn_snap *sn = t->snap;
    const tn_key *k = NULL;
    const tn_tenant *tt = NULL;
    if (!authenticate(t, sn, key, key_len, now_s, STORE_SCOPE_INFERENCE, &k, &tt, d)) goto refused;
    const tn_plan *plan = tn_plan_at(tt, now_s);
    const store_plan *p = &plan->p;
    if (!model_allowed(plan, a->model)) {
        deny(d, TENANCY_FORBIDDEN, "invalid_request_error", "model_not_allowed", "model",
             "The model '%.100s' is not available on the plan of '%s'.", a->model, tt->name);
        goto refused;
    }
    const store_price *price = billing_price_at(sn->prices, a->model, now_s);
    if (!price) {
        deny(d, TENANCY_FORBIDDEN, "invalid_request_error", "model_not_priced", "model",
             "The model '%.100s' has no price yet, so it cannot be sold. Ask the provider.", a->model);
        goto refused;
    }
    if (p->max_tokens && a->max_tokens > p->max_tokens) {
        deny(d, TENANCY_BAD_REQUEST, "invalid_request_error", "max_tokens_exceeded", "max_tokens",
             "max_tokens is %lld, above this plan's limit of %lld tokens per request.", (long long)a->max_tokens, (long long)p->max_tokens);
        goto refused;
    }
    fill_grant(&r->g, k, tt, plan);
    r->price = *price;
    r->prompt = a->prompt_tokens;
    r->max_tokens = a->max_tokens;
    r->worst = billing_worst_case(price, a->prompt_tokens, a->max_tokens);
    r->period_from = month_from;
    tn_state *s = r->state = tt->state;
    gcra greq = gcra_of(p->rpm), gtok = gcra_of(p->tpm);
    int64_t ntok = a->prompt_tokens + a->max_tokens;

    pthread_mutex_lock(&s->mu);
    roll_period(s, month_from);
    int64_t tat_req = s->tat_req, tat_tok = s->tat_tok, retry_req = 0, retry_tok = 0;
    bool ok_req = !p->rpm || gcra_take(&greq, &tat_req, now_ns, 1, &retry_req);
    bool ok_tok = !p->tpm || gcra_take(&gtok, &tat_tok, now_ns, ntok, &retry_tok);
    bool ok_conc = !p->max_concurrent || s->inflight < p->max_concurrent;
    bool ok_budget = !p->budget_hard || s->spent + s->reserved + r->worst <= p->budget_hard; /* T1 */
    bool admitted = ok_req && ok_tok && ok_conc && ok_budget;
    int64_t spent = s->spent, reserved = s->reserved;
    if (admitted) {
        s->tat_req = tat_req;
        s->tat_tok = tat_tok;
        s->inflight++;
        s->reserved += r->worst;
        r->tok_interval = p->tpm ? gtok.interval : 0;
        if (p->budget_soft && s->spent + s->reserved >= p->budget_soft) {
            d->soft_budget_reached = true;
            if (!s->soft_alerted) {
                s->soft_alerted = true;
                char m[8];
                billing_month_of(now_s, m);
                CIRRUS_WARN("tenancy: tenant %s reached its soft budget for %s", tt->name, m);
            }
        }
    }
    if (p->rpm) {
        d->has_requests = true;
        d->limit_requests = p->rpm;
        gcra_report(&greq, s->tat_req, now_ns, &d->remaining_requests, &d->reset_requests_ms);
    }
    if (p->tpm) {
        d->has_tokens = true;
        d->limit_tokens = p->tpm;
        gcra_report(&gtok, s->tat_tok, now_ns, &d->remaining_tokens, &d->reset_tokens_ms);
    }
    pthread_mutex_unlock(&s->mu);

    if (!admitted) {
        char in[32];
        if (!ok_req) {
            d->retry_after_ms = (retry_req + 999999) / 1000000;
            tenancy_format_reset(d->retry_after_ms, in, sizeof in);
            deny(d, TENANCY_RATE_LIMITED, "requests", "rate_limit_exceeded", NULL,
                 "Rate limit reached for requests per min (RPM) of '%s': Limit %lld, Requested 1. Please try again in %s.", tt->name,
                 (long long)p->rpm, in);
        } else if (!ok_tok && retry_tok == 0) {
            deny(d, TENANCY_RATE_LIMITED, "tokens", "rate_limit_exceeded", NULL,
                 "Request too large for tokens per min (TPM) of '%s': Limit %lld, Requested %lld (prompt + max_tokens).", tt->name,
                 (long long)p->tpm, (long long)ntok);
        } else if (!ok_tok) {
            d->retry_after_ms = (retry_tok + 999999) / 1000000;
            tenancy_format_reset(d->retry_after_ms, in, sizeof in);
            deny(d, TENANCY_RATE_LIMITED, "tokens", "rate_limit_exceeded", NULL,
                 "Rate limit reached for tokens per min (TPM) of '%s': Limit %lld, Requested %lld. Please try again in %s.", tt->name,
                 (long long)p->tpm, (long long)ntok, in);
        } else if (!ok_conc) {
            d->retry_after_ms = 1000; /* a hint: a slot frees when a running request ends */
            deny(d, TENANCY_RATE_LIMITED, "requests", "concurrency_limit_exceeded", NULL,
                 "Too many concurrent requests for '%s': limit %lld. Retry when one finishes.", tt->name, (long long)p->max_concurrent);
        } else {
            char b[32], sp[32], rs[32], w[32];
            billing_format_money(p->budget_hard, b, sizeof b);
            billing_format_money(spent, sp, sizeof sp);
            billing_format_money(reserved, rs, sizeof rs);
            billing_format_money(r->worst, w, sizeof w);
            deny(d, TENANCY_QUOTA, "insufficient_quota", "insufficient_quota", NULL,
                 "You exceeded your current quota: this month's budget is %s, %s is spent and %s is held by requests in flight; "
                 "this request may cost up to %s.", b, sp, rs, w);
        }
        goto refused;
    }
    pthread_rwlock_unlock(&t->snap_lock);

    cirrus_err err = {{0}};
    ledger_open_args la = {.request_id = a->request_id, .tenant_id = r->g.tenant_id, .key_id = r->g.key_id, .model = a->model,
                           .price_id = price->id, .prompt_tokens = a->prompt_tokens, .reserved = r->worst, .t_admit = now_us};
    if (ledger_open(t->led, &la, &r->rec, &err) != CIRRUS_OK) {
        /* undo the admission: nothing was recorded, so nothing may stay held */
        pthread_mutex_lock(&s->mu);
        s->inflight--;
        s->reserved -= r->worst;
        pthread_mutex_unlock(&s->mu);
        free(r);
        if (err.msg[0] && strstr(err.msg, "request id"))
            return deny(d, TENANCY_BAD_REQUEST, "invalid_request_error", NULL, NULL, "%s", err.msg);
        return deny(d, TENANCY_UNAVAILABLE, "server_error", NULL, NULL, "Usage cannot be recorded right now; retry shortly.");
    }
    r->g.ledger_id = ledger_rec_id(r->rec);
    d->verdict = TENANCY_ADMITTED;
    d->http_status = 200;
    *out = r;
    return CIRRUS_OK;
refused:
    pthread_rwlock_unlock(&t->snap_lock);
    free(r);
    return CIRRUS_OK;
}

const tenancy_grant *tenancy_req_grant(const tenancy_req *r) { return &r->g; }

void tenancy_progress(tenancy *t, tenancy_req *r, int64_t cached, int64_t completion) {
    ledger_tokens tk = {r->prompt, cached < 0 ? 0 : cached > r->prompt ? r->prompt : cached,
                        completion < 0 ? 0 : completion > r->max_tokens ? r->max_tokens : completion};
    ledger_progress(t->led, r->rec, &tk);
}

uint64_t tenancy_settle(tenancy *t, tenancy_req *r, const tenancy_usage *u, ledger_status status) {
    /* T1: never bill above what was admitted; a caller reporting more is a bug, not a sale */
    ledger_tokens tk = {u->prompt, u->cached, u->completion};
    if (tk.prompt < 0 || tk.prompt > r->prompt) tk.prompt = tk.prompt < 0 ? 0 : r->prompt;
    if (tk.completion < 0 || tk.completion > r->max_tokens) tk.completion = tk.completion < 0 ? 0 : r->max_tokens;
    if (tk.cached < 0) tk.cached = 0;
    if (tk.cached > tk.prompt) tk.cached = tk.prompt;
    if (tk.prompt != u->prompt || tk.completion != u->completion || tk.cached != u->cached)
        CIRRUS_WARN("tenancy: request %lld reported usage outside its admission (prompt %lld/%lld, completion %lld/%lld); billed the admitted bounds",
                    (long long)r->g.ledger_id, (long long)u->prompt, (long long)r->prompt, (long long)u->completion, (long long)r->max_tokens);
    billing_tokens bt = {tk.prompt, tk.cached, tk.completion};
    billing_cost c;
    if (billing_rate(&r->price, &bt, &c, NULL) != CIRRUS_OK) memset(&c, 0, sizeof c); /* ranges were checked above */
    int64_t now_ns = t->cfg.now_us(t->cfg.clock_ud) * 1000;
    tn_state *s = r->state;
    pthread_mutex_lock(&s->mu);
    s->inflight--;
    s->reserved -= r->worst;
    if (r->period_from == s->period_from) s->spent += c.total; /* a request belongs to its admission's month */
    if (r->tok_interval) {
        int64_t unused = (r->prompt + r->max_tokens) - (tk.prompt + tk.completion);
        if (unused > 0) {
            s->tat_tok -= unused * r->tok_interval;
            if (s->tat_tok < now_ns) s->tat_tok = now_ns;
        }
    }
    pthread_mutex_unlock(&s->mu);
    ledger_cost lc = {c.input, c.cached, c.output, c.total};
    uint64_t ticket = ledger_settle(t->led, r->rec, &tk, &lc, status);
    free(r);
    return ticket;
}

uint64_t tenancy_release(tenancy *t, tenancy_req *r, ledger_status status) {
    tenancy_usage none = {0, 0, 0};
    return tenancy_settle(t, r, &none, status);
}

bool tenancy_is_durable(tenancy *t, uint64_t ticket) { return ledger_is_durable(t->led, ticket); }
cirrus_status tenancy_sync(tenancy *t, uint64_t ticket, int timeout_ms) { return ledger_sync(t->led, ticket, timeout_ms); }

cirrus_status tenancy_authenticate(tenancy *t, const char *key, size_t key_len, int need_scope, tenancy_grant *out,
                                   tenancy_decision *d) {
    memset(d, 0, sizeof *d);
    int64_t now_s = t->cfg.now_us(t->cfg.clock_ud) / 1000000;
    pthread_rwlock_rdlock(&t->snap_lock);
    const tn_key *k = NULL;
    const tn_tenant *tt = NULL;
    bool ok = authenticate(t, t->snap, key, key_len, now_s, need_scope, &k, &tt, d);
    if (ok) {
        fill_grant(out, k, tt, tn_plan_at(tt, now_s));
        d->verdict = TENANCY_ADMITTED;
        d->http_status = 200;
    }
    pthread_rwlock_unlock(&t->snap_lock);
    return ok ? CIRRUS_OK : CIRRUS_ERR_NOT_FOUND;
}

cirrus_status tenancy_budget_get(tenancy *t, const char *tenant, tenancy_budget *out, cirrus_err *err) {
    memset(out, 0, sizeof *out);
    int64_t now_s = t->cfg.now_us(t->cfg.clock_ud) / 1000000, from, to;
    billing_month_bounds(now_s, &from, &to);
    pthread_rwlock_rdlock(&t->snap_lock);
    const tn_tenant *tt = tn_snap_find_tenant(t->snap, tenant);
    cirrus_status st = CIRRUS_OK;
    if (!tt) {
        st = cirrus_errf(err, CIRRUS_ERR_NOT_FOUND, "no tenant named '%s'", tenant);
    } else {
        const store_plan *p = &tn_plan_at(tt, now_s)->p;
        pthread_mutex_lock(&tt->state->mu);
        roll_period(tt->state, from);
        out->period_from = from;
        out->spent = tt->state->spent;
        out->reserved = tt->state->reserved;
        out->inflight = tt->state->inflight;
        pthread_mutex_unlock(&tt->state->mu);
        out->budget_hard = p->budget_hard;
        out->budget_soft = p->budget_soft;
    }
    pthread_rwlock_unlock(&t->snap_lock);
    return st;
}
