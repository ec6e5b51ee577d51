/* Shared between tenancy's files; not part of the public interface. */
#ifndef CIRRUS_TENANCY_INTERNAL_H
#define CIRRUS_TENANCY_INTERNAL_H

#include <pthread.h>

#include "billing/billing.h"
#include "tenancy/tenancy.h"

/* tenancy_keys.c */
bool tn_key_split(const char *key, size_t len, char prefix[STORE_PREFIX_LEN + 1]);
void tn_key_hash(const unsigned char pepper[32], const char *key, size_t len, unsigned char out[STORE_HASH_LEN]);

/* tenancy_admin.c: the plan's model list, parsed ("" or [] = every model) */
cirrus_status tn_models_parse(const char *json, char ***out, int *n, cirrus_err *err);

/*
 * Live counters of one tenant. They outlive snapshots (a refresh swaps configuration, not
 * counters) and are only touched under mu. See T1 in tenancy.h.
 */
typedef struct tn_state {
    int64_t tenant_id;
    pthread_mutex_t mu;
    int64_t tat_req, tat_tok;     /* GCRA theoretical arrival times, unix ns (0: idle) */
    int64_t inflight;
    int64_t period_from;          /* unix s: the month the budget counters are for */
    int64_t spent, reserved;      /* micro-units: settled cost of the period; worst cases held */
    bool soft_alerted;
    struct tn_state *next;        /* all states, for freeing */
} tn_state;

typedef struct {
    store_plan p;
    char **models;                /* allowed models (NULL, n 0: all) */
    int n_models;
} tn_plan;

typedef struct {
    int64_t id;
    char name[STORE_NAME_MAX];
    bool suspended;
    tn_plan *plans;               /* by effective_from; may be empty (default plan) */
    size_t n_plans;
    tn_state *state;
} tn_tenant;

typedef struct {
    store_key k;
    size_t tenant;                /* index into tn_snap.tenants */
} tn_key;

/* An immutable view of the configuration; replaced whole by a refresh (T3, T4). */
typedef struct {
    int64_t gen;                  /* store config_gen it was read at */
    tn_tenant *tenants;
    size_t n_tenants;
    tn_key *keys;
    size_t n_keys;
    uint32_t *slots;              /* open addressing on the prefix: key index + 1, 0 = empty */
    size_t n_slots;               /* power of two */
    billing_prices *prices;
} tn_snap;

/* The running control plane (tenancy_life.c opens and closes it, tenancy_admit.c uses it). */
struct tenancy {
    tenancy_config cfg;
    store *admin;                 /* control-plane connection: snapshot loads, admin writes */
    ledger *led;
    unsigned char pepper[32];
    unsigned char dummy_hash[STORE_HASH_LEN]; /* compared against when a prefix is unknown */
    pthread_rwlock_t snap_lock;
    tn_snap *snap;
    pthread_mutex_t refresh_mu;   /* one refresh at a time */
    tn_state *states;             /* every tenant's counters; freed at close */
    pthread_mutex_t states_mu;
    pthread_t poller;
    bool poller_running, stop;
    pthread_mutex_t poll_mu;
    pthread_cond_t poll_cv;
};

/* tenancy_snap.c */
cirrus_status tn_snap_load(store *s, tn_state **states, pthread_mutex_t *states_mu, tn_snap **out, cirrus_err *err);
void tn_snap_free(tn_snap *sn);
const tn_key *tn_snap_find_key(const tn_snap *sn, const char prefix[STORE_PREFIX_LEN + 1]);
const tn_tenant *tn_snap_find_tenant(const tn_snap *sn, const char *name);
const tn_plan *tn_plan_at(const tn_tenant *t, int64_t at_s);
const tn_plan *tn_default_plan(void);

#endif
