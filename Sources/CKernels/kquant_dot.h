// The K-quant rows of block_dot.c (Q4_K, Q6_K: super-blocks of 256), kept apart because their
// decoding is long; block_dot.c dispatches to them.
#ifndef XNOR_KQUANT_DOT_H
#define XNOR_KQUANT_DOT_H

#include "block_dot.h"

// Bytes of one super-block of `type`.
size_t xnor_kquant_block_bytes(xnor_block_type type);

// Σ_i W[i] · x[i] over `superblocks` super-blocks of one row.
float xnor_kquant_dot(xnor_isa isa, xnor_block_type type, const uint8_t *row, size_t superblocks, const float *x);

#endif
