/*
 * demo — the market `cirrus demo` plays: tenants shaped like a model provider's customers, their
 * plans and keys, model prices, and six past months of usage written through the real rating code
 * and ledger (every such record marked simulated).
 *
 * The shape follows the story the revenue reports are for: a short-video platform near a quarter
 * of revenue, a retailer using recommendations, a tax/finance software company advising from its
 * customers' data, a regional AI partner reselling capacity, a coding-assistant product whose
 * usage falls sharply in the last month (the sign of a customer moving to its own models), and a
 * long tail of small tenants on mixed plans.
 *
 * demo is business-half wiring (tenancy, billing, ledger); the engine never includes it.
 */
#ifndef CIRRUS_DEMO_H
#define CIRRUS_DEMO_H

#include <stdbool.h>
#include <stdint.h>

#include "core/core.h"

#define DEMO_MAX_LIVE 8
#define DEMO_KEY_MAX 96

typedef struct {
    char tenant[64];
    char key[DEMO_KEY_MAX];   /* inference key */
    int concurrency;          /* live streams loadgen plays for it */
} demo_live_tenant;

typedef struct {
    char admin_key[DEMO_KEY_MAX];      /* console sign-in */
    demo_live_tenant live[DEMO_MAX_LIVE];
    int n_live;
    int n_tenants;
    int64_t first_month_from;          /* unix s: start of the first simulated month */
    int64_t sim_records;               /* simulated usage records written (0 when already seeded) */
    int64_t sim_revenue;               /* micro-units */
    bool already_seeded;
} demo_seed_result;

/* The model name live traffic asks for; its price is part of the seed. */
#define DEMO_LIVE_MODEL "cirrus-mini"

/*
 * Seeds the database at db_path for a demo run at now_s (unix seconds): on a fresh database,
 * prices, tenants, plans, keys and six past calendar months of simulated usage; on one already
 * seeded, nothing. Keys are shown once, so they are kept in keys_path (mode 0600, JSON) and read
 * back from there on later runs.
 */
cirrus_status demo_seed(const char *db_path, const char *keys_path, int64_t now_s, demo_seed_result *out,
                        cirrus_err *err);

#endif
