// AVX-512 with VPOPCNTDQ: the 8 planes of one a8 activation word are one 64-byte line, one
// register; a weight word is broadcast, ANDed with it and counted in one instruction.
#include "popcount_kernels.h"
#include "paths.h"

#if defined(__x86_64__)
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx512vpopcntdq,popcnt"))), apply_to = function)

#define SUFFIX(name) name##_avx512

static inline int64_t weigh(__m512i counts) {
    const __m512i c = _mm512_setr_epi64(1, 2, 4, 8, 16, 32, 64, -128);
    return _mm512_reduce_add_epi64(_mm512_mullo_epi64(counts, c));
}

static inline int64_t a8_negdot_avx512(const uint64_t *a, const uint64_t *w, size_t first, size_t end) {
    __m512i counts = _mm512_setzero_si512();
    for (size_t j = first; j < end; j++) {
        __m512i line = _mm512_loadu_si512((const void *)(a + j * 8));
        counts = _mm512_add_epi64(counts, _mm512_popcnt_epi64(_mm512_and_si512(line, _mm512_set1_epi64((long long)w[j]))));
    }
    return weigh(counts);
}

static inline int64_t a8_ternary_avx512(const uint64_t *a, const uint64_t *nz, const uint64_t *ng, size_t first, size_t end) {
    __m512i counts = _mm512_setzero_si512();
    for (size_t j = first; j < end; j++) {
        __m512i line = _mm512_loadu_si512((const void *)(a + j * 8));
        __m512i positive = _mm512_popcnt_epi64(_mm512_and_si512(line, _mm512_set1_epi64((long long)(nz[j] & ~ng[j]))));
        __m512i negative = _mm512_popcnt_epi64(_mm512_and_si512(line, _mm512_set1_epi64((long long)(nz[j] & ng[j]))));
        counts = _mm512_add_epi64(counts, _mm512_sub_epi64(positive, negative));
    }
    return weigh(counts);
}

static inline int64_t a8_sum_avx512(const uint64_t *a, size_t first, size_t end) {
    __m512i counts = _mm512_setzero_si512();
    for (size_t j = first; j < end; j++) {
        counts = _mm512_add_epi64(counts, _mm512_popcnt_epi64(_mm512_loadu_si512((const void *)(a + j * 8))));
    }
    return weigh(counts);
}

static inline int64_t a1_differing_avx512(const uint64_t *a, const uint64_t *w, size_t first, size_t end, uint64_t tail) {
    int64_t total = 0;
    size_t j = first;
    if (end > first + 8) {
        __m512i counts = _mm512_setzero_si512();
        for (; j + 8 < end; j += 8) {
            __m512i x = _mm512_xor_si512(_mm512_loadu_si512((const void *)(a + j)), _mm512_loadu_si512((const void *)(w + j)));
            counts = _mm512_add_epi64(counts, _mm512_popcnt_epi64(x));
        }
        total = _mm512_reduce_add_epi64(counts);
    }
    for (; j + 1 < end; j++) total += _mm_popcnt_u64(a[j] ^ w[j]);
    if (end > first) total += _mm_popcnt_u64((a[end - 1] ^ w[end - 1]) & tail);
    return total;
}

static inline int64_t a1_negatives_avx512(const uint64_t *a, size_t first, size_t end) {
    int64_t total = 0;
    for (size_t j = first; j < end; j++) total += _mm_popcnt_u64(a[j]);
    return total;
}

#include "product_template.h"

#pragma clang attribute pop
#endif
