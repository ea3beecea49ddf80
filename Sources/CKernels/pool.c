// A persistent thread pool: workers wait for a run by spinning up to 2 ms, then on a condition
// variable, so the many short products of a decode step do not pay a thread wake-up each,
// and an idle pool uses no CPU.
#include "popcount_kernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <time.h>

// A compiler barrier, not PAUSE: under a hypervisor, a PAUSE loop can make the host take the
// vCPU away (pause-loop exiting), and the worker then answers a new product hundreds of
// microseconds late (measured: a 4096 × 4096 product did not get faster with 2 threads).
#define XNOR_RELAX() __asm__ volatile("" ::: "memory")

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

struct xnor_pool {
    int threads;
    pthread_t *workers;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    // A new run bumps the generation; workers that have seen it take tasks.
    _Atomic unsigned long generation;
    // Workers started so far; each takes the next index (the caller is 0).
    _Atomic int started;
    _Atomic int busy_workers;
    _Atomic bool stopping;
    size_t tasks;
    void (*task)(void *, size_t);
    void *context;
};

// Spins this long before sleeping: longer than the gaps between the products of one decode
// step (norms, attention, sampling), so a decoding session's workers rarely sleep.
enum { SPIN_NS = 2000000 };

// Thread `index` takes tasks index, index + threads, …: the same columns every run, so each
// thread's caches keep the weights it read last time (with tasks taken first come, first
// served, a 4096 × 4096 product did not get faster on 2 threads: the columns moved between
// the cores' caches from run to run).
static void take_tasks(xnor_pool *pool, int index) {
    for (size_t i = (size_t)index; i < pool->tasks; i += (size_t)pool->threads) pool->task(pool->context, i);
}

static void *worker_main(void *argument) {
    xnor_pool *pool = argument;
    const int index = atomic_fetch_add(&pool->started, 1) + 1;
    unsigned long seen = 0;
    for (;;) {
        unsigned long now = atomic_load_explicit(&pool->generation, memory_order_acquire);
        const uint64_t until = now == seen ? now_ns() + SPIN_NS : 0;
        // A pool being destroyed stops the spin at once, so its owner does not wait 2 ms.
        for (unsigned spin = 1; now == seen && !atomic_load_explicit(&pool->stopping, memory_order_relaxed); spin++) {
            XNOR_RELAX();
            now = atomic_load_explicit(&pool->generation, memory_order_acquire);
            if (spin % 1024 == 0 && now_ns() > until) break;
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
        take_tasks(pool, index);
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
    atomic_store_explicit(&pool->busy_workers, pool->threads - 1, memory_order_relaxed);
    pthread_mutex_lock(&pool->lock);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    take_tasks(pool, 0);
    // Every worker has finished its last task of this run before the next run may start.
    while (atomic_load_explicit(&pool->busy_workers, memory_order_acquire) > 0) XNOR_RELAX();
}
