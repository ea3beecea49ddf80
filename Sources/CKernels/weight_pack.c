// Weight packing, scalar, AVX2 and AVX-512: one mask bit per weight from a float32 comparison,
// so a vector path sets the same bits as the scalar one. The rounding is to nearest, ties to
// even, in every path (rintf in the default rounding mode, roundscale / round with it named).
#include "weight_pack.h"

#include <math.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#pragma STDC FP_CONTRACT OFF

static inline size_t data_words(size_t k) { return (k + 63) / 64; }

static void ternary_rows_scalar(const float *w, size_t k, size_t r0, size_t r1, size_t stride, float gamma,
                                uint64_t *nonzero, uint64_t *negative) {
    for (size_t row = r0; row < r1; row++) {
        const float *x = w + row * k;
        for (size_t word = 0; word < data_words(k); word++) {
            uint64_t nz = 0, ng = 0;
            const size_t start = word * 64, end = start + 64 < k ? start + 64 : k;
            for (size_t i = start; i < end; i++) {
                const float r = rintf(x[i] / gamma);
                const uint64_t bit = (uint64_t)1 << (i - start);
                if (r >= 1 || r <= -1) nz |= bit;
                if (r <= -1) ng |= bit;
            }
            nonzero[row * stride + word] = nz;
            negative[row * stride + word] = ng;
        }
    }
}

static void sign_rows_scalar(const float *w, size_t k, size_t r0, size_t r1, size_t stride, uint64_t *signs) {
    for (size_t row = r0; row < r1; row++) {
        const float *x = w + row * k;
        for (size_t word = 0; word < data_words(k); word++) {
            uint64_t bits = 0;
            const size_t start = word * 64, end = start + 64 < k ? start + 64 : k;
            for (size_t i = start; i < end; i++) {
                if (x[i] < 0) bits |= (uint64_t)1 << (i - start);
            }
            signs[row * stride + word] = bits;
        }
    }
}

#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)

// The 8 lanes of x [0, count) (count ≤ 8), zeros past it: a zero sets no bit in either mode.
static inline __m256 load8_avx2(const float *x, size_t count) {
    if (count >= 8) return _mm256_loadu_ps(x);
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)count), lanes);
    return _mm256_maskload_ps(x, mask);
}

static void ternary_rows_avx2(const float *w, size_t k, size_t r0, size_t r1, size_t stride, float gamma,
                              uint64_t *nonzero, uint64_t *negative) {
    const __m256 g = _mm256_set1_ps(gamma), one = _mm256_set1_ps(1), minus_one = _mm256_set1_ps(-1);
    for (size_t row = r0; row < r1; row++) {
        const float *x = w + row * k;
        for (size_t word = 0; word < data_words(k); word++) {
            uint64_t nz = 0, ng = 0;
            for (size_t lane = 0; lane < 64 && word * 64 + lane < k; lane += 8) {
                const size_t i = word * 64 + lane;
                const __m256 r = _mm256_round_ps(_mm256_div_ps(load8_avx2(x + i, k - i), g), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                const uint64_t neg = (uint64_t)_mm256_movemask_ps(_mm256_cmp_ps(r, minus_one, _CMP_LE_OQ));
                const uint64_t pos = (uint64_t)_mm256_movemask_ps(_mm256_cmp_ps(r, one, _CMP_GE_OQ));
                nz |= (pos | neg) << lane;
                ng |= neg << lane;
            }
            nonzero[row * stride + word] = nz;
            negative[row * stride + word] = ng;
        }
    }
}

static void sign_rows_avx2(const float *w, size_t k, size_t r0, size_t r1, size_t stride, uint64_t *signs) {
    const __m256 zero = _mm256_setzero_ps();
    for (size_t row = r0; row < r1; row++) {
        const float *x = w + row * k;
        for (size_t word = 0; word < data_words(k); word++) {
            uint64_t bits = 0;
            for (size_t lane = 0; lane < 64 && word * 64 + lane < k; lane += 8) {
                const size_t i = word * 64 + lane;
                bits |= (uint64_t)_mm256_movemask_ps(_mm256_cmp_ps(load8_avx2(x + i, k - i), zero, _CMP_LT_OQ)) << lane;
            }
            signs[row * stride + word] = bits;
        }
    }
}

#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("avx512f"))), apply_to = function)

static inline __m512 load16_avx512(const float *x, size_t count) {
    return count >= 16 ? _mm512_loadu_ps(x) : _mm512_maskz_loadu_ps((__mmask16)((1u << count) - 1), x);
}

static void ternary_rows_avx512(const float *w, size_t k, size_t r0, size_t r1, size_t stride, float gamma,
                                uint64_t *nonzero, uint64_t *negative) {
    const __m512 g = _mm512_set1_ps(gamma), one = _mm512_set1_ps(1), minus_one = _mm512_set1_ps(-1);
    for (size_t row = r0; row < r1; row++) {
        const float *x = w + row * k;
        for (size_t word = 0; word < data_words(k); word++) {
            uint64_t nz = 0, ng = 0;
            for (size_t lane = 0; lane < 64 && word * 64 + lane < k; lane += 16) {
                const size_t i = word * 64 + lane;
                const __m512 r = _mm512_roundscale_ps(_mm512_div_ps(load16_avx512(x + i, k - i), g), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                const uint64_t neg = _mm512_cmp_ps_mask(r, minus_one, _CMP_LE_OQ);
                const uint64_t pos = _mm512_cmp_ps_mask(r, one, _CMP_GE_OQ);
                nz |= (pos | neg) << lane;
                ng |= neg << lane;
            }
            nonzero[row * stride + word] = nz;
            negative[row * stride + word] = ng;
        }
    }
}

static void sign_rows_avx512(const float *w, size_t k, size_t r0, size_t r1, size_t stride, uint64_t *signs) {
    const __m512 zero = _mm512_setzero_ps();
    for (size_t row = r0; row < r1; row++) {
        const float *x = w + row * k;
        for (size_t word = 0; word < data_words(k); word++) {
            uint64_t bits = 0;
            for (size_t lane = 0; lane < 64 && word * 64 + lane < k; lane += 16) {
                const size_t i = word * 64 + lane;
                bits |= (uint64_t)_mm512_cmp_ps_mask(load16_avx512(x + i, k - i), zero, _CMP_LT_OQ) << lane;
            }
            signs[row * stride + word] = bits;
        }
    }
}

#pragma clang attribute pop
#endif

void xnor_pack_ternary_weights(xnor_isa isa, const float *w, size_t k, size_t r0, size_t r1, size_t stride, float gamma,
                               uint64_t *nonzero, uint64_t *negative) {
#if defined(__x86_64__)
    if (xnor_isa_includes(isa, XNOR_ISA_AVX512) && xnor_isa_supported(XNOR_ISA_AVX512)) {
        ternary_rows_avx512(w, k, r0, r1, stride, gamma, nonzero, negative);
        return;
    }
    if (xnor_isa_includes(isa, XNOR_ISA_AVX2) && xnor_isa_supported(XNOR_ISA_AVX2)) {
        ternary_rows_avx2(w, k, r0, r1, stride, gamma, nonzero, negative);
        return;
    }
#endif
    ternary_rows_scalar(w, k, r0, r1, stride, gamma, nonzero, negative);
}

void xnor_pack_sign_weights(xnor_isa isa, const float *w, size_t k, size_t r0, size_t r1, size_t stride, uint64_t *signs) {
#if defined(__x86_64__)
    if (xnor_isa_includes(isa, XNOR_ISA_AVX512) && xnor_isa_supported(XNOR_ISA_AVX512)) {
        sign_rows_avx512(w, k, r0, r1, stride, signs);
        return;
    }
    if (xnor_isa_includes(isa, XNOR_ISA_AVX2) && xnor_isa_supported(XNOR_ISA_AVX2)) {
        sign_rows_avx2(w, k, r0, r1, stride, signs);
        return;
    }
#endif
    sign_rows_scalar(w, k, r0, r1, stride, signs);
}

void xnor_ternary_scale_sums(const float *w, size_t count, double *sum, float *common, bool *only_common) {
    // One float64 chain in index order, exactly as the Swift reference adds (each float32
    // magnitude is exact in float64; FP_CONTRACT is off and nothing is reassociated).
    double total = 0;
    for (size_t i = 0; i < count; i++) total += (double)fabsf(w[i]);
    *sum = total;
    // The first nonzero magnitude, then whether every nonzero magnitude equals it: a separate
    // pass the compiler vectorizes, outside the latency-bound chain above.
    size_t first = 0;
    while (first < count && w[first] == 0) first++;
    const float c = first < count ? fabsf(w[first]) : 0;
    bool same = true;
    for (size_t i = first; i < count; i++) {
        const float m = fabsf(w[i]);
        same &= (m == 0) | (m == c);
    }
    *common = c;
    *only_common = same;
}
