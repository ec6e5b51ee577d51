/*
 * ledger — one usage record per admitted request, written durably by a group-commit thread.
 *
 * INVARIANTS
 *   L1. Every admitted request produces exactly one usage record: ledger_open() gives it a record
 *       id no other request has (ids are handed out in memory from max(id) at start), and the
 *       record reaches the store as one row, inserted once.
 *   L2. No record exists for a request that was never admitted: rows are only written for
 *       records that ledger_open() created.
 *   L3. A settled record never changes: the writer only touches rows with state = 0, and the
 *       store refuses updates of settled rows (store S1). ledger_settle() takes the record from
 *       its caller: calling anything on it afterwards is a bug.
 *   L4. Writes reach the store in the order they were made (one queue, one writer), so a record's
 *       settlement is never overtaken by its own open or progress.
 *   L5. After a crash, ledger_new() settles every record still open with its last durable
 *       progress and status cancelled, before any new record is admitted; a restarted ledger has
 *       no open record it did not open itself.
 *   L6. A settle is durable (fsync'd) once ledger_is_durable(ticket) is true or ledger_sync()
 *       returned OK; a ticket becomes durable only after every earlier ticket did.
 *   L7. One ledger per store at a time: ledger_new() first makes its store handle the store's
 *       owner (store_owner_claim, S4), so no other process recovers this one's open records or
 *       hands out its ids. A second ledger on an owned store fails with the holder named; the
 *       claim ends with ledger_free() or the process.
 *
 * A RECORD'S STATES
 *   admitted   ledger_open(): id assigned, OPEN queued (nothing on disk yet)
 *   open       row with state 0 on disk; ledger_progress() updates its token counts in later commits
 *   settling   ledger_settle(): final counts and cost queued; the caller's handle is gone
 *   settled    row with state 1 on disk, frozen (L3)
 *   A record opened and settled within one group commit goes to disk once, settled.
 *
 * WHAT WAS SENT, DURABLY. The server calls ledger_progress() with the tokens it has handed to the
 * client's connection; each group commit writes the latest counts of every record that moved. On
 * restart an open record is settled from those counts (L5), so a crash bills at most what had been
 * sent, and under-bills by at most the tokens streamed since the last commit (one commit interval,
 * milliseconds). A request the client saw complete is exact if the server waits for the settle's
 * ticket (ledger_sync, or on_commit) before it sends the final chunk: the cost of one commit at
 * the end of each request, not one per token.
 *
 * THREADS. ledger_open/progress/settle take a short mutex and never wait on disk. One writer
 * thread drains the queue: all writes queued while the previous commit was fsyncing go into the
 * next transaction (group commit: one fsync for thousands of records). If a commit fails (disk
 * full), the writer keeps the batch and retries; ledger_open() refuses new records (FULL) once
 * LEDGER_MAX_PENDING writes are waiting, so memory stays bounded and the API answers 503.
 */
#ifndef CIRRUS_LEDGER_H
#define CIRRUS_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "store/store.h"

#define LEDGER_MAX_PENDING (1u << 20)

typedef enum {
    LEDGER_OK = STORE_USAGE_OK,             /* finished: stop sequence, EOS */
    LEDGER_LENGTH = STORE_USAGE_LENGTH,     /* finished at max_tokens */
    LEDGER_CANCELLED = STORE_USAGE_CANCELLED, /* client left, shutdown, or recovered after a crash */
    LEDGER_ERROR = STORE_USAGE_ERROR,       /* failed after admission (engine error, queue full) */
} ledger_status;

typedef struct {
    int64_t prompt, cached, completion; /* cached is part of prompt */
} ledger_tokens;

typedef struct {
    int64_t input, cached, output, total; /* micro-units; total = input + cached + output */
} ledger_cost;

/* Prices tokens under a price version: used for records settled by recovery (L5). */
typedef cirrus_status (*ledger_rate_fn)(void *ud, int64_t price_id, const ledger_tokens *t, ledger_cost *out);

typedef struct {
    ledger_rate_fn rate;                  /* required */
    void *rate_ud;
    int64_t (*now_us)(void *ud);          /* wall clock, unix µs; NULL: the system's */
    void *clock_ud;
    /* Called on the writer thread after each commit with the highest durable ticket. Keep it
     * short: wake connections, do not write to the ledger. */
    void (*on_commit)(void *ud, uint64_t durable);
    void *commit_ud;
    size_t max_batch;                     /* writes per transaction; 0: 8192 (bounds a commit to ~30 ms) */
} ledger_config;

typedef struct {
    int64_t recovered;                    /* open records settled at start (L5) */
    int64_t recovered_completion_tokens;  /* their billed completion tokens */
    int64_t recovered_cost;
} ledger_recovery;

typedef struct {
    uint64_t opened, settled, progress_writes;
    uint64_t commits, rows_written, max_batch, pending;
    uint64_t commit_failures, skipped;    /* skipped: writes that found no open row (should stay 0) */
    double commit_ms_total;               /* wall time inside commits (fsync included) */
    double commit_cpu_ms_total;           /* the writer thread's CPU time inside commits */
} ledger_stats;

typedef struct ledger ledger;
typedef struct ledger_rec ledger_rec;

typedef struct {
    const char *request_id;               /* <= 95 bytes; the API's id ("chatcmpl-...") */
    int64_t tenant_id, key_id;
    const char *model;
    int64_t price_id;
    int64_t prompt_tokens;                /* as admitted */
    int64_t reserved;                     /* worst-case cost held against the budget */
    int64_t t_admit;                      /* unix µs; 0: now. Past times are for simulations. */
    bool simulated;                       /* marks records a simulation wrote (cirrus demo) */
} ledger_open_args;

/* Takes ownership of `own` (a store handle for the writer alone), claims the store (L7), recovers
 * (L5), starts the writer. INVALID naming the holder when another live process owns the store. */
cirrus_status ledger_new(store *own, const ledger_config *cfg, ledger **out, ledger_recovery *rec, cirrus_err *err);
/* Writes everything queued, stops the writer, closes the store. Records never settled stay open on
 * disk with their last progress and are recovered by the next ledger_new (as after a crash). */
void ledger_free(ledger *l);

cirrus_status ledger_open(ledger *l, const ledger_open_args *a, ledger_rec **out, cirrus_err *err);
int64_t ledger_rec_id(const ledger_rec *r);
/* Tokens handed to the client so far. Cheap: repeated calls between two commits write once. */
void ledger_progress(ledger *l, ledger_rec *r, const ledger_tokens *t);
/* Final counts, cost and status; r is the ledger's from here on (L3). Returns the ticket. */
uint64_t ledger_settle(ledger *l, ledger_rec *r, const ledger_tokens *t, const ledger_cost *c, ledger_status st);

bool ledger_is_durable(ledger *l, uint64_t ticket);
/* Waits until ticket is durable; timeout_ms < 0 waits for ever. FULL on timeout; IO if the writer
 * gave up on a commit at shutdown (the disk refused it for ~10 s). */
cirrus_status ledger_sync(ledger *l, uint64_t ticket, int timeout_ms);
/* Waits until everything queued so far is durable. */
cirrus_status ledger_flush(ledger *l, int timeout_ms);
void ledger_get_stats(ledger *l, ledger_stats *out);

#endif
