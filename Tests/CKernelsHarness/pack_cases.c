// Activation packing: both modes, on rows with ties at .5 after scaling, all zeros, values
// below the scale floor, and NaN or infinities; whole batches and a range of rows.
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activation_pack.h"

enum { ROWS = 6 };

static const size_t ks[] = {1, 15, 16, 17, 63, 64, 65, 200, 577, 1000};

// Row r's values: each row stresses a different decision of the quantizer.
static float value(size_t r, size_t i, size_t k) {
    switch (r) {
    case 0: return harness_float();
    // absmax 127, so s = 1 and every half-integer is a tie for round-half-even.
    case 1: return i == 0 ? 127.0f : (float)((int)(harness_random() % 255) - 127) + 0.5f;
    case 2: return 0.0f;
    case 3: return (harness_random() & 1 ? 1e-7f : -1e-7f) * (float)(1 + harness_random() % 8);
    case 4: return i == k / 2 ? NAN : harness_float();
    default: return i == k - 1 ? -INFINITY : harness_float();
    }
}

size_t harness_pack_cases(void) {
    size_t cases = 0;
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
        const size_t k = ks[ki], stride = (k + 511) / 512 * 8;
        float *x = malloc(ROWS * k * sizeof(float));
        for (size_t r = 0; r < ROWS; r++) {
            for (size_t i = 0; i < k; i++) x[r * k + i] = value(r, i, k);
        }
        for (int a8 = 0; a8 < 2; a8++) {
            for (int range = 0; range < 2; range++) {
                const size_t r0 = range ? 1 : 0, r1 = range ? ROWS - 1 : ROWS, count = ROWS * stride * 8;
                for (size_t p = 0; p < harness_path_count; p++) {
                    const harness_path *path = &harness_paths[p];
                    char name[96];
                    snprintf(name, sizeof name, "K %zu %s rows [%zu, %zu)", k, a8 ? "a8" : "a1", r0, r1);
                    // The same garbage in both, so rows outside the range must be left alone.
                    uint64_t words[2][ROWS * 16 * 8];
                    int8_t codes[2][ROWS * 16 * 64];
                    float scales[2][ROWS];
                    int64_t sums[2][ROWS];
                    bool finite[2][ROWS];
                    if (count > sizeof words[0] / sizeof words[0][0]) abort();
                    for (size_t i = 0; i < count; i++) words[0][i] = words[1][i] = harness_random();
                    for (size_t i = 0; i < count * 8; i++) codes[0][i] = codes[1][i] = (int8_t)harness_random();
                    for (size_t r = 0; r < ROWS; r++) {
                        scales[0][r] = scales[1][r] = harness_float();
                        sums[0][r] = sums[1][r] = (int64_t)harness_random();
                        finite[0][r] = finite[1][r] = r % 2;
                    }
                    xnor_pack_activations(XNOR_ISA_SCALAR, a8, x, k, r0, r1, stride, words[0], codes[0], scales[0], sums[0], finite[0]);
                    xnor_pack_activations(path->isa, a8, x, k, r0, r1, stride, words[1], codes[1], scales[1], sums[1], finite[1]);
                    harness_expect_bytes("xnor_pack_activations words", path->name, name, words[0], words[1], count * sizeof(uint64_t));
                    harness_expect_bytes("xnor_pack_activations codes", path->name, name, codes[0], codes[1], count * 8);
                    harness_expect_bytes("xnor_pack_activations scales", path->name, name, scales[0], scales[1], sizeof scales[0]);
                    harness_expect_int64("xnor_pack_activations code sums", path->name, name, sums[0], sums[1], ROWS);
                    harness_expect_bytes("xnor_pack_activations finite", path->name, name, finite[0], finite[1], sizeof finite[0]);
                }
                cases++;
            }
        }
        free(x);
    }
    return cases;
}
