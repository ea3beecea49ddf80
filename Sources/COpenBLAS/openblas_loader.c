// OpenBLAS is opened with dlopen at first use instead of being linked, because two of its
// start-up decisions are made in its library constructor, from the environment, before main:
//
// - Its kernels. Debian's build (DYNAMIC_ARCH) picks them from the CPU model, and 0.3.21 does
//   not know recent ones: on an Emerald Rapids Xeon it falls back to "Prescott" (SSE3). The
//   loader names a core from the instructions the CPU has (OPENBLAS_CORETYPE), unless the user
//   did. Measured on that Xeon, 700M-shape w1a1, pp128 on 1 thread: 159 → 199 tokens/s.
// - Its threads. The runtime splits work over its own pool and calls OpenBLAS from it, so
//   OpenBLAS runs single-threaded (OPENBLAS_NUM_THREADS=1) unless the user set a count: its own
//   workers spin on sched_yield after every call and took the core the pool's worker needed
//   (the same prompt on 2 threads: 149 → 164 tokens/s).
//
// If the library cannot be opened, the products run as plain loops: slow, but correct.
#define _GNU_SOURCE
#include "COpenBLAS.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The CBLAS ABI's enumerators (cblas.h), fixed by the standard.
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112, UPPER = 121 };

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef void (*ssyrk_fn)(int, int, int, int, int, float, const float *, int, float, float *, int);
typedef char *(*string_fn)(void);
typedef int (*int_fn)(void);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static sgemm_fn sgemm;
static ssyrk_fn ssyrk;
static char description[256];

// The OpenBLAS core whose kernels use the widest vectors this CPU runs; NULL to let OpenBLAS decide.
static const char *core_for_this_cpu(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return NULL;
}

static void load(void) {
    // Set only for the constructor's sake, and taken back after, so child processes see the
    // environment the user gave.
    const bool set_core = getenv("OPENBLAS_CORETYPE") == NULL && core_for_this_cpu() != NULL;
    const bool set_threads = getenv("OPENBLAS_NUM_THREADS") == NULL && getenv("GOTO_NUM_THREADS") == NULL &&
                             getenv("OMP_NUM_THREADS") == NULL;
    if (set_core) setenv("OPENBLAS_CORETYPE", core_for_this_cpu(), 0);
    if (set_threads) setenv("OPENBLAS_NUM_THREADS", "1", 0);
    void *library = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!library) library = dlopen("libopenblas.so", RTLD_NOW | RTLD_LOCAL);
    if (set_core) unsetenv("OPENBLAS_CORETYPE");
    if (set_threads) unsetenv("OPENBLAS_NUM_THREADS");
    if (!library) {
        snprintf(description, sizeof description, "plain loops (OpenBLAS could not be opened: %s)", dlerror());
        return;
    }
    sgemm_fn g = (sgemm_fn)dlsym(library, "cblas_sgemm");
    ssyrk_fn s = (ssyrk_fn)dlsym(library, "cblas_ssyrk");
    if (!g || !s) {
        snprintf(description, sizeof description, "plain loops (OpenBLAS lacks cblas_sgemm or cblas_ssyrk)");
        return;
    }
    sgemm = g;
    ssyrk = s;
    string_fn config = (string_fn)dlsym(library, "openblas_get_config");
    string_fn core = (string_fn)dlsym(library, "openblas_get_corename");
    int_fn threads = (int_fn)dlsym(library, "openblas_get_num_threads");
    snprintf(description, sizeof description, "%s (core %s, %d thread%s)", config ? config() : "OpenBLAS",
             core ? core() : "?", threads ? threads() : 0, threads && threads() == 1 ? "" : "s");
}

bool xnor_blas_load(void) {
    pthread_once(&once, load);
    return sgemm != NULL;
}

const char *xnor_blas_description(void) {
    xnor_blas_load();
    return description;
}

void xnor_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                const float *b, int ldb, float beta, float *c, int ldc) {
    if (xnor_blas_load()) {
        sgemm(ROW_MAJOR, trans_a ? TRANS : NO_TRANS, trans_b ? TRANS : NO_TRANS, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    } else {
        xnor_sgemm_plain(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
}

// One entry of both plain products: *out = alpha · Σ x[p·xs] · y[p·ys] + beta · *out, the
// beta term left out when beta is 0 (BLAS does not read C then).
static void plain_entry(const float *x, size_t xs, const float *y, size_t ys, int k, float alpha, float beta, float *out) {
    float sum = 0;
    for (int p = 0; p < k; p++) sum += x[(size_t)p * xs] * y[(size_t)p * ys];
    *out = alpha * sum + (beta == 0 ? 0 : beta * *out);
}

void xnor_sgemm_plain(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                      const float *b, int ldb, float beta, float *c, int ldc) {
    // Row i of op(A) and column j of op(B), each as a start and a step.
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            plain_entry(trans_a ? a + i : a + (size_t)i * lda, trans_a ? (size_t)lda : 1, trans_b ? b + (size_t)j * ldb : b + j,
                        trans_b ? 1 : (size_t)ldb, k, alpha, beta, &c[(size_t)i * ldc + j]);
        }
    }
}

void xnor_ssyrk_upper(bool trans, int n, int k, float alpha, const float *a, int lda, float beta, float *c, int ldc) {
    if (xnor_blas_load()) {
        ssyrk(ROW_MAJOR, UPPER, trans ? TRANS : NO_TRANS, n, k, alpha, a, lda, beta, c, ldc);
    } else {
        xnor_ssyrk_upper_plain(trans, n, k, alpha, a, lda, beta, c, ldc);
    }
}

void xnor_ssyrk_upper_plain(bool trans, int n, int k, float alpha, const float *a, int lda, float beta, float *c, int ldc) {
    // Vector i is row i of A [n, k], or (trans) column i of A [k, n].
    const size_t step = trans ? (size_t)lda : 1;
    for (int i = 0; i < n; i++) {
        for (int j = i; j < n; j++) {
            plain_entry(trans ? a + i : a + (size_t)i * lda, step, trans ? a + j : a + (size_t)j * lda, step, k, alpha, beta,
                        &c[(size_t)i * ldc + j]);
        }
    }
}
