// Activation packing, scalar and AVX-512. The quantization is DESIGN.md's, decision for
// decision: s = 127 / max(absmax, 1e-5) in float32, q = clamp(roundHalfEven(x · s), −128, 127)
// with x · s a float32 product; β a float64 sum in index order, divided in float64, rounded once.
#include "activation_pack.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#pragma STDC FP_CONTRACT OFF

static const float scale_floor = 1e-5f;

static bool row_finite(const float *x, size_t k) {
    for (size_t i = 0; i < k; i++) {
        if (!isfinite(x[i])) return false;
    }
    return true;
}

static float abs_mean(const float *x, size_t k) {
    double sum = 0;
    for (size_t i = 0; i < k; i++) sum += (double)fabsf(x[i]);
    return (float)(sum / (double)k);
}

static inline int8_t a8_code(float x, float s) {
    float r = rintf(x * s);  // the default rounding mode: to nearest, ties to even
    if (r > 127) r = 127;
    if (r < -128) r = -128;
    return (int8_t)r;
}

static void pack_row_scalar(bool a8, const float *x, size_t k, size_t stride, uint64_t *words, int8_t *codes, float *scale, int64_t *code_sum) {
    if (!a8) {
        *scale = abs_mean(x, k);
        *code_sum = 0;
        for (size_t i = 0; i < k; i++) {
            if (x[i] < 0) words[i >> 6] |= (uint64_t)1 << (i & 63);
        }
        return;
    }
    float max_abs = 0;
    for (size_t i = 0; i < k; i++) max_abs = fmaxf(max_abs, fabsf(x[i]));
    const float s = 127.0f / fmaxf(max_abs, scale_floor);
    int64_t sum = 0;
    for (size_t i = 0; i < k; i++) {
        const uint8_t bits = (uint8_t)a8_code(x[i], s);
        sum += (int8_t)bits;
        if (codes) codes[i] = (int8_t)bits;
        for (int b = 0; b < 8; b++) {
            if (bits >> b & 1) words[(i >> 6) * 8 + b] |= (uint64_t)1 << (i & 63);
        }
    }
    *scale = s;
    *code_sum = sum;
}

#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq"))), apply_to = function)

static void pack_row_avx512(bool a8, const float *x, size_t k, size_t stride, uint64_t *words, int8_t *codes, float *scale, int64_t *code_sum) {
    const size_t data = (k + 63) / 64;
    if (!a8) {
        *scale = abs_mean(x, k);
        *code_sum = 0;
        const __m512 zero = _mm512_setzero_ps();
        for (size_t w = 0; w < data; w++) {
            uint64_t word = 0;
            for (int part = 0; part < 4; part++) {
                size_t first = w * 64 + (size_t)part * 16;
                if (first >= k) break;
                __mmask16 valid = k - first >= 16 ? 0xffff : (__mmask16)((1u << (k - first)) - 1);
                __m512 v = _mm512_maskz_loadu_ps(valid, x + first);
                word |= (uint64_t)_mm512_mask_cmp_ps_mask(valid, v, zero, _CMP_LT_OQ) << (part * 16);
            }
            words[w] = word;
        }
        return;
    }
    const __m512 sign = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    __m512 largest = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= k; i += 16) largest = _mm512_max_ps(largest, _mm512_and_ps(_mm512_loadu_ps(x + i), sign));
    float max_abs = _mm512_reduce_max_ps(largest);
    for (; i < k; i++) max_abs = fmaxf(max_abs, fabsf(x[i]));
    const float s = 127.0f / fmaxf(max_abs, scale_floor);
    const __m512 vs = _mm512_set1_ps(s), high = _mm512_set1_ps(127), low = _mm512_set1_ps(-128);
    __m512i sums = _mm512_setzero_si512();
    for (size_t w = 0; w < data; w++) {
        // The 64 codes of word w as bytes, then each plane is one test of a bit in every byte.
        __m128i bytes[4];
        for (int part = 0; part < 4; part++) {
            size_t first = w * 64 + (size_t)part * 16;
            __mmask16 valid = first >= k ? 0 : k - first >= 16 ? 0xffff : (__mmask16)((1u << (k - first)) - 1);
            __m512 v = _mm512_maskz_loadu_ps(valid, x + first);
            __m512 r = _mm512_roundscale_ps(_mm512_mul_ps(v, vs), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            __m512i q = _mm512_cvtps_epi32(_mm512_max_ps(_mm512_min_ps(r, high), low));
            sums = _mm512_add_epi32(sums, q);
            bytes[part] = _mm512_cvtepi32_epi8(q);
        }
        __m512i word_codes = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(bytes[1], bytes[0])),
                                                _mm256_set_m128i(bytes[3], bytes[2]), 1);
        // Past k the loads were masked to 0, so the padding codes are 0.
        if (codes) _mm512_storeu_si512((void *)(codes + w * 64), word_codes);
        for (int b = 0; b < 8; b++) words[w * 8 + b] = _mm512_test_epi8_mask(word_codes, _mm512_set1_epi8((char)(1 << b)));
    }
    *scale = s;
    *code_sum = (int64_t)_mm512_reduce_add_epi32(sums);
}

#pragma clang attribute pop
#endif

void xnor_pack_activations(xnor_isa isa, bool a8, const float *x, size_t k, size_t r0, size_t r1, size_t stride,
                           uint64_t *words, int8_t *codes, float *scales, int64_t *code_sums, bool *finite) {
    const size_t row_words = stride * (a8 ? 8 : 1);
    if (!a8) codes = NULL;
    for (size_t r = r0; r < r1; r++) {
        const float *row = x + r * k;
        uint64_t *out = words + r * row_words;
        int8_t *row_codes = codes ? codes + r * stride * 64 : NULL;
        memset(out, 0, row_words * sizeof(uint64_t));
        if (row_codes) memset(row_codes, 0, stride * 64);
        if (!row_finite(row, k)) {
            finite[r] = false;
            scales[r] = NAN;
            code_sums[r] = 0;
            continue;
        }
        finite[r] = true;
#if defined(__x86_64__)
        if (xnor_isa_includes(isa, XNOR_ISA_AVX512) && xnor_isa_supported(XNOR_ISA_AVX512)) {
            pack_row_avx512(a8, row, k, stride, out, row_codes, scales + r, code_sums + r);
            continue;
        }
#endif
        pack_row_scalar(a8, row, k, stride, out, row_codes, scales + r, code_sums + r);
    }
}
