/*
 * Persistent thread pool.
 *
 * Invariants:
 *  1. Workers are created once in cirrus_pool_new and joined once in cirrus_pool_free.
 *  2. A run is published by bumping `gen` after fn/ctx/n_tasks are stored; a worker that sees a
 *     new gen claims tasks from `next` until it passes n_tasks, then increments `done_workers`.
 *  3. cirrus_pool_run returns only after every worker has finished the run (done_workers ==
 *     n_threads - 1), so fn/ctx may live on the caller's stack.
 *  Workers spin for a short while before sleeping on the condition variable: between the matmuls
 *  of one forward pass the gap is microseconds, and a futex wake-up costs more than that.
 */
#include "core.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#define POOL_MAX_THREADS 256
#define POOL_SPIN_ITERS 20000

typedef struct cirrus_pool cirrus_pool;
typedef struct {
    cirrus_pool *p;
    int ith;
} worker_arg;

struct cirrus_pool {
    int n_threads;
    worker_arg args[POOL_MAX_THREADS]; /* written before each worker starts */
    pthread_t threads[POOL_MAX_THREADS];

    pthread_mutex_t mu;
    pthread_cond_t cv;

    cirrus_task_fn fn;
    void *ctx;
    int64_t n_tasks;

    atomic_uint_fast64_t gen;
    atomic_int_fast64_t next;
    atomic_int done_workers;
    atomic_bool stop;
};


static void run_tasks(cirrus_pool *p, int ith) {
    for (;;) {
        int64_t t = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (t >= p->n_tasks) break;
        p->fn(p->ctx, t, ith);
    }
}

static void *worker_main(void *arg) {
    worker_arg *wa = arg;
    cirrus_pool *p = wa->p;
    uint64_t seen = 0;
    for (;;) {
        uint64_t g = 0;
        for (int i = 0; i < POOL_SPIN_ITERS; i++) {
            g = atomic_load_explicit(&p->gen, memory_order_acquire);
            if (g != seen || atomic_load(&p->stop)) break;
            __builtin_ia32_pause();
        }
        if (g == seen && !atomic_load(&p->stop)) {
            pthread_mutex_lock(&p->mu);
            while ((g = atomic_load(&p->gen)) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) return NULL;
        seen = g;
        run_tasks(p, wa->ith);
        atomic_fetch_add_explicit(&p->done_workers, 1, memory_order_release);
    }
}

cirrus_status cirrus_pool_new(int n_threads, cirrus_pool **out) {
    if (n_threads < 1 || n_threads > POOL_MAX_THREADS) return CIRRUS_ERR_INVALID;
    cirrus_pool *p = calloc(1, sizeof *p);
    if (!p) return CIRRUS_ERR_NOMEM;
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->next, 0);
    atomic_init(&p->done_workers, 0);
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
    free(p);
}

int cirrus_pool_size(const cirrus_pool *p) { return p ? p->n_threads : 1; }

void cirrus_pool_run(cirrus_pool *p, cirrus_task_fn fn, void *ctx, int64_t n_tasks) {
    if (n_tasks <= 0) return;
    if (!p || p->n_threads == 1 || n_tasks == 1) {
        for (int64_t t = 0; t < n_tasks; t++) fn(ctx, t, 0);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->done_workers, 0, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    run_tasks(p, 0);
    while (atomic_load_explicit(&p->done_workers, memory_order_acquire) < p->n_threads - 1)
        __builtin_ia32_pause();
}
