// Weight packing for the legacy modes (DESIGN.md "Weight modes"), row range by row range so
// that a converter splits a matrix over its threads: the same decisions as BitPacking's
// Numerics, bit for bit.
#ifndef XNOR_WEIGHT_PACK_H
#define XNOR_WEIGHT_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "popcount_kernels.h"

// Rows [r0, r1) of W [n, k] (float32, finite): w1.58's codes q = clamp(roundHalfEven(w / γ),
// −1, 1) (w / γ one float32 division) into the nonzero and the negative plane. Planes are
// [row, stride] words; every data word of a row is written, padding words are left alone.
void xnor_pack_ternary_weights(xnor_isa isa, const float *w, size_t k, size_t r0, size_t r1, size_t stride, float gamma,
                               uint64_t *nonzero, uint64_t *negative);

// Rows [r0, r1) of W: w1's sign plane, a bit set where w < 0 (−0.0 is not below 0).
void xnor_pack_sign_weights(xnor_isa isa, const float *w, size_t k, size_t r0, size_t r1, size_t stride, uint64_t *signs);

// The inputs of w1.58's scale (Numerics.ternaryScale): Σ |w| as one float64 sum in index
// order, the first nonzero |w| (0 if none) and whether every nonzero |w| equals it.
void xnor_ternary_scale_sums(const float *w, size_t count, double *sum, float *common, bool *only_common);

#endif
