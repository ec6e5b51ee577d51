/*
 * store — where the control plane's state lives: tenants, API keys, prices, plans, credits, usage
 * records and closed invoices. Every line of SQL in cirrus is behind this header.
 *
 * The interface speaks in records and business operations, never in SQL: each backend is one
 * implementation of store_ops (store_impl.h) and nothing above this header knows which one runs.
 * store_open() picks the backend from the location: "postgres://..." or "postgresql://..." (any
 * libpq URI) is PostgreSQL; anything else is a SQLite file path.
 *
 * SQLite backend (store_sqlite*.c): WAL journal, synchronous=FULL (a commit is on disk when it
 * returns), a busy timeout so the CLI and a running server can share the file, foreign keys on.
 * The file is created on first use.
 *
 * PostgreSQL backend (store_pg*.c): one libpq connection per handle, synchronous_commit on (a
 * commit is durable on the server when it returns), prepared statements, the ledger's group
 * commit as one pipelined round trip of set-based statements. The database must exist (createdb);
 * the schema is created in it on first use. A dropped connection is re-opened on the next call;
 * a commit whose reply was lost is resolved from the server (txid_status) instead of guessed.
 *
 * Both backends apply the same versioned migrations (the same version numbers, each with the same
 * meaning, in their own SQL dialect), recorded in schema_migrations and applied at open under a
 * lock, so concurrent openers of a new store migrate it once. A store newer than this cirrus is
 * refused.
 *
 * Invariants the schema itself enforces, in both backends (defence in depth under the ledger's):
 *   S1. A settled usage record never changes and no usage record is ever deleted (triggers; on
 *       PostgreSQL TRUNCATE is refused too).
 *   S2. A closed invoice never changes and is never deleted (triggers); one per tenant and month.
 *   S3. Every control-plane write (tenants, keys, prices, plans, credits) bumps meta.config_gen in
 *       the same transaction, so a process caching that state can tell cheaply that it is stale.
 *   S4. A store has at most one live owner: the process that recovers and writes ledger records
 *       (store_owner_claim). The claim dies with the process, however it ends.
 *
 * Threads: one store handle is one connection guarded by its own mutex; any thread may call it.
 * Give a thread that must not queue behind others (the ledger's writer) its own handle.
 *
 * Times: usage timings are unix microseconds (UTC); effective dates, creation, expiry and
 * revocation times are unix seconds. Money is int64 micro-units of the one currency.
 */
#ifndef CIRRUS_STORE_H
#define CIRRUS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

#define STORE_NAME_MAX 64      /* tenant names: 1..63 of [A-Za-z0-9_.-] (sched's fairness key fits) */
#define STORE_TEXT_MAX 64      /* industry, region */
#define STORE_META_MAX 2048    /* tenant metadata: a JSON object */
#define STORE_MODEL_MAX 128    /* model ids */
#define STORE_MODELS_MAX 2048  /* a plan's allowed models: JSON array of names; "" = every model */
#define STORE_REQID_MAX 96     /* request ids */
#define STORE_PREFIX_LEN 12    /* visible key prefix (hex) */
#define STORE_HASH_LEN 32      /* keyed BLAKE2b-256 of a key */
#define STORE_MEMO_MAX 128

typedef struct store store;

/* ---- records ------------------------------------------------------------------------------ */

typedef struct {
    int64_t id;
    char name[STORE_NAME_MAX];
    char industry[STORE_TEXT_MAX];
    char region[STORE_TEXT_MAX];
    char metadata[STORE_META_MAX]; /* JSON object, "{}" when none */
    bool suspended;
    int64_t created_at;
} store_tenant;

enum { STORE_SCOPE_INFERENCE = 1, STORE_SCOPE_ADMIN = 2 };

typedef struct {
    int64_t id, tenant_id;
    char prefix[STORE_PREFIX_LEN + 1];
    unsigned char hash[STORE_HASH_LEN];
    int scope;              /* STORE_SCOPE_* */
    int64_t created_at;
    int64_t expires_at;     /* 0: never */
    int64_t revoked_at;     /* 0: live */
} store_key;

/* Prices are per 1,000,000 tokens, in micro-units; a model's price changes by a new row with a
 * later effective_from, never by editing one (a usage record names the row it was rated with). */
typedef struct {
    int64_t id;
    char model[STORE_MODEL_MAX];
    int64_t effective_from;
    int64_t input, cached_input, output;
} store_price;

typedef enum { STORE_PLAN_PAYG = 0, STORE_PLAN_COMMITTED = 1, STORE_PLAN_RESERVED = 2 } store_plan_kind;

/* A plan row is a version: it holds from effective_from until the tenant's next row. Limits and
 * budgets travel with the plan so an invoice can always say what held when. 0 means "none" for
 * every limit and budget. */
typedef struct {
    int64_t id, tenant_id, effective_from;
    store_plan_kind kind;
    int64_t fee;            /* fixed monthly fee (reserved capacity's fee), micro-units */
    int64_t commit_min;     /* committed: monthly minimum spend after discount, micro-units */
    int64_t discount_bp;    /* committed: discount on usage, basis points (0..10000) */
    int64_t reserved_tpm;   /* reserved: tokens/minute held for the tenant by the scheduler */
    int64_t priority;       /* scheduling weight, 1..1000 */
    int64_t rpm, tpm, max_concurrent, max_tokens;
    int64_t budget_hard, budget_soft; /* per calendar month, micro-units of list-price cost */
    char models[STORE_MODELS_MAX];    /* JSON array of allowed model ids; "" = all */
    /* provider protection (docs/protection.md); 0 is the protective default, like every field:
     * no_watermark 1 turns the output watermark off for this tenant; top_logprobs_cap 0 = the
     * default cap (5), -1 = no alternatives at all, N >= 1 = at most N */
    int64_t no_watermark, top_logprobs_cap;
} store_plan;

typedef struct {
    int64_t id, tenant_id;
    char month[8];          /* YYYY-MM */
    int64_t amount;         /* > 0, micro-units taken off that month's invoice */
    char memo[STORE_MEMO_MAX];
    int64_t created_at;
} store_credit;

/* Usage status codes (stored as text). The ledger's ledger_status uses the same numbers. */
enum { STORE_USAGE_OK = 0, STORE_USAGE_LENGTH = 1, STORE_USAGE_CANCELLED = 2, STORE_USAGE_ERROR = 3 };
const char *store_usage_status_str(int status);

typedef struct {
    int64_t id;                        /* assigned by the ledger, unique */
    char request_id[STORE_REQID_MAX];
    int64_t tenant_id, key_id;
    char model[STORE_MODEL_MAX];
    bool settled;
    int status;                        /* STORE_USAGE_*; meaningful once settled */
    int64_t prompt_tokens, cached_tokens, completion_tokens;
    int64_t price_id;
    int64_t cost_input, cost_cached, cost_output, cost; /* cost = sum of the three */
    int64_t reserved;                  /* worst-case cost held at admission */
    int64_t t_admit, t_first, t_end;   /* unix µs; 0: not (yet) */
    bool simulated;                    /* written by a simulation (cirrus demo), not served */
} store_usage;

typedef enum { STORE_UW_OPEN, STORE_UW_PROGRESS, STORE_UW_SETTLE } store_uw_kind;

/* One write of the ledger's group commit. OPEN inserts u as it is (settled or not); PROGRESS
 * updates an open record's token counts and t_first; SETTLE turns an open record into u. */
typedef struct {
    store_uw_kind kind;
    const store_usage *u;
} store_usage_write;

/* Aggregates over usage. Grouping columns not asked for are left zero / empty. */
enum { STORE_BY_TENANT = 1, STORE_BY_MODEL = 2, STORE_BY_PRICE = 4, STORE_BY_DAY = 8 };
typedef struct {
    int64_t tenant_id;
    char model[STORE_MODEL_MAX];
    int64_t price_id;
    int64_t day;                       /* days since 1970-01-01 (UTC) of t_admit */
    int64_t requests, open;            /* open: records not yet settled */
    int64_t prompt_tokens, cached_tokens, completion_tokens;
    int64_t cost_input, cost_cached, cost_output, cost;
    int64_t reserved_open;             /* reserved cost of the open ones */
} store_usage_sum;

typedef struct {
    int64_t id, tenant_id;
    char month[8];
    int64_t total;
    int64_t closed_at;
    char *body;                        /* the invoice as JSON; malloc'ed, caller frees */
} store_invoice;

/* Row callbacks return 0 to go on, anything else to stop the scan early (not an error). They run
 * while the handle is locked: collect what you need and call the store again after the scan. */
typedef int (*store_tenant_cb)(void *ud, const store_tenant *t);
typedef int (*store_key_cb)(void *ud, const store_key *k);
typedef int (*store_price_cb)(void *ud, const store_price *p);
typedef int (*store_plan_cb)(void *ud, const store_plan *p);
typedef int (*store_credit_cb)(void *ud, const store_credit *c);
typedef int (*store_usage_cb)(void *ud, const store_usage *u);
typedef int (*store_sum_cb)(void *ud, const store_usage_sum *s);
typedef int (*store_invoice_cb)(void *ud, const store_invoice *inv); /* body is NULL in lists */

/* ---- opening ------------------------------------------------------------------------------ */

/* Opens (creating if needed, then migrating) the store at location. */
cirrus_status store_open(const char *location, store **out, cirrus_err *err);
/* True when location names a database server (postgres://, postgresql://), not a file. */
bool store_location_is_url(const char *location);
/* A second, independent connection to the same store (for a thread of its own). */
cirrus_status store_reopen(store *s, store **out, cirrus_err *err);
/* Closes the handle; an owner claim made through it ends here. */
void store_close(store *s);
/* The file path (SQLite) or URL the store was opened from, with any password in it masked: safe
 * to print and log. */
const char *store_location(const store *s);
/* "sqlite" or "postgresql". */
const char *store_backend(const store *s);
/* Highest migration applied. */
int store_schema_version(store *s);
/* Called after every successful control-plane write made through this handle (S3), so an
 * in-process cache can refresh at once. */
void store_on_change(store *s, void (*fn)(void *ud), void *ud);

/* ---- ownership (S4) ------------------------------------------------------------------------ */

#define STORE_HOST_MAX 256

typedef struct {
    int64_t pid;                /* 0: unknown */
    char host[STORE_HOST_MAX];
    int64_t since;              /* unix s when it claimed the store; 0: unknown */
    uint64_t claim;             /* random per claim: tells two claims apart (same process, same second) */
} store_owner;

/* Makes this handle the store's one live owner, until it is closed or the process dies (SQLite: an
 * flock on DB.lock, which names the holder; PostgreSQL: a session advisory lock keyed by the
 * store's schema, the holder named in meta). Control-plane reads and writes through other handles
 * are not affected. INVALID when another live process holds it: err names that holder (pid, host,
 * since) and so does *holder (may be NULL). Claiming twice through one handle is OK. */
cirrus_status store_owner_claim(store *s, store_owner *holder, cirrus_err *err);

/* ---- meta: small named values (currency, key-hash check) ----------------------------------- */
cirrus_status store_meta_get(store *s, const char *key, char *buf, size_t cap, cirrus_err *err); /* NOT_FOUND */
cirrus_status store_meta_set(store *s, const char *key, const char *value, cirrus_err *err);
/* Only inserts when absent; *inserted says whether this call wrote it. */
cirrus_status store_meta_init(store *s, const char *key, const char *value, bool *inserted, cirrus_err *err);
cirrus_status store_config_gen(store *s, int64_t *gen, cirrus_err *err);

/* ---- tenants ------------------------------------------------------------------------------ */
cirrus_status store_tenant_insert(store *s, store_tenant *t, cirrus_err *err); /* sets t->id; INVALID if the name is taken */
cirrus_status store_tenant_get(store *s, const char *name, store_tenant *out, cirrus_err *err); /* NOT_FOUND */
cirrus_status store_tenant_get_id(store *s, int64_t id, store_tenant *out, cirrus_err *err);
cirrus_status store_tenant_set_suspended(store *s, int64_t id, bool suspended, cirrus_err *err);
cirrus_status store_tenant_list(store *s, store_tenant_cb cb, void *ud, cirrus_err *err);

/* ---- keys --------------------------------------------------------------------------------- */
cirrus_status store_key_insert(store *s, store_key *k, cirrus_err *err); /* sets k->id */
cirrus_status store_key_revoke(store *s, const char *prefix, int64_t at, cirrus_err *err); /* NOT_FOUND */
/* tenant_id 0: every tenant's. */
cirrus_status store_key_list(store *s, int64_t tenant_id, store_key_cb cb, void *ud, cirrus_err *err);

/* ---- prices ------------------------------------------------------------------------------- */
cirrus_status store_price_insert(store *s, store_price *p, cirrus_err *err); /* INVALID if (model, from) exists */
cirrus_status store_price_list(store *s, store_price_cb cb, void *ud, cirrus_err *err); /* by model, from */

/* ---- plans and credits -------------------------------------------------------------------- */
cirrus_status store_plan_insert(store *s, store_plan *p, cirrus_err *err); /* replaces a row with the same (tenant, from) */
/* tenant_id 0: every tenant's; ordered by tenant, effective_from. */
cirrus_status store_plan_list(store *s, int64_t tenant_id, store_plan_cb cb, void *ud, cirrus_err *err);
cirrus_status store_credit_insert(store *s, store_credit *c, cirrus_err *err);
cirrus_status store_credit_list(store *s, int64_t tenant_id, const char *month, store_credit_cb cb, void *ud,
                                cirrus_err *err);

/* ---- usage (the ledger's table) ----------------------------------------------------------- */
/* Applies the writes in order in one durable transaction. A SETTLE or PROGRESS that finds no open
 * record is skipped and counted in *skipped (S1 keeps it from changing a settled one). */
cirrus_status store_usage_write_batch(store *s, const store_usage_write *w, size_t n, size_t *skipped, cirrus_err *err);
cirrus_status store_usage_max_id(store *s, int64_t *out, cirrus_err *err);
cirrus_status store_usage_list_open(store *s, store_usage_cb cb, void *ud, cirrus_err *err);
/* A tenant's records with t_admit in [from_us, to_us), oldest first. tenant_id 0: everyone's. */
cirrus_status store_usage_list(store *s, int64_t tenant_id, int64_t from_us, int64_t to_us, store_usage_cb cb,
                               void *ud, cirrus_err *err);
cirrus_status store_usage_get(store *s, int64_t id, store_usage *out, cirrus_err *err); /* NOT_FOUND */
/* Sums grouped by the STORE_BY_* bits in `by` (0: one row for everything, even when empty). */
cirrus_status store_usage_sum_by(store *s, int64_t tenant_id, int64_t from_us, int64_t to_us, int by,
                                 store_sum_cb cb, void *ud, cirrus_err *err);

/* ---- invoices ----------------------------------------------------------------------------- */
cirrus_status store_invoice_get(store *s, int64_t tenant_id, const char *month, store_invoice *out,
                                cirrus_err *err); /* NOT_FOUND; free out->body */
/* Inserts a closed invoice unless one exists for (tenant, month); *inserted says which. */
cirrus_status store_invoice_insert(store *s, store_invoice *inv, bool *inserted, cirrus_err *err);
cirrus_status store_invoice_list(store *s, int64_t tenant_id, store_invoice_cb cb, void *ud, cirrus_err *err);

#endif
