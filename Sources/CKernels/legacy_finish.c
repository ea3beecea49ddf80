// The float part of the legacy formats' products (formats/XNORPopcountGemm.md), the same
// operations in the same order as BitPacking's Numerics.product and OutputTransform.apply, one
// at a time in float64 and rounded to float32 once. The Swift path is the reference the tests
// hold this to, bit for bit; here it runs without a closure per output.
#pragma STDC FP_CONTRACT OFF
#include "popcount_kernels.h"

#include <string.h>

// x86-64 builds carry an AVX-512 clone, chosen by the loader from the CPU (an ifunc): float64
// division and int64 → float64 conversion of eight lanes at once, the same IEEE operations.
#if defined(__x86_64__) && defined(__linux__)
#define VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "default")))
#else
#define VECTOR_CLONES
#endif

// One row's columns [n0, n1). Inlined with every flag constant, so that each loop is straight
// and vectorizes: with `per_row` a variable the scales were gathered by computed offsets, and
// with `bias` tested inside the loop its absent (NULL) rows were read by masked loads, which
// fault-suppress through a microcode assist every time (a 700M-shape decode, 2 threads: 89 →
// 115 tokens/s).
static inline __attribute__((always_inline)) void finish_row(const int64_t *row, size_t n0, size_t n1, const char *weight_scales,
                                                             bool per_row, double activation, bool divide, const float *output_scale,
                                                             const float *bias, float *out) {
    for (size_t c = n0; c < n1; c++) {
        // The scales are a file's bytes, not necessarily 4-byte aligned.
        float scale;
        memcpy(&scale, weight_scales + (per_row ? c : 0) * sizeof(float), sizeof scale);
        const double weight = (double)scale;
        double y = (divide ? weight / activation : weight * activation) * (double)row[c - n0];
        if (output_scale) y = y * (double)*output_scale;
        if (bias) y = y + (double)bias[c];
        out[c] = (float)y;
    }
}

VECTOR_CLONES
void xnor_legacy_finish(const int64_t *integers, size_t rows, size_t n0, size_t n1, const bool *finite, const void *weight_scales,
                        bool per_row_weight_scale, const float *activation_scales, bool divide, const float *output_scale,
                        const float *bias, float *output, size_t n) {
    const size_t width = n1 - n0;
    const char *scales = weight_scales;
    for (size_t m = 0; m < rows; m++) {
        if (!finite[m]) continue;
        const double activation = (double)activation_scales[m];
        const int64_t *row = integers + m * width;
        float *out = output + m * n;
        switch ((per_row_weight_scale ? 8 : 0) | (divide ? 4 : 0) | (output_scale ? 2 : 0) | (bias ? 1 : 0)) {
#define FINISH(flags)                                                                                                       \
    case flags:                                                                                                             \
        finish_row(row, n0, n1, scales, (flags) & 8, activation, (flags) & 4, (flags) & 2 ? output_scale : NULL,         \
                   (flags) & 1 ? bias : NULL, out);                                                                         \
        break;
            FINISH(0) FINISH(1) FINISH(2) FINISH(3) FINISH(4) FINISH(5) FINISH(6) FINISH(7)
            FINISH(8) FINISH(9) FINISH(10) FINISH(11) FINISH(12) FINISH(13) FINISH(14) FINISH(15)
#undef FINISH
        }
    }
}
