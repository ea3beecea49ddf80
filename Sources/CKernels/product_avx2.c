// AVX2: a8 by a nibble-table popcount of the 64-byte activation line (two registers, four
// planes each), summed per plane by SAD; a1 by POPCNT.

// Float64 sums one operation at a time, as the Swift reference does: no fused multiply-add.
#pragma STDC FP_CONTRACT OFF
#include "popcount_kernels.h"
#include "paths.h"

#if defined(__x86_64__)
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx2,popcnt"))), apply_to = function)

#define SUFFIX(name) name##_avx2

// Per 64-bit lane, the popcount of (line AND mask): lanes are planes 0–3 (lo) and 4–7 (hi).
static inline void plane_counts(const uint64_t *line, __m256i mask, __m256i *lo, __m256i *hi) {
    const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                           0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low = _mm256_set1_epi8(0x0f), zero = _mm256_setzero_si256();
    __m256i v0 = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)line), mask);
    __m256i v1 = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(line + 4)), mask);
    __m256i c0 = _mm256_add_epi8(_mm256_shuffle_epi8(table, _mm256_and_si256(v0, low)),
                                 _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(v0, 4), low)));
    __m256i c1 = _mm256_add_epi8(_mm256_shuffle_epi8(table, _mm256_and_si256(v1, low)),
                                 _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(v1, 4), low)));
    *lo = _mm256_add_epi64(*lo, _mm256_sad_epu8(c0, zero));
    *hi = _mm256_add_epi64(*hi, _mm256_sad_epu8(c1, zero));
}

static inline int64_t weigh(__m256i lo, __m256i hi) {
    int64_t c[8];
    _mm256_storeu_si256((__m256i *)c, lo);
    _mm256_storeu_si256((__m256i *)(c + 4), hi);
    return c[0] + (c[1] << 1) + (c[2] << 2) + (c[3] << 3) + (c[4] << 4) + (c[5] << 5) + (c[6] << 6) - (c[7] << 7);
}

static inline int64_t a8_negdot_avx2(const uint64_t *a, const uint64_t *w, size_t first, size_t end) {
    __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
    for (size_t j = first; j < end; j++) plane_counts(a + j * 8, _mm256_set1_epi64x((long long)w[j]), &lo, &hi);
    return weigh(lo, hi);
}

static inline int64_t a8_ternary_avx2(const uint64_t *a, const uint64_t *nz, const uint64_t *ng, size_t first, size_t end) {
    __m256i plo = _mm256_setzero_si256(), phi = _mm256_setzero_si256();
    __m256i nlo = _mm256_setzero_si256(), nhi = _mm256_setzero_si256();
    for (size_t j = first; j < end; j++) {
        plane_counts(a + j * 8, _mm256_set1_epi64x((long long)(nz[j] & ~ng[j])), &plo, &phi);
        plane_counts(a + j * 8, _mm256_set1_epi64x((long long)(nz[j] & ng[j])), &nlo, &nhi);
    }
    return weigh(plo, phi) - weigh(nlo, nhi);
}

static inline int64_t a8_sum_avx2(const uint64_t *a, size_t first, size_t end) {
    __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
    for (size_t j = first; j < end; j++) plane_counts(a + j * 8, _mm256_set1_epi64x(-1), &lo, &hi);
    return weigh(lo, hi);
}

static inline int64_t a1_differing_avx2(const uint64_t *a, const uint64_t *w, size_t first, size_t end, uint64_t tail) {
    int64_t total = 0;
    for (size_t j = first; j + 1 < end; j++) total += _mm_popcnt_u64(a[j] ^ w[j]);
    if (end > first) total += _mm_popcnt_u64((a[end - 1] ^ w[end - 1]) & tail);
    return total;
}

static inline int64_t a1_negatives_avx2(const uint64_t *a, size_t first, size_t end) {
    int64_t total = 0;
    for (size_t j = first; j < end; j++) total += _mm_popcnt_u64(a[j]);
    return total;
}

#include "product_template.h"

#pragma clang attribute pop
#endif
