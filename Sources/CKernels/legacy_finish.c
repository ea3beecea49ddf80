// The float part of the legacy formats' products (formats/XNORPopcountGemm.md), the same
// operations in the same order as BitPacking's Numerics.product and OutputTransform.apply, one
// at a time in float64 and rounded to float32 once. The Swift path is the reference the tests
// hold this to, bit for bit; here it runs without a closure per output.
#pragma STDC FP_CONTRACT OFF
#include "popcount_kernels.h"

#include <string.h>

void xnor_legacy_finish(const int64_t *integers, size_t rows, size_t n0, size_t n1, const bool *finite, const void *weight_scales,
                        bool per_row_weight_scale, const float *activation_scales, bool divide, const float *output_scale,
                        const float *bias, float *output, size_t n) {
    const size_t width = n1 - n0;
    for (size_t m = 0; m < rows; m++) {
        if (!finite[m]) continue;
        const double activation = (double)activation_scales[m];
        const int64_t *row = integers + m * width;
        float *out = output + m * n;
        for (size_t c = n0; c < n1; c++) {
            // The scales are a file's bytes, not necessarily 4-byte aligned.
            float scale;
            memcpy(&scale, (const char *)weight_scales + (per_row_weight_scale ? c : 0) * sizeof(float), sizeof scale);
            const double weight = (double)scale;
            double y = (divide ? weight / activation : weight * activation) * (double)row[c - n0];
            if (output_scale) y = y * (double)*output_scale;
            if (bias) y = y + (double)bias[c];
            out[c] = (float)y;
        }
    }
}
