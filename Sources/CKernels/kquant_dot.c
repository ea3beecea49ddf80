// Q4_K and Q6_K rows against float32 activations: each super-block is decoded to 256 floats
// on the stack, exactly as ggml's dequantize_row_q4_K / q6_K (and Tensors' Dequantizer) decode
// it, then dotted; the float32 sums are per super-block, so every path adds in the same grouping.
#include "kquant_dot.h"

#include <string.h>

#include "half.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

size_t xnor_kquant_block_bytes(xnor_block_type type) { return type == XNOR_BLOCK_Q4_K ? 144 : 210; }

// ggml's get_scale_min_k4: the 6-bit scale and min of sub-block j.
static inline void scale_min_k4(const uint8_t *q, int j, uint8_t *scale, uint8_t *min) {
    if (j < 4) {
        *scale = q[j] & 63;
        *min = q[j + 4] & 63;
    } else {
        *scale = (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4);
        *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

// Written once and compiled inside each path's target attribute, so the compiler vectorizes
// the decoding for that instruction set.
#define DECODE_Q4_K(block, y)                                                                    \
    do {                                                                                         \
        const float d = xnor_half_to_float(xnor_load16(block)), dmin = xnor_half_to_float(xnor_load16((block) + 2)); \
        for (int pair = 0; pair < 4; pair++) {                                                   \
            const uint8_t *qs = (block) + 16 + pair * 32;                                        \
            uint8_t sc0, m0, sc1, m1;                                                            \
            scale_min_k4((block) + 4, pair * 2, &sc0, &m0);                                      \
            scale_min_k4((block) + 4, pair * 2 + 1, &sc1, &m1);                                  \
            const float d0 = d * (float)sc0, dm0 = dmin * (float)m0;                             \
            const float d1 = d * (float)sc1, dm1 = dmin * (float)m1;                             \
            for (int l = 0; l < 32; l++) {                                                       \
                (y)[pair * 64 + l] = d0 * (float)(qs[l] & 0x0f) - dm0;                           \
                (y)[pair * 64 + l + 32] = d1 * (float)(qs[l] >> 4) - dm1;                        \
            }                                                                                    \
        }                                                                                        \
    } while (0)

#define DECODE_Q6_K(block, y)                                                                    \
    do {                                                                                         \
        const float d = xnor_half_to_float(xnor_load16((block) + 208));                               \
        for (int h = 0; h < 2; h++) {                                                            \
            const uint8_t *ql = (block) + h * 64, *qh = (block) + 128 + h * 32;                  \
            const int8_t *sc = (const int8_t *)((block) + 192 + h * 8);                          \
            for (int l = 0; l < 32; l++) {                                                       \
                const int q0 = (int)((ql[l] & 0x0f) | ((qh[l] & 3) << 4)) - 32;                 \
                const int q1 = (int)((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;     \
                const int q2 = (int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;            \
                const int q3 = (int)((ql[l + 32] >> 4) | ((qh[l] >> 6) << 4)) - 32;             \
                const int s = l >> 4;                                                            \
                (y)[h * 128 + l] = d * (float)sc[s] * (float)q0;                                 \
                (y)[h * 128 + l + 32] = d * (float)sc[s + 2] * (float)q1;                        \
                (y)[h * 128 + l + 64] = d * (float)sc[s + 4] * (float)q2;                        \
                (y)[h * 128 + l + 96] = d * (float)sc[s + 6] * (float)q3;                        \
            }                                                                                    \
        }                                                                                        \
    } while (0)

#define DECODE(type, block, y)                                                                   \
    do {                                                                                         \
        if ((type) == XNOR_BLOCK_Q4_K) DECODE_Q4_K(block, y); else DECODE_Q6_K(block, y);        \
    } while (0)

static float dot_scalar(xnor_block_type type, const uint8_t *row, size_t superblocks, const float *x) {
    const size_t bytes = xnor_kquant_block_bytes(type);
    float total = 0, y[256];
    for (size_t b = 0; b < superblocks; b++) {
        DECODE(type, row + b * bytes, y);
        float sum = 0;
        for (int i = 0; i < 256; i++) sum += y[i] * x[b * 256 + i];
        total += sum;
    }
    return total;
}

#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)

static float dot_avx2(xnor_block_type type, const uint8_t *row, size_t superblocks, const float *x) {
    const size_t bytes = xnor_kquant_block_bytes(type);
    float y[256] __attribute__((aligned(32)));
    __m256 total = _mm256_setzero_ps();
    for (size_t b = 0; b < superblocks; b++) {
        DECODE(type, row + b * bytes, y);
        __m256 sum = _mm256_setzero_ps();
        for (int i = 0; i < 256; i += 8) sum = _mm256_fmadd_ps(_mm256_load_ps(y + i), _mm256_loadu_ps(x + b * 256 + i), sum);
        total = _mm256_add_ps(total, sum);
    }
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(total), _mm256_extractf128_ps(total, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,fma"))), apply_to = function)

static float dot_avx512(xnor_block_type type, const uint8_t *row, size_t superblocks, const float *x) {
    const size_t bytes = xnor_kquant_block_bytes(type);
    float y[256] __attribute__((aligned(64)));
    __m512 total = _mm512_setzero_ps();
    for (size_t b = 0; b < superblocks; b++) {
        DECODE(type, row + b * bytes, y);
        __m512 sum = _mm512_setzero_ps();
        for (int i = 0; i < 256; i += 16) sum = _mm512_fmadd_ps(_mm512_load_ps(y + i), _mm512_loadu_ps(x + b * 256 + i), sum);
        total = _mm512_add_ps(total, sum);
    }
    return _mm512_reduce_add_ps(total);
}

#pragma clang attribute pop
#endif

float xnor_kquant_dot(xnor_isa isa, xnor_block_type type, const uint8_t *row, size_t superblocks, const float *x) {
#if defined(__x86_64__)
    if (xnor_isa_includes(isa, XNOR_ISA_AVX512) && xnor_isa_supported(XNOR_ISA_AVX512)) return dot_avx512(type, row, superblocks, x);
    if (isa == XNOR_ISA_AVX2 && xnor_isa_supported(XNOR_ISA_AVX2)) return dot_avx2(type, row, superblocks, x);
#endif
    return dot_scalar(type, row, superblocks, x);
}
