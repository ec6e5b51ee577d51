/*
 * Which models a tenant may be shown: the listing side of the check tenancy_admit makes (its
 * plan's model list, and a price to sell it at), for GET /v1/models -- a tenant sees only what
 * its plan lets it call (#18, fault 10). Reads the snapshot; no SQL, no disk (T4).
 */
#include <string.h>

#include "tenancy/tenancy_internal.h"

bool tenancy_model_listed(tenancy *t, const char *tenant, const char *model) {
    int64_t now_s = t->cfg.now_us(t->cfg.clock_ud) / 1000000;
    bool ok = false;
    pthread_rwlock_rdlock(&t->snap_lock);
    const tn_tenant *tt = tn_snap_find_tenant(t->snap, tenant);
    const tn_plan *p = tt ? tn_plan_at(tt, now_s) : NULL;
    if (p && p->n_models >= 0) {
        ok = p->n_models == 0;
        for (int i = 0; i < p->n_models && !ok; i++) ok = !strcmp(p->models[i], model);
    }
    if (ok) ok = billing_price_at(t->snap->prices, model, now_s) != NULL; /* unpriced: not for sale */
    pthread_rwlock_unlock(&t->snap_lock);
    return ok;
}
