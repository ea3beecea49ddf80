// Tight loops for the ceilings: the widest loads and popcounts the CPU has, four independent
// accumulators so latency does not hide the throughput.
#include "ceilings.h"

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f,avx512vpopcntdq")))
static uint64_t read_avx512(const uint64_t *b, size_t w0, size_t w1) {
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    size_t j = w0;
    for (; j + 32 <= w1; j += 32) {
        s0 = _mm512_xor_si512(s0, _mm512_loadu_si512((const void *)(b + j)));
        s1 = _mm512_xor_si512(s1, _mm512_loadu_si512((const void *)(b + j + 8)));
        s2 = _mm512_xor_si512(s2, _mm512_loadu_si512((const void *)(b + j + 16)));
        s3 = _mm512_xor_si512(s3, _mm512_loadu_si512((const void *)(b + j + 24)));
    }
    uint64_t total = (uint64_t)_mm512_reduce_add_epi64(_mm512_xor_si512(_mm512_xor_si512(s0, s1), _mm512_xor_si512(s2, s3)));
    for (; j < w1; j++) total ^= b[j];
    return total;
}

__attribute__((target("avx512f,avx512vpopcntdq")))
static uint64_t popcount_avx512(const uint64_t *b, size_t words, size_t repeats) {
    // Eight accumulators: the popcount's latency is several cycles, its throughput one or two
    // a cycle.
    __m512i s[8];
    for (int i = 0; i < 8; i++) s[i] = _mm512_setzero_si512();
    for (size_t r = 0; r < repeats; r++) {
        for (size_t j = 0; j + 64 <= words; j += 64) {
            for (int i = 0; i < 8; i++) {
                s[i] = _mm512_add_epi64(s[i], _mm512_popcnt_epi64(_mm512_loadu_si512((const void *)(b + j + 8 * i))));
            }
        }
    }
    __m512i total = s[0];
    for (int i = 1; i < 8; i++) total = _mm512_add_epi64(total, s[i]);
    return (uint64_t)_mm512_reduce_add_epi64(total);
}
#endif

uint64_t xnor_read_words(xnor_isa isa, const uint64_t *buffer, size_t w0, size_t w1) {
#if defined(__x86_64__)
    if (xnor_isa_includes(isa, XNOR_ISA_AVX512) && xnor_isa_supported(XNOR_ISA_AVX512)) return read_avx512(buffer, w0, w1);
#endif
    uint64_t a = 0, b = 0;
    size_t j = w0;
    for (; j + 2 <= w1; j += 2) { a ^= buffer[j]; b ^= buffer[j + 1]; }
    for (; j < w1; j++) a ^= buffer[j];
    return a ^ b;
}

uint64_t xnor_popcount_words(xnor_isa isa, const uint64_t *buffer, size_t words, size_t repeats) {
#if defined(__x86_64__)
    if (xnor_isa_includes(isa, XNOR_ISA_AVX512) && xnor_isa_supported(XNOR_ISA_AVX512)) return popcount_avx512(buffer, words, repeats);
#endif
    uint64_t total = 0;
    for (size_t r = 0; r < repeats; r++) {
        for (size_t j = 0; j < words; j++) total += (uint64_t)__builtin_popcountll(buffer[j]);
    }
    return total;
}
