// The portable path: plain C, the compiler's popcount (no POPCNT instruction assumed).

// Float64 sums one operation at a time, as the Swift reference does: no fused multiply-add.
#pragma STDC FP_CONTRACT OFF
#include "popcount_kernels.h"
#include "paths.h"

#define SUFFIX(name) name##_scalar

static inline int64_t weighted_count(const uint64_t *line, uint64_t mask) {
    int64_t total = 0;
    for (int b = 0; b < 7; b++) total += (int64_t)__builtin_popcountll(line[b] & mask) << b;
    return total - ((int64_t)__builtin_popcountll(line[7] & mask) << 7);
}

static inline int64_t a8_negdot_scalar(const uint64_t *a, const uint64_t *w, size_t first, size_t end) {
    int64_t total = 0;
    for (size_t j = first; j < end; j++) total += weighted_count(a + j * 8, w[j]);
    return total;
}

static inline int64_t a8_ternary_scalar(const uint64_t *a, const uint64_t *nz, const uint64_t *ng, size_t first, size_t end) {
    int64_t total = 0;
    for (size_t j = first; j < end; j++) {
        total += weighted_count(a + j * 8, nz[j] & ~ng[j]);
        total -= weighted_count(a + j * 8, nz[j] & ng[j]);
    }
    return total;
}

static inline int64_t a8_sum_scalar(const uint64_t *a, size_t first, size_t end) {
    int64_t total = 0;
    for (size_t j = first; j < end; j++) total += weighted_count(a + j * 8, ~(uint64_t)0);
    return total;
}

static inline int64_t a1_differing_scalar(const uint64_t *a, const uint64_t *w, size_t first, size_t end, uint64_t tail) {
    int64_t total = 0;
    for (size_t j = first; j + 1 < end; j++) total += __builtin_popcountll(a[j] ^ w[j]);
    if (end > first) total += __builtin_popcountll((a[end - 1] ^ w[end - 1]) & tail);
    return total;
}

static inline int64_t a1_negatives_scalar(const uint64_t *a, size_t first, size_t end) {
    int64_t total = 0;
    for (size_t j = first; j < end; j++) total += __builtin_popcountll(a[j]);
    return total;
}

#include "product_template.h"
