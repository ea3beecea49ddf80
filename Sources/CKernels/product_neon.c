// NEON (aarch64): popcounts by CNT on 16-byte vectors, widened by pairwise adds. An a8
// activation line of 64 bytes is four vectors, each holding two planes (one per 64-bit lane).

// Float64 sums one operation at a time, as the Swift reference does: no fused multiply-add.
#pragma STDC FP_CONTRACT OFF
#include "popcount_kernels.h"
#include "paths.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#define SUFFIX(name) name##_neon

// A 16-bit lane gains at most 16 a step (two byte counts of at most 8), so it holds 4095
// steps exactly; a block of 2048 is then widened to the 64-bit lanes, which never overflow.
enum { BLOCK = 2048 };

static inline uint64x2_t widen(uint64x2_t total, uint16x8_t counts) {
    return vpadalq_u32(total, vpaddlq_u16(counts));
}

// The plane counts of a run of a8 lines: lane l of total[i] and block[i] is plane 2i + l.
typedef struct {
    uint64x2_t total[4];
    uint16x8_t block[4];
    unsigned steps;
} tally;

static inline void tally_start(tally *t) {
    for (int i = 0; i < 4; i++) {
        t->total[i] = vdupq_n_u64(0);
        t->block[i] = vdupq_n_u16(0);
    }
    t->steps = 0;
}

static inline void tally_flush(tally *t) {
    for (int i = 0; i < 4; i++) {
        t->total[i] = widen(t->total[i], t->block[i]);
        t->block[i] = vdupq_n_u16(0);
    }
    t->steps = 0;
}

// Adds the popcounts of (line AND mask), plane by plane.
static inline void tally_line(tally *t, const uint64_t *line, uint64_t mask) {
    const uint8x16_t m = vreinterpretq_u8_u64(vdupq_n_u64(mask));
    const uint8_t *bytes = (const uint8_t *)line;
    for (int i = 0; i < 4; i++) t->block[i] = vpadalq_u8(t->block[i], vcntq_u8(vandq_u8(vld1q_u8(bytes + 16 * i), m)));
    if (++t->steps == BLOCK) tally_flush(t);
}

// Σ_b c_b · count_b.
static inline int64_t tally_weigh(tally *t) {
    tally_flush(t);
    int64_t c[8];
    for (int i = 0; i < 4; i++) vst1q_s64(c + 2 * i, vreinterpretq_s64_u64(t->total[i]));
    return c[0] + (c[1] << 1) + (c[2] << 2) + (c[3] << 3) + (c[4] << 4) + (c[5] << 5) + (c[6] << 6) - (c[7] << 7);
}

static inline int64_t a8_negdot_neon(const uint64_t *a, const uint64_t *w, size_t first, size_t end) {
    tally t;
    tally_start(&t);
    for (size_t j = first; j < end; j++) tally_line(&t, a + j * 8, w[j]);
    return tally_weigh(&t);
}

static inline int64_t a8_ternary_neon(const uint64_t *a, const uint64_t *nz, const uint64_t *ng, size_t first, size_t end) {
    tally positive, negative;
    tally_start(&positive);
    tally_start(&negative);
    for (size_t j = first; j < end; j++) {
        tally_line(&positive, a + j * 8, nz[j] & ~ng[j]);
        tally_line(&negative, a + j * 8, nz[j] & ng[j]);
    }
    return tally_weigh(&positive) - tally_weigh(&negative);
}

static inline int64_t a8_sum_neon(const uint64_t *a, size_t first, size_t end) {
    tally t;
    tally_start(&t);
    for (size_t j = first; j < end; j++) tally_line(&t, a + j * 8, ~(uint64_t)0);
    return tally_weigh(&t);
}

// Σ popcount(a[j] XOR w[j]) (w NULL: of a[j]) over the word pairs of [first, first + 2 · pairs).
static inline int64_t pair_counts(const uint64_t *a, const uint64_t *w, size_t first, size_t pairs) {
    uint64x2_t total = vdupq_n_u64(0);
    for (size_t i = 0; i < pairs;) {
        const size_t stop = pairs - i > BLOCK ? i + BLOCK : pairs;
        uint16x8_t block = vdupq_n_u16(0);
        for (; i < stop; i++) {
            const size_t j = first + 2 * i;
            uint8x16_t x = vreinterpretq_u8_u64(vld1q_u64(a + j));
            if (w) x = veorq_u8(x, vreinterpretq_u8_u64(vld1q_u64(w + j)));
            block = vpadalq_u8(block, vcntq_u8(x));
        }
        total = widen(total, block);
    }
    return (int64_t)vaddvq_u64(total);
}

static inline int64_t a1_differing_neon(const uint64_t *a, const uint64_t *w, size_t first, size_t end, uint64_t tail) {
    if (end <= first) return 0;
    // Every word but the last in pairs; the last is masked, since weight padding is arbitrary.
    const size_t pairs = (end - 1 - first) / 2, last = end - 1;
    int64_t total = pair_counts(a, w, first, pairs);
    for (size_t j = first + 2 * pairs; j < last; j++) total += __builtin_popcountll(a[j] ^ w[j]);
    return total + __builtin_popcountll((a[last] ^ w[last]) & tail);
}

static inline int64_t a1_negatives_neon(const uint64_t *a, size_t first, size_t end) {
    if (end <= first) return 0;
    const size_t pairs = (end - first) / 2;
    int64_t total = pair_counts(a, NULL, first, pairs);
    if ((end - first) % 2) total += __builtin_popcountll(a[end - 1]);
    return total;
}

#include "product_template.h"

#endif
