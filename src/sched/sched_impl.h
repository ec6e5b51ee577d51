/*
 * sched internals shared by sched.c (engine loop), queue.c (tenants, fair queues, shares),
 * prefix.c (slots and the prefix cache) and req.c (requests, events, submit/poll).
 *
 * Locks, in the only order they nest:  sched.mu  ->  req.notify_mu  ->  req.mu
 *  - sched.mu guards everything HTTP threads and the engine both touch: tenant table and queues,
 *    slot counters, stats, the stopping flag. The engine holds it between steps (admission,
 *    releases), never across mdl_forward.
 *  - req.mu guards the request's event ring, usage and reference count.
 *  - req.notify_mu makes "owner gone" and a running notify() call exclusive.
 * Fields marked (engine) are touched by the engine thread only and need no lock.
 */
#ifndef CIRRUS_SCHED_IMPL_H
#define CIRRUS_SCHED_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "sched/sched.h"

typedef enum { REQ_QUEUED, REQ_PREFILL, REQ_DECODE, REQ_DONE } sched_req_state;

#define SCHED_WINDOW_S 60          /* reserved_tpm looks back this far */
#define SCHED_QUANTUM 256          /* DRR quantum in tokens per unit of weight */
#define SCHED_GRACE_NS 50000000ull /* a tenant between two requests keeps its slot share this long */
#define SCHED_IDLE_CREDIT 32       /* tokens of catch-up a tenant may bank while briefly idle */
#define SCHED_VT_ONE 65536ull      /* virtual-time units of one token at weight 1 */
#define SCHED_PARALLEL_SAMPLE_MIN 65536 /* draws x vocabulary worth sampling on the pool */

typedef struct sched_tenant {
    bool used;
    char name[SCHED_TENANT_MAX];
    uint32_t weight, reserved_tpm; /* from the tenant's latest request */
    /* queue (sched.mu) */
    sched_req *q_head, *q_tail;
    int32_t n_queued, queued_slots; /* requests, and slots they need */
    uint64_t deficit;               /* DRR, tokens */
    int32_t n_running, n_held, n_cached; /* requests, slots held, free slots caching its prefix */
    int32_t last_choices;           /* slots its last finished request held (for the grace) */
    uint64_t last_done_ns, last_seen_ns;
    int32_t demand, share;          /* slots it wants / may hold, from the last water-filling */
    bool share_open;
    /* counters (sched.mu) */
    uint64_t requests, prompt_tokens, cached_tokens, generated_tokens;
    uint32_t win[SCHED_WINDOW_S];   /* tokens served per second, ring keyed by win_sec */
    uint64_t win_sec[SCHED_WINDOW_S];
    bool reserved_now;              /* under its reservation (computed at step start) */
    uint32_t w_step;                /* weight as of this step's start (the engine's copy) */
    /* per-step fairness (engine) */
    uint64_t vt;                    /* virtual time: tokens generated / weight, in SCHED_VT_ONE */
    uint64_t ready_step;            /* last step it had decode-ready sequences */
    uint64_t ready_ns;              /* and when */
    uint64_t mark_step;             /* step whose ready list already counts it */
    int32_t n_ready, n_grant, n_taken;
} sched_tenant;

typedef struct {
    int32_t id;
    sched_req *req;   /* running owner; NULL when free */
    int32_t choice;
    sched_tenant *cache_tenant; /* free slot whose KV [0, n_kv) is kept for this tenant, or NULL */
    int32_t *toks;    /* (n_ctx) tokens: [0, n_kv) are in the KV cache, toks[n_kv] waits to be fed */
    int32_t n_kv;
    uint64_t lru;     /* when it was last freed */
    uint64_t last_decode_step;
} sched_slot;

typedef struct {
    int32_t slot;
    int32_t n_gen;
    sched_finish finish;
    smp_chain *chain;
    tok_stream ts;
    smp_stop stop;
} sched_choice;

struct sched_req {
    sched *s;
    sched_tenant *tenant;
    sched_req *q_next;              /* tenant queue (sched.mu) */
    sched_req *run_next;            /* running list, admission order (engine) */
    sched_req_state state;          /* written under sched.mu by the engine */
    int32_t *prompt;
    int32_t n_prompt, max_tokens, n_choices, n_logprobs, n_stops;
    uint64_t cost;                  /* DRR cost in tokens */
    void (*notify)(void *arg);
    void *notify_arg;
    atomic_bool cancel;
    /* (engine) */
    int32_t n_live;                 /* choices not finished */
    int32_t prefill_k;              /* prompt tokens in this step's batch */
    int32_t cached_admit;           /* prompt tokens its slot already held at admission */
    uint32_t gen_step;              /* tokens sampled this step */
    bool touched;                   /* events pushed this step: notify */
    /* events and usage (mu) */
    pthread_mutex_t mu, notify_mu;
    pthread_cond_t cv;
    sched_event *ring;
    uint32_t ring_cap, ring_max, ring_head, ring_count;
    uint32_t final_read;            /* bit per choice whose final event the owner has read */
    bool ev_lost;                   /* the ring could not grow: the rest is synthesized as ERROR */
    bool owner_gone;                /* sched_req_free was called (set under mu and notify_mu) */
    int refs;                       /* owner + engine */
    sched_usage usage;
    sched_choice ch[];              /* n_choices */
};

typedef struct {
    int32_t src, dst, n;
} sched_copy;

/* One draw of a step: sampled in parallel, then turned into text and events in order. */
typedef struct {
    sched_req *r;
    int32_t choice;
    const float *logits;
    int32_t id;
    smp_logprobs lp;
} sched_draw;

struct sched {
    sched_params p;
    mdl_ctx *ctx;
    int32_t n_vocab;
    uint64_t kv_bytes;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* engine: work arrived, cancel, quit */
    pthread_cond_t idle_cv; /* shutdown: engine went idle */
    bool stopping, quit;
    bool busy;              /* the engine is inside an iteration, outside the lock */
    uint64_t deadline_ns;
    int32_t n_queued, n_running;
    uint32_t n_cancel_pending;
    /* tenants (mu) */
    sched_tenant *tenants;  /* SCHED_TENANTS_MAX */
    int32_t n_tenants, rr;
    /* slots: the table is the engine's; counters under mu */
    sched_slot *slots;
    int32_t slots_used, slots_cached;
    uint64_t lru_clock;
    sched_copy *copies;     /* KV copies decided at admission, run before the forward (engine) */
    int32_t n_copies;
    /* engine */
    sched_req *run_head, *run_tail;
    uint64_t step;
    int32_t *b_tok, *b_pos, *b_seq; /* (n_batch) */
    bool *b_want;
    sched_slot **out_slot;  /* (n_slots) the slot each logits row belongs to */
    sched_slot **ready;     /* (n_slots) decode-ready slots this step */
    sched_tenant **act;     /* (n_slots) tenants with decode-ready slots */
    sched_draw *draws;      /* (n_slots) this step's samples */
    cirrus_pool *pool;      /* samples the draws of a step in parallel (the model's pool is its own) */
    int32_t *open;          /* (SCHED_TENANTS_MAX) scratch of compute_shares (mu) */
    sched_stats st;         /* counters part (mu) */
};

/* req.c */
void sched_req_push(sched_req *r, const sched_event *ev);
void sched_req_release(sched_req *r); /* drops one reference; the last frees */
void sched_req_notify(sched_req *r);
bool sched_req_owner_gone(sched_req *r);

/* queue.c (all under sched.mu) */
sched_tenant *sched_tenant_get(sched *s, const char *name, uint64_t now);
void sched_queue_push(sched *s, sched_req *r);
void sched_queue_remove(sched *s, sched_req *r);
/* The request fair order admits next, dequeued, if it fits in n_free slots; NULL otherwise. */
sched_req *sched_queue_pick(sched *s, uint64_t now, int32_t n_free);
void sched_tenant_serve(sched_tenant *t, uint64_t now, uint32_t tokens);
bool sched_tenant_under_reservation(const sched_tenant *t, uint64_t now);
/* Per-step decode grants (engine): sets n_grant of each of s->act[0..n_act). */
void sched_fair_grants(sched *s, int32_t n_act, uint64_t now);

/* prefix.c */
int32_t sched_slots_free(const sched *s);
/* Takes n_choices slots for r (caller checked sched_slots_free), reusing the tenant's longest
 * cached prefix; returns the prompt tokens reused. Under sched.mu. */
int32_t sched_slots_assign(sched *s, sched_req *r);
/* Gives r's slots back; keep: their KV stays as prefix cache entries of r's tenant. */
void sched_slots_release(sched *s, sched_req *r, bool keep);

#endif
