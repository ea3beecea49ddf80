// Runs every case on every non-scalar path and prints how many were compared; the first
// mismatch ends the run with status 1.
#include "harness.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state = 0x243f6a8885a308d3u;

// splitmix64: any fixed sequence will do, and this one needs no library.
uint64_t harness_random(void) {
    uint64_t z = (state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

float harness_float(void) {
    uint64_t r = harness_random();
    uint32_t bits = (uint32_t)(r >> 63) << 31 | (uint32_t)(107 + r % 40) << 23 | ((uint32_t)(r >> 8) & 0x7fffff);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

harness_path harness_paths[] = {
    {XNOR_ISA_AVX2, "avx2", false},
    {XNOR_ISA_AVX512, "avx512", false},
    {XNOR_ISA_AVX512_VNNI, "avx512vnni", false},
    {XNOR_ISA_NEON, "neon", false},
};
const size_t harness_path_count = sizeof harness_paths / sizeof harness_paths[0];

static void mismatch(const char *what, const char *path, const char *case_name) {
    fprintf(stderr, "MISMATCH %s, %s against scalar: %s\n", what, path, case_name);
}

void harness_expect_int64(const char *what, const char *path, const char *case_name, const int64_t *expected, const int64_t *actual,
                          size_t count) {
    if (memcmp(expected, actual, count * sizeof(int64_t)) == 0) return;
    mismatch(what, path, case_name);
    for (size_t i = 0; i < count; i++) {
        if (expected[i] == actual[i]) continue;
        fprintf(stderr, "  first at %zu of %zu: scalar %" PRId64 ", %s %" PRId64 "\n", i, count, expected[i], path, actual[i]);
        break;
    }
    exit(1);
}

void harness_expect_double(const char *what, const char *path, const char *case_name, const double *expected, const double *actual,
                           size_t count) {
    if (memcmp(expected, actual, count * sizeof(double)) == 0) return;
    mismatch(what, path, case_name);
    for (size_t i = 0; i < count; i++) {
        if (memcmp(expected + i, actual + i, sizeof(double)) == 0) continue;
        fprintf(stderr, "  first at %zu of %zu: scalar %.17g (%a), %s %.17g (%a)\n", i, count, expected[i], expected[i], path,
                actual[i], actual[i]);
        break;
    }
    exit(1);
}

void harness_expect_bytes(const char *what, const char *path, const char *case_name, const void *expected, const void *actual,
                          size_t bytes) {
    if (memcmp(expected, actual, bytes) == 0) return;
    mismatch(what, path, case_name);
    const unsigned char *e = expected, *a = actual;
    for (size_t i = 0; i < bytes; i++) {
        if (e[i] == a[i]) continue;
        fprintf(stderr, "  first at byte %zu of %zu: scalar 0x%02x, %s 0x%02x\n", i, bytes, e[i], path, a[i]);
        break;
    }
    exit(1);
}

int main(void) {
    // Lines in order with the mismatch on stderr when both go to one log.
    setvbuf(stdout, NULL, _IOLBF, 0);
    const xnor_isa best = xnor_isa_best();
#if defined(__aarch64__)
    // NEON is in the base architecture: anything else here is a detection bug.
    if (best != XNOR_ISA_NEON) {
        fprintf(stderr, "xnor_isa_best is %d on aarch64, expected NEON (%d)\n", (int)best, (int)XNOR_ISA_NEON);
        return 1;
    }
#else
    if (xnor_isa_supported(XNOR_ISA_NEON)) {
        fprintf(stderr, "NEON reported as supported off aarch64\n");
        return 1;
    }
#endif
    for (size_t i = 0; i < harness_path_count; i++) {
        harness_paths[i].supported = xnor_isa_supported(harness_paths[i].isa);
        printf("%s: %s\n", harness_paths[i].name, harness_paths[i].supported ? "compared with scalar" : "not supported here: its fallback to scalar is compared");
    }
    const char *best_name = best == XNOR_ISA_SCALAR ? "scalar" : "?";
    for (size_t i = 0; i < harness_path_count; i++) {
        if (harness_paths[i].isa == best) best_name = harness_paths[i].name;
    }
    printf("best path here: %s\n", best_name);
    size_t products = harness_product_cases();
    size_t packs = harness_pack_cases();
    printf("%zu product cases and %zu packing cases equal to scalar, bit for bit\n", products, packs);
    return 0;
}
