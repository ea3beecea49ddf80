// Chooses a path at run time from what the CPU and OS support: one binary runs on the AMD
// EPYC and the Intel Xeon this project has seen, and on an x86-64 without AVX. On aarch64
// NEON is part of the base architecture, so it needs no detection.
#include "popcount_kernels.h"
#include "paths.h"

static bool detect(xnor_isa isa) {
    switch (isa) {
    case XNOR_ISA_SCALAR:
        return true;
#if defined(__x86_64__)
    case XNOR_ISA_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
    case XNOR_ISA_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("popcnt");
    case XNOR_ISA_AVX512_VNNI:
        __builtin_cpu_init();
        return detect(XNOR_ISA_AVX512) && __builtin_cpu_supports("avx512vnni");
#elif defined(__aarch64__)
    case XNOR_ISA_NEON:
        return true;
#endif
    default:
        return false;
    }
}

// Detected once; a race between two first calls stores the same values.
static _Atomic int detected = -1;

bool xnor_isa_supported(xnor_isa isa) {
    int bits = detected;
    if (bits < 0) {
        bits = 1 << XNOR_ISA_SCALAR;
        if (detect(XNOR_ISA_AVX2)) bits |= 1 << XNOR_ISA_AVX2;
        if (detect(XNOR_ISA_AVX512)) bits |= 1 << XNOR_ISA_AVX512;
        if (detect(XNOR_ISA_NEON)) bits |= 1 << XNOR_ISA_NEON;
        if (detect(XNOR_ISA_AVX512_VNNI)) bits |= 1 << XNOR_ISA_AVX512_VNNI;
        detected = bits;
    }
    return isa >= XNOR_ISA_SCALAR && isa <= XNOR_ISA_AVX512_VNNI && (bits >> isa) & 1;
}

bool xnor_isa_includes(xnor_isa isa, xnor_isa base) {
    switch (base) {
    case XNOR_ISA_SCALAR:
        return true;
    case XNOR_ISA_AVX2:
        return isa == XNOR_ISA_AVX2 || isa == XNOR_ISA_AVX512 || isa == XNOR_ISA_AVX512_VNNI;
    case XNOR_ISA_AVX512:
        return isa == XNOR_ISA_AVX512 || isa == XNOR_ISA_AVX512_VNNI;
    default:
        return isa == base;
    }
}

xnor_isa xnor_isa_best(void) {
    if (xnor_isa_supported(XNOR_ISA_AVX512_VNNI)) return XNOR_ISA_AVX512_VNNI;
    if (xnor_isa_supported(XNOR_ISA_AVX512)) return XNOR_ISA_AVX512;
    if (xnor_isa_supported(XNOR_ISA_AVX2)) return XNOR_ISA_AVX2;
    if (xnor_isa_supported(XNOR_ISA_NEON)) return XNOR_ISA_NEON;
    return XNOR_ISA_SCALAR;
}

// An unsupported path falls back to the scalar one, so a wrong request never faults.
#if defined(__x86_64__)
#define XNOR_DISPATCH(name, ...)                                                         \
    do {                                                                                 \
        if (isa == XNOR_ISA_AVX512_VNNI && xnor_isa_supported(XNOR_ISA_AVX512_VNNI)) {   \
            name##_avx512vnni(__VA_ARGS__);                                              \
        } else if (xnor_isa_includes(isa, XNOR_ISA_AVX512) && xnor_isa_supported(XNOR_ISA_AVX512)) { \
            name##_avx512(__VA_ARGS__);                                                  \
        } else if (isa == XNOR_ISA_AVX2 && xnor_isa_supported(XNOR_ISA_AVX2)) {          \
            name##_avx2(__VA_ARGS__);                                                    \
        } else {                                                                         \
            name##_scalar(__VA_ARGS__);                                                  \
        }                                                                                \
    } while (0)
#elif defined(__aarch64__)
#define XNOR_DISPATCH(name, ...)                                                         \
    do {                                                                                 \
        if (isa == XNOR_ISA_NEON && xnor_isa_supported(XNOR_ISA_NEON)) {                 \
            name##_neon(__VA_ARGS__);                                                    \
        } else {                                                                         \
            name##_scalar(__VA_ARGS__);                                                  \
        }                                                                                \
    } while (0)
#else
#define XNOR_DISPATCH(name, ...) name##_scalar(__VA_ARGS__)
#endif

void xnor_group_sums(xnor_isa isa, const xnor_grouped_product *product, int64_t *sums) {
    XNOR_DISPATCH(xnor_group_sums, product, sums);
}

void xnor_grouped_integers(xnor_isa isa, const xnor_grouped_product *product, size_t n0, size_t n1, int64_t *parts) {
    XNOR_DISPATCH(xnor_grouped_integers, product, n0, n1, parts);
}

void xnor_grouped_accumulate(xnor_isa isa, const xnor_grouped_product *product, size_t n0, size_t n1, double *acc) {
    XNOR_DISPATCH(xnor_grouped_accumulate, product, n0, n1, acc);
}

// The columns of one product in one range per thread, with no Swift closure per product (a
// decode step runs hundreds of products). Thread t always takes range t, so its caches keep
// the same columns' weights from one step to the next.
typedef struct {
    xnor_isa isa;
    const xnor_grouped_product *product;
    size_t ranges;
    double *acc;
} accumulate_job;

static void accumulate_range(void *context, size_t index) {
    const accumulate_job *job = context;
    const size_t n = job->product->n, tiles = (n + XNOR_TILE_COLUMNS - 1) / XNOR_TILE_COLUMNS;
    const size_t n0 = index * tiles / job->ranges * XNOR_TILE_COLUMNS, end = (index + 1) * tiles / job->ranges * XNOR_TILE_COLUMNS;
    if (n0 < n) xnor_grouped_accumulate(job->isa, job->product, n0, end < n ? end : n, job->acc);
}

void xnor_grouped_accumulate_pooled(xnor_pool *pool, xnor_isa isa, const xnor_grouped_product *product, double *acc) {
    if (product->n == 0) return;
    accumulate_job job = {isa, product, (size_t)xnor_pool_threads(pool), acc};
    xnor_pool_run(pool, job.ranges, accumulate_range, &job);
}

// xnor_grouped_integers in ranges of `width` columns handed to the pool; range r writes its
// [M, width_r, per] block at parts + M · per · r · width.
typedef struct {
    xnor_isa isa;
    const xnor_grouped_product *product;
    size_t width, per;
    int64_t *parts;
} integers_job;

static void integers_range(void *context, size_t index) {
    const integers_job *job = context;
    const size_t n0 = index * job->width, n1 = n0 + job->width < job->product->n ? n0 + job->width : job->product->n;
    xnor_grouped_integers(job->isa, job->product, n0, n1, job->parts + job->product->rows * job->per * n0);
}

void xnor_grouped_integers_pooled(xnor_pool *pool, xnor_isa isa, const xnor_grouped_product *product, size_t width, size_t per,
                                  int64_t *parts) {
    if (width == 0) width = product->n;
    if (width == 0) return;
    integers_job job = {isa, product, width, per, parts};
    xnor_pool_run(pool, (product->n + width - 1) / width, integers_range, &job);
}
