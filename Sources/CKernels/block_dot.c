// The dot products of block-typed weights with float32 activations, per instruction set.
// Each output is one row's blocks against one activation row, summed block by block: the
// same order on every thread count.
#include "block_dot.h"
#include "kquant_dot.h"

#include <string.h>

#include "half.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static inline size_t block_bytes(xnor_block_type type) {
    switch (type) {
    case XNOR_BLOCK_Q8_0: return 34;
    case XNOR_BLOCK_Q4_0: return 18;
    case XNOR_BLOCK_Q4_1: return 20;
    default: return 64;
    }
}

// The 32 codes of a block as floats (Q4_1: d · q, its m added by the caller).
static inline void codes(xnor_block_type type, const uint8_t *block, float *q) {
    if (type == XNOR_BLOCK_Q8_0) {
        for (int i = 0; i < 32; i++) q[i] = (float)(int8_t)block[2 + i];
        return;
    }
    const uint8_t *nibbles = block + (type == XNOR_BLOCK_Q4_0 ? 2 : 4);
    const int offset = type == XNOR_BLOCK_Q4_0 ? 8 : 0;
    for (int i = 0; i < 16; i++) {
        q[i] = (float)((nibbles[i] & 0x0f) - offset);
        q[i + 16] = (float)((nibbles[i] >> 4) - offset);
    }
}

static float dot_scalar(xnor_block_type type, const uint8_t *row, size_t blocks, const float *x) {
    const size_t bytes = block_bytes(type);
    float total = 0;
    for (size_t b = 0; b < blocks; b++) {
        const uint8_t *block = row + b * bytes;
        float q[32], sum = 0, xsum = 0;
        codes(type, block, q);
        for (int i = 0; i < 32; i++) sum += q[i] * x[b * 32 + i];
        total += xnor_half_to_float(xnor_load16(block)) * sum;
        if (type == XNOR_BLOCK_Q4_1) {
            for (int i = 0; i < 32; i++) xsum += x[b * 32 + i];
            total += xnor_half_to_float(xnor_load16(block + 2)) * xsum;
        }
    }
    return total;
}

static inline float bf16_to_float(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

// F16 and BF16 rows are plain elements; summed in blocks of 32 as the block types are, so
// that every path adds in the same grouping.
static float dot_half_scalar(xnor_block_type type, const uint8_t *row, size_t blocks, const float *x) {
    float total = 0;
    for (size_t b = 0; b < blocks; b++) {
        float sum = 0;
        for (int i = 0; i < 32; i++) {
            uint16_t h = xnor_load16(row + (b * 32 + i) * 2);
            sum += (type == XNOR_BLOCK_F16 ? xnor_half_to_float(h) : bf16_to_float(h)) * x[b * 32 + i];
        }
        total += sum;
    }
    return total;
}

#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)

static inline float sum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __m256 halves_avx2(xnor_block_type type, const uint8_t *p) {
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    if (type == XNOR_BLOCK_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

static float dot_half_avx2(xnor_block_type type, const uint8_t *row, size_t blocks, const float *x) {
    __m256 total = _mm256_setzero_ps();
    for (size_t b = 0; b < blocks; b++) {
        const uint8_t *p = row + b * 64;
        const float *xb = x + b * 32;
        __m256 sum = _mm256_mul_ps(halves_avx2(type, p), _mm256_loadu_ps(xb));
        sum = _mm256_fmadd_ps(halves_avx2(type, p + 16), _mm256_loadu_ps(xb + 8), sum);
        sum = _mm256_fmadd_ps(halves_avx2(type, p + 32), _mm256_loadu_ps(xb + 16), sum);
        sum = _mm256_fmadd_ps(halves_avx2(type, p + 48), _mm256_loadu_ps(xb + 24), sum);
        total = _mm256_add_ps(total, sum);
    }
    return sum8(total);
}

// The 32 codes as four vectors of 8 floats (Q4_0 centred on 8).
static inline void codes_avx2(xnor_block_type type, const uint8_t *block, __m256 q[4]) {
    __m256i bytes;
    if (type == XNOR_BLOCK_Q8_0) {
        bytes = _mm256_loadu_si256((const __m256i *)(block + 2));
    } else {
        __m128i packed = _mm_loadu_si128((const __m128i *)(block + (type == XNOR_BLOCK_Q4_0 ? 2 : 4)));
        __m128i low = _mm_and_si128(packed, _mm_set1_epi8(0x0f));
        __m128i high = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0f));
        bytes = _mm256_set_m128i(high, low);
        if (type == XNOR_BLOCK_Q4_0) bytes = _mm256_sub_epi8(bytes, _mm256_set1_epi8(8));
    }
    __m128i lo = _mm256_castsi256_si128(bytes), hi = _mm256_extracti128_si256(bytes, 1);
    q[0] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo));
    q[1] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)));
    q[2] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi));
    q[3] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)));
}

static float dot_avx2(xnor_block_type type, const uint8_t *row, size_t blocks, const float *x) {
    const size_t bytes = block_bytes(type);
    __m256 total = _mm256_setzero_ps(), offsets = _mm256_setzero_ps();
    for (size_t b = 0; b < blocks; b++) {
        const uint8_t *block = row + b * bytes;
        const float *xb = x + b * 32;
        __m256 q[4];
        codes_avx2(type, block, q);
        __m256 x0 = _mm256_loadu_ps(xb), x1 = _mm256_loadu_ps(xb + 8), x2 = _mm256_loadu_ps(xb + 16), x3 = _mm256_loadu_ps(xb + 24);
        __m256 sum = _mm256_mul_ps(q[0], x0);
        sum = _mm256_fmadd_ps(q[1], x1, sum);
        sum = _mm256_fmadd_ps(q[2], x2, sum);
        sum = _mm256_fmadd_ps(q[3], x3, sum);
        total = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(xnor_load16(block))), sum, total);
        if (type == XNOR_BLOCK_Q4_1) {
            __m256 xs = _mm256_add_ps(_mm256_add_ps(x0, x1), _mm256_add_ps(x2, x3));
            offsets = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(xnor_load16(block + 2))), xs, offsets);
        }
    }
    return sum8(_mm256_add_ps(total, offsets));
}

#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,fma,f16c"))), apply_to = function)

// One block's terms added to *total (and, Q4_1, *offsets), with x0 and x1 its 32 activations.
static inline __attribute__((always_inline)) void block_terms_avx512(xnor_block_type type, const uint8_t *block, __m512 x0, __m512 x1,
                                                                     __m512 *total, __m512 *offsets) {
    __m128i lo, hi;
    if (type == XNOR_BLOCK_Q8_0) {
        lo = _mm_loadu_si128((const __m128i *)(block + 2));
        hi = _mm_loadu_si128((const __m128i *)(block + 18));
    } else {
        __m128i packed = _mm_loadu_si128((const __m128i *)(block + (type == XNOR_BLOCK_Q4_0 ? 2 : 4)));
        lo = _mm_and_si128(packed, _mm_set1_epi8(0x0f));
        hi = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0f));
        if (type == XNOR_BLOCK_Q4_0) {
            lo = _mm_sub_epi8(lo, _mm_set1_epi8(8));
            hi = _mm_sub_epi8(hi, _mm_set1_epi8(8));
        }
    }
    __m512 q0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(lo)), q1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(hi));
    __m512 sum = _mm512_fmadd_ps(q1, x1, _mm512_mul_ps(q0, x0));
    *total = _mm512_fmadd_ps(_mm512_set1_ps(_cvtsh_ss(xnor_load16(block))), sum, *total);
    if (type == XNOR_BLOCK_Q4_1) {
        *offsets = _mm512_fmadd_ps(_mm512_set1_ps(_cvtsh_ss(xnor_load16(block + 2))), _mm512_add_ps(x0, x1), *offsets);
    }
}

static float dot_avx512(xnor_block_type type, const uint8_t *row, size_t blocks, const float *x) {
    const size_t bytes = block_bytes(type);
    __m512 total = _mm512_setzero_ps(), offsets = _mm512_setzero_ps();
    for (size_t b = 0; b < blocks; b++) {
        block_terms_avx512(type, row + b * bytes, _mm512_loadu_ps(x + b * 32), _mm512_loadu_ps(x + b * 32 + 16), &total, &offsets);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(total, offsets));
}

// dot_avx512 of 4 consecutive rows against one x, each row's operations the same as alone:
// one row's sum waits on its last block, so four side by side overlap, and x is loaded once.
static void dot4_avx512(xnor_block_type type, const uint8_t *rows, size_t row_bytes, size_t blocks, const float *x, float out[4]) {
    const size_t bytes = block_bytes(type);
    __m512 total[4], offsets[4];
    for (int r = 0; r < 4; r++) total[r] = offsets[r] = _mm512_setzero_ps();
    for (size_t b = 0; b < blocks; b++) {
        const __m512 x0 = _mm512_loadu_ps(x + b * 32), x1 = _mm512_loadu_ps(x + b * 32 + 16);
        for (int r = 0; r < 4; r++) {
            const uint8_t *block = rows + r * row_bytes + b * bytes;
            // The loads of the blocks stalled on memory (a decode step reads an output head
            // once): each row's line 384 bytes on is asked for now.
            _mm_prefetch((const char *)(block + 384), _MM_HINT_T0);
            block_terms_avx512(type, block, x0, x1, &total[r], &offsets[r]);
        }
    }
    for (int r = 0; r < 4; r++) out[r] = _mm512_reduce_add_ps(_mm512_add_ps(total[r], offsets[r]));
}

static inline __m512 halves_avx512(xnor_block_type type, const uint8_t *p) {
    __m256i h = _mm256_loadu_si256((const __m256i *)p);
    if (type == XNOR_BLOCK_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

static float dot_half_avx512(xnor_block_type type, const uint8_t *row, size_t blocks, const float *x) {
    __m512 total = _mm512_setzero_ps();
    for (size_t b = 0; b < blocks; b++) {
        const uint8_t *p = row + b * 64;
        const float *xb = x + b * 32;
        __m512 sum = _mm512_fmadd_ps(halves_avx512(type, p + 32), _mm512_loadu_ps(xb + 16),
                                     _mm512_mul_ps(halves_avx512(type, p), _mm512_loadu_ps(xb)));
        total = _mm512_add_ps(total, sum);
    }
    return _mm512_reduce_add_ps(total);
}

#pragma clang attribute pop
#endif

void xnor_block_gemm(xnor_isa isa, xnor_block_type type, const void *blocks, size_t k, size_t n0, size_t n1,
                     const float *x, size_t m, float *y, size_t ldy) {
    if (type == XNOR_BLOCK_Q4_K || type == XNOR_BLOCK_Q6_K) {
        const size_t superblocks = k / 256, row_bytes = superblocks * xnor_kquant_block_bytes(type);
        for (size_t j = n0; j < n1; j++) {
            const uint8_t *row = (const uint8_t *)blocks + j * row_bytes;
            for (size_t i = 0; i < m; i++) y[i * ldy + j] = xnor_kquant_dot(isa, type, row, superblocks, x + i * k);
        }
        return;
    }
    const size_t per_row = k / 32, row_bytes = per_row * block_bytes(type);
    const bool half = type == XNOR_BLOCK_F16 || type == XNOR_BLOCK_BF16;
    float (*dot)(xnor_block_type, const uint8_t *, size_t, const float *) = half ? dot_half_scalar : dot_scalar;
    size_t j = n0;
#if defined(__x86_64__)
    if (xnor_isa_includes(isa, XNOR_ISA_AVX512) && xnor_isa_supported(XNOR_ISA_AVX512)) {
        dot = half ? dot_half_avx512 : dot_avx512;
        if (!half) {
            for (; j + 4 <= n1; j += 4) {
                const uint8_t *rows = (const uint8_t *)blocks + j * row_bytes;
                for (size_t i = 0; i < m; i++) {
                    float out[4];
                    dot4_avx512(type, rows, row_bytes, per_row, x + i * k, out);
                    for (int r = 0; r < 4; r++) y[i * ldy + j + (size_t)r] = out[r];
                }
            }
        }
    } else if (xnor_isa_includes(isa, XNOR_ISA_AVX2) && xnor_isa_supported(XNOR_ISA_AVX2)) {
        dot = half ? dot_half_avx2 : dot_avx2;
    }
#endif
    for (; j < n1; j++) {
        const uint8_t *row = (const uint8_t *)blocks + j * row_bytes;
        for (size_t i = 0; i < m; i++) y[i * ldy + j] = dot(type, row, per_row, x + i * k);
    }
}
