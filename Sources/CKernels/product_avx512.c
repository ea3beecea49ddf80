// AVX-512 with VPOPCNTDQ: the 8 planes of one a8 activation word are one 64-byte line, one
// register; a weight word is broadcast, ANDed with it and counted in one instruction.

// Float64 sums one operation at a time, as the Swift reference does: no fused multiply-add.
#pragma STDC FP_CONTRACT OFF
#include "popcount_kernels.h"
#include "paths.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

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

enum { TILE_CHUNK = 32 };

// total + the terms of groups [g0, g1) for 8 columns [c0, c0 + 8), in the contract's order
// (for g, for p: + α · I; then + μ · S when affine), from their integers [plane][g − g0]. Each
// lane does the operations of the scalar order one at a time (multiply, then add; no fused
// multiply-add), so the result is the same bit for bit.
static inline __m512d add_tile_chunk(const xnor_grouped_product *p, size_t c0, size_t g0, size_t g1, int planes,
                                     __m512i integers[3][TILE_CHUNK], const int64_t *sums, __m512d total) {
    const size_t groups = p->groups, n = p->n;
    // Column c's scale of (plane q, group g) is alpha[(q · n + c) · groups + g]: the 8 columns
    // are `groups` floats apart.
    const __m256i scale_index = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)groups));
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
    return total;
}

// The next up to two finite rows from *m on: their indices into pair[], how many.
static inline int next_row_pair(const xnor_grouped_product *p, size_t *m, size_t pair[2]) {
    int count = 0;
    while (*m < p->rows && count < 2) {
        if (p->finite[*m]) pair[count++] = *m;
        (*m)++;
    }
    return count;
}

// Words [first, end) of group g.
static inline void group_words(const xnor_grouped_product *p, size_t g, size_t *first, size_t *end) {
    const size_t data = (p->k + 63) / 64;
    *first = g * p->words_per_group;
    *end = *first + p->words_per_group < data ? *first + p->words_per_group : data;
}

// The integers of 8 columns [c0, c0 + 8), groups [g0, g1) and plane q (ternary: the pair) for
// the finite rows pair[0 .. rows), as int64 vectors out0[g − g0] (row pair[0]) and out1[g − g0]
// (row pair[1]; row pair[0]'s again when rows is 1). A chunk of groups per call, not one:
// with a group of one word (b1g64), the call and its setup cost more than the group's products.
typedef void tile_pair_integers(const xnor_grouped_product *p, const size_t pair[2], int rows, size_t c0, size_t g0, size_t g1,
                                int q, __m512i *out0, __m512i *out1);

// A tile_pair_integers from a function of one group, inlined into its loop over the chunk.
#define TILE_PAIR_INTEGERS(name, one_group)                                                                                      \
    static void name(const xnor_grouped_product *p, const size_t pair[2], int rows, size_t c0, size_t g0, size_t g1, int q,     \
                     __m512i *out0, __m512i *out1) {                                                                            \
        for (size_t g = g0; g < g1; g++) {                                                                                      \
            __m512i out[2];                                                                                                     \
            one_group(p, pair, rows, c0, g, q, out);                                                                            \
            out0[g - g0] = out[0];                                                                                              \
            out1[g - g0] = out[1];                                                                                              \
        }                                                                                                                       \
    }

// acc for 8 columns [c0, c0 + 8) of every finite row, two rows at a time, the float64 sums of
// the 8 columns side by side in one register. The integers of a chunk of groups are computed
// plane by plane, so each of the 8 columns' rows of one plane is read front to back (8 streams,
// not 8 × planes); the float64 sums then take them in the contract's order, group by group.
static inline __attribute__((always_inline)) void accumulate_tile8_pairs(const xnor_grouped_product *p, size_t c0, double *acc,
                                                                         tile_pair_integers *integers_of) {
    const size_t groups = p->groups, n = p->n;
    const int planes = p->ternary ? 1 : p->plane_count;
    __m512i integers[2][3][TILE_CHUNK];
    size_t m = 0, pair[2];
    int rows;
    while ((rows = next_row_pair(p, &m, pair)) > 0) {
        const int64_t *sums[2] = {p->group_sums + pair[0] * groups, p->group_sums + pair[rows - 1] * groups};
        __m512d total[2] = {_mm512_setzero_pd(), _mm512_setzero_pd()};
        for (size_t g0 = 0; g0 < groups; g0 += TILE_CHUNK) {
            const size_t g1 = g0 + TILE_CHUNK < groups ? g0 + TILE_CHUNK : groups;
            for (int q = 0; q < planes; q++) integers_of(p, pair, rows, c0, g0, g1, q, integers[0][q], integers[1][q]);
            for (int r = 0; r < rows; r++) total[r] = add_tile_chunk(p, c0, g0, g1, planes, integers[r], sums[r], total[r]);
        }
        for (int r = 0; r < rows; r++) _mm512_storeu_pd(acc + pair[r] * n + c0, total[r]);
    }
}

// The integers of 8 columns [c0, c0 + 8) of every finite row into parts [M, width, per],
// whose column 0 is n0.
static inline __attribute__((always_inline)) void integers_tile8_pairs(const xnor_grouped_product *p, size_t c0, size_t n0,
                                                                       size_t width, int64_t *parts, tile_pair_integers *integers_of) {
    const size_t groups = p->groups;
    const int planes = p->ternary ? 1 : p->plane_count;
    const size_t per = (size_t)planes * groups;
    size_t m = 0, pair[2];
    int rows;
    __m512i integers[2][TILE_CHUNK];
    while ((rows = next_row_pair(p, &m, pair)) > 0) {
        for (size_t g0 = 0; g0 < groups; g0 += TILE_CHUNK) {
            const size_t g1 = g0 + TILE_CHUNK < groups ? g0 + TILE_CHUNK : groups;
            for (int q = 0; q < planes; q++) {
                integers_of(p, pair, rows, c0, g0, g1, q, integers[0], integers[1]);
                for (size_t g = g0; g < g1; g++) {
                    for (int r = 0; r < rows; r++) {
                        int64_t lanes[8];
                        _mm512_storeu_si512((void *)lanes, integers[r][g - g0]);
                        for (int c = 0; c < 8; c++) parts[(pair[r] * width + (c0 - n0 + (size_t)c)) * per + (size_t)q * groups + g] = lanes[c];
                    }
                }
            }
        }
    }
}

// a8 by popcounts: each row on its own (the broadcast weight word is the cheap part).
static inline __attribute__((always_inline)) void a8_group_integers(const xnor_grouped_product *p, const size_t pair[2], int rows,
                                                                    size_t c0, size_t g, int q, __m512i out[2]) {
    size_t first, end;
    group_words(p, g, &first, &end);
    out[1] = _mm512_setzero_si512();
    for (int r = 0; r < rows; r++) {
        const uint64_t *a = p->activations + pair[r] * p->row_stride_words * 8;
        out[r] = tile_integers(p, a, c0, first, end, q, p->group_sums[pair[r] * p->groups + g]);
    }
    if (rows == 1) out[1] = out[0];
}
TILE_PAIR_INTEGERS(a8_pair_integers, a8_group_integers)

static void accumulate_a8_tile8_avx512(const xnor_grouped_product *p, size_t c0, double *acc) {
    accumulate_tile8_pairs(p, c0, acc, a8_pair_integers);
}

static void integers_a8_tile8_avx512(const xnor_grouped_product *p, size_t c0, size_t n0, size_t width, int64_t *parts) {
    integers_tile8_pairs(p, c0, n0, width, parts, a8_pair_integers);
}

// a1 (binary weights): the differing bits of 8 weight words at once per column, for two
// activation rows per weight load, then I = group length − 2 · differing. The group's last
// vector is loaded under a mask, and the row's last data word keeps only its K bits (a file
// may hold anything in the weights' padding).
static inline __attribute__((always_inline)) void a1_tile_integers(const xnor_grouped_product *p, const size_t pair[2], const int rows,
                                                                   size_t c0, size_t g, int q, __m512i out[2]) {
    const size_t stride = p->row_stride_words, data = (p->k + 63) / 64;
    size_t first, end;
    group_words(p, g, &first, &end);
    const uint64_t *w = p->planes[q] + c0 * stride;
    const uint64_t *a0 = p->activations + pair[0] * stride, *a1 = p->activations + pair[rows - 1] * stride;
    const __m512i zero = _mm512_setzero_si512();
    __m512i acc0[8], acc1[8];
    for (int c = 0; c < 8; c++) acc0[c] = acc1[c] = zero;
    size_t j = first;
    for (; j + 8 < end; j += 8) {
        const __m512i x0 = _mm512_loadu_si512((const void *)(a0 + j));
        const __m512i x1 = rows > 1 ? _mm512_loadu_si512((const void *)(a1 + j)) : zero;
        for (int c = 0; c < 8; c++) {
            const __m512i v = _mm512_loadu_si512((const void *)(w + c * stride + j));
            // One row (a decode step) streams the weights once: the same line of the next
            // tile's column, 8 rows on, is asked for now, so it arrives before it is needed.
            if (rows == 1) _mm_prefetch((const char *)(w + (c + 8) * stride + j), _MM_HINT_T0);
            acc0[c] = _mm512_add_epi64(acc0[c], _mm512_popcnt_epi64(_mm512_xor_si512(x0, v)));
            if (rows > 1) acc1[c] = _mm512_add_epi64(acc1[c], _mm512_popcnt_epi64(_mm512_xor_si512(x1, v)));
        }
    }
    // The last 1 to 8 words.
    const unsigned left = (unsigned)(end - j);
    const __mmask8 lanes = (__mmask8)((1u << left) - 1);
    __m512i keep = _mm512_maskz_mov_epi64(lanes, _mm512_set1_epi64(-1));
    if (end == data && p->k % 64) keep = _mm512_mask_set1_epi64(keep, (__mmask8)(1u << (left - 1)), (long long)(((uint64_t)1 << (p->k % 64)) - 1));
    const __m512i x0 = _mm512_maskz_loadu_epi64(lanes, (const void *)(a0 + j));
    const __m512i x1 = rows > 1 ? _mm512_maskz_loadu_epi64(lanes, (const void *)(a1 + j)) : zero;
    for (int c = 0; c < 8; c++) {
        const __m512i v = _mm512_maskz_loadu_epi64(lanes, (const void *)(w + c * stride + j));
        acc0[c] = _mm512_add_epi64(acc0[c], _mm512_popcnt_epi64(_mm512_and_si512(_mm512_xor_si512(x0, v), keep)));
        if (rows > 1) acc1[c] = _mm512_add_epi64(acc1[c], _mm512_popcnt_epi64(_mm512_and_si512(_mm512_xor_si512(x1, v), keep)));
    }
    const size_t size = p->words_per_group * 64, length = p->k - first * 64 < size ? p->k - first * 64 : size;
    const __m512i group_length = _mm512_set1_epi64((long long)length);
    out[0] = _mm512_sub_epi64(group_length, _mm512_slli_epi64(sum_lanes8(acc0), 1));
    if (rows > 1) out[1] = _mm512_sub_epi64(group_length, _mm512_slli_epi64(sum_lanes8(acc1), 1));
}

static inline __attribute__((always_inline)) void a1_group_integers(const xnor_grouped_product *p, const size_t pair[2], int rows,
                                                                    size_t c0, size_t g, int q, __m512i out[2]) {
    if (rows == 2) {
        a1_tile_integers(p, pair, 2, c0, g, q, out);
    } else {
        a1_tile_integers(p, pair, 1, c0, g, q, out);
        out[1] = out[0];
    }
}
TILE_PAIR_INTEGERS(a1_pair_integers, a1_group_integers)

static void accumulate_a1_tile8_avx512(const xnor_grouped_product *p, size_t c0, double *acc) {
    accumulate_tile8_pairs(p, c0, acc, a1_pair_integers);
}

static void integers_a1_tile8_avx512(const xnor_grouped_product *p, size_t c0, size_t n0, size_t width, int64_t *parts) {
    integers_tile8_pairs(p, c0, n0, width, parts, a1_pair_integers);
}

#define A8_TILE_ACCUMULATE accumulate_a8_tile8_avx512
#define A8_TILE_INTEGERS integers_a8_tile8_avx512
#define A8_TILE_WIDTH 8
#define A1_TILE_ACCUMULATE accumulate_a1_tile8_avx512
#define A1_TILE_INTEGERS integers_a1_tile8_avx512
#define A1_TILE_WIDTH 8

#include "product_template.h"

#pragma clang attribute pop

// The VNNI path: the same integers as the popcounts above, as int8 dot products. Each weight
// word becomes 64 bytes (binary: 1 where the bit is set; ternary: w + 1 ∈ {0, 1, 2}) that
// VPDPBUSD multiplies with the 64 activation codes, 16 int32 lanes per column. The expanded
// word serves two activation rows, so a prompt pays the expansion once per row pair.
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx512vpopcntdq,avx512vnni,popcnt"))), apply_to = function)

// A group's int32 lanes stay exact while 64 · words · 256 < 2^31; past that, the popcounts.
enum { VNNI_MAX_GROUP_WORDS = 1 << 16 };

static inline bool vnni_applies(const xnor_grouped_product *p) {
    return p->codes != NULL && p->words_per_group <= VNNI_MAX_GROUP_WORDS;
}

// Eight vectors of 16 int32 lanes to the 8 sums as int64, by a transposing tree of adds.
static inline __m512i sum_lanes8_epi32(const __m512i v[8]) {
    __m512i a0 = _mm512_add_epi32(_mm512_unpacklo_epi32(v[0], v[1]), _mm512_unpackhi_epi32(v[0], v[1]));
    __m512i a1 = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2], v[3]), _mm512_unpackhi_epi32(v[2], v[3]));
    __m512i a2 = _mm512_add_epi32(_mm512_unpacklo_epi32(v[4], v[5]), _mm512_unpackhi_epi32(v[4], v[5]));
    __m512i a3 = _mm512_add_epi32(_mm512_unpacklo_epi32(v[6], v[7]), _mm512_unpackhi_epi32(v[6], v[7]));
    // Each 128-bit block now holds [v0, v1, v2, v3] (b0) or [v4 … v7] (b1), partially summed.
    __m512i b0 = _mm512_add_epi32(_mm512_unpacklo_epi64(a0, a1), _mm512_unpackhi_epi64(a0, a1));
    __m512i b1 = _mm512_add_epi32(_mm512_unpacklo_epi64(a2, a3), _mm512_unpackhi_epi64(a2, a3));
    __m512i c = _mm512_add_epi32(_mm512_shuffle_i32x4(b0, b1, 0x88), _mm512_shuffle_i32x4(b0, b1, 0xdd));
    __m512i d = _mm512_add_epi32(c, _mm512_shuffle_i32x4(c, c, 0xb1));
    return _mm512_cvtepi32_epi64(_mm512_castsi512_si256(_mm512_shuffle_i32x4(d, d, 0x08)));
}

// The integers of 8 columns [c0, c0 + 8) for `rows` (1 or 2) activation rows of codes, group
// words [first, end) and plane q (binary), or the ternary pair, into out[r].
static inline __attribute__((always_inline)) void tile_integers_vnni(const xnor_grouped_product *p, const int8_t *const codes[2],
                                                                     const int rows, size_t c0, size_t first, size_t end, int q,
                                                                     const int64_t group_sum[2], __m512i out[2]) {
    const size_t stride = p->row_stride_words;
    const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi8(1), two = _mm512_set1_epi8(2);
    __m512i acc0[8], acc1[8];
    for (int c = 0; c < 8; c++) acc0[c] = acc1[c] = zero;
    const uint64_t *w = p->planes[p->ternary ? 0 : q] + c0 * stride, *ng = p->planes[1] + c0 * stride;
    for (size_t j = first; j < end; j++) {
        const __m512i a0 = _mm512_loadu_si512((const void *)(codes[0] + j * 64));
        const __m512i a1 = rows > 1 ? _mm512_loadu_si512((const void *)(codes[1] + j * 64)) : zero;
        for (int c = 0; c < 8; c++) {
            // A decode step streams the weights once: the next tile's line, as in a1_tile_integers.
            if (rows == 1 && (j & 7) == 0) {
                _mm_prefetch((const char *)(w + (c + 8) * stride + j), _MM_HINT_T0);
                if (p->ternary) _mm_prefetch((const char *)(ng + (c + 8) * stride + j), _MM_HINT_T0);
            }
            __m512i bytes;
            if (p->ternary) {
                // Nonzero and not negative: 2; nonzero and negative: 0; zero: 1.
                __m512i signed_part = _mm512_mask_blend_epi8((__mmask64)ng[c * stride + j], two, zero);
                bytes = _mm512_mask_blend_epi8((__mmask64)w[c * stride + j], one, signed_part);
            } else {
                bytes = _mm512_maskz_mov_epi8((__mmask64)w[c * stride + j], one);
            }
            acc0[c] = _mm512_dpbusd_epi32(acc0[c], bytes, a0);
            if (rows > 1) acc1[c] = _mm512_dpbusd_epi32(acc1[c], bytes, a1);
        }
    }
    for (int r = 0; r < rows; r++) {
        // Binary: Σ_{b=−1} q, so I = S − 2 · it. Ternary: Σ (w + 1) · q = I + S.
        __m512i dot = sum_lanes8_epi32(r == 0 ? acc0 : acc1), sum = _mm512_set1_epi64(group_sum[r]);
        out[r] = p->ternary ? _mm512_sub_epi64(dot, sum) : _mm512_sub_epi64(sum, _mm512_slli_epi64(dot, 1));
    }
}

static inline __attribute__((always_inline)) void vnni_group_integers(const xnor_grouped_product *p, const size_t pair[2], int rows,
                                                                      size_t c0, size_t g, int q, __m512i out[2]) {
    size_t first, end;
    group_words(p, g, &first, &end);
    const size_t code_stride = p->row_stride_words * 64, last = pair[rows - 1];
    const int8_t *codes[2] = {p->codes + pair[0] * code_stride, p->codes + last * code_stride};
    const int64_t group_sum[2] = {p->group_sums[pair[0] * p->groups + g], p->group_sums[last * p->groups + g]};
    if (rows == 2) {
        tile_integers_vnni(p, codes, 2, c0, first, end, q, group_sum, out);
    } else {
        tile_integers_vnni(p, codes, 1, c0, first, end, q, group_sum, out);
        out[1] = out[0];
    }
}
TILE_PAIR_INTEGERS(vnni_pair_integers, vnni_group_integers)

static void accumulate_a8_tile8_avx512vnni(const xnor_grouped_product *p, size_t c0, double *acc) {
    if (vnni_applies(p)) {
        accumulate_tile8_pairs(p, c0, acc, vnni_pair_integers);
    } else {
        accumulate_a8_tile8_avx512(p, c0, acc);
    }
}

static void integers_a8_tile8_avx512vnni(const xnor_grouped_product *p, size_t c0, size_t n0, size_t width, int64_t *parts) {
    if (vnni_applies(p)) {
        integers_tile8_pairs(p, c0, n0, width, parts, vnni_pair_integers);
    } else {
        integers_a8_tile8_avx512(p, c0, n0, width, parts);
    }
}

// The tiled accumulations (xnor_tile_columns' layout): 16 columns side by side, so one
// VPDPBUSD of an expanded word (4 inputs of each of the 16 columns) with 4 activation codes
// broadcast gives the 16 columns' partial sums in its 16 lanes, and a group ends without a
// horizontal reduction; the expanded word serves up to TILE_ROWS activation rows.
enum { TILE_ROWS = 4 };

static inline __attribute__((always_inline)) void tiled_rows_vnni(const xnor_grouped_product *p, size_t tile, const size_t *rows,
                                                                  const int count, const bool ternary, double *acc) {
    const size_t data = (p->k + 63) / 64, groups = p->groups, per_group = p->words_per_group;
    const int planes = ternary ? 1 : p->plane_count, stored = ternary ? 2 : p->plane_count;
    const size_t code_stride = p->row_stride_words * 64;
    const uint64_t *tile_words = p->tiled_planes + tile * (size_t)stored * data * XNOR_TILE_COLUMNS;
    const float *alpha = p->tiled_alpha + tile * groups * (size_t)planes * XNOR_TILE_COLUMNS;
    const float *mu = p->affine ? p->tiled_mu + tile * groups * XNOR_TILE_COLUMNS : NULL;
    const int8_t *codes[TILE_ROWS];
    const int64_t *sums[TILE_ROWS];
    __m512d low[TILE_ROWS], high[TILE_ROWS];
    for (int r = 0; r < count; r++) {
        codes[r] = p->codes + rows[r] * code_stride;
        sums[r] = p->group_sums + rows[r] * groups;
        low[r] = high[r] = _mm512_setzero_pd();
    }
    const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi8(1), two = _mm512_set1_epi8(2);
    for (size_t g = 0; g < groups; g++) {
        const size_t first = g * per_group, end = first + per_group < data ? first + per_group : data, length = end - first;
        const uint64_t *group_words = tile_words + first * (size_t)stored * XNOR_TILE_COLUMNS;
        for (int q = 0; q < planes; q++) {
            // Ternary: the nonzero words, then the negative ones, `length` · 16 words on.
            const uint64_t *w = group_words + (size_t)q * length * XNOR_TILE_COLUMNS, *ng = w + length * XNOR_TILE_COLUMNS;
            // Independent sums per row (a dot product waits for the one before it in its chain):
            // one row alone takes 4 chains, so that its products overlap.
            const int chains = count == 1 ? 4 : (count == 2 ? 2 : 1);
            __m512i dot[TILE_ROWS][4];
            for (int r = 0; r < count; r++) {
                for (int c = 0; c < chains; c++) dot[r][c] = zero;
            }
            for (size_t j = 0; j < length; j++) {
                const size_t code_offset = (first + j) * 64;
                if (count == 1) {
                    // A decode step streams the tiles once, and the hardware prefetcher alone
                    // left a matrix beyond the last-level cache at half the read bandwidth:
                    // ask for the lines 2 KiB on now.
                    _mm_prefetch((const char *)(w + j * XNOR_TILE_COLUMNS + 256), _MM_HINT_T0);
                    _mm_prefetch((const char *)(w + j * XNOR_TILE_COLUMNS + 264), _MM_HINT_T0);
                    if (ternary) {
                        _mm_prefetch((const char *)(ng + j * XNOR_TILE_COLUMNS + 256), _MM_HINT_T0);
                        _mm_prefetch((const char *)(ng + j * XNOR_TILE_COLUMNS + 264), _MM_HINT_T0);
                    }
                }
                // Unrolled, so that each chain stays in a register.
#pragma clang loop unroll(full)
                for (int t = 0; t < XNOR_TILE_COLUMNS; t++) {
                    const size_t i = j * XNOR_TILE_COLUMNS + (size_t)t;
                    __m512i bytes;
                    if (ternary) {
                        // Nonzero and not negative: 2; nonzero and negative: 0; zero: 1.
                        const __m512i signed_part = _mm512_mask_blend_epi8((__mmask64)ng[i], two, zero);
                        bytes = _mm512_mask_blend_epi8((__mmask64)w[i], one, signed_part);
                    } else {
                        bytes = _mm512_maskz_mov_epi8((__mmask64)w[i], one);
                    }
                    for (int r = 0; r < count; r++) {
                        int32_t four;
                        memcpy(&four, codes[r] + code_offset + 4 * (size_t)t, sizeof four);
                        dot[r][t % chains] = _mm512_dpbusd_epi32(dot[r][t % chains], bytes, _mm512_set1_epi32(four));
                    }
                }
            }
            const __m512 scale = _mm512_loadu_ps(alpha + (g * (size_t)planes + (size_t)q) * XNOR_TILE_COLUMNS);
            const __m512d scale_low = _mm512_cvtps_pd(_mm512_castps512_ps256(scale));
            const __m512d scale_high = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(scale), 1)));
            for (int r = 0; r < count; r++) {
                __m512i total = dot[r][0];
                for (int c = 1; c < chains; c++) total = _mm512_add_epi32(total, dot[r][c]);
                // |S| and the dot stay far below 2^31 (vnni_applies bounds the group).
                const __m512i sum = _mm512_set1_epi32((int32_t)sums[r][g]);
                // Binary: I = S − 2 · Σ_{b=−1} q. Ternary: Σ (w + 1) · q = I + S.
                const __m512i integers = ternary ? _mm512_sub_epi32(total, sum) : _mm512_sub_epi32(sum, _mm512_slli_epi32(total, 1));
                low[r] = _mm512_add_pd(low[r], _mm512_mul_pd(scale_low, _mm512_cvtepi32_pd(_mm512_castsi512_si256(integers))));
                high[r] = _mm512_add_pd(high[r], _mm512_mul_pd(scale_high, _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(integers, 1))));
            }
        }
        if (mu) {
            const __m512 offset = _mm512_loadu_ps(mu + g * XNOR_TILE_COLUMNS);
            const __m512d offset_low = _mm512_cvtps_pd(_mm512_castps512_ps256(offset));
            const __m512d offset_high = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(offset), 1)));
            for (int r = 0; r < count; r++) {
                const __m512d sum = _mm512_set1_pd((double)sums[r][g]);
                low[r] = _mm512_add_pd(low[r], _mm512_mul_pd(offset_low, sum));
                high[r] = _mm512_add_pd(high[r], _mm512_mul_pd(offset_high, sum));
            }
        }
    }
    for (int r = 0; r < count; r++) {
        double *out = acc + rows[r] * p->n + tile * XNOR_TILE_COLUMNS;
        _mm512_storeu_pd(out, low[r]);
        _mm512_storeu_pd(out + 8, high[r]);
    }
}

// tiled_rows_vnni with the count and kind as constants, so that each loop over rows unrolls and
// the inner loop has no branch on the kind.
static void tiled_rows(const xnor_grouped_product *p, size_t tile, const size_t *rows, int count, bool ternary, double *acc) {
    switch (count * 2 + (ternary ? 1 : 0)) {
    case 8: tiled_rows_vnni(p, tile, rows, 4, false, acc); break;
    case 9: tiled_rows_vnni(p, tile, rows, 4, true, acc); break;
    case 6: tiled_rows_vnni(p, tile, rows, 3, false, acc); break;
    case 7: tiled_rows_vnni(p, tile, rows, 3, true, acc); break;
    case 4: tiled_rows_vnni(p, tile, rows, 2, false, acc); break;
    case 5: tiled_rows_vnni(p, tile, rows, 2, true, acc); break;
    case 2: tiled_rows_vnni(p, tile, rows, 1, false, acc); break;
    case 3: tiled_rows_vnni(p, tile, rows, 1, true, acc); break;
    default: break;
    }
}

// The tiled columns within [n0, n1), into [*t0, *t1): every finite row, TILE_ROWS at a time.
// False (and nothing done) when the product has no tiles or the VNNI integers do not apply.
static bool tiled_accumulate_vnni(const xnor_grouped_product *p, size_t n0, size_t n1, double *acc, size_t *t0, size_t *t1) {
    if (!p->a8 || p->tiled_planes == NULL || !vnni_applies(p)) return false;
    const size_t first = (n0 + XNOR_TILE_COLUMNS - 1) / XNOR_TILE_COLUMNS;
    const size_t end = (n1 < p->tiled_columns ? n1 : p->tiled_columns) / XNOR_TILE_COLUMNS;
    if (end <= first) {
        *t0 = *t1 = n0;
        return true;
    }
    *t0 = first * XNOR_TILE_COLUMNS;
    *t1 = end * XNOR_TILE_COLUMNS;
    const bool ternary = p->ternary;
    for (size_t tile = first; tile < end; tile++) {
        size_t rows[TILE_ROWS];
        int count = 0;
        for (size_t m = 0; m < p->rows; m++) {
            if (!p->finite[m]) continue;
            rows[count++] = m;
            if (count == TILE_ROWS) {
                tiled_rows(p, tile, rows, count, ternary, acc);
                count = 0;
            }
        }
        if (count > 0) tiled_rows(p, tile, rows, count, ternary, acc);
    }
    return true;
}

// The rest of the VNNI path is the AVX-512 one.
#define TILED_ACCUMULATE tiled_accumulate_vnni
#undef SUFFIX
#undef A8_TILE_ACCUMULATE
#undef A8_TILE_INTEGERS
#define SUFFIX(name) name##_avx512vnni
#define a8_negdot_avx512vnni a8_negdot_avx512
#define a8_ternary_avx512vnni a8_ternary_avx512
#define a8_sum_avx512vnni a8_sum_avx512
#define a1_differing_avx512vnni a1_differing_avx512
#define a1_negatives_avx512vnni a1_negatives_avx512
#define A8_TILE_ACCUMULATE accumulate_a8_tile8_avx512vnni
#define A8_TILE_INTEGERS integers_a8_tile8_avx512vnni

#include "product_template.h"

#pragma clang attribute pop
#endif
