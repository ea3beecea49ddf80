// Activation packing for the popcount products (DESIGN.md "Numerics"): each row quantized by
// the same float32 decisions as BitPacking's Numerics, and its codes written as bit-planes.
#ifndef XNOR_ACTIVATION_PACK_H
#define XNOR_ACTIVATION_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "popcount_kernels.h"

// Rows [r0, r1) of x [rows, k]: a8 when `a8`, else a1. Per row: finite[r]; scales[r] (a8: s =
// 127 / max(absmax, 1e-5); a1: β = mean |x| summed in float64 in index order); code_sums[r]
// (a8: Σ q; a1: 0); words (a8: [row, stride, 8], a1: [row, stride]), padding bits 0. A row
// with a NaN or an infinity gets finite false, scale NaN, code sum 0 and zero words. When a8 and
// `codes` is not NULL, the codes also as bytes [row, stride · 64] (padding and non-finite rows 0).
void xnor_pack_activations(xnor_isa isa, bool a8, const float *x, size_t k, size_t r0, size_t r1, size_t stride,
                           uint64_t *words, int8_t *codes, float *scales, int64_t *code_sums, bool *finite);

#endif
