/*
 * Persistent thread pool.
 *
 * A run is described by one 64-bit atomic word, `work` = gen (16 bits) | n (24 bits) | next (24
 * bits): the run's generation, its task count and the next unclaimed task. Everyone -- the calling
 * thread and the workers -- claims tasks with one fetch_add on that word, so a claim names the run
 * it belongs to and that run's size in the same atomic read.
 *
 * Invariants:
 *  1. Workers are created once in cirrus_pool_new and joined once in cirrus_pool_free.
 *  2. fn, ctx and base are written before the release store that publishes a new `work`, and are
 *     not written again until every task of that run has finished (done == n).
 *  3. A claim with next < n is a task of the run whose gen it carries: the caller cannot return
 *     before that task finishes (it waits for done == n), so fn/ctx read after the claim are that
 *     run's. A claim with next >= n is void and ignored, whatever run it hit.
 *  4. cirrus_pool_run returns when every task has finished, not when every worker has checked in:
 *     a worker that was descheduled (another process took its core) or is still waking up
 *     delays nothing; the tasks it would have taken are done by whoever is running. That matters
 *     on a shared machine, where waiting for an absent worker costs a whole scheduler time slice.
 *  5. next never carries into n: n <= ROUND_MAX, and each thread makes at most one void claim per
 *     run before it stops claiming, so next <= n + n_threads < 2^24.
 *
 * Waiting: workers spin (pause) for up to SPIN_NS after their last task before sleeping on the
 * condition variable -- between the matmuls of one forward pass the gap is microseconds, and a
 * futex wake-up costs more than that; an idle server's workers sleep. The caller wakes sleepers
 * only when there are any (`sleepers`, checked after publishing; Dekker-style with seq_cst, see
 * cirrus_pool_run), so a run on a busy pool makes no system call. The caller, once its claims run
 * out, spins for the stragglers and yields the CPU if that takes long (the straggler may be
 * waiting for this very core).
 */
#include "core.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#define POOL_MAX_THREADS 256
#define SPIN_NS 300000u       /* workers: spin this long after a run before sleeping */
#define WAIT_SPIN_ITERS 4096  /* caller: pauses before it starts yielding while waiting */

#define GEN_SHIFT 48
#define N_SHIFT 24
#define FIELD_MASK ((1ull << 24) - 1)
#define ROUND_MAX (1ll << 23) /* tasks per published run; larger runs go in rounds */

typedef struct cirrus_pool cirrus_pool;
typedef struct {
    cirrus_pool *p;
    int ith;
} worker_arg;

struct cirrus_pool {
    int n_threads;
    worker_arg args[POOL_MAX_THREADS]; /* written before each worker starts */
    pthread_t threads[POOL_MAX_THREADS];

    /* the run (invariant 2); read by every claimant, written only between runs */
    _Alignas(64) cirrus_task_fn fn;
    void *ctx;
    int64_t base; /* task index of this round's first task */

    _Alignas(64) atomic_uint_fast64_t work; /* gen | n | next */
    _Alignas(64) atomic_int_fast64_t done;  /* tasks of the current run finished */
    _Alignas(64) atomic_int sleepers;       /* workers in (or about to enter) cond_wait */
    atomic_bool stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static inline uint64_t w_gen(uint64_t w) { return w >> GEN_SHIFT; }
static inline int64_t w_n(uint64_t w) { return (int64_t)((w >> N_SHIFT) & FIELD_MASK); }
static inline int64_t w_next(uint64_t w) { return (int64_t)(w & FIELD_MASK); }

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Claims and runs tasks until a claim is void. Returns the gen of the last claim. */
static uint64_t run_tasks(cirrus_pool *p, int ith) {
    for (;;) {
        uint64_t w = atomic_fetch_add_explicit(&p->work, 1, memory_order_acquire);
        int64_t i = w_next(w);
        if (i >= w_n(w)) return w_gen(w);
        p->fn(p->ctx, p->base + i, ith);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
    }
}

static void *worker_main(void *arg) {
    worker_arg *wa = arg;
    cirrus_pool *p = wa->p;
    uint64_t seen = 0;
    for (;;) {
        /* spin, then sleep, until a run newer than `seen` is published */
        uint64_t t0 = 0;
        for (unsigned i = 0;; i++) {
            if (w_gen(atomic_load_explicit(&p->work, memory_order_relaxed)) != seen ||
                atomic_load_explicit(&p->stop, memory_order_relaxed))
                break;
            cpu_relax();
            if ((i & 255) == 255) {
                uint64_t now = cirrus_now_ns();
                if (!t0) t0 = now;
                else if (now - t0 > SPIN_NS) {
                    pthread_mutex_lock(&p->mu);
                    atomic_fetch_add(&p->sleepers, 1);
                    while (w_gen(atomic_load(&p->work)) == seen && !atomic_load(&p->stop))
                        pthread_cond_wait(&p->cv, &p->mu);
                    atomic_fetch_sub(&p->sleepers, 1);
                    pthread_mutex_unlock(&p->mu);
                    break;
                }
            }
        }
        if (atomic_load(&p->stop)) return NULL;
        seen = run_tasks(p, wa->ith);
    }
}

cirrus_status cirrus_pool_new(int n_threads, cirrus_pool **out) {
    if (n_threads < 1 || n_threads > POOL_MAX_THREADS) return CIRRUS_ERR_INVALID;
    cirrus_pool *p = cirrus_alloc_aligned(1, sizeof *p); /* 64-byte aligned, zeroed */
    if (!p) return CIRRUS_ERR_NOMEM;
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    atomic_init(&p->work, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->stop, false);
    for (int i = 1; i < n_threads; i++) {
        p->args[i].p = p;
        p->args[i].ith = i;
        if (pthread_create(&p->threads[i], NULL, worker_main, &p->args[i]) != 0) {
            p->n_threads = i; /* join the ones we have */
            cirrus_pool_free(p);
            return CIRRUS_ERR_NOMEM;
        }
    }
    *out = p;
    return CIRRUS_OK;
}

void cirrus_pool_free(cirrus_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    cirrus_free_aligned(p);
}

int cirrus_pool_size(const cirrus_pool *p) { return p ? p->n_threads : 1; }

void cirrus_pool_run(cirrus_pool *p, cirrus_task_fn fn, void *ctx, int64_t n_tasks) {
    if (n_tasks <= 0) return;
    if (!p || p->n_threads == 1 || n_tasks == 1) {
        for (int64_t t = 0; t < n_tasks; t++) fn(ctx, t, 0);
        return;
    }
    for (int64_t base = 0; base < n_tasks; base += ROUND_MAX) {
        const int64_t n = n_tasks - base < ROUND_MAX ? n_tasks - base : ROUND_MAX;
        p->fn = fn;
        p->ctx = ctx;
        p->base = base;
        atomic_store_explicit(&p->done, 0, memory_order_relaxed);
        const uint64_t gen = (w_gen(atomic_load_explicit(&p->work, memory_order_relaxed)) + 1) & 0xFFFF;
        /* seq_cst store, then the sleepers load: a worker going to sleep increments sleepers and
         * then re-reads work (both seq_cst), so either it sees this run or we see it and wake it */
        atomic_store(&p->work, gen << GEN_SHIFT | (uint64_t)n << N_SHIFT);
        if (atomic_load(&p->sleepers) > 0) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
        }
        run_tasks(p, 0);
        for (unsigned i = 0; atomic_load_explicit(&p->done, memory_order_acquire) < n; i++) {
            if (i < WAIT_SPIN_ITERS) cpu_relax();
            else sched_yield();
        }
    }
}
