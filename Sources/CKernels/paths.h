// The entries of each instruction-set path, which dispatch.c chooses between.
#ifndef XNOR_POPCOUNT_PATHS_H
#define XNOR_POPCOUNT_PATHS_H

#include "popcount_kernels.h"

#define XNOR_DECLARE_PATH(suffix)                                                                          \
    void xnor_group_sums_##suffix(const xnor_grouped_product *product, int64_t *sums);                     \
    void xnor_grouped_integers_##suffix(const xnor_grouped_product *product, size_t n0, size_t n1,         \
                                        int64_t *parts);                                                   \
    void xnor_grouped_accumulate_##suffix(const xnor_grouped_product *product, size_t n0, size_t n1,       \
                                          double *acc);

XNOR_DECLARE_PATH(scalar)
#if defined(__x86_64__)
XNOR_DECLARE_PATH(avx2)
XNOR_DECLARE_PATH(avx512)
XNOR_DECLARE_PATH(avx512vnni)
#elif defined(__aarch64__)
XNOR_DECLARE_PATH(neon)
#endif

#endif
