// Float products of activations with weights kept in a ggml block type (Q8_0, Q4_0, Q4_1,
// Q4_K, Q6_K)
// or as half-precision elements (F16, BF16),
// read in place from their blocks: never widened to a float32 copy. Float32 sums, so the
// results are those of a float32 product up to the order of the additions.
#ifndef XNOR_BLOCK_DOT_H
#define XNOR_BLOCK_DOT_H

#include <stddef.h>
#include <stdint.h>

#include "popcount_kernels.h"

typedef enum {
    XNOR_BLOCK_Q8_0 = 0,
    XNOR_BLOCK_Q4_0 = 1,
    XNOR_BLOCK_Q4_1 = 2,
    // Plain elements, taken 32 at a time (64 bytes) like the blocks above.
    XNOR_BLOCK_F16 = 3,
    XNOR_BLOCK_BF16 = 4,
    // Super-blocks of 256 (k a multiple of 256).
    XNOR_BLOCK_Q4_K = 5,
    XNOR_BLOCK_Q6_K = 6,
} xnor_block_type;

// y [m, ldy] columns [n0, n1) = x [m, k] · Wᵀ, W [n, k] stored as `type` blocks of 32 values
// (k a multiple of the type's block: 32, or 256 for the K-quants; row j starts at
// blocks + j · (k / block) · block bytes).
void xnor_block_gemm(xnor_isa isa, xnor_block_type type, const void *blocks, size_t k, size_t n0, size_t n1,
                     const float *x, size_t m, float *y, size_t ldy);

#endif
