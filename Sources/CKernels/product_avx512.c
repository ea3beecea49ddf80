// AVX-512 with VPOPCNTDQ: the 8 planes of one a8 activation word are one 64-byte line, one
// register; a weight word is broadcast, ANDed with it and counted in one instruction.

// Float64 sums one operation at a time, as the Swift reference does: no fused multiply-add.
#pragma STDC FP_CONTRACT OFF
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
            // 4 KiB ahead (the next rows of a row-major weight): the hardware prefetcher alone
            // left a GEMV beyond the last-level cache at about half the read bandwidth.
            _mm_prefetch((const char *)(w + j + 512), _MM_HINT_T0);
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

// Eight vectors of 8 lanes to one vector of their 8 lane sums, by a transposing tree of
// adds (21 operations for 8 sums, where 8 separate reductions take about 50).
static inline __m512i sum_lanes8(const __m512i v[8]) {
    __m512i a0 = _mm512_add_epi64(_mm512_unpacklo_epi64(v[0], v[1]), _mm512_unpackhi_epi64(v[0], v[1]));
    __m512i a1 = _mm512_add_epi64(_mm512_unpacklo_epi64(v[2], v[3]), _mm512_unpackhi_epi64(v[2], v[3]));
    __m512i a2 = _mm512_add_epi64(_mm512_unpacklo_epi64(v[4], v[5]), _mm512_unpackhi_epi64(v[4], v[5]));
    __m512i a3 = _mm512_add_epi64(_mm512_unpacklo_epi64(v[6], v[7]), _mm512_unpackhi_epi64(v[6], v[7]));
    __m512i c0 = _mm512_add_epi64(_mm512_shuffle_i64x2(a0, a1, 0x88), _mm512_shuffle_i64x2(a0, a1, 0xdd));
    __m512i c1 = _mm512_add_epi64(_mm512_shuffle_i64x2(a2, a3, 0x88), _mm512_shuffle_i64x2(a2, a3, 0xdd));
    return _mm512_add_epi64(_mm512_shuffle_i64x2(c0, c1, 0x88), _mm512_shuffle_i64x2(c0, c1, 0xdd));
}

// The binary a8 integers of one row pair, all planes and groups [g0, g1): each (group, plane)
// count vector is weighted by shifts (c_b = 2^b, lane 7 negated), and eight at a time are
// summed by one transposing tree.
static inline void row_a8_binary_avx512(const xnor_grouped_product *p, const uint64_t *a, size_t row, size_t data,
                                        const int64_t *sums, size_t g0, size_t g1, int64_t *ints) {
    const __m512i shifts = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7), zero = _mm512_setzero_si512();
    const size_t span = g1 - g0;
    __m512i batch[8];
    size_t target[8];
    int64_t base[8];
    int filled = 0;
    for (size_t g = g0; g < g1; g++) {
        size_t first = g * p->words_per_group, end = first + p->words_per_group;
        if (end > data) end = data;
        for (int q = 0; q < p->plane_count; q++) {
            const uint64_t *w = p->planes[q] + row;
            __m512i counts = zero;
            for (size_t j = first; j < end; j++) {
                __m512i line = _mm512_loadu_si512((const void *)(a + j * 8));
                counts = _mm512_add_epi64(counts, _mm512_popcnt_epi64(_mm512_and_si512(line, _mm512_set1_epi64((long long)w[j]))));
            }
            counts = _mm512_sllv_epi64(counts, shifts);
            batch[filled] = _mm512_mask_sub_epi64(counts, 0x80, zero, counts);
            target[filled] = (size_t)q * span + (g - g0);
            base[filled] = sums[g];
            if (++filled == 8) {
                int64_t negdot[8];
                _mm512_storeu_si512((void *)negdot, sum_lanes8(batch));
                for (int i = 0; i < 8; i++) ints[target[i]] = base[i] - 2 * negdot[i];
                filled = 0;
            }
        }
    }
    if (filled > 0) {
        for (int i = filled; i < 8; i++) batch[i] = zero;
        int64_t negdot[8];
        _mm512_storeu_si512((void *)negdot, sum_lanes8(batch));
        for (int i = 0; i < filled; i++) ints[target[i]] = base[i] - 2 * negdot[i];
    }
}

#define ROW_INTEGERS_A8_BINARY row_a8_binary_avx512

// The a8 integers of 8 columns [c0, c0 + 8) for activation row `a`, group words
// [first, end) and plane q (binary), or the ternary pair: each activation line is loaded once
// for the 8 columns, and the 8 count vectors are summed by one transposing tree into a vector
// of the 8 columns' integers.
static inline __m512i tile_integers(const xnor_grouped_product *p, const uint64_t *a, size_t c0, size_t first, size_t end,
                                    int q, int64_t group_sum) {
    const __m512i shifts = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7), zero = _mm512_setzero_si512();
    const size_t stride = p->row_stride_words;
    __m512i counts[8];
    for (int c = 0; c < 8; c++) counts[c] = zero;
    if (p->ternary) {
        const uint64_t *nz = p->planes[0] + c0 * stride, *ng = p->planes[1] + c0 * stride;
        for (size_t j = first; j < end; j++) {
            __m512i line = _mm512_loadu_si512((const void *)(a + j * 8));
            for (int c = 0; c < 8; c++) {
                uint64_t n = nz[c * stride + j], g = ng[c * stride + j];
                __m512i positive = _mm512_popcnt_epi64(_mm512_and_si512(line, _mm512_set1_epi64((long long)(n & ~g))));
                __m512i negative = _mm512_popcnt_epi64(_mm512_and_si512(line, _mm512_set1_epi64((long long)(n & g))));
                counts[c] = _mm512_add_epi64(counts[c], _mm512_sub_epi64(positive, negative));
            }
        }
    } else {
        const uint64_t *w = p->planes[q] + c0 * stride;
        for (size_t j = first; j < end; j++) {
            __m512i line = _mm512_loadu_si512((const void *)(a + j * 8));
            for (int c = 0; c < 8; c++) {
                __m512i word = _mm512_set1_epi64((long long)w[c * stride + j]);
                counts[c] = _mm512_add_epi64(counts[c], _mm512_popcnt_epi64(_mm512_and_si512(line, word)));
            }
        }
    }
    for (int c = 0; c < 8; c++) {
        __m512i weighted = _mm512_sllv_epi64(counts[c], shifts);
        counts[c] = _mm512_mask_sub_epi64(weighted, 0x80, zero, weighted);
    }
    // Binary: I = S − 2 · Σ_{b=−1} q. Ternary: the signed sum itself.
    return p->ternary ? sum_lanes8(counts) : _mm512_sub_epi64(_mm512_set1_epi64(group_sum), _mm512_slli_epi64(sum_lanes8(counts), 1));
}

// acc for 8 columns [c0, c0 + 8) of every finite row at once (a8), the float64 sums of the 8
// columns side by side in one register. Each lane does the operations of the scalar order,
// one at a time (multiply, then add; no fused multiply-add), so the result is the same bit
// for bit.
static void accumulate_a8_tile8_avx512(const xnor_grouped_product *p, size_t c0, double *acc) {
    const size_t data = (p->k + 63) / 64, stride = p->row_stride_words, groups = p->groups, n = p->n;
    const int planes = p->ternary ? 1 : p->plane_count;
    // Column c's scale of (plane q, group g) is alpha[(q · n + c) · groups + g]: the 8 columns
    // are `groups` floats apart.
    const __m256i scale_index = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)groups));
    // The integers of a chunk of groups are computed plane by plane, so each of the 8 columns'
    // rows of one plane is read front to back (8 streams, not 8 × planes); the float64 sums
    // then take them in the contract's order, group by group.
    enum { CHUNK = 32 };
    __m512i integers[3][CHUNK];
    for (size_t m = 0; m < p->rows; m++) {
        if (!p->finite[m]) continue;
        const uint64_t *a = p->activations + m * stride * 8;
        const int64_t *sums = p->group_sums + m * groups;
        __m512d total = _mm512_setzero_pd();
        for (size_t g0 = 0; g0 < groups; g0 += CHUNK) {
            const size_t g1 = g0 + CHUNK < groups ? g0 + CHUNK : groups;
            for (int q = 0; q < planes; q++) {
                for (size_t g = g0; g < g1; g++) {
                    size_t first = g * p->words_per_group, end = first + p->words_per_group;
                    if (end > data) end = data;
                    integers[q][g - g0] = tile_integers(p, a, c0, first, end, q, sums[g]);
                }
            }
            for (size_t g = g0; g < g1; g++) {
                for (int q = 0; q < planes; q++) {
                    const float *scales = p->alpha + ((size_t)q * n + c0) * groups + g;
                    __m512d alpha = _mm512_cvtps_pd(_mm256_i32gather_ps(scales, scale_index, 4));
                    total = _mm512_add_pd(total, _mm512_mul_pd(alpha, _mm512_cvtepi64_pd(integers[q][g - g0])));
                }
                if (p->affine) {
                    const float *offsets = p->mu + c0 * groups + g;
                    __m512d mu = _mm512_cvtps_pd(_mm256_i32gather_ps(offsets, scale_index, 4));
                    total = _mm512_add_pd(total, _mm512_mul_pd(mu, _mm512_set1_pd((double)sums[g])));
                }
            }
        }
        _mm512_storeu_pd(acc + m * n + c0, total);
    }
}

// The integers of 8 columns [c0, c0 + 8) of every finite row (a8) into parts [M, width, per],
// whose column 0 is n0.
static void integers_a8_tile8_avx512(const xnor_grouped_product *p, size_t c0, size_t n0, size_t width, int64_t *parts) {
    const size_t data = (p->k + 63) / 64, groups = p->groups;
    const int planes = p->ternary ? 1 : p->plane_count;
    const size_t per = (size_t)planes * groups;
    for (size_t m = 0; m < p->rows; m++) {
        if (!p->finite[m]) continue;
        const uint64_t *a = p->activations + m * p->row_stride_words * 8;
        const int64_t *sums = p->group_sums + m * groups;
        for (size_t g = 0; g < groups; g++) {
            size_t first = g * p->words_per_group, end = first + p->words_per_group;
            if (end > data) end = data;
            for (int q = 0; q < planes; q++) {
                int64_t lanes[8];
                _mm512_storeu_si512((void *)lanes, tile_integers(p, a, c0, first, end, q, sums[g]));
                for (int c = 0; c < 8; c++) parts[(m * width + (c0 - n0 + (size_t)c)) * per + (size_t)q * groups + g] = lanes[c];
            }
        }
    }
}

#define A8_TILE_ACCUMULATE accumulate_a8_tile8_avx512
#define A8_TILE_INTEGERS integers_a8_tile8_avx512
#define A8_TILE_WIDTH 8

#include "product_template.h"

#pragma clang attribute pop
#endif
