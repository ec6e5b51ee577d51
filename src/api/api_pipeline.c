/*
 * The admission pipeline (api_call.h says what each step does and why in this order): every
 * endpoint that runs on an engine passes through these steps, and nothing else admits, reserves
 * or settles. A step returns CIRRUS_OK or fills the error it answers with; unwind() gives back
 * what the steps before it took.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/api_call.h"

/* ---- auth (every API_EP_KEY row, before its body is read) ------------------------------------- */

bool api_authenticate(api_ctx *x) {
    api *a = x->a;
    api_tenant *t = &x->tenant;
    memset(t, 0, sizeof *t);
    if (a->cfg.auth.open && !a->cfg.tenancy) {
        snprintf(t->name, sizeof t->name, "default");
        t->weight = 1;
        return true;
    }
    api_error e;
    size_t len = 0;
    const char *key = api_bearer(x->r, &len);
    if (!key) {
        api_error_make(&e, API_E_NO_KEY, NULL,
                       "You didn't provide an API key. You need to provide your API key in an Authorization header "
                       "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).");
        api_reply_error(a, x->r, x->ep, x->id, NULL, NULL, &e);
        return false;
    }
    if (a->cfg.tenancy) {
        /* the control plane's keys: scope, expiry, revocation and suspension are checked here;
         * limits and the budget when a generation is admitted */
        tenancy_grant g;
        tenancy_decision d;
        if (tenancy_authenticate(a->cfg.tenancy, key, len, TENANCY_NEED_INFERENCE, &g, &d) != CIRRUS_OK) {
            api_error_from_decision(&e, &d);
            api_reply_error(a, x->r, x->ep, x->id, NULL, NULL, &e);
            return false;
        }
        snprintf(t->name, sizeof t->name, "%s", g.tenant);
        t->weight = g.weight ? g.weight : 1;
        t->reserved_tpm = g.reserved_tpm;
        return true; /* max_concurrent stays 0: tenancy_admit enforces the plan's concurrency */
    }
    if (len == 0 || len > 512 || a->cfg.auth.resolve(a->cfg.auth.ud, key, len, t) != CIRRUS_OK) {
        /* never echo the key, not even in part: logs and proxies keep error bodies */
        api_error_make(&e, API_E_BAD_KEY, NULL, "Incorrect API key provided.");
        api_reply_error(a, x->r, x->ep, x->id, NULL, NULL, &e);
        return false;
    }
    if (!t->name[0]) snprintf(t->name, sizeof t->name, "default");
    if (t->weight < 1) t->weight = 1;
    return true;
}

/* ---- the steps -------------------------------------------------------------------------------- */

bool api_tenant_may_use(const api_tenant *t, const char *model) {
    if (t->n_models == 0) return true;
    for (int i = 0; i < t->n_models; i++)
        if (!strcmp(t->models[i], model)) return true;
    return false;
}

static cirrus_status step_parse(api_call *c, http_req *r, api_error *e) {
    size_t len;
    const char *body = http_req_body(r, &len);
    cirrus_status st = c->work->parse(body, len, &c->req, e);
    if (st) memset(&c->req, 0, sizeof c->req); /* the parser freed what it had */
    return st;
}

static cirrus_status step_model(api_call *c, http_req *r, api_error *e) {
    (void)r;
    api *a = c->a;
    const char *name = c->req.model;
    c->me = api_find_model(a, name);
    if (!c->me && !atomic_load(&a->ready)) return api_error_make(e, API_E_LOADING, "model", "Models are still loading; retry shortly.");
    if (!c->me) return api_error_make(e, API_E_NO_MODEL, "model", "The model '%s' does not exist or you do not have access to it.", name);
    if (!api_tenant_may_use(&c->tenant, name))
        return api_error_make(e, API_E_FORBIDDEN, "model", "Tenant '%s' may not use the model '%s'.", c->tenant.name, name);
    if (atomic_load(&a->draining)) return api_error_make(e, API_E_OVERLOADED, NULL, "The server is shutting down; retry on another instance.");
    return CIRRUS_OK;
}

static cirrus_status check_sampling(api_call *c, api_error *e) {
    api_gen_req *q = &c->req;
    for (size_t i = 0; i < q->sp.n_bias; i++)
        if (q->sp.bias[i].id >= c->me->m.n_vocab)
            return api_error_make(e, API_E_INVALID, "logit_bias", "Invalid 'logit_bias': token id %d is outside the vocabulary of %d tokens.",
                                  q->sp.bias[i].id, c->me->m.n_vocab);
    cirrus_err err = {{0}};
    if (smp_params_check(&q->sp, c->me->m.n_vocab, &err)) return api_error_make(e, API_E_INVALID, NULL, "%s", err.msg);
    if (!q->seed_set) randombytes_buf(&q->sp.seed, sizeof q->sp.seed);
    return CIRRUS_OK;
}

/* The prompt fits the context, and max_tokens (defaulted to what fits) too. */
static cirrus_status check_context(api_call *c, api_error *e) {
    api_gen_req *q = &c->req;
    int32_t n_ctx = c->me->m.n_ctx, n_prompt = (int32_t)c->n_prompt;
    const char *what = c->work->input_param;
    if (c->n_prompt >= (size_t)n_ctx)
        return api_error_make(e, API_E_CONTEXT, what, "This model's maximum context length is %d tokens. However, your %s resulted in %zu tokens.",
                              n_ctx, what, c->n_prompt);
    int32_t room = n_ctx - n_prompt;
    int32_t dflt = c->work->default_max_tokens;
    if (q->max_tokens < 0) q->max_tokens = dflt && dflt < room ? dflt : room;
    else if (q->max_tokens > room)
        return api_error_make(e, API_E_CONTEXT, "max_tokens",
                              "This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the %s, "
                              "%d in the completion). Please reduce the length of the %s or completion.",
                              n_ctx, n_prompt + q->max_tokens, n_prompt, what, q->max_tokens, what);
    return CIRRUS_OK;
}

static cirrus_status step_input(api_call *c, http_req *r, api_error *e) {
    (void)r;
    cirrus_status st = c->work->input(c, &c->prompt, &c->n_prompt, e);
    if (!st) st = check_sampling(c, e);
    if (!st) st = check_context(c, e);
    c->risk_n_prompt = c->n_prompt < GUARD_RISK_PROMPT_K ? c->n_prompt : GUARD_RISK_PROMPT_K;
    if (c->prompt) memcpy(c->risk_prompt, c->prompt, c->risk_n_prompt * sizeof *c->prompt);
    return st;
}

static cirrus_status step_admit(api_call *c, http_req *r, api_error *e) {
    api *a = c->a;
    snprintf(c->risk_tenant, sizeof c->risk_tenant, "%s", c->tenant.name);
    if (!a->cfg.tenancy) {
        if (api_conc_acquire(a, &c->tenant)) {
            c->conc_held = c->tenant.max_concurrent > 0;
            return CIRRUS_OK;
        }
        return api_error_make(e, API_E_RATE_LIMIT, NULL, "Rate limit reached for tenant '%s': at most %u concurrent requests.",
                              c->tenant.name, c->tenant.max_concurrent);
    }
    /* the control plane admits with the real prompt size and the worst case of every choice */
    size_t klen = 0;
    const char *key = api_bearer(r, &klen);
    tenancy_admit_args aa = {.request_id = c->id, .model = c->me->name, .prompt_tokens = (int64_t)c->n_prompt,
                             .max_tokens = (int64_t)c->req.max_tokens * c->req.n};
    tenancy_decision d;
    cirrus_status st = tenancy_admit(a->cfg.tenancy, key ? key : "", key ? klen : 0, &aa, &d, &c->treq);
    api_decision_headers(r, &d);
    if (st != CIRRUS_OK || !c->treq) {
        api_error_from_decision(e, &d);
        return CIRRUS_ERR_INVALID;
    }
    const tenancy_grant *gr = tenancy_req_grant(c->treq);
    snprintf(c->risk_tenant, sizeof c->risk_tenant, "%s", gr->tenant);
    c->risk_key_id = gr->key_id;
    return CIRRUS_OK;
}

/* What the risk detector hashes for a chat request: the last user message's own tokens, not the
 * formatted prompt. A chat template's header (system prompt markers, role names, special tokens)
 * is the same in every request and dominated the MinHash sample of the first prompt tokens, so
 * every tenant's prompts looked like near-duplicates and a harvester's diverse instructions went
 * unseen (docs/protection.md). Keeps the formatted prompt's ids when the message is empty or
 * cannot be tokenized. */
static void risk_user_prompt(api_call *c) {
    const api_gen_req *q = &c->req;
    size_t at = SIZE_MAX;
    for (size_t i = q->n_msgs; i-- > 0 && at == SIZE_MAX;)
        if (q->msgs[i].role && !strcmp(q->msgs[i].role, "user") && q->msgs[i].content && q->msg_lens[i]) at = i;
    if (at == SIZE_MAX) return;
    int32_t *uids = NULL;
    size_t un = 0;
    cirrus_err err = {{0}};
    if (tok_encode(c->me->m.vocab, q->msgs[at].content, q->msg_lens[at], false, false, &uids, &un, &err) == CIRRUS_OK && un) {
        c->risk_n_prompt = un < GUARD_RISK_PROMPT_K ? un : GUARD_RISK_PROMPT_K;
        memcpy(c->risk_prompt, uids, c->risk_n_prompt * sizeof *uids);
    }
    free(uids);
}

static cirrus_status step_risk(api_call *c, http_req *r, api_error *e) {
    (void)r;
    api *a = c->a;
    if (!a->cfg.risk) return CIRRUS_OK;
    guard_risk_action ra;
    guard_risk_admit(a->cfg.risk, c->risk_tenant, cirrus_now_ns(), &ra);
    if (ra.deny) {
        if (ra.http_status == 403) {
            api_error_make(e, API_E_FORBIDDEN, NULL, "This organization's access is blocked by the provider's usage policy.");
            e->type = "permission_error"; /* not a malformed request: the tenant is blocked */
            e->code = "blocked_by_usage_policy";
        } else {
            api_error_make(e, API_E_RATE_LIMIT, NULL, "Rate limited by the provider's usage policy; retry later.");
            e->retry_after_s = (int)((ra.retry_after_ms + 999) / 1000);
        }
        return CIRRUS_ERR_INVALID;
    }
    if (c->req.msgs) risk_user_prompt(c);
    return CIRRUS_OK;
}

/* Protection (docs/protection.md): the plan's watermark switch and top_logprobs cap; without a
 * control plane every request gets the defaults (watermark on, cap 5). */
static cirrus_status step_policy(api_call *c, http_req *r, api_error *e) {
    (void)e;
    c->watermark = true;
    c->lp_cap = GUARD_TOP_LOGPROBS_CAP;
    if (c->treq) {
        const tenancy_grant *gr = tenancy_req_grant(c->treq);
        c->watermark = gr->watermark;
        c->lp_cap = gr->top_logprobs_cap;
    }
    if (c->req.logprobs) {
        c->req.top_logprobs = guard_top_logprobs(c->req.top_logprobs, c->lp_cap, &c->lp_clipped);
        if (c->lp_clipped) {
            char cap[16];
            snprintf(cap, sizeof cap, "%d", (int)c->lp_cap);
            http_add_header(r, "x-cirrus-top-logprobs-capped", cap);
        }
    }
    return CIRRUS_OK;
}

static cirrus_status step_submit(api_call *c, http_req *r, api_error *e) {
    const api_model_entry *me = c->me;
    sched_req_params p = {0};
    snprintf(p.tenant, sizeof p.tenant, "%s", c->tenant.name);
    p.weight = c->tenant.weight;
    p.reserved_tpm = c->tenant.reserved_tpm;
    p.prompt = c->prompt;
    p.n_prompt = (int32_t)c->n_prompt;
    p.max_tokens = c->req.max_tokens;
    p.n_choices = c->req.n;
    p.sampling = c->req.sp;
    p.n_logprobs = c->req.logprobs ? c->req.top_logprobs : -1;
    if (me->m.watermark && c->watermark) {
        guard_wm_proc(me->m.watermark, &p.procs[0]); /* borrowed: the scheme outlives the api */
        p.n_procs = 1;
    }
    for (int i = 0; i < c->req.n_stops; i++) p.stops[i] = c->req.stops[i];
    p.n_stops = c->req.n_stops;
    p.notify = api_gen_notify;
    p.notify_arg = c;
    c->live = r; /* before submit: no notify can pass unseen */
    cirrus_err err = {{0}};
    cirrus_status st = sched_submit(me->m.engine, &p, &c->sr, &err);
    free(c->prompt); /* sched copied it */
    c->prompt = NULL;
    if (!st) return CIRRUS_OK;
    c->live = NULL;
    c->sr = NULL;
    if (st == CIRRUS_ERR_FULL) return api_error_make(e, API_E_OVERLOADED, NULL, "The server is overloaded (%s); retry shortly.", err.msg);
    api_error_make(e, api_err_kind_of(st), NULL, "%s", err.msg[0] ? err.msg : cirrus_status_str(st));
    return st;
}

typedef struct {
    const char *name;
    cirrus_status (*run)(api_call *c, http_req *r, api_error *e);
} api_step;

/* auth ran in the router (api_authenticate); run and settle follow in api_gen.c / below. */
static const api_step k_steps[] = {
    {"parse", step_parse}, {"model", step_model}, {"input", step_input}, {"admit", step_admit},
    {"risk", step_risk},   {"policy", step_policy}, {"submit", step_submit},
};

/* ---- unwind, settle, free ----------------------------------------------------------------------- */

/* Gives back what admission took from a request that never ran: its record says 0 tokens. */
static void unwind(api_call *c) {
    if (c->treq) {
        tenancy_release(c->a->cfg.tenancy, c->treq, LEDGER_ERROR);
        c->treq = NULL;
    }
    if (c->conc_held) {
        api_conc_release(c->a, c->tenant.name);
        c->conc_held = false;
    }
}

/* Settles the request's usage exactly once. A client still there to see a success gets its reply
 * only once the settle is durable (api_durable.c) -- the cost of about one group commit at the end
 * of each request, never per token, and never a wait on an HTTP thread. */
void api_call_settle(api_call *c, http_req *r, bool wait) {
    if (c->durability != API_DUR_NONE) return;
    c->durability = API_DUR_DONE;
    if (!c->treq) return;
    tenancy *tn = c->a->cfg.tenancy;
    sched_usage u;
    sched_req_usage(c->sr, &u);
    tenancy_usage tu = {.prompt = u.prompt_tokens, .cached = u.cached_tokens, .completion = u.completion_tokens};
    ledger_status st = LEDGER_OK;
    for (int i = 0; i < c->req.n; i++)
        if (c->ch[i].finish == SCHED_FINISH_LENGTH) st = LEDGER_LENGTH;
    if (c->cancelled || c->peer_gone || !c->finished) st = LEDGER_CANCELLED;
    if (c->errored) st = LEDGER_ERROR;
    uint64_t ticket = tenancy_settle(tn, c->treq, &tu, st);
    c->treq = NULL;
    if (wait) api_durable_wait(c, r, ticket);
}

void api_call_free(api_call *c) {
    api_durable_forget(c); /* off the commit hook's list while c is still whole */
    unwind(c);
    for (int i = 0; i < API_MAX_CHOICES; i++) {
        jw_free(&c->ch[i].text);
        for (int j = 0; j < 4; j++) jw_free(&c->ch[i].lp[j]);
    }
    jw_free(&c->out);
    jw_free(&c->chunk);
    free(c->prompt);
    api_gen_req_free(&c->req);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* ---- the pipeline ------------------------------------------------------------------------------- */

void api_pipeline_run(api_ctx *x) {
    api *a = x->a;
    api_error e;
    api_call *c = calloc(1, sizeof *c);
    if (!c) {
        api_error_make(&e, API_E_INTERNAL, NULL, "Out of memory.");
        api_reply_error(a, x->r, x->ep, x->id, x->tenant.name, NULL, &e);
        return;
    }
    c->a = a;
    c->ep = x->ep;
    c->work = api_eps[x->ep].work;
    snprintf(c->id, sizeof c->id, "%s", x->id);
    c->created = (int64_t)time(NULL);
    c->tenant = x->tenant;
    pthread_mutex_init(&c->mu, NULL);
    for (size_t i = 0; i < sizeof k_steps / sizeof k_steps[0]; i++) {
        if (k_steps[i].run(c, x->r, &e) == CIRRUS_OK) continue;
        unwind(c);
        api_reply_error(a, x->r, x->ep, x->id, c->tenant.name, c->req.model[0] ? c->req.model : NULL, &e);
        api_call_free(c);
        return;
    }
    api_gen_begin(c, x->r);
}
