// The behaviour check of the C paths against the scalar one, bit for bit, outside SwiftPM: it
// is cross-compiled for aarch64 and run under qemu (tools/neon-check), where the Swift tests
// cannot run, and natively on x86 for the AVX paths.
#ifndef XNOR_HARNESS_H
#define XNOR_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "popcount_kernels.h"

// Fixed seed: a mismatch names a case that the next run reproduces.
uint64_t harness_random(void);
// A finite float of either sign over a wide range of exponents, so that float64 sums in a
// different order or fused would round differently.
float harness_float(void);

typedef struct {
    xnor_isa isa;
    const char *name;
    // False: requests of this path must fall back to the scalar one.
    bool supported;
} harness_path;

// Every path but the scalar one, each to be compared with it.
extern harness_path harness_paths[];
extern const size_t harness_path_count;

// Exits with status 1, naming the case and the first differing element, unless equal.
void harness_expect_int64(const char *what, const char *path, const char *case_name, const int64_t *expected, const int64_t *actual,
                          size_t count);
void harness_expect_double(const char *what, const char *path, const char *case_name, const double *expected, const double *actual,
                           size_t count);
void harness_expect_bytes(const char *what, const char *path, const char *case_name, const void *expected, const void *actual,
                          size_t bytes);

// Each returns the number of cases it compared.
size_t harness_product_cases(void);
size_t harness_pack_cases(void);

#endif
