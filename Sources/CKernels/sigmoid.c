// The Sigmoid kernel 16 floats at a time; Runtime's SigmoidExponential is the reference, and
// this follows it operation by operation (FP_CONTRACT off: no fused multiply-add).
#include "sigmoid.h"
#include "popcount_kernels.h"

#include <stdint.h>

#pragma STDC FP_CONTRACT OFF

// 2^(i/32), i = 0 … 31, correctly rounded: the table of the exponential, Swift's reference too.
const double xnor_sigmoid_exp_table[32] = {
    0x1.0000000000000p+0, 0x1.059b0d3158574p+0, 0x1.0b5586cf9890fp+0, 0x1.11301d0125b51p+0,
    0x1.172b83c7d517bp+0, 0x1.1d4873168b9aap+0, 0x1.2387a6e756238p+0, 0x1.29e9df51fdee1p+0,
    0x1.306fe0a31b715p+0, 0x1.371a7373aa9cbp+0, 0x1.3dea64c123422p+0, 0x1.44e086061892dp+0,
    0x1.4bfdad5362a27p+0, 0x1.5342b569d4f82p+0, 0x1.5ab07dd485429p+0, 0x1.6247eb03a5585p+0,
    0x1.6a09e667f3bcdp+0, 0x1.71f75e8ec5f74p+0, 0x1.7a11473eb0187p+0, 0x1.82589994cce13p+0,
    0x1.8ace5422aa0dbp+0, 0x1.93737b0cdc5e5p+0, 0x1.9c49182a3f090p+0, 0x1.a5503b23e255dp+0,
    0x1.ae89f995ad3adp+0, 0x1.b7f76f2fb5e47p+0, 0x1.c199bdd85529cp+0, 0x1.cb720dcef9069p+0,
    0x1.d5818dcfba487p+0, 0x1.dfc97337b9b5fp+0, 0x1.ea4afa2a490dap+0, 0x1.f50765b6e4540p+0,
};

double xnor_sigmoid_exp_entry(int i) { return xnor_sigmoid_exp_table[i & 31]; }

#if defined(__x86_64__)
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx512f,avx512dq"))), apply_to = function)


// e^a for 8 arguments a ≥ −104 (or NaN) in float64 lanes, rounded to float32.
static inline __m256 exponential8(__m512d a, const __m512d table[4]) {
    const __m512d z = _mm512_mul_pd(a, _mm512_set1_pd(0x1.71547652b82fep+5));
    const __m512d kd = _mm512_roundscale_pd(z, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512d r = _mm512_sub_pd(z, kd);
    const __m512i k = _mm512_cvtpd_epi64(kd);
    // Entry k mod 32 of the table in four registers: bits 0–3 pick within a pair, bit 4 the pair.
    const __m512d low = _mm512_permutex2var_pd(table[0], k, table[1]), high = _mm512_permutex2var_pd(table[2], k, table[3]);
    const __mmask8 upper = _mm512_test_epi64_mask(k, _mm512_set1_epi64(16));
    const __m512d entry = _mm512_mask_blend_pd(upper, low, high);
    const __m512d s = _mm512_castsi512_pd(_mm512_add_epi64(_mm512_castpd_si512(entry), _mm512_slli_epi64(_mm512_srai_epi64(k, 5), 52)));
    const __m512d p = _mm512_add_pd(_mm512_mul_pd(_mm512_set1_pd(0x1.c6af84b912394p-20), r), _mm512_set1_pd(0x1.ebfce50fac4f3p-13));
    const __m512d r2 = _mm512_mul_pd(r, r);
    __m512d y = _mm512_add_pd(_mm512_mul_pd(_mm512_set1_pd(0x1.62e42ff0c52d6p-6), r), _mm512_set1_pd(1));
    y = _mm512_add_pd(_mm512_mul_pd(p, r2), y);
    y = _mm512_mul_pd(y, s);
    return _mm512_cvtpd_ps(y);
}

static size_t sigmoid_avx512(const float *x, float *y, size_t count) {
    const __m512d table[4] = {_mm512_loadu_pd(xnor_sigmoid_exp_table), _mm512_loadu_pd(xnor_sigmoid_exp_table + 8), _mm512_loadu_pd(xnor_sigmoid_exp_table + 16),
                              _mm512_loadu_pd(xnor_sigmoid_exp_table + 24)};
    const __m512 one = _mm512_set1_ps(1), lowest = _mm512_set1_ps(-104);
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        const __m512 v = _mm512_loadu_ps(x + i);
        // x ≥ 0 (false for NaN): 1 / (1 + e^−x); else e^x / (1 + e^x).
        const __mmask16 nonnegative = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GE_OQ);
        __m512 a = _mm512_mask_sub_ps(v, nonnegative, _mm512_setzero_ps(), v);
        // max(−104, a), a NaN kept (MAXPS returns its second operand when one is NaN).
        a = _mm512_max_ps(lowest, a);
        const __m256 e0 = exponential8(_mm512_cvtps_pd(_mm512_castps512_ps256(a)), table);
        const __m256 e1 = exponential8(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1))), table);
        const __m512 e = _mm512_insertf32x8(_mm512_castps256_ps512(e0), e1, 1);
        const __m512 numerator = _mm512_mask_blend_ps(nonnegative, e, one);
        _mm512_storeu_ps(y + i, _mm512_div_ps(numerator, _mm512_add_ps(one, e)));
    }
    return i;
}

#pragma clang attribute pop
#endif

size_t xnor_sigmoid(const float *x, float *y, size_t count) {
#if defined(__x86_64__)
    if (xnor_isa_supported(XNOR_ISA_AVX512)) return sigmoid_avx512(x, y, count);
#endif
    (void)x;
    (void)y;
    (void)count;
    return 0;
}
