/*
 * Traffic risk per tenant (guard.h has the contract; docs/protection.md the features in words).
 *
 * Why these signals: a distillation harvester wants many *different* prompts answered at length
 * (high diversity, answers cut at max_tokens, output much longer than input); applications repeat
 * themselves (a system prompt, a RAG template, a conversation's history). An extraction prober
 * biases ever new token ids and reads logprobs. Each signal alone has innocent explanations, so the
 * distillation part of the score is a product (diverse AND saturated AND long), and the extraction
 * part needs breadth of biased ids, not just their use.
 *
 * Invariants:
 *  R1. A tenant slot's ring, counters and score change only under its own mutex (tmu[i]); the table mutex
 *      only guards which slot holds which name (taken before a slot mutex, never after).
 *  R2. Memory is fixed at creation: max_tenants slots of GUARD_RISK_WINDOW summaries each.
 *  R3. used, hash, name and last_seen are the table's: every slot search reads them under mu (last_seen
 *      picks the slot to recycle), so they are written only under mu (a recycle also holds tmu[i]).
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guard/guard.h"

#define RK_SIG 8          /* MinHash functions: Jaccard estimated in steps of 1/8 */
#define RK_DUP_MATCH 7    /* >= 7 of 8 equal minima: estimated Jaccard >= 0.875 (chat requests hash the user's
                           * own text, not the template, so a near-duplicate really is one) */
#define RK_PREFIX 48      /* tokens in the shared-prefix hash: past a chat template's own header */
#define RK_HOURS 24

enum { RQ_LENGTH = 1, RQ_MULTI = 2, RQ_LP_BIAS = 4, RQ_CLIPPED = 8, RQ_DUP = 16, RQ_PREFIX = 32, RQ_NEWMODEL = 64 };

typedef struct {
    uint32_t sig[RK_SIG];
    uint64_t prefix;
    int64_t key_id;
    uint32_t in, out;
    uint16_t temp_q; /* temperature in steps of 0.05 */
    uint8_t flags;
} rk_req;

typedef struct {
    bool used;
    char name[GUARD_RISK_NAME_MAX];
    uint64_t hash, last_seen;
    rk_req ring[GUARD_RISK_WINDOW];
    uint32_t head, count;
    uint64_t total;
    uint32_t vol[RK_HOURS];
    uint64_t hour; /* index (now / 1 h) of vol[hour % RK_HOURS] */
    uint32_t sweep_distinct;
    guard_policy policy;
    guard_risk_tenant view; /* the last computed score */
    uint64_t thr_start;     /* throttle: one-minute window */
    uint32_t thr_count;
} rk_tenant;

#define RK_MODELS 16
struct guard_risk {
    guard_risk_params p;
    pthread_mutex_t mu; /* R1: the slot table and the alert ring */
    rk_tenant *t;
    pthread_mutex_t *tmu; /* tmu[i] guards t[i] (kept apart so a recycled slot is one memset) */
    guard_sweep *sweep;
    guard_risk_alert alerts[GUARD_RISK_ALERTS];
    uint32_t alert_head, n_alerts;
    struct {
        char name[GUARD_RISK_NAME_MAX];
        uint64_t at;
    } models[RK_MODELS];
};

#define TLOCK(r, s) pthread_mutex_lock(&(r)->tmu[(s) - (r)->t])
#define TUNLOCK(r, s) pthread_mutex_unlock(&(r)->tmu[(s) - (r)->t])

static const char *const k_feat[GUARD_RF_COUNT] = {"prompt_diversity", "topic_breadth", "max_tokens_saturation",
                                                   "output_input_ratio", "sampling_sweep", "logprobs_with_bias",
                                                   "logit_bias_sweep", "many_keys", "volume_vs_history",
                                                   "burst_on_new_model"};
/* Points each feature can add (docs/protection.md). Diversity, saturation and ratio are combined
 * into one product worth 70 points; the weight listed for them below is the product's share. */
static const float k_weight[GUARD_RF_COUNT] = {0, 10, 70, 0, 10, 25, 40, 10, 10, 5};

const char *guard_risk_feature_name(guard_risk_feature f) { return f < GUARD_RF_COUNT ? k_feat[f] : "?"; }

static const char *const k_pol[] = {"none", "flag", "throttle", "block"};
const char *guard_policy_str(guard_policy p) { return (unsigned)p < 4 ? k_pol[p] : "?"; }
bool guard_policy_parse(const char *s, guard_policy *out) {
    for (int i = 0; i < 4; i++)
        if (s && !strcmp(s, k_pol[i])) {
            *out = (guard_policy)i;
            return true;
        }
    return false;
}

void guard_risk_params_default(guard_risk_params *p) {
    p->min_requests = 50;
    p->alert_score = 40;
    p->max_tenants = 4096;
    p->throttle_rpm = 6;
    p->sweep_threshold = 200;
}

cirrus_status guard_risk_new(const guard_risk_params *p, guard_risk **out, cirrus_err *err) {
    *out = NULL;
    if (!p->max_tenants || p->max_tenants > (1u << 20) || !p->sweep_threshold || p->alert_score > 100)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "risk: max_tenants must be 1..2^20, sweep_threshold >= 1, alert_score <= 100");
    guard_risk *r = calloc(1, sizeof *r);
    if (r) r->t = calloc(p->max_tenants, sizeof *r->t);
    if (r) r->tmu = calloc(p->max_tenants, sizeof *r->tmu);
    if (!r || !r->t || !r->tmu) {
        if (r) free(r->t), free(r->tmu), free(r);
        return cirrus_errf(err, CIRRUS_ERR_NOMEM, "risk: out of memory for %u tenants", p->max_tenants);
    }
    r->p = *p;
    guard_sweep_params sp;
    guard_sweep_params_default(&sp);
    sp.threshold = p->sweep_threshold;
    sp.max_ids = 4 * p->sweep_threshold;
    sp.max_tenants = p->max_tenants;
    cirrus_status st = guard_sweep_new(&sp, &r->sweep, err);
    if (st) {
        free(r->t);
        free(r->tmu);
        free(r);
        return st;
    }
    pthread_mutex_init(&r->mu, NULL);
    for (uint32_t i = 0; i < p->max_tenants; i++) pthread_mutex_init(&r->tmu[i], NULL);
    *out = r;
    return CIRRUS_OK;
}

void guard_risk_free(guard_risk *r) {
    if (!r) return;
    for (uint32_t i = 0; i < r->p.max_tenants; i++) pthread_mutex_destroy(&r->tmu[i]);
    pthread_mutex_destroy(&r->mu);
    guard_sweep_free(r->sweep);
    free(r->t);
    free(r->tmu);
    free(r);
}

static uint64_t mix64(uint64_t x) { /* splitmix64's finaliser: a good cheap bijection */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t name_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return mix64(h);
}

/* Finds or claims the slot for name, locked (R1). The least recently seen slot is recycled. seen: a
 * request is being observed at `now`, which refreshes last_seen here, under mu (R3). */
static rk_tenant *slot_lock(guard_risk *r, const char *name, uint64_t now, bool seen) {
    uint64_t h = name_hash(name);
    pthread_mutex_lock(&r->mu);
    rk_tenant *hit = NULL, *lru = NULL;
    for (uint32_t i = 0; i < r->p.max_tenants && !hit; i++) {
        rk_tenant *t = &r->t[i];
        if (t->used && t->hash == h && !strncmp(t->name, name, sizeof t->name - 1)) hit = t;
        else if (!lru || (lru->used && (!t->used || t->last_seen < lru->last_seen))) lru = t;
    }
    if (!hit) {
        hit = lru;
        TLOCK(r, hit);
        memset(hit, 0, sizeof *hit);
        hit->used = true;
        hit->hash = h;
        snprintf(hit->name, sizeof hit->name, "%s", name);
        hit->hour = now / 3600000000000ull;
    } else {
        TLOCK(r, hit);
    }
    if (seen) hit->last_seen = now;
    pthread_mutex_unlock(&r->mu);
    return hit;
}

static void push_alert(guard_risk *r, const char *tenant, uint32_t score, const char *reason) {
    pthread_mutex_lock(&r->mu);
    guard_risk_alert *a = &r->alerts[r->alert_head];
    r->alert_head = (r->alert_head + 1) % GUARD_RISK_ALERTS;
    if (r->n_alerts < GUARD_RISK_ALERTS) r->n_alerts++;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    a->at_unix_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    snprintf(a->tenant, sizeof a->tenant, "%s", tenant);
    a->score = score;
    snprintf(a->reason, sizeof a->reason, "%s", reason);
    pthread_mutex_unlock(&r->mu);
}

static void summarise(rk_req *q, const guard_risk_obs *o) {
    size_t n = o->n_prompt_ids < GUARD_RISK_PROMPT_K ? o->n_prompt_ids : GUARD_RISK_PROMPT_K;
    for (int j = 0; j < RK_SIG; j++) q->sig[j] = UINT32_MAX;
    /* 3-token shingles: order-aware enough to tell templates from paraphrase, cheap enough */
    for (size_t i = 0; i + 3 <= n || (i == 0 && n > 0); i++) {
        uint64_t sh = (uint32_t)o->prompt[i];
        if (i + 1 < n) sh = sh * 1000003u + (uint32_t)o->prompt[i + 1];
        if (i + 2 < n) sh = sh * 1000003u + (uint32_t)o->prompt[i + 2];
        for (int j = 0; j < RK_SIG; j++) {
            uint32_t v = (uint32_t)(mix64(sh ^ (0x9e3779b97f4a7c15ull * (uint64_t)(j + 1))) >> 32);
            if (v < q->sig[j]) q->sig[j] = v;
        }
        if (i + 3 > n) break;
    }
    uint64_t ph = 0;
    for (size_t i = 0; i < n && i < RK_PREFIX; i++) ph = mix64(ph ^ (uint32_t)o->prompt[i]);
    q->prefix = ph;
    q->key_id = o->key_id;
    q->in = (uint32_t)(o->prompt_tokens > 0 ? (o->prompt_tokens > UINT32_MAX ? UINT32_MAX : o->prompt_tokens) : 0);
    q->out = (uint32_t)(o->completion_tokens > 0 ? (o->completion_tokens > UINT32_MAX ? UINT32_MAX : o->completion_tokens) : 0);
    float t = o->temperature < 0 ? 0 : o->temperature > 5 ? 5 : o->temperature;
    q->temp_q = (uint16_t)(t * 20.0f + 0.5f);
    q->flags = (uint8_t)((o->finish_length ? RQ_LENGTH : 0) | (o->n > 1 ? RQ_MULTI : 0) |
                         (o->logprobs && o->n_bias ? RQ_LP_BIAS : 0) | (o->top_logprobs_clipped ? RQ_CLIPPED : 0));
}

static float clamp01(float x) { return x < 0 ? 0 : x > 1 ? 1 : x; }

/* Recomputes the tenant's features and score from its ring (O(window), under t->mu). */
static void score(guard_risk *r, rk_tenant *t) {
    guard_risk_tenant *v = &t->view;
    uint32_t n = t->count, dup = 0, len = 0, multi = 0, lp = 0, newm = 0;
    uint64_t in = 0, out = 0;
    uint32_t clusters = 0, temps = 0, keys = 0;
    uint32_t seen_c[GUARD_RISK_WINDOW], seen_t[GUARD_RISK_WINDOW];
    int64_t seen_k[GUARD_RISK_WINDOW];
    for (uint32_t i = 0; i < n; i++) {
        const rk_req *q = &t->ring[i];
        dup += (q->flags & (RQ_DUP | RQ_PREFIX)) != 0;
        len += (q->flags & RQ_LENGTH) != 0;
        multi += (q->flags & RQ_MULTI) != 0;
        lp += (q->flags & (RQ_LP_BIAS | RQ_CLIPPED)) != 0;
        newm += (q->flags & RQ_NEWMODEL) != 0;
        in += q->in;
        out += q->out;
        /* distinct counts by linear search: the window is 256, this runs once per request */
        uint32_t c = q->sig[0] ^ q->sig[1];
        bool f = false;
        for (uint32_t j = 0; j < clusters && !f; j++) f = seen_c[j] == c;
        if (!f) seen_c[clusters++] = c;
        f = false;
        for (uint32_t j = 0; j < temps && !f; j++) f = seen_t[j] == q->temp_q;
        if (!f) seen_t[temps++] = q->temp_q;
        f = false;
        for (uint32_t j = 0; j < keys && !f; j++) f = seen_k[j] == q->key_id;
        if (!f) seen_k[keys++] = q->key_id;
    }
    float *x = v->feature;
    memset(v->feature, 0, sizeof v->feature);
    memset(v->contrib, 0, sizeof v->contrib);
    if (n) {
        x[GUARD_RF_DIVERSITY] = 1.0f - (float)dup / (float)n;
        x[GUARD_RF_BREADTH] = (float)clusters / (float)n;
        x[GUARD_RF_SATURATION] = (float)len / (float)n;
        x[GUARD_RF_OUT_RATIO] = clamp01((float)((double)out / (double)(in ? in : 1)) / 0.5f); /* out >= in / 2 = 1 */
        x[GUARD_RF_SAMPLING] = clamp01((float)(temps - 1) / 7.0f);
        if ((float)multi / (float)n > x[GUARD_RF_SAMPLING]) x[GUARD_RF_SAMPLING] = (float)multi / (float)n;
        x[GUARD_RF_LOGPROBS] = (float)lp / (float)n;
        x[GUARD_RF_SWEEP] = clamp01((float)t->sweep_distinct / (float)r->p.sweep_threshold);
        x[GUARD_RF_KEYS] = clamp01((float)(keys - 1) / 7.0f);
        x[GUARD_RF_NEW_MODEL] = (float)newm / (float)n;
    }
    /* volume: this hour against the mean of the earlier hours that had traffic */
    uint32_t now_v = t->vol[t->hour % RK_HOURS], hist = 0, nh = 0;
    for (uint64_t k = 1; k < RK_HOURS; k++) {
        uint32_t vv = t->vol[(t->hour + RK_HOURS - k) % RK_HOURS];
        if (vv) hist += vv, nh++;
    }
    if (nh) x[GUARD_RF_VOLUME] = clamp01(((float)now_v / ((float)hist / (float)nh) - 2.0f) / 8.0f); /* 10x = 1 */
    float distill = x[GUARD_RF_DIVERSITY] * x[GUARD_RF_SATURATION] * x[GUARD_RF_OUT_RATIO];
    v->contrib[GUARD_RF_SATURATION] = k_weight[GUARD_RF_SATURATION] * distill; /* the product's points */
    v->contrib[GUARD_RF_BREADTH] = k_weight[GUARD_RF_BREADTH] * x[GUARD_RF_BREADTH] * x[GUARD_RF_DIVERSITY];
    for (int f = GUARD_RF_SAMPLING; f < GUARD_RF_COUNT; f++) v->contrib[f] = k_weight[f] * x[f];
    /* the product's points are explained by whichever of its three factors is smallest-pulling:
     * show them under saturation but also credit diversity and ratio for the top list */
    v->contrib[GUARD_RF_DIVERSITY] = v->contrib[GUARD_RF_SATURATION] * 0.34f;
    v->contrib[GUARD_RF_OUT_RATIO] = v->contrib[GUARD_RF_SATURATION] * 0.33f;
    v->contrib[GUARD_RF_SATURATION] *= 0.33f;
    float s = 0;
    for (int f = 0; f < GUARD_RF_COUNT; f++) s += v->contrib[f];
    v->score = n < r->p.min_requests ? 0 : (uint32_t)(s > 100 ? 100 : s + 0.5f);
    v->n_window = n;
    v->n_total = t->total;
    for (int k = 0; k < 3; k++) {
        int best = -1;
        for (int f = 0; f < GUARD_RF_COUNT; f++) {
            bool taken = false;
            for (int j = 0; j < k; j++) taken |= (int)v->top[j] == f;
            if (!taken && (best < 0 || v->contrib[f] > v->contrib[best])) best = f;
        }
        v->top[k] = (guard_risk_feature)best;
    }
}

void guard_risk_model_added(guard_risk *r, const char *model, uint64_t now_ns) {
    pthread_mutex_lock(&r->mu);
    int slot = 0;
    for (int i = 0; i < RK_MODELS; i++)
        if (r->models[i].at < r->models[slot].at) slot = i;
    snprintf(r->models[slot].name, sizeof r->models[slot].name, "%s", model);
    r->models[slot].at = now_ns ? now_ns : 1;
    pthread_mutex_unlock(&r->mu);
}

static bool model_is_new(guard_risk *r, const char *model, uint64_t now) {
    bool yes = false;
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < RK_MODELS && model; i++)
        if (r->models[i].at && !strcmp(r->models[i].name, model) && now - r->models[i].at < 3600000000000ull) yes = true;
    pthread_mutex_unlock(&r->mu);
    return yes;
}

void guard_risk_observe(guard_risk *r, const guard_risk_obs *o, uint64_t now) {
    if (!r || !o->tenant) return;
    rk_req q;
    summarise(&q, o);
    if (model_is_new(r, o->model, now)) q.flags |= RQ_NEWMODEL;
    guard_sweep_result sw = {0};
    guard_sweep_observe(r->sweep, name_hash(o->tenant), now, o->bias_ids, o->bias_ids ? o->n_bias : 0, &sw);
    rk_tenant *t = slot_lock(r, o->tenant, now, true);
    for (uint32_t i = 0; i < t->count; i++) {
        const rk_req *p = &t->ring[i];
        int same = 0;
        for (int j = 0; j < RK_SIG; j++) same += p->sig[j] == q.sig[j];
        if (same >= RK_DUP_MATCH) q.flags |= RQ_DUP;
        if (p->prefix == q.prefix && o->n_prompt_ids >= RK_PREFIX) q.flags |= RQ_PREFIX;
        if ((q.flags & (RQ_DUP | RQ_PREFIX)) == (RQ_DUP | RQ_PREFIX)) break;
    }
    t->ring[t->head] = q;
    t->head = (t->head + 1) % GUARD_RISK_WINDOW;
    if (t->count < GUARD_RISK_WINDOW) t->count++;
    t->total++;
    uint64_t hour = now / 3600000000000ull;
    for (; t->hour < hour && hour - t->hour <= RK_HOURS; ) t->vol[++t->hour % RK_HOURS] = 0;
    if (hour > t->hour) { /* a gap longer than the ring: all history is old */
        memset(t->vol, 0, sizeof t->vol);
        t->hour = hour;
    }
    if (t->vol[t->hour % RK_HOURS] < UINT32_MAX) t->vol[t->hour % RK_HOURS]++;
    t->sweep_distinct = sw.distinct;
    bool was = t->view.flagged;
    score(r, t);
    t->view.flagged = t->view.score >= r->p.alert_score || sw.alert;
    bool raise = t->view.flagged && !was;
    char reason[128], name[GUARD_RISK_NAME_MAX];
    uint32_t sc = t->view.score;
    snprintf(name, sizeof name, "%s", t->name);
    snprintf(reason, sizeof reason, "score %u: %s, %s, %s", sc, k_feat[t->view.top[0]], k_feat[t->view.top[1]],
             k_feat[t->view.top[2]]);
    TUNLOCK(r, t);
    if (raise) push_alert(r, name, sc, reason);
}

void guard_risk_admit(guard_risk *r, const char *tenant, uint64_t now, guard_risk_action *out) {
    memset(out, 0, sizeof *out);
    if (!r || !tenant) return;
    rk_tenant *t = slot_lock(r, tenant, now, false);
    out->policy = t->policy;
    if (t->policy == GUARD_POLICY_BLOCK) {
        out->deny = true;
        out->http_status = 403;
    } else if (t->policy == GUARD_POLICY_THROTTLE) {
        if (!t->thr_start || now - t->thr_start >= 60000000000ull) {
            t->thr_start = now;
            t->thr_count = 0;
        }
        if (t->thr_count >= r->p.throttle_rpm) {
            out->deny = true;
            out->http_status = 429;
            out->retry_after_ms = (int64_t)((t->thr_start + 60000000000ull - now) / 1000000u) + 1;
        } else {
            t->thr_count++;
        }
    }
    TUNLOCK(r, t);
}

cirrus_status guard_risk_set_policy(guard_risk *r, const char *tenant, guard_policy p, cirrus_err *err) {
    if (!tenant || !*tenant || strlen(tenant) >= GUARD_RISK_NAME_MAX)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "tenant: 1 to %d characters", GUARD_RISK_NAME_MAX - 1);
    if ((unsigned)p > GUARD_POLICY_BLOCK) return cirrus_errf(err, CIRRUS_ERR_INVALID, "policy: none, flag, throttle or block");
    rk_tenant *t = slot_lock(r, tenant, 0, false);
    t->policy = p;
    TUNLOCK(r, t);
    return CIRRUS_OK;
}

static int by_score(const void *a, const void *b) {
    const guard_risk_tenant *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return strcmp(x->tenant, y->tenant);
}

size_t guard_risk_report(guard_risk *r, guard_risk_tenant *out, size_t max) {
    size_t k = 0;
    pthread_mutex_lock(&r->mu);
    for (uint32_t i = 0; i < r->p.max_tenants && k < max; i++) {
        rk_tenant *t = &r->t[i];
        if (!t->used) continue;
        TLOCK(r, t);
        out[k] = t->view;
        snprintf(out[k].tenant, sizeof out[k].tenant, "%s", t->name);
        out[k].policy = t->policy;
        out[k].flagged = t->view.flagged || t->policy == GUARD_POLICY_FLAG;
        TUNLOCK(r, t);
        k++;
    }
    pthread_mutex_unlock(&r->mu);
    qsort(out, k, sizeof *out, by_score);
    return k;
}

size_t guard_risk_alerts(guard_risk *r, guard_risk_alert *out, size_t max) {
    pthread_mutex_lock(&r->mu);
    size_t k = 0;
    for (; k < r->n_alerts && k < max; k++)
        out[k] = r->alerts[(r->alert_head + GUARD_RISK_ALERTS - 1 - k) % GUARD_RISK_ALERTS];
    pthread_mutex_unlock(&r->mu);
    return k;
}
