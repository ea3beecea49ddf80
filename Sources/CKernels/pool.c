// A persistent thread pool: workers wait for a run by spinning briefly, then on a condition
// variable, so the many short products of a decode step do not pay a thread wake-up each
// when they come close together, and an idle pool uses no CPU.
#include "popcount_kernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define XNOR_PAUSE() _mm_pause()
#else
#define XNOR_PAUSE() ((void)0)
#endif

struct xnor_pool {
    int threads;
    pthread_t *workers;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    // A new run bumps the generation; workers that have seen it take tasks.
    _Atomic unsigned long generation;
    _Atomic size_t next_task;
    _Atomic int busy_workers;
    _Atomic bool stopping;
    size_t tasks;
    void (*task)(void *, size_t);
    void *context;
};

// Spins before sleeping: about the time between two products of one decode step.
enum { SPIN_ROUNDS = 20000 };

static void take_tasks(xnor_pool *pool) {
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&pool->next_task, 1, memory_order_relaxed);
        if (i >= pool->tasks) return;
        pool->task(pool->context, i);
    }
}

static void *worker_main(void *argument) {
    xnor_pool *pool = argument;
    unsigned long seen = 0;
    for (;;) {
        unsigned long now = atomic_load_explicit(&pool->generation, memory_order_acquire);
        for (int spin = 0; now == seen && spin < SPIN_ROUNDS; spin++) {
            XNOR_PAUSE();
            now = atomic_load_explicit(&pool->generation, memory_order_acquire);
        }
        if (now == seen) {
            pthread_mutex_lock(&pool->lock);
            while ((now = atomic_load_explicit(&pool->generation, memory_order_acquire)) == seen &&
                   !atomic_load(&pool->stopping)) {
                pthread_cond_wait(&pool->wake, &pool->lock);
            }
            pthread_mutex_unlock(&pool->lock);
        }
        if (atomic_load(&pool->stopping)) return NULL;
        seen = now;
        take_tasks(pool);
        atomic_fetch_sub_explicit(&pool->busy_workers, 1, memory_order_acq_rel);
    }
}

xnor_pool *xnor_pool_create(int threads) {
    if (threads < 1) threads = 1;
    xnor_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->threads = threads;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pool->workers = calloc((size_t)threads, sizeof(pthread_t));
    if (!pool->workers) {
        free(pool);
        return NULL;
    }
    for (int i = 0; i < threads - 1; i++) {
        if (pthread_create(&pool->workers[i], NULL, worker_main, pool) != 0) {
            pool->threads = i + 1;
            xnor_pool_destroy(pool);
            return NULL;
        }
    }
    return pool;
}

void xnor_pool_destroy(xnor_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->lock);
    atomic_store(&pool->stopping, true);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->threads - 1; i++) pthread_join(pool->workers[i], NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
    free(pool->workers);
    free(pool);
}

int xnor_pool_threads(const xnor_pool *pool) { return pool ? pool->threads : 1; }

void xnor_pool_run(xnor_pool *pool, size_t tasks, void (*task)(void *, size_t), void *context) {
    if (!pool || pool->threads == 1 || tasks <= 1) {
        for (size_t i = 0; i < tasks; i++) task(context, i);
        return;
    }
    pool->tasks = tasks;
    pool->task = task;
    pool->context = context;
    atomic_store_explicit(&pool->next_task, 0, memory_order_relaxed);
    atomic_store_explicit(&pool->busy_workers, pool->threads - 1, memory_order_relaxed);
    pthread_mutex_lock(&pool->lock);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    take_tasks(pool);
    // Every worker has finished its last task of this run before the next run may start.
    while (atomic_load_explicit(&pool->busy_workers, memory_order_acquire) > 0) XNOR_PAUSE();
}
